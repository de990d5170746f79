//! gitops-update patch: Go's reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`), read
//! and written as Go's `time.Parse` and `Time.Format` do (Go's `src/time/format.go`), for
//! yq's `with_dtf`, `format_datetime` and `tz` (yq's pkg/yqlib/operator_datetime.go).
//!
//! Where Go would consult the machine's local zone (a zone abbreviation such as `AEDT`, an
//! offset that matches the local one), this takes the local zone to be UTC, as it is in a
//! CI container: the same input gives the same bytes on every machine.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::datetime::{civil_from_days, days_from_civil, days_in_month};

/// An instant and the zone it is shown in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// Nanoseconds past `unix`, below 1e9.
    pub nanos: u32,
    /// The zone's offset east of UTC, in seconds.
    pub offset: i32,
    /// The zone's abbreviation (`UTC`, `AEDT`); empty for a bare offset, which `MST`
    /// writes as `-0700`, as Go does for a zone without a name.
    pub zone: String,
}

/// Go's `time.RFC3339`, yq's layout unless `with_dtf` sets another.
pub const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

/// One element of a layout: text to copy, or a field of the reference time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    Lit,
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    /// `MST`: the zone's abbreviation.
    Tz,
    /// `-0700` and its kin; `iso` when written `Z0700` (UTC is written `Z`).
    NumTz {
        iso: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// `.000` (`nines` false: always that many digits) or `.999` (trailing zeros dropped).
    Frac {
        digits: usize,
        nines: bool,
        sep: u8,
    },
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The zone offsets Go knows, longest first, as (text, colon, minutes, seconds).
const NUM_TZ: [(&str, bool, bool, bool); 5] = [
    ("07:00:00", true, true, true),
    ("070000", false, true, true),
    ("07:00", true, true, false),
    ("0700", false, true, false),
    ("07", false, false, false),
];

/// The layout split into literal text and fields, as Go's `nextStdChunk` splits it.
fn chunks(layout: &str) -> Vec<(Std, &str)> {
    let mut out = Vec::new();
    let mut lit = 0;
    let mut i = 0;
    let b = layout.as_bytes();
    while i < b.len() {
        match std_at(layout, i) {
            Some((std, len)) => {
                if lit < i {
                    out.push((Std::Lit, &layout[lit..i]));
                }
                out.push((std, &layout[i..i + len]));
                i += len;
                lit = i;
            }
            // Past one character: a layout may hold any text (`2006年01月02日`).
            None => i += layout[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if lit < b.len() {
        out.push((Std::Lit, &layout[lit..]));
    }
    out
}

/// The field that starts at byte `i` of the layout, and its length (Go's `nextStdChunk`).
fn std_at(l: &str, i: usize) -> Option<(Std, usize)> {
    let rest = &l[i..];
    let b = rest.as_bytes();
    let starts = |p: &str| rest.starts_with(p);
    let std = match b[0] {
        b'J' if starts("January") => (Std::LongMonth, 7),
        b'J' if starts("Jan") => (Std::Month, 3),
        b'M' if starts("Monday") => (Std::LongWeekDay, 6),
        b'M' if starts("Mon") => (Std::WeekDay, 3),
        b'M' if starts("MST") => (Std::Tz, 3),
        b'0' if starts("002") => (Std::ZeroYearDay, 3),
        b'0' => match b.get(1) {
            Some(b'1') => (Std::ZeroMonth, 2),
            Some(b'2') => (Std::ZeroDay, 2),
            Some(b'3') => (Std::ZeroHour12, 2),
            Some(b'4') => (Std::ZeroMinute, 2),
            Some(b'5') => (Std::ZeroSecond, 2),
            Some(b'6') => (Std::Year, 2),
            _ => return None,
        },
        b'1' if starts("15") => (Std::Hour, 2),
        b'1' => (Std::NumMonth, 1),
        b'2' if starts("2006") => (Std::LongYear, 4),
        b'2' => (Std::Day, 1),
        // `_2006` is a literal `_` and the year, as in Go.
        b'_' if starts("_2006") => return None,
        b'_' if starts("_2") => (Std::UnderDay, 2),
        b'_' if starts("__2") => (Std::UnderYearDay, 3),
        b'3' => (Std::Hour12, 1),
        b'4' => (Std::Minute, 1),
        b'5' => (Std::Second, 1),
        b'P' if starts("PM") => (Std::PM, 2),
        b'p' if starts("pm") => (Std::Pm, 2),
        c @ (b'-' | b'Z') => {
            let (text, colon, minutes, seconds) =
                *NUM_TZ.iter().find(|(t, ..)| rest[1..].starts_with(t))?;
            let iso = c == b'Z';
            let std = Std::NumTz {
                iso,
                colon,
                minutes,
                seconds,
            };
            (std, 1 + text.len())
        }
        sep @ (b'.' | b',') if matches!(b.get(1), Some(b'0' | b'9')) => {
            let d = b[1];
            let n = b[1..].iter().take_while(|c| **c == d).count();
            // Go: a run of one digit is a fraction only when no other digit follows.
            if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            let nines = d == b'9';
            (
                Std::Frac {
                    digits: n,
                    nines,
                    sep,
                },
                1 + n,
            )
        }
        _ => return None,
    };
    Some(std)
}

/// Whether the layout has a field Go knows; one without any reads and writes only itself,
/// which is surely a mistake (`with_dtf("YYYY-MM-DD"; …)`).
pub fn check_layout(layout: &str) -> Result<(), String> {
    if chunks(layout).iter().any(|(s, _)| *s != Std::Lit) {
        Ok(())
    } else {
        Err(format!(
            "the date layout {layout:?} has no field of Go's reference time \
             (Mon Jan 2 15:04:05 MST 2006), e.g. \"2006-01-02T15:04:05Z07:00\""
        ))
    }
}

/// The local date and time of `t`: (year, month, day, hour, minute, second, weekday with
/// Sunday 0, day of the year from 1).
fn civil(t: &Time) -> (i64, i64, i64, i64, i64, i64, usize, i64) {
    let local = t.unix.saturating_add(i64::from(t.offset));
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wd = (days + 4).rem_euclid(7) as usize;
    let yday = days - days_from_civil(y, 1, 1) + 1;
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60, wd, yday)
}

/// `n` in at least `width` digits, zero-padded (Go's `appendInt`).
fn pad(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    let s = n.unsigned_abs().to_string();
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

/// `t` written in the layout, as Go's `Time.Format` writes it.
pub fn format(layout: &str, t: &Time) -> String {
    let (y, m, d, hh, mm, ss, wd, yday) = civil(t);
    let month = LONG_MONTHS[(m - 1) as usize];
    let mut out = String::new();
    for (std, text) in chunks(layout) {
        match std {
            Std::Lit => out.push_str(text),
            Std::LongMonth => out.push_str(month),
            Std::Month => out.push_str(&month[..3]),
            Std::NumMonth => pad(&mut out, m, 0),
            Std::ZeroMonth => pad(&mut out, m, 2),
            Std::LongWeekDay => out.push_str(LONG_DAYS[wd]),
            Std::WeekDay => out.push_str(&LONG_DAYS[wd][..3]),
            Std::Day => pad(&mut out, d, 0),
            Std::UnderDay => {
                if d < 10 {
                    out.push(' ');
                }
                pad(&mut out, d, 0);
            }
            Std::ZeroDay => pad(&mut out, d, 2),
            Std::UnderYearDay => {
                out.push_str(if yday < 10 {
                    "  "
                } else if yday < 100 {
                    " "
                } else {
                    ""
                });
                pad(&mut out, yday, 0);
            }
            Std::ZeroYearDay => pad(&mut out, yday, 3),
            Std::Hour => pad(&mut out, hh, 2),
            Std::Hour12 => pad(&mut out, if hh % 12 == 0 { 12 } else { hh % 12 }, 0),
            Std::ZeroHour12 => pad(&mut out, if hh % 12 == 0 { 12 } else { hh % 12 }, 2),
            Std::Minute => pad(&mut out, mm, 0),
            Std::ZeroMinute => pad(&mut out, mm, 2),
            Std::Second => pad(&mut out, ss, 0),
            Std::ZeroSecond => pad(&mut out, ss, 2),
            Std::LongYear => pad(&mut out, y, 4),
            Std::Year => pad(&mut out, y.rem_euclid(100), 2),
            Std::PM => out.push_str(if hh >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hh >= 12 { "pm" } else { "am" }),
            Std::Tz if !t.zone.is_empty() => out.push_str(&t.zone),
            Std::Tz => write_offset(&mut out, t.offset, false, true, false),
            Std::NumTz { iso: true, .. } if t.offset == 0 => out.push('Z'),
            Std::NumTz {
                colon,
                minutes,
                seconds,
                ..
            } => write_offset(&mut out, t.offset, colon, minutes, seconds),
            Std::Frac { digits, nines, sep } => write_frac(&mut out, t.nanos, digits, nines, sep),
        }
    }
    out
}

fn write_offset(out: &mut String, offset: i32, colon: bool, minutes: bool, seconds: bool) {
    out.push(if offset < 0 { '-' } else { '+' });
    let abs = i64::from(offset.unsigned_abs());
    pad(out, abs / 3600, 2);
    if minutes {
        if colon {
            out.push(':');
        }
        pad(out, abs % 3600 / 60, 2);
    }
    if seconds {
        if colon {
            out.push(':');
        }
        pad(out, abs % 60, 2);
    }
}

/// Go's `appendNano`: `.000` keeps every digit asked for, `.999` drops trailing zeros
/// (and the separator with them when nothing is left).
fn write_frac(out: &mut String, nanos: u32, digits: usize, nines: bool, sep: u8) {
    let all = format!("{nanos:09}");
    let mut frac = &all[..digits.min(9)];
    if nines {
        frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            return;
        }
    }
    out.push(char::from(sep));
    out.push_str(frac);
}

/// What `parse` has read so far; `None` where the layout has no such field.
#[derive(Default)]
struct Fields {
    year: i64,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: u32,
    pm: Option<bool>,
    /// `Z` or `UTC`: UTC, named so.
    utc: bool,
    offset: Option<i32>,
    zone: Option<String>,
}

/// Why `value` does not read in the layout, in Go's words.
fn bad(value: &str, layout: &str, rest: &str, elem: &str) -> String {
    format!("parsing time {value:?} as {layout:?}: cannot parse {rest:?} as {elem:?}")
}

/// `value` read in the layout, as Go's `time.Parse` reads it.
pub fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let parts = chunks(layout);
    let mut f = Fields::default();
    let mut rest = value;
    for (i, (std, text)) in parts.iter().enumerate() {
        if *std == Std::Lit {
            rest = skip(rest, text).ok_or_else(|| bad(value, layout, rest, text))?;
            continue;
        }
        let next_is_frac = matches!(parts.get(i + 1), Some((Std::Frac { .. }, _)));
        rest = field(&mut f, *std, rest, next_is_frac).map_err(|e| match e {
            Miss::Bad => bad(value, layout, rest, text),
            Miss::Range(what) => format!("parsing time {value:?}: {what} out of range"),
        })?;
    }
    if !rest.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {rest:?}"));
    }
    resolve(f).map_err(|what| format!("parsing time {value:?}: {what} out of range"))
}

/// Go's `skip`: the layout's literal text, a run of spaces in it matching one or more.
fn skip<'a>(mut value: &'a str, mut lit: &str) -> Option<&'a str> {
    while let Some(c) = lit.chars().next() {
        if c == ' ' {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            lit = lit.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        value = value.strip_prefix(c)?;
        lit = &lit[c.len_utf8()..];
    }
    Some(value)
}

