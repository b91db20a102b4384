//! Dump lines to Kafka records: `kcat -C -J` envelopes, choreo's own JSONL
//! (`choreo export events`) and plain JSON lines, with the record path's
//! rules and its messages for lines that are not records.

use std::borrow::Cow;

use crate::extract::json_time;
use crate::isotime::Time;
use crate::json::{Doc, Int, Kind, Number, ParseError, Parser, Value};
use crate::pytext::{clean_text, orjson_float, repr_float, repr_str, text_to_bytes};

pub const TS_UNKNOWN: i8 = 0;
pub const TS_CREATE: i8 = 1;
pub const TS_LOG_APPEND: i8 = 2;

/// Headers as decoded: text names, byte values (None for a null value).
pub type HeaderList<'a> = Vec<(Cow<'a, str>, Option<Cow<'a, [u8]>>)>;

/// One record as a decoder gives it, borrowing from the line where it can.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    pub topic: Cow<'a, str>,
    pub partition: i32,
    pub offset: i64,
    pub ts: Option<i64>,
    pub ts_type: i8,
    pub key: Option<Cow<'a, [u8]>>,
    pub headers: Option<HeaderList<'a>>,
    pub payload: Option<Cow<'a, [u8]>>,
}

/// Counted remarks about lines that were decoded (kcat's deserialiser
/// errors, plain lines without a time), by their message.
#[derive(Debug, Default, Clone)]
pub struct Notes(pub Vec<(String, u64)>);

impl Notes {
    pub fn add(&mut self, what: &str, n: u64) {
        match self.0.iter_mut().find(|(w, _)| w == what) {
            Some(slot) => slot.1 += n,
            None => self.0.push((what.to_string(), n)),
        }
    }

    pub fn merge(&mut self, other: &Notes) {
        for (w, n) in &other.0 {
            self.add(w, *n);
        }
    }
}

pub const NOTE_TIME_RANGE: &str = "event time out of range (stored without it)";

#[derive(Clone, Debug)]
pub enum Format {
    Kcat,
    Choreo,
    Plain {
        topic: String,
        paths: Vec<Vec<String>>,
        /// The configured field, for the note when it is missing.
        field: Option<String>,
    },
}

const DEFAULT_TIME_FIELDS: [&str; 7] = [
    "time",
    "timestamp",
    "@timestamp",
    "occurredAt",
    "occurred_at",
    "eventTime",
    "event_time",
];

impl Format {
    pub fn plain(topic: &str, time_field: Option<&str>) -> Self {
        let field = time_field.filter(|f| !f.is_empty()).map(str::to_string);
        let paths = match &field {
            Some(f) => vec![f.split('.').map(str::to_string).collect()],
            None => DEFAULT_TIME_FIELDS
                .iter()
                .map(|f| vec![f.to_string()])
                .collect(),
        };
        Format::Plain {
            topic: topic.to_string(),
            paths,
            field,
        }
    }
}

type Bad = String;

/// Parse a dump line: orjson's reading when it accepts the line, else
/// Python json's over the line decoded with surrogateescape.
pub fn parse_line<'p>(parser: &'p mut Parser, line: &'p [u8]) -> Result<Doc<'p>, Bad> {
    parser.parse(line).map_err(|e: ParseError| {
        let msg = e.message(line);
        // The record path kept the first 80 characters of the message.
        let short: String = msg.chars().take(80).collect();
        format!("not JSON ({short})")
    })
}

const INT32_MAX: i64 = i32::MAX as i64;

fn int_text(n: &Number<'_>) -> String {
    match n {
        Number::Int(Int::I(i)) => i.to_string(),
        Number::Int(Int::U(u)) => u.to_string(),
        Number::Big(t) => t.to_string(),
        Number::Float(f) => repr_float(*f),
    }
}

