//! One Kafka record to event fields and identifiers, with the record path's
//! rules (DESIGN.md "Events and identifiers") and `choreo.toml` [extract].
//!
//! Conventions work without config: correlation headers, W3C traceparent,
//! CloudEvents binary and structured mode, id-like payload fields. User
//! sources are tried before the conventions. Nothing in a payload makes this
//! fail: what is not a JSON document is classified and stored raw.

use std::borrow::Cow;

use crate::isotime::{self, Time};
use crate::json::{Doc, Int, Kind, Number, Parser, Value};
use crate::pytext::{char_len, is_py_space, lower, repr_str, str_is_printable};

const CORRELATION_HEADERS: [&str; 4] = [
    "correlation-id",
    "x-correlation-id",
    "correlationid",
    "correlation_id",
];
// The rules' names; field_id/header_id number them (checked in the tests).
#[cfg_attr(not(test), allow(dead_code))]
const ROLE_HEADERS: [&[&str]; 5] = [
    &["ce_type", "event-type", "x-event-type", "eventtype", "type"],
    &[
        "ce_source",
        "service",
        "x-service",
        "source-service",
        "producer",
    ],
    &[
        "ce_id",
        "event-id",
        "x-event-id",
        "message-id",
        "messageid",
        "eventid",
    ],
    &[
        "causation-id",
        "x-causation-id",
        "causationid",
        "ce_causationid",
    ],
    &["ce_time", "event-time"],
];
const ROLE_FIELDS: [&[&str]; 5] = [
    &["type", "eventType", "event_type", "@type", "name"],
    &["source", "service", "producer", "emitter"],
    &["eventId", "event_id", "messageId", "message_id"],
    &["causationId", "causation_id", "causedBy", "caused_by"],
    &[
        "time",
        "timestamp",
        "occurredAt",
        "occurred_at",
        "eventTime",
        "event_time",
    ],
];
const CORRELATION_FIELDS: [&str; 4] = ["correlationId", "correlation_id", "sagaId", "saga_id"];
// The rules' names; field_id/header_id number them (checked in the tests).
#[cfg_attr(not(test), allow(dead_code))]
const META_KEYS: [&str; 3] = ["metadata", "meta", "_meta"];
// The rules' names; field_id/header_id number them (checked in the tests).
#[cfg_attr(not(test), allow(dead_code))]
const TRACE_HEADERS: [&str; 2] = ["traceparent", "ce_traceparent"];
const MAX_ID_LEN: usize = 256;
/// Identifiers kept per record; more is a record built to hurt (noted, not stored).
pub const MAX_IDS: usize = 10_000;

const R_TYPE: usize = 0;
const R_SERVICE: usize = 1;
const R_ID: usize = 2;
const R_CAUSATION: usize = 3;
const R_TIME: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PayloadKind {
    Json,
    #[default]
    Null,
    Empty,
    Text,
    Binary,
    InvalidUtf8,
}

impl PayloadKind {
    /// The stored `payload_kind` (choreo.schema's PAYLOAD_*).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Null => "null",
            Self::Empty => "empty",
            Self::Text => "text",
            Self::Binary => "binary",
            Self::InvalidUtf8 => "invalid-utf8",
        }
    }

    pub fn is_poison(self) -> bool {
        !matches!(self, Self::Json | Self::Null)
    }
}

#[derive(Clone, Debug)]
enum Source {
    Header(String),
    Payload { name: String, path: Vec<String> },
    Key,
    Topic,
}

/// `choreo.toml` [extract], as the Python ExtractConfig holds it.
#[derive(Clone, Debug, Default)]
pub struct ConfigIn {
    pub identifier_paths: Vec<String>,
    pub identifier_headers: Vec<String>,
    pub key_is_identifier: bool,
    pub auto_id_fields: bool,
    pub max_depth: u32,
    pub sources: [Vec<String>; 5],
    pub ignore_identifiers: Vec<String>,
}

