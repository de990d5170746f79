//! The YAML 1.2 core schema: what a scalar's text, style and tag mean as a jq value, and
//! equality as a YAML reader sees it.

use jaq_core::ValT;
use jaq_json::{Num, Val};
use saphyr_parser::ScalarStyle;

use crate::path::Step;

/// Types a plain scalar by the YAML 1.2 core schema.
#[cfg(test)]
pub(crate) fn resolve_plain(s: &str) -> Val {
    scalar(s, ScalarStyle::Plain, None)
}

/// A string made by copying its text somewhere: into its own allocation, or into the
/// loader's chunk (`Strings`).
pub(super) type Text<'t> = &'t mut dyn FnMut(&str) -> Val;

/// The value of a plain scalar that the core schema does not read as a string.
pub(super) fn non_string(s: &str) -> Option<Val> {
    Some(match s {
        "" | "~" | "null" | "Null" | "NULL" => Val::Null,
        "true" | "True" | "TRUE" => Val::Bool(true),
        "false" | "False" | "FALSE" => Val::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Val::from(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Val::from(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Val::from(f64::NAN),
        _ => {
            if let Some(n) = core_int(s) {
                return Some(n);
            }
            if !is_core_float(s) {
                return None;
            }
            // jaq keeps a number literal's text, so `1.20` prints back as `1.20`.
            return Val::from_num(s.strip_prefix('+').unwrap_or(s)).ok();
        }
    })
}

fn core_int(s: &str) -> Option<Val> {
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = s.strip_prefix("0o") {
        (8, o)
    } else {
        let d = s.strip_prefix('+').unwrap_or(s);
        let unsigned = d.strip_prefix('-').unwrap_or(d);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Num::from_str_radix(d, 10).map(Val::Num);
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Num::from_str_radix(digits, radix).map(Val::Num)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac = digits(&mut i);
        if int == 0 && frac == 0 {
            return false;
        }
    } else if int == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A scalar's value from its text, style and tag.
pub(super) fn scalar(value: &str, style: ScalarStyle, tag: Option<&str>) -> Val {
    scalar_in(value, style, tag, &mut |s| Val::from(s.to_string()))
}

pub(super) fn scalar_in(value: &str, style: ScalarStyle, tag: Option<&str>, text: Text) -> Val {
    match tag {
        // `!` alone is the non-specific tag: a scalar that carries it is a string, whatever
        // it looks like (YAML 1.2, 6.9.1).
        Some("!" | "!!str" | "!!binary" | "!!timestamp") => return text(value),
        Some("!!int" | "!!float") => {
            return match non_string(value) {
                Some(v @ Val::Num(_)) => v,
                _ => text(value),
            };
        }
        Some("!!bool" | "!!null") => return non_string(value).unwrap_or_else(|| text(value)),
        _ => {}
    }
    match style {
        ScalarStyle::Plain => non_string(value).unwrap_or_else(|| text(value)),
        _ => text(value),
    }
}

/// Whether an untagged, unanchored scalar reads as `target`, without building a value for
/// the common case of a string that stays a string.
pub(super) fn scalar_is(value: &str, style: ScalarStyle, target: &Val) -> bool {
    match target {
        Val::TStr(b) if b.as_ref() == value.as_bytes() => {
            style != ScalarStyle::Plain || non_string(value).is_none()
        }
        _ => same(&scalar(value, style, None), target),
    }
}

/// A key as text, for messages and paths.
pub(crate) fn key_text(k: &Val) -> String {
    match k {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

/// Structural equality as a YAML reader sees it: mapping order does not matter, numbers
/// compare by value, and NaN equals NaN (so an unchanged `.nan` is not an edit).
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        // A subtree an update left alone is shared, not copied: no need to walk it.
        (Val::Arr(x), Val::Arr(y)) if std::rc::Rc::ptr_eq(x, y) => true,
        (Val::Obj(x), Val::Obj(y)) if std::rc::Rc::ptr_eq(x, y) => true,
        (Val::Num(x), Val::Num(y)) => {
            let (fx, fy) = (num_f64(x), num_f64(y));
            (fx.is_nan() && fy.is_nan()) || a == b
        }
        (Val::Arr(x), Val::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(p, q))
        }
        (Val::Obj(x), Val::Obj(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Val::TStr(x) | Val::BStr(x), Val::TStr(y) | Val::BStr(y)) => x == y,
        (Val::Num(_), _) | (_, Val::Num(_)) => false,
        _ => a == b,
    }
}

/// One place where two documents differ: its path, and the value on each side (`None` where
/// that side has none).
pub struct Difference<'v> {
    pub path: Vec<Step>,
    pub old: Option<&'v Val>,
    pub new: Option<&'v Val>,
}

/// Every place where `old` and `new` differ, as deep as both are collections of one kind.
pub fn differences<'v>(old: &'v Val, new: &'v Val) -> Vec<Difference<'v>> {
    let mut out = Vec::new();
    differ(old, new, &mut Vec::new(), &mut out);
    out
}

fn differ<'v>(old: &'v Val, new: &'v Val, at: &mut Vec<Step>, out: &mut Vec<Difference<'v>>) {
    if same(old, new) {
        return;
    }
    let mut one = |at: &[Step], old: Option<&'v Val>, new: Option<&'v Val>| {
        out.push(Difference {
            path: at.to_vec(),
            old,
            new,
        })
    };
    match (old, new) {
        (Val::Obj(o), Val::Obj(n)) => {
            for (k, ov) in o.iter() {
                at.push(Step::Key(key_text(k)));
                match n.get(k) {
                    Some(nv) => differ(ov, nv, at, out),
                    None => out.push(Difference {
                        path: at.clone(),
                        old: Some(ov),
                        new: None,
                    }),
                }
                at.pop();
            }
            for (k, nv) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
                at.push(Step::Key(key_text(k)));
                out.push(Difference {
                    path: at.clone(),
                    old: None,
                    new: Some(nv),
                });
                at.pop();
            }
        }
        (Val::Arr(o), Val::Arr(n)) => {
            for i in 0..o.len().max(n.len()) {
                at.push(Step::Index(i));
                match (o.get(i), n.get(i)) {
                    (Some(a), Some(b)) => differ(a, b, at, out),
                    (a, b) => out.push(Difference {
                        path: at.clone(),
                        old: a,
                        new: b,
                    }),
                }
                at.pop();
            }
        }
        _ => one(at, Some(old), Some(new)),
    }
}

