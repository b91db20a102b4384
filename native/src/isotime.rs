//! Event times: the record path's `parse_time_ms`.
//!
//! ISO-8601 text is read exactly as CPython 3.11's `datetime.fromisoformat`
//! reads it (a port of its C parser, which relies on reading a NUL past the
//! end of the string: `at` returns 0 there), and only text with a UTC offset
//! counts. Numbers are seconds, milliseconds or microseconds since the epoch
//! by magnitude. The result is `int(dt.timestamp() * 1000)` with Python's
//! float arithmetic; a time that does not fit a 64-bit millisecond count is
//! out of range (the Python path raised on it).

use crate::pytext::{char_len, code_points, has_surrogate, push_code_point};

/// What a time value gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Time {
    Ms(i64),
    /// Not a time (no value, not ISO with an offset, a bool...).
    #[default]
    None,
    /// A number past what 64-bit milliseconds hold (or NaN/infinity).
    OutOfRange,
}

/// `parse_time_ms` of a float (ints are converted first, as Python does).
pub fn from_f64(v: f64) -> Time {
    let ms = if v > 1e14 {
        v / 1000.0
    } else if v > 1e11 {
        v
    } else {
        v * 1000.0
    };
    to_i64(ms)
}

fn to_i64(f: f64) -> Time {
    let t = f.trunc();
    // int() truncates; in range when it fits int64 exactly.
    const LIMIT: f64 = -(i64::MIN as f64); // 2**63, exact
    if (-LIMIT..LIMIT).contains(&t) {
        Time::Ms(t as i64)
    } else {
        Time::OutOfRange
    }
}

/// `parse_time_ms` of ISO text (generalized UTF-8).
pub fn from_iso(s: &[u8]) -> Time {
    if s.is_empty() {
        return Time::None;
    }
    match fromisoformat(s) {
        Some(dt) => match dt.offset_us {
            Some(off) => Time::Ms(dt.timestamp_ms(off)),
            None => Time::None,
        },
        None => Time::None,
    }
}

#[derive(Debug, Clone, Copy)]
struct DateTime {
    year: i32,
    month: i32,
    day: i32,
    hour: i32,
    minute: i32,
    second: i32,
    micro: i32,
    offset_us: Option<i64>,
}

