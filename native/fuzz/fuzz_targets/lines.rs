//! Any bytes as dump lines of every format: decoding, extraction, Arrow
//! columns and their export must not panic (the per-record guards in
//! `Batch::add_lines` are bypassed here so that a panic is a finding), and
//! the direct kcat reader must read what the general path reads.
#![no_main]

use std::sync::Arc;

use _native::arrow::{export_array, export_schema};
use _native::batch::{events_type, identifiers_type, Added, Batch};
use _native::decode::{self, Format, Notes};
use _native::extract::{ConfigIn, Extractor};
use _native::json::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let formats = [
        Format::Kcat,
        Format::Choreo,
        Format::plain("t", None),
        Format::plain("t", Some("a.b")),
    ];
    let mut parser = Parser::new();
    let mut direct = Parser::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        // The direct kcat reader must agree with the general path whenever it reads a line.
        if let Some(fast) = decode::fast_kcat(&mut direct, line) {
            let doc =
                decode::parse_line(&mut parser, line).expect("direct reader took a non-JSON line");
            let general = decode::decode_kcat(&doc, &mut Notes::default()).expect("not a record");
            assert_eq!(fast, general);
        }
        if let Ok(doc) = decode::parse_line(&mut parser, line) {
            let _ = decode::classify(&doc);
            let mut notes = Notes::default();
            let _ = decode::decode_kcat(&doc, &mut notes);
            let _ = decode::decode_choreo(&doc);
            let _ =
                decode::decode_plain(&doc, line, 1, "t", &[vec!["time".into()]], None, &mut notes);
            let mut out = Vec::new();
            decode::dumps(&doc.root(), &mut out);
            let _ = decode::py_repr(&doc.root());
        }
    }
    let cfg = ConfigIn {
        key_is_identifier: true,
        auto_id_fields: true,
        max_depth: 4,
        ..Default::default()
    };
    let ex = Arc::new(Extractor::new(&cfg).expect("default config"));
    for format in &formats {
        let mut batch = Batch::new(ex.clone(), "fuzz");
        let mut bad = Vec::new();
        let mut added = Added::default();
        batch.add_lines(format, data, 1, u64::MAX, &mut bad, &mut added);
        for (events, ids) in batch.take(0) {
            drop(export_schema("", &events_type(), false));
            drop(export_array(events));
            drop(export_schema("", &identifiers_type(), false));
            drop(export_array(ids));
        }
    }
});
