//! The parts of a document that a program can read or write, decided from its code before
//! the file is loaded (see `expr::reach`). The loader builds values only there and stands a
//! placeholder in for everything else, which the program can then never see; the verifier
//! checks that the placeholders' text reads back unchanged.

use std::collections::BTreeMap;

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    Index(usize),
    /// Every child (`.[]`, or a key computed at run time).
    Any,
}

/// A trie of reachable nodes. A `whole` node is built with everything below it; another
/// node is built as its kind with only the children the trie names, the others being
/// placeholders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reach {
    pub whole: bool,
    keys: BTreeMap<String, Reach>,
    items: BTreeMap<usize, Reach>,
    any: Option<Box<Reach>>,
}

impl Reach {
    /// Adds a path; its last node is built whole when `whole` is set.
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
            *at = Reach {
                whole: true,
                ..Reach::default()
            };
        }
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

    fn merge(&mut self, other: &Reach) {
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

    /// The same reach as the index's trie, which keeps nodes along it.
    pub fn to_trie(&self) -> super::index::Trie {
        use super::index::Step as S;
        let keys = self
            .keys
            .iter()
            .map(|(k, r)| (S::Key(k.clone()), r.to_trie()));
        let items = self.items.iter().map(|(i, r)| (S::Index(*i), r.to_trie()));
        super::index::Trie {
            all: self.whole,
            children: keys.chain(items).collect(),
            any: self.any.as_ref().map(|a| Box::new(a.to_trie())),
        }
    }

    pub fn key(&self, k: &str) -> Option<&Reach> {
        self.keys.get(k).or(self.any.as_deref())
    }

    pub fn item(&self, i: usize) -> Option<&Reach> {
        self.items.get(&i).or(self.any.as_deref())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn any_reaches_into_named_children_once_settled() {
        let mut r = Reach::default();
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
        let mut r = Reach::default();
        r.insert(&[key("a"), key("b")], true);
        r.insert(&[key("a")], true);
        r.insert(&[key("a"), key("c")], false);
        assert_eq!(
            r.key("a").unwrap(),
            &Reach {
                whole: true,
                ..Reach::default()
            }
        );
    }
}
