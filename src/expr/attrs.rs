//! yq's node attributes (`style` and the others), which jq values do not carry. `.a style="double"` is
//! rewritten (`template`) to call `__style($path; $name)` on each path the left side
//! selects: the call records the request in a side table that `Program::run` hands to the
//! splice, which re-renders exactly those nodes, and makes the value at the path the string
//! that a quoted scalar reads as (`5` in double quotes is the string "5", as in yq).
//! Comments, anchors, aliases, tags and a key's name (`__head_comment`, `__anchor`,
//! `__alias`, `__tag`, `__key`, ...) go the same way; where yq's value changes with the
//! attribute (an alias takes its anchor's value, `!!str` makes a string, a key is renamed),
//! the native changes it too, so that the file read back holds the result.

use std::cell::RefCell;

use jaq_core::data::JustLut;
use jaq_core::native::{bome, run, v, Filter, Fun};
use jaq_core::RunPtr;
use jaq_json::{Error, Rc, Val, ValR};
use jaq_std::ValT as _;

use crate::yaml::index::{Index, Keep};
use crate::yaml::style::{self, Attr, Restyle, Style};

type D = JustLut<Val>;

thread_local! {
    /// The styles asked for by the program running on this thread, in order.
    static REQUESTS: RefCell<Vec<Restyle>> = const { RefCell::new(Vec::new()) };
    /// The text of the file being evaluated, for reading styles, and its index once made.
    static SOURCE: RefCell<Option<Source>> = const { RefCell::new(None) };
    /// The document of the file that the program runs on, for `alias` to find anchors in.
    static DOC: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

struct Source {
    text: String,
    index: Option<Rc<Index>>,
}

/// Runs `f` (an evaluation of `program`) with the file's text at hand for `style` to read,
/// when the program reads styles.
pub(crate) fn reading<R>(program: &super::Program, src: &str, f: impl FnOnce() -> R) -> R {
    if !program.reads_styles() {
        return f();
    }
    SOURCE.with(|s| {
        *s.borrow_mut() = Some(Source {
            text: src.to_string(),
            index: None,
        })
    });
    let out = f();
    SOURCE.with(|s| s.borrow_mut().take());
    out
}

/// The native that reads a style, as the rewritten code calls it.
pub(crate) const READ: &str = "__style_of";
/// The native that reads the other attributes: `__attr_of($doc; $base; $path; $name)`.
pub(crate) const READ_ATTR: &str = "__attr_of";

/// Forgets what an earlier run asked for.
pub(crate) fn clear() {
    REQUESTS.with(|r| r.borrow_mut().clear());
}

/// What the run since the last `clear` asked for; a later request for a path wins.
pub(crate) fn take() -> Vec<Restyle> {
    let mut all = REQUESTS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let mut kept: Vec<Restyle> = Vec::with_capacity(all.len());
    for r in all.drain(..).rev() {
        if !kept.iter().any(|k| k.replaces(&r)) {
            kept.push(r);
        }
    }
    kept.reverse();
    kept
}

/// `__style($base; $path; $name)`: records the style `$name` for the node at `$base + $path`
/// of the document (`$base`: where the input stands in it) and yields the input, with a
/// number, boolean or null there made a string when the style quotes it. The other
/// attributes' natives take the same arguments.
pub(super) fn funs() -> impl Iterator<Item = Fun<D>> {
    let natives: [Filter<RunPtr<D>>; 11] = [
        ("__line_comment", v(3), |mut cv| {
            let text = cv.0.pop_var();
            let path = cv.0.pop_var();
            let base = cv.0.pop_var();
            bome(line_comment(cv.1, (&base, &path), &text))
        }),
        ("__head_comment", v(3), |mut cv| {
            let (text, at) = args(&mut cv.0);
            bome(record(cv.1, at, Attr::HeadComment(as_text(&text))))
        }),
        ("__foot_comment", v(3), |mut cv| {
            let (text, at) = args(&mut cv.0);
            bome(record(cv.1, at, Attr::FootComment(as_text(&text))))
        }),
        ("__comments", v(3), |mut cv| {
            let (text, at) = args(&mut cv.0);
            bome(comments(cv.1, at, &text))
        }),
        ("__key", v(3), |mut cv| {
            let (name, at) = args(&mut cv.0);
            bome(rename_key(cv.1, at, &name))
        }),
        ("__anchor", v(3), |mut cv| {
            let (name, at) = args(&mut cv.0);
            bome(anchor(cv.1, at, &name))
        }),
        ("__alias", v(3), |mut cv| {
            let (name, at) = args(&mut cv.0);
            bome(alias(cv.1, at, &name))
        }),
        ("__tag", v(3), |mut cv| {
            let (name, at) = args(&mut cv.0);
            bome(tag(cv.1, at, &name))
        }),
        ("__style", v(3), |mut cv| {
            let name = cv.0.pop_var();
            let path = cv.0.pop_var();
            let base = cv.0.pop_var();
            bome(style(cv.1, (&base, &path), &name))
        }),
        ("__attr_of", v(4), |mut cv| {
            let name = as_text(&cv.0.pop_var());
            let path = cv.0.pop_var();
            let base = cv.0.pop_var();
            let at = match (base, path) {
                (Val::Arr(b), Val::Arr(p)) => Some(b.iter().chain(p.iter()).cloned().collect()),
                _ => None,
            };
            bome(attr_of(at, &name))
        }),
        ("__style_of", v(3), |mut cv| {
            let path = cv.0.pop_var();
            let base = cv.0.pop_var();
            let doc = cv.0.pop_var();
            bome(style_of(&doc, (&base, &path)))
        }),
    ];
    natives.into_iter().map(run::<D>)
}

/// The arguments `($base; $path; $value)` of an attribute's native, in order:
/// the value, then the node's path from the document's root.
fn args(ctx: &mut jaq_core::Ctx<'_, D>) -> (Val, Option<Vec<Val>>) {
    let value = ctx.pop_var();
    let path = ctx.pop_var();
    let base = ctx.pop_var();
    let at = match (base, path) {
        (Val::Arr(base), Val::Arr(steps)) => {
            Some(base.iter().chain(steps.iter()).cloned().collect())
        }
        _ => None,
    };
    (value, at)
}

/// A right side as yq reads it for a comment, anchor, alias or tag (a node's `Value`): a
/// string's text, null (an empty right side) and a collection as `""`, anything else as it
/// prints.
fn as_text(v: &Val) -> String {
    match v {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        Val::Null | Val::Obj(_) | Val::Arr(_) => String::new(),
        other => other.to_string(),
    }
}

fn push(path: Vec<Val>, attr: Attr) {
    REQUESTS.with(|r| r.borrow_mut().push(Restyle { path, attr }));
}

/// Records `attr` for the node at `at`; the value stays as it is.
fn record(input: Val, at: Option<Vec<Val>>, attr: Attr) -> ValR {
    let Some(path) = at else {
        return Err(Error::str("comment: not a path"));
    };
    push(path, attr);
    Ok(input)
}

/// yq's `comments = x` (`operator_comments.go`, `assignCommentsOperator`): the line, head
/// and foot comments at once; `""` strips them all.
fn comments(input: Val, at: Option<Vec<Val>>, text: &Val) -> ValR {
    let Some(path) = at else {
        return Err(Error::str("comments: not a path"));
    };
    let text = as_text(text);
    if text.contains(['\n', '\r']) {
        return Err(Error::typ(
            Val::from(text),
            "a line comment: it would hold a line break",
        ));
    }
    push(path.clone(), Attr::LineComment(text.clone()));
    push(path.clone(), Attr::HeadComment(text.clone()));
    push(path, Attr::FootComment(text));
    Ok(input)
}

/// yq's `anchor = name` (`operator_anchors_aliases.go`, `assignAnchorOperator`): the node
/// is anchored as `name`, its value unchanged; `""` (or null) removes its anchor.
fn anchor(input: Val, at: Option<Vec<Val>>, name: &Val) -> ValR {
    let name = as_text(name);
    if !name.is_empty() && !is_anchor_name(&name) {
        return Err(Error::typ(
            Val::from(name),
            "an anchor name: it would hold a blank or one of []{},",
        ));
    }
    record(input, at, Attr::Anchor(name))
}

/// What YAML allows in an anchor's (and an alias's) name.
fn is_anchor_name(name: &str) -> bool {
    !name
        .chars()
        .any(|c| c.is_whitespace() || "[]{},".contains(c))
}

fn style(input: Val, (base, path): (&Val, &Val), name: &Val) -> ValR {
    let name = match name {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        // yq reads a null (an empty right side) as no style.
        Val::Null => String::new(),
        other => other.to_string(),
    };
    let Some(style) = Style::from_name(&name) else {
        return Err(Error::typ(Val::from(name), style::UNKNOWN));
    };
    let (Val::Arr(base), Val::Arr(steps)) = (base, path) else {
        return Err(Error::str("style: not a path"));
    };
    REQUESTS.with(|r| {
        r.borrow_mut().push(Restyle {
            path: base.iter().chain(steps.iter()).cloned().collect(),
            attr: Attr::Style(style),
        })
    });
    if !style.reads_as_string() {
        return Ok(input);
    }
    Ok(stringify_at(input, steps))
}

/// `__line_comment($base; $path; $text)`: records the line comment `$text` for the node at
/// `$base + $path` of the document and yields the input as it is.
fn line_comment(input: Val, (base, path): (&Val, &Val), text: &Val) -> ValR {
    let text = match text {
        Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
        Val::Null => String::new(),
        other => other.to_string(),
    };
    if text.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(Error::typ(
            Val::from(text),
            "a line comment: it would hold a line break",
        ));
    }
    let (Val::Arr(base), Val::Arr(steps)) = (base, path) else {
        return Err(Error::str("line_comment: not a path"));
    };
    REQUESTS.with(|r| {
        r.borrow_mut().push(Restyle {
            path: base.iter().chain(steps.iter()).cloned().collect(),
            attr: Attr::LineComment(text),
        })
    });
    Ok(input)
}

