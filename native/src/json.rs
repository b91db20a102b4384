//! A JSON parser with the semantics of the two parsers the Python record
//! path used: orjson (payloads; dump lines first) and, for dump lines orjson
//! refused, Python's `json.loads` over the line decoded with
//! `surrogateescape`.
//!
//! One pass parses with `json.loads`' grammar and errors (its messages and
//! character positions), and notes whether orjson would have accepted the
//! document too (`Doc::strict`): orjson refuses invalid UTF-8, lone
//! surrogate escapes, `NaN`/`Infinity` and numbers that overflow a double,
//! and reads integers past 64 bits as floats. Objects keep Python dict
//! semantics: a repeated key keeps its first position and its last value.
//!
//! Strings are generalized UTF-8 (see `pytext`). The result is a flat tape of
//! nodes in document order; containers know where they end.

use crate::pytext::{push_code_point, push_surrogateescaped};

/// Deepest nesting accepted (orjson's limit; deeper is an error in both modes).
pub const MAX_DEPTH: usize = 1024;
/// Longest document accepted: offsets are 32-bit.
pub const MAX_LEN: usize = u32::MAX as usize;
/// Python's default limit on the digits of an integer converted from text.
const MAX_INT_DIGITS: usize = 4300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
    /// In the parser's arena (decoded) rather than the source.
    pub arena: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    /// Number text in the source; `float` if it has a fraction or exponent.
    Num {
        start: u32,
        len: u32,
        float: bool,
    },
    /// NaN, Infinity, -Infinity (Python's json only).
    Special(f64),
    Str(Span),
    /// `end`: index of the first node after the container's last descendant.
    Arr {
        len: u32,
        end: u32,
    },
    /// Children alternate key (`Str`) and value.
    Obj {
        len: u32,
        end: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrKind {
    Bom,
    ExpectingValue,
    PropertyName,
    Colon,
    Comma,
    Unterminated,
    ControlChar,
    Escape,
    UEscape,
    ExtraData,
    TooDeep,
    TooLong,
    /// Python refuses to convert an integer of this many digits.
    IntDigits(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrKind,
    /// Byte position in the source.
    pub pos: usize,
}

impl ParseError {
    /// The message `json.loads` gives (first line, as the record path cut it).
    pub fn message(&self, src: &[u8]) -> String {
        let what = match self.kind {
            ErrKind::Bom => "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            ErrKind::ExpectingValue => "Expecting value",
            ErrKind::PropertyName => "Expecting property name enclosed in double quotes",
            ErrKind::Colon => "Expecting ':' delimiter",
            ErrKind::Comma => "Expecting ',' delimiter",
            ErrKind::Unterminated => "Unterminated string starting at",
            ErrKind::ControlChar => "Invalid control character at",
            ErrKind::Escape => "Invalid \\escape",
            ErrKind::UEscape => "Invalid \\uXXXX escape",
            ErrKind::ExtraData => "Extra data",
            ErrKind::TooDeep => return "nested too deeply".into(),
            ErrKind::TooLong => return "line too long".into(),
            ErrKind::IntDigits(n) => {
                return format!(
                    "Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: \
                     value has {n} digits; use sys.set_int_max_str_digits() to increase the limit"
                )
            }
        };
        // Python counts characters of the surrogateescape-decoded line.
        let head = &src[..self.pos.min(src.len())];
        let char_pos = py_chars(head);
        let lineno = head.iter().filter(|&&b| b == b'\n').count() + 1;
        let colno = match head.iter().rposition(|&b| b == b'\n') {
            Some(nl) => char_pos - py_chars(&head[..=nl]) + 1,
            None => char_pos + 1,
        };
        format!("{what}: line {lineno} column {colno} (char {char_pos})")
    }
}

/// Characters of `bytes.decode("utf-8", "surrogateescape")`.
fn py_chars(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum()
}

/// A parsed document borrowing the parser's buffers.
pub struct Doc<'a> {
    pub src: &'a [u8],
    pub nodes: &'a [Node],
    arena: &'a [u8],
    /// orjson would have parsed it to the same values.
    pub strict: bool,
}

#[derive(Clone, Copy)]
enum Frame {
    Arr { node: usize, count: u32 },
    Obj { node: usize, count: u32 },
}

/// Reusable buffers: one parser per thread, many documents.
#[derive(Default)]
pub struct Parser {
    nodes: Vec<Node>,
    arena: Vec<u8>,
    stack: Vec<Frame>,
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline]
fn skip_ws(src: &[u8], mut pos: usize) -> usize {
    while pos < src.len() && is_ws(src[pos]) {
        pos += 1;
    }
    pos
}

fn hex4(src: &[u8], at: usize) -> Option<u32> {
    let digits = src.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = (v << 4) | (d as char).to_digit(16)?;
    }
    Some(v)
}

