//! yq's date and time functions (pkg/yqlib/operator_datetime.go): `format_datetime`, `tz`,
//! `to_unix`, `from_unix`, and the layout `with_dtf` sets (`__dtf_set`, which yq.jq's
//! `with_dtf` calls around its expression). Layouts are Go's, read and written by
//! `jaq_json::gotime`; `+` and `-` read the same layout (`jaq_json::datetime`).

use jaq_core::data::JustLut;
use jaq_core::native::{bome, run, unary, v, Filter, Fun};
use jaq_core::RunPtr;
use jaq_json::datetime::{format_current, parse_current, set_layout};
use jaq_json::gotime::{self, Time};
use jaq_json::{Error, Val, ValR};
use jaq_std::ValT as _;

type D = JustLut<Val>;

/// `__dtf_set($layout)`: sets the layout (`null`: RFC 3339) and gives back the one it
/// replaces. `format_datetime($f)`, `tz($zone)`, `to_unix`, `from_unix`: see each function.
pub(super) fn funs() -> impl Iterator<Item = Fun<D>> {
    let natives: [Filter<RunPtr<D>>; 5] = [
        ("__dtf_set", v(1), |cv| unary(cv, |_, l| dtf_set(l))),
        ("format_datetime", v(1), |cv| unary(cv, format_datetime)),
        ("tz", v(1), |cv| unary(cv, tz)),
        ("to_unix", v(0), |cv| bome(to_unix(cv.1))),
        ("from_unix", v(0), |cv| bome(from_unix(cv.1))),
    ];
    natives.into_iter().map(run::<D>)
}

/// Back to RFC 3339 before a run: `with_dtf` restores the layout it replaced, but a run
/// stopped from outside (a budget) may not get that far, and the next must not inherit it.
pub(super) fn reset() {
    set_layout(None);
}

fn dtf_set(layout: Val) -> ValR {
    let layout = match layout {
        Val::Null => None,
        Val::TStr(b) => {
            let l = String::from_utf8_lossy(&b).into_owned();
            gotime::check_layout(&l).map_err(|e| Error::str(format!("with_dtf: {e}")))?;
            Some(l)
        }
        other => {
            return Err(Error::str(format!(
                "with_dtf needs a date layout string first, as in with_dtf(\"Monday, 02-Jan-06 at 3:04PM MST\"; …), not {other}"
            )))
        }
    };
    Ok(set_layout(layout).map_or(Val::Null, Val::from))
}

/// The date a value holds, read in the current layout; `what` names the function for the
/// error. yq reads a scalar's text, so a number (`2001` in layout `2006`) reads too.
fn date_of(v: &Val, what: &str) -> Result<Time, Error> {
    let text = match v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        Val::Num(_) => v.to_string(),
        other => return Err(Error::str(format!("{what} needs a date, not {other}"))),
    };
    parse_current(&text).map_err(|e| Error::str(format!("{what}: {e}")))
}

/// yq's `format_datetime`: the date written in the given layout, read back as yq's
/// `parseSnippet` reads it, so `format_datetime("2006")` is a number and the rest strings.
fn format_datetime(v: Val, layout: Val) -> ValR {
    let Val::TStr(layout) = &layout else {
        return Err(Error::str(format!(
            "format_datetime needs a layout string, not {layout}"
        )));
    };
    let layout = String::from_utf8_lossy(layout);
    gotime::check_layout(&layout).map_err(|e| Error::str(format!("format_datetime: {e}")))?;
    let text = gotime::format(&layout, &date_of(&v, "format_datetime")?);
    let scalar = crate::yaml::parse(&text, "a date")
        .ok()
        .and_then(|p| p.values.into_iter().next());
    Ok(match scalar {
        Some(s @ (Val::Bool(_) | Val::Num(_))) => s,
        _ if text.is_empty() => Val::Null,
        _ => Val::from(text),
    })
}

