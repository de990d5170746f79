//! Native functions that the prelude's jq definitions call: removing one key or item, and
//! whether a path exists. `del` needs both since `|=` keeps a value whose right side yields
//! nothing (yq's meaning, vendor/jaq-core/PATCHES.md), so `|= empty` no longer deletes.
//! Also yq's functions that need more than jq: a mapping's keys sorted, and a value written
//! to or read from YAML or indented JSON text.

use std::cell::Cell;

use jaq_core::data::JustLut;
use jaq_core::native::{bome, run, unary, v, Filter, Fun};
use jaq_core::RunPtr;
use jaq_json::{Error, Rc, Val, ValR};
use jaq_std::ValT as _;

type D = JustLut<Val>;

/// `__delkey($k)`: the input without the key, index or slice `$k`; the input as it was
/// when it has no such key or index (and for `null`).
/// `__haspath($p)`: whether every step of the path `$p` exists in the input.
/// `__sortkeys`: a mapping with its keys in order, anything else as it is (`sort_keys`).
/// `__to_yaml($indent)`, `__from_yaml`, `__to_json($indent)`, `__csvd($sep)`: see each
/// function. `__flow_yaml`: the value as one line of flow-style YAML (`to_string`).
pub(super) fn funs() -> impl Iterator<Item = Fun<D>> {
    let natives: [Filter<RunPtr<D>>; 8] = [
        ("__delkey", v(1), |cv| unary(cv, del_key)),
        ("__haspath", v(1), |cv| {
            unary(cv, |v, p| Ok(Val::from(has_path(&v, &p))))
        }),
        ("__sortkeys", v(0), |cv| bome(Ok(sort_keys(cv.1)))),
        ("__to_yaml", v(1), |cv| unary(cv, to_yaml)),
        ("__from_yaml", v(0), |cv| bome(from_yaml(cv.1))),
        ("__to_json", v(1), |cv| unary(cv, to_json)),
        ("__csvd", v(1), |cv| unary(cv, csv_decode)),
        ("__flow_yaml", v(0), |cv| {
            bome(Ok(Val::from(crate::yaml::render::flow_text(&cv.1))))
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

/// A key of digits as the index it is on a sequence, as yq reads `.containers.0`
/// (vendor/jaq-json's `digit_index` does the same for reads and updates).
fn digit_key(k: &Val) -> Option<Val> {
    let Val::TStr(b) = k else { return None };
    let text = std::str::from_utf8(b).ok()?;
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse::<isize>().ok().map(Val::from)
}

fn del_key(v: Val, k: Val) -> ValR {
    match (v, &k) {
        (Val::Null, _) => Ok(Val::Null),
        (Val::Arr(a), Val::TStr(_)) if digit_key(&k).is_some() => {
            del_key(Val::Arr(a), digit_key(&k).unwrap_or(k))
        }
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
            (Val::Arr(a), Val::TStr(_)) => match digit_key(step).and_then(|i| item(&i, a.len())) {
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

/// A mapping's entries sorted by their keys' text, as yq's `sortKeys` sorts them with Go's
/// `sort.Strings` (byte order); the values are left as they are.
/// yq: pkg/yqlib/operator_sort_keys.go
fn sort_keys(v: Val) -> Val {
    let Val::Obj(o) = v else {
        return v;
    };
    let text = |k: &Val| match k {
        Val::TStr(b) | Val::BStr(b) => b.to_vec(),
        k => k.to_string().into_bytes(),
    };
    let mut entries: Vec<(Val, Val)> = o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    entries.sort_by_key(|(k, _)| text(k));
    Val::obj(entries.into_iter().collect())
}

thread_local! {
    /// Whether the string `from_yaml` last read ended without a line break: `to_yaml` then
    /// drops the one it ends with, so `.a |= (from_yaml | .x = 1 | to_yaml)` keeps a `|-` or
    /// one-line string as it was. yq keeps the decoded string in its context for the same
    /// end (`"decoded: " + key`, pkg/yqlib/operator_encoder_decoder.go).
    static DECODED_WITHOUT_NEWLINE: Cell<bool> = const { Cell::new(false) };
}

/// An indent argument: a whole number of columns, 0 to 32.
fn indent(n: &Val, what: &str) -> Result<usize, Error> {
    n.as_isize()
        .and_then(|i| usize::try_from(i).ok())
        .filter(|i| *i <= 32)
        .ok_or_else(|| {
            Error::str(format!(
                "{what}: the indent must be a whole number from 0 to 32, not {n}"
            ))
        })
}

/// `to_yaml($indent)`: the value as YAML text in block style, `$indent` columns a level, a
/// line break at the end, as yq's encoder prints it (a one-line result of what `from_yaml`
/// read from a string without one drops it). yq: pkg/yqlib/operator_encoder_decoder.go
fn to_yaml(v: Val, n: Val) -> ValR {
    let step = indent(&n, "to_yaml")?.max(1);
    let layout = crate::yaml::render::Layout {
        newline: "\n",
        step,
        indentless: false,
    };
    let text = match &v {
        Val::Obj(o) if !o.is_empty() => crate::yaml::render::document(&v, &layout),
        Val::Arr(a) if !a.is_empty() => crate::yaml::render::document(&v, &layout),
        scalar => {
            let mut line = crate::yaml::render::inline(scalar, false).unwrap_or_default();
            line.push('\n');
            line
        }
    };
    let chomp = DECODED_WITHOUT_NEWLINE.with(|d| d.replace(false));
    let one_line_end = text.ends_with('\n') && !text.ends_with("\n\n") && text.len() > 1;
    let text = if chomp && one_line_end {
        text.trim_end_matches('\n').to_string()
    } else {
        text
    };
    Ok(Val::from(text))
}

/// `from_yaml`: the first document of the YAML text in a string (null when it has none).
/// yq: pkg/yqlib/operator_encoder_decoder.go (`decodeOperator`)
fn from_yaml(v: Val) -> ValR {
    let text = match &v {
        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            return Err(Error::str(format!(
                "from_yaml needs a string holding YAML, not {other}"
            )))
        }
    };
    let parsed = crate::yaml::parse(&text, "the string").map_err(|e| {
        let msg = e.to_string();
        Error::str(format!(
            "from_yaml: cannot read {}",
            msg.lines().next().unwrap_or_default()
        ))
    })?;
    DECODED_WITHOUT_NEWLINE.with(|d| d.set(!text.ends_with('\n')));
    Ok(parsed.values.into_iter().next().unwrap_or(Val::Null))
}

/// `to_json($indent)`: the value as JSON text, `$indent` spaces a level (one line for 0),
/// with a line break at the end when indented, as yq's `to_json` prints it.
/// yq: pkg/yqlib/operator_encoder_decoder.go, lexer_participle.go (`to_json` indents 2)
fn to_json(v: Val, n: Val) -> ValR {
    let step = indent(&n, "to_json")?;
    let pp = jaq_json::write::Pp {
        indent: (step > 0).then(|| " ".repeat(step)),
        sep_space: step > 0,
        ..Default::default()
    };
    let mut out = Vec::new();
    jaq_json::write::write(&mut out, &pp, 0, &v)
        .map_err(|e| Error::str(format!("to_json: {e}")))?;
    if step > 0 {
        out.push(b'\n');
    }
    Ok(Val::from(String::from_utf8_lossy(&out).into_owned()))
}

/// `@csvd`, `@tsvd`: a table whose first row names the columns, as a sequence of mappings,
/// one a row; each cell is read as a YAML scalar (`5` a number, `true` a boolean), as yq's
/// `csvObjectDecoder` does, and fields may be double-quoted (`""` for a quote), as Go's
/// `encoding/csv` reads them. yq: pkg/yqlib/decoder_csv_object.go
fn csv_decode(v: Val, sep: Val) -> ValR {
    let (Val::TStr(text), Val::TStr(sep)) = (&v, &sep) else {
        return Err(Error::str(format!(
            "@csvd and @tsvd need a string holding a table, not {v}"
        )));
    };
    let text = String::from_utf8_lossy(text);
    let sep = sep.first().copied().map_or(',', char::from);
    let rows = csv_rows(&text, sep)?;
    let mut rows = rows.into_iter();
    let header = rows.next().unwrap_or_default();
    let cell = |c: String| -> Val {
        let snippet = crate::yaml::parse(&c, "a cell")
            .ok()
            .and_then(|p| p.values.into_iter().next());
        match snippet {
            Some(v @ (Val::Null | Val::Bool(_) | Val::Num(_))) if !c.trim().is_empty() => v,
            _ => Val::from(c),
        }
    };
    let items = rows
        .filter(|r| !r.is_empty())
        .map(|row| {
            let entries = header
                .iter()
                .zip(row.into_iter().chain(std::iter::repeat(String::new())))
                .map(|(k, c)| (Val::from(k.clone()), cell(c)));
            Val::obj(entries.collect())
        })
        .collect();
    Ok(Val::Arr(Rc::new(items)))
}

/// The rows of a CSV text, quoted fields read as Go's `encoding/csv` reads them.
fn csv_rows(text: &str, sep: char) -> Result<Vec<Vec<String>>, Error> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => {
                    line += usize::from(c == '\n');
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            c if c == sep => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(Error::str(format!(
            "@csvd: a quoted field that starts before line {line} does not end"
        )));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
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

    #[test]
    fn sort_keys_orders_by_bytes_and_leaves_the_rest() {
        let sorted = sort_keys(val(r#"{"b":1,"B":2,"a":{"z":1,"y":2}}"#)).to_string();
        assert_eq!(sorted, r#"{"B":2,"a":{"z":1,"y":2},"b":1}"#);
        assert_eq!(sort_keys(val("[2,1]")).to_string(), "[2,1]");
    }

    #[test]
    fn csv_rows_read_quotes_and_line_ends_as_go_does() {
        let rows = csv_rows("a,\"b,\"\"c\"\"\"\r\n\"x\ny\",\n", ',').unwrap();
        assert_eq!(rows, [vec!["a", "b,\"c\""], vec!["x\ny", ""]]);
        assert!(csv_rows("a,\"b", ',').is_err());
        assert!(csv_rows("", ',').unwrap().is_empty());
    }
}
