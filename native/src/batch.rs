//! Records into the store's two tables as Arrow columns: one row per record
//! in `events`, one per (record, identifier) in `identifiers`.
//!
//! Columns grow in chunks; a chunk is sealed before a variable-size column
//! would pass what 32-bit Arrow offsets address, so any record fits.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::arrow::{list_array, struct_array, ArrayData, DataType, Field, PrimCol, VarCol};
use crate::decode::{self, Format, Notes, Record, NOTE_TIME_RANGE};
use crate::extract::{Extracted, Extractor, Header, PayloadKind, RecordIn, Scratch};
use crate::isotime::Time;
use crate::json::{Doc, Parser};

/// Bytes one variable-size column of a chunk may hold (32-bit offsets).
const CHUNK_BYTES: usize = i32::MAX as usize;
/// Longest line a decoder accepts (a line is one record).
pub const MAX_LINE: usize = 1 << 30;

pub const NOTE_IDS_CAPPED: &str = "more than 10000 identifiers in a record (the rest not stored)";
pub const NOTE_INTERNAL: &str =
    "internal error while extracting (record stored without its fields)";

pub fn events_type() -> DataType {
    use DataType::*;
    let f = |name, dtype| Field { name, dtype };
    Struct(vec![
        f("topic", Utf8),
        f("partition", Int32),
        f("offset", Int64),
        f("ts_ms", Int64),
        f("ts_type", Int8),
        f("key", Binary),
        f(
            "headers",
            List(Box::new(f(
                "item",
                Struct(vec![f("name", Utf8), f("value", Binary)]),
            ))),
        ),
        f("payload", Binary),
        f("payload_kind", Utf8),
        f("event_type", Utf8),
        f("service", Utf8),
        f("event_id", Utf8),
        f("causation_id", Utf8),
        f("trace_id", Utf8),
        f("event_time_ms", Int64),
        f("source", Utf8),
        f("ingested_ms", Int64),
    ])
}

pub fn identifiers_type() -> DataType {
    use DataType::*;
    let f = |name, dtype| Field { name, dtype };
    Struct(vec![
        f("topic", Utf8),
        f("partition", Int32),
        f("offset", Int64),
        f("name", Utf8),
        f("value", Utf8),
    ])
}

#[derive(Default)]
struct Columns {
    topic: VarCol,
    partition: PrimCol<i32>,
    offset: PrimCol<i64>,
    ts_ms: PrimCol<i64>,
    ts_type: PrimCol<i8>,
    key: VarCol,
    hdr_offsets: Vec<i32>,
    hdr_names: VarCol,
    hdr_values: VarCol,
    payload: VarCol,
    payload_kind: VarCol,
    event_type: VarCol,
    service: VarCol,
    event_id: VarCol,
    causation_id: VarCol,
    trace_id: VarCol,
    event_time: PrimCol<i64>,
    id_topic: VarCol,
    id_partition: PrimCol<i32>,
    id_offset: PrimCol<i64>,
    id_name: VarCol,
    id_value: VarCol,
}

impl Columns {
    /// Empty columns with room for as much as these hold: the next batch is
    /// likely the same size, and its buffers then come from the pool.
    fn sized_like(&self) -> Self {
        let mut hdr_offsets =
            crate::pool::take(self.hdr_offsets.len() + self.hdr_offsets.len() / 8);
        hdr_offsets.push(0);
        Self {
            topic: self.topic.sized_like(),
            partition: self.partition.sized_like(),
            offset: self.offset.sized_like(),
            ts_ms: self.ts_ms.sized_like(),
            ts_type: self.ts_type.sized_like(),
            key: self.key.sized_like(),
            hdr_offsets,
            hdr_names: self.hdr_names.sized_like(),
            hdr_values: self.hdr_values.sized_like(),
            payload: self.payload.sized_like(),
            payload_kind: self.payload_kind.sized_like(),
            event_type: self.event_type.sized_like(),
            service: self.service.sized_like(),
            event_id: self.event_id.sized_like(),
            causation_id: self.causation_id.sized_like(),
            trace_id: self.trace_id.sized_like(),
            event_time: self.event_time.sized_like(),
            id_topic: self.id_topic.sized_like(),
            id_partition: self.id_partition.sized_like(),
            id_offset: self.id_offset.sized_like(),
            id_name: self.id_name.sized_like(),
            id_value: self.id_value.sized_like(),
        }
    }

