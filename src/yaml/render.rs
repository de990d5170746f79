//! Writing values as YAML text in a file's own conventions.
//!
//! A string is written plain only when every YAML 1.1 and 1.2 reader reads it back as the
//! same string: Helm still resolves values with YAML 1.1 rules, where `yes`, `on`, `012`,
//! `1:20` and `2024-01-01` are not strings.

use jaq_json::{Num, Val};

/// How a file lays out its collections, learnt from the file itself.
#[derive(Debug, Clone)]
pub struct Layout {
    pub newline: &'static str,
    /// Columns a nested block mapping is indented by.
    pub step: usize,
    /// Whether block sequences under a key start at the key's column (`key:\n- a`).
    pub indentless: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            newline: "\n",
            step: 2,
            indentless: false,
        }
    }
}

/// Why a string cannot be written plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    Ok,
    /// A reader would type it as something other than a string (`yes`, `1.20`, `~`).
    Resolves,
    /// It cannot be a plain scalar at all (`: `, a leading `-`, a line break).
    Impossible,
}

pub fn plain(s: &str, flow: bool) -> Plain {
    let Some(first) = s.chars().next() else {
        return Plain::Impossible;
    };
    let last = s.chars().next_back().unwrap_or(first);
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first.is_whitespace()
        || last.is_whitespace()
        || last == ':'
        || s.starts_with("...")
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| c.is_control() || !is_printable(c))
        || (flow && s.chars().any(|c| ",[]{}:".contains(c)))
    {
        return Plain::Impossible;
    }
    if resolves_as_non_string(s) {
        return Plain::Resolves;
    }
    Plain::Ok
}

/// Whether `c` may stand raw in any scalar style. U+0085, U+2028 and U+2029 are ordinary
/// characters to YAML 1.2 and line breaks to YAML 1.1 (go-yaml and libyaml: Helm, Argo CD,
/// kustomize, Flux), so they are only ever written escaped; the BOM and the noncharacters
/// are not printable in either.
pub(crate) fn is_printable(c: char) -> bool {
    !matches!(
        c,
        '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// The characters a YAML 1.1 reader takes for line breaks and a YAML 1.2 reader does not.
pub(crate) const YAML_1_1_BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];

/// True when a YAML 1.1 or 1.2 reader (PyYAML, go-yaml v2/v3, libyaml-based ones) would
/// resolve the plain scalar `s` to a null, boolean, number, timestamp or merge key.
pub fn resolves_as_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        "<<", "=",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let t: String = s.chars().filter(|&c| c != '_').collect();
    let unsigned = t.trim_start_matches(['+', '-']);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan" | "inf" | "infinity" | "nan") {
        return true;
    }
    let Some(first) = unsigned.chars().next() else {
        return false;
    };
    if !(first.is_ascii_digit() || first == '.') {
        return false;
    }
    // Any base that go-yaml's ParseInt(s, 0) or YAML 1.1 accepts: 0x1F, 0o17, 0b101, 017.
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(d) = lower.strip_prefix(prefix) {
            if !d.is_empty() && d.chars().all(|c| c.is_digit(radix) || c == 'p' || c == '.') {
                return true;
            }
        }
    }
    if unsigned.parse::<f64>().is_ok() {
        return true;
    }
    // YAML 1.1 sexagesimal numbers: 1:20, 190:20:30.15
    let mut parts = unsigned.split(':');
    if parts.clone().count() > 1
        && parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.all(|p| {
            let p = p.split('.').next().unwrap_or("");
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
        })
    {
        return true;
    }
    is_timestamp(unsigned)
}

/// Whether a YAML 1.1 reader may type the plain scalar `s` as a timestamp (`2001-12-14`,
/// `2001-12-14t21:59:43.10-05:00`): four digits, a dash, a digit.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    digits(0..4) && b.get(4) == Some(&b'-') && digits(5..6)
}

pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `None` when the string has characters a single-quoted scalar cannot hold verbatim.
pub fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_control() || !is_printable(c)) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// A number as both YAML 1.1 and 1.2 read it: a float keeps a `.` in its mantissa and a sign
/// in its exponent (`1.0e+3`), since YAML 1.1 reads `1e3` as a string.
pub fn number(n: &Num) -> String {
    let text = match n {
        Num::Float(f) if f.is_nan() => return ".nan".into(),
        Num::Float(f) if f.is_infinite() => return if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        // A computed whole number (`2 * 3.5`) is written as yq and jq print it, `7`; a
        // literal `7.0` is a `Num::Dec` and keeps its text.
        Num::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => return format!("{}", *f as i64),
        Num::Float(f) => format!("{f:?}"),
        Num::Dec(d) => d.to_string(),
        other => return Val::Num(other.clone()).to_string(),
    };
    let (mant, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text.as_str(), None),
    };
    let mut out = mant.to_string();
    if !out.contains('.') {
        out.push_str(".0");
    } else if out.ends_with('.') {
        out.push('0');
    }
    if out.starts_with('.') {
        out.insert(0, '0');
    } else if out.starts_with("-.") {
        out.insert(1, '0');
    }
    if let Some(e) = exp {
        let (sign, digits) = match e.as_bytes().first() {
            Some(b'-') => ("-", &e[1..]),
            Some(b'+') => ("+", &e[1..]),
            _ => ("+", e),
        };
        out.push('e');
        out.push_str(sign);
        out.push_str(digits);
    }
    out
}

fn string(s: &str, flow: bool) -> String {
    match plain(s, flow) {
        Plain::Ok => s.to_string(),
        _ => double_quoted(s),
    }
}

/// A value that fits on one line: any scalar, an empty collection, and in flow context any
/// collection.
pub fn inline(v: &Val, flow: bool) -> Option<String> {
    Some(match v {
        Val::Null => "null".into(),
        Val::Bool(b) => b.to_string(),
        Val::Num(n) => number(n),
        Val::TStr(s) | Val::BStr(s) => string(&String::from_utf8_lossy(s), flow),
        Val::Arr(a) if a.is_empty() => "[]".into(),
        Val::Obj(o) if o.is_empty() => "{}".into(),
        _ if flow => flow_text(v),
        _ => return None,
    })
}

pub fn key(k: &Val, flow: bool) -> String {
    match k {
        Val::TStr(s) | Val::BStr(s) => string(&String::from_utf8_lossy(s), flow),
        other => inline(other, true).unwrap_or_default(),
    }
}

pub fn flow_text(v: &Val) -> String {
    match v {
        Val::Arr(a) => {
            let items: Vec<String> = a.iter().map(flow_text).collect();
            format!("[{}]", items.join(", "))
        }
        Val::Obj(o) => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k, true), flow_text(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        other => inline(other, true).unwrap_or_default(),
    }
}

/// Lines (without line breaks) of a mapping's entries at column `col`.
pub fn map_lines(entries: &[(Val, Val)], col: usize, layout: &Layout) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in entries {
        entry_lines(&key(k, false), v, col, layout, &mut out);
    }
    out
}

pub fn entry_lines(key: &str, v: &Val, col: usize, layout: &Layout, out: &mut Vec<String>) {
    let pad = " ".repeat(col);
    match inline(v, false) {
        Some(text) => out.push(format!("{pad}{key}: {text}")),
        None => {
            out.push(format!("{pad}{key}:"));
            out.extend(block_lines(v, col, true, layout));
        }
    }
}

/// Lines of a non-empty collection nested under something at column `parent`
/// (`under_key`: under a mapping key, where sequences may be indentless).
pub fn block_lines(v: &Val, parent: usize, under_key: bool, layout: &Layout) -> Vec<String> {
    match v {
        Val::Obj(o) => {
            let entries: Vec<(Val, Val)> = o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            map_lines(&entries, parent + layout.step, layout)
        }
        Val::Arr(a) => {
            let col = if under_key && layout.indentless {
                parent
            } else {
                parent + layout.step
            };
            seq_lines(a, col, layout)
        }
        other => vec![format!(
            "{}{}",
            " ".repeat(parent + layout.step),
            inline(other, false).unwrap_or_default()
        )],
    }
}

