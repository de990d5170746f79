//! The verifier: reads an edited file back, event by event, and compares it with the values
//! it must hold; along a reach, what the program cannot see must digest as it did.

use std::collections::HashSet;

use jaq_json::Val;
use saphyr_parser::{Event, ScalarStyle};

use super::digest::Digester;
use super::events::Ev;
use super::load::{Key, Loader};
use super::schema::{key_text, same, scalar_is};
use crate::error::{Error, Result};
use crate::path::PathTrie;

/// The fast path's state, for values loaded along a reach: the reach, the digest of the text
/// that the placeholders stand for, and where verification may stop.
pub(crate) struct Along {
    pub(super) reach: PathTrie,
    pub(super) digest: u128,
    /// Where verification along the reach may stop (see `index::Pruned::syncs`).
    pub(super) syncs: Vec<(usize, Digester)>,
}

/// Where verification along a reach may begin instead of the start: a sync point of a
/// one-document file's root before every edit and every entry the program can change. The
/// text before it is the old text, which read as the targets' first entries when loaded;
/// `tail` is the root's target without them, `snapshot` the digest there.
pub struct Resume<'p> {
    pub at: usize,
    pub snapshot: &'p Digester,
    pub tail: jaq_json::Map,
}

/// `verify` for values loaded along `reach`: the reachable nodes are compared with the
/// targets, and what the placeholders stand for must digest as it did when loaded. With
/// `resume`, only the text from its point on is read; anything but a match there reads the
/// whole text, which then decides, so that a miss is reported as it always was.
pub(super) fn verify_reach(
    src: &str,
    file: &str,
    targets: &[Val],
    changed: &HashSet<usize>,
    along: &Along,
    sync: Option<(usize, &Digester)>,
    resume: Option<&Resume>,
) -> Result<Option<String>> {
    if let Some(r) = resume {
        if let Ok(None) = verify_tail(src, file, changed, along, sync, r) {
            return Ok(None);
        }
    }
    let mut l = Loader::pruned(src, file);
    let outcome = each_document(&mut l, targets, |l, root, target| {
        check_reach(l, root, target, changed, &along.reach, sync)
    });
    match outcome {
        Ok(()) if l.finish() != along.digest => {
            Ok(Some("(text the expression cannot reach)".into()))
        }
        Err(Stop::Synced) => Ok(None),
        other => stopped(other),
    }
}

/// The text from `r.at` on, read as the rest of the root mapping: the parser starts afresh
/// there, in the state it had (a block mapping at column 0, its start already digested).
pub(super) fn verify_tail(
    src: &str,
    file: &str,
    changed: &HashSet<usize>,
    along: &Along,
    sync: Option<(usize, &Digester)>,
    r: &Resume,
) -> Result<Option<String>> {
    let tail = src
        .get(r.at..)
        .ok_or_else(|| Error::Internal("resume point".into()))?;
    let mut l = Loader::pruned(tail, file);
    l.digest = Some(r.snapshot.clone());
    let sync = sync.and_then(|(at, d)| Some((at.checked_sub(r.at)?, d)));
    let resumed = |ev: &Event| matches!(ev, Event::StreamStart | Event::DocumentStart(_));
    let outcome = (|| {
        let mut ev = l.ev.next_event()?;
        while resumed(&ev.0) {
            ev = l.ev.next_event()?;
        }
        if !matches!(ev.0, Event::MappingStart(0, None)) {
            return Err(Stop::At(vec!["(resumed)".into()]));
        }
        check_entries(&mut l, &r.tail, changed, &along.reach, sync)?;
        loop {
            match l.ev.next_event()?.0 {
                Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(()),
                _ => return Err(Stop::At(vec!["(resumed: another document)".into()])),
            }
        }
    })();
    match outcome {
        Ok(()) if l.finish() != along.digest => {
            Ok(Some("(text the expression cannot reach)".into()))
        }
        Err(Stop::Synced) => Ok(None),
        other => stopped(other),
    }
}

/// Reads each document of the stream and checks it against its target with `check`;
/// then the number of documents.
fn each_document<'a>(
    l: &mut Loader<'a>,
    targets: &[Val],
    mut check: impl FnMut(&mut Loader<'a>, Ev<'a>, &Val) -> std::result::Result<(), Stop>,
) -> std::result::Result<(), Stop> {
    let mut docs = 0;
    loop {
        let (ev, _) = l.ev.next_event()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let root = l.ev.next_event()?;
                let Some(target) = targets.get(docs) else {
                    return Err(Stop::At(vec![format!("document {}", docs + 1)]));
                };
                docs += 1;
                check(l, root, target)?;
            }
            _ => return Err(Stop::At(vec!["(stream)".into()])),
        }
    }
    let expected = targets.len() - usize::from(docs == 0 && targets == [Val::Null]);
    if docs != expected {
        return Err(Stop::At(vec![format!(
            "document count {docs}, expected {}",
            targets.len()
        )]));
    }
    Ok(())
}

