//! Which parts of the document a program can read or write, decided from its code alone.
//!
//! The expressions that workflows run are path updates (`.image.tag = "1.2.3"`,
//! `(.images[] | select(.name == "app")).newTag = ...`), which touch a few nodes of a file
//! that may hold thousands. The analysis follows, for every term, the positions in the
//! document its outputs stand for. Where a value is looked at rather than walked through (a
//! comparison, a string, a function's input, an assignment's target), its position is
//! marked whole: the loader builds it in full, so jq sees exactly what the file holds. What
//! no term can reach becomes a placeholder the program never sees. Anything the analysis
//! does not know (variables bound from the input, `reduce`, local definitions) gives up,
//! and the whole document is loaded as before.

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Term};
use jaq_core::path::Part;

use crate::path::{PathTrie, Step};

type Path = Vec<Step>;

/// Beyond this many positions in one term the analysis gives up (`.[] | .[] | ...`).
const MAX_PATHS: usize = 256;

/// What a term outputs: positions in the document, and whether it also outputs values
/// computed from whole data or constants (`opaque`), which anything may read.
#[derive(Debug, Clone, Default)]
struct Out {
    paths: Vec<Path>,
    opaque: bool,
}

impl Out {
    fn opaque() -> Out {
        Out {
            paths: Vec::new(),
            opaque: true,
        }
    }

    fn union(mut self, other: Out) -> Option<Out> {
        self.paths.extend(other.paths);
        self.opaque |= other.opaque;
        (self.paths.len() <= MAX_PATHS).then_some(self)
    }
}

/// The document's reachable part for `code`, or `None` when it is the whole document or
/// cannot be known.
pub fn reach(code: &str) -> Option<PathTrie> {
    let term = jaq_core::load::parse(code, |p| p.term())?;
    let mut a = Analysis {
        reach: PathTrie::default(),
    };
    let out = a.eval(&term, &[Vec::new()])?;
    // The document itself may be output only as the one result: next to a selected or
    // computed value, it would be printed as a value, placeholders and all.
    let root = out.paths.iter().any(Vec::is_empty);
    if root && (out.opaque || out.paths.iter().any(|p| !p.is_empty())) {
        return None;
    }
    // What the program outputs is read in full (printed, or compared with the old
    // document), except the document itself, which the splice compares node by node.
    for p in out.paths.iter().filter(|p| !p.is_empty()) {
        a.reach.insert(p, true);
    }
    if a.reach.whole {
        return None;
    }
    a.reach.settle();
    Some(a.reach)
}

/// The input's own positions, as `.` outputs them.
fn positions(input: &[Path]) -> Out {
    Out {
        paths: input.to_vec(),
        opaque: false,
    }
}

struct Analysis {
    reach: PathTrie,
}

/// A string literal's text (`"a"`, and `a` in `.a`).
fn literal(t: &Term<&str>) -> Option<String> {
    let Term::Str(None, parts) = t else {
        return None;
    };
    let mut s = String::new();
    for part in parts {
        match part {
            StrPart::Str(p) => s.push_str(p),
            StrPart::Char(c) => s.push(*c),
            StrPart::Term(_) => return None,
        }
    }
    Some(s)
}

impl Analysis {
    /// Everything at these positions is read.
    fn whole(&mut self, out: &Out) {
        for p in &out.paths {
            self.reach.insert(p, true);
        }
    }

    fn read(&mut self, t: &Term<&str>, input: &[Path]) -> Option<()> {
        let out = self.eval(t, input)?;
        self.whole(&out);
        Some(())
    }

    /// What `t` outputs for inputs at `input`. Input that is only opaque values needs no
    /// analysis: nothing can lead from them back into the document.
    fn eval(&mut self, t: &Term<&str>, input: &[Path]) -> Option<Out> {
        if input.is_empty() {
            return Some(Out::opaque());
        }
        Some(match t {
            Term::Id => positions(input),
            Term::Num(_) | Term::Var(_) => Out::opaque(),
            Term::Str(_, parts) => {
                for part in parts {
                    if let StrPart::Term(t) = part {
                        self.read(t, input)?;
                    }
                }
                Out::opaque()
            }
            Term::Arr(t) => {
                if let Some(t) = t {
                    self.read(t, input)?;
                }
                Out::opaque()
            }
            Term::Obj(entries) => self.object(entries, input)?,
            Term::Neg(t) => {
                self.read(t, input)?;
                Out::opaque()
            }
            Term::Recurse => {
                self.whole(&positions(input));
                Out::opaque()
            }
            Term::BinOp(l, op, r) => self.binop(l, op, r, input)?,
            Term::TryCatch(t, catch) => {
                let out = self.eval(t, input)?;
                match catch {
                    Some(_) => out.union(Out::opaque())?,
                    None => out,
                }
            }
            Term::IfThenElse(branches, otherwise) => {
                self.if_then_else(branches, otherwise.as_deref(), input)?
            }
            Term::Call(name, args) => self.call(name, args, input)?,
            Term::Path(base, path) => self.path(base, path, input)?,
            Term::Label(..) | Term::Break(_) | Term::Fold(..) | Term::Def(..) => return None,
        })
    }