enum Miss {
    Bad,
    Range(&'static str),
}

/// A number of one or two digits (exactly two when `fixed`), as Go's `getnum`.
fn num2(s: &str, fixed: bool) -> Result<(i64, &str), Miss> {
    let b = s.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let first = digit(0).ok_or(Miss::Bad)?;
    match digit(1) {
        Some(second) => Ok((first * 10 + second, &s[2..])),
        None if fixed => Err(Miss::Bad),
        None => Ok((first, &s[1..])),
    }
}

/// Exactly `n` digits.
fn num_n(s: &str, n: usize) -> Result<(i64, &str), Miss> {
    let head = s.get(..n).filter(|h| h.bytes().all(|c| c.is_ascii_digit()));
    let head = head.ok_or(Miss::Bad)?;
    Ok((head.parse().map_err(|_| Miss::Bad)?, &s[n..]))
}

fn in_range(v: i64, lo: i64, hi: i64, what: &'static str) -> Result<i64, Miss> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(Miss::Range(what))
    }
}

/// The index of the name `s` starts with, compared without case as Go's `lookup` does.
fn lookup<'a>(s: &'a str, names: &[&str], len: Option<usize>) -> Result<(usize, &'a str), Miss> {
    for (i, name) in names.iter().enumerate() {
        let name = len.map_or(*name, |n| &name[..n]);
        if let Some(head) = s.get(..name.len()) {
            if head.eq_ignore_ascii_case(name) {
                return Ok((i, &s[name.len()..]));
            }
        }
    }
    Err(Miss::Bad)
}

