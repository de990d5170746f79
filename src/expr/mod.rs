//! The embedded evaluator: jaq, with the yq spellings that real pipelines use.
//!
//! Values reach the program only as bound variables (`$VERSION`, `--arg`, `strenv(NAME)`),
//! never as code. The environment is what the caller lets through: jaq's own `env` reads the
//! whole process environment, so it is replaced by one that sees only the allowed names.

use std::collections::{BTreeMap, HashSet};

use jaq_core::compile::Undefined;
use jaq_core::data::JustLut;
use jaq_core::load::parse::{BinaryOp, Def, Pattern, Term};
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::Val;

use crate::error::{Error, Located, Result};
pub(crate) mod outline;
pub mod reach;
pub mod template;
pub mod yields;

use template::Rewritten;

type Filter = jaq_core::Filter<JustLut<Val>>;

/// yq definitions written in jq (see the file for what each is).
const YQ_DEFS: &str = include_str!("yq.jq");
/// jq's semantics where jaq differs; loaded last, so they win over jaq's own.
const JQ_DEFS: &str = include_str!("jq.jq");

/// Functions of mikefarah's yq that have no jq counterpart here, so that using one gets an
/// error that names it instead of jq's "undefined filter".
const YQ_ONLY: &[&str] = &[
    "alias",
    "anchor",
    "capture_yaml",
    "collect",
    "explode",
    "eval",
    "filename",
    "fileIndex",
    "fi",
    "foot_comment",
    "from_csv",
    "from_props",
    "from_tsv",
    "from_xml",
    "from_yaml",
    "head_comment",
    "key",
    "kind",
    "line_comment",
    "load",
    "load_props",
    "load_str",
    "load_xml",
    "parent",
    "parents",
    "shuffle",
    "sort_keys",
    "split_doc",
    "strload",
    "style",
    "tag",
    "to_csv",
    "to_props",
    "to_tsv",
    "to_xml",
    "to_yaml",
    "to_json",
    "with_dtf",
    "format_datetime",
    "tz",
    "line",
    "column",
    "pivot",
];

/// Which environment variables an expression may read.
#[derive(Debug, Clone)]
pub enum EnvPolicy {
    /// Everything but names that look like credentials (the `eval` command).
    DenySecrets,
    /// Only these names (the update run).
    Allow(Vec<String>),
}

impl EnvPolicy {
    pub fn allows(&self, name: &str) -> bool {
        match self {
            EnvPolicy::DenySecrets => {
                let upper = name.to_ascii_uppercase();
                !["TOKEN", "SECRET", "PASSWORD", "KEY"]
                    .iter()
                    .any(|w| upper.contains(w))
            }
            EnvPolicy::Allow(names) => names.iter().any(|n| n == name),
        }
    }

    fn describe(&self) -> String {
        match self {
            EnvPolicy::DenySecrets => {
                "names containing TOKEN, SECRET, PASSWORD or KEY are hidden from expressions".into()
            }
            EnvPolicy::Allow(names) => format!(
                "expressions may read only {} (add more with --allow-env NAME)",
                names.join(", ")
            ),
        }
    }
}

/// What the program may see besides its input.
#[derive(Debug, Clone)]
pub struct Bindings {
    /// `$NAME` variables, from `--arg NAME VALUE`; `VERSION` feeds the placeholders.
    pub args: Vec<(String, String)>,
    /// A snapshot of the process environment; the policy filters it.
    pub env: BTreeMap<String, String>,
    pub policy: EnvPolicy,
    pub placeholders: Placeholders,
}

/// Which names a `{{NAME}}` placeholder may use, and how a missing one is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Placeholders {
    /// `eval`: `VERSION` and each `--arg NAME`.
    #[default]
    Args,
    /// `run`: the inputs a dispatch passes.
    Run,
}