/// The fields of a dump line's object the decoders read, found in one pass
/// over it (`dict.get`: a repeated key keeps its last value).
#[derive(Default)]
struct Fields<'d, 'a> {
    topic: Option<Value<'d, 'a>>,
    partition: Option<Value<'d, 'a>>,
    offset: Option<Value<'d, 'a>>,
    ts: Option<Value<'d, 'a>>,
    tstype: Option<Value<'d, 'a>>,
    ts_ms: Option<Value<'d, 'a>>,
    ts_type: Option<Value<'d, 'a>>,
    key: Option<Value<'d, 'a>>,
    payload: Option<Value<'d, 'a>>,
    headers: Option<Value<'d, 'a>>,
    choreo: Option<Value<'d, 'a>>,
    key_error: bool,
    payload_error: bool,
}

impl<'d, 'a> Fields<'d, 'a> {
    fn of(obj: Value<'d, 'a>) -> Self {
        let mut f = Fields::default();
        obj.for_each_pair(|k, v| {
            let slot = match k {
                b"topic" => &mut f.topic,
                b"partition" => &mut f.partition,
                b"offset" => &mut f.offset,
                b"ts" => &mut f.ts,
                b"tstype" => &mut f.tstype,
                b"ts_ms" => &mut f.ts_ms,
                b"ts_type" => &mut f.ts_type,
                b"key" => &mut f.key,
                b"payload" => &mut f.payload,
                b"headers" => &mut f.headers,
                b"choreo" => &mut f.choreo,
                b"key_error" => {
                    f.key_error = true;
                    return;
                }
                b"payload_error" => {
                    f.payload_error = true;
                    return;
                }
                _ => return,
            };
            *slot = Some(v);
        });
        f
    }
}

/// `require_int`: a non-negative integer field (partition, offset).
fn require_int(value: Option<Value<'_, '_>>, name: &str, maximum: i64) -> Result<i64, Bad> {
    let Some(n) = value.and_then(|v| v.as_int()) else {
        return Err(format!("{name} missing or not an integer"));
    };
    match n {
        Number::Int(Int::I(v)) if (0..=maximum).contains(&v) => Ok(v),
        _ => Err(format!("{name} {} is out of range", int_text(&n))),
    }
}

/// `optional_time`: null, or an integer within +-(2**63 - 1).
fn optional_time(value: Option<Value<'_, '_>>, name: &str) -> Result<Option<i64>, Bad> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match v.as_int() {
        Some(Number::Int(Int::I(i))) if i != i64::MIN => Ok(Some(i)),
        _ => Err(format!("{name} is not an integer timestamp")),
    }
}

/// `require_topic`.
fn require_topic<'d>(value: Option<Value<'d, '_>>) -> Result<Cow<'d, str>, Bad> {
    match value.and_then(|v| v.as_str_bytes()) {
        Some(t) if !t.is_empty() => Ok(clean_text(t)),
        _ => Err("topic missing or not a string".into()),
    }
}