    /// `{...}`: its keys and values are read from the input; the object is a new value.
    fn object(
        &mut self,
        entries: &[(Term<&str>, Option<Term<&str>>)],
        input: &[Path],
    ) -> Option<Out> {
        for (k, v) in entries {
            match (v, literal(k)) {
                // `{a}` is `{a: .a}`.
                (None, Some(key)) => {
                    for p in input {
                        let mut p = p.clone();
                        p.push(Step::Key(key.clone()));
                        self.reach.insert(&p, true);
                    }
                }
                (None, None) if matches!(k, Term::Var(_)) => {}
                (None, None) => self.whole(&positions(input)),
                (Some(v), _) => {
                    self.read(k, input)?;
                    self.read(v, input)?;
                }
            }
        }
        Some(Out::opaque())
    }

    /// `l op r`: a pipe follows positions, `,` and `//` join them, an update writes to its
    /// target, and any other operator reads both sides whole.
    fn binop(
        &mut self,
        l: &Term<&str>,
        op: &BinaryOp<&str>,
        r: &Term<&str>,
        input: &[Path],
    ) -> Option<Out> {
        Some(match op {
            BinaryOp::Pipe(None) => {
                let mid = self.eval(l, input)?;
                let mut out = self.eval(r, &mid.paths)?;
                if mid.opaque {
                    out.opaque = true;
                }
                out
            }
            // `f as $x | g`: $x may hold a position, which the analysis does not follow.
            BinaryOp::Pipe(Some(_)) => return None,
            BinaryOp::Comma | BinaryOp::Alt => {
                let left = self.eval(l, input)?;
                left.union(self.eval(r, input)?)?
            }
            BinaryOp::Or
            | BinaryOp::And
            | BinaryOp::Math(_)
            | BinaryOp::Merge(_)
            | BinaryOp::Cmp(_) => {
                self.read(l, input)?;
                self.read(r, input)?;
                Out::opaque()
            }
            BinaryOp::Assign
            | BinaryOp::Update
            | BinaryOp::UpdateMath(_)
            | BinaryOp::MergeUpdate(_)
            | BinaryOp::UpdateAlt => {
                let target = self.eval(l, input)?;
                if target.opaque {
                    // Not a path expression: jq refuses it.
                    return None;
                }
                self.whole(&target);
                // `|=` runs its right side on the target, which is whole; the others run
                // it on the input.
                if !matches!(op, BinaryOp::Update) {
                    self.read(r, input)?;
                }
                positions(input)
            }
        })
    }

    /// `if c then t elif ... else e end`: the conditions are read, and the branches' outputs
    /// joined (with the input itself when there is no `else`).
    fn if_then_else(
        &mut self,
        branches: &[(Term<&str>, Term<&str>)],
        otherwise: Option<&Term<&str>>,
        input: &[Path],
    ) -> Option<Out> {
        let mut out = Out::default();
        for (cond, then) in branches {
            self.read(cond, input)?;
            out = out.union(self.eval(then, input)?)?;
        }
        Some(match otherwise {
            Some(e) => out.union(self.eval(e, input)?)?,
            None => out.union(positions(input))?,
        })
    }

    /// `name(args)`: `select` keeps its input's positions; a few names are constants; any
    /// other function may look at all of its input.
    fn call(&mut self, name: &str, args: &[Term<&str>], input: &[Path]) -> Option<Out> {
        Some(match (name, args) {
            ("select", [cond]) => {
                self.read(cond, input)?;
                positions(input)
            }
            ("empty", []) => Out::default(),
            // Constants, and yq's document index and environment (bound variables).
            ("true" | "false" | "null" | "documentIndex" | "di" | "env", []) => Out::opaque(),
            // Any other function may look at all of its input.
            _ => {
                self.whole(&positions(input));
                Out::opaque()
            }
        })
    }