const ROLE_KEYS: [&str; 5] = [
    "type_from",
    "service_from",
    "event_id_from",
    "causation_from",
    "time_from",
];

fn parse_sources(key: &str, specs: &[String]) -> Result<Vec<Source>, String> {
    specs
        .iter()
        .map(|spec| {
            let (kind, name) = match spec.split_once(':') {
                Some((k, n)) => (k, Some(n)),
                None => (spec.as_str(), None),
            };
            match (kind, name) {
                ("key", None) => Ok(Source::Key),
                ("topic", None) => Ok(Source::Topic),
                ("header", Some(n)) if !n.is_empty() => Ok(Source::Header(lower(n).into_owned())),
                ("payload", Some(n)) if !n.is_empty() => Ok(Source::Payload {
                    name: n.to_string(),
                    path: n.split('.').map(str::to_string).collect(),
                }),
                _ => Err(format!(
                    "extract.{key}: {} is not a source (use header:NAME, payload:PATH, key or topic)",
                    repr_str(spec.as_bytes())
                )),
            }
        })
        .collect()
}

/// Extraction rules for one collector or import.
pub struct Extractor {
    sources: [Vec<Source>; 5],
    id_paths: Vec<(String, Vec<String>)>,
    /// Correlation headers, then the configured identifier headers (lowercased).
    id_headers: Vec<String>,
    ignore: Vec<String>,
    not_ids: Vec<String>,
    key_ids: bool,
    auto_ids: bool,
    max_depth: u32,
}

impl Extractor {
    pub fn new(cfg: &ConfigIn) -> Result<Self, String> {
        let mut sources: [Vec<Source>; 5] = Default::default();
        for (r, key) in ROLE_KEYS.iter().enumerate() {
            sources[r] = parse_sources(key, &cfg.sources[r])?;
        }
        // Fields consumed as event id / causation are not identifiers: they
        // link events through the causation columns instead.
        let mut not_ids: Vec<String> = ROLE_FIELDS[R_ID]
            .iter()
            .chain(ROLE_FIELDS[R_CAUSATION].iter())
            .map(|s| s.to_string())
            .collect();
        for s in sources[R_ID].iter().chain(sources[R_CAUSATION].iter()) {
            if let Source::Payload { name, .. } = s {
                not_ids.push(name.clone());
            }
        }
        let id_headers = CORRELATION_HEADERS
            .iter()
            .map(|s| s.to_string())
            .chain(cfg.identifier_headers.iter().map(|h| lower(h).into_owned()))
            .collect();
        Ok(Self {
            sources,
            id_paths: cfg
                .identifier_paths
                .iter()
                .map(|p| (p.clone(), p.split('.').map(str::to_string).collect()))
                .collect(),
            id_headers,
            ignore: cfg.ignore_identifiers.clone(),
            not_ids,
            key_ids: cfg.key_is_identifier,
            auto_ids: cfg.auto_id_fields,
            max_depth: cfg.max_depth,
        })
    }
}

/// A header as the record carries it: the name as text, the value as bytes.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: Option<&'a [u8]>,
}

#[derive(Clone, Copy, Debug)]
pub struct RecordIn<'a> {
    pub topic: &'a str,
    pub key: Option<&'a [u8]>,
    pub headers: &'a [Header<'a>],
    pub payload: Option<&'a [u8]>,
}

/// A record's identifiers, (name, value) in order, in one buffer (a record
/// has several; one allocation each would cost more than finding them).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ids {
    buf: String,
    /// (name start, name end = value start, value end) in `buf`.
    spans: Vec<(u32, u32, u32)>,
}

impl Ids {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Adds (prefix + name, value).
    pub fn push(&mut self, prefix: &str, name: &str, value: &str) {
        let a = self.buf.len() as u32;
        self.buf.push_str(prefix);
        self.buf.push_str(name);
        let b = self.buf.len() as u32;
        self.buf.push_str(value);
        self.spans.push((a, b, self.buf.len() as u32));
    }

