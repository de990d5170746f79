//! Native functions that the prelude's jq definitions call: removing one key or item, and
//! whether a path exists. `del` needs both since `|=` keeps a value whose right side yields
//! nothing (yq's meaning, vendor/jaq-core/PATCHES.md), so `|= empty` no longer deletes.

use jaq_core::data::JustLut;
use jaq_core::native::{run, unary, v, Filter, Fun};
use jaq_core::RunPtr;
use jaq_json::{Error, Rc, Val, ValR};
use jaq_std::ValT as _;

type D = JustLut<Val>;

/// `__delkey($k)`: the input without the key, index or slice `$k`; the input as it was
/// when it has no such key or index (and for `null`).
/// `__haspath($p)`: whether every step of the path `$p` exists in the input.
pub(super) fn funs() -> impl Iterator<Item = Fun<D>> {
    let natives: [Filter<RunPtr<D>>; 2] = [
        ("__delkey", v(1), |cv| unary(cv, del_key)),
        ("__haspath", v(1), |cv| {
            unary(cv, |v, p| Ok(Val::from(has_path(&v, &p))))
        }),
    ];
    natives.into_iter().map(run::<D>)
}

/// An index into a sequence of `len` items, counted from the end when negative.
fn item(i: &Val, len: usize) -> Option<usize> {
    let i = i.as_isize()?;
    let i = if i < 0 {
        i.checked_add_unsigned(len)?
    } else {
        i
    };
    usize::try_from(i).ok().filter(|i| *i < len)
}

/// A slice's bounds (`{"start": s, "end": e}`, either null) on `len` items.
fn bounds(range: &jaq_json::Map, len: usize) -> (usize, usize) {
    let at = |name: &str, default: usize| match range.get(&Val::from(name.to_string())) {
        Some(v) => match v.as_isize() {
            Some(i) if i < 0 => len.saturating_sub(i.unsigned_abs()),
            Some(i) => usize::try_from(i).map_or(len, |i| i.min(len)),
            None => default,
        },
        None => default,
    };
    let (start, end) = (at("start", 0), at("end", len));
    (start, end.max(start))
}

fn del_key(v: Val, k: Val) -> ValR {
    match (v, &k) {
        (Val::Null, _) => Ok(Val::Null),
        (Val::Obj(mut o), _) => {
            if o.contains_key(&k) {
                Rc::make_mut(&mut o).shift_remove(&k);
            }
            Ok(Val::Obj(o))
        }
        (Val::Arr(mut a), Val::Num(_)) => {
            if let Some(i) = item(&k, a.len()) {
                Rc::make_mut(&mut a).remove(i);
            }
            Ok(Val::Arr(a))
        }
        (Val::Arr(mut a), Val::Obj(range)) => {
            let (start, end) = bounds(range, a.len());
            Rc::make_mut(&mut a).drain(start..end);
            Ok(Val::Arr(a))
        }
        (v, _) => Err(Error::index(v, k)),
    }
}

fn has_path(v: &Val, path: &Val) -> bool {
    let Val::Arr(steps) = path else {
        return false;
    };
    let mut at = v;
    for step in steps.iter() {
        at = match (at, step) {
            (Val::Obj(o), k) => match o.get(k) {
                Some(next) => next,
                None => return false,
            },
            (Val::Arr(a), Val::Num(_)) => match item(step, a.len()) {
                Some(i) => &a[i],
                None => return false,
            },
            // A slice of a sequence: what follows is checked by the update itself.
            (Val::Arr(_), Val::Obj(_)) => return true,
            _ => return false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> Val {
        jaq_json::read::parse_single(s.as_bytes()).unwrap()
    }

    #[test]
    fn del_key_removes_keys_items_and_slices_in_place() {
        let del = |v: &str, k: &str| del_key(val(v), val(k)).unwrap().to_string();
        assert_eq!(del(r#"{"b":1,"a":2,"c":3}"#, r#""a""#), r#"{"b":1,"c":3}"#);
        assert_eq!(del(r#"{"b":1}"#, r#""x""#), r#"{"b":1}"#);
        assert_eq!(del("[1,2,3]", "-1"), "[1,2]");
        assert_eq!(del("[1,2,3]", "7"), "[1,2,3]");
        assert_eq!(del("[1,2,3,4]", r#"{"start":1,"end":3}"#), "[1,4]");
        assert_eq!(del("[1,2,3,4]", r#"{"start":-1,"end":null}"#), "[1,2,3]");
        assert_eq!(del("null", r#""a""#), "null");
        assert!(del_key(val(r#""s""#), val(r#""a""#)).is_err());
    }

    #[test]
    fn has_path_walks_keys_and_indices() {
        let has = |v: &str, p: &str| has_path(&val(v), &val(p));
        assert!(has(r#"{"a":{"b":[1]}}"#, r#"["a","b",0]"#));
        assert!(has(r#"{"a":null}"#, r#"["a"]"#));
        assert!(!has(r#"{"a":null}"#, r#"["a","b"]"#));
        assert!(!has(r#"{"a":[1]}"#, r#"["a",1]"#));
        assert!(has("{}", "[]"));
    }
}