    /// `base.a[0][]...`: each step of the path extends the base's positions.
    fn path(
        &mut self,
        base: &Term<&str>,
        path: &jaq_core::path::Path<Term<&str>>,
        input: &[Path],
    ) -> Option<Out> {
        let mut out = self.eval(base, input)?;
        for (part, _) in &path.0 {
            // Indices are computed from the path's own input, not from the base.
            let step = match part {
                Part::Index(i) => match (literal(i), i) {
                    (Some(key), _) => Step::Key(key),
                    (None, Term::Num(n)) if n.parse::<usize>().is_ok() => {
                        Step::Index(n.parse().ok()?)
                    }
                    (None, i) => {
                        self.read(i, input)?;
                        Step::Any
                    }
                },
                Part::Range(None, None) => Step::Any,
                Part::Range(from, to) => {
                    for t in from.iter().chain(to) {
                        self.read(t, input)?;
                    }
                    // A slice is a new array, not a position.
                    self.whole(&out);
                    out = Out::opaque();
                    continue;
                }
            };
            for p in &mut out.paths {
                p.push(step.clone());
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    fn whole() -> PathTrie {
        let mut r = PathTrie::default();
        r.insert(&[], true);
        r
    }

    /// The reach of `code` as the paths it builds whole, for assertions.
    fn expect(code: &str, paths: &[&[Step]]) {
        let mut want = PathTrie::default();
        for p in paths {
            want.insert(p, true);
        }
        want.settle();
        assert_eq!(reach(code), Some(want), "{code}");
    }

    #[test]
    fn path_updates_reach_their_paths() {
        expect(r#".version = "1.2.3""#, &[&[key("version")]]);
        expect(
            r#".image.tag = "\($VERSION)""#,
            &[&[key("image"), key("tag")]],
        );
        expect(
            r#".spec.chart.spec.version |= sub("x"; "y")"#,
            &[&[key("spec"), key("chart"), key("spec"), key("version")]],
        );
        expect(
            r#".a = 1 | .b["c"][2] = $x"#,
            &[&[key("a")], &[key("b"), key("c"), Step::Index(2)]],
        );
        expect(
            r#"(.images[] | select(.name == "app")).newTag = "v""#,
            &[
                &[key("images"), Step::Any, key("name")],
                &[key("images"), Step::Any, key("newTag")],
            ],
        );
        // A query reads what it selects.
        expect(".image.tag", &[&[key("image"), key("tag")]]);
    }

    #[test]
    fn updates_of_every_kind_and_several_targets() {
        expect(".a += 1 | .b //= \"x\"", &[&[key("a")], &[key("b")]]);
        expect("(.a, .b.c) = 1", &[&[key("a")], &[key("b"), key("c")]]);
        // A negative index is computed: every item may be the one.
        expect(".l[-1] = 1", &[&[key("l"), Step::Any]]);
        expect(
            ".spec.template.spec.containers[0].image = \"x:\\($VERSION)\"",
            &[&[
                key("spec"),
                key("template"),
                key("spec"),
                key("containers"),
                Step::Index(0),
                key("image"),
            ]],
        );
    }

    #[test]
    fn whatever_is_looked_at_is_whole() {
        // `=` evaluates its right side on the document.
        expect(".a = .b", &[&[key("a")], &[key("b")]]);
        // A computed index reads its own input.
        expect(".a[.i] = 1", &[&[key("a"), Step::Any], &[key("i")]]);
        expect(
            ".a |= . + 1 | .c = (.d | length)",
            &[&[key("a")], &[key("c")], &[key("d")]],
        );
    }

    #[test]
    fn the_whole_document_or_the_unknown_is_no_reach() {
        for code in [
            "length",
            "del(.a)",
            ". as $d | .a = $d.b",
            "reduce .x[] as $i (.; .a += $i)",
            "def f: .a; f = 1",
            ".. |= .",
            "to_entries",
            "with(.a; .b = 1)",
            ". == {}",
            "if .x then .a else . end",
            "if .x then 1 else . end",
        ] {
            assert_eq!(reach(code), None, "{code}");
        }
        assert_ne!(reach(".a = 1"), Some(whole()));
        // The document unchanged needs none of its nodes.
        assert_eq!(reach("."), Some(PathTrie::default()));
    }
}
