//! The prelude: jaq's, yq's and jq's definitions, parsed once per process, and the
//! tree-shaker that keeps only those a program reaches (compiling them all was most of a
//! short run's time).

use std::collections::HashSet;

use jaq_core::load;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};

/// yq definitions written in jq (see the file for what each is).
const YQ_DEFS: &str = include_str!("yq.jq");
/// jq's semantics where jaq differs; loaded last, so they win over jaq's own.
const JQ_DEFS: &str = include_str!("jq.jq");

/// Every name the prelude defines, sorted: a program that calls none of them needs no
/// prelude at all, and is spared reading it (most of a short run's time).
/// `prelude_names_are_exact` keeps this list true.
const PRELUDE_NAMES: &[&str] = &[
    "@base64",
    "@base64d",
    "@csvd",
    "@html",
    "@htmld",
    "@json",
    "@jsond",
    "@props",
    "@propsd",
    "@sh",
    "@text",
    "@tsvd",
    "@uri",
    "@urid",
    "@yaml",
    "@yamld",
    "__jq_has",
    "__jq_now",
    "__jq_todate",
    "__yq_expand",
    "__yq_merge",
    "__yq_merge_node",
    "__yq_merge_set",
    "__yq_merge_update",
    "__yq_sub",
    "abs",
    "add",
    "all",
    "all_c",
    "any",
    "any_c",
    "array_to_map",
    "arrays",
    "booleans",
    "capture",
    "capture_of_match",
    "combinations",
    "debug",
    "del",
    "delpaths",
    "di",
    "documentIndex",
    "downcase",
    "drem",
    "empty",
    "env",
    "envsubst",
    "error",
    "false",
    "finites",
    "first",
    "flatten",
    "from_csv",
    "from_entries",
    "from_json",
    "from_props",
    "from_tsv",
    "from_yaml",
    "fromdate",
    "fromyaml",
    "gamma",
    "getpath",
    "gsub",
    "halt",
    "halt_error",
    "has",
    "in",
    "index",
    "infinite",
    "inside",
    "isarray",
    "isboolean",
    "isempty",
    "isfinite",
    "isinfinite",
    "isnan",
    "isnormal",
    "isnumber",
    "isobject",
    "isstring",
    "iterables",
    "join",
    "keys",
    "kind",
    "last",
    "logb",
    "map",
    "map_values",
    "match",
    "max",
    "max_by",
    "min",
    "min_by",
    "nan",
    "nexttoward",
    "normals",
    "not",
    "now",
    "nth",
    "null",
    "nulls",
    "numbers",
    "objects",
    "omit",
    "paths",
    "pick",
    "pow10",
    "range",
    "recurse",
    "repeat",
    "rindex",
    "scalars",
    "scalb",
    "scan",
    "scan_",
    "select",
    "setpath",
    "significand",
    "sort_keys",
    "split",
    "splits",
    "stderr",
    "strings",
    "sub",
    "tag",
    "test",
    "to_entries",
    "to_json",
    "to_props",
    "to_string",
    "to_yaml",
    "toboolean",
    "todate",
    "tonumber",
    "tostring",
    "totype",
    "toyaml",
    "transpose",
    "true",
    "type",
    "unique",
    "unique_by",
    "until",
    "upcase",
    "values",
    "walk",
    "while",
    "with",
    "with_dtf",
    "with_entries",
];

/// jaq's core, std and JSON definitions, then yq's and jq's (yq's use jaq's, `test` and
/// `match`, so they come after them), parsed once per process.
pub(super) fn prelude() -> &'static [Def<&'static str>] {
    static PRELUDE: std::sync::OnceLock<Vec<Def<&'static str>>> = std::sync::OnceLock::new();
    PRELUDE.get_or_init(|| {
        let yq_defs = load::parse(YQ_DEFS, |p| p.defs()).unwrap_or_default();
        let jq_defs = load::parse(JQ_DEFS, |p| p.defs()).unwrap_or_default();
        jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs())
            .chain(yq_defs)
            .chain(jq_defs)
            .collect()
    })
}

/// The prelude's definitions that `code` can reach. Compiling the whole prelude (about 200
/// definitions) was most of the time a short run took; an update such as
/// `.version = "1.2"` needs none of it. A definition can only call those before it (or
/// itself), so one pass from the last keeps everything reachable. Names are matched
/// without arity, which keeps a few extra. Code that does not parse keeps everything: the
/// loader then reports the error exactly as before.
pub(super) fn used_defs(code: &str) -> Vec<Def<&'static str>> {
    let Some(term) = load::parse(code, |p| p.term()) else {
        return prelude().to_vec();
    };
    let mut needed = HashSet::new();
    calls(&term, &mut needed);
    if !needed
        .iter()
        .any(|n| PRELUDE_NAMES.binary_search(n).is_ok())
    {
        return Vec::new();
    }
    let defs = prelude();
    let mut keep = vec![false; defs.len()];
    for (i, d) in defs.iter().enumerate().rev() {
        if needed.contains(d.name) {
            keep[i] = true;
            calls(&d.body, &mut needed);
        }
    }
    defs.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(d, _)| d.clone())
        .collect()
}