    fn rows(&self) -> usize {
        self.partition.len()
    }

    /// Whether a record of `size` bytes still fits every variable-size column.
    fn fits(&self, size: usize) -> bool {
        let most = self
            .payload
            .data_len()
            .max(self.key.data_len())
            .max(self.hdr_values.data_len())
            .max(self.id_value.data_len())
            .max(self.id_topic.data_len());
        most + size < CHUNK_BYTES
    }

    fn finish(mut self, source: &str, ingested_ms: i64) -> (ArrayData, ArrayData) {
        let n = self.rows();
        if self.hdr_offsets.is_empty() {
            self.hdr_offsets.push(0);
        }
        let mut src = VarCol::with_capacity(n, n * source.len());
        let mut ingested = PrimCol::<i64>::with_capacity(n);
        for _ in 0..n {
            src.push(source.as_bytes());
            ingested.push(ingested_ms);
        }
        let hdr_len = self.hdr_names.len();
        let headers = list_array(
            self.hdr_offsets,
            struct_array(
                hdr_len,
                vec![self.hdr_names.finish(), self.hdr_values.finish()],
            ),
        );
        let events = struct_array(
            n,
            vec![
                self.topic.finish(),
                self.partition.finish(),
                self.offset.finish(),
                self.ts_ms.finish(),
                self.ts_type.finish(),
                self.key.finish(),
                headers,
                self.payload.finish(),
                self.payload_kind.finish(),
                self.event_type.finish(),
                self.service.finish(),
                self.event_id.finish(),
                self.causation_id.finish(),
                self.trace_id.finish(),
                self.event_time.finish(),
                src.finish(),
                ingested.finish(),
            ],
        );
        let ids_len = self.id_partition.len();
        let ids = struct_array(
            ids_len,
            vec![
                self.id_topic.finish(),
                self.id_partition.finish(),
                self.id_offset.finish(),
                self.id_name.finish(),
                self.id_value.finish(),
            ],
        );
        (events, ids)
    }
}

/// One record's raw fields, ready to store.
pub struct Raw<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub ts: Option<i64>,
    pub ts_type: i8,
    pub key: Option<&'a [u8]>,
    pub headers: &'a [Header<'a>],
    pub payload: Option<&'a [u8]>,
}

impl Raw<'_> {
    fn size(&self) -> usize {
        self.topic.len()
            + self.key.map_or(0, <[u8]>::len)
            + self.payload.map_or(0, <[u8]>::len)
            + self
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.map_or(0, <[u8]>::len))
                .sum::<usize>()
    }
}

/// What one call added: counts the caller reports.
#[derive(Default, Debug)]
pub struct Added {
    pub records: u64,
    pub poison: u64,
    pub notes: Notes,
}

/// Records accumulated for one store append.
pub struct Batch {
    extractor: Arc<Extractor>,
    source: String,
    cur: Columns,
    sealed: Vec<Columns>,
    rows: usize,
    bytes: usize,
    scratch: Scratch,
    extracted: Extracted,
    line_parser: Parser,
}

/// The last panic's message on this thread (the hook keeps it for notes).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into())
}