/// yq's `tz`: the date shown in an IANA zone, written in the current layout. The zone
/// is loaded before the date is read, as yq's `tzOp` does. The zone database is the
/// system's, else the one compiled in (jiff's `tzdb-bundle-always`).
fn tz(v: Val, zone: Val) -> ValR {
    let Val::TStr(name) = &zone else {
        return Err(Error::str(format!(
            "tz needs a zone name, such as \"Europe/Paris\", not {zone}"
        )));
    };
    let name = String::from_utf8_lossy(name);
    let zone = load_zone(&name).map_err(Error::str)?;
    let t = date_of(&v, "tz")?;
    let at = jiff::Timestamp::new(t.unix, 0).map_err(|_| {
        Error::str(format!(
            "tz: the date is past the years {name} has offsets for"
        ))
    })?;
    let info = zone.to_offset_info(at);
    let shown = Time {
        offset: info.offset().seconds(),
        zone: info.abbreviation().to_string(),
        ..t
    };
    Ok(Val::from(format_current(&shown)))
}

/// The zone `name`. Go's `time.LoadLocation` reads `""` and `UTC` as UTC; `Local` (the
/// machine's zone) is refused, since the same template must give the same bytes on every
/// machine.
fn load_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    if name.eq_ignore_ascii_case("local") {
        return Err(format!(
            "tz(\"{name}\"): the machine's own zone differs from one machine to the next; name the zone, as in tz(\"Europe/Paris\") or tz(\"UTC\")"
        ));
    }
    jiff::tz::TimeZone::get(name).map_err(|_| {
        format!("tz: could not load the time zone {name:?}: it is not in the IANA time zone database (zones are named like Australia/Sydney or UTC)")
    })
}

/// yq's `to_unix`: whole seconds since 1970 (Go's `Time.Unix`, which rounds down).
fn to_unix(v: Val) -> ValR {
    let t = date_of(&v, "to_unix")?;
    let secs =
        isize::try_from(t.unix).map_err(|_| Error::str("to_unix: the date is out of range"))?;
    Ok(Val::from(secs))
}

/// yq's `from_unix`: seconds (a fraction counts to the millisecond, as yq's `UnixMilli`)
/// as an RFC 3339 timestamp in UTC, whole seconds, as yq writes it.
fn from_unix(v: Val) -> ValR {
    let Some(secs) = v.as_f64().filter(|_| matches!(v, Val::Num(_))) else {
        return Err(Error::str(format!(
            "from_unix only works on numbers, not {v}"
        )));
    };
    let millis = (secs * 1000.0).trunc();
    if !millis.is_finite() || millis.abs() > 2.5e14 {
        return Err(Error::str(format!("from_unix: {v} is out of range")));
    }
    let t = Time {
        unix: (millis as i64).div_euclid(1000),
        nanos: 0,
        offset: 0,
        zone: String::from("UTC"),
    };
    Ok(Val::from(gotime::format(gotime::RFC3339, &t)))
}

#[cfg(test)]
mod tests {
    //! Go's layouts (`jaq_json::gotime`, which cannot hold its own tests: the vendored
    //! crate is not a workspace member) and the functions built on them.
    use super::*;
    use jaq_json::gotime::{check_layout, format, parse, RFC3339};

    /// Go's reference time, 2006-01-02T15:04:05.123456789-07:00, in zone `MST`.
    fn reference() -> Time {
        Time {
            unix: 1_136_239_445,
            nanos: 123_456_789,
            offset: -7 * 3600,
            zone: String::from("MST"),
        }
    }