/// Whether at least `n` characters (surrogateescape counting) start at `pos`.
fn has_chars(src: &[u8], pos: usize, n: usize) -> bool {
    let mut i = pos;
    for _ in 0..n {
        if i >= src.len() {
            return false;
        }
        i += char_width(src, i);
    }
    true
}

/// Bytes of the character at `i`: a valid UTF-8 sequence, else one byte.
fn char_width(src: &[u8], i: usize) -> usize {
    let b = src[i];
    let n = match b {
        0x00..=0x7F => return 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return 1,
    };
    match src.get(i..i + n) {
        Some(seq) if std::str::from_utf8(seq).is_ok() => n,
        _ => 1,
    }
}

/// Index of the first byte at or after `pos` that is `"`, `\` or a control
/// character, and whether a byte >= 0x80 came before it.
#[inline]
fn scan_string(src: &[u8], mut pos: usize) -> (usize, bool) {
    let mut high = false;
    // Eight bytes at a time while none of them can end the run.
    while pos + 8 <= src.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&src[pos..pos + 8]);
        let v = u64::from_le_bytes(w);
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let quote = v ^ (ONES * b'"' as u64);
        let slash = v ^ (ONES * b'\\' as u64);
        // A byte is zero in `quote`/`slash`, or below 0x20 in `v`, exactly
        // where the classic "has a byte less than n" test sets its high bit
        // (bytes >= 0x80 excluded by the `!v` mask).
        let hit = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (v.wrapping_sub(ONES * 0x20) & !v);
        if hit & HIGHS != 0 {
            break;
        }
        high |= v & HIGHS != 0;
        pos += 8;
    }
    while pos < src.len() {
        let b = src[pos];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return (pos, high);
        }
        high |= b >= 0x80;
        pos += 1;
    }
    (pos, high)
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse one document (a whole line or payload).
    pub fn parse<'a>(&'a mut self, src: &'a [u8]) -> Result<Doc<'a>, ParseError> {
        self.nodes.clear();
        self.arena.clear();
        self.stack.clear();
        if src.len() > MAX_LEN {
            return Err(ParseError {
                kind: ErrKind::TooLong,
                pos: 0,
            });
        }
        let mut strict = true;
        self.run(src, &mut strict)?;
        Ok(Doc {
            src,
            nodes: &self.nodes,
            arena: &self.arena,
            strict,
        })
    }

    /// Strings only, for a reader of a fixed layout (`decode::fast_kcat`):
    /// the buffers cleared, then `string_at` for each string and `text` to
    /// read them once all are read.
    pub fn start_strings(&mut self) {
        self.arena.clear();
    }

    /// The JSON string whose quote is at `begin` (same decoding as `parse`),
    /// and the position after it; None where `parse` would report an error.
    pub fn string_at(&mut self, src: &[u8], begin: usize) -> Option<(Span, usize)> {
        if src.get(begin) != Some(&b'"') || src.len() > MAX_LEN {
            return None;
        }
        let mut strict = true;
        self.string(src, begin, &mut strict).ok()
    }

    /// A string read by `string_at` (generalized UTF-8).
    pub fn text<'s>(&'s self, src: &'s [u8], s: Span) -> &'s [u8] {
        let (a, b) = (s.start as usize, (s.start + s.len) as usize);
        if s.arena {
            &self.arena[a..b]
        } else {
            &src[a..b]
        }
    }

    fn run(&mut self, src: &[u8], strict: &mut bool) -> Result<(), ParseError> {
        if src.starts_with(b"\xEF\xBB\xBF") {
            return Err(ParseError {
                kind: ErrKind::Bom,
                pos: 0,
            });
        }
        let err = |kind, pos| Err(ParseError { kind, pos });
        let n = src.len();
        let mut pos = skip_ws(src, 0);
        'value: loop {
            // A value starts at `pos`.
            if pos >= n {
                return err(ErrKind::ExpectingValue, pos);
            }
            match src[pos] {
                b'{' | b'[' => {
                    if self.stack.len() >= MAX_DEPTH {
                        return err(ErrKind::TooDeep, pos);
                    }
                    let node = self.nodes.len();
                    let is_obj = src[pos] == b'{';
                    self.nodes.push(if is_obj {
                        Node::Obj { len: 0, end: 0 }
                    } else {
                        Node::Arr { len: 0, end: 0 }
                    });
                    pos = skip_ws(src, pos + 1);
                    let close = if is_obj { b'}' } else { b']' };
                    if pos < n && src[pos] == close {
                        let end = self.nodes.len() as u32;
                        self.nodes[node] = if is_obj {
                            Node::Obj { len: 0, end }
                        } else {
                            Node::Arr { len: 0, end }
                        };
                        pos += 1;
                    } else if is_obj {
                        self.stack.push(Frame::Obj { node, count: 0 });
                        pos = self.key(src, pos, strict)?;
                        continue 'value;
                    } else {
                        self.stack.push(Frame::Arr { node, count: 0 });
                        continue 'value;
                    }
                }
                b'"' => {
                    let (span, next) = self.string(src, pos, strict)?;
                    self.nodes.push(Node::Str(span));
                    pos = next;
                }
                b'n' if src[pos..].starts_with(b"null") => {
                    self.nodes.push(Node::Null);
                    pos += 4;
                }
                b't' if src[pos..].starts_with(b"true") => {
                    self.nodes.push(Node::Bool(true));
                    pos += 4;
                }
                b'f' if src[pos..].starts_with(b"false") => {
                    self.nodes.push(Node::Bool(false));
                    pos += 5;
                }
                b'N' if src[pos..].starts_with(b"NaN") => {
                    *strict = false;
                    self.nodes.push(Node::Special(f64::NAN));
                    pos += 3;
                }
                b'I' if src[pos..].starts_with(b"Infinity") => {
                    *strict = false;
                    self.nodes.push(Node::Special(f64::INFINITY));
                    pos += 8;
                }
                b'-' if src[pos..].starts_with(b"-Infinity") => {
                    *strict = false;
                    self.nodes.push(Node::Special(f64::NEG_INFINITY));
                    pos += 9;
                }
                _ => pos = self.number(src, pos, strict)?,
            }
            // After a value: close containers, or go on to the next value.
            loop {
                let Some(frame) = self.stack.last_mut() else {
                    break 'value;
                };
                pos = skip_ws(src, pos);
                match frame {
                    Frame::Arr { node, count } => {
                        *count += 1;
                        if pos < n && src[pos] == b']' {
                            let (node, len) = (*node, *count);
                            self.nodes[node] = Node::Arr {
                                len,
                                end: self.nodes.len() as u32,
                            };
                            self.stack.pop();
                            pos += 1;
                            continue;
                        }
                        if pos >= n || src[pos] != b',' {
                            return err(ErrKind::Comma, pos);
                        }
                        pos = skip_ws(src, pos + 1);
                        continue 'value;
                    }
                    Frame::Obj { node, count } => {
                        *count += 1;
                        if pos < n && src[pos] == b'}' {
                            let (node, len) = (*node, *count);
                            self.nodes[node] = Node::Obj {
                                len,
                                end: self.nodes.len() as u32,
                            };
                            self.stack.pop();
                            pos += 1;
                            continue;
                        }
                        if pos >= n || src[pos] != b',' {
                            return err(ErrKind::Comma, pos);
                        }
                        pos = skip_ws(src, pos + 1);
                        pos = self.key(src, pos, strict)?;
                        continue 'value;
                    }
                }
            }
        }
        pos = skip_ws(src, pos);
        if pos != n {
            return err(ErrKind::ExtraData, pos);
        }
        Ok(())
    }

    /// A key, the colon and the whitespace after it; returns where the value starts.
    fn key(&mut self, src: &[u8], pos: usize, strict: &mut bool) -> Result<usize, ParseError> {
        if pos >= src.len() || src[pos] != b'"' {
            return Err(ParseError {
                kind: ErrKind::PropertyName,
                pos,
            });
        }
        let (span, next) = self.string(src, pos, strict)?;
        self.nodes.push(Node::Str(span));
        let pos = skip_ws(src, next);
        if pos >= src.len() || src[pos] != b':' {
            return Err(ParseError {
                kind: ErrKind::Colon,
                pos,
            });
        }
        Ok(skip_ws(src, pos + 1))
    }

    /// A string starting at the quote at `begin`; returns it and the position after it.
    fn string(
        &mut self,
        src: &[u8],
        begin: usize,
        strict: &mut bool,
    ) -> Result<(Span, usize), ParseError> {
        let err = |kind, pos| Err(ParseError { kind, pos });
        let start = begin + 1;
        let (stop, high) = scan_string(src, start);
        if stop >= src.len() {
            return err(ErrKind::Unterminated, begin);
        }
        if src[stop] < 0x20 {
            return err(ErrKind::ControlChar, stop);
        }
        if src[stop] == b'"' {
            let raw = &src[start..stop];
            if !high || std::str::from_utf8(raw).is_ok() {
                let span = Span {
                    start: start as u32,
                    len: raw.len() as u32,
                    arena: false,
                };
                return Ok((span, stop + 1));
            }
            *strict = false;
            let at = self.arena.len();
            push_surrogateescaped(&mut self.arena, raw);
            return Ok((self.arena_span(at), stop + 1));
        }
        // Escapes: decode into the arena.
        let at = self.arena.len();
        let mut chunk_start = start;
        let mut stop = stop;
        let mut high = high;
        loop {
            self.push_raw(&src[chunk_start..stop], high, strict);
            if src[stop] == b'"' {
                return Ok((self.arena_span(at), stop + 1));
            }
            // A backslash at `stop`.
            let esc = stop + 1;
            if esc >= src.len() {
                return err(ErrKind::Unterminated, begin);
            }
            let mut next = esc + 1;
            match src[esc] {
                b'"' => self.arena.push(b'"'),
                b'\\' => self.arena.push(b'\\'),
                b'/' => self.arena.push(b'/'),
                b'b' => self.arena.push(0x08),
                b'f' => self.arena.push(0x0C),
                b'n' => self.arena.push(b'\n'),
                b'r' => self.arena.push(b'\r'),
                b't' => self.arena.push(b'\t'),
                b'u' => {
                    // Python: four hex digits and at least one character after them.
                    let c = match hex4(src, esc + 1) {
                        Some(c) if has_chars(src, esc + 5, 1) => c,
                        _ => return err(ErrKind::UEscape, esc),
                    };
                    next = esc + 5;
                    let mut cp = c;
                    if (0xD800..0xDC00).contains(&c)
                        && has_chars(src, next, 7)
                        && src[next] == b'\\'
                        && src[next + 1] == b'u'
                    {
                        let Some(c2) = hex4(src, next + 2) else {
                            return err(ErrKind::UEscape, next + 1);
                        };
                        if (0xDC00..0xE000).contains(&c2) {
                            cp = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
                            next += 6;
                        }
                    }
                    if (0xD800..0xE000).contains(&cp) {
                        *strict = false; // orjson refuses lone surrogates
                    }
                    push_code_point(&mut self.arena, cp);
                }
                _ => return err(ErrKind::Escape, stop),
            }
            chunk_start = next;
            (stop, high) = scan_string(src, next);
            if stop >= src.len() {
                return err(ErrKind::Unterminated, begin);
            }
            if src[stop] < 0x20 {
                return err(ErrKind::ControlChar, stop);
            }
        }
    }

    /// A run of a string's bytes between escapes; `high`: it has bytes >= 0x80.
    fn push_raw(&mut self, raw: &[u8], high: bool, strict: &mut bool) {
        if !high || std::str::from_utf8(raw).is_ok() {
            self.arena.extend_from_slice(raw);
        } else {
            *strict = false;
            push_surrogateescaped(&mut self.arena, raw);
        }
    }

    fn arena_span(&self, at: usize) -> Span {
        Span {
            start: at as u32,
            len: (self.arena.len() - at) as u32,
            arena: true,
        }
    }

    /// A number at `start` with Python's grammar; returns the position after it.
    fn number(&mut self, src: &[u8], start: usize, strict: &mut bool) -> Result<usize, ParseError> {
        let n = src.len();
        let digit = |i: usize| i < n && src[i].is_ascii_digit();
        let expecting = Err(ParseError {
            kind: ErrKind::ExpectingValue,
            pos: start,
        });
        let mut pos = start;
        if src[pos] == b'-' {
            pos += 1;
            if pos >= n {
                return expecting;
            }
        }
        match src[pos] {
            b'1'..=b'9' => {
                pos += 1;
                while digit(pos) {
                    pos += 1;
                }
            }
            b'0' => pos += 1,
            _ => return expecting,
        }
        let mut float = false;
        if pos + 1 < n && src[pos] == b'.' && digit(pos + 1) {
            float = true;
            pos += 2;
            while digit(pos) {
                pos += 1;
            }
        }
        if pos + 1 < n && (src[pos] == b'e' || src[pos] == b'E') {
            let e_start = pos;
            pos += 1;
            if pos + 1 < n && (src[pos] == b'-' || src[pos] == b'+') {
                pos += 1;
            }
            while digit(pos) {
                pos += 1;
            }
            if src[pos - 1].is_ascii_digit() {
                float = true;
            } else {
                pos = e_start;
            }
        }
        let text = &src[start..pos];
        if float {
            if !parse_f64(text).is_finite() {
                *strict = false; // orjson: "number is infinity when parsed as double"
            }
        } else {
            let digits = text.len() - (text[0] == b'-') as usize;
            if digits > MAX_INT_DIGITS {
                return Err(ParseError {
                    kind: ErrKind::IntDigits(digits),
                    pos: start,
                });
            }
            if int_value(text).is_none() && !parse_f64(text).is_finite() {
                *strict = false;
            }
        }
        self.nodes.push(Node::Num {
            start: start as u32,
            len: text.len() as u32,
            float,
        });
        Ok(pos)
    }
}

