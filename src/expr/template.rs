//! The expression front end: turns a workflow's `yq_tpl` into jq code that jaq can compile.
//!
//! The old pipeline pasted the version into the expression text, so a version such as
//! `1" | .x = "pwned` rewrote the program. Here every placeholder becomes a reference to a
//! bound variable: inside a string literal an interpolation `\($VERSION)`, elsewhere
//! `$VERSION`. yq's `strenv(NAME)` and `env(NAME)` take a bare name, which jq would read as a
//! call to an undefined filter, so they are rewritten to look the name up in bound objects.
//! The scanner tracks string literals and interpolations, so text inside strings is never
//! mistaken for code and vice versa.
//!
//! yq's path elements are read as yq reads them: after a `.`, a run of characters other than
//! white space and `;{}:[],|.()=!` is the key with that exact name (`.ingress-nginx`,
//! `.a/b`), so it becomes jq's `."ingress-nginx"`. Where jq reads the same text as a path
//! (`.a.b`, `.a?`) it is left as it is; `..`, `."key"`, `.[`, numbers (`.5`, `1.5`), strings,
//! comments and variables are never touched. Where jq would read the text otherwise
//! (`.a-1` is a subtraction to jq), yq's reading wins: `(.a) - 1` or `.a - 1` subtracts.

use std::ops::Range;

/// A placeholder the template names: `{{NAME}}` (spaces inside the braces allowed, as Helm
/// users write `{{ VERSION }}`) or `<<NAME>>`, for a name the caller knows; or an upper-case
/// `{{NAME}}` it does not know, which is an error rather than text for the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placeholder {
    pub name: String,
    /// Byte range in the template.
    pub span: Range<usize>,
    /// Not among the known names: an upper-case name, or one that is a known name in
    /// another case (`{{version}}`).
    pub unknown: bool,
}

/// The placeholder at the start of `s`: its length, its name, and whether `known` has it.
/// Brace text that is not a name (`{{ .Release.Name }}`, a Helm template kept as text) is
/// not a placeholder, nor is a lower-case name that no known name matches in any case.
fn placeholder_at<'a>(s: &'a str, known: &[String]) -> Option<(usize, &'a str, bool)> {
    let is_known = |n: &str| known.iter().any(|k| k == n);
    if let Some(rest) = s.strip_prefix("<<") {
        let len = rest
            .bytes()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            .count();
        let name = &rest[..len];
        return (len > 0 && rest[len..].starts_with(">>") && is_known(name)).then_some((
            len + 4,
            name,
            true,
        ));
    }
    let rest = s.strip_prefix("{{")?;
    let lead = rest.len() - rest.trim_start_matches(' ').len();
    let body = &rest[lead..];
    let len = body
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    if len == 0 || body.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let name = &body[..len];
    let after = &body[len..];
    let trail = after.len() - after.trim_start_matches(' ').len();
    if !after[trail..].starts_with("}}") {
        return None;
    }
    let whole = 2 + lead + len + trail + 2;
    let upper = name
        .bytes()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    if is_known(name) {
        Some((whole, name, true))
    } else if upper || known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
        Some((whole, name, false))
    } else {
        None
    }
}

/// How yq's environment functions were used, so the caller can bind exactly those names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvRef {
    pub name: String,
    /// `env(NAME)` parses the value as YAML; `strenv(NAME)` keeps it a string.
    pub typed: bool,
    /// Byte range of the call in the original template, for error carets.
    pub span: Range<usize>,
}

/// The rewritten program and what it refers to.
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    pub code: String,
    /// Every placeholder, known or not, in the order written.
    pub placeholders: Vec<Placeholder>,
    pub env_refs: Vec<EnvRef>,
    /// A yq attribute assignment that cannot be rewritten (one nested in brackets), with
    /// its offset in the template and why.
    pub unsupported: Option<(usize, String)>,
    /// (offset in `code`, offset in the template, length in `code`, length in the template)
    segments: Vec<(usize, usize, usize, usize)>,
}

impl Rewritten {
    /// Whether a known placeholder names `name`.
    pub(crate) fn uses(&self, name: &str) -> bool {
        self.placeholders
            .iter()
            .any(|p| !p.unknown && p.name == name)
    }

    /// Maps a byte offset in the rewritten code back to the template the user wrote, so that
    /// a caret under a syntax error points at the user's text, not at ours.
    pub(crate) fn original_offset(&self, off: usize) -> usize {
        let mut delta: isize = 0;
        for &(new_at, old_at, new_len, old_len) in &self.segments {
            if off < new_at {
                break;
            }
            if off < new_at + new_len {
                return old_at;
            }
            delta = (old_at + old_len) as isize - (new_at + new_len) as isize;
        }
        (off as isize + delta).max(0) as usize
    }
}

enum Frame {
    /// Code; the count is the open parentheses inside this code frame.
    Code(usize),
    Str,
}

