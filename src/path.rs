//! Paths into a document, in one type for each idea: a `Step` from a node to a child, and a
//! `PathTrie` of paths. The expression's reach (`expr::reach`), the nodes the index keeps
//! (`yaml::index`) and the policy's allowed paths are all spelled with them.
//!
//! A reach is decided from a program's code before the file is loaded: the loader builds
//! values only along it and stands a placeholder in for everything else, which the program
//! can then never see; the verifier checks that the placeholders' text reads back unchanged.
//! The index keeps nodes along a reach, or along the paths where a document changed.

use std::collections::BTreeMap;

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    Index(usize),
    /// Every child (`.[]`, or a key computed at run time); only a reach has it.
    Any,
}

/// A trie of paths. A `whole` node stands for everything below it (a reach builds it with
/// all its children; the index keeps them all); another node stands for its kind with only
/// the children the trie names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathTrie {
    pub whole: bool,
    keys: BTreeMap<String, PathTrie>,
    items: BTreeMap<usize, PathTrie>,
    /// What every child not named reaches (a reach's `.[]`); once `settle`d, the named
    /// children hold it too.
    any: Option<Box<PathTrie>>,
}

/// The trie that holds everything.
static WHOLE: PathTrie = PathTrie {
    whole: true,
    keys: BTreeMap::new(),
    items: BTreeMap::new(),
    any: None,
};

impl PathTrie {
    /// The trie that holds everything.
    pub fn everything() -> &'static PathTrie {
        &WHOLE
    }

    /// Adds a path; its last node stands for everything below it when `whole` is set.
    pub fn insert(&mut self, path: &[Step], whole: bool) {
        let mut at = self;
        for step in path {
            if at.whole {
                return;
            }
            at = match step {
                Step::Key(k) => at.keys.entry(k.clone()).or_default(),
                Step::Index(i) => at.items.entry(*i).or_default(),
                Step::Any => at.any.get_or_insert_with(Default::default),
            };
        }
        if whole {
            *at = PathTrie {
                whole: true,
                ..PathTrie::default()
            };
        }
    }

    /// Sets the child at `key`, which must not be named yet.
    pub fn set_key(&mut self, key: String, child: PathTrie) {
        self.keys.insert(key, child);
    }

    /// Sets the child at `index`, which must not be named yet.
    pub fn set_item(&mut self, index: usize, child: PathTrie) {
        self.items.insert(index, child);
    }

    /// Makes every named child also reach what `any` reaches, so that a child's trie is
    /// one lookup. Called once, when the trie is complete.
    pub fn settle(&mut self) {
        if let Some(any) = self.any.as_deref_mut() {
            any.settle();
        }
        let any = self.any.as_deref().cloned();
        for child in self.keys.values_mut().chain(self.items.values_mut()) {
            if let Some(any) = &any {
                child.merge(any);
            }
            child.settle();
        }
    }

    fn merge(&mut self, other: &PathTrie) {
        if self.whole {
            return;
        }
        if other.whole {
            *self = other.clone();
            return;
        }
        for (k, r) in &other.keys {
            self.keys.entry(k.clone()).or_default().merge(r);
        }
        for (i, r) in &other.items {
            self.items.entry(*i).or_default().merge(r);
        }
        if let Some(a) = &other.any {
            self.any.get_or_insert_with(Default::default).merge(a);
        }
    }

    /// The trie below the child at key `k`, if any path goes there.
    pub fn key(&self, k: &str) -> Option<&PathTrie> {
        if self.whole {
            return Some(self);
        }
        self.keys.get(k).or(self.any.as_deref())
    }

    /// The trie below the child at position `i`, if any path goes there.
    pub fn item(&self, i: usize) -> Option<&PathTrie> {
        if self.whole {
            return Some(self);
        }
        self.items.get(&i).or(self.any.as_deref())
    }

    /// Whether no path goes below this node.
    pub fn is_leaf(&self) -> bool {
        !self.whole && self.keys.is_empty() && self.items.is_empty() && self.any.is_none()
    }

    /// A mapping reached by positions only (`.[0]` on a mapping), or a sequence by keys
    /// only: jq will fail on it and quote it, so it is built whole to fail the same way.
    pub fn fits_map(&self) -> bool {
        self.items.is_empty() || !self.keys.is_empty() || self.any.is_some()
    }

    pub fn fits_seq(&self) -> bool {
        self.keys.is_empty() || !self.items.is_empty() || self.any.is_some()
    }
}

/// A path as jq writes it (`.image.tag`, `.["a.b"]`, `.list[0]`), for messages.
pub fn show(path: &[Step]) -> String {
    if path.is_empty() {
        return ".".into();
    }
    path.iter()
        .map(|s| match s {
            Step::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
            {
                format!(".{k}")
            }
            Step::Key(k) => format!(".[{}]", crate::json::json_str(k)),
            Step::Index(i) => format!("[{i}]"),
            // A policy's paths and an edit's changes name keys and positions only.
            Step::Any => "[]".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn any_reaches_into_named_children_once_settled() {
        let mut r = PathTrie::default();
        r.insert(&[key("images"), Step::Index(0), key("newTag")], true);
        r.insert(&[key("images"), Step::Any, key("name")], true);
        r.settle();
        let first = r.key("images").unwrap().item(0).unwrap();
        assert!(first.key("newTag").unwrap().whole);
        assert!(first.key("name").unwrap().whole, "{first:?}");
        let other = r.key("images").unwrap().item(5).unwrap();
        assert!(other.key("name").unwrap().whole);
        assert!(other.key("newTag").is_none());
        assert!(r.key("other").is_none());
    }

    #[test]
    fn whole_swallows_what_is_below() {
        let mut r = PathTrie::default();
        r.insert(&[key("a"), key("b")], true);
        r.insert(&[key("a")], true);
        r.insert(&[key("a"), key("c")], false);
        assert_eq!(
            r.key("a").unwrap(),
            &PathTrie {
                whole: true,
                ..PathTrie::default()
            }
        );
    }
}