fn parse_f64(text: &[u8]) -> f64 {
    // Number text is ASCII by construction.
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN)
}

/// An integer literal that fits 64 bits (signed, or unsigned when positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    I(i64),
    U(u64),
}

fn int_value(text: &[u8]) -> Option<Int> {
    let t = std::str::from_utf8(text).ok()?;
    if let Ok(v) = t.parse::<i64>() {
        return Some(Int::I(v));
    }
    t.parse::<u64>().ok().map(Int::U)
}

/// A number as the record path saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number<'a> {
    Int(Int),
    /// An integer past 64 bits (Python's json only): its decimal text.
    Big(&'a str),
    Float(f64),
}

/// A JSON value, borrowed from a `Doc`.
#[derive(Clone, Copy)]
pub struct Value<'d, 'a> {
    doc: &'d Doc<'a>,
    idx: usize,
}

impl<'a> Doc<'a> {
    pub fn root(&self) -> Value<'_, 'a> {
        Value { doc: self, idx: 0 }
    }

    fn span_bytes(&self, s: Span) -> &[u8] {
        let (a, b) = (s.start as usize, (s.start + s.len) as usize);
        if s.arena {
            &self.arena[a..b]
        } else {
            &self.src[a..b]
        }
    }

    fn next_sibling(&self, idx: usize) -> usize {
        match self.nodes[idx] {
            Node::Arr { end, .. } | Node::Obj { end, .. } => end as usize,
            _ => idx + 1,
        }
    }
}