/// yq's `(X | key) = name` (`operator_keys.go`, the key node assigned): the key of X's
/// entry renamed where it stands; `at` ends with the null step that marks a key.
fn rename_key(input: Val, at: Option<Vec<Val>>, name: &Val) -> ValR {
    let (to, path) = match (name, at.as_deref()) {
        (
            Val::TStr(s) | Val::BStr(s),
            Some([parent @ .., from @ (Val::TStr(_) | Val::BStr(_)), Val::Null]),
        ) => (
            Val::from(String::from_utf8_lossy(s).into_owned()),
            (parent.to_vec(), from.clone()),
        ),
        (Val::TStr(_) | Val::BStr(_), _) => {
            return Err(Error::str("key: only a mapping's key can be set"))
        }
        (other, _) => return Err(Error::typ(other.clone(), "a key: a key is a string")),
    };
    let (parent, from) = path;
    let taken = matches!(get_at(&input, &parent), Val::Obj(o) if o.contains_key(&to) && to != from);
    if taken {
        return Err(Error::typ(
            to,
            "a new key: the mapping has that key already",
        ));
    }
    push(
        parent.clone(),
        Attr::RenameKey {
            from: as_text(&from),
            to: as_text(&to),
        },
    );
    Ok(map_at(input, &parent, &|v| match v {
        Val::Obj(o) => Val::obj(
            o.iter()
                .map(|(k, v)| (if *k == from { to.clone() } else { k.clone() }, v.clone()))
                .collect(),
        ),
        v => v,
    }))
}