impl Batch {
    pub fn new(extractor: Arc<Extractor>, source: &str) -> Self {
        Self {
            extractor,
            source: source.to_string(),
            cur: Columns::default(),
            sealed: Vec::new(),
            rows: 0,
            bytes: 0,
            scratch: Scratch::default(),
            extracted: Extracted::default(),
            line_parser: Parser::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Raw bytes of the records held (keys, payloads, headers).
    pub fn nbytes(&self) -> usize {
        self.bytes
    }

    /// Extract and add one record; returns its payload kind.
    pub fn add(&mut self, raw: &Raw<'_>, added: &mut Added) -> PayloadKind {
        let rec = RecordIn {
            topic: raw.topic,
            key: raw.key,
            headers: raw.headers,
            payload: raw.payload,
        };
        let (ex, scratch, extractor) = (&mut self.extracted, &mut self.scratch, &self.extractor);
        // A panic in extraction (a bug) must not lose the record or stop the
        // caller: the record is stored with only its raw fields.
        let ok = catch_unwind(AssertUnwindSafe(|| extractor.extract(&rec, scratch, ex)));
        if ok.is_err() {
            *scratch = Scratch::default();
            *ex = Extracted {
                event_type: raw.topic.to_string(),
                service: raw.topic.to_string(),
                kind: match raw.payload {
                    None => PayloadKind::Null,
                    Some(_) => PayloadKind::Binary,
                },
                ..Extracted::default()
            };
            added.notes.add(NOTE_INTERNAL, 1);
        }
        let kind = self.extracted.kind;
        if kind.is_poison() {
            added.poison += 1;
        }
        if self.extracted.ids_capped {
            added.notes.add(NOTE_IDS_CAPPED, 1);
        }
        if self.extracted.time == Time::OutOfRange {
            added.notes.add(NOTE_TIME_RANGE, 1);
        }
        added.records += 1;
        self.push(raw);
        kind
    }

    fn push(&mut self, raw: &Raw<'_>) {
        let size = raw.size();
        if !self.cur.fits(size) && self.cur.rows() > 0 {
            self.sealed.push(std::mem::take(&mut self.cur));
        }
        let ex = &self.extracted;
        let c = &mut self.cur;
        c.topic.push(raw.topic.as_bytes());
        c.partition.push(raw.partition);
        c.offset.push(raw.offset);
        c.ts_ms.push_opt(raw.ts);
        c.ts_type.push(raw.ts_type);
        c.key.push_opt(raw.key);
        if c.hdr_offsets.is_empty() {
            c.hdr_offsets.push(0);
        }
        for h in raw.headers {
            c.hdr_names.push(h.name.as_bytes());
            c.hdr_values.push_opt(h.value);
        }
        c.hdr_offsets.push(c.hdr_names.len() as i32);
        c.payload.push_opt(raw.payload);
        c.payload_kind.push(ex.kind.as_str().as_bytes());
        c.event_type.push(ex.event_type.as_bytes());
        c.service.push(ex.service.as_bytes());
        c.event_id
            .push_opt(ex.event_id.as_deref().map(str::as_bytes));
        c.causation_id
            .push_opt(ex.causation_id.as_deref().map(str::as_bytes));
        c.trace_id
            .push_opt(ex.trace_id.as_deref().map(str::as_bytes));
        c.event_time.push_opt(match ex.time {
            Time::Ms(ms) => Some(ms),
            _ => None,
        });
        for (name, value) in ex.ids.iter() {
            c.id_topic.push(raw.topic.as_bytes());
            c.id_partition.push(raw.partition);
            c.id_offset.push(raw.offset);
            c.id_name.push(name.as_bytes());
            c.id_value.push(value.as_bytes());
        }
        self.rows += 1;
        self.bytes += size;
    }

    /// The extraction of the record added last (for callers that report it).
    pub fn last(&self) -> &Extracted {
        &self.extracted
    }

    /// Decode whole lines (`data` ends at a line end, or is the input's tail)
    /// and add the records, stopping before the line that would make more than
    /// `max_records`; bad lines are returned with their line numbers. Returns
    /// (lines read, bytes of `data` they took).
    pub fn add_lines(
        &mut self,
        format: &Format,
        data: &[u8],
        first_lineno: i64,
        max_records: u64,
        bad: &mut Vec<(i64, String)>,
        added: &mut Added,
    ) -> (i64, usize) {
        let mut lineno = first_lineno - 1;
        let mut used = 0;
        let mut parser = std::mem::take(&mut self.line_parser);
        for line in data.split_inclusive(|&b| b == b'\n') {
            if added.records >= max_records {
                break;
            }
            used += line.len();
            lineno += 1;
            if is_blank(line) {
                continue;
            }
            if line.len() > MAX_LINE {
                bad.push((lineno, format!("line too long ({} bytes)", line.len())));
                continue;
            }
            let mut notes = Notes::default();
            // A panic while decoding (a bug) makes the line bad, not the call.
            if matches!(format, Format::Kcat) {
                // kcat's own layout is read directly; anything else, below.
                let p = &mut parser;
                match guarded(move || decode::fast_kcat(p, line)) {
                    Ok(Some(r)) => {
                        self.add_record(&r, added);
                        continue;
                    }
                    Ok(None) => {}
                    Err(panic) => {
                        bad.push((lineno, internal(&*panic)));
                        parser = Parser::new();
                        continue;
                    }
                }
            }
            let p = &mut parser;
            let parsed = guarded(move || decode::parse_line(p, line));
            let doc = match parsed {
                Ok(Ok(doc)) => doc,
                Ok(Err(why)) => {
                    bad.push((lineno, why));
                    continue;
                }
                Err(panic) => {
                    bad.push((lineno, internal(&*panic)));
                    parser = Parser::new();
                    continue;
                }
            };
            let decoded = catch_unwind(AssertUnwindSafe(|| {
                decode_doc(&doc, format, line, lineno, &mut notes)
            }));
            match decoded {
                Ok(Ok(r)) => {
                    added.notes.merge(&notes);
                    self.add_record(&r, added);
                }
                Ok(Err(why)) => bad.push((lineno, why)),
                Err(panic) => bad.push((lineno, internal(&*panic))),
            }
        }
        self.line_parser = parser;
        (lineno - (first_lineno - 1), used)
    }

    fn add_record(&mut self, r: &Record<'_>, added: &mut Added) {
        let headers: Vec<Header<'_>> = r
            .headers
            .iter()
            .flatten()
            .map(|(n, v)| Header {
                name: n,
                value: v.as_deref(),
            })
            .collect();
        let raw = Raw {
            topic: &r.topic,
            partition: r.partition,
            offset: r.offset,
            ts: r.ts,
            ts_type: r.ts_type,
            key: r.key.as_deref(),
            headers: &headers,
            payload: r.payload.as_deref(),
        };
        self.add(&raw, added);
    }

    /// Everything held, as (events, identifiers) struct arrays per chunk; the batch is empty after.
    pub fn take(&mut self, ingested_ms: i64) -> Vec<(ArrayData, ArrayData)> {
        let mut chunks = std::mem::take(&mut self.sealed);
        let next = self.cur.sized_like();
        let cur = std::mem::replace(&mut self.cur, next);
        if cur.rows() > 0 || chunks.is_empty() {
            chunks.push(cur);
        }
        self.rows = 0;
        self.bytes = 0;
        chunks
            .into_iter()
            .map(|c| c.finish(&self.source, ingested_ms))
            .collect()
    }

    pub fn clear(&mut self) {
        self.cur = Columns::default();
        self.sealed.clear();
        self.rows = 0;
        self.bytes = 0;
    }
}

/// `len(line) <= 2 and not line.strip()`: blank lines are skipped, not bad.
fn is_blank(line: &[u8]) -> bool {
    line.len() <= 2
        && line
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C))
}