/// Names that jq code may not start with a `.`, `$` or identifier character before.
fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A yq path element that jq would read otherwise, at the `.` at byte `i` of `t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YqKey<'t> {
    /// Bytes from the `.` to the end of the element, its `?` included.
    pub len: usize,
    /// The key, as yq names it.
    pub key: &'t str,
    /// It ends in `?`: yq's (and jq's) optional traversal.
    pub optional: bool,
}

impl YqKey<'_> {
    /// The element in jq's spelling: `."ingress-nginx"`, `."a-b"?`.
    pub(crate) fn jq(&self) -> String {
        format!(
            ".{}{}",
            jq_string(self.key),
            if self.optional { "?" } else { "" }
        )
    }
}

/// Whether `c` ends a yq path element. yq's lexer (`PathElement` in mikefarah/yq's
/// `lexer_participle.go`) stops at a space, a newline or one of `;{}:[],|.()=!`; a tab or a
/// carriage return ends one here too, where yq would make it part of the key.
pub(crate) fn ends_yq_key(c: char) -> bool {
    c.is_whitespace() || ";{}:[],|.()=!".contains(c)
}

/// The yq path element starting at the `.` at byte `i` of `t`, when jq would read that text
/// as something else: `None` for `..`, `."key"`, `.[`, a lone `.`, a number (`.5`, or the
/// `.5` of `1.5`), and an element that is a jq identifier (`.a`, `.a?`), which jq reads as
/// yq does.
pub(crate) fn yq_key_at(t: &str, i: usize) -> Option<YqKey<'_>> {
    let b = t.as_bytes();
    if b.get(i) != Some(&b'.') || (i > 0 && b[i - 1] == b'.') {
        return None;
    }
    let rest = &t[i + 1..];
    let first = rest.chars().next()?;
    if ends_yq_key(first) || first == '"' || (first.is_ascii_digit() && !follows_path(t, i)) {
        return None;
    }
    let run_len = rest.find(ends_yq_key).unwrap_or(rest.len());
    let run = &rest[..run_len];
    let (key, optional) = match run.strip_suffix('?') {
        Some(k) => (k, true),
        None => (run, false),
    };
    let ident = key
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && key.bytes().all(is_ident_char);
    if key.is_empty() || ident {
        return None;
    }
    Some(YqKey {
        len: 1 + run_len,
        key,
        optional,
    })
}

/// Whether the `.` at `i` goes on a path (`.containers.0`, `.a[1].0`, `."b".0`), where a
/// digit after it is yq's key or index, rather than being a number's point (`1.5`, `.5`).
fn follows_path(t: &str, i: usize) -> bool {
    let before = &t[..i];
    match before.chars().next_back() {
        Some(']' | ')' | '"' | '?') => true,
        Some(c) if c.is_alphanumeric() || c == '_' || c == '-' => {
            let word = before.trim_end_matches(|c: char| !ends_yq_key(c));
            let start = &before[word.len()..];
            word.ends_with('.') && !start.starts_with(|c: char| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// After yq's `ref`: the spaces and `$name` it binds, as (bytes, name).
fn ref_var(s: &str) -> Option<(usize, &str)> {
    let lead = s.len() - s.trim_start_matches([' ', '\t', '\n']).len();
    let rest = s[lead..].strip_prefix('$')?;
    let name_len = rest.bytes().take_while(|&c| is_ident_char(c)).count();
    (lead > 0 && name_len > 0).then(|| (lead + 1 + name_len, &rest[..name_len]))
}

/// `s` as a jq string literal.
pub(crate) fn jq_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rewrites a template whose placeholders may name `known`; never fails: what is not
/// understood is left for jaq to report, and unknown placeholders for the caller.
pub(crate) fn rewrite(template: &str, known: &[String]) -> Rewritten {
    let mut r = Rewriter {
        template,
        known,
        i: 0,
        stack: vec![Frame::Code(0)],
        semis: Vec::new(),
        out: Rewritten {
            code: String::with_capacity(template.len() + 16),
            placeholders: Vec::new(),
            env_refs: Vec::new(),
            unsupported: None,
            segments: Vec::new(),
        },
        levels: vec![Level::default()],
        refs: Vec::new(),
    };
    while r.i < template.len() {
        r.step();
    }
    r.close_attr();
    r.out
}

/// One pass over a template, as a small lexer: code and strings nest through `\(...)`.
struct Rewriter<'t> {
    template: &'t str,
    known: &'t [String],
    /// Where the next byte to read is.
    i: usize,
    stack: Vec<Frame>,
    /// Top-level commas of yq-spelled calls (`sub("a", "b")`), written as jq's `;`.
    semis: Vec<usize>,
    out: Rewritten,
    /// The brackets open in the outermost code, for yq's attribute assignments: where the
    /// current expression began in each (see `attr_assign`).
    levels: Vec<Level>,
    /// Variables bound by yq's `P ref $x` so far: each later `$x` is the path's value.
    refs: Vec<String>,
}

/// An open bracket of the outermost code (or the code itself, first).
#[derive(Default)]
struct Level {
    /// Offset in the code where the current operand of `|`, `,` or `;` began.
    seg_start: usize,
    /// Offset in the code where the current pipeline (operand of `,` or `;`) began, or the
    /// operand after an update's `|`, whose input is the document again.
    pipe_start: usize,
    /// The current operand holds an assignment (`=`, `|=`, `+=`, ...): it yields the
    /// document, so the operand after its `|` reads from the document again.
    assigned: bool,
    /// An attribute assignment's right side is being copied: its closing text goes before
    /// whatever ends it at this level.
    pending: bool,
    /// The pending assignment is an update (`|=`): its right side is closed with
    /// `UPDATE_CLOSE`.
    update: bool,
    /// An open `X =c Y` (or `X *=c Y`) in the current operand, whose tag copy follows its
    /// right side.
    clobber: Option<Clobber>,
    kind: LevelKind,
}

/// yq's `X =c Y`: X's path text, the base path of `.`, and where Y begins in the code.
struct Clobber {
    lhs: String,
    base: String,
    rhs_start: usize,
}

/// What a bracket holds, which says whether `.` inside it is a known path of the document.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum LevelKind {
    /// The expression itself, or parentheses that only group: `.` is the one outside.
    #[default]
    Group,
    /// `with(` up to its `;`, from the code offset of `with` and of the path's start.
    WithPath { word: usize, path: usize },
    /// `with(P; ` onwards: `.` is the value at `P`; `semi` is the code offset of the `;`,
    /// `styled` whether an attribute assignment stands inside.
    WithBody {
        word: usize,
        path: usize,
        semi: usize,
        styled: bool,
    },
    /// Anything else (a function's arguments, an array, an object).
    Other,
}
/// What closes a rewritten attribute assignment (see `Rewriter::attr_assign`).
const ATTR_CLOSE: &str = "][0])))";
/// What closes an attribute update (`|=`): its right side runs on the node, and where it
/// fails on a scalar (`.c` of `cat`) the value is null, as yq's traversal gives
/// (pkg/yqlib/operator_traverse_path.go); no jq program has this form.
const UPDATE_CLOSE: &str = ") catch null][0])))";

impl Rewriter<'_> {
    /// Writes `new` for the `old_len` bytes at the position, remembering where, for carets.
    fn replace(&mut self, old_len: usize, new: &str) {
        let out = &mut self.out;
        out.segments
            .push((out.code.len(), self.i, new.len(), old_len));
        out.code.push_str(new);
        self.i += old_len;
    }

    /// Copies `len` bytes as they are.
    fn copy(&mut self, len: usize) {
        let end = (self.i + len).min(self.template.len());
        self.out.code.push_str(&self.template[self.i..end]);
        self.i = end;
    }

    fn step(&mut self) {
        let rest = &self.template[self.i..];
        if let Some((len, name, known)) = placeholder_at(rest, self.known) {
            return self.placeholder(len, name, known);
        }
        let done = match self.stack.last() {
            Some(Frame::Str) => self.in_string(),
            Some(Frame::Code(_)) => self.in_code(),
            None => false,
        };
        if !done {
            self.copy(rest.chars().next().map_or(1, char::len_utf8));
        }
    }

    fn placeholder(&mut self, len: usize, name: &str, known: bool) {
        let new = if matches!(self.stack.last(), Some(Frame::Str)) {
            format!("\\(${name})")
        } else {
            format!("${name}")
        };
        self.out.placeholders.push(Placeholder {
            name: name.to_string(),
            span: self.i..self.i + len,
            unknown: !known,
        });
        self.replace(len, &new);
    }

    /// Inside a string: an interpolation opens code, an escape is copied whole so an
    /// escaped quote does not end the string. True when the bytes were consumed.
    fn in_string(&mut self) -> bool {
        let rest = &self.template[self.i..];
        let b = rest.as_bytes();
        match b[0] {
            b'\\' if b.get(1) == Some(&b'(') => {
                self.copy(2);
                self.stack.push(Frame::Code(0));
                true
            }
            b'\\' => {
                self.copy(rest.chars().nth(1).map_or(1, |ch| 1 + ch.len_utf8()));
                true
            }
            b'"' => {
                self.stack.pop();
                false
            }
            _ => false,
        }
    }

    /// Inside code. True when the bytes were consumed.
    fn in_code(&mut self) -> bool {
        let rest = &self.template[self.i..];
        let nested = self.stack.len() > 1;
        if !nested && self.track_levels(rest) {
            return true;
        }
        let Some(Frame::Code(parens)) = self.stack.last_mut() else {
            return false;
        };
        match rest.as_bytes()[0] {
            b'"' => self.stack.push(Frame::Str),
            b'.' if rest.starts_with("...") && !rest[3..].starts_with('.') => {
                // yq's `...` is `..` with mapping keys too; keys are not nodes of a jq
                // value, so it recurses into the values only (`operator_recursive_descent.go`).
                self.replace(3, "..");
                return true;
            }
            b'.' => {
                if let Some(k) = yq_key_at(self.template, self.i) {
                    let jq = k.jq();
                    self.replace(k.len, &jq);
                    return true;
                }
            }
            b'#' => {
                self.copy(rest.find('\n').unwrap_or(rest.len()));
                return true;
            }
            b',' if self.semis.contains(&self.i) => {
                self.replace(1, ";");
                return true;
            }
            b'$' if !self.refs.is_empty() => {
                let name_len = rest[1..].bytes().take_while(|&c| is_ident_char(c)).count();
                let name = &rest[1..1 + name_len];
                if self.refs.iter().any(|r| r == name) {
                    self.replace(1 + name_len, &format!("getpath($__ref_{name})"));
                    return true;
                }
            }
            b'(' => *parens += 1,
            b')' if *parens == 0 && nested => {
                // End of a string interpolation: back into the string.
                self.stack.pop();
            }
            b')' => *parens = parens.saturating_sub(1),
            c if c.is_ascii_alphabetic() => {
                self.word();
                return true;
            }
            _ => {}
        }
        false
    }

    /// A word in code: `env(NAME)` / `strenv(NAME)` becomes a lookup in the environment
    /// object, a yq-spelled call's commas become `;`, anything else is copied.
    fn word(&mut self) {
        let (template, i) = (self.template, self.i);
        let rest = &template[i..];
        let prev = i.checked_sub(1).map(|p| template.as_bytes()[p]);
        let standalone =
            !matches!(prev, Some(p) if is_ident_char(p) || p == b'$' || p == b'.' || p == b'@');
        if standalone {
            if let Some((call_len, name, typed)) = env_call(rest) {
                let key = if typed { "__env" } else { "__strenv" };
                self.out.env_refs.push(EnvRef {
                    name: name.to_string(),
                    typed,
                    span: i..i + call_len,
                });
                return self.replace(call_len, &format!("(${key}[\"{name}\"])"));
            }
        }
        let len = rest.bytes().take_while(|&c| is_ident_char(c)).count();
        if standalone && self.stack.len() == 1 {
            let word = &rest[..len];
            if let Some(assign) = attr_assign_at(&rest[len..]) {
                if ATTRIBUTES.contains(&word) {
                    return self.attr_assign(word, len + assign.len, assign.update);
                }
            } else if READABLE.contains(&word) && self.attr_read(len, attr_native(word)) {
                return;
            }
            match word {
                "then" | "else" | "elif" | "end" | "catch" | "and" | "or" => {
                    self.close_attr();
                    self.copy(len);
                    self.start_segment();
                    return;
                }
                "if" | "try" => {
                    self.copy(len);
                    self.start_segment();
                    return;
                }
                "ref" => {
                    if let Some((skip, name)) = ref_var(&rest[len..]) {
                        return self.bind_ref(len + skip, name);
                    }
                }
                _ => {}
            }
        }
        if standalone {
            if let Some((name, commas)) = yq_comma_call(template, i, len) {
                self.semis.extend(commas);
                return self.replace(len, name);
            }
        }
        self.copy(len);
    }
}

/// yq's node attributes that take an assignment (`.a style = "double"`), in yq's
/// spellings (`lexer_participle.go`).
pub(super) const ATTRIBUTES: &[&str] = &[
    "style",
    "line_comment",
    "lineComment",
    "head_comment",
    "headComment",
    "foot_comment",
    "footComment",
    "comments",
    "anchor",
    "alias",
    "tag",
    "type",
];

/// yq's node attributes that read as a value (`.a | head_comment`); `tag` is yq.jq's.
const READABLE: &[&str] = &[
    "style",
    "line_comment",
    "lineComment",
    "head_comment",
    "headComment",
    "foot_comment",
    "footComment",
    "anchor",
    "alias",
];

/// The native (`__` + this) that records an attribute, by any of yq's names for it.
fn attr_native(name: &str) -> &str {
    match name {
        "lineComment" => "line_comment",
        "headComment" => "head_comment",
        "footComment" => "foot_comment",
        "type" => "tag",
        other => other,
    }
}

/// The `=` or `|=` (white space before it allowed) at the start of `s` that makes the word
/// before it an attribute assignment; not `==`.
struct AttrAssign {
    /// Bytes up to and including the `=`.
    len: usize,
    update: bool,
}

fn attr_assign_at(s: &str) -> Option<AttrAssign> {
    let lead = s.len() - s.trim_start_matches([' ', '\t', '\n', '\r']).len();
    let rest = &s[lead..];
    let (op, update) = if rest.starts_with("|=") {
        (2, true)
    } else if rest.starts_with('=') && !rest.starts_with("==") {
        (1, false)
    } else {
        return None;
    };
    Some(AttrAssign {
        len: lead + op,
        update,
    })
}

impl Rewriter<'_> {
    /// Follows the brackets and separators of the outermost code, where an attribute
    /// assignment's left side begins and its right side ends. True when the bytes were
    /// consumed.
    fn track_levels(&mut self, rest: &str) -> bool {
        let b = rest.as_bytes();
        match b[0] {
            b'(' | b'[' | b'{' => {
                let kind = if b[0] == b'(' {
                    self.paren_kind()
                } else {
                    LevelKind::Other
                };
                self.copy(1);
                self.levels.push(Level {
                    seg_start: self.out.code.len(),
                    pipe_start: self.out.code.len(),
                    assigned: false,
                    pending: false,
                    update: false,
                    clobber: None,
                    kind,
                });
                // `(` is counted by the code frame too.
                if b[0] == b'(' {
                    if let Some(Frame::Code(parens)) = self.stack.last_mut() {
                        *parens += 1;
                    }
                }
                true
            }
            b')' | b']' | b'}' => {
                self.close_attr();
                if self.levels.len() > 1 {
                    if let Some(level) = self.levels.pop() {
                        self.close_with(level.kind);
                    }
                }
                if b[0] == b')' {
                    if let Some(Frame::Code(parens)) = self.stack.last_mut() {
                        *parens = parens.saturating_sub(1);
                    }
                }
                self.copy(1);
                true
            }
            b'|' if b.get(1) != Some(&b'=') => {
                self.close_attr();
                self.copy(1);
                let after_update = self.levels.last().is_some_and(|l| l.assigned);
                self.start_operand(!after_update);
                true
            }
            b'=' | b'|' if self.key_assign(b) => true,
            b'=' if b.get(1) == Some(&b'c')
                && !b.get(2).is_some_and(|&c| is_ident_char(c))
                && !self.template[..self.i].ends_with(['=', '!', '<', '>']) =>
            {
                self.clobber_assign();
                true
            }
            b'=' if b.get(1) != Some(&b'=')
                && !self.template[..self.i].ends_with(['=', '!', '<', '>']) =>
            {
                if let Some(level) = self.levels.last_mut() {
                    level.assigned = true;
                }
                false
            }
            b'/' if b.get(1) == Some(&b'/') => {
                self.close_attr();
                self.copy(2);
                self.start_segment();
                true
            }
            b',' | b';' if !self.semis.contains(&self.i) => {
                self.close_attr();
                if b[0] == b';' {
                    if let Some(level) = self.levels.last_mut() {
                        if let LevelKind::WithPath { word, path } = level.kind {
                            level.kind = LevelKind::WithBody {
                                word,
                                path,
                                semi: self.out.code.len(),
                                styled: false,
                            };
                        }
                    }
                }
                self.copy(1);
                self.start_segment();
                true
            }
            _ => false,
        }
    }

    /// yq's `(X | key) = "y"` (or `|=`): the key of X's entry renamed, an attribute
    /// assignment of `key` (`__key`). True when the bytes were consumed.
    fn key_assign(&mut self, b: &[u8]) -> bool {
        let (len, update) = match b {
            [b'=', next, ..] if *next == b'=' => return false,
            [b'=', ..] => (1, false),
            [b'|', b'=', ..] => (2, true),
            _ => return false,
        };
        if self.template[..self.i].ends_with(['=', '!', '<', '>', '|']) {
            return false;
        }
        let seg_start = self.levels.last().map_or(0, |l| l.seg_start);
        if key_of(&self.out.code[seg_start..]).is_none() {
            return false;
        }
        self.attr_assign("key", len, update);
        true
    }

    /// What the `(` at the position opens: a group, `with(`, or another call's arguments.
    fn paren_kind(&self) -> LevelKind {
        let before = &self.template[..self.i];
        let word_end = before.trim_end_matches([' ', '\t', '\n', '\r']);
        let word_len = word_end
            .bytes()
            .rev()
            .take_while(|&c| is_ident_char(c))
            .count();
        let word = &word_end[word_end.len() - word_len..];
        let starts_word = word_end.len() == word_len
            || !matches!(
                word_end.as_bytes()[word_end.len() - word_len - 1],
                b'.' | b'$'
            );
        match word {
            "" => LevelKind::Group,
            "with" if starts_word => LevelKind::WithPath {
                // `with` and the blanks after it were copied as they are.
                word: self.out.code.len() - (before.len() - (word_end.len() - word_len)),
                path: self.out.code.len() + 1,
            },
            // `if (`, `then (`, ...: a group after a keyword.
            "if" | "then" | "else" | "elif" | "and" | "or" | "not" => LevelKind::Group,
            _ => LevelKind::Other,
        }
    }

    /// `with(P; B)` holding an attribute assignment becomes a reduce over `path(P)` that
    /// binds each path, so that the assignment inside records paths from the document's
    /// root: `$__wN` is the path of `.` inside B (N: the depth of the `with`).
    fn close_with(&mut self, kind: LevelKind) {
        let LevelKind::WithBody {
            word,
            path,
            semi,
            styled: true,
        } = kind
        else {
            return;
        };
        let var = format!("$__w{}", self.levels.len());
        self.insert(self.out.code.len(), &format!(")), getpath({var}))))"));
        self.replace_code(
            semi,
            1,
            &format!(") as {var} (.; setpath({var}; first((getpath({var}) | ("),
        );
        self.replace_code(word, path - word, "(reduce path(");
    }

    /// An operand starts here: of `|` (`pipe`), or of anything else, which starts a
    /// pipeline too.
    fn start_operand(&mut self, pipe: bool) {
        let at = self.out.code.len();
        if let Some(level) = self.levels.last_mut() {
            level.seg_start = at;
            level.assigned = false;
            if !pipe {
                level.pipe_start = at;
            }
        }
    }

    fn start_segment(&mut self) {
        self.start_operand(false);
    }

    /// yq's `X | style` (and `style` alone, for `.`): the style of each node at `path(X)`,
    /// read by `__style_of` from the file (`expr::attrs`). `false` where `.` is not a known
    /// path of the document: the word is left as it is.
    fn attr_read(&mut self, len: usize, name: &str) -> bool {
        let Some(base) = self.base_path() else {
            return false;
        };
        let Some(level) = self.levels.last() else {
            return false;
        };
        let code = &self.out.code;
        let start = level.pipe_start;
        let before = code[start..].trim_end();
        let read = match name {
            "style" => format!("{}($__di; {base}; $__q))", crate::expr::attrs::READ),
            _ => format!(
                "{}($__di; {base}; $__q; \"{name}\"))",
                crate::expr::attrs::READ_ATTR
            ),
        };
        let Some(lhs) = before.strip_suffix('|') else {
            // `style` alone, or after an operator (`. = style`): the style of `.`.
            self.replace(len, &format!("([] as $__q | {read}"));
            return true;
        };
        let bar = start + lhs.len();
        let tail = code.len() - bar;
        self.replace_code(bar, tail, &format!(") as $__q | {read}"));
        self.insert(start, "(path(");
        self.replace(len, "");
        true
    }

    /// The path of `.` where the code stands, as jq code: `[]` at the top and in groups,
    /// with `with`'s paths in front in its body; `None` elsewhere.
    /// Each `with` on the way is marked to bind its path.
    fn base_path(&mut self) -> Option<String> {
        if self
            .levels
            .iter()
            .any(|l| matches!(l.kind, LevelKind::WithPath { .. } | LevelKind::Other))
        {
            return None;
        }
        let mut base = String::from("[]");
        for (depth, level) in self.levels.iter_mut().enumerate() {
            if let LevelKind::WithBody { styled, .. } = &mut level.kind {
                *styled = true;
                base.push_str(&format!(" + $__w{depth}"));
            }
        }
        Some(base)
    }

    /// yq's `X =c Y` and `X *=c Y` (pkg/yqlib/lexer_participle.go, `ClobberCustomTags`):
    /// the assignment without the `c`, then X's node takes the tag Y's node has in the file
    /// (`__attr_of`, `__tag`), written when the operand ends (`close_attr`).
    fn clobber_assign(&mut self) {
        let Some(base) = self.base_path() else {
            if self.out.unsupported.is_none() {
                self.out.unsupported = Some((self.i, "`=c` can be used only at the top of the expression, in parentheses or in with(...)'s second part".into()));
            }
            return self.copy(2);
        };
        let seg_start = self.levels.last().map_or(0, |l| l.seg_start);
        let lhs = self.out.code[seg_start..].trim_end();
        let lhs = lhs.strip_suffix('*').unwrap_or(lhs).to_string();
        self.insert(seg_start, "(");
        self.replace(2, "=");
        let rhs_start = self.out.code.len();
        if let Some(level) = self.levels.last_mut() {
            level.assigned = true;
            level.clobber = Some(Clobber {
                lhs,
                base,
                rhs_start,
            });
        }
    }

    /// Ends the right side of an attribute assignment at this level, if one is open.
    fn close_attr(&mut self) {
        let Some(level) = self.levels.last_mut() else {
            return;
        };
        if let Some(c) = level.clobber.take() {
            let rhs = self.out.code[c.rhs_start..].to_string();
            let Clobber { lhs, base, .. } = c;
            let copy = format!(
                " | (. as $__d | ($__d | [try path({rhs}) catch empty] as $__rp | if ($__rp | length) == 1 then __attr_of(.; {base}; $__rp[0]; \"tag\") else \"\" end) as $__t | reduce path({lhs}) as $__p (.; __tag({base}; $__p; $__t))))"
            );
            self.insert(self.out.code.len(), &copy);
        }
        let Some(level) = self.levels.last_mut() else {
            return;
        };
        if std::mem::take(&mut level.pending) {
            let close = if level.update {
                UPDATE_CLOSE
            } else {
                ATTR_CLOSE
            };
            self.insert(self.out.code.len(), close);
        }
    }

    /// yq's `P ref $x | ...` (pkg/yqlib/operator_variables.go, a variable that refers to
    /// the nodes of P): written `path(P) as $__ref_x | ...`, and every later `$x` becomes
    /// `getpath($__ref_x)`, which reads the value there and can be assigned to.
    fn bind_ref(&mut self, len: usize, name: &str) {
        let seg_start = self.levels.last().map_or(0, |l| l.seg_start);
        self.insert(seg_start, "path(");
        let var = format!(") as $__ref_{name}");
        self.replace(len, &var);
        self.refs.push(name.to_string());
    }

    /// Inserts `text` at `at` in the code written so far, for nothing in the template.
    fn insert(&mut self, at: usize, text: &str) {
        self.replace_code(at, 0, text);
    }

    /// Writes `text` for the `len` bytes at `at` in the code written so far, which were
    /// copied from the template as they are.
    fn replace_code(&mut self, at: usize, len: usize, text: &str) {
        let old_at = self.out.original_offset(at);
        let out = &mut self.out;
        out.code.replace_range(at..at + len, text);
        let pos = out.segments.partition_point(|s| s.0 < at);
        for s in &mut out.segments[pos..] {
            s.0 = s.0 + text.len() - len;
        }
        out.segments.insert(pos, (at, old_at, text.len(), len));
    }

    /// yq's `LHS style = RHS` (`|=` evaluates the right side on each node): for each path
    /// the left side selects, `__style` records the style (`expr::attrs`). The left side
    /// is the operand that began at this level; the right side ends where the operand does.
    /// `word_len`: the bytes of the attribute's name and its `=`.
    fn attr_assign(&mut self, name: &str, word_len: usize, update: bool) {
        let native = attr_native(name);
        // `.` must be a known path of the document: at the top, in groups, in `with`'s
        // body, whose path is added in front.
        let base = self.base_path();
        let known = base.is_some();
        let base = base.unwrap_or_default();
        if !known {
            if self.out.unsupported.is_none() {
                self.out.unsupported = Some((
                    self.i,
                    format!("`{name}` can be set here only at the top of the expression, in parentheses or in with(...)'s second part, as in `.a.b {name}=\"double\"` (not inside a function's arguments, an array or an object)"),
                ));
            }
            return self.copy(word_len);
        }
        if self.levels.last().is_some_and(|l| l.pending) {
            // A second assignment in one operand (`.a style="x" style="y"`): the first
            // ends here.
            self.close_attr();
        }
        let seg_start = self.levels.last().map_or(0, |l| l.seg_start);
        // `(X | key) attr = ...`: the node is X's key, marked by a null step after X's path.
        // `|=` evaluates the right side on the node: a key's is its name.
        let (p, node) = match key_of(&self.out.code[seg_start..]) {
            Some(cut) => {
                self.replace_code(seg_start + cut.start, cut.len(), "");
                ("$__p + [null]", "$__p[-1]")
            }
            None => ("$__p", "getpath($__p)"),
        };
        let (open, mid) = if update {
            (
                "(reduce path(",
                format!(") as $__p (.; __{native}({base}; {p}; [{node} | try ("),
            )
        } else {
            (
                "(. as $__d | reduce path(",
                format!(") as $__p (.; __{native}({base}; {p}; [$__d | "),
            )
        };
        self.insert(seg_start, open);
        self.replace(word_len, &mid);
        if let Some(level) = self.levels.last_mut() {
            level.pending = true;
            level.update = update;
            level.assigned = true;
        }
    }
}

/// yq's `key` at the end of a parenthesised left side, `(X | key)`: the bytes of `| key`
/// in `lhs` (`operator_keys.go`: the key node of X's entry).
fn key_of(lhs: &str) -> Option<Range<usize>> {
    let inner = lhs.trim_end().strip_suffix(')')?.trim_end();
    let before = inner.strip_suffix("key")?;
    if before
        .bytes()
        .last()
        .is_some_and(|c| is_ident_char(c) || c == b'$' || c == b'.')
    {
        return None;
    }
    let bar = before.trim_end().strip_suffix('|')?;
    if bar.trim().is_empty() {
        return None;
    }
    Some(bar.len()..inner.len())
}

/// yq separates the arguments of its regular-expression functions with a comma, where jq
/// has `;` (in jq, `sub("a", "b")` is one argument with two values, which no jq function
/// of these takes). A call to one of them whose parentheses hold top-level commas and no
/// `;` is yq's: the name to call (yq's `sub` replaces every match, with `${1}` for groups)
/// and where the commas are.
fn yq_comma_call(t: &str, at: usize, len: usize) -> Option<(&'static str, Vec<usize>)> {
    let name = match &t[at..at + len] {
        "sub" | "gsub" => "__yq_sub",
        "test" => "test",
        "match" => "match",
        "capture" => "capture",
        _ => return None,
    };
    let b = t.as_bytes();
    let mut i = at + len;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if b.get(i) != Some(&b'(') {
        return None;
    }
    // Strings (with their interpolations) and brackets, to find the top level.
    let mut commas = Vec::new();
    let mut depth = 0usize;
    let mut strings: Vec<usize> = Vec::new(); // the bracket depth each open string sits at
    let mut in_str = false;
    i += 1;
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                b'\\' if b.get(i + 1) == Some(&b'(') => {
                    strings.push(depth);
                    in_str = false;
                    depth += 1;
                    i += 2;
                    continue;
                }
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'#' => return None,
                b'.' => {
                    if let Some(k) = yq_key_at(t, i) {
                        i += k.len;
                        continue;
                    }
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' if depth > 0 && strings.last() == Some(&(depth - 1)) => {
                    depth -= 1;
                    strings.pop();
                    in_str = true;
                }
                b')' if depth == 0 => {
                    return (!commas.is_empty()).then_some((name, commas));
                }
                b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
                b',' if depth == 0 => commas.push(i),
                b';' if depth == 0 => return None,
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Recognises `strenv(NAME)` and `env(NAME)` with a bare name, as yq spells them.
/// Returns the call's length, the name, and whether the value is YAML-typed.
fn env_call(s: &str) -> Option<(usize, &str, bool)> {
    let (func_len, typed) = if s.starts_with("strenv") {
        (6, false)
    } else if s.starts_with("env") {
        (3, true)
    } else {
        return None;
    };
    let b = s.as_bytes();
    if b.get(func_len).is_some_and(|&c| is_ident_char(c)) {
        return None;
    }
    let mut i = func_len;
    let skip_ws = |i: &mut usize| {
        while b.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b'(') {
        return None;
    }
    i += 1;
    skip_ws(&mut i);
    let start = i;
    if !b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return None;
    }
    while b.get(i).is_some_and(|&c| is_ident_char(c)) {
        i += 1;
    }
    let name = &s[start..i];
    skip_ws(&mut i);
    if b.get(i) != Some(&b')') {
        return None;
    }
    Some((i + 1, name, typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(t: &str) -> Rewritten {
        super::rewrite(t, &["VERSION".to_string(), "TAG".to_string()])
    }

    #[test]
    fn placeholders_with_spaces_and_unknown_names() {
        let r = rewrite(r#".a = "{{ VERSION }}" | .b = {{VERSION}} | .c = "{{  TAG}}""#);
        assert_eq!(
            r.code,
            r#".a = "\($VERSION)" | .b = $VERSION | .c = "\($TAG)""#
        );
        assert!(r.placeholders.iter().all(|p| !p.unknown));
        for (t, name) in [
            (r#".a = "{{SOURCE_COMMIT}}""#, "SOURCE_COMMIT"),
            (r#".a = "{{ X1 }}""#, "X1"),
            (".a = {{version}}", "version"),
        ] {
            let r = rewrite(t);
            assert_eq!(r.placeholders.len(), 1, "{t}");
            assert!(
                r.placeholders[0].unknown && r.placeholders[0].name == name,
                "{t}"
            );
        }
        // Helm's own templates, lower-case words and half braces stay text for the file.
        for t in [
            r#".a = "{{ .Release.Name }}""#,
            r#".a = "{{ include \"x\" . }}""#,
            r#".a = "{{name}}""#,
            r#".a = "{{VERSION""#,
            r#".a = "{{1X}}""#,
            r#".a = "<<TAG2>>""#,
        ] {
            let r = rewrite(t);
            assert!(r.placeholders.is_empty(), "{t}: {:?}", r.placeholders);
            assert_eq!(r.code, t);
        }
    }

    #[test]
    fn placeholder_in_string_becomes_interpolation() {
        let r = rewrite(r#".image.tag = "v{{VERSION}}""#);
        assert_eq!(r.code, r#".image.tag = "v\($VERSION)""#);
        assert!(r.uses("VERSION"));
    }

    #[test]
    fn placeholder_outside_string_becomes_variable() {
        let r = rewrite(".version = <<VERSION>>");
        assert_eq!(r.code, ".version = $VERSION");
    }

    #[test]
    fn placeholder_inside_interpolation_is_code() {
        let r = rewrite(r#".a = "x\({{VERSION}} | ascii_downcase)y{{VERSION}}""#);
        assert_eq!(
            r.code,
            r#".a = "x\($VERSION | ascii_downcase)y\($VERSION)""#
        );
    }

    #[test]
    fn escaped_quote_does_not_end_string() {
        let r = rewrite(r#".a = "say \"{{VERSION}}\"" | .b = {{VERSION}}"#);
        assert_eq!(r.code, r#".a = "say \"\($VERSION)\"" | .b = $VERSION"#);
    }

    #[test]
    fn strenv_and_env_with_bare_names() {
        let r = rewrite(".a = strenv(VERSION) | .b = env( PORT )");
        assert_eq!(
            r.code,
            r#".a = ($__strenv["VERSION"]) | .b = ($__env["PORT"])"#
        );
        assert_eq!(r.env_refs.len(), 2);
        assert!(r.env_refs[1].typed);
        assert_eq!(
            &".a = strenv(VERSION) | .b = env( PORT )"[r.env_refs[1].span.clone()],
            "env( PORT )"
        );
    }

    #[test]
    fn env_lookalikes_are_left_alone() {
        for code in [
            "$env",
            ".env(X)",
            "myenv(X)",
            "env",
            r#"strenv("X")"#,
            r#""strenv(X)""#,
        ] {
            assert_eq!(rewrite(code).code, code, "{code}");
        }
    }

    #[test]
    fn offsets_map_back_to_template() {
        let t = r#".a = "{{VERSION}}" | .b = strenv(X) | )"#;
        let r = rewrite(t);
        let err_at = r.code.rfind(')').unwrap();
        assert_eq!(r.original_offset(err_at), t.rfind(')').unwrap());
        let var_at = r.code.find("$VERSION").unwrap();
        assert_eq!(r.original_offset(var_at), t.find("{{").unwrap());
    }

    #[test]
    fn yq_comma_calls_take_semicolons() {
        let r = rewrite(r#".a |= sub("(x), y", "${1}") | .b |= test("a", "i")"#);
        assert_eq!(
            r.code,
            r#".a |= __yq_sub("(x), y"; "${1}") | .b |= test("a"; "i")"#
        );
        for code in [
            r#"sub("a"; "b")"#,
            r#"test("a")"#,
            r#"[.[] | sub("a"; "b", "c")]"#,
            r#"mysub("a", "b")"#,
            r#".sub("a", "b")"#,
            r#"test(("a", "b"))"#,
        ] {
            assert_eq!(rewrite(code).code, code, "{code}");
        }
        let t = r#"gsub("\(.x, 1)", "b") | )"#;
        let r = rewrite(t);
        assert_eq!(r.code, r#"__yq_sub("\(.x, 1)"; "b") | )"#);
        assert_eq!(
            r.original_offset(r.code.rfind(')').unwrap()),
            t.rfind(')').unwrap()
        );
    }

    #[test]
    fn comments_are_not_rewritten() {
        let r = rewrite(".a = 1 # strenv(X)\n| .b = 2");
        assert_eq!(r.code, ".a = 1 # strenv(X)\n| .b = 2");
        assert!(r.env_refs.is_empty());
    }

    #[test]
    fn yq_path_elements_become_quoted_keys() {
        for (yq, jq) in [
            (
                r#".ingress-nginx.controller.image.tag = "{{VERSION}}""#,
                r#"."ingress-nginx".controller.image.tag = "\($VERSION)""#,
            ),
            (
                ".kube-prometheus-stack.grafana.enabled",
                r#"."kube-prometheus-stack".grafana.enabled"#,
            ),
            (".a/b.c-d[0]", r#"."a/b"."c-d"[0]"#),
            (".a-1", r#"."a-1""#),
            (".a-b?.c", r#"."a-b"?.c"#),
            (".a??", r#"."a?"?"#),
            (".a-=1", r#"."a-"=1"#),
            (".a#b", r#"."a#b""#),
            (r#".a"b\c"#, r#"."a\"b\\c""#),
            ("$x.a-b", r#"$x."a-b""#),
            (".é-ü", r#"."é-ü""#),
            ("[.a-b, .c+d]", r#"[."a-b", ."c+d"]"#),
            // Code inside an interpolation is code; the string around it is not.
            (
                r#".my-key = "see .a-b, \".c-d\" and \(.x-y)""#,
                r#"."my-key" = "see .a-b, \".c-d\" and \(."x-y")""#,
            ),
        ] {
            assert_eq!(rewrite(yq).code, jq, "{yq}");
        }
    }

    #[test]
    fn jq_reading_stays_where_jq_reads_a_path() {
        for code in [
            ".a.b",
            ".a?.b?",
            ".a - 1",
            "(.a) - 1",
            ".[0] | .[\"a-b\"]",
            r#"."a-b".c"#,
            ".. | ..a",
            "1.5 + 2.0e-3",
            ".5",
            "x[1.5]",
            "$__loc__",
            ". as $x | .",
            ".a # .b-c\n| .d",
            r#""x .a-b""#,
            "@base64d",
            ".a|.b;.c,.d:.e",
            ".a == 1 and .b != 2",
        ] {
            assert_eq!(rewrite(code).code, code, "{code}");
        }
    }

    #[test]
    fn a_number_after_a_path_is_yq_s_key_or_index() {
        for (yq, jq) in [
            (".a.0", r#".a."0""#),
            (".spec.containers.0.image", r#".spec.containers."0".image"#),
            (r#".a[1].2"#, r#".a[1]."2""#),
            (r#"."b".10 = 1"#, r#"."b"."10" = 1"#),
            ("1.5 + .a.1", r#"1.5 + .a."1""#),
        ] {
            assert_eq!(rewrite(yq).code, jq, "{yq}");
        }
    }

    #[test]
    fn offsets_map_back_across_yq_keys() {
        let t = ".ingress-nginx.a = 1 | )";
        let r = rewrite(t);
        let err_at = r.code.rfind(')').unwrap();
        assert_eq!(r.original_offset(err_at), t.rfind(')').unwrap());
        let key_at = r.code.find("\"ingress").unwrap();
        assert_eq!(r.original_offset(key_at), 0);
    }
}

#[cfg(test)]
mod attr_tests {
    fn code(t: &str) -> String {
        super::rewrite(t, &[]).code
    }

    #[test]
    fn style_assignments_become_a_reduce_over_the_left_sides_paths() {
        assert_eq!(
            code(r#".a.b style="double""#),
            r#"(. as $__d | reduce path(.a.b ) as $__p (.; __style([]; $__p; [$__d | "double"][0])))"#
        );
        assert_eq!(
            code(".[] style |= . | .x"),
            "(reduce path(.[] ) as $__p (.; __style([]; $__p; [getpath($__p) | try ( . ) catch null][0])))| .x"
        );
        assert_eq!(
            code(r#"with(.a; . style="single")"#),
            r#"(reduce path(.a) as $__w1 (.; setpath($__w1; first((getpath($__w1) | ((. as $__d | reduce path( . ) as $__p (.; __style([] + $__w1; $__p; [$__d | "single"][0]))))), getpath($__w1)))))"#
        );
        let rw = super::rewrite(r#"[.a style="x"]"#, &[]);
        assert_eq!(rw.unsupported.map(|(at, _)| at), Some(4));
        // Comparisons and keys named style are left alone.
        assert_eq!(
            code(r#".style = 1 | .a == "style""#),
            r#".style = 1 | .a == "style""#
        );
    }

    #[test]
    fn comment_anchor_alias_and_tag_assignments_call_their_natives() {
        // yq's other spellings name the same native.
        for (yq, native) in [
            ("head_comment", "__head_comment"),
            ("headComment", "__head_comment"),
            ("foot_comment", "__foot_comment"),
            ("footComment", "__foot_comment"),
            ("comments", "__comments"),
            ("anchor", "__anchor"),
            ("alias", "__alias"),
            ("tag", "__tag"),
            ("type", "__tag"),
        ] {
            assert_eq!(
                code(&format!(".a {yq}=\"x\"")),
                format!("(. as $__d | reduce path(.a ) as $__p (.; {native}([]; $__p; [$__d | \"x\"][0])))"),
                "{yq}"
            );
        }
        assert_eq!(
            code(". foot_comment|=.b.d"),
            "(reduce path(. ) as $__p (.; __foot_comment([]; $__p; [getpath($__p) | try (.b.d) catch null][0])))"
        );
        // Reading a tag or comparing with one is left alone.
        assert_eq!(
            code(r#"(.. | select(tag == "!!int")) tag= "!!str""#),
            r#"(. as $__d | reduce path((.. | select(tag == "!!int")) ) as $__p (.; __tag([]; $__p; [$__d |  "!!str"][0])))"#
        );
    }

    #[test]
    fn a_key_on_the_left_marks_the_path_with_a_null_step() {
        assert_eq!(
            code(r#"(.a | key) line_comment="single""#),
            r#"(. as $__d | reduce path((.a ) ) as $__p (.; __line_comment([]; $__p + [null]; [$__d | "single"][0])))"#
        );
        // Not a key: a variable, a field, a longer name.
        for t in [
            r#"(.a | $key) line_comment="x""#,
            r#"(.a | .key) line_comment="x""#,
            r#"(.a | monkey) line_comment="x""#,
        ] {
            assert!(code(t).contains("; $__p; "), "{t}");
        }
    }

    #[test]
    fn ref_binds_a_path_that_later_uses_read_and_assign() {
        assert_eq!(
            code(r#".a.b ref $x | $x = "new" | $y"#),
            r#"path(.a.b ) as $__ref_x | getpath($__ref_x) = "new" | $y"#
        );
        // `.ref`, and `ref` not followed by a variable, are left alone.
        assert_eq!(code(".ref | ref"), ".ref | ref");
    }

    #[test]
    fn clobbering_assignment_copies_the_right_sides_tag() {
        let c = code(".a =c .b");
        assert!(c.starts_with("(.a = .b | (. as $__d | "), "{c}");
        assert!(
            c.contains(r#"__attr_of(.; []; $__rp[0]; "tag")"#) && c.contains("reduce path(.a)"),
            "{c}"
        );
        assert!(
            code(".a *=c .b").starts_with("(.a *= .b | "),
            "{}",
            code(".a *=c .b")
        );
        // `==c…`, `=count` and `= c` are not yq's `=c`.
        for jq in [".a == c", ".a =count", ".a = c"] {
            assert_eq!(code(jq), jq);
        }
    }

    #[test]
    fn assigning_a_key_calls_key_with_the_key_as_input_of_an_update() {
        assert_eq!(
            code(r#"(.a.x | key) = "meow""#),
            r#"(. as $__d | reduce path((.a.x ) ) as $__p (.; __key([]; $__p + [null]; [$__d |  "meow"][0])))"#
        );
        assert_eq!(
            code(r#"(.a.x | key) |= "n_" + ."#),
            r#"(reduce path((.a.x ) ) as $__p (.; __key([]; $__p + [null]; [$__p[-1] | try ( "n_" + .) catch null][0])))"#
        );
        // Comparisons, and an update of something else, are left alone.
        for t in [r#"(.a | key) == "x""#, r#"(.a | keys) = 1"#, ".a |= 1"] {
            assert_eq!(code(t), t, "{t}");
        }
    }

    #[test]
    fn three_dots_recurse_as_two() {
        assert_eq!(
            code(r#"... style="""#),
            r#"(. as $__d | reduce path(.. ) as $__p (.; __style([]; $__p; [$__d | ""][0])))"#
        );
        assert_eq!(code("[...]"), "[..]");
        assert_eq!(code(r#""...""#), r#""...""#);
    }

    #[test]
    fn reading_comments_anchors_and_aliases_calls_attr_of() {
        assert_eq!(
            code(".a | headComment"),
            r#"(path(.a ) as $__q | __attr_of($__di; []; $__q; "head_comment"))"#
        );
        assert_eq!(
            code("anchor"),
            r#"([] as $__q | __attr_of($__di; []; $__q; "anchor"))"#
        );
        // A key of that name, and a call inside an array, are left alone.
        assert_eq!(code(".alias | .x"), ".alias | .x");
        assert_eq!(code("[.a | alias]"), "[.a | alias]");
    }

    #[test]
    fn reading_style_takes_the_path_of_the_pipeline_before_it() {
        assert_eq!(
            code(".a | style"),
            "(path(.a ) as $__q | __style_of($__di; []; $__q))"
        );
        assert_eq!(
            code(".a = 1 | .a | style"),
            ".a = 1 |(path( .a ) as $__q | __style_of($__di; []; $__q))"
        );
        assert_eq!(code("style"), "([] as $__q | __style_of($__di; []; $__q))");
    }
}