/// yq's `alias = name` (`operator_anchors_aliases.go`, `assignAliasOperator`): the node
/// becomes an alias of the node anchored as `name`, so its value becomes that node's; `""`
/// (or null) does nothing, as in yq.
fn alias(input: Val, at: Option<Vec<Val>>, name: &Val) -> ValR {
    let name = as_text(name);
    if name.is_empty() {
        return Ok(input);
    }
    let Some(path) = at else {
        return Err(Error::str("alias: not a path"));
    };
    let anchored = with_index(|src, index, doc| style::anchored_path(src, index, doc, &name))?;
    let Some(anchored) = anchored else {
        return Err(Error::typ(
            Val::from(name),
            "an alias here: no node of the document is anchored so",
        ));
    };
    let value = get_at(&input, &anchored);
    push(path.clone(), Attr::Alias(name));
    Ok(map_at(input, &path, &|_| value.clone()))
}

/// yq's `tag = t` (`operator_tag.go`, `assignTagOperator`): the node is tagged `t`; `!!str`
/// makes a number, boolean or null there the string it reads as. `""` does nothing.
fn tag(input: Val, at: Option<Vec<Val>>, tag: &Val) -> ValR {
    let tag = as_text(tag);
    if tag.is_empty() {
        return Ok(input);
    }
    if tag.contains(char::is_whitespace) || !tag.starts_with('!') {
        return Err(Error::typ(
            Val::from(tag),
            "a tag: a tag starts with ! and holds no blank",
        ));
    }
    let Some(path) = at else {
        return Err(Error::str("tag: not a path"));
    };
    let stringify = tag == "!!str";
    push(path.clone(), Attr::Tag(tag));
    if stringify {
        return Ok(map_at(input, &path, &stringify_scalar));
    }
    Ok(input)
}

/// `__attr_of($doc; $base; $path; $name)`: yq's reading of a comment, anchor or alias of
/// the node at `$base + $path`: what this run set, else what the file holds
/// (`yaml::comments::read`).
fn attr_of(at: Option<Vec<Val>>, name: &str) -> ValR {
    let Some(path) = at else {
        return Err(Error::str("comment: not a path"));
    };
    let asked = REQUESTS.with(|r| {
        r.borrow().iter().rev().find_map(|r| match (&r.attr, name) {
            (Attr::HeadComment(t), "head_comment")
            | (Attr::LineComment(t), "line_comment")
            | (Attr::FootComment(t), "foot_comment")
            | (Attr::Anchor(t), "anchor")
            | (Attr::Alias(t), "alias")
            | (Attr::Tag(t), "tag")
                if r.path == path =>
            {
                Some(t.clone())
            }
            _ => None,
        })
    });
    if let Some(text) = asked {
        return Ok(Val::from(text));
    }
    let read =
        with_index(|src, index, doc| crate::yaml::comments::read(src, index, doc, &path, name))?;
    Ok(Val::from(read))
}