/// Every filter name that `t` calls, in its local definitions too. String formats
/// (`@base64 "..."`) and `reduce`/`foreach` are calls as far as the compiler is concerned.
// One arm per kind of jaq term, each a line or two: it reads best whole.
fn calls<'s>(t: &Term<&'s str>, out: &mut HashSet<&'s str>) {
    use jaq_core::load::lex::StrPart;
    use jaq_core::path::Part;
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Break(_) | Term::Var(_) => {}
        Term::Str(fmt, parts) => {
            out.extend(fmt);
            for part in parts {
                if let StrPart::Term(t) = part {
                    calls(t, out);
                }
            }
        }
        Term::Arr(t) => t.iter().for_each(|t| calls(t, out)),
        Term::Obj(kvs) => kvs.iter().for_each(|(k, v)| {
            calls(k, out);
            v.iter().for_each(|v| calls(v, out));
        }),
        Term::Neg(t) | Term::Label(_, t) => calls(t, out),
        Term::BinOp(l, op, r) => {
            match op {
                BinaryOp::Pipe(Some(p)) => pattern_calls(p, out),
                // yq's merges with flags compile to calls of these (vendor/jaq-core).
                BinaryOp::Merge(_) => _ = out.insert("__yq_merge"),
                BinaryOp::MergeUpdate(_) => _ = out.insert("__yq_merge_update"),
                _ => {}
            }
            calls(l, out);
            calls(r, out);
        }
        Term::Fold(name, xs, p, args) => {
            out.insert(name);
            calls(xs, out);
            pattern_calls(p, out);
            args.iter().for_each(|t| calls(t, out));
        }
        Term::TryCatch(t, c) => {
            calls(t, out);
            c.iter().for_each(|c| calls(c, out));
        }
        Term::IfThenElse(ifs, els) => {
            for (i, t) in ifs {
                calls(i, out);
                calls(t, out);
            }
            els.iter().for_each(|e| calls(e, out));
        }
        Term::Def(defs, t) => {
            defs.iter().for_each(|d| calls(&d.body, out));
            calls(t, out);
        }
        Term::Call(name, args) => {
            out.insert(name);
            args.iter().for_each(|t| calls(t, out));
        }
        Term::Path(t, path) => {
            calls(t, out);
            for (part, _) in &path.0 {
                match part {
                    Part::Index(i) => calls(i, out),
                    Part::Range(a, b) => a.iter().chain(b).for_each(|t| calls(t, out)),
                }
            }
        }
    }
}

/// `calls` for a destructuring pattern: the keys it computes.
fn pattern_calls<'s>(p: &Pattern<&'s str>, out: &mut HashSet<&'s str>) {
    match p {
        Pattern::Var(_) => {}
        Pattern::Arr(ps) => ps.iter().for_each(|p| pattern_calls(p, out)),
        Pattern::Obj(kps) => kps.iter().for_each(|(k, p)| {
            calls(k, out);
            pattern_calls(p, out);
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jq_files_parse() {
        // compile_code falls back to no definitions; a syntax error must not hide there.
        for (name, text) in [("yq.jq", YQ_DEFS), ("jq.jq", JQ_DEFS)] {
            let defs = load::parse(text, |p| p.defs()).unwrap_or_default();
            assert!(defs.len() >= 2, "{name} does not parse");
        }
    }

    fn kept(code: &str) -> Vec<&'static str> {
        let mut names: Vec<&str> = used_defs(code).iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    #[test]
    fn prelude_names_are_exact() {
        let mut names: Vec<&str> = prelude().iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(PRELUDE_NAMES, names.as_slice());
    }

    #[test]
    fn only_the_definitions_a_program_reaches_are_compiled() {
        assert_eq!(kept(r#".version = "1.2.3""#), Vec::<&str>::new());
        // Through calls in definitions' bodies, string formats and local definitions.
        let names = kept("def f: with_entries(.); f | @base64 \"\\(tostring)\"");
        for want in [
            "with_entries",
            "to_entries",
            "from_entries",
            "map",
            "tostring",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        assert!(!names.contains(&"walk"), "{names:?}");
        // Code that does not parse keeps them all, so the loader reports its error.
        assert_eq!(kept(".a = ("), PRELUDE_NAMES);
    }
}