/// `run`'s placeholders, with how each is given.
const RUN_PLACEHOLDERS: [(&str, &str); 5] = [
    ("VERSION", "set VERSION or pass --version"),
    ("SOURCE_REPO", "set SOURCE_REPO or pass --source-repo"),
    ("SOURCE_COMMIT", "set SOURCE_COMMIT or pass --source-commit"),
    ("DISPATCH_ID", "set DISPATCH_ID or pass --dispatch-id"),
    ("GIT_TAG_PREFIX", "set GIT_TAG_PREFIX or pass --tag-prefix"),
];

impl Bindings {
    /// The names a placeholder may use here.
    pub(crate) fn placeholder_names(&self) -> Vec<String> {
        match self.placeholders {
            Placeholders::Run => RUN_PLACEHOLDERS
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            Placeholders::Args => std::iter::once("VERSION".to_string())
                .chain(self.args.iter().map(|(n, _)| n.clone()))
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                }),
        }
    }

    /// Checks the template's placeholders: each names a known input that has a value.
    fn check_placeholders(&self, template: &str, rw: &Rewritten) -> Result<()> {
        let known = self.placeholder_names();
        for p in &rw.placeholders {
            let at = || Located::at("expression", template, p.span.start);
            let shown = &template[p.span.clone()];
            if p.unknown {
                let list: Vec<String> = known.iter().map(|k| format!("{{{{{k}}}}}")).collect();
                let more = match self.placeholders {
                    Placeholders::Args => " (and {{NAME}} for each --arg NAME VALUE)",
                    Placeholders::Run => "",
                };
                let msg = match known.iter().find(|k| k.eq_ignore_ascii_case(&p.name)) {
                    Some(k) => format!("unknown placeholder {shown}: did you mean {{{{{k}}}}}?"),
                    None => format!(
                        "unknown placeholder {shown}: the placeholders are {}{more}",
                        list.join(", ")
                    ),
                };
                return Err(Error::ExprSyntax { msg, at: at() });
            }
            if self.args.iter().any(|(n, _)| *n == p.name) {
                continue;
            }
            if p.name == "VERSION" {
                return Err(Error::Usage(
                    "the expression uses {{VERSION}} but no version was given: pass --arg VERSION X.Y.Z or set VERSION"
                        .into(),
                ));
            }
            let how = RUN_PLACEHOLDERS
                .iter()
                .find(|(n, _)| *n == p.name && self.placeholders == Placeholders::Run)
                .map_or_else(
                    || format!("pass --arg {} VALUE", p.name),
                    |(_, h)| h.to_string(),
                );
            return Err(Error::Usage(format!(
                "the expression uses {shown} but {} has no value: {how}",
                p.name
            )));
        }
        Ok(())
    }

    fn visible_env(&self) -> impl Iterator<Item = (&String, &String)> {
        self.env.iter().filter(|(k, _)| self.policy.allows(k))
    }
}

pub struct Program {
    filter: Filter,
    /// Values of the global variables, in the order they were declared; `$__di` is last.
    globals: Vec<Val>,
    names: Vec<String>,
    code: String,
    /// `path(<program>)`, compiled on first use.
    path_filter: std::cell::OnceCell<Option<Filter>>,
    /// The template as the user wrote it, and what it was compiled with: the update check
    /// compiles parts of it to tell which part selects.
    template: String,
    bindings: Bindings,
    /// The part of a document the program can read or write, when that is known.
    reach: Option<crate::path::PathTrie>,
}

/// How deep an expression may nest (brackets, `if`, interpolations), as a file may
/// (`yaml::events::MAX_DEPTH`): jaq's parser recurses along it.
pub const MAX_DEPTH: usize = 1000;

/// Global variables every program declares, in this order, before the `--arg` ones.
const FIXED_GLOBALS: [&str; 3] = ["$ENV", "$__strenv", "$__env"];