/// A verification's outcome as `verify` reports it: `None`, or the path of the first
/// difference.
fn stopped(outcome: std::result::Result<(), Stop>) -> Result<Option<String>> {
    match outcome {
        Ok(()) => Ok(None),
        Err(Stop::Yaml(e)) => Err(e),
        Err(Stop::Synced) => Err(Error::Internal("a sync point outside a reach".into())),
        Err(Stop::At(mut path)) => {
            path.reverse();
            Ok(Some(if path.is_empty() {
                ".".into()
            } else {
                path.concat()
            }))
        }
    }
}

fn check_reach<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
    reach: &PathTrie,
    sync: Option<(usize, &Digester)>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    if reach.whole {
        return check(l, ev, target, changed);
    }
    match &ev.0 {
        Event::SequenceStart(..) if reach.fits_seq() => {
            l.feed(&ev.0);
            let Val::Arr(items) = target else {
                return differs();
            };
            let mut i = 0;
            loop {
                let ev = l.ev.next_event()?;
                if let Event::SequenceEnd = ev.0 {
                    l.feed(&ev.0);
                    break;
                }
                let Some(t) = items.get(i) else {
                    return differs();
                };
                match reach.item(i) {
                    Some(r) => check_reach(l, ev, t, changed, r, None)
                        .map_err(|s| at(s, format!("[{i}]")))?,
                    None if *t == Val::Null => l.skip_child(&i.to_le_bytes(), ev, None)?,
                    None => return Err(Stop::At(vec![format!("[{i}]")])),
                }
                i += 1;
            }
            if i == items.len() {
                Ok(())
            } else {
                differs()
            }
        }
        Event::MappingStart(..) if reach.fits_map() => {
            l.feed(&ev.0);
            let Val::Obj(entries) = target else {
                return differs();
            };
            check_entries(l, entries, changed, reach, sync)
        }
        _ => check(l, ev, target, changed),
    }
}

/// The entries of a mapping along `reach`, up to and with its end, against `entries`.
fn check_entries<'a>(
    l: &mut Loader<'a>,
    entries: &jaq_json::Map,
    changed: &HashSet<usize>,
    reach: &PathTrie,
    sync: Option<(usize, &Digester)>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    let mut seen = vec![false; entries.len()];
    // The target keeps the file's order of keys (an added key comes last), so each
    // key is looked for where the previous one was found, first.
    let mut next = 0;
    loop {
        let ev = l.ev.next_event()?;
        if let Event::MappingEnd = ev.0 {
            l.feed(&ev.0);
            break;
        }
        stop_at_sync_point(l, &ev, sync)?;
        // Along a reach every key is a scalar, and none is `<<`.
        let Event::Scalar(key, style, ..) = &ev.0 else {
            return differs();
        };
        if *style == ScalarStyle::Plain && key == "<<" {
            return differs();
        }
        let Some((i, t)) = find_entry(entries, next, key) else {
            // An entry no path reaches is not in the loaded value: it must digest as it did.
            if reach.key(key).is_none() {
                let value = l.ev.next_event()?;
                l.skip_child(key.as_bytes(), value, None)?;
                continue;
            }
            return Err(Stop::At(vec![format!(".{key}")]));
        };
        next = i + 1;
        if std::mem::replace(&mut seen[i], true) {
            return Err(Stop::At(vec![format!(".{key} (twice)")]));
        }
        let value = l.ev.next_event()?;
        match reach.key(key) {
            Some(r) => {
                check_reach(l, value, t, changed, r, None).map_err(|s| at(s, format!(".{key}")))?
            }
            None if *t == Val::Null => l.skip_child(key.as_bytes(), value, None)?,
            None => return Err(Stop::At(vec![format!(".{key}")])),
        }
    }
    if seen.iter().all(|&s| s) {
        Ok(())
    } else {
        differs()
    }
}

