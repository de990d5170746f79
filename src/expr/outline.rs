//! The top level of an expression as the user wrote it: where its pipes, commas, assignment
//! and comparison operators are, outside strings, brackets, comments and `if … end`. The
//! update check (`edit::check_update`) cuts an expression there to tell which part selects,
//! and writes the fix it suggests from the same pieces.

/// One operator at the top level, by its byte range in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Pipe,
    Comma,
    /// `=`, `|=`, `+=`, `-=`, `*=`, `/=`, `%=`, `//=`.
    Assign,
    /// `==`.
    Equals,
    /// `as`, `def` or `label`: a name bound for what follows, so a later part may read
    /// what an earlier part no longer passes on.
    Binds,
    /// A level opens (a bracket, an `if`, an interpolation); its depth is the new one.
    Nest,
}

/// Where `t` first nests deeper than `max` (brackets, `if … end`, string interpolations),
/// as a byte offset: jaq's parser recurses along the nesting, so it is refused before.
pub(crate) fn too_deep(t: &str, max: usize) -> Option<usize> {
    scan_all(t)
        .into_iter()
        .find(|&(op, .., depth)| op == Op::Nest && depth > max)
        .map(|(_, start, ..)| start)
}

/// The top-level operators of `t`, in order, with their byte ranges.
fn scan(t: &str) -> Vec<(Op, usize, usize)> {
    scan_all(t)
        .into_iter()
        .filter(|(.., depth)| *depth == 0)
        .map(|(op, s, e, _)| (op, s, e))
        .collect()
}

/// The operators of `t` at every level, with their byte ranges and depths.
fn scan_all(t: &str) -> Vec<(Op, usize, usize, usize)> {
    let mut s = Scanner {
        t,
        i: 0,
        depth: 0,
        strings: Vec::new(),
        in_str: false,
        ops: Vec::new(),
        key_end: 0,
    };
    while s.i < t.len() {
        if s.in_str {
            s.in_string();
        } else {
            s.in_code();
        }
    }
    s.ops
}