/// What kind of value (Python's type of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    List,
    Dict,
}

impl<'d, 'a> Value<'d, 'a> {
    pub fn node(&self) -> Node {
        self.doc.nodes[self.idx]
    }

    pub fn kind(&self) -> Kind {
        match self.node() {
            Node::Null => Kind::Null,
            Node::Bool(_) => Kind::Bool,
            Node::Num { float: true, .. } | Node::Special(_) => Kind::Float,
            Node::Num { .. } => match self.number() {
                Some(Number::Float(_)) => Kind::Float,
                _ => Kind::Int,
            },
            Node::Str(_) => Kind::Str,
            Node::Arr { .. } => Kind::List,
            Node::Obj { .. } => Kind::Dict,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.node(), Node::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// String contents (generalized UTF-8).
    pub fn as_str_bytes(&self) -> Option<&'d [u8]> {
        match self.node() {
            Node::Str(s) => Some(self.doc.span_bytes(s)),
            _ => None,
        }
    }

    /// String contents when they hold no surrogate.
    pub fn as_str(&self) -> Option<&'d str> {
        // A surrogate's generalized UTF-8 is not UTF-8, so this is None for those.
        std::str::from_utf8(self.as_str_bytes()?).ok()
    }

    pub fn number(&self) -> Option<Number<'d>> {
        match self.node() {
            Node::Special(f) => Some(Number::Float(f)),
            Node::Num { start, len, float } => {
                let text = &self.doc.src[start as usize..(start + len) as usize];
                if float {
                    return Some(Number::Float(parse_f64(text)));
                }
                match int_value(text) {
                    Some(i) => Some(Number::Int(i)),
                    // orjson reads integers past 64 bits as floats; Python's json keeps them.
                    None if self.doc.strict => Some(Number::Float(parse_f64(text))),
                    None => std::str::from_utf8(text).ok().map(Number::Big),
                }
            }
            _ => None,
        }
    }

    /// Exactly an int (not a bool): Python's `type(v) is int`.
    pub fn as_int(&self) -> Option<Number<'d>> {
        match self.number()? {
            Number::Float(_) => None,
            n => Some(n),
        }
    }

    pub fn is_dict(&self) -> bool {
        matches!(self.node(), Node::Obj { .. })
    }

    pub fn is_list(&self) -> bool {
        matches!(self.node(), Node::Arr { .. })
    }

    /// Array items in order.
    pub fn items(&self) -> impl Iterator<Item = Value<'d, 'a>> + '_ {
        let (len, mut idx) = match self.node() {
            Node::Arr { len, .. } => (len as usize, self.idx + 1),
            _ => (0, self.idx + 1),
        };
        let doc = self.doc;
        (0..len).map(move |_| {
            let v = Value { doc, idx };
            idx = doc.next_sibling(idx);
            v
        })
    }

    pub fn len(&self) -> usize {
        match self.node() {
            Node::Arr { len, .. } | Node::Obj { len, .. } => len as usize,
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Raw (key, value) pairs of an object, repeats included.
    fn pairs(&self) -> impl Iterator<Item = (&'d [u8], Value<'d, 'a>)> + '_ {
        let (len, mut idx) = match self.node() {
            Node::Obj { len, .. } => (len as usize, self.idx + 1),
            _ => (0, self.idx + 1),
        };
        let doc: &'d Doc<'a> = self.doc;
        (0..len).map(move |_| {
            let key = match doc.nodes[idx] {
                Node::Str(s) => doc.span_bytes(s),
                _ => &[][..],
            };
            let v = Value { doc, idx: idx + 1 };
            idx = doc.next_sibling(idx + 1);
            (key, v)
        })
    }

    /// Every (key, value) pair in order, repeated keys included.
    pub fn for_each_pair(&self, mut f: impl FnMut(&'d [u8], Value<'d, 'a>)) {
        for (k, v) in self.pairs() {
            f(k, v);
        }
    }

    /// Entries in dict order (each key once, at its first position, with its
    /// last value), without allocating for objects of up to 32 keys.
    pub fn for_each_entry(&self, mut f: impl FnMut(&'d [u8], Value<'d, 'a>)) {
        const SMALL: usize = 32;
        let n = self.len();
        if n > SMALL {
            for (k, v) in self.entries() {
                f(k, v);
            }
            return;
        }
        let mut pairs: [Option<(&'d [u8], Value<'d, 'a>)>; SMALL] = [None; SMALL];
        for (slot, pair) in pairs.iter_mut().zip(self.pairs()) {
            *slot = Some(pair);
        }
        let pairs = &pairs[..n];
        for (i, pair) in pairs.iter().enumerate() {
            let Some((k, mut v)) = *pair else { continue };
            if pairs[..i].iter().flatten().any(|(pk, _)| *pk == k) {
                continue; // a repeat: its value went to the first occurrence
            }
            if let Some((_, last)) = pairs[i + 1..]
                .iter()
                .flatten()
                .rev()
                .find(|(pk, _)| *pk == k)
            {
                v = *last;
            }
            f(k, v);
        }
    }

    /// `dict.get(key)`: the last value given for `key`.
    pub fn get(&self, key: &[u8]) -> Option<Value<'d, 'a>> {
        let mut found = None;
        for (k, v) in self.pairs() {
            if k == key {
                found = Some(v);
            }
        }
        found
    }

    /// `key in dict`.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.pairs().any(|(k, _)| k == key)
    }

    /// Entries in dict order: each key once, at its first position, with its last value.
    pub fn entries(&self) -> Vec<(&'d [u8], Value<'d, 'a>)> {
        let pairs: Vec<_> = self.pairs().collect();
        let mut out: Vec<(&'d [u8], Value<'d, 'a>)> = Vec::with_capacity(pairs.len());
        if pairs.len() <= 32 {
            for (k, v) in pairs {
                match out.iter_mut().find(|(ok, _)| *ok == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
        } else {
            let mut at: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
            for (k, v) in pairs {
                match at.get(k) {
                    Some(&i) => out[i].1 = v,
                    None => {
                        at.insert(k, out.len());
                        out.push((k, v));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &[u8]) -> String {
        let mut p = Parser::new();
        match p.parse(src) {
            Ok(_) => "ok".into(),
            Err(e) => e.message(src),
        }
    }

    #[test]
    fn python_messages() {
        assert_eq!(err(b""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(
            err(b"{\"a\":1\n"),
            "Expecting ',' delimiter: line 2 column 1 (char 7)"
        );
        assert_eq!(
            err(b"{\"a\" 1}"),
            "Expecting ':' delimiter: line 1 column 6 (char 5)"
        );
        assert_eq!(
            err(b"{1:2}"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        );
        assert_eq!(err(b"[1] x"), "Extra data: line 1 column 5 (char 4)");
        assert_eq!(
            err(b"\"abc"),
            "Unterminated string starting at: line 1 column 1 (char 0)"
        );
        assert_eq!(
            err(b"\"a\x01\""),
            "Invalid control character at: line 1 column 3 (char 2)"
        );
        assert_eq!(
            err(b"\"\\x\""),
            "Invalid \\escape: line 1 column 2 (char 1)"
        );
        assert_eq!(
            err(b"\"\\u12\""),
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)"
        );
        assert_eq!(err(b"\"\xff\" x"), "Extra data: line 1 column 5 (char 4)");
        assert_eq!(err(b"[-]"), "Expecting value: line 1 column 2 (char 1)");
        assert_eq!(
            err(b"[1.]"),
            "Expecting ',' delimiter: line 1 column 3 (char 2)"
        );
        assert_eq!(err(b"[NaN, -Infinity, 1e400]"), "ok");
    }

    #[test]
    fn strictness() {
        let mut p = Parser::new();
        assert!(p.parse(b"{\"a\":[1,2.5,\"x\"]}").unwrap().strict);
        for s in [&b"[NaN]"[..], b"[1e400]", b"[\"\\ud800\"]", b"[\"\xff\"]"] {
            assert!(!p.parse(s).unwrap().strict);
        }
        assert!(p.parse(b"[\"\\ud83d\\ude00\"]").unwrap().strict);
        let deep = [b"[".repeat(1024), b"]".repeat(1024)].concat();
        assert!(p.parse(&deep).is_ok());
        let deeper = [b"[".repeat(1025), b"]".repeat(1025)].concat();
        assert_eq!(
            p.parse(&deeper).err().map(|e| e.kind),
            Some(ErrKind::TooDeep)
        );
    }

    #[test]
    fn dict_semantics_and_numbers() {
        let mut p = Parser::new();
        let doc = p
            .parse(b"{\"a\":1,\"b\":2,\"a\":18446744073709551616}")
            .unwrap();
        let root = doc.root();
        let keys: Vec<_> = root.entries().iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            root.get(b"a").unwrap().number(),
            Some(Number::Float(18446744073709551616.0))
        );
        let doc = p.parse(b"[18446744073709551616, NaN]").unwrap();
        let items: Vec<_> = doc.root().items().collect();
        assert_eq!(items[0].number(), Some(Number::Big("18446744073709551616")));
    }

    #[test]
    fn escapes() {
        let mut p = Parser::new();
        let doc = p.parse(b"\"a\\n\\u00e9\\ud83d\\ude00\\\"\"").unwrap();
        assert_eq!(doc.root().as_str(), Some("a\n\u{e9}\u{1f600}\""));
    }
}