const DAYS_IN_MONTH: [i32; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAYS_BEFORE_MONTH: [i32; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

fn is_leap(year: i32) -> bool {
    let y = year as u32;
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(year: i32, month: i32) -> i32 {
    if month == 2 && is_leap(year) {
        29
    } else {
        DAYS_IN_MONTH[month as usize]
    }
}

fn days_before_year(year: i32) -> i32 {
    let y = year - 1;
    y * 365 + y / 4 - y / 100 + y / 400
}

fn ymd_to_ord(year: i32, month: i32, day: i32) -> i32 {
    let mut days = DAYS_BEFORE_MONTH[month as usize];
    if month > 2 && is_leap(year) {
        days += 1;
    }
    days_before_year(year) + days + day
}

fn ord_to_ymd(ordinal: i32) -> Option<(i32, i32, i32)> {
    if ordinal < 1 {
        return None; // CPython computes garbage here that the constructor then refuses
    }
    let o = ordinal - 1;
    let (n400, n) = (o / 146_097, o % 146_097);
    let mut year = n400 * 400 + 1;
    let (n100, n) = (n / 36_524, n % 36_524);
    let (n4, n) = (n / 1_461, n % 1_461);
    let (n1, mut n) = (n / 365, n % 365);
    year += n100 * 100 + n4 * 4 + n1;
    if n1 == 4 || n100 == 4 {
        return Some((year - 1, 12, 31));
    }
    let leap = n1 == 3 && (n4 != 24 || n100 == 3);
    let mut month = (n + 50) >> 5;
    let mut preceding = DAYS_BEFORE_MONTH[month as usize] + (month > 2 && leap) as i32;
    if preceding > n {
        month -= 1;
        preceding -= days_in_month(year, month);
    }
    n -= preceding;
    Some((year, month, n + 1))
}

fn iso_to_ymd(iso_year: i32, week: i32, day: i32) -> Option<(i32, i32, i32)> {
    if week <= 0 || week >= 53 {
        let mut out_of_range = true;
        if week == 53 {
            let first = (ymd_to_ord(iso_year, 1, 1) + 6) % 7;
            if first == 3 || (first == 2 && is_leap(iso_year)) {
                out_of_range = false;
            }
        }
        if out_of_range {
            return None;
        }
    }
    if day <= 0 || day >= 8 {
        return None;
    }
    let first_day = ymd_to_ord(iso_year, 1, 1);
    let first_weekday = (first_day + 6) % 7;
    let mut monday = first_day - first_weekday;
    if first_weekday > 3 {
        monday += 7;
    }
    ord_to_ymd(monday + (week - 1) * 7 + day - 1)
}

/// The string as the C code reads it: bytes, then NULs forever.
struct Cstr<'a>(&'a [u8]);

impl Cstr<'_> {
    fn at(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }

    fn digit(&self, i: usize) -> bool {
        self.at(i).is_ascii_digit()
    }

    /// parse_digits: `n` digits at `p` into `var`; the position after them.
    fn digits(&self, p: usize, var: &mut i32, n: usize) -> Option<usize> {
        for i in 0..n {
            let d = self.at(p + i).wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            *var = *var * 10 + d as i32;
        }
        Some(p + n)
    }
}

fn find_separator(s: &Cstr<'_>, len: usize) -> Option<usize> {
    if len == 7 {
        return Some(7);
    }
    if s.at(4) == b'-' {
        if s.at(5) == b'W' {
            if len < 8 {
                return None;
            }
            if len > 8 && s.at(8) == b'-' {
                if len == 9 {
                    return None;
                }
                if len > 10 && s.digit(10) {
                    return Some(8);
                }
                return Some(10);
            }
            return Some(8);
        }
        return Some(10);
    }
    if s.at(4) == b'W' {
        let mut idx = 7;
        while idx < len && s.digit(idx) {
            idx += 1;
        }
        if idx < 9 {
            return Some(idx);
        }
        return Some(if idx % 2 == 0 { 7 } else { 8 });
    }
    Some(8)
}

fn parse_date(s: &Cstr<'_>, len: usize) -> Option<(i32, i32, i32)> {
    let (mut year, mut month, mut day) = (0, 0, 0);
    let mut p = s.digits(0, &mut year, 4)?;
    let sep = s.at(p) == b'-';
    if sep {
        p += 1;
    }
    if s.at(p) == b'W' {
        p += 1;
        let (mut week, mut wday) = (0, 0);
        p = s.digits(p, &mut week, 2)?;
        if p < len {
            if sep {
                let c = s.at(p);
                p += 1;
                if c != b'-' {
                    return None;
                }
            }
            s.digits(p, &mut wday, 1)?;
        } else {
            wday = 1;
        }
        return iso_to_ymd(year, week, wday);
    }
    p = s.digits(p, &mut month, 2)?;
    if sep {
        let c = s.at(p);
        p += 1;
        if c != b'-' {
            return None;
        }
    }
    s.digits(p, &mut day, 2)?;
    Some((year, month, day))
}

/// parse_hh_mm_ss_ff: Err for a malformed time, Ok(true) when not at the string's end.
fn parse_hms(s: &Cstr<'_>, start: usize, end: usize, vals: &mut [i32; 4]) -> Result<bool, ()> {
    *vals = [0; 4];
    let mut p = start;
    let mut has_sep = true;
    let mut i = 0;
    while i < 3 {
        p = s.digits(p, &mut vals[i], 2).ok_or(())?;
        let c = s.at(p);
        p += 1;
        if i == 0 {
            has_sep = c == b':';
        }
        if p >= end {
            return Ok(c != 0);
        } else if has_sep && c == b':' {
            i += 1;
            continue;
        } else if c == b'.' || c == b',' {
            break;
        } else if !has_sep {
            p -= 1;
        } else {
            return Err(());
        }
        i += 1;
    }
    let to_parse = (end - p).min(6);
    let mut micro = 0;
    p = s.digits(p, &mut micro, to_parse).ok_or(())?;
    const CORRECTION: [i32; 5] = [100_000, 10_000, 1_000, 100, 10];
    if (1..6).contains(&to_parse) {
        micro *= CORRECTION[to_parse - 1];
    }
    vals[3] = micro;
    while s.digit(p) {
        p += 1;
    }
    Ok(s.at(p) != 0)
}

/// parse_isoformat_time: the time and, when given, the offset in (seconds, µs).
fn parse_time(
    s: &Cstr<'_>,
    start: usize,
    len: usize,
    hms: &mut [i32; 4],
) -> Option<Option<(i32, i32)>> {
    let end = start + len;
    let mut tz = start;
    loop {
        let c = s.at(tz);
        if c == b'Z' || c == b'+' || c == b'-' {
            break;
        }
        tz += 1;
        if tz >= end {
            break;
        }
    }
    let more = parse_hms(s, start, tz, hms).ok()?;
    if tz == end {
        return if more { None } else { Some(None) };
    }
    if s.at(tz) == b'Z' {
        return if s.at(tz + 1) != 0 {
            None
        } else {
            Some(Some((0, 0)))
        };
    }
    let sign = if s.at(tz) == b'-' { -1 } else { 1 };
    let mut t = [0; 4];
    let rv = parse_hms(s, tz + 1, end, &mut t);
    let offset = sign * (t[0] * 3600 + t[1] * 60 + t[2]);
    match rv {
        Ok(false) => Some(Some((offset, sign * t[3]))),
        _ => None,
    }
}

fn fromisoformat(text: &[u8]) -> Option<DateTime> {
    if char_len(text) < 7 {
        return None;
    }
    // A surrogate is allowed as the separator only (it becomes 'T').
    let cleaned;
    let bytes: &[u8] = if has_surrogate(text) {
        let mut cps: Vec<u32> = code_points(text).collect();
        for pos in [7usize, 8, 10] {
            if pos > cps.len() {
                break;
            }
            if cps.get(pos).is_some_and(|&c| (0xD800..0xE000).contains(&c)) {
                cps[pos] = 'T' as u32;
                break;
            }
        }
        let mut out = Vec::with_capacity(text.len());
        for cp in cps {
            push_code_point(&mut out, cp);
        }
        if has_surrogate(&out) {
            return None;
        }
        cleaned = out;
        &cleaned
    } else {
        text
    };
    let s = Cstr(bytes);
    let len = bytes.len();
    let sep = find_separator(&s, len)?;
    let (year, month, day) = parse_date(&s, sep)?;
    let mut hms = [0; 4];
    let mut offset = None;
    if len > sep {
        let lead = s.at(sep);
        let width = if lead & 0x80 == 0 {
            1
        } else {
            match lead & 0xF0 {
                0xE0 => 3,
                0xF0 => 4,
                _ => 2,
            }
        };
        let p = sep + width;
        let tlen = len.checked_sub(p)?;
        offset = parse_time(&s, p, tlen, &mut hms)?;
    }
    // datetime's constructor checks; a zero offset is UTC whatever its microseconds.
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let [hour, minute, second, micro] = hms;
    if !(0..=23).contains(&hour) || !(0..=59).contains(&minute) || !(0..=59).contains(&second) {
        return None;
    }
    let offset_us = match offset {
        None => None,
        Some((0, _)) => Some(0),
        Some((secs, us)) => {
            let total = secs as i64 * 1_000_000 + us as i64;
            if total <= -86_400_000_000 || total >= 86_400_000_000 {
                return None;
            }
            Some(total)
        }
    };
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micro,
        offset_us,
    })
}