struct Scanner<'t> {
    t: &'t str,
    i: usize,
    /// Open brackets and `if`s; a string's interpolation `\(` counts as a bracket.
    depth: usize,
    /// The depths that the strings an interpolation sits in were opened at.
    strings: Vec<usize>,
    in_str: bool,
    ops: Vec<(Op, usize, usize, usize)>,
    /// Where the last yq path element ended.
    key_end: usize,
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.t.as_bytes().get(i).copied()
    }

    /// Records `op` over `len` bytes from the position, and moves past them.
    fn op(&mut self, op: Op, len: usize) {
        self.ops.push((op, self.i, self.i + len, self.depth));
        self.i += len;
    }

    fn in_string(&mut self) {
        match self.at(self.i) {
            Some(b'\\') if self.at(self.i + 1) == Some(b'(') => {
                self.strings.push(self.depth);
                self.depth += 1;
                self.in_str = false;
                return self.op(Op::Nest, 2);
            }
            Some(b'\\') => self.i += 1,
            Some(b'"') => self.in_str = false,
            _ => {}
        }
        self.i += 1;
    }

    fn in_code(&mut self) {
        let (t, i) = (self.t, self.i);
        match t.as_bytes()[i] {
            b'"' => self.in_str = true,
            b'.' => {
                // A yq path element is a key, whatever it holds (`.a-if`, `.a#b`).
                if let Some(k) = super::template::yq_key_at(t, i) {
                    self.i += k.len;
                    self.key_end = self.i;
                    return;
                }
            }
            b'#' => {
                self.i = t[i..].find('\n').map_or(t.len(), |n| i + n);
                return;
            }
            b'(' | b'[' | b'{' => {
                self.depth += 1;
                return self.op(Op::Nest, 1);
            }
            b')' if self.depth > 0 && self.strings.last() == Some(&(self.depth - 1)) => {
                self.strings.pop();
                self.depth -= 1;
                self.in_str = true;
            }
            b')' | b']' | b'}' => self.depth = self.depth.saturating_sub(1),
            b'|' if self.at(i + 1) == Some(b'=') => return self.op(Op::Assign, 2),
            b'|' => return self.op(Op::Pipe, 1),
            b',' => return self.op(Op::Comma, 1),
            b'=' if self.at(i + 1) == Some(b'=') => return self.op(Op::Equals, 2),
            // `.a-=1` is yq's key `a-` assigned, not `.a -= 1`.
            b'=' if self.key_end == i => self.ops.push((Op::Assign, i, i + 1, self.depth)),
            b'=' => {
                if let Some(start) = assignment_start(t.as_bytes(), i) {
                    self.ops.push((Op::Assign, start, i + 1, self.depth));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => return self.word(),
            _ => {}
        }
        self.i += 1;
    }

    /// A word: `if … end` nests, `as`, `def` and `label` bind; a field or variable name
    /// (after `.`, `$`, `@`) is none of these.
    fn word(&mut self) {
        let (t, i) = (self.t, self.i);
        let len = t[i..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        let standalone = !matches!(
            i.checked_sub(1).map(|p| t.as_bytes()[p]),
            Some(b'.' | b'$' | b'@')
        );
        match &t[i..i + len] {
            "if" if standalone => {
                self.depth += 1;
                return self.op(Op::Nest, len);
            }
            "end" if standalone => self.depth = self.depth.saturating_sub(1),
            "as" | "def" | "label" if standalone => return self.op(Op::Binds, len),
            _ => {}
        }
        self.i += len;
    }
}

/// Where an assignment whose `=` is at `i` starts: `//=`, `+=` and the like include their
/// operator; `!=`, `<=` and `>=` are comparisons, not assignments.
fn assignment_start(b: &[u8], i: usize) -> Option<usize> {
    match i.checked_sub(1).map(|p| b[p]) {
        Some(b'/') if i >= 2 && b[i - 2] == b'/' => Some(i - 2),
        Some(b'+' | b'-' | b'*' | b'/' | b'%') => Some(i - 1),
        Some(b'!' | b'<' | b'>') => None,
        _ => Some(i),
    }
}

/// Whether `t` assigns or updates anywhere (`=`, `|=`, `+=`, …), not only at its top level:
/// `if … then . = {"a": 1} else . end` replaces the document on purpose.
pub(crate) fn updates(t: &str) -> bool {
    scan_all(t).iter().any(|(op, ..)| *op == Op::Assign)
}

/// Whether `t` assigns to the root itself anywhere (`. = {...}`, `. |= ...`): a replacement
/// of the whole document that the expression asks for in so many words.
pub(crate) fn assigns_root(t: &str) -> bool {
    scan_all(t).iter().any(|&(op, start, ..)| {
        let lhs = t[..start].trim_end();
        op == Op::Assign
            && lhs.ends_with('.')
            && !lhs[..lhs.len() - 1]
                .ends_with(|c: char| c.is_alphanumeric() || "_.])\"$@".contains(c))
    })
}

/// The parts of `t` between its top-level pipes, trimmed; one part when there is no pipe.
/// `None` when a part binds a name (`as`, `def`, `label`): cut there, a later part could
/// read what an earlier one selected away, so no part can be judged alone.
pub(crate) fn pipe_parts(t: &str) -> Option<Vec<&str>> {
    let ops = scan(t);
    if ops.iter().any(|(op, ..)| *op == Op::Binds) {
        return None;
    }
    let mut parts = Vec::new();
    let mut from = 0;
    for &(op, start, end) in &ops {
        if op == Op::Pipe {
            parts.push(t[from..start].trim());
            from = end;
        }
    }
    parts.push(t[from..].trim());
    Some(parts)
}

/// `lhs op rhs` when `t`'s only top-level operator is one assignment (`.a.b = "x"`).
pub(crate) fn assignment(t: &str) -> Option<(&str, &str, &str)> {
    match scan(t).as_slice() {
        [(Op::Assign, s, e)] => Some((t[..*s].trim(), &t[*s..*e], t[*e..].trim())),
        _ => None,
    }
}

/// `lhs`, `rhs` when `t`'s only top-level operator is one `==` (`.a == "x"`, the typo of
/// an assignment).
pub(crate) fn comparison(t: &str) -> Option<(&str, &str)> {
    match scan(t).as_slice() {
        [(Op::Equals, s, e)] => Some((t[..*s].trim(), t[*e..].trim())),
        _ => None,
    }
}

/// The parts of `t` between its top-level commas, when it has any (`.a, .b = 1`).
pub(crate) fn comma_parts(t: &str) -> Option<Vec<&str>> {
    let ops = scan(t);
    let commas: Vec<_> = ops.iter().filter(|(op, ..)| *op == Op::Comma).collect();
    if commas.is_empty() || ops.iter().any(|(op, ..)| *op == Op::Pipe) {
        return None;
    }
    let mut parts = Vec::new();
    let mut from = 0;
    for &&(_, start, end) in &commas {
        parts.push(t[from..start].trim());
        from = end;
    }
    parts.push(t[from..].trim());
    Some(parts)
}

/// The update that applies `rest` where `prefix` points, in the file: `(P | .x) = v` when
/// `rest` is one assignment, else `(P) |= (rest)`.
pub(crate) fn scoped_update(prefix: &str, rest: &str) -> String {
    match assignment(rest) {
        Some((lhs, op, rhs)) if !lhs.is_empty() => format!("({prefix} | {lhs}) {op} {rhs}"),
        _ => format!("({prefix}) |= ({rest})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_outside_strings_brackets_and_ifs() {
        assert_eq!(
            pipe_parts(r#".images[] | select(.name == "a|b") | .newTag = "{{VERSION}}""#),
            Some(vec![
                ".images[]",
                r#"select(.name == "a|b")"#,
                r#".newTag = "{{VERSION}}""#
            ])
        );
        assert_eq!(
            pipe_parts(r#".a |= (.b | .c) | "x\(.y | .z)" # a | b"#),
            Some(vec![".a |= (.b | .c)", r#""x\(.y | .z)" # a | b"#])
        );
        assert_eq!(
            pipe_parts("if .a then .b | .c else . end | .d"),
            Some(vec!["if .a then .b | .c else . end", ".d"])
        );
        assert_eq!(pipe_parts(".a as $x | .b = $x"), None);
        assert_eq!(pipe_parts("def f: .a; f | .b"), None);
        assert_eq!(pipe_parts(".as | .def"), Some(vec![".as", ".def"]));
    }

    #[test]
    fn assignments_and_comparisons() {
        assert_eq!(assignment(".a.b = 1"), Some((".a.b", "=", "1")));
        assert_eq!(assignment(".a |= . + 1"), Some((".a", "|=", ". + 1")));
        assert_eq!(assignment(".a //= \"x=y\""), Some((".a", "//=", "\"x=y\"")));
        assert_eq!(assignment(".a -= 1"), Some((".a", "-=", "1")));
        assert_eq!(assignment(".a == 1"), None);
        assert_eq!(assignment(".a != 1"), None);
        assert_eq!(assignment(".a <= 1"), None);
        assert_eq!(assignment(".a = 1 | .b = 2"), None);
        assert_eq!(
            comparison(r#".image.tag == "1.2""#),
            Some((".image.tag", "\"1.2\""))
        );
        assert_eq!(comparison(".a = 1"), None);
    }

    #[test]
    fn updates_at_any_level() {
        assert!(updates("if di == 0 then . = {\"n\": 1} else . end"));
        assert!(updates("[.[] | .a |= 1]"));
        assert!(!updates(r#"{"a": "x = y"} | .b == 1"#));
        assert!(!updates("{}"));
    }

    #[test]
    fn yq_path_elements_are_keys() {
        assert_eq!(
            assignment(".ingress-nginx.controller.image.tag = \"1\""),
            Some((".ingress-nginx.controller.image.tag", "=", "\"1\""))
        );
        assert_eq!(assignment(".a-if = 1"), Some((".a-if", "=", "1")));
        assert_eq!(assignment(".a#b = 1"), Some((".a#b", "=", "1")));
        assert_eq!(assignment(".a-=1"), Some((".a-", "=", "1")));
        assert_eq!(assignment(".a/=1"), Some((".a/", "=", "1")));
        assert_eq!(assignment(".a -= 1"), Some((".a", "-=", "1")));
        assert_eq!(too_deep(".a\"b | (1)", 0), Some(7));
    }

    #[test]
    fn nesting_depth() {
        assert_eq!(too_deep("((1))", 2), None);
        assert_eq!(too_deep("(((1)))", 2), Some(2));
        assert_eq!(too_deep(r#""\(("x"))""#, 2), None);
        assert_eq!(too_deep(r#""((((""#, 1), None);
        assert_eq!(too_deep("[[[", 2), Some(2));
    }

    #[test]
    fn root_assignments() {
        assert!(assigns_root(". = {}"));
        assert!(assigns_root("if di == 0 then . |= [1] else . end"));
        assert!(!assigns_root("(.) = 1"));
        assert!(!assigns_root(".a = 1"));
        assert!(!assigns_root(".a. = 1"));
        assert!(!assigns_root(". == {}"));
    }

    #[test]
    fn commas_and_the_scoped_fix() {
        assert_eq!(comma_parts(".a, .b = 1"), Some(vec![".a", ".b = 1"]));
        assert_eq!(comma_parts("[.a, .b]"), None);
        assert_eq!(
            scoped_update(".images[] | select(.name == \"app\")", ".newTag = \"1\""),
            "(.images[] | select(.name == \"app\") | .newTag) = \"1\""
        );
        assert_eq!(scoped_update(".spec", "del(.x)"), "(.spec) |= (del(.x))");
    }
}