impl Program {
    /// Compiles a template. The errors point into the template as the user wrote it.
    pub fn compile(template: &str, bindings: &Bindings) -> Result<Program> {
        if let Some(at) = outline::too_deep(template, MAX_DEPTH) {
            return Err(Error::ExprSyntax {
                msg: format!("the expression nests deeper than {MAX_DEPTH} levels here"),
                at: Located::at("expression", template, at),
            });
        }
        let rw = template::rewrite(template, &bindings.placeholder_names());
        bindings.check_placeholders(template, &rw)?;
        let mut strenv = Vec::new();
        let mut env = Vec::new();
        for r in &rw.env_refs {
            let at = || Located::at("expression", template, r.span.start);
            if !bindings.policy.allows(&r.name) {
                return Err(Error::ExprSyntax {
                    msg: format!(
                        "the environment variable {} cannot be read here: {}",
                        r.name,
                        bindings.policy.describe()
                    ),
                    at: at(),
                });
            }
            let Some(value) = bindings.env.get(&r.name) else {
                return Err(Error::ExprSyntax {
                    msg: format!("the environment variable {} is not set", r.name),
                    at: at(),
                });
            };
            let key = Val::from(r.name.clone());
            if r.typed {
                env.push((key, crate::yaml::schema::resolve_plain(value)));
            } else {
                strenv.push((key, Val::from(value.clone())));
            }
        }
        let env_obj: Val = Val::obj(
            bindings
                .visible_env()
                .map(|(k, v)| (Val::from(k.clone()), Val::from(v.clone())))
                .collect(),
        );

        let mut names: Vec<String> = FIXED_GLOBALS.iter().map(|s| s.to_string()).collect();
        let mut globals = vec![
            env_obj,
            Val::obj(strenv.into_iter().collect()),
            Val::obj(env.into_iter().collect()),
        ];
        for (name, value) in &bindings.args {
            let var = format!("${name}");
            if let Some(i) = names.iter().position(|n| *n == var) {
                // A repeated --arg wins, as in jq.
                globals[i] = Val::from(value.clone());
            } else {
                names.push(var);
                globals.push(Val::from(value.clone()));
            }
        }
        names.push("$__di".into());
        globals.push(Val::from(0isize));

        let filter = compile_code(&rw.code, &names).map_err(|e| e.into_error(template, &rw))?;
        Ok(Program {
            reach: reach::reach(&rw.code),
            filter,
            globals,
            names,
            code: rw.code,
            path_filter: std::cell::OnceCell::new(),
            template: template.to_string(),
            bindings: bindings.clone(),
        })
    }

    /// The part of a document the program can read or write; `None` for all of it.
    pub fn reach(&self) -> Option<&crate::path::PathTrie> {
        self.reach.as_ref()
    }

    /// Runs the program on one document. Exactly one output is expected; the caller says
    /// what to do with zero or several, so all of them (up to 2) are returned.
    pub fn run(&self, input: Val, doc_index: usize) -> Result<Vec<Val>> {
        run_filter(&self.filter, &self.globals, input, doc_index, true)
    }

    /// The path the program selects, when it is a path expression such as `.image` or
    /// `select(...)`; `None` for updates and computed values. `eval` uses it to tell a
    /// query (print the selected value) from an update (print the document).
    pub(crate) fn path_of(&self, input: Val, doc_index: usize) -> Option<Val> {
        let mut outs = self.paths_of(input, doc_index)?;
        (outs.len() == 1).then(|| outs.remove(0))
    }

    /// The paths the program selects, up to two of them; `None` when it is not a path
    /// expression (or fails).
    pub(crate) fn paths_of(&self, input: Val, doc_index: usize) -> Option<Vec<Val>> {
        let filter = self
            .path_filter
            .get_or_init(|| compile_code(&format!("path({})", self.code), &self.names).ok())
            .as_ref()?;
        run_filter(filter, &self.globals, input, doc_index, false).ok()
    }

    /// The template as the user wrote it.
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// Another template, compiled with this one's bindings: a part of this one.
    pub(crate) fn part(&self, template: &str) -> Option<Program> {
        Program::compile(template, &self.bindings).ok()
    }
}