/// Python's `repr()` of a JSON value as the record path held it.
pub fn py_repr(v: &Value<'_, '_>) -> String {
    match v.kind() {
        Kind::Null => "None".into(),
        Kind::Bool => if v.as_bool() == Some(true) {
            "True"
        } else {
            "False"
        }
        .into(),
        Kind::Int => v.number().map(|n| int_text(&n)).unwrap_or_default(),
        Kind::Float => match v.number() {
            Some(Number::Float(f)) => repr_float(f),
            _ => String::new(),
        },
        Kind::Str => repr_str(v.as_str_bytes().unwrap_or_default()),
        Kind::List => {
            let items: Vec<String> = v.items().map(|i| py_repr(&i)).collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Dict => {
            let items: Vec<String> = v
                .entries()
                .iter()
                .map(|(k, val)| format!("{}: {}", repr_str(k), py_repr(val)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// `orjson.dumps(value)`: compact JSON, keys in dict order.
pub fn dumps(v: &Value<'_, '_>, out: &mut Vec<u8>) {
    match v.kind() {
        Kind::Null => out.extend_from_slice(b"null"),
        Kind::Bool => out.extend_from_slice(if v.as_bool() == Some(true) {
            b"true"
        } else {
            b"false"
        }),
        Kind::Int | Kind::Float => match v.number() {
            Some(Number::Float(f)) => out.extend_from_slice(orjson_float(f).as_bytes()),
            Some(n) => out.extend_from_slice(int_text(&n).as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        Kind::Str => dump_str(v.as_str_bytes().unwrap_or_default(), out),
        Kind::List => {
            out.push(b'[');
            for (i, item) in v.items().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                dumps(&item, out);
            }
            out.push(b']');
        }
        Kind::Dict => {
            out.push(b'{');
            for (i, (k, val)) in v.entries().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                dump_str(k, out);
                out.push(b':');
                dumps(val, out);
            }
            out.push(b'}');
        }
    }
}

fn dump_str(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            0..=0x1F => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Bytes of a JSON string (raw bytes restored), as the record path's `text_to_bytes`.
fn str_bytes<'d>(v: &Value<'d, '_>) -> Option<Cow<'d, [u8]>> {
    v.as_str_bytes().map(text_to_bytes)
}

/// Which format a parsed line is in (detection of a dump's format from its
/// first lines): a choreo line has a "choreo" key; a kcat envelope has the
/// fields topic, partition, offset and a payload or key, whatever their
/// values' types (a dump whose first lines are damaged, a partition written
/// as text, is still a kcat dump: its bad lines are counted, not stored as
/// plain events under the file's name).
pub fn classify(doc: &Doc<'_>) -> Option<&'static str> {
    let obj = doc.root();
    if !obj.is_dict() {
        return None;
    }
    if obj.contains(b"choreo") {
        return Some("choreo");
    }
    if obj.contains(b"topic")
        && obj.contains(b"partition")
        && obj.contains(b"offset")
        && (obj.contains(b"payload") || obj.contains(b"key"))
    {
        return Some("kcat");
    }
    Some("plain")
}

// -- kcat -C -J --------------------------------------------------------------

/// A reader of kcat's own layout, without building a tree:
/// `{"topic":S,"partition":N,"offset":N[,"tstype":S,"ts":N][,"broker":N]
/// [,"headers":[S,S|null,...]][,"key":S|null][,"payload":S|null]}`. None for
/// anything else (other keys, another order, other types, numbers that are
/// not plain digits, a bad value): the general path then decides, so this
/// only ever gives what `decode_kcat` gives for the same line.
pub fn fast_kcat<'p>(parser: &'p mut Parser, line: &'p [u8]) -> Option<Record<'p>> {
    struct Cursor<'s> {
        s: &'s [u8],
        at: usize,
    }
    impl Cursor<'_> {
        fn lit(&mut self, lit: &[u8]) -> bool {
            let ok = self.s[self.at..].starts_with(lit);
            if ok {
                self.at += lit.len();
            }
            ok
        }
        /// Plain digits, optionally negative, that fit i64 without doubt.
        fn int(&mut self) -> Option<i64> {
            let neg = self.lit(b"-");
            let start = self.at;
            while self.s.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            let digits = &self.s[start..self.at];
            let leading_zero = digits.len() > 1 && digits[0] == b'0';
            if digits.is_empty() || digits.len() > 18 || leading_zero || (neg && digits == b"0") {
                return None;
            }
            let v: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            Some(if neg { -v } else { v })
        }
    }
    use crate::json::Span;
    #[derive(Clone, Copy)]
    enum Str {
        Null,
        Span(Span),
    }
    parser.start_strings();
    let mut c = Cursor { s: line, at: 0 };
    let mut string = |c: &mut Cursor<'_>, nullable: bool| -> Option<Str> {
        if nullable && c.lit(b"null") {
            return Some(Str::Null);
        }
        let (span, next) = parser.string_at(c.s, c.at)?;
        c.at = next;
        Some(Str::Span(span))
    };
    if !c.lit(b"{\"topic\":") {
        return None;
    }
    let Str::Span(topic) = string(&mut c, false)? else {
        return None;
    };
    if !c.lit(b",\"partition\":") {
        return None;
    }
    let partition = c.int()?;
    if !c.lit(b",\"offset\":") {
        return None;
    }
    let offset = c.int()?;
    if !(0..=INT32_MAX).contains(&partition) || offset < 0 {
        return None;
    }
    let (mut ts, mut ts_type) = (None, TS_UNKNOWN);
    if c.lit(b",\"tstype\":") {
        ts_type = if c.lit(b"\"create\"") {
            TS_CREATE
        } else if c.lit(b"\"logappend\"") {
            TS_LOG_APPEND
        } else if c.lit(b"\"unknown\"") {
            TS_UNKNOWN
        } else {
            return None;
        };
        if !c.lit(b",\"ts\":") {
            return None;
        }
        ts = Some(c.int()?);
    }
    if c.lit(b",\"broker\":") {
        c.int()?;
    }
    let mut headers: Vec<(Span, Str)> = Vec::new();
    if c.lit(b",\"headers\":[") {
        let mut first = true;
        while !c.lit(b"]") {
            if !first && !c.lit(b",") {
                return None;
            }
            first = false;
            let Str::Span(name) = string(&mut c, false)? else {
                return None;
            };
            if !c.lit(b",") {
                return None;
            }
            headers.push((name, string(&mut c, true)?));
        }
    }
    let key = if c.lit(b",\"key\":") {
        string(&mut c, true)?
    } else {
        Str::Null
    };
    let payload = if c.lit(b",\"payload\":") {
        string(&mut c, true)?
    } else {
        Str::Null
    };
    if !c.lit(b"}")
        || !line[c.at..]
            .iter()
            .all(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    let parser: &'p Parser = parser;
    let bytes = |s: Str| match s {
        Str::Null => None,
        Str::Span(span) => Some(text_to_bytes(parser.text(line, span))),
    };
    let topic = parser.text(line, topic);
    if topic.is_empty() {
        return None;
    }
    let headers: HeaderList<'p> = headers
        .into_iter()
        .map(|(n, v)| (clean_text(parser.text(line, n)), bytes(v)))
        .collect();
    Some(Record {
        topic: clean_text(topic),
        partition: partition as i32,
        offset,
        ts,
        ts_type,
        key: bytes(key),
        headers: (!headers.is_empty()).then_some(headers),
        payload: bytes(payload),
    })
}

/// kcat's key or payload: a string, null, or JSON itself (kcat -s avro).
fn kcat_value<'d>(v: Option<Value<'d, '_>>) -> Option<Cow<'d, [u8]>> {
    let v = v?;
    match v.kind() {
        Kind::Null => None,
        Kind::Str => str_bytes(&v),
        _ => {
            let mut out = Vec::new();
            dumps(&v, &mut out);
            Some(Cow::Owned(out))
        }
    }
}

type Headers<'d> = Option<HeaderList<'d>>;

fn kcat_header_value<'d>(v: &Value<'d, '_>, name: &[u8]) -> Result<Option<Cow<'d, [u8]>>, Bad> {
    match v.kind() {
        Kind::Null => Ok(None),
        Kind::Str => Ok(str_bytes(v)),
        _ => Err(format!(
            "header {} value is not a string or null",
            repr_str(name)
        )),
    }
}

fn kcat_headers<'d>(raw: Option<Value<'d, '_>>) -> Result<Headers<'d>, Bad> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    if raw.is_list() {
        if raw.len() % 2 == 1 {
            return Err("headers array has an odd number of items".into());
        }
        let items: Vec<_> = raw.items().collect();
        for pair in items.chunks(2) {
            let Some(name) = pair[0].as_str_bytes() else {
                return Err("header name is not a string".into());
            };
            out.push((clean_text(name), kcat_header_value(&pair[1], name)?));
        }
    } else if raw.is_dict() {
        for (name, values) in raw.entries() {
            let clean = clean_text(name);
            if values.is_list() {
                for v in values.items() {
                    out.push((clean.clone(), kcat_header_value(&v, name)?));
                }
            } else {
                out.push((clean, kcat_header_value(&values, name)?));
            }
        }
    } else {
        return Err("headers is neither an array nor an object".into());
    }
    Ok((!out.is_empty()).then_some(out))
}

pub fn decode_kcat<'d>(doc: &'d Doc<'_>, notes: &mut Notes) -> Result<Record<'d>, Bad> {
    let obj = doc.root();
    if !obj.is_dict() {
        return Err("not a JSON object".into());
    }
    let f = Fields::of(obj);
    let topic = require_topic(f.topic)?;
    let partition = require_int(f.partition, "partition", INT32_MAX)? as i32;
    let offset = require_int(f.offset, "offset", i64::MAX)?;
    let ts = optional_time(f.ts, "ts")?;
    let ts_type = match f.tstype.filter(|v| !v.is_null()) {
        None => TS_UNKNOWN,
        Some(v) => match v.as_str_bytes() {
            Some(b"create") => TS_CREATE,
            Some(b"logappend") => TS_LOG_APPEND,
            Some(b"unknown") => TS_UNKNOWN,
            _ => {
                return Err(format!(
                    "tstype {} is not create, logappend or unknown",
                    py_repr(&v)
                ))
            }
        },
    };
    let key = kcat_value(f.key);
    let payload = kcat_value(f.payload);
    let headers = kcat_headers(f.headers)?;
    // kcat stored null in place of what it could not deserialise.
    if f.key_error {
        notes.add("key_error (key stored as null)", 1);
    }
    if f.payload_error {
        notes.add("payload_error (payload stored as null)", 1);
    }
    Ok(Record {
        topic,
        partition,
        offset,
        ts,
        ts_type,
        key,
        headers,
        payload,
    })
}

// -- choreo's JSONL ----------------------------------------------------------

/// Standard base64 as `base64.b64decode(s, validate=True)` reads it
/// (CPython 3.11's `binascii.a2b_base64(s, strict_mode=True)`).
fn b64decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut quad, mut quad_pos, mut pads) = (0u32, 0, 0);
    let mut padding = false;
    for (i, &c) in s.iter().enumerate() {
        if c == b'=' {
            padding = true;
            if i == 0 {
                return None; // leading padding
            }
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    // The quad is complete: nothing may follow.
                    return (i + 1 == s.len()).then_some(out);
                }
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        if padding {
            return None; // data after padding began
        }
        pads = 0;
        quad = (quad << 6) | v;
        quad_pos += 1;
        match quad_pos {
            2 => out.push((quad >> 4) as u8),
            3 => out.push((quad >> 2) as u8),
            4 => {
                out.push(quad as u8);
                quad = 0;
                quad_pos = 0;
            }
            _ => {}
        }
    }
    (quad_pos == 0).then_some(out)
}

/// A byte field: null, a string (the bytes of its text) or {"b64": ...}.
fn bytes_field<'d>(v: Option<Value<'d, '_>>, what: &str) -> Result<Option<Cow<'d, [u8]>>, Bad> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if v.kind() == Kind::Str {
        return Ok(str_bytes(&v));
    }
    if v.is_dict() {
        let entries = v.entries();
        if entries.len() == 1 && entries[0].0 == b"b64" {
            if let Some(text) = entries[0].1.as_str_bytes() {
                return match b64decode(text) {
                    Some(b) => Ok(Some(Cow::Owned(b))),
                    None => Err(format!("{what}: invalid base64")),
                };
            }
        }
    }
    Err(format!("{what} is not null, a string or {{\"b64\": ...}}"))
}

fn choreo_headers<'d>(v: Option<Value<'d, '_>>) -> Result<Headers<'d>, Bad> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if !v.is_list() {
        return Err("headers is not an array".into());
    }
    let mut out = Vec::new();
    for item in v.items() {
        let pair: Vec<_> = if item.is_list() {
            item.items().collect()
        } else {
            Vec::new()
        };
        let name = match pair.as_slice() {
            [n, _] => n.as_str_bytes(),
            _ => None,
        };
        let Some(name) = name else {
            return Err("a header is not a [name, value] pair".into());
        };
        let value = bytes_field(Some(pair[1]), &format!("header {}", repr_str(name)))?;
        out.push((clean_text(name), value));
    }
    Ok((!out.is_empty()).then_some(out))
}

pub fn decode_choreo<'d>(doc: &'d Doc<'_>) -> Result<Record<'d>, Bad> {
    let obj = doc.root();
    if !obj.is_dict() {
        return Err("not a JSON object".into());
    }
    let f = Fields::of(obj);
    let version = f.choreo;
    // Python's `version != 1`: True and 1.0 equal 1 too.
    let is_one = version.is_some_and(|v| match v.kind() {
        Kind::Bool => v.as_bool() == Some(true),
        Kind::Int => v.number() == Some(Number::Int(Int::I(1))),
        Kind::Float => v.number() == Some(Number::Float(1.0)),
        _ => false,
    });
    if !is_one {
        let shown = version.map_or_else(|| "None".to_string(), |v| py_repr(&v));
        return Err(format!("choreo format version {shown} is not 1"));
    }
    let topic = require_topic(f.topic)?;
    let partition = require_int(f.partition, "partition", INT32_MAX)? as i32;
    let offset = require_int(f.offset, "offset", i64::MAX)?;
    let ts = optional_time(f.ts_ms, "ts_ms")?;
    let ts_type = match f.ts_type {
        None => 0,
        Some(v) => match v.as_int() {
            Some(Number::Int(Int::I(t @ 0..=2))) => t as i8,
            _ => return Err("ts_type is not 0, 1 or 2".into()),
        },
    };
    let key = bytes_field(f.key, "key")?;
    let headers = choreo_headers(f.headers)?;
    let payload = bytes_field(f.payload, "payload")?;
    Ok(Record {
        topic,
        partition,
        offset,
        ts,
        ts_type,
        key,
        headers,
        payload,
    })
}

// -- plain JSON lines --------------------------------------------------------

fn at_path<'d, 'a>(doc: Value<'d, 'a>, path: &[String]) -> Option<Value<'d, 'a>> {
    let mut cur = doc;
    for part in path {
        if !cur.is_dict() {
            return None;
        }
        cur = cur.get(part.as_bytes())?;
    }
    Some(cur)
}

pub fn decode_plain<'d>(
    doc: &'d Doc<'_>,
    line: &'d [u8],
    lineno: i64,
    topic: &'d str,
    paths: &[Vec<String>],
    field: Option<&str>,
    notes: &mut Notes,
) -> Result<Record<'d>, Bad> {
    let obj = doc.root();
    if !obj.is_dict() {
        return Err("not a JSON object".into());
    }
    let mut ts = None;
    let found = paths
        .iter()
        .find_map(|p| at_path(obj, p).filter(|v| !v.is_null()));
    match found {
        Some(v) => match json_time(&v) {
            Time::Ms(ms) => ts = Some(ms),
            Time::None => notes.add("time field not a time (ts unknown)", 1),
            Time::OutOfRange => notes.add("time field out of range (ts unknown)", 1),
        },
        None => match field {
            Some(f) => notes.add(
                &format!("no {} field (ts unknown)", repr_str(f.as_bytes())),
                1,
            ),
            None => notes.add("no time field (ts unknown)", 1),
        },
    }
    let end = line.len()
        - line
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
    Ok(Record {
        topic: Cow::Borrowed(topic),
        partition: 0,
        offset: lineno,
        ts,
        ts_type: TS_UNKNOWN,
        key: None,
        headers: None,
        payload: Some(Cow::Borrowed(&line[..end])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_binascii() {
        assert_eq!(b64decode(b"QUJD"), Some(b"ABC".to_vec()));
        assert_eq!(b64decode(b"QUJD="), Some(b"ABC".to_vec()));
        assert_eq!(b64decode(b"QUJD===="), Some(b"ABC".to_vec()));
        assert_eq!(b64decode(b"QUJD=QUJD"), None);
        assert_eq!(b64decode(b"QQ==QQ=="), None);
        assert_eq!(b64decode(b"QUI=="), None);
        assert_eq!(b64decode(b"=QUJD"), None);
        assert_eq!(b64decode(b"QQ=="), Some(b"A".to_vec()));
        assert_eq!(b64decode(b"QQ="), None);
        assert_eq!(b64decode(b"QQ"), None);
        assert_eq!(b64decode(b"QUI="), Some(b"AB".to_vec()));
        assert_eq!(b64decode(b"Q"), None);
        assert_eq!(b64decode(b"QR=="), Some(b"A".to_vec()));
        assert_eq!(b64decode(b"QQ=\n"), None);
        assert_eq!(b64decode(b""), Some(vec![]));
    }

    /// The direct reader gives exactly what the general path gives.
    fn same_as_general(line: &[u8]) -> bool {
        let mut fast_parser = Parser::new();
        let Some(fast) = fast_kcat(&mut fast_parser, line) else {
            return false;
        };
        let mut p = Parser::new();
        let doc = p
            .parse(line)
            .expect("the direct reader took a line that is not JSON");
        let general = decode_kcat(&doc, &mut Notes::default()).expect("not a record");
        assert_eq!(fast, general, "{}", String::from_utf8_lossy(line));
        true
    }

    #[test]
    fn direct_kcat_reader_agrees_on_every_fixture_line() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut taken = 0;
        for dir in std::fs::read_dir(root).unwrap() {
            let dump = dir.unwrap().path().join("dump.kcat.jsonl");
            if let Ok(data) = std::fs::read(dump) {
                for line in data.split_inclusive(|&b| b == b'\n') {
                    taken += same_as_general(line) as usize;
                }
            }
        }
        assert!(taken > 1500, "{taken}");
        for odd in [
            &br#"{"topic":"t","partition":1,"offset":2}"#[..],
            br#"{"topic":"t","partition":01,"offset":2}"#,
            br#"{"topic":"t","partition":2147483648,"offset":2}"#,
            br#"{"topic":"","partition":1,"offset":2}"#,
            br#"{"topic":"t","partition":1,"offset":-2}"#,
            br#"{"topic":"t","partition":1,"offset":2,"tstype":"later","ts":1}"#,
            br#"{"topic":"t","partition":1,"offset":2,"headers":["a"]}"#,
            br#"{"topic":"t","partition":1,"offset":2,"payload":{"a":1}}"#,
            br#"{"topic":"t","partition":1,"offset":2,"payload":"x","key_error":"e"}"#,
            br#"{"topic":"t","partition":1,"offset":2} x"#,
        ] {
            assert!(
                !same_as_general(odd)
                    || odd.starts_with(br#"{"topic":"t","partition":1,"offset":2}"#)
            );
        }
        assert!(same_as_general(
            b"{\"topic\":\"t\xff\",\"partition\":1,\"offset\":2,\"tstype\":\"logappend\",\"ts\":-5,\"broker\":-1,\"headers\":[\"a\\u00e9\",null,\"\xfe\",\"\\ud800\"],\"key\":null,\"payload\":\"{\\\"a\\\":1}\\n\"}\r\n"
        ));
    }

    #[test]
    fn kcat_shapes() {
        let mut p = Parser::new();
        let line = br#"{"topic":"t","partition":1,"offset":2,"tstype":"create","ts":5,"headers":["a","1","b",null],"key":"k","payload":{"x":1.0}}"#;
        let doc = p.parse(line).unwrap();
        let mut notes = Notes::default();
        let r = decode_kcat(&doc, &mut notes).unwrap();
        assert_eq!(r.payload.as_deref(), Some(&b"{\"x\":1.0}"[..]));
        assert_eq!(r.headers.unwrap().len(), 2);
        let line = br#"{"topic":"t","partition":1,"offset":2,"tstype":["x"]}"#;
        let doc = p.parse(line).unwrap();
        assert_eq!(
            decode_kcat(&doc, &mut notes).err().unwrap(),
            "tstype ['x'] is not create, logappend or unknown"
        );
    }

    #[test]
    fn formats_are_told_by_field_names() {
        let mut p = Parser::new();
        let mut format = |line: &[u8]| classify(&p.parse(line).unwrap());
        assert_eq!(format(br#"{"choreo":1,"topic":"t"}"#), Some("choreo"));
        assert_eq!(
            format(br#"{"topic":"t","partition":0,"offset":1,"payload":"{}"}"#),
            Some("kcat")
        );
        // A damaged envelope is still kcat's: its lines are then bad lines.
        assert_eq!(
            format(br#"{"topic":"t","partition":"0","offset":1,"payload":"{}"}"#),
            Some("kcat")
        );
        assert_eq!(
            format(br#"{"topic":7,"partition":0,"offset":null,"key":1}"#),
            Some("kcat")
        );
        assert_eq!(
            format(br#"{"topic":"t","partition":0,"offset":1}"#),
            Some("plain")
        );
        assert_eq!(
            format(br#"{"topic":"t","partition":0,"payload":"{}"}"#),
            Some("plain")
        );
        assert_eq!(format(br#"[1]"#), None);
    }
}
