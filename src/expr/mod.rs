//! The embedded evaluator: jaq, with the yq spellings that real pipelines use.
//!
//! Values reach the program only as bound variables (`$VERSION`, `--arg`, `strenv(NAME)`),
//! never as code. The environment is what the caller lets through: jaq's own `env` reads the
//! whole process environment, so it is replaced by one that sees only the allowed names.

use jaq_core::compile::Undefined;
use jaq_core::data::JustLut;
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars};
use jaq_json::Val;

use crate::error::{Error, Located, Result};
pub(crate) mod attrs;
mod dates;
mod env;
mod natives;
pub(crate) mod outline;
mod prelude;
pub mod reach;
pub mod template;
pub mod yields;

use crate::yaml::style::Restyle;
use env::EnvValues;
pub use env::{Bindings, EnvPolicy, Placeholders};
use prelude::used_defs;
use template::Rewritten;

type Filter = jaq_core::Filter<JustLut<Val>>;

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
    "from_xml",
    "head_comment",
    "key",
    "line_comment",
    "load",
    "load_props",
    "load_str",
    "load_xml",
    "parent",
    "parents",
    "shuffle",
    "split_doc",
    "strload",
    "style",
    "to_csv",
    "to_tsv",
    "to_xml",
    "line",
    "column",
    "pivot",
];

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
    /// The styles the last run on each document asked for (`.a style="double"`), by the
    /// document's index: the values carry none, so the splice takes them from here.
    restyles: std::cell::RefCell<Vec<Vec<Restyle>>>,
}

/// How deep an expression may nest (brackets, `if`, interpolations), as a file may
/// (`yaml::events::MAX_DEPTH`): jaq's parser recurses along it.
pub const MAX_DEPTH: usize = 1000;

/// Global variables every program declares, in this order, before the `--arg` ones.
const FIXED_GLOBALS: [&str; 3] = ["$ENV", "$__strenv", "$__env"];