    pub fn get(&self, i: usize) -> (&str, &str) {
        let (a, b, c) = self.spans[i];
        (
            &self.buf[a as usize..b as usize],
            &self.buf[b as usize..c as usize],
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.spans.len()).map(|i| self.get(i))
    }

    fn truncate(&mut self, n: usize) {
        self.spans.truncate(n);
    }

    /// `list(dict.fromkeys(ids))`, then names in `ignore` dropped.
    fn dedup_and_ignore(&mut self, ignore: &[String]) {
        let mut keep: Vec<(u32, u32, u32)> = Vec::with_capacity(self.spans.len());
        for i in 0..self.spans.len() {
            let item = self.get(i);
            if !ignore.is_empty() && ignore.iter().any(|n| n == item.0) {
                continue;
            }
            let seen = if keep.len() <= 32 {
                keep.iter().any(|&(a, b, c)| {
                    (
                        &self.buf[a as usize..b as usize],
                        &self.buf[b as usize..c as usize],
                    ) == item
                })
            } else {
                false
            };
            if !seen {
                keep.push(self.spans[i]);
            }
        }
        if keep.len() > 32 {
            // Many identifiers (a record built to hurt): hash them instead.
            let mut seen = std::collections::HashSet::with_capacity(keep.len());
            let buf = &self.buf;
            keep.retain(|&(a, b, c)| {
                seen.insert((&buf[a as usize..b as usize], &buf[b as usize..c as usize]))
            });
        }
        self.spans = keep;
    }
}

/// What extraction found for one record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Extracted {
    pub event_type: String,
    pub service: String,
    pub event_id: Option<String>,
    pub causation_id: Option<String>,
    pub trace_id: Option<String>,
    pub time: Time,
    pub kind: PayloadKind,
    pub ids: Ids,
    /// More identifiers than MAX_IDS were found; the rest were dropped.
    pub ids_capped: bool,
}

/// A value found for a role: header text, or a JSON value.
#[derive(Clone)]
enum Found<'v, 'd, 'a> {
    Text(Cow<'v, str>),
    Json(Value<'d, 'a>),
}

impl Found<'_, '_, '_> {
    /// `v is not None and v != ""`.
    fn present(&self) -> bool {
        match self {
            Found::Text(t) => !t.is_empty(),
            Found::Json(v) => !v.is_null() && v.as_str_bytes() != Some(b""),
        }
    }

    /// `_scalar_text`: short non-empty text, or an int (not a bool) as text.
    fn scalar_text(&self) -> Option<String> {
        match self {
            Found::Text(t) => short_text(t),
            Found::Json(v) => json_scalar_text(v),
        }
    }

    fn time(&self) -> Time {
        match self {
            Found::Text(t) => isotime::from_iso(t.as_bytes()),
            Found::Json(v) => json_time(v),
        }
    }
}

fn short_text(t: &str) -> Option<String> {
    let n = t.chars().count();
    (n > 0 && n <= MAX_ID_LEN).then(|| t.to_string())
}

fn json_scalar_text(v: &Value<'_, '_>) -> Option<String> {
    match v.kind() {
        Kind::Str => v.as_str().and_then(short_text),
        Kind::Int => match v.as_int()? {
            Number::Int(Int::I(i)) => Some(i.to_string()),
            Number::Int(Int::U(u)) => Some(u.to_string()),
            Number::Big(t) => Some(t.to_string()),
            Number::Float(_) => None,
        },
        _ => None,
    }
}

/// `parse_time_ms` of a JSON value.
pub fn json_time(v: &Value<'_, '_>) -> Time {
    match (v.kind(), v.number()) {
        (Kind::Int | Kind::Float, Some(n)) => match n {
            Number::Int(Int::I(i)) => isotime::from_f64(i as f64),
            Number::Int(Int::U(u)) => isotime::from_f64(u as f64),
            Number::Big(t) => isotime::from_f64(t.parse().unwrap_or(f64::INFINITY)),
            Number::Float(f) => isotime::from_f64(f),
        },
        (Kind::Str, _) => isotime::from_iso(v.as_str_bytes().unwrap_or_default()),
        _ => Time::None,
    }
}

