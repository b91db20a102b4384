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
const META_KEYS: [&str; 3] = ["metadata", "meta", "_meta"];
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
    pub ids: Vec<(String, String)>,
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

/// Per-thread scratch: the JSON parser for payloads.
#[derive(Default)]
pub struct Scratch {
    parser: Parser,
}

impl Extractor {
    /// Extract one record into `out` (cleared first).
    pub fn extract(&self, rec: &RecordIn<'_>, scratch: &mut Scratch, out: &mut Extracted) {
        out.ids.clear();
        out.ids_capped = false;
        // Headers: the first non-null value of each lowercased name, as text.
        let mut hdr: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::with_capacity(rec.headers.len());
        for h in rec.headers {
            if let Some(raw) = h.value {
                let lname = lower(h.name);
                if !hdr.iter().any(|(n, _)| *n == lname) {
                    hdr.push((lname, String::from_utf8_lossy(raw)));
                }
            }
        }
        let hget = |name: &str| hdr.iter().find(|(n, _)| n == name).map(|(_, v)| v);

        let payload = rec.payload;
        let mut kind = match payload {
            None => PayloadKind::Null,
            Some([]) => PayloadKind::Empty,
            Some(p) => match first_non_ws(p) {
                Some(b'{') | Some(b'[') => PayloadKind::Json,
                _ => classify_not_json(p),
            },
        };
        let doc: Option<Doc<'_>> = if kind == PayloadKind::Json {
            let p = payload.unwrap_or_default();
            match scratch.parser.parse(p) {
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
        let mut data = body;
        let mut meta = None;
        let mut structured_ce = false;
        if let Some(b) = body {
            structured_ce = b.contains(b"specversion") && b.contains(b"type");
            if structured_ce {
                data = b.get(b"data");
            }
            meta = META_KEYS
                .iter()
                .filter_map(|mk| b.get(mk.as_bytes()))
                .find(|m| m.is_dict());
        }
        let body_full = body.filter(|b| !b.is_empty());
        let meta_full = meta.filter(|m| !m.is_empty());

        let key_text: Option<&str> = rec.key.and_then(|k| {
            let t = std::str::from_utf8(k).ok()?;
            (!t.is_empty() && t.chars().count() <= MAX_ID_LEN && str_is_printable(t)).then_some(t)
        });

        let mut values: [Option<Found<'_, '_, '_>>; 5] = Default::default();
        for (r, value) in values.iter_mut().enumerate() {
            let mut v = self.find_in_sources(&self.sources[r], &hget, body, key_text, rec.topic);
            if v.is_none() && !hdr.is_empty() {
                v = ROLE_HEADERS[r]
                    .iter()
                    .filter_map(|n| hget(n))
                    .find(|hv| !hv.is_empty())
                    .map(|hv| Found::Text(Cow::Borrowed(hv.as_ref())));
            }
            for obj in [body_full, meta_full].into_iter().flatten() {
                if v.is_some() {
                    break;
                }
                v = ROLE_FIELDS[r]
                    .iter()
                    .filter_map(|n| obj.get(n.as_bytes()))
                    .map(Found::Json)
                    .find(Found::present);
            }
            *value = v;
        }

        let scalar = |r: usize| values[r].as_ref().and_then(Found::scalar_text);
        out.event_type = scalar(R_TYPE).unwrap_or_else(|| rec.topic.to_string());
        out.service = scalar(R_SERVICE).unwrap_or_else(|| rec.topic.to_string());
        out.event_id = scalar(R_ID);
        if let (true, Some(b)) = (structured_ce, body) {
            if self.sources[R_SERVICE].is_empty() {
                if let Some(s) = b.get(b"source").as_ref().and_then(json_scalar_text) {
                    out.service = s;
                }
            }
            if out.event_id.is_none() {
                out.event_id = b.get(b"id").as_ref().and_then(json_scalar_text);
            }
        }
        out.causation_id = scalar(R_CAUSATION);
        out.time = values[R_TIME].as_ref().map_or(Time::None, Found::time);

        // Trace id: a traceparent header, else the payload's.
        let ids = &mut out.ids;
        out.trace_id = None;
        let tp: Option<Cow<'_, str>> = match TRACE_HEADERS.iter().find_map(|n| hget(n)) {
            Some(h) => Some(Cow::Borrowed(h.as_ref())),
            None => body
                .and_then(|b| b.get(b"traceparent"))
                .and_then(|t| t.as_str())
                .map(Cow::Borrowed),
        };
        if let Some(tp) = tp.filter(|t| !t.is_empty()) {
            if let Some(t) = trace_id_from_traceparent(&tp) {
                ids.push(("trace_id".to_string(), t.clone()));
                out.trace_id = Some(t);
            }
        }

        // Identifiers: headers, then the key.
        if !hdr.is_empty() {
            for h in &self.id_headers {
                if let Some(hv) = hget(h) {
                    if !hv.is_empty() && hv.chars().count() <= MAX_ID_LEN {
                        ids.push((h.clone(), hv.to_string()));
                    }
                }
            }
            if let Some(subject) = hget("ce_subject").filter(|s| !s.is_empty()) {
                ids.push(("ce_subject".to_string(), subject.to_string()));
            }
        }
        if let (Some(k), true) = (key_text, self.key_ids) {
            ids.push(("key".to_string(), k.to_string()));
        }

        // Identifiers: the payload.
        if let Some(b) = body {
            if body_full.is_some() {
                for name in CORRELATION_FIELDS {
                    for obj in [body_full, meta_full].into_iter().flatten() {
                        if let Some(sv) =
                            obj.get(name.as_bytes()).as_ref().and_then(json_scalar_text)
                        {
                            ids.push((name.to_string(), sv));
                        }
                    }
                }
            }
            for (pname, path) in &self.id_paths {
                if let Some(sv) = get_path(Some(b), path).as_ref().and_then(json_scalar_text) {
                    ids.push((pname.clone(), sv));
                }
            }
            if self.auto_ids {
                match data.filter(|d| d.is_dict()) {
                    Some(d) => {
                        let prefix = if structured_ce { "data." } else { "" };
                        self.walk_ids(d, prefix, 1, ids)
                    }
                    None => self.walk_ids(b, "", 1, ids),
                }
            }
        }
        if ids.len() > MAX_IDS {
            ids.truncate(MAX_IDS);
            out.ids_capped = true;
        }
        dedup_in_order(ids);
        if !self.ignore.is_empty() {
            ids.retain(|(n, _)| !self.ignore.iter().any(|i| i == n));
        }
    }

    fn find_in_sources<'v, 'd, 'a>(
        &self,
        sources: &[Source],
        hget: &impl Fn(&str) -> Option<&'v Cow<'v, str>>,
        body: Option<Value<'d, 'a>>,
        key: Option<&'v str>,
        topic: &'v str,
    ) -> Option<Found<'v, 'd, 'a>> {
        for s in sources {
            let v = match s {
                Source::Header(name) => hget(name).map(|h| Found::Text(Cow::Borrowed(h.as_ref()))),
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

    fn walk_ids(
        &self,
        obj: Value<'_, '_>,
        prefix: &str,
        depth: u32,
        out: &mut Vec<(String, String)>,
    ) {
        if out.len() > MAX_IDS {
            return;
        }
        for (k, v) in obj.entries() {
            let Ok(k) = std::str::from_utf8(k) else {
                continue; // payload documents are UTF-8: never happens
            };
            let full = format!("{prefix}{k}");
            if v.is_dict() {
                if depth < self.max_depth {
                    self.walk_ids(v, &format!("{full}."), depth + 1, out);
                }
                continue;
            }
            let is_id = looks_like_id(k)
                && !self.not_ids.iter().any(|n| n == k || *n == full)
                // A bare top-level "id" is usually the event's own id.
                && !(k == "id" && prefix.is_empty());
            if !is_id {
                continue;
            }
            match v.kind() {
                Kind::Str => {
                    if let Some(s) = v.as_str() {
                        let n = char_len(s.as_bytes());
                        if n > 0 && n <= MAX_ID_LEN {
                            out.push((full, s.to_string()));
                        }
                    }
                }
                Kind::Int => {
                    if let Some(s) = json_scalar_text(&v) {
                        out.push((full, s));
                    }
                }
                _ => {}
            }
        }
    }
}

/// `list(dict.fromkeys(ids))`: repeats dropped, first occurrences kept in order.
fn dedup_in_order(ids: &mut Vec<(String, String)>) {
    if ids.len() < 2 {
        return;
    }
    if ids.len() <= 32 {
        let mut i = 1;
        while i < ids.len() {
            if ids[..i].contains(&ids[i]) {
                ids.remove(i);
            } else {
                i += 1;
            }
        }
        return;
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.retain(|item| seen.insert(item.clone()));
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
            out.ids,
            vec![
                ("data.shipmentId".to_string(), "s-1".to_string()),
                ("data.address.zipId".to_string(), "z-9".to_string())
            ]
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
        let names: Vec<_> = out.ids.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["trace_id", "correlation-id", "key", "orderId"]);
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