/// The global variables' names and values, in the order they are declared: the fixed
/// ones (`strenv`: `strenv(NAME)`'s values, `env`: `env(NAME)`'s), each `--arg`, `$__di`.
fn globals(
    code: &str,
    bindings: &Bindings,
    strenv: EnvValues,
    env: EnvValues,
) -> (Vec<String>, Vec<Val>) {
    // `$ENV` (and `env`, `envsubst`, which read it) is named in the code or its prelude
    // names; a CI job's environment has hundreds of variables, and an update like
    // `.version = "1.2.3"` reads none of them.
    let names_env = code.contains("ENV") || code.contains("env");
    let env_obj: Val = Val::obj(if names_env {
        bindings
            .visible_env()
            .map(|(k, v)| (Val::from(k.clone()), Val::from(v.clone())))
            .collect()
    } else {
        Default::default()
    });

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
    (names, globals)
}

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
        if let Some((at, msg)) = &rw.unsupported {
            return Err(Error::ExprSyntax {
                msg: msg.clone(),
                at: Located::at("expression", template, *at),
            });
        }
        bindings.check_placeholders(template, &rw)?;
        let (strenv, env) = bindings.read_env(template, &rw)?;
        let (names, globals) = globals(&rw.code, bindings, strenv, env);
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
            restyles: Default::default(),
        })
    }

    /// The part of a document the program can read or write; `None` for all of it.
    pub fn reach(&self) -> Option<&crate::path::PathTrie> {
        self.reach.as_ref()
    }

    /// Runs the program on one document. Exactly one output is expected; the caller says
    /// what to do with zero or several, so all of them (up to 2) are returned.
    pub fn run(&self, input: Val, doc_index: usize) -> Result<Vec<Val>> {
        attrs::clear();
        dates::reset();
        attrs::set_doc(doc_index);
        let outs = run_filter(&self.filter, &self.globals, input, doc_index, true, 2);
        self.keep_restyles(doc_index);
        outs
    }

    /// Keeps what the run on document `doc_index` asked for, in place of an earlier run's.
    fn keep_restyles(&self, doc_index: usize) {
        let asked = attrs::take();
        let mut all = self.restyles.borrow_mut();
        if all.len() <= doc_index {
            if asked.is_empty() {
                return;
            }
            all.resize_with(doc_index + 1, Vec::new);
        }
        all[doc_index] = asked;
    }

    /// Whether the program reads a node's style (`.a | style`) or makes a node an alias
    /// (`.a alias = "x"`), which need the file's text.
    pub(crate) fn reads_styles(&self) -> bool {
        [attrs::READ, attrs::READ_ATTR, "__alias("]
            .iter()
            .any(|n| self.code.contains(n))
    }

    /// Runs `f`, an evaluation of this program on `src`, with the text at hand for reading
    /// styles.
    pub fn reading<R>(&self, src: &str, f: impl FnOnce() -> R) -> R {
        attrs::reading(self, src, f)
    }

    /// The styles the last run on each document asked for, by the document's index.
    pub(crate) fn restyles(&self) -> Vec<Vec<Restyle>> {
        self.restyles.borrow().clone()
    }

    /// Runs the program on one document and keeps every output, for printing as yq does;
    /// `keep` is called on each and stops the run with its error (an output budget).
    pub fn run_all(
        &self,
        input: Val,
        doc_index: usize,
        keep: &mut dyn FnMut(&Val) -> Result<()>,
    ) -> Result<Vec<Val>> {
        let _budget = crate::budget::evaluating();
        let mut vars = self.globals.to_vec();
        if let Some(last) = vars.last_mut() {
            *last = Val::from(doc_index as isize);
        }
        let ctx = Ctx::<JustLut<Val>>::new(&self.filter.lut, Vars::new(vars));
        let mut outs = Vec::new();
        attrs::clear();
        dates::reset();
        attrs::set_doc(doc_index);
        let ran = self.filter.id.run((ctx, input)).try_for_each(|out| {
            let v = out.map_err(run_error)?;
            keep(&v)?;
            outs.push(v);
            Ok(())
        });
        self.keep_restyles(doc_index);
        ran.map(|()| outs)
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
        run_filter(filter, &self.globals, input, doc_index, false, 2).ok()
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

/// Runs a filter and keeps up to `limit` outputs. jaq's errors carry whole values; they are
/// only formatted (and then only their first few hundred bytes) when `describe` asks.
fn run_filter(
    filter: &Filter,
    globals: &[Val],
    input: Val,
    doc_index: usize,
    describe: bool,
    limit: usize,
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
            Err(exn) => return Err(run_error(exn)),
        }
        if outs.len() >= limit {
            break;
        }
    }
    Ok(outs)
}