/// `payload.lstrip()[:1]` (ASCII whitespace, as bytes.lstrip strips it).
fn first_non_ws(p: &[u8]) -> Option<u8> {
    p.iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C))
}

/// `classify_payload` for a payload that is not a JSON document.
fn classify_not_json(p: &[u8]) -> PayloadKind {
    // Control bytes other than whitespace mean a binary encoding (Avro, protobuf...).
    if p.iter().take(256).any(|&b| b < 9 || (14..32).contains(&b)) {
        return PayloadKind::Binary;
    }
    if std::str::from_utf8(p).is_err() {
        return PayloadKind::InvalidUtf8;
    }
    PayloadKind::Text
}

/// The W3C trace id of a traceparent value (no hex check, as before).
fn trace_id_from_traceparent(value: &str) -> Option<String> {
    let trimmed = value.trim_matches(is_py_space);
    let mut parts = trimmed.split('-');
    let _version = parts.next()?;
    let trace = parts.next()?;
    if parts.clone().count() < 2 {
        return None;
    }
    if trace.chars().count() == 32 && trace != "00000000000000000000000000000000" {
        return Some(lower(trace).into_owned());
    }
    None
}

fn looks_like_id(name: &str) -> bool {
    name.ends_with("Id")
        || name.ends_with("_id")
        || name.ends_with("ID")
        || name.ends_with("Uuid")
        || name.ends_with("_uuid")
        || name == "id"
        || name == "uuid"
        || name.ends_with("-id")
}

fn get_path<'d, 'a>(obj: Option<Value<'d, 'a>>, path: &[String]) -> Option<Value<'d, 'a>> {
    let mut cur = obj?;
    for part in path {
        if !cur.is_dict() {
            return None;
        }
        cur = cur.get(part.as_bytes())?;
        if cur.is_null() {
            return None;
        }
    }
    Some(cur)
}

// Payload fields the rules look at, by id: an object's fields are sorted
// into these slots in one pass (a repeated key keeps its last value).
const F_ROLE: [std::ops::Range<usize>; 5] = [0..5, 5..9, 9..13, 13..17, 17..23];
const F_CORRELATION: std::ops::Range<usize> = 23..27;
const F_META: std::ops::Range<usize> = 27..30;
const F_SPECVERSION: usize = 30;
const F_DATA: usize = 31;
const F_TRACEPARENT: usize = 32;
const F_ID: usize = 33;
const F_TYPE: usize = 0;
const F_SOURCE: usize = 5;
const N_FIELDS: usize = 34;

fn field_id(key: &[u8]) -> Option<usize> {
    Some(match key {
        b"type" => 0,
        b"eventType" => 1,
        b"event_type" => 2,
        b"@type" => 3,
        b"name" => 4,
        b"source" => 5,
        b"service" => 6,
        b"producer" => 7,
        b"emitter" => 8,
        b"eventId" => 9,
        b"event_id" => 10,
        b"messageId" => 11,
        b"message_id" => 12,
        b"causationId" => 13,
        b"causation_id" => 14,
        b"causedBy" => 15,
        b"caused_by" => 16,
        b"time" => 17,
        b"timestamp" => 18,
        b"occurredAt" => 19,
        b"occurred_at" => 20,
        b"eventTime" => 21,
        b"event_time" => 22,
        b"correlationId" => 23,
        b"correlation_id" => 24,
        b"sagaId" => 25,
        b"saga_id" => 26,
        b"metadata" => 27,
        b"meta" => 28,
        b"_meta" => 29,
        b"specversion" => 30,
        b"data" => 31,
        b"traceparent" => 32,
        b"id" => 33,
        _ => return None,
    })
}

type Slots<'d, 'a> = [Option<Value<'d, 'a>>; N_FIELDS];