/// One field read from the front of `s`, into `f`; what follows it.
fn field<'a>(f: &mut Fields, std: Std, s: &'a str, next_is_frac: bool) -> Result<&'a str, Miss> {
    let rest = match std {
        Std::Lit => s,
        Std::LongYear => {
            let (v, r) = num_n(s, 4)?;
            f.year = v;
            r
        }
        Std::Year => {
            let (v, r) = num_n(s, 2)?;
            f.year = v + if v >= 69 { 1900 } else { 2000 };
            r
        }
        Std::LongMonth | Std::Month => {
            let len = (std == Std::Month).then_some(3);
            let (i, r) = lookup(s, &LONG_MONTHS, len)?;
            f.month = Some(i as i64 + 1);
            r
        }
        Std::NumMonth | Std::ZeroMonth => {
            let (v, r) = num2(s, std == Std::ZeroMonth)?;
            f.month = Some(in_range(v, 1, 12, "month")?);
            r
        }
        // Go reads the day of the week and then ignores it.
        Std::LongWeekDay | Std::WeekDay => {
            let len = (std == Std::WeekDay).then_some(3);
            lookup(s, &LONG_DAYS, len)?.1
        }
        Std::Day | Std::UnderDay | Std::ZeroDay => {
            let s = if std == Std::UnderDay {
                s.strip_prefix(' ').unwrap_or(s)
            } else {
                s
            };
            let (v, r) = num2(s, std == Std::ZeroDay)?;
            f.day = Some(v);
            r
        }
        Std::UnderYearDay | Std::ZeroYearDay => {
            let t = if std == Std::UnderYearDay {
                s.trim_start_matches(' ')
            } else {
                s
            };
            let n = t.bytes().take_while(u8::is_ascii_digit).count();
            let width = if std == Std::ZeroYearDay {
                3
            } else {
                n.clamp(1, 3)
            };
            let (v, r) = num_n(t, width)?;
            f.yday = Some(in_range(v, 1, 366, "day-of-year")?);
            r
        }
        Std::Hour => hms(s, false, 23, "hour", &mut f.hour)?,
        Std::Hour12 | Std::ZeroHour12 => hms(s, std == Std::ZeroHour12, 12, "hour", &mut f.hour)?,
        Std::Minute | Std::ZeroMinute => {
            hms(s, std == Std::ZeroMinute, 59, "minute", &mut f.minute)?
        }
        Std::Second | Std::ZeroSecond => {
            let r = hms(s, std == Std::ZeroSecond, 59, "second", &mut f.second)?;
            // Go reads a fraction after the seconds that the layout does not show.
            let b = r.as_bytes();
            if !next_is_frac
                && matches!(b.first(), Some(b'.' | b','))
                && b.get(1).is_some_and(u8::is_ascii_digit)
            {
                let n = 1 + r[1..].bytes().take_while(u8::is_ascii_digit).count();
                f.nanos = nanos(&r[1..n])?;
                &r[n..]
            } else {
                r
            }
        }
        Std::PM | Std::Pm => {
            let (am, pm) = if std == Std::PM {
                ("AM", "PM")
            } else {
                ("am", "pm")
            };
            let head = s.get(..2).ok_or(Miss::Bad)?;
            f.pm = Some(match head {
                h if h == pm => true,
                h if h == am => false,
                _ => return Err(Miss::Bad),
            });
            &s[2..]
        }
        Std::Tz => zone_name(f, s)?,
        Std::NumTz { iso: true, .. } if s.starts_with('Z') => {
            f.utc = true;
            &s[1..]
        }
        Std::NumTz {
            colon,
            minutes,
            seconds,
            ..
        } => num_offset(f, s, colon, minutes, seconds)?,
        Std::Frac { digits, nines, .. } => {
            let b = s.as_bytes();
            let sep = matches!(b.first(), Some(b'.' | b','));
            if nines {
                // `.999`: the fraction may be left out, and may have any number of digits.
                if !sep || !b.get(1).is_some_and(u8::is_ascii_digit) {
                    return Ok(s);
                }
                let n = 1 + s[1..].bytes().take_while(u8::is_ascii_digit).count();
                f.nanos = nanos(&s[1..n])?;
                &s[n..]
            } else {
                let digits_ok = s
                    .get(1..=digits)
                    .is_some_and(|d| d.bytes().all(|c| c.is_ascii_digit()));
                if !sep || !digits_ok {
                    return Err(Miss::Bad);
                }
                f.nanos = nanos(&s[1..=digits])?;
                &s[1 + digits..]
            }
        }
    };
    Ok(rest)
}

