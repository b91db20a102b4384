use std::sync::Arc;
struct Instant(u64);
impl Instant {
    fn now() -> Self {
        Instant(cpu_ns())
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(cpu_ns() - self.0)
    }
}
fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse().unwrap()
}
use _native::batch::{Added, Batch};
use _native::decode::Format;
use _native::extract::{ConfigIn, Extractor};
use _native::json::Parser;

#[test]
#[ignore]
fn perf() {
    let data = std::fs::read("/tmp/nat/bench/kcat-262144.json").unwrap();
    let cfg = ConfigIn {
        key_is_identifier: true,
        auto_id_fields: true,
        max_depth: 4,
        ..Default::default()
    };
    let ex = Arc::new(Extractor::new(&cfg).unwrap());
    for _ in 0..3 {
        let mut b = Batch::new(ex.clone(), "x");
        let mut bad = Vec::new();
        let mut added = Added::default();
        let t = Instant::now();
        b.add_lines(&Format::Kcat, &data, 1, u64::MAX, &mut bad, &mut added);
        println!(
            "add_lines: {:.2} us/rec",
            t.elapsed().as_secs_f64() / added.records as f64 * 1e6
        );
        let t = Instant::now();
        let _ = b.take(0);
        println!(
            "take: {:.2} us/rec",
            t.elapsed().as_secs_f64() / added.records as f64 * 1e6
        );
    }
    let mut p = Parser::new();
    let t = Instant::now();
    let mut n = 0;
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let d = p.parse(line).unwrap();
        n += d.nodes.len();
    }
    println!(
        "envelope parse: {:.2} us/rec ({n})",
        t.elapsed().as_secs_f64() / 262144.0 * 1e6
    );
}

#[test]
#[ignore]
fn perf_parts() {
    use _native::decode::{decode_kcat, parse_line, Notes};
    use _native::extract::{Extracted, Header, RecordIn, Scratch};
    let data = std::fs::read("/tmp/nat/bench/kcat-262144.json").unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut p = Parser::new();
    let mut notes = Notes::default();
    let t = Instant::now();
    let mut recs = Vec::new();
    for line in &lines {
        let d = parse_line(&mut p, line).unwrap();
        let r = decode_kcat(&d, &mut notes).unwrap();
        recs.push((
            r.topic.to_string(),
            r.key.map(|k| k.to_vec()),
            r.headers
                .unwrap_or_default()
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_ref().map(|v| v.to_vec())))
                .collect::<Vec<_>>(),
            r.payload.map(|p| p.to_vec()),
        ));
    }
    println!(
        "parse+decode+copy: {:.2} us/rec",
        t.elapsed().as_secs_f64() / lines.len() as f64 * 1e6
    );
    let cfg = ConfigIn {
        key_is_identifier: true,
        auto_id_fields: true,
        max_depth: 4,
        ..Default::default()
    };
    let ex = Extractor::new(&cfg).unwrap();
    let mut s = Scratch::default();
    let mut out = Extracted::default();
    let t = Instant::now();
    for (topic, key, hs, payload) in &recs {
        let headers: Vec<Header> = hs
            .iter()
            .map(|(n, v)| Header {
                name: n,
                value: v.as_deref(),
            })
            .collect();
        let r = RecordIn {
            topic,
            key: key.as_deref(),
            headers: &headers,
            payload: payload.as_deref(),
        };
        ex.extract(&r, &mut s, &mut out);
    }
    println!(
        "extract: {:.2} us/rec",
        t.elapsed().as_secs_f64() / lines.len() as f64 * 1e6
    );
    let t = Instant::now();
    for (_, _, _, payload) in &recs {
        let _ = p.parse(payload.as_deref().unwrap()).unwrap();
    }
    println!(
        "payload parse: {:.2} us/rec",
        t.elapsed().as_secs_f64() / lines.len() as f64 * 1e6
    );
}
