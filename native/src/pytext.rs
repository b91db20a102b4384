//! Text as Python's record path saw it.
//!
//! The Python decoders read dump lines that are not valid UTF-8 with
//! `surrogateescape`, so their strings could hold lone surrogates (U+DC80..
//! U+DCFF for raw bytes, any surrogate from a `\uD800`-style escape). Here
//! such a string is kept as *generalized UTF-8*: UTF-8 in which a surrogate
//! code point is encoded like any other (three bytes, `ED A0..BF xx`). A
//! string without surrogates is plain UTF-8. The functions below reproduce
//! the Python operations the record path applied to its strings.

use std::borrow::Cow;

use crate::unicode_tables::NOT_PRINTABLE;

/// Appends code point `cp` (surrogates allowed) in generalized UTF-8.
pub fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// `bytes.decode("utf-8", "surrogateescape")` appended to `out`: every byte
/// that is not part of a valid UTF-8 sequence becomes U+DC00 + byte.
pub fn push_surrogateescaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            push_code_point(out, 0xDC00 + b as u32);
        }
    }
}

/// Code points of a generalized UTF-8 string (which this crate built itself).
pub fn code_points(s: &[u8]) -> CodePoints<'_> {
    CodePoints { s, i: 0 }
}

pub struct CodePoints<'a> {
    s: &'a [u8],
    i: usize,
}

impl Iterator for CodePoints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let s = self.s;
        let i = self.i;
        let b0 = *s.get(i)? as u32;
        let cont = |k: usize| s.get(i + k).map_or(0, |&b| (b & 0x3F) as u32);
        let (cp, n) = if b0 < 0x80 {
            (b0, 1)
        } else if b0 < 0xE0 {
            (((b0 & 0x1F) << 6) | cont(1), 2)
        } else if b0 < 0xF0 {
            (((b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
        } else {
            (
                ((b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
                4,
            )
        };
        self.i = (i + n).min(s.len());
        Some(cp)
    }
}

/// `len(s)` of a generalized UTF-8 string: its number of code points.
pub fn char_len(s: &[u8]) -> usize {
    s.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

fn is_surrogate(cp: u32) -> bool {
    (0xD800..=0xDFFF).contains(&cp)
}

/// Whether a generalized UTF-8 string holds a surrogate (is not plain UTF-8).
pub fn has_surrogate(s: &[u8]) -> bool {
    // 0xED is rare in text: look for it (memchr) before looking closer.
    s.contains(&0xED) && s.windows(2).any(|w| w[0] == 0xED && w[1] >= 0xA0)
}

/// The record path's `text_to_bytes`: back to the bytes a JSON string was
/// made from. `encode("utf-8")`, else `surrogateescape` (raw bytes come
/// back), else `surrogatepass` (a `\uD800` escape is kept as it was written).
pub fn text_to_bytes(s: &[u8]) -> Cow<'_, [u8]> {
    if !has_surrogate(s) {
        return Cow::Borrowed(s);
    }
    let escaped_only =
        code_points(s).all(|cp| !is_surrogate(cp) || (0xDC80..=0xDCFF).contains(&cp));
    if !escaped_only {
        return Cow::Borrowed(s); // surrogatepass writes exactly generalized UTF-8
    }
    let mut out = Vec::with_capacity(s.len());
    for cp in code_points(s) {
        if is_surrogate(cp) {
            out.push((cp - 0xDC00) as u8);
        } else {
            push_code_point(&mut out, cp);
        }
    }
    Cow::Owned(out)
}

/// The record path's `clean_text`: text for a VARCHAR column, raw
/// non-UTF-8 bytes (and surrogate escapes) as U+FFFD.
pub fn clean_text(s: &[u8]) -> Cow<'_, str> {
    if !has_surrogate(s) {
        if let Ok(text) = std::str::from_utf8(s) {
            return Cow::Borrowed(text);
        }
    }
    match text_to_bytes(s) {
        Cow::Borrowed(b) => Cow::Owned(String::from_utf8_lossy(b).into_owned()),
        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// Python's `str.isprintable()` for one code point.
pub fn is_printable(cp: u32) -> bool {
    NOT_PRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

/// Python's `str.isprintable()`.
pub fn str_is_printable(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().all(|b| (0x20..0x7F).contains(&b));
    }
    s.chars().all(|c| is_printable(c as u32))
}

/// Python's `str.isspace()` for one code point (what `str.strip()` removes).
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1C}'..='\u{20}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// Python's `str.lower()` (full case mapping, final sigma).
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.to_lowercase())
}

/// Python's `repr()` of a str (generalized UTF-8, surrogates allowed).
pub fn repr_str(s: &[u8]) -> String {
    let has_single = s.contains(&b'\'');
    let has_double = s.contains(&b'"');
    let quote = if has_single && !has_double { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for cp in code_points(s) {
        match cp {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            c if c == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            c if c < 0x20 || c == 0x7F => out.push_str(&format!("\\x{c:02x}")),
            c if c < 0x7F => out.push(c as u8 as char),
            c if is_printable(c) => out.push(char::from_u32(c).unwrap_or('\u{FFFD}')),
            c if c < 0x100 => out.push_str(&format!("\\x{c:02x}")),
            c if c < 0x10000 => out.push_str(&format!("\\u{c:04x}")),
            c => out.push_str(&format!("\\U{c:08x}")),
        }
    }
    out.push(quote);
    out
}

/// Shortest round-trip digits of a finite, non-zero |f| and its decimal
/// exponent `k` (value = d.ddd x 10^k).
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

fn layout_float(f: f64, fixed_from: i32, fixed_to: i32, exp_pad: usize, plus: bool) -> String {
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, k) = shortest_digits(f);
    if (fixed_from..=fixed_to).contains(&k) {
        if k >= 0 {
            let k = k as usize;
            if digits.len() > k + 1 {
                format!("{sign}{}.{}", &digits[..k + 1], &digits[k + 1..])
            } else {
                format!("{sign}{}{}.0", digits, "0".repeat(k + 1 - digits.len()))
            }
        } else {
            format!("{sign}0.{}{}", "0".repeat((-k - 1) as usize), digits)
        }
    } else {
        let mant = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if k < 0 {
            "-"
        } else if plus {
            "+"
        } else {
            ""
        };
        format!("{sign}{mant}e{esign}{:0exp_pad$}", k.abs())
    }
}

/// Python's `repr()` of a float.
pub fn repr_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    layout_float(f, -4, 15, 2, true)
}