    #[test]
    fn every_field_writes_as_go_writes_the_reference_time() {
        let t = reference();
        let cases = vec![
            ("2006 06 January Jan 1 01", "2006 06 January Jan 1 01"),
            ("Monday Mon 2 _2 02 002 __2", "Monday Mon 2  2 02 002   2"),
            ("15 3 03 4 04 5 05 PM pm", "15 3 03 4 04 5 05 PM pm"),
            (
                "MST -0700 -07:00 -07 -070000 -07:00:00",
                "MST -0700 -07:00 -07 -070000 -07:00:00",
            ),
            (
                "Z0700 Z07:00 Z07 Z070000 Z07:00:00",
                "-0700 -07:00 -07 -070000 -07:00:00",
            ),
            (
                ".0 .000 ,000000 .999 .999999999",
                ".1 .123 ,123456 .123 .123456789",
            ),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Mon Jan  2 15:04:05 MST 2006",
            ),
            // Not fields: a digit run that goes on, and text without a field.
            ("05.0001 at", "05.0001 at"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(layout, &t), want, "{layout}");
        }
    }

    #[test]
    fn zones_write_as_go_writes_them() {
        let mut t = reference();
        t.offset = 0;
        t.zone = String::from("UTC");
        assert_eq!(format(RFC3339, &t), "2006-01-02T22:04:05Z");
        assert_eq!(format("-07:00 MST", &t), "+00:00 UTC");
        t.offset = 5 * 3600 + 30 * 60;
        t.zone = String::new();
        assert_eq!(format("MST Z07:00", &t), "+0530 +05:30");
        t.nanos = 0;
        assert_eq!(format("05.999|05.000", &t), "05|05.000");
    }

    #[test]
    fn what_is_written_reads_back() {
        let t = reference();
        for layout in [
            "2006-01-02T15:04:05.999999999Z07:00",
            "Mon Jan _2 15:04:05.000000000 MST -0700 2006",
            "Monday, 02-Jan-06 at 3:04:05.999999999PM -07:00:00",
            "January 2 2006 15h04m05.000000000s Z070000",
            "2006 002 15:04:05.000000000 -07",
        ] {
            let text = format(layout, &t);
            let back = parse(layout, &text).unwrap_or_else(|e| panic!("{layout}: {e}"));
            assert_eq!(
                (back.unix, back.nanos, back.offset),
                (t.unix, t.nanos, t.offset),
                "{layout}"
            );
        }
    }

    #[test]
    fn yq_docs_layouts_read_as_go_reads_them() {
        let t = parse(
            "Monday, 02-Jan-06 at 3:04PM MST",
            "Saturday, 15-Dec-01 at 2:59AM GMT",
        )
        .unwrap();
        assert_eq!(
            (t.unix, t.offset, t.zone.as_str()),
            (1_008_385_140, 0, "GMT")
        );
        let t = parse(RFC3339, "2001-12-15T02:59:43.1Z").unwrap();
        assert_eq!(
            (t.unix, t.nanos, t.zone.as_str()),
            (1_008_385_183, 100_000_000, "UTC")
        );
        let t = parse(RFC3339, "2001-12-15T02:59:43+02:00").unwrap();
        assert_eq!((t.offset, t.zone.as_str()), (7200, ""));
        // Lower-case names, spaces that stretch, `GMT+3`, `_2` with its space, a 2-digit
        // year before 69 in this century.
        let t = parse("Jan _2 06 MST", "dec  5 68 GMT+3").unwrap();
        assert_eq!(
            (format(RFC3339, &t), t.zone.as_str()),
            ("2068-12-05T00:00:00+03:00".into(), "GMT+3")
        );
        let t = parse("3PM 2006", "12AM 1999").unwrap();
        assert_eq!(format(RFC3339, &t), "1999-01-01T00:00:00Z");
    }

    #[test]
    fn what_does_not_read_says_where() {
        let cases = [
            ("2006-01-02", "2001-13-01", "month out of range"),
            ("2006-01-02", "2001-02-30", "day out of range"),
            ("2006-01-02", "2001-02", r#"cannot parse "" as "-""#),
            ("2006-01-02", "2001-02-03x", r#"extra text: "x""#),
            ("15:04", "25:00", "hour out of range"),
            ("3PM", "3XM", r#"cannot parse "XM" as "PM""#),
            ("MST", "Sydney", r#"cannot parse "Sydney" as "MST""#),
            ("Z07:00", "+0200", r#"cannot parse "+0200" as "Z07:00""#),
            ("05.000", "01.12", r#"cannot parse ".12" as ".000""#),
        ];
        for (layout, value, want) in cases {
            let err = parse(layout, value).unwrap_err();
            assert!(err.contains(want), "{layout} {value}: {err}");
        }
    }

    #[test]
    fn text_around_the_fields_may_be_any_characters() {
        let t = parse("2006年01月02日 15時", "2001年12月15日 02時").unwrap();
        assert_eq!(
            format("2006年01月02日 15時 → Jan", &t),
            "2001年12月15日 02時 → Dec"
        );
    }

    #[test]
    fn a_layout_without_fields_is_refused() {
        assert!(check_layout("2006-01-02").is_ok());
        let err = check_layout("YYYY-MM-DD").unwrap_err();
        assert!(err.contains("Go's reference time"), "{err}");
    }
}