/// Lines of sequence items whose dashes stand at column `col`.
pub fn seq_lines(items: &[Val], col: usize, layout: &Layout) -> Vec<String> {
    let pad = " ".repeat(col);
    let mut out = Vec::new();
    for item in items {
        match inline(item, false) {
            Some(text) => out.push(format!("{pad}- {text}")),
            None => {
                // A nested collection starts on the dash's line, two columns in.
                let inner = Layout {
                    step: 2,
                    ..layout.clone()
                };
                let lines = match item {
                    Val::Obj(o) => {
                        let entries: Vec<(Val, Val)> =
                            o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                        map_lines(&entries, col + 2, layout)
                    }
                    Val::Arr(a) => seq_lines(a, col + 2, &inner),
                    _ => Vec::new(),
                };
                for (i, line) in lines.into_iter().enumerate() {
                    if i == 0 {
                        out.push(format!("{pad}- {}", &line[col + 2..]));
                    } else {
                        out.push(line);
                    }
                }
            }
        }
    }
    out
}

/// A whole document's value as yq prints a query's result: scalars bare, collections in
/// block style.
pub fn document(v: &Val, layout: &Layout) -> String {
    let nl = layout.newline;
    let lines = match v {
        Val::TStr(s) | Val::BStr(s) => return format!("{}{nl}", String::from_utf8_lossy(s)),
        Val::Obj(o) if !o.is_empty() => {
            let entries: Vec<(Val, Val)> = o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            map_lines(&entries, 0, layout)
        }
        Val::Arr(a) if !a.is_empty() => seq_lines(a, 0, layout),
        other => vec![inline(other, false).unwrap_or_default()],
    };
    let mut out = lines.join(nl);
    out.push_str(nl);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_yaml_would_retype_are_not_plain() {
        for s in [
            "yes",
            "on",
            "~",
            "1.20",
            "012",
            "0x1F",
            "1e3",
            ".inf",
            "2024-01-01",
            "1:20",
            "1_000",
            "-1",
            "+1",
            "null",
            "NO",
            "y",
            ".5",
            "0b101",
            "<<",
        ] {
            assert_ne!(plain(s, false), Plain::Ok, "{s} must be quoted");
        }
    }

    #[test]
    fn ordinary_versions_and_refs_stay_plain() {
        for s in [
            "1.2.3",
            "v1.2.3",
            "1.2.3-rc.1",
            "1.2.3+build.5",
            "nginx:1.25",
            "ghcr.io/org/app",
            "sha256:abc",
            "main",
            "release-2024.01",
            "2024.01.15",
        ] {
            assert_eq!(plain(s, false), Plain::Ok, "{s} should stay plain");
        }
    }

    #[test]
    fn flow_context_is_stricter() {
        assert_eq!(plain("a,b", false), Plain::Ok);
        assert_eq!(plain("a,b", true), Plain::Impossible);
    }

    #[test]
    fn numbers_read_the_same_in_yaml_1_1() {
        let n = |s: &str| number(&Num::Dec(std::rc::Rc::new(s.to_string())));
        assert_eq!(n("1e3"), "1.0e+3");
        assert_eq!(n("1.5E-2"), "1.5e-2");
        assert_eq!(n("1.50"), "1.50");
        assert_eq!(number(&Num::Float(f64::INFINITY)), ".inf");
        assert_eq!(number(&Num::Int(7)), "7");
        // Computed whole numbers as yq and jq print them; others keep their `.`.
        assert_eq!(number(&Num::Float(7.0)), "7");
        assert_eq!(number(&Num::Float(-2.0)), "-2");
        assert_eq!(number(&Num::Float(8.75)), "8.75");
        assert_eq!(number(&Num::Float(1e20)), "1.0e+20");
    }

    #[test]
    fn double_quoting_escapes() {
        assert_eq!(double_quoted("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
    }

    #[test]
    fn block_rendering() {
        let v =
            jaq_json::read::parse_single(br#"{"a":{"b":[1,{"c":"x","d":[]}]},"e":"yes"}"#).unwrap();
        let layout = Layout::default();
        assert_eq!(
            document(&v, &layout),
            "a:\n  b:\n    - 1\n    - c: x\n      d: []\ne: \"yes\"\n"
        );
        let indentless = Layout {
            indentless: true,
            ..Layout::default()
        };
        assert_eq!(
            document(&v, &indentless),
            "a:\n  b:\n  - 1\n  - c: x\n    d: []\ne: \"yes\"\n"
        );
    }
}