fn num_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
        Num::Dec(s) => s.parse().unwrap_or(f64::NAN),
        Num::BigInt(b) => b.to_string().parse().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_typing() {
        assert_eq!(resolve_plain("~"), Val::Null);
        assert_eq!(resolve_plain("True"), Val::Bool(true));
        assert_eq!(
            resolve_plain("yes"),
            Val::from("yes".to_string()),
            "yes is a string in YAML 1.2"
        );
        assert_eq!(resolve_plain("0x1F").to_string(), "31");
        assert_eq!(resolve_plain("0o17").to_string(), "15");
        assert_eq!(resolve_plain("-12").to_string(), "-12");
        assert_eq!(resolve_plain("1.20").to_string(), "1.20");
        assert!(matches!(resolve_plain("1e3"), Val::Num(_)));
        assert!(matches!(resolve_plain(".5"), Val::Num(_)));
        assert_eq!(resolve_plain("1.2.3"), Val::from("1.2.3".to_string()));
        assert_eq!(
            resolve_plain("2024-01-01"),
            Val::from("2024-01-01".to_string())
        );
        assert!(matches!(resolve_plain(".nan"), Val::Num(_)));
    }

    #[test]
    fn nan_is_same_as_nan() {
        assert!(same(&resolve_plain(".nan"), &resolve_plain(".NaN")));
        assert!(!same(&resolve_plain("1"), &Val::from("1".to_string())));
        assert!(same(&resolve_plain("1.0"), &resolve_plain("1")));
    }
}