/// Runs a filter and keeps up to two outputs. jaq's errors carry whole values; they are
/// only formatted (and then only their first few hundred bytes) when `describe` asks.
fn run_filter(
    filter: &Filter,
    globals: &[Val],
    input: Val,
    doc_index: usize,
    describe: bool,
) -> Result<Vec<Val>> {
    let _budget = crate::budget::evaluating();
    let mut vars = globals.to_vec();
    if let Some(last) = vars.last_mut() {
        *last = Val::from(doc_index as isize);
    }
    let ctx = Ctx::<JustLut<Val>>::new(&filter.lut, Vars::new(vars));
    let mut outs = Vec::new();
    for out in filter.id.run((ctx, input)) {
        match out {
            Ok(v) => outs.push(v),
            Err(_) if !describe => return Err(Error::Expr(String::new())),
            Err(exn) => {
                return Err(match exn.get_err() {
                    Ok(e) => Error::Expr(runtime_message(&e)),
                    Err(exn) => match exn.get_halt() {
                        Ok(code) => Error::Expr(format!("the expression called halt({code})")),
                        Err(_) => Error::Internal("unexpected control flow in jaq".into()),
                    },
                });
            }
        }
        if outs.len() > 1 {
            break;
        }
    }
    Ok(outs)
}

/// A `fmt::Write` that keeps the first `limit` bytes and then stops the formatting.
struct Capped {
    out: String,
    limit: usize,
}

impl std::fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.limit.saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            return Ok(());
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.out.push_str(&s[..cut]);
        Err(std::fmt::Error)
    }
}

/// jaq's message, cut after 300 bytes: its messages quote whole values, and a 20 MB
/// document in an error helps nobody (nor does the time to format it).
fn runtime_message(e: &jaq_core::Error<Val>) -> String {
    use std::fmt::Write;
    let mut w = Capped {
        out: String::new(),
        limit: 300,
    };
    match write!(w, "{e}") {
        Ok(()) => w.out,
        Err(_) => w.out + "…",
    }
}

enum CompileError {
    At {
        offset: usize,
        msg: String,
    },
    Undefined {
        offset: usize,
        name: String,
        what: String,
    },
}

impl CompileError {
    fn into_error(self, template: &str, rw: &Rewritten) -> Error {
        let (offset, msg) = match self {
            CompileError::At { offset, msg } => (offset, msg),
            CompileError::Undefined { offset, name, what } => {
                let msg = if YQ_ONLY.contains(&name.as_str()) {
                    format!("`{name}` is a yq function that gitops-update does not support; use a jq equivalent")
                } else if name == "strenv" {
                    "strenv takes a bare variable name, as in yq: strenv(VERSION)".to_string()
                } else if let Some(var) = name.strip_prefix('$') {
                    format!("undefined variable ${var}; bind it with --arg {var} VALUE")
                } else {
                    format!("undefined {what} `{name}`")
                };
                (offset, msg)
            }
        };
        Error::ExprSyntax {
            msg,
            at: Located::at("expression", template, rw.original_offset(offset)),
        }
    }
}

/// Offset of `part` inside `whole`, for jaq's errors, which carry slices of the code.
fn offset_in(whole: &str, part: &str) -> usize {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    if p >= w && p + part.len() <= w + whole.len() {
        load::span(whole, part).start
    } else {
        whole.len()
    }
}