fn slots_of<'d, 'a>(obj: Value<'d, 'a>) -> Slots<'d, 'a> {
    let mut slots: Slots<'d, 'a> = [None; N_FIELDS];
    obj.for_each_pair(|k, v| {
        if let Some(id) = field_id(k) {
            slots[id] = Some(v);
        }
    });
    slots
}

// Headers the rules look at, by id (lowercased names).
const H_ROLE: [std::ops::Range<usize>; 5] = [0..5, 5..10, 10..16, 16..20, 20..22];
const H_CORRELATION: std::ops::Range<usize> = 22..26;
const H_TRACE: std::ops::Range<usize> = 26..28;
const H_SUBJECT: usize = 28;
const N_HEADERS: usize = 29;

fn header_id(name: &str) -> Option<usize> {
    Some(match name {
        "ce_type" => 0,
        "event-type" => 1,
        "x-event-type" => 2,
        "eventtype" => 3,
        "type" => 4,
        "ce_source" => 5,
        "service" => 6,
        "x-service" => 7,
        "source-service" => 8,
        "producer" => 9,
        "ce_id" => 10,
        "event-id" => 11,
        "x-event-id" => 12,
        "message-id" => 13,
        "messageid" => 14,
        "eventid" => 15,
        "causation-id" => 16,
        "x-causation-id" => 17,
        "causationid" => 18,
        "ce_causationid" => 19,
        "ce_time" => 20,
        "event-time" => 21,
        "correlation-id" => 22,
        "x-correlation-id" => 23,
        "correlationid" => 24,
        "correlation_id" => 25,
        "traceparent" => 26,
        "ce_traceparent" => 27,
        "ce_subject" => 28,
        _ => return None,
    })
}

/// The record's headers as the rules see them: the first non-null value of
/// each lowercased name, as text.
struct Hdr<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    known: [Option<usize>; N_HEADERS],
}

impl<'a> Hdr<'a> {
    fn new(headers: &'a [Header<'a>]) -> Self {
        let mut entries: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(headers.len());
        let mut known = [None; N_HEADERS];
        for h in headers {
            let Some(raw) = h.value else { continue };
            let lname = lower(h.name);
            if entries.iter().any(|(n, _)| *n == lname) {
                continue;
            }
            if let Some(id) = header_id(&lname) {
                known[id] = Some(entries.len());
            }
            entries.push((lname, String::from_utf8_lossy(raw)));
        }
        Self { entries, known }
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn known(&self, id: usize) -> Option<&str> {
        self.known[id].map(|i| self.entries[i].1.as_ref())
    }

    fn get(&self, name: &str) -> Option<&str> {
        match header_id(name) {
            Some(id) => self.known(id),
            None => self
                .entries
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_ref()),
        }
    }
}

/// Per-thread scratch: the JSON parser for payloads, buffers for the id walk.
#[derive(Default)]
pub struct Scratch {
    parser: Parser,
    path: String,
}

impl Extractor {
    /// Extract one record into `out` (cleared first).
    pub fn extract(&self, rec: &RecordIn<'_>, scratch: &mut Scratch, out: &mut Extracted) {
        out.ids.clear();
        out.ids_capped = false;
        let hdr = Hdr::new(rec.headers);

        let payload = rec.payload;
        let mut kind = match payload {
            None => PayloadKind::Null,
            Some([]) => PayloadKind::Empty,
            Some(p) => match first_non_ws(p) {
                Some(b'{') | Some(b'[') => PayloadKind::Json,
                _ => classify_not_json(p),
            },
        };
        let Scratch { parser, path } = scratch;
        let doc: Option<Doc<'_>> = if kind == PayloadKind::Json {
            let p = payload.unwrap_or_default();
            match parser.parse(p) {
                Ok(d) if d.strict => Some(d),
                _ => {
                    kind = classify_not_json(p);
                    None
                }
            }
        } else {
            None
        };
        out.kind = kind;
        let root = doc.as_ref().map(|d| d.root());
        let body = root.filter(|r| r.is_dict());
        let no_slots: Slots<'_, '_> = [None; N_FIELDS];
        let bslots = body.map(slots_of).unwrap_or(no_slots);
        let mut data = body;
        let mut structured_ce = false;
        let mut meta = None;
        if body.is_some() {
            structured_ce = bslots[F_SPECVERSION].is_some() && bslots[F_TYPE].is_some();
            if structured_ce {
                data = bslots[F_DATA];
            }
            meta = F_META.filter_map(|i| bslots[i]).find(|m| m.is_dict());
        }
        let body_full = body.is_some_and(|b| !b.is_empty());
        let meta = meta.filter(|m| !m.is_empty());
        let mslots = meta.map(slots_of).unwrap_or(no_slots);