/// What a run-time exception says, as an error.
fn run_error(exn: jaq_core::Exn<'_, Val>) -> Error {
    match exn.get_err() {
        Ok(e) => Error::Expr(runtime_message(&e)),
        Err(exn) => match exn.get_halt() {
            Ok(code) => Error::Expr(format!("the expression called halt({code})")),
            Err(_) => Error::Internal("unexpected control flow in jaq".into()),
        },
    }
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
    let quoted = match write!(w, "{e}") {
        Ok(()) => w.out,
        Err(_) => w.out + "…",
    };
    // A string raised as the error (`error("…")`, a date that does not read) is its text,
    // as jq writes it: JSON quoting would double every quote in it. Only a raised value
    // is written starting with a quote; jaq's own messages start with words.
    if quoted.starts_with('"') {
        if let Val::TStr(text) = e.clone().into_val() {
            // One line, whatever the raised text holds (the caller escapes the rest).
            let text = String::from_utf8_lossy(&text).replace('\n', "\\n");
            return match text.char_indices().nth(300) {
                Some((end, _)) => format!("{}…", &text[..end]),
                None => text,
            };
        }
    }
    quoted
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
                let msg = if name == "key" {
                    "`key` is supported as the node of a renaming or an attribute, `(.a.x | key) = \"y\"`, `(.a | key) head_comment=\"x\"`; to read keys use keys, to_entries or path(...)".to_string()
                } else if template::ATTRIBUTES.contains(&name.as_str()) {
                    format!("`{name}` reads or sets a node of the file, so it needs a path of the document before it (`.a | {name}`, `.a {name}=...`), at the top of the expression, in parentheses or in with(...)'s second part; not inside a function's arguments, an array or an object")
                } else if YQ_ONLY.contains(&name.as_str()) {
                    format!("`{name}` is a yq function that gitops-update does not support; use a jq equivalent")
                } else if name == "strenv" {
                    "strenv takes a bare variable name, as in yq: strenv(VERSION)".to_string()
                } else if let Some(var) = name.strip_prefix('$') {
                    format!("undefined variable ${var}; bind it with --arg {var} VALUE")
                } else if let Some(key) = dashed_key(template, rw.original_offset(offset)) {
                    let fix = template::jq_string(&key);
                    format!("undefined {what} `{name}`: the `-` before it is read as a subtraction; for the key {key} write .{fix} (or .{key} unquoted, as yq reads it)")
                } else {
                    format!("undefined {what} `{name}`")
                };
                (offset, msg)
            }
        };
        let at = rw.original_offset(offset);
        let msg = match numeric_key(template, at) {
            Some(key) => {
                let item = if key.bytes().all(|c| c.is_ascii_digit()) {
                    format!(", or .[{key}] for an item of a list")
                } else {
                    String::new()
                };
                let fix = template::jq_string(key);
                format!("{msg}; yq reads .{key} as the key {fix}: write .{fix} for that key{item}")
            }
            None => msg,
        };
        Error::ExprSyntax {
            msg,
            at: Located::at("expression", template, at),
        }
    }
}

/// The key `ingress-nginx` when the undefined name at byte `at` of the template follows a
/// `-` that follows a path element, with nothing between (`."ingress"-nginx`): the user
/// meant one key with a dash in it, which yq's spelling `.ingress-nginx` gives.
fn dashed_key(template: &str, at: usize) -> Option<String> {
    let before = template.get(..at)?.strip_suffix('-')?;
    let name = &template[at..];
    let name = &name[..name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len())];
    let start = before.rfind(|c: char| c == '.' || template::ends_yq_key(c))?;
    if before.as_bytes()[start] != b'.' {
        return None;
    }
    let left = before[start + 1..].trim_matches('"');
    (!left.is_empty() && !name.is_empty()).then(|| format!("{left}-{name}"))
}

/// The key yq would read in `.0` (or the `0x` of `.a.0x`) when a syntax error stands at
/// byte `at` of the template, on a digit after a `.`: jq reads no key there.
fn numeric_key(template: &str, at: usize) -> Option<&str> {
    let rest = template.get(at..)?;
    if !template.get(..at)?.ends_with('.') || !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let len = rest.find(template::ends_yq_key).unwrap_or(rest.len());
    Some(rest[..len].strip_suffix('?').unwrap_or(&rest[..len]))
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

fn compile_code(code: &str, globals: &[String]) -> Result<Filter, CompileError> {
    // yq writes a mapping or sequence in a string interpolation as flow YAML.
    let _ = jaq_json::INTERPOLATE.set(crate::yaml::render::flow_text);
    let defs = used_defs(code);
    // jaq's native `env` exposes every variable, secrets included: never register it.
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .chain(natives::funs())
        .chain(dates::funs())
        .chain(attrs::funs())
        .filter(|(name, _, _)| *name != "env");
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(&arena, File { code, path: () })
        .map_err(|errs| load_error(code, errs.into_iter().next().map(|(_, e)| e)))?;
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

/// What the loader's first error (lexing, parsing, an import) says, placed in `code`.
fn load_error(code: &str, first: Option<load::Error<&str>>) -> CompileError {
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
}

#[cfg(test)]
mod agree_tests;

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
        let err = eval(".a | to_xml", "{}", &bindings(&[], &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`to_xml` is a yq function"), "{err}");
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