fn hms<'a>(
    s: &'a str,
    fixed: bool,
    hi: i64,
    what: &'static str,
    to: &mut i64,
) -> Result<&'a str, Miss> {
    let (v, r) = num2(s, fixed)?;
    *to = in_range(v, 0, hi, what)?;
    Ok(r)
}

/// Nanoseconds of a fraction's digits (Go's `parseNanoseconds`: at most 9 are meaningful).
fn nanos(digits: &str) -> Result<u32, Miss> {
    // Go reads no more than nanoseconds, and drops the digits past them.
    let head = &digits[..digits.len().min(9)];
    let v: u32 = head.parse().map_err(|_| Miss::Bad)?;
    Ok(v * 10u32.pow(9 - head.len() as u32))
}

/// `-0700` and its kin, as the layout spells it.
fn num_offset<'a>(
    f: &mut Fields,
    s: &'a str,
    colon: bool,
    minutes: bool,
    seconds: bool,
) -> Result<&'a str, Miss> {
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(Miss::Bad),
    };
    let (hh, mut r) = num_n(&s[1..], 2)?;
    let mut total = hh * 3600;
    for (on, unit) in [(minutes, 60), (seconds, 1)] {
        if !on {
            continue;
        }
        if colon {
            r = r.strip_prefix(':').ok_or(Miss::Bad)?;
        }
        let (v, rr) = num_n(r, 2)?;
        total += v * unit;
        r = rr;
    }
    if hh > 24 {
        return Err(Miss::Range("time zone offset hour"));
    }
    f.offset = Some((sign * total) as i32);
    Ok(r)
}