        let key_text: Option<&str> = rec.key.and_then(|k| {
            let t = std::str::from_utf8(k).ok()?;
            (!t.is_empty() && t.chars().count() <= MAX_ID_LEN && str_is_printable(t)).then_some(t)
        });

        let mut values: [Option<Found<'_, '_, '_>>; 5] = Default::default();
        for (r, value) in values.iter_mut().enumerate() {
            let mut v = self.find_in_sources(&self.sources[r], &hdr, body, key_text, rec.topic);
            if v.is_none() && !hdr.is_empty() {
                v = H_ROLE[r]
                    .clone()
                    .filter_map(|id| hdr.known(id))
                    .find(|hv| !hv.is_empty())
                    .map(|hv| Found::Text(Cow::Borrowed(hv)));
            }
            if v.is_none() && body_full {
                v = F_ROLE[r]
                    .clone()
                    .filter_map(|id| bslots[id])
                    .map(Found::Json)
                    .find(Found::present);
            }
            if v.is_none() && meta.is_some() {
                v = F_ROLE[r]
                    .clone()
                    .filter_map(|id| mslots[id])
                    .map(Found::Json)
                    .find(Found::present);
            }
            *value = v;
        }

        let scalar = |r: usize| values[r].as_ref().and_then(Found::scalar_text);
        set_text(
            &mut out.event_type,
            scalar(R_TYPE).as_deref().unwrap_or(rec.topic),
        );
        set_text(
            &mut out.service,
            scalar(R_SERVICE).as_deref().unwrap_or(rec.topic),
        );
        out.event_id = scalar(R_ID);
        if structured_ce {
            if self.sources[R_SERVICE].is_empty() {
                if let Some(s) = bslots[F_SOURCE].as_ref().and_then(json_scalar_text) {
                    out.service = s;
                }
            }
            if out.event_id.is_none() {
                out.event_id = bslots[F_ID].as_ref().and_then(json_scalar_text);
            }
        }
        out.causation_id = scalar(R_CAUSATION);
        out.time = values[R_TIME].as_ref().map_or(Time::None, Found::time);

        // Trace id: a traceparent header, else the payload's.
        let ids = &mut out.ids;
        out.trace_id = None;
        let tp: Option<&str> = match H_TRACE.clone().find_map(|id| hdr.known(id)) {
            Some(h) => Some(h),
            None => bslots[F_TRACEPARENT].and_then(|t| t.as_str()),
        };
        if let Some(tp) = tp.filter(|t| !t.is_empty()) {
            if let Some(t) = trace_id_from_traceparent(tp) {
                ids.push("", "trace_id", &t);
                out.trace_id = Some(t);
            }
        }

        // Identifiers: headers (correlation, then configured), then the key.
        if !hdr.is_empty() {
            for (i, h) in self.id_headers.iter().enumerate() {
                let hv = if i < H_CORRELATION.len() {
                    hdr.known(H_CORRELATION.start + i)
                } else {
                    hdr.get(h)
                };
                if let Some(hv) = hv {
                    if !hv.is_empty() && hv.chars().count() <= MAX_ID_LEN {
                        ids.push("", h, hv);
                    }
                }
            }
            if let Some(subject) = hdr.known(H_SUBJECT).filter(|s| !s.is_empty()) {
                ids.push("", "ce_subject", subject);
            }
        }
        if let (Some(k), true) = (key_text, self.key_ids) {
            ids.push("", "key", k);
        }

        // Identifiers: the payload.
        if let Some(b) = body {
            if body_full {
                for (i, name) in F_CORRELATION.zip(CORRELATION_FIELDS) {
                    for slots in [&bslots, &mslots] {
                        if let Some(sv) = slots[i].as_ref().and_then(json_scalar_text) {
                            ids.push("", name, &sv);
                        }
                    }
                }
            }
            for (pname, p) in &self.id_paths {
                if let Some(sv) = get_path(Some(b), p).as_ref().and_then(json_scalar_text) {
                    ids.push("", pname, &sv);
                }
            }
            if self.auto_ids {
                path.clear();
                match data.filter(|d| d.is_dict()) {
                    Some(d) => {
                        if structured_ce {
                            path.push_str("data.");
                        }
                        self.walk_ids(d, path, 1, ids)
                    }
                    None => self.walk_ids(b, path, 1, ids),
                }
            }
        }
        if ids.len() > MAX_IDS {
            ids.truncate(MAX_IDS);
            out.ids_capped = true;
        }
        ids.dedup_and_ignore(&self.ignore);
    }