/// Runs `f` with the index of the file being evaluated and the document's number.
fn with_index<R>(f: impl FnOnce(&str, &Index, usize) -> R) -> Result<R, Error> {
    let doc = DOC.with(std::cell::Cell::get);
    SOURCE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(source) = s.as_mut() else {
            return Err(Error::str("the file's text is not at hand here"));
        };
        let index = match &source.index {
            Some(index) => index.clone(),
            None => {
                let made = Rc::new(
                    crate::yaml::index::index(&source.text, "", Keep::All)
                        .map_err(|e| Error::str(e.to_string()))?,
                );
                source.index = Some(made.clone());
                made
            }
        };
        Ok(f(&source.text, &index, doc))
    })
}

/// The value at `path`, null where there is none.
fn get_at(v: &Val, path: &[Val]) -> Val {
    let mut at = v;
    for step in path {
        let next = match (at, step) {
            (Val::Obj(o), k) => o.get(k),
            (Val::Arr(a), Val::Num(_)) => step
                .as_isize()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return Val::Null,
        }
    }
    at.clone()
}

/// Tells the natives which document of the file the program runs on.
pub(crate) fn set_doc(doc: usize) {
    DOC.with(|d| d.set(doc));
}

/// `__style_of($doc; $base; $path)`: the style of the node at `$base + $path` of document
/// `$doc`: the one this run asked for, else the file's.
fn style_of(doc: &Val, (base, path): (&Val, &Val)) -> ValR {
    let (Val::Arr(base), Val::Arr(steps)) = (base, path) else {
        return Err(Error::str("style: not a path"));
    };
    let path: Vec<Val> = base.iter().chain(steps.iter()).cloned().collect();
    let asked = REQUESTS.with(|r| {
        r.borrow().iter().rev().find_map(|r| match &r.attr {
            Attr::Style(s) if r.path == path => Some(*s),
            _ => None,
        })
    });
    if let Some(style) = asked {
        return Ok(Val::from(style.name().to_string()));
    }
    let doc = doc
        .as_isize()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(0);
    let name = SOURCE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(source) = s.as_mut() else {
            return Ok("");
        };
        let index = match &source.index {
            Some(index) => index.clone(),
            None => {
                let made = Rc::new(
                    crate::yaml::index::index(&source.text, "", Keep::All)
                        .map_err(|e| Error::str(e.to_string()))?,
                );
                source.index = Some(made.clone());
                made
            }
        };
        Ok(style::name_at(&index, doc, &path))
    })?;
    Ok(Val::from(name.to_string()))
}

/// A number, boolean or null as the string it reads as; anything else as it is.
fn stringify_scalar(v: Val) -> Val {
    match v {
        Val::Null => Val::from("null".to_string()),
        Val::Bool(b) => Val::from(b.to_string()),
        Val::Num(n) => Val::from(Val::Num(n).to_string()),
        v => v,
    }
}

/// The value with the scalar at `path` (when there is one) made a string.
fn stringify_at(v: Val, path: &[Val]) -> Val {
    map_at(v, path, &stringify_scalar)
}

/// The value with `f` applied to the value at `path`, when there is one.
fn map_at(v: Val, path: &[Val], f: &dyn Fn(Val) -> Val) -> Val {
    let Some((step, rest)) = path.split_first() else {
        return f(v);
    };
    match (v, step) {
        (Val::Obj(mut o), k) if o.contains_key(k) => {
            if let Some(child) = Rc::make_mut(&mut o).get_mut(k) {
                *child = map_at(core::mem::replace(child, Val::Null), rest, f);
            }
            Val::Obj(o)
        }
        (Val::Arr(mut a), Val::Num(_)) => {
            let len = a.len();
            if let Some(i) = step.as_isize().and_then(|i| {
                let i = if i < 0 {
                    i.checked_add_unsigned(len)?
                } else {
                    i
                };
                usize::try_from(i).ok().filter(|i| *i < len)
            }) {
                let m = Rc::make_mut(&mut a);
                m[i] = map_at(core::mem::replace(&mut m[i], Val::Null), rest, f);
            }
            Val::Arr(a)
        }
        (v, _) => v,
    }
}