/// Stops at the sync point past the last edit: the rest is the old text, read in the same
/// state; it is the same document if all before read the same.
fn stop_at_sync_point(
    l: &mut Loader<'_>,
    ev: &Ev<'_>,
    sync: Option<(usize, &Digester)>,
) -> std::result::Result<(), Stop> {
    let Some((at, snapshot)) = sync else {
        return Ok(());
    };
    if l.ev.byte(ev.1.start.index()) != at {
        return Ok(());
    }
    let here = l.digest.clone().map(Digester::finish);
    if here == Some(snapshot.clone().finish()) {
        Err(Stop::Synced)
    } else {
        Err(Stop::At(vec!["(text the expression cannot reach)".into()]))
    }
}

/// The target's entry for `key` and its position, looked for at `next` first.
fn find_entry<'m>(entries: &'m jaq_json::Map, next: usize, key: &str) -> Option<(usize, &'m Val)> {
    match entries.get_index(next) {
        Some((Val::TStr(k) | Val::BStr(k), t)) if k.as_ref() == key.as_bytes() => Some((next, t)),
        _ => entries
            .get_full(&Val::from(key.to_string()))
            .map(|(i, _, t)| (i, t)),
    }
}

/// Why verification stopped: the text does not parse, or a value differs at a path; or,
/// along a reach, it reached the sync point with everything before it as it must be.
enum Stop {
    Yaml(Error),
    At(Vec<String>),
    Synced,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Yaml(e)
    }
}

/// Reads `src` again and compares it, event by event, with the values it must hold. Aliases
/// of the anchors in `changed`, and keys merged from them, may differ: they follow their
/// edited anchor. No tree is built, so this costs no more memory than the anchors' values.
/// `Ok(None)` when everything matches; `Ok(Some(path))` names the first difference.
pub fn verify(
    src: &str,
    file: &str,
    targets: &[Val],
    changed: &HashSet<usize>,
) -> Result<Option<String>> {
    let mut l = Loader::new(src, file);
    stopped(each_document(&mut l, targets, |l, root, target| {
        check(l, root, target, changed)
    }))
}

fn check<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    // An edited anchor's collection is checked node by node like any other, so that aliases
    // inside it may follow other edited anchors; its aliases follow it, so the target
    // stands in for its value (a merge of it needs one).
    let edited_anchor = match &ev.0 {
        Event::SequenceStart(a, _) | Event::MappingStart(a, _) if changed.contains(a) => *a,
        _ => 0,
    };
    check_node(l, ev, target, changed)?;
    if edited_anchor != 0 {
        l.anchors.insert(edited_anchor, target.clone());
    }
    Ok(())
}

fn check_node<'a>(
    l: &mut Loader<'a>,
    ev: Ev<'a>,
    target: &Val,
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    let differs = || Err(Stop::At(Vec::new()));
    match &ev.0 {
        Event::Alias(id) => {
            let v = l.anchors.get(id);
            if v.is_some_and(|v| same(v, target)) || changed.contains(id) {
                return Ok(());
            }
            differs()
        }
        Event::Scalar(value, style, 0, None) if scalar_is(value, *style, target) => Ok(()),
        // Other scalars, and collections whose value an alias may need later, are built.
        Event::Scalar(..) | Event::SequenceStart(1.., _) | Event::MappingStart(1.., _) if !matches!(&ev.0, Event::SequenceStart(a, _) | Event::MappingStart(a, _) if changed.contains(a)) =>
        {
            let v = l.value(ev, None)?;
            if same(&v, target) {
                Ok(())
            } else {
                differs()
            }
        }
        Event::SequenceStart(..) => {
            let Val::Arr(items) = target else {
                return differs();
            };
            check_items(l, items, changed)
        }
        Event::MappingStart(..) => {
            let Val::Obj(entries) = target else {
                return differs();
            };
            check_mapping(l, entries, changed)
        }
        _ => differs(),
    }
}

/// A sequence's items, up to and with its end, against `items`.
fn check_items(
    l: &mut Loader<'_>,
    items: &[Val],
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    let mut i = 0;
    loop {
        let ev = l.ev.next_event()?;
        if let Event::SequenceEnd = ev.0 {
            break;
        }
        let Some(t) = items.get(i) else {
            return Err(Stop::At(Vec::new()));
        };
        check(l, ev, t, changed).map_err(|s| at(s, format!("[{i}]")))?;
        i += 1;
    }
    if i == items.len() {
        Ok(())
    } else {
        Err(Stop::At(Vec::new()))
    }
}

