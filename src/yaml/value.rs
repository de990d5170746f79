//! The jq input: each document's value, typed by the YAML 1.2 core schema, with aliases and
//! `<<` merge keys expanded (jq sees what a YAML reader sees).

use std::collections::HashMap;

use jaq_core::ValT;
use jaq_json::{Num, Val};
use saphyr_parser::ScalarStyle;

use super::index::{Kind, Node};
use crate::error::{Error, Result};

/// Types a plain scalar by the YAML 1.2 core schema.
pub fn resolve_plain(s: &str) -> Val {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Val::Null,
        "true" | "True" | "TRUE" => return Val::Bool(true),
        "false" | "False" | "FALSE" => return Val::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Val::from(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Val::from(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Val::from(f64::NAN),
        _ => {}
    }
    if let Some(n) = core_int(s) {
        return n;
    }
    if is_core_float(s) {
        // jaq keeps a number literal's text, so `1.20` prints back as `1.20`.
        let text = s.strip_prefix('+').unwrap_or(s);
        if let Ok(v) = Val::from_num(text) {
            return v;
        }
    }
    Val::from(s.to_string())
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
pub fn scalar(value: &str, style: ScalarStyle, tag: Option<&str>) -> Val {
    let text = || Val::from(value.to_string());
    match tag {
        Some("!!str" | "!!binary" | "!!timestamp") => return text(),
        Some("!!int" | "!!float") => {
            let v = resolve_plain(value);
            return if matches!(v, Val::Num(_)) { v } else { text() };
        }
        Some("!!bool" | "!!null") => return resolve_plain(value),
        _ => {}
    }
    match style {
        ScalarStyle::Plain => resolve_plain(value),
        _ => text(),
    }
}

/// The string a mapping key stands for. Keys are strings in jq; YAML's `80:` becomes "80".
pub fn key_string(key: &Node, file: &str) -> Result<String> {
    match &key.kind {
        Kind::Scalar { value, .. } => Ok(value.clone()),
        _ => Err(Error::Yaml {
            file: file.to_string(),
            msg: format!(
                "line {}: complex mapping keys (a mapping, sequence or alias as a key) are not supported",
                key.line
            ),
        }),
    }
}

pub fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, .. } if value == "<<")
}

/// Builds documents' values; anchors are remembered across the stream in parse order.
pub struct Values<'f> {
    pub file: &'f str,
    anchors: HashMap<usize, Val>,
}

impl<'f> Values<'f> {
    pub fn new(file: &'f str) -> Self {
        Values {
            file,
            anchors: HashMap::new(),
        }
    }

    /// Every anchor's value, by the parser's anchor id.
    pub fn anchors(&self) -> &HashMap<usize, Val> {
        &self.anchors
    }

    fn err(&self, line: usize, msg: impl std::fmt::Display) -> Error {
        Error::Yaml {
            file: self.file.to_string(),
            msg: format!("line {line}: {msg}"),
        }
    }

    pub fn value(&mut self, node: &Node) -> Result<Val> {
        let v = match &node.kind {
            Kind::Scalar { value, style, .. } => scalar(value, *style, node.tag.as_deref()),
            Kind::Alias(id) => self
                .anchors
                .get(id)
                .cloned()
                .ok_or_else(|| self.err(node.line, "alias to an unknown anchor"))?,
            Kind::Seq { items, .. } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(&item.node)?);
                }
                Val::Arr(out.into())
            }
            Kind::Map { entries, .. } => {
                let mut map = jaq_json::Map::default();
                let mut lines: HashMap<String, usize> = HashMap::new();
                let mut merged = Vec::new();
                for e in entries {
                    if is_merge_key(&e.key) {
                        merged.push(self.value(&e.value)?);
                        continue;
                    }
                    let k = key_string(&e.key, self.file)?;
                    if let Some(first) = lines.get(&k) {
                        return Err(self.err(
                            e.key.line,
                            format!("duplicate key `{k}` (first defined at line {first}); remove one of them"),
                        ));
                    }
                    lines.insert(k.clone(), e.key.line);
                    let v = self.value(&e.value)?;
                    map.insert(Val::from(k), v);
                }
                // Local keys win over merged ones, and earlier merge sources over later ones.
                for m in merged {
                    let sources = match m {
                        Val::Arr(a) => a.as_ref().clone(),
                        other => vec![other],
                    };
                    for src in sources {
                        let Val::Obj(o) = src else {
                            return Err(self.err(
                                node.line,
                                "a `<<` merge key needs a mapping or a list of mappings",
                            ));
                        };
                        for (k, v) in o.iter() {
                            if !map.contains_key(k) {
                                map.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                Val::obj(map)
            }
        };
        if node.anchor != 0 {
            self.anchors.insert(node.anchor, v.clone());
        }
        Ok(v)
    }
}

/// Structural equality as a YAML reader sees it: mapping order does not matter, numbers
/// compare by value, and NaN equals NaN (so an unchanged `.nan` is not an edit).
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
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

pub fn num_f64(n: &Num) -> f64 {
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
