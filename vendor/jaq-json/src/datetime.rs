//! gitops-update patch: yq's timestamp arithmetic, `"2021-01-01T00:00:00Z" + "3h10m"`.
//!
//! yq adds a Go duration to a `!!timestamp` (pkg/yqlib/operator_add.go, `addDateTimes`) and
//! subtracts one (pkg/yqlib/operator_subtract.go, `subtractDateTime`): the timestamp is read
//! with Go's `time.RFC3339` layout, or as a date alone (pkg/yqlib/operator_datetime.go,
//! `parseDateTime`), and the result is written with `time.RFC3339`, whole seconds, in the
//! timestamp's own offset. A value here carries no tag, so a string that reads as such a
//! timestamp counts as one when the other side reads as a duration.
//!
//! Inside yq's `with_dtf(layout; f)` the layout is the one it sets (`set_layout`), and a
//! value that reads in it is the date, read and written by `crate::gotime`.

use alloc::format;
use alloc::string::String;

use crate::gotime;

#[cfg(feature = "std")]
std::thread_local! {
    /// The layout `with_dtf` set (yq's `Context.SetDateTimeLayout`, pkg/yqlib/context.go);
    /// `None` for yq's default, RFC 3339. `+` and `-` have no other way to learn it.
    static LAYOUT: core::cell::RefCell<Option<String>> = const { core::cell::RefCell::new(None) };
}

/// Sets the date layout that `+`, `-` and the date functions use, `None` for RFC 3339;
/// returns the one it replaces. Go's RFC 3339 layout itself counts as `None`, as yq
/// compares the layout with `time.RFC3339` to tell a custom one.
pub fn set_layout(layout: Option<String>) -> Option<String> {
    let layout = layout.filter(|l| l != gotime::RFC3339);
    #[cfg(feature = "std")]
    return LAYOUT.with(|l| l.replace(layout));
    #[cfg(not(feature = "std"))]
    return layout.and(None);
}

/// The layout `set_layout` set last; `None` for RFC 3339.
pub fn layout() -> Option<String> {
    #[cfg(feature = "std")]
    return LAYOUT.with(|l| l.borrow().clone());
    #[cfg(not(feature = "std"))]
    return None;
}

/// yq's `parseDateTime` (pkg/yqlib/operator_datetime.go): `s` read in the current layout;
/// with RFC 3339, a date alone is read too (midnight UTC).
pub fn parse_current(s: &str) -> Result<gotime::Time, String> {
    match layout() {
        Some(layout) => gotime::parse(&layout, s),
        None => gotime::parse(gotime::RFC3339, s)
            .or_else(|e| gotime::parse("2006-01-02", s).map_err(|_| e)),
    }
}

/// `t` written in the current layout.
pub fn format_current(t: &gotime::Time) -> String {
    gotime::format(layout().as_deref().unwrap_or(gotime::RFC3339), t)
}

/// `ts` moved by the duration `dur` (negated when `sign` is negative): `None` unless `ts`
/// is a timestamp and, with RFC 3339, `dur` a Go duration. With a custom layout a value
/// that reads in it is a date, as yq's `addScalars` and `subtractScalars` tell
/// (pkg/yqlib/operator_add.go, operator_subtract.go), and a bad duration is an error.
pub(crate) fn shift(ts: &[u8], dur: &[u8], sign: i128) -> Option<Result<String, String>> {
    let ts = core::str::from_utf8(ts).ok()?;
    let dur = core::str::from_utf8(dur).ok()?;
    let Some(layout) = layout() else {
        return shift_rfc3339(ts, dur, sign).map(Ok);
    };
    let t = gotime::parse(&layout, ts).ok()?;
    let moved = match parse_duration(dur).and_then(|d| d.checked_mul(sign)) {
        Some(d) => t.add_nanos(d),
        None => {
            return Some(Err(format!(
                "unable to parse duration {dur:?}: a Go duration is like 3h1m, 90s or -1.5h"
            )))
        }
    };
    Some(
        moved
            .map(|t| gotime::format(&layout, &t))
            .ok_or_else(|| format!("{ts:?} moved by {dur:?} is past the years a date can have")),
    )
}

/// `shift` in RFC 3339, whole seconds, in the timestamp's own offset.
fn shift_rfc3339(ts: &str, dur: &str, sign: i128) -> Option<String> {
    let (secs, nanos, offset) = parse_timestamp(ts)?;
    let d = parse_duration(dur)?.checked_mul(sign)?;
    let total = (i128::from(secs) * 1_000_000_000 + i128::from(nanos)).checked_add(d)?;
    let secs = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
    format_rfc3339(secs, offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Seconds since the epoch, nanoseconds, and the offset in seconds, of `2006-01-02T15:04:05Z`,
/// `…05.123+02:00` or a date alone (midnight UTC), as Go's `time.Parse` reads them.
fn parse_timestamp(s: &str) -> Option<(i64, u32, i64)> {
    let date = s.get(..10)?;
    let (y, m, d) = (
        digits(date.get(..4)?, 4)?,
        digits(date.get(5..7)?, 2)?,
        digits(date.get(8..10)?, 2)?,
    );
    if date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' {
        return None;
    }
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let rest = &s[10..];
    if rest.is_empty() {
        return Some((days * 86_400, 0, 0));
    }
    let rest = rest.strip_prefix('T')?;
    let (hh, mm, ss) = (
        digits(rest.get(..2)?, 2)?,
        digits(rest.get(3..5)?, 2)?,
        digits(rest.get(6..8)?, 2)?,
    );
    if rest.as_bytes()[2] != b':' || rest.as_bytes()[5] != b':' || hh > 23 || mm > 59 || ss > 59
    {
        return None;
    }
    let mut rest = &rest[8..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = frac[..n].parse::<u32>().ok()? * 10u32.pow(9 - n as u32);
        rest = &frac[n..];
    }
    let offset = if rest == "Z" {
        0
    } else {
        let sign = match rest.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        if rest.len() != 6 || rest.as_bytes()[3] != b':' {
            return None;
        }
        let (oh, om) = (digits(&rest[1..3], 2)?, digits(&rest[4..6], 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        sign * (oh * 3600 + om * 60)
    };
    let local = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some((local - offset, nanos, offset))
}

/// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers each with
/// a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), or `0`; in nanoseconds.
fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            rest = &r[n..];
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let scale: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut part = whole.checked_mul(scale)?;
        // The fraction's digits, as far as they make whole nanoseconds.
        let mut unit = scale;
        for b in frac.bytes().take(18) {
            unit /= 10;
            part = part.checked_add(i128::from(b - b'0') * unit)?;
        }
        total = total.checked_add(part)?;
    }
    // Go refuses durations beyond about 292 years.
    (total <= i128::from(i64::MAX)).then_some(if neg { -total } else { total })
}

/// Go's `time.RFC3339` layout, in the given offset (`Z` for none), years 0 to 9999.
fn format_rfc3339(utc_secs: i64, offset: i64) -> Option<String> {
    let local = utc_secs.checked_add(offset)?;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let (hh, mm, ss) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let zone = if offset == 0 {
        String::from("Z")
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
    };
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{zone}"
    ))
}
