//! Any record (topic, key, headers, payload) under several [extract]
//! configurations: extraction must not panic.
#![no_main]

use _native::extract::{ConfigIn, Extracted, Extractor, Header, RecordIn, Scratch};
use libfuzzer_sys::fuzz_target;

fn config(sel: u8) -> ConfigIn {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    ConfigIn {
        identifier_paths: s(&["order.id", "a..b", "data.x"]),
        identifier_headers: s(&["X-Tenant", "ce_type"]),
        key_is_identifier: sel & 1 == 0,
        auto_id_fields: sel & 2 == 0,
        max_depth: 1 + (sel as u32 % 16),
        sources: [
            s(&["payload:kind", "header:X-Type"]),
            s(&["key", "topic"]),
            s(&["payload:meta.id"]),
            s(&["header:cause"]),
            s(&["payload:meta.at", "header:when"]),
        ],
        ignore_identifiers: s(&["key"]),
    }
}

fuzz_target!(|data: &[u8]| {
    // Layout: [selector] topic \0 key \0 (name \0 value \0)* \x01 payload
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (head, payload) = match rest.iter().position(|&b| b == 1) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut parts = head.split(|&b| b == 0);
    let topic = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let key = parts.next();
    let rest: Vec<&[u8]> = parts.collect();
    let names: Vec<String> = rest
        .iter()
        .step_by(2)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let headers: Vec<Header<'_>> = names
        .iter()
        .zip(rest.iter().skip(1).step_by(2))
        .map(|(n, v)| Header {
            name: n,
            value: if v.is_empty() { None } else { Some(v) },
        })
        .collect();
    let Ok(ex) = Extractor::new(&config(sel)) else {
        return;
    };
    let rec = RecordIn {
        topic: &topic,
        key,
        headers: &headers,
        payload,
    };
    let mut out = Extracted::default();
    ex.extract(&rec, &mut Scratch::default(), &mut out);
});