    fn find_in_sources<'v, 'd, 'a>(
        &self,
        sources: &[Source],
        hdr: &'v Hdr<'v>,
        body: Option<Value<'d, 'a>>,
        key: Option<&'v str>,
        topic: &'v str,
    ) -> Option<Found<'v, 'd, 'a>> {
        for s in sources {
            let v = match s {
                Source::Header(name) => hdr.get(name).map(|h| Found::Text(Cow::Borrowed(h))),
                Source::Payload { path, .. } => get_path(body, path).map(Found::Json),
                Source::Key => key.map(|k| Found::Text(Cow::Borrowed(k))),
                Source::Topic => Some(Found::Text(Cow::Borrowed(topic))),
            };
            if let Some(v) = v.filter(Found::present) {
                return Some(v);
            }
        }
        None
    }

    /// The id walk: fields named like ids, at any depth up to max_depth;
    /// `prefix` is the dotted path so far (restored on return).
    fn walk_ids(&self, obj: Value<'_, '_>, prefix: &mut String, depth: u32, out: &mut Ids) {
        if out.len() > MAX_IDS {
            return;
        }
        let start = prefix.len();
        obj.for_each_entry(|k, v| {
            let Ok(k) = std::str::from_utf8(k) else {
                return; // payload documents are UTF-8: never happens
            };
            if v.is_dict() {
                if depth < self.max_depth {
                    prefix.push_str(k);
                    prefix.push('.');
                    self.walk_ids(v, prefix, depth + 1, out);
                    prefix.truncate(start);
                }
                return;
            }
            // A bare top-level "id" is usually the event's own id.
            if !looks_like_id(k) || (k == "id" && start == 0) {
                return;
            }
            let full_is = |n: &String| {
                n.len() == start + k.len() && n.starts_with(&prefix[..start]) && n.ends_with(k)
            };
            if self.not_ids.iter().any(|n| n == k || full_is(n)) {
                return;
            }
            match v.kind() {
                Kind::Str => {
                    if let Some(s) = v.as_str() {
                        let n = char_len(s.as_bytes());
                        if n > 0 && n <= MAX_ID_LEN {
                            out.push(&prefix[..start], k, s);
                        }
                    }
                }
                Kind::Int => {
                    if let Some(s) = json_scalar_text(&v) {
                        out.push(&prefix[..start], k, &s);
                    }
                }
                _ => {}
            }
        });
    }
}