/// `MST`: `UTC`, or an abbreviation as Go's `parseTimeZone` accepts one (`GMT+3`, `ChST`,
/// three to five capitals ending in `T`, `-03`).
fn zone_name<'a>(f: &mut Fields, s: &'a str) -> Result<&'a str, Miss> {
    if let Some(r) = s.strip_prefix("UTC") {
        f.utc = true;
        return Ok(r);
    }
    let n = zone_len(s).ok_or(Miss::Bad)?;
    f.zone = Some(s[..n].to_string());
    Ok(&s[n..])
}

fn zone_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if s.starts_with("ChST") || s.starts_with("MeST") {
        return Some(4);
    }
    if let Some(r) = s.strip_prefix("GMT") {
        return Some(3 + signed_hours(r).unwrap_or(0));
    }
    if matches!(b[0], b'+' | b'-') {
        return signed_hours(s);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if b[3] == b'T' || s.starts_with("WITA") => Some(4),
        5 if b[4] == b'T' => Some(5),
        _ => None,
    }
}

/// Go's `parseSignedOffset`: a sign and an hour up to 23; its length.
fn signed_hours(s: &str) -> Option<usize> {
    if !matches!(s.as_bytes().first(), Some(b'+' | b'-')) {
        return None;
    }
    let n = s[1..].bytes().take_while(u8::is_ascii_digit).count();
    let v: i64 = s.get(1..1 + n)?.parse().ok()?;
    (n > 0 && v <= 23).then_some(1 + n)
}