impl DateTime {
    /// `int(dt.timestamp() * 1000)` for an aware datetime.
    fn timestamp_ms(&self, offset_us: i64) -> i64 {
        let days = (ymd_to_ord(self.year, self.month, self.day) - ymd_to_ord(1970, 1, 1)) as i64;
        let secs = days * 86_400 + (self.hour * 3600 + self.minute * 60 + self.second) as i64;
        let total_us = secs * 1_000_000 + self.micro as i64 - offset_us;
        // timedelta.total_seconds(): exact microseconds / 10**6, correctly rounded.
        let seconds = if total_us.unsigned_abs() < (1u64 << 53) {
            total_us as f64 / 1e6
        } else {
            let sign = if total_us < 0 { "-" } else { "" };
            let a = total_us.unsigned_abs();
            format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        };
        match to_i64(seconds * 1000.0) {
            Time::Ms(ms) => ms,
            _ => 0, // years 1..9999 always fit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Time {
        from_iso(s.as_bytes())
    }

    #[test]
    fn python_examples() {
        assert_eq!(iso("2024-05-01T10:00:00Z"), Time::Ms(1714557600000));
        assert_eq!(iso("2024-05-01T10:00:00.250Z"), Time::Ms(1714557600250));
        assert_eq!(
            iso("2024-05-01T10:00:00.1234567+00:00:30.5"),
            Time::Ms(1714557569623)
        );
        assert_eq!(iso("2024-05-01T10:00:00.Z"), Time::Ms(1714557600000));
        assert_eq!(iso("2024-05-01T24:00:00Z"), Time::None);
        assert_eq!(iso("2024-05-01T10:00:00,5+0130"), Time::Ms(1714552200500));
        assert_eq!(iso("2024-W18-3T10:00Z"), Time::Ms(1714557600000));
        assert_eq!(iso("2024W18T10:00Z"), Time::Ms(1714384800000));
        assert_eq!(iso("2024-05-01T10:00:00+24:00"), Time::None);
        assert_eq!(
            iso("2024-05-01T10:00:00+23:59:59.999999"),
            Time::Ms(1714471200000)
        );
        assert_eq!(
            iso("2024-05-01T10:00:00-00:00:00.000001"),
            Time::Ms(1714557600000)
        );
        assert_eq!(iso("2024-05-01T10:00:00z"), Time::None);
        assert_eq!(iso("2024-05-01\u{e9}10:00Z"), Time::Ms(1714557600000));
        assert_eq!(iso("2024-05-01T10:00:00"), Time::None);
        assert_eq!(iso("2024-001T10:00Z"), Time::None);
    }

    #[test]
    fn numbers() {
        assert_eq!(from_f64(1714557600.0), Time::Ms(1714557600000));
        assert_eq!(from_f64(1714557600123.0), Time::Ms(1714557600123));
        assert_eq!(from_f64(1714557600123456.0), Time::Ms(1714557600123));
        assert_eq!(from_f64(1e300), Time::OutOfRange);
        assert_eq!(from_f64(-9.3e15), Time::OutOfRange);
        assert_eq!(from_f64(f64::NAN), Time::OutOfRange);
    }
}