/// catch_unwind for a closure that returns borrows (inferred FnOnce).
fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

fn internal(panic: &(dyn std::any::Any + Send)) -> String {
    format!("internal error decoding the line ({})", panic_text(panic))
}

/// A parsed line to its record, by format.
fn decode_doc<'d>(
    doc: &'d Doc<'_>,
    format: &'d Format,
    line: &'d [u8],
    lineno: i64,
    notes: &mut Notes,
) -> Result<Record<'d>, String> {
    match format {
        Format::Kcat => decode::decode_kcat(doc, notes),
        Format::Choreo => decode::decode_choreo(doc),
        Format::Plain {
            topic,
            paths,
            field,
        } => decode::decode_plain(doc, line, lineno, topic, paths, field.as_deref(), notes),
    }
}

/// Decode lines without storing them (`--strict` reads its inputs through first).
pub fn check_lines(
    format: &Format,
    data: &[u8],
    first_lineno: i64,
    bad: &mut Vec<(i64, String)>,
) -> i64 {
    let mut parser = Parser::new();
    let mut notes = Notes::default();
    let mut lineno = first_lineno - 1;
    for line in data.split_inclusive(|&b| b == b'\n') {
        lineno += 1;
        if is_blank(line) {
            continue;
        }
        if line.len() > MAX_LINE {
            bad.push((lineno, format!("line too long ({} bytes)", line.len())));
            continue;
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            let doc = decode::parse_line(&mut parser, line)?;
            decode_doc(&doc, format, line, lineno, &mut notes).map(|_| ())
        }));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(why)) => bad.push((lineno, why)),
            Err(panic) => {
                parser = Parser::new();
                bad.push((lineno, internal(&*panic)));
            }
        }
    }
    lineno - (first_lineno - 1)
}