/// The instant the fields name, as Go's `Parse` settles it after reading them.
fn resolve(f: Fields) -> Result<Time, &'static str> {
    let mut hour = f.hour;
    match f.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let (month, day) = match f.yday {
        Some(yday) => from_yday(f.year, yday, f.month, f.day)?,
        None => (f.month.unwrap_or(1), f.day.unwrap_or(1)),
    };
    if day < 1 || day > days_in_month(f.year, month) {
        return Err("day");
    }
    let local =
        days_from_civil(f.year, month, day) * 86_400 + hour * 3600 + f.minute * 60 + f.second;
    let (offset, zone) = if f.utc {
        (0, String::from("UTC"))
    } else if let Some(offset) = f.offset {
        // The local zone (UTC) has that offset only when it is 0; else Go makes a zone
        // that records the offset, with the abbreviation read, if any.
        let zone = f.zone.unwrap_or_default();
        match zone.is_empty() && offset == 0 {
            true => (0, String::from("UTC")),
            false => (offset, zone),
        }
    } else if let Some(zone) = f.zone {
        // An abbreviation the local zone (UTC) does not know: Go records it with offset 0,
        // or the hours after `GMT`.
        let hours: i32 = zone
            .strip_prefix("GMT")
            .and_then(|h| h.parse().ok())
            .unwrap_or(0);
        (hours * 3600, zone)
    } else {
        (0, String::from("UTC"))
    };
    Ok(Time {
        unix: local - i64::from(offset),
        nanos: f.nanos,
        offset,
        zone,
    })
}

/// Month and day of a day of the year; they must agree with a month and day also read.
fn from_yday(
    year: i64,
    yday: i64,
    month: Option<i64>,
    day: Option<i64>,
) -> Result<(i64, i64), &'static str> {
    let days = days_from_civil(year, 1, 1) + yday - 1;
    let (y, m, d) = civil_from_days(days);
    if y != year || month.is_some_and(|mm| mm != m) || day.is_some_and(|dd| dd != d) {
        return Err("day-of-year");
    }
    Ok((m, d))
}

impl Time {
    /// The same zone, `nanos` nanoseconds later (earlier when negative); `None` past
    /// what an `i64` of seconds holds.
    pub fn add_nanos(&self, nanos: i128) -> Option<Time> {
        let total =
            (i128::from(self.unix) * 1_000_000_000 + i128::from(self.nanos)).checked_add(nanos)?;
        Some(Time {
            unix: i64::try_from(total.div_euclid(1_000_000_000)).ok()?,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: self.offset,
            zone: self.zone.clone(),
        })
    }
}