/// A mapping's entries, up to and with its end, against `entries`; keys its `<<` merges
/// bring in must hold their values too.
fn check_mapping(
    l: &mut Loader<'_>,
    entries: &jaq_json::Map,
    changed: &HashSet<usize>,
) -> std::result::Result<(), Stop> {
    // Which of the target's keys the text has, by their position in the target.
    let mut seen = vec![false; entries.len()];
    let mut merged: Vec<Val> = Vec::new();
    let mut merge_follows = false;
    loop {
        let ev = l.ev.next_event()?;
        if let Event::MappingEnd = ev.0 {
            break;
        }
        let Key { key, merge, empty } = l.key(ev)?;
        let value = l.ev.next_event()?;
        if merge {
            merge_follows |= match &value.0 {
                Event::Alias(id) => changed.contains(id),
                _ => !changed.is_empty(),
            };
            merged.push(l.value(value, None)?);
            continue;
        }
        let key_str = key_text(&key);
        let Some((i, _, t)) = entries.get_full(&key) else {
            return Err(Stop::At(vec![format!(".{key_str}")]));
        };
        if std::mem::replace(&mut seen[i], true) {
            if empty {
                // A later empty key, which the loaded value leaves out too.
                l.value(value, None)?;
                continue;
            }
            return Err(Stop::At(vec![format!(".{key_str} (twice)")]));
        }
        check(l, value, t, changed).map_err(|s| at(s, format!(".{key_str}")))?;
    }
    if merge_follows {
        return Ok(());
    }
    check_merged(merged, entries, &mut seen)?;
    if seen.iter().all(|&s| s) {
        Ok(())
    } else {
        Err(Stop::At(Vec::new()))
    }
}

/// The keys that `<<` merges bring in and the mapping does not write: each must be in the
/// target with the merged value. Marks them in `seen`.
fn check_merged(
    merged: Vec<Val>,
    entries: &jaq_json::Map,
    seen: &mut [bool],
) -> std::result::Result<(), Stop> {
    for m in merged {
        let sources = match m {
            Val::Arr(a) => a.as_ref().clone(),
            other => vec![other],
        };
        for source in sources {
            if let Val::Obj(o) = source {
                for (k, v) in o.iter() {
                    let Some((i, _, t)) = entries.get_full(k) else {
                        return Err(Stop::At(vec![format!(".{}", key_text(k))]));
                    };
                    if !std::mem::replace(&mut seen[i], true) && !same(v, t) {
                        return Err(Stop::At(vec![format!(".{}", key_text(k))]));
                    }
                }
            }
        }
    }
    Ok(())
}

fn at(stop: Stop, seg: String) -> Stop {
    match stop {
        Stop::At(mut path) => {
            path.push(seg);
            Stop::At(path)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load::load;

    fn vals(src: &str) -> Vec<Val> {
        load(src, "t").unwrap().values
    }

    #[test]
    fn verify_accepts_equal_and_names_the_first_difference() {
        let none = HashSet::new();
        let src = "a:\n  b: [1, {c: x}]\n---\nd: 2\n";
        assert_eq!(verify(src, "t", &vals(src), &none).unwrap(), None);
        let want = vals("a:\n  b: [1, {c: y}]\n---\nd: 2\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".a.b[1].c")
        );
        let want = vals("a:\n  b: [1, {c: x}]\n---\nd: 2\ne: 3\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".")
        );
        let want = vals("a:\n  b: [1, {c: x}]\n");
        assert!(
            verify(src, "t", &want, &none).unwrap().is_some(),
            "a document too many"
        );
        let want = vals("a:\n  b: [1, {c: x}, 3]\n---\nd: 2\n");
        assert_eq!(
            verify(src, "t", &want, &none).unwrap().as_deref(),
            Some(".a.b")
        );
    }

    #[test]
    fn verify_lets_aliases_follow_only_changed_anchors() {
        // The file has the new anchor value; the target still holds the old one at the alias.
        let src = "a: &x 2\nb: *x\n";
        let want = vals("a: 2\nb: 1\n");
        assert_eq!(
            verify(src, "t", &want, &HashSet::new()).unwrap().as_deref(),
            Some(".b")
        );
        assert_eq!(verify(src, "t", &want, &HashSet::from([1])).unwrap(), None);
    }

    #[test]
    fn verify_checks_merged_keys() {
        let src = "base: &b {a: 1}\nsvc:\n  <<: *b\n  c: 2\n";
        assert_eq!(verify(src, "t", &vals(src), &HashSet::new()).unwrap(), None);
        let want = vals("base: {a: 1}\nsvc: {a: 5, c: 2}\n");
        assert_eq!(
            verify(src, "t", &want, &HashSet::new()).unwrap().as_deref(),
            Some(".svc.a")
        );
    }
}