/// Every name the prelude defines, sorted: a program that calls none of them needs no
/// prelude at all, and is spared reading it (most of a short run's time).
/// `prelude_names_are_exact` keeps this list true.
const PRELUDE_NAMES: &[&str] = &[
    "@base64",
    "@base64d",
    "@html",
    "@htmld",
    "@json",
    "@sh",
    "@text",
    "@uri",
    "@urid",
    "__yq_expand",
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
    "drem",
    "empty",
    "env",
    "envsubst",
    "error",
    "false",
    "finites",
    "first",
    "flatten",
    "from_entries",
    "fromdate",
    "gamma",
    "getpath",
    "gsub",
    "halt",
    "halt_error",
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
    "split",
    "splits",
    "stderr",
    "strings",
    "sub",
    "test",
    "to_entries",
    "to_string",
    "toboolean",
    "todate",
    "tonumber",
    "tostring",
    "totype",
    "transpose",
    "true",
    "type",
    "unique",
    "unique_by",
    "until",
    "values",
    "walk",
    "while",
    "with",
    "with_entries",
];

/// jaq's core, std and JSON definitions, then yq's and jq's (yq's use jaq's, `test` and
/// `match`, so they come after them), parsed once per process.
fn prelude() -> &'static [Def<&'static str>] {
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
fn used_defs(code: &str) -> Vec<Def<&'static str>> {
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
fn calls<'s>(t: &Term<&'s str>, out: &mut HashSet<&'s str>) {
    use jaq_core::load::lex::StrPart;
    use jaq_core::path::Part;
    fn pattern<'s>(p: &Pattern<&'s str>, out: &mut HashSet<&'s str>) {
        match p {
            Pattern::Var(_) => {}
            Pattern::Arr(ps) => ps.iter().for_each(|p| pattern(p, out)),
            Pattern::Obj(kps) => kps.iter().for_each(|(k, p)| {
                calls(k, out);
                pattern(p, out);
            }),
        }
    }
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
            if let BinaryOp::Pipe(Some(p)) = op {
                pattern(p, out);
            }
            calls(l, out);
            calls(r, out);
        }
        Term::Fold(name, xs, p, args) => {
            out.insert(name);
            calls(xs, out);
            pattern(p, out);
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

fn compile_code(code: &str, globals: &[String]) -> Result<Filter, CompileError> {
    let defs = used_defs(code);
    // jaq's native `env` exposes every variable, secrets included: never register it.
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| *name != "env");
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(&arena, File { code, path: () })
        .map_err(|errs| {
            let first = errs.into_iter().next().map(|(_, e)| e);
            match first {
                Some(load::Error::Lex(es)) => es.into_iter().next().map_or(
                    CompileError::At {
                        offset: 0,
                        msg: "syntax error".into(),
                    },
                    |(expect, found)| CompileError::At {
                        offset: offset_in(code, found),
                        msg: format!("expected {}", expect.as_str()),
                    },
                ),
                Some(load::Error::Parse(es)) => es.into_iter().next().map_or(
                    CompileError::At {
                        offset: 0,
                        msg: "syntax error".into(),
                    },
                    |(expect, found)| CompileError::At {
                        offset: offset_in(code, found),
                        msg: if found.is_empty() {
                            format!(
                                "expected {}, found the end of the expression",
                                expect.as_str()
                            )
                        } else {
                            format!("expected {}, found `{found}`", expect.as_str())
                        },
                    },
                ),
                Some(load::Error::Io(_)) => CompileError::At {
                    offset: 0,
                    msg: "modules cannot be imported here".into(),
                },
                None => CompileError::At {
                    offset: 0,
                    msg: "syntax error".into(),
                },
            }
        })?;
    Compiler::default()
        .with_funs(funs)
        .with_global_vars(globals.iter().map(String::as_str))
        .compile(modules)
        .map_err(|errs| {
            let first = errs.into_iter().flat_map(|(_, es)| es).next();
            match first {
                Some((name, undef)) => CompileError::Undefined {
                    offset: offset_in(code, name),
                    name: name.to_string(),
                    what: match undef {
                        Undefined::Filter(_) => "function".into(),
                        other => other.as_str().into(),
                    },
                },
                None => CompileError::At {
                    offset: 0,
                    msg: "compile error".into(),
                },
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// jaq-json's objects are patched to be a plain vector up to a few entries (vendor/
    /// jaq-json/src/map.rs): every operation must give what upstream's `IndexMap` gives,
    /// on both sides of the switch, so that no program's output changes order.
    #[test]
    fn objects_behave_as_upstream_index_maps() {
        type Upstream = indexmap::IndexMap<Val, Val, foldhash::fast::RandomState>;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // A string, and numbers that jq holds equal (1 and 1.0), as keys.
        let key = |i: u64| match i {
            0 => Val::from(1isize),
            1 => Val::from(1.0),
            i => Val::from(format!("k{i}")),
        };
        for round in 0..400 {
            let (mut ours, mut theirs) = (jaq_json::Map::new(), Upstream::default());
            for step in 0..(round % 40) {
                let (k, v) = (key(next(24)), Val::from(step as isize));
                match next(8) {
                    0 => assert_eq!(ours.swap_remove(&k), theirs.swap_remove(&k)),
                    1 => assert_eq!(ours.shift_remove(&k), theirs.shift_remove(&k)),
                    2 => {
                        let i = next(ours.len() as u64 + 1) as usize;
                        assert_eq!(ours.swap_remove_index(i), theirs.swap_remove_index(i));
                    }
                    3 => ours.shrink_to_fit(),
                    _ => assert_eq!(
                        ours.insert_full(k.clone(), v.clone()),
                        theirs.insert_full(k, v)
                    ),
                }
                let ours_now: Vec<_> = ours.iter().collect();
                let theirs_now: Vec<_> = theirs.iter().collect();
                assert_eq!(ours_now, theirs_now, "round {round}, step {step}");
                let k = key(next(24));
                assert_eq!(ours.get_full(&k), theirs.get_full(&k));
                assert_eq!(ours.get_full_mut(&k), theirs.get_full_mut(&k));
                let ours_back: Vec<_> = ours.iter().rev().collect();
                let theirs_back: Vec<_> = theirs.iter().rev().collect();
                assert_eq!(ours_back, theirs_back);
                assert_eq!(ours.iter().len(), theirs.len());
            }
            let rebuilt: jaq_json::Map = ours.clone().into_iter().rev().collect();
            assert_eq!(rebuilt, ours, "equality ignores order, as IndexMap's does");
        }
    }

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

    #[test]
    fn deleting_several_items_deletes_from_the_last_as_jq_does() {
        let b = Bindings {
            args: vec![],
            env: Default::default(),
            policy: EnvPolicy::DenySecrets,
            placeholders: Placeholders::Args,
        };
        let run = |e: &str| {
            let p = Program::compile(e, &b).unwrap();
            p.run(Val::Null, 0).unwrap().remove(0).to_string()
        };
        assert_eq!(run("[1,2,3,4,5] | del(.[0,1])"), "[3,4,5]");
        assert_eq!(run("[1,2,3,4,5] | delpaths([[1],[2],[4]])"), "[1,4]");
        assert_eq!(run(r#"{"a":[1,2],"b":1} | del(.a[0], .b)"#), r#"{"a":[2]}"#);
    }

    fn bindings(args: &[(&str, &str)], env: &[(&str, &str)]) -> Bindings {
        Bindings {
            args: args
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            env: env
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            policy: EnvPolicy::DenySecrets,
            placeholders: Placeholders::Args,
        }
    }

    fn eval(code: &str, input: &str, b: &Bindings) -> Result<Vec<String>> {
        let p = Program::compile(code, b)?;
        let input = jaq_json::read::parse_single(input.as_bytes()).unwrap();
        Ok(p.run(input, 0)?.iter().map(|v| v.to_string()).collect())
    }

    #[test]
    fn version_is_data_not_code() {
        let b = bindings(&[("VERSION", r#"1" | .x = "pwned"#)], &[]);
        let out = eval(r#".v = "{{VERSION}}""#, "{}", &b).unwrap();
        assert_eq!(out, vec![r#"{"v":"1\" | .x = \"pwned"}"#]);
    }

    #[test]
    fn assignment_creates_missing_paths() {
        let b = bindings(&[], &[]);
        assert_eq!(
            eval(r#".a.b.c = "x""#, "{}", &b).unwrap(),
            vec![r#"{"a":{"b":{"c":"x"}}}"#]
        );
        assert_eq!(
            eval(".l[2] = 1", r#"{"l":[0]}"#, &b).unwrap(),
            vec![r#"{"l":[0,null,1]}"#]
        );
    }

    #[test]
    fn yq_with_and_document_index() {
        let b = bindings(&[], &[]);
        assert_eq!(
            eval(r#"with(.a; .b = 1 | .c = 2)"#, "{}", &b).unwrap(),
            vec![r#"{"a":{"b":1,"c":2}}"#]
        );
        assert_eq!(
            eval("documentIndex, di", "null", &b).unwrap(),
            vec!["0", "0"]
        );
    }

    #[test]
    fn strenv_and_env_read_allowed_names() {
        let b = bindings(&[], &[("V", "1.2"), ("N", "8080")]);
        assert_eq!(
            eval(".a = strenv(V) | .b = env(N)", "{}", &b).unwrap(),
            vec![r#"{"a":"1.2","b":8080}"#]
        );
    }

    #[test]
    fn secrets_are_hidden_everywhere() {
        let b = bindings(&[], &[("GITEA_TOKEN", "s3cr3t"), ("HOME", "/root")]);
        let err = eval(".a = strenv(GITEA_TOKEN)", "{}", &b)
            .unwrap_err()
            .to_string();
        assert!(err.contains("GITEA_TOKEN cannot be read"), "{err}");
        assert!(!err.contains("s3cr3t"));
        assert_eq!(
            eval("$ENV | keys", "null", &b).unwrap(),
            vec![r#"["HOME"]"#]
        );
        assert_eq!(eval("env | keys", "null", &b).unwrap(), vec![r#"["HOME"]"#]);
    }

    #[test]
    fn unset_variable_is_an_error() {
        let err = eval(".a = strenv(NOPE)", "{}", &bindings(&[], &[])).unwrap_err();
        assert!(err.to_string().contains("NOPE is not set"), "{err}");
    }

    #[test]
    fn syntax_error_points_into_template() {
        let b = bindings(&[("VERSION", "1")], &[]);
        let err = eval(r#".a = "{{VERSION}}" | .b = (1"#, "{}", &b).unwrap_err();
        let Error::ExprSyntax { at, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(at.line, 1);
        assert_eq!(
            at.column, 29,
            "the caret stands where the `)` is missing: {err}"
        );
    }

    #[test]
    fn yq_only_function_is_named() {
        let err = eval(".a | to_yaml", "{}", &bindings(&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`to_yaml` is a yq function"), "{err}");
    }

    #[test]
    fn missing_version_is_a_usage_error() {
        let err = eval(".a = {{VERSION}}", "{}", &bindings(&[], &[])).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err:?}");
    }

    #[test]
    fn runtime_errors_are_cut_short() {
        let b = bindings(&[], &[]);
        let p = Program::compile(".a.b", &b).unwrap();
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(100_000));
        let input = jaq_json::read::parse_single(big.as_bytes()).unwrap();
        let err = p.run(input, 0).unwrap_err().to_string();
        assert!(err.len() < 400 && err.ends_with('…'), "{}", err.len());
    }

    #[test]
    fn path_of_tells_queries_from_updates() {
        let b = bindings(&[], &[]);
        let input = || jaq_json::read::parse_single(br#"{"a":{"b":1}}"#).unwrap();
        let p = Program::compile(".a", &b).unwrap();
        assert_eq!(
            p.path_of(input(), 0).map(|v| v.to_string()),
            Some(r#"["a"]"#.into())
        );
        let p = Program::compile(".a.b = 2", &b).unwrap();
        assert_eq!(p.path_of(input(), 0), None);
    }
}