fn set_text(slot: &mut String, text: &str) {
    slot.clear();
    slot.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        cfg: &ConfigIn,
        topic: &str,
        key: Option<&[u8]>,
        headers: &[Header<'_>],
        payload: &[u8],
    ) -> Extracted {
        let ex = Extractor::new(cfg).unwrap();
        let mut out = Extracted::default();
        let rec = RecordIn {
            topic,
            key,
            headers,
            payload: Some(payload),
        };
        ex.extract(&rec, &mut Scratch::default(), &mut out);
        out
    }

    fn defaults() -> ConfigIn {
        ConfigIn {
            key_is_identifier: true,
            auto_id_fields: true,
            max_depth: 4,
            ..Default::default()
        }
    }

    #[test]
    fn cloudevents_structured() {
        let out = run(
            &defaults(),
            "shipping",
            None,
            &[],
            br#"{"specversion":"1.0","id":"evt-9","type":"ShipmentDelivered","source":"courier",
                "time":"2024-05-01T10:00:00Z","data":{"shipmentId":"s-1","address":{"zipId":"z-9"}}}"#,
        );
        assert_eq!(out.event_type, "ShipmentDelivered");
        assert_eq!(out.service, "courier");
        assert_eq!(out.event_id.as_deref(), Some("evt-9"));
        assert_eq!(out.time, Time::Ms(1714557600000));
        assert_eq!(
            out.ids.iter().collect::<Vec<_>>(),
            vec![("data.shipmentId", "s-1"), ("data.address.zipId", "z-9")]
        );
    }

    #[test]
    fn headers_and_key() {
        let headers = [
            Header {
                name: "Correlation-ID",
                value: Some(b"c-1"),
            },
            Header {
                name: "traceparent",
                value: Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            },
        ];
        let out = run(
            &defaults(),
            "t",
            Some(b"o-1"),
            &headers,
            b"{\"orderId\":7,\"id\":\"x\"}",
        );
        assert_eq!(
            out.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let names: Vec<_> = out.ids.iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["trace_id", "correlation-id", "key", "orderId"]);
    }

    #[test]
    fn field_and_header_ids_number_the_rules_names() {
        for (r, names) in ROLE_FIELDS.iter().enumerate() {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(field_id(n.as_bytes()), Some(F_ROLE[r].start + i), "{n}");
            }
            assert_eq!(F_ROLE[r].len(), names.len());
        }
        for (i, n) in CORRELATION_FIELDS.iter().enumerate() {
            assert_eq!(field_id(n.as_bytes()), Some(F_CORRELATION.start + i));
        }
        for (i, n) in META_KEYS.iter().enumerate() {
            assert_eq!(field_id(n.as_bytes()), Some(F_META.start + i));
        }
        for (r, names) in ROLE_HEADERS.iter().enumerate() {
            for (i, n) in names.iter().enumerate() {
                assert_eq!(header_id(n), Some(H_ROLE[r].start + i), "{n}");
            }
            assert_eq!(H_ROLE[r].len(), names.len());
        }
        for (i, n) in CORRELATION_HEADERS.iter().enumerate() {
            assert_eq!(header_id(n), Some(H_CORRELATION.start + i));
        }
        for (i, n) in TRACE_HEADERS.iter().enumerate() {
            assert_eq!(header_id(n), Some(H_TRACE.start + i));
        }
        assert_eq!(header_id("ce_subject"), Some(H_SUBJECT));
    }

    #[test]
    fn bad_source_message() {
        let mut cfg = defaults();
        cfg.sources[R_SERVICE] = vec!["bogus".into()];
        let err = Extractor::new(&cfg).err().unwrap();
        assert_eq!(
            err,
            "extract.service_from: 'bogus' is not a source (use header:NAME, payload:PATH, key or topic)"
        );
    }

    #[test]
    fn poison_kinds() {
        for (p, kind) in [
            (&b"{"[..], PayloadKind::Text),
            (b"\x00\x01", PayloadKind::Binary),
            (b"caf\xe9", PayloadKind::InvalidUtf8),
            (b"[1]", PayloadKind::Json),
            (b"\x0c{}", PayloadKind::Text),
            (b"{\"a\":NaN}", PayloadKind::Text),
        ] {
            assert_eq!(run(&defaults(), "t", None, &[], p).kind, kind);
        }
    }
}