/// A float as `orjson.dumps` writes it (NaN and infinities as null).
pub fn orjson_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    layout_float(f, -5, 15, 1, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogateescape_round_trip() {
        let raw = b"a\xff\xe2\x82b\xc3\xa9";
        let mut g = Vec::new();
        push_surrogateescaped(&mut g, raw);
        assert_eq!(char_len(&g), 6);
        assert_eq!(&*text_to_bytes(&g), raw);
        assert_eq!(clean_text(&g), "a\u{FFFD}\u{FFFD}b\u{e9}");
    }

    #[test]
    fn surrogatepass_when_not_only_escaped_bytes() {
        let mut g = Vec::new();
        push_code_point(&mut g, 0xD800);
        push_code_point(&mut g, 0xDCFF);
        assert_eq!(&*text_to_bytes(&g), b"\xed\xa0\x80\xed\xb3\xbf");
        assert_eq!(repr_str(&g), "'\\ud800\\udcff'");
    }

    #[test]
    fn reprs() {
        assert_eq!(repr_str(b"it's"), "\"it's\"");
        assert_eq!(repr_str(b"a'\"\n\x01\x7f"), "'a\\'\"\\n\\x01\\x7f'");
        assert_eq!(
            repr_str("\u{a0}\u{e9}\u{2028}".as_bytes()),
            "'\\xa0\u{e9}\\u2028'"
        );
        assert_eq!(repr_float(1e16), "1e+16");
        assert_eq!(repr_float(1e-5), "1e-05");
        assert_eq!(repr_float(0.0001), "0.0001");
        assert_eq!(repr_float(123456789012345.6), "123456789012345.6");
        assert_eq!(repr_float(-0.0), "-0.0");
        assert_eq!(repr_float(100.0), "100.0");
        assert_eq!(orjson_float(1e-5), "0.00001");
        assert_eq!(orjson_float(1e-7), "1e-7");
        assert_eq!(orjson_float(1e16), "1e+16");
        assert_eq!(
            orjson_float(3.0000000000000004e-05),
            "0.000030000000000000004"
        );
        assert_eq!(orjson_float(1e15), "1000000000000000.0");
    }

    #[test]
    fn printable_and_space() {
        assert!(str_is_printable("o-1 \u{e9}"));
        assert!(!str_is_printable("o\u{2028}"));
        assert!(!str_is_printable("\u{a0}"));
        assert!(is_py_space('\u{1f}'));
        assert!(!is_py_space('\u{180e}'));
    }
}
