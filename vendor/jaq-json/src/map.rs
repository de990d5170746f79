//! gitops-update patch: an object's entries, in insertion order.
//!
//! Upstream jaq keeps every object in an `IndexMap`: a hash table and an entry vector, each
//! an allocation of its own, even for the two keys of a `{repository, tag}` mapping. Most
//! objects of a values file are that small, and their hash tables were a fifth of a loaded
//! document's memory. Here an object of up to `SMALL` entries is one vector, searched in
//! order (a few comparisons, most of them of shared keys, equal by pointer); a larger one
//! is an `IndexMap`. Both behave alike to the last detail a program can see: insertion
//! order, an insert of a present key keeps its place, and `swap_remove` moves the last
//! entry into the gap.

use alloc::{boxed::Box, vec::Vec};
use core::fmt;
use core::hash::Hash;

type Index<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// The most entries an object keeps in a plain vector.
const SMALL: usize = 8;

/// An object's entries, in insertion order.
#[derive(Clone)]
pub struct Map<K = crate::Val, V = K>(Repr<K, V>);

#[derive(Clone)]
enum Repr<K, V> {
    Small(Vec<(K, V)>),
    Large(Box<Index<K, V>>),
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map(Repr::Small(Vec::new()))
    }
}

impl<K: Eq + Hash, V> Map<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        if n <= SMALL {
            Map(Repr::Small(Vec::with_capacity(n)))
        } else {
            Map(Repr::Large(Box::new(Index::with_capacity_and_hasher(
                n,
                Default::default(),
            ))))
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Small(v) => v.len(),
            Repr::Large(m) => m.len(),
        }
    }

    /// True if the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position of a key.
    pub fn get_index_of(&self, k: &K) -> Option<usize> {
        match &self.0 {
            Repr::Small(v) => v.iter().position(|(x, _)| x == k),
            Repr::Large(m) => m.get_index_of(k),
        }
    }

    /// The value of a key.
    pub fn get(&self, k: &K) -> Option<&V> {
        match &self.0 {
            Repr::Small(v) => v.iter().find(|(x, _)| x == k).map(|(_, v)| v),
            Repr::Large(m) => m.get(k),
        }
    }

    /// The position, the key and the value of a key.
    pub fn get_full(&self, k: &K) -> Option<(usize, &K, &V)> {
        let i = self.get_index_of(k)?;
        self.get_index(i).map(|(k, v)| (i, k, v))
    }

    /// The value of a key, to change it.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.get_full_mut(k).map(|(_, _, v)| v)
    }

    /// The position, the key and the value of a key, the value to change.
    pub fn get_full_mut(&mut self, k: &K) -> Option<(usize, &K, &mut V)> {
        let i = self.get_index_of(k)?;
        self.get_index_mut(i).map(|(k, v)| (i, k, v))
    }

    /// True if the key is present.
    pub fn contains_key(&self, k: &K) -> bool {
        self.get_index_of(k).is_some()
    }

    /// The entry at a position.
    pub fn get_index(&self, i: usize) -> Option<(&K, &V)> {
        match &self.0 {
            Repr::Small(v) => v.get(i).map(|(k, v)| (k, v)),
            Repr::Large(m) => m.get_index(i),
        }
    }

    /// The entry at a position, its value to change.
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&K, &mut V)> {
        match &mut self.0 {
            Repr::Small(v) => v.get_mut(i).map(|(k, v)| (&*k, v)),
            Repr::Large(m) => m.get_index_mut(i),
        }
    }

    /// Sets a key's value; a new key goes last. Returns the key's position and its value
    /// before, if it was present (its place and its key are kept).
    pub fn insert_full(&mut self, k: K, v: V) -> (usize, Option<V>) {
        match &mut self.0 {
            Repr::Small(entries) => {
                if let Some(i) = entries.iter().position(|(x, _)| *x == k) {
                    return (i, Some(core::mem::replace(&mut entries[i].1, v)));
                }
                if entries.len() < SMALL {
                    entries.push((k, v));
                    return (entries.len() - 1, None);
                }
                let mut m = Index::with_capacity_and_hasher(SMALL * 2, Default::default());
                m.extend(core::mem::take(entries));
                let out = m.insert_full(k, v);
                self.0 = Repr::Large(Box::new(m));
                out
            }
            Repr::Large(m) => m.insert_full(k, v),
        }
    }

    /// Sets a key's value (see `insert_full`).
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.insert_full(k, v).1
    }

    /// Removes the entry at a position, moving the last entry into its place.
    pub fn swap_remove_index(&mut self, i: usize) -> Option<(K, V)> {
        match &mut self.0 {
            Repr::Small(v) => (i < v.len()).then(|| v.swap_remove(i)),
            Repr::Large(m) => m.swap_remove_index(i),
        }
    }

    /// Removes a key, moving the last entry into its place.
    pub fn swap_remove(&mut self, k: &K) -> Option<V> {
        let i = self.get_index_of(k)?;
        self.swap_remove_index(i).map(|(_, v)| v)
    }

    /// Removes the entry at a position, keeping the order of the others.
    pub fn shift_remove_index(&mut self, i: usize) -> Option<(K, V)> {
        match &mut self.0 {
            Repr::Small(v) => (i < v.len()).then(|| v.remove(i)),
            Repr::Large(m) => m.shift_remove_index(i),
        }
    }

    /// Removes a key, keeping the order of the others.
    pub fn shift_remove(&mut self, k: &K) -> Option<V> {
        let i = self.get_index_of(k)?;
        self.shift_remove_index(i).map(|(_, v)| v)
    }

    /// Frees the room kept for more entries.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.0 {
            Repr::Small(v) => v.shrink_to_fit(),
            Repr::Large(m) => m.shrink_to_fit(),
        }
    }
}

impl<K, V> Map<K, V> {
    /// The entries, in order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(match &self.0 {
            Repr::Small(v) => Either::A(v.iter()),
            Repr::Large(m) => Either::B(m.iter()),
        })
    }

    /// The entries, in order, their values to change.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut(match &mut self.0 {
            Repr::Small(v) => Either::A(v.iter_mut()),
            Repr::Large(m) => Either::B(m.iter_mut()),
        })
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.iter().map(|(k, _)| k)
    }

    /// The values, in order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.iter().map(|(_, v)| v)
    }

    /// The values, in order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }
}

impl<K: Eq + Hash, V: PartialEq> PartialEq for Map<K, V> {
    /// Like `IndexMap`'s: the same entries, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Eq + Hash, V: Eq> Eq for Map<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Like `IndexMap`'s: the value of a key known to be present.
impl<K: Eq + Hash, V> core::ops::Index<&K> for Map<K, V> {
    type Output = V;
    fn index(&self, k: &K) -> &V {
        self.get(k).expect("the key is in the map")
    }
}

impl<K: Eq + Hash, V> FromIterator<(K, V)> for Map<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut m = Self::with_capacity(iter.size_hint().0);
        m.extend(iter);
        m
    }
}

impl<K: Eq + Hash, V> Extend<(K, V)> for Map<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        iter.into_iter().for_each(|(k, v)| {
            self.insert(k, v);
        });
    }
}

impl<K, V> IntoIterator for Map<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        IntoIter(match self.0 {
            Repr::Small(v) => Either::A(v.into_iter()),
            Repr::Large(m) => Either::B(m.into_iter()),
        })
    }
}

impl<'a, K, V> IntoIterator for &'a Map<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

enum Either<A, B> {
    A(A),
    B(B),
}

/// A map's entries, in order.
pub struct Iter<'a, K, V>(Either<core::slice::Iter<'a, (K, V)>, indexmap::map::Iter<'a, K, V>>);

// Not derived: a derive would ask for `K: Clone, V: Clone`, which references do not need.
impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter(match &self.0 {
            Either::A(i) => Either::A(i.clone()),
            Either::B(i) => Either::B(i.clone()),
        })
    }
}

/// A map's entries, in order, their values to change.
pub struct IterMut<'a, K, V>(
    Either<core::slice::IterMut<'a, (K, V)>, indexmap::map::IterMut<'a, K, V>>,
);

/// A map's entries, in order, taken from it.
pub struct IntoIter<K, V>(Either<alloc::vec::IntoIter<(K, V)>, indexmap::map::IntoIter<K, V>>);

/// The three iterators, alike: `$small` turns an item of the vector into the item of the
/// `IndexMap`'s iterator.
macro_rules! iterator {
    ($name:ident<$($l:lifetime,)? $k:ident, $v:ident>, $item:ty, $small:expr) => {
        impl<$($l,)? $k, $v> Iterator for $name<$($l,)? $k, $v> {
            type Item = $item;
            fn next(&mut self) -> Option<Self::Item> {
                match &mut self.0 {
                    Either::A(i) => i.next().map($small),
                    Either::B(i) => i.next(),
                }
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                match &self.0 {
                    Either::A(i) => i.size_hint(),
                    Either::B(i) => i.size_hint(),
                }
            }
        }
        impl<$($l,)? $k, $v> DoubleEndedIterator for $name<$($l,)? $k, $v> {
            fn next_back(&mut self) -> Option<Self::Item> {
                match &mut self.0 {
                    Either::A(i) => i.next_back().map($small),
                    Either::B(i) => i.next_back(),
                }
            }
        }
        impl<$($l,)? $k, $v> ExactSizeIterator for $name<$($l,)? $k, $v> {}
    };
}

iterator!(Iter<'a, K, V>, (&'a K, &'a V), |(k, v): &'a (K, V)| (k, v));
iterator!(IterMut<'a, K, V>, (&'a K, &'a mut V), |(k, v): &'a mut (K, V)| (&*k, v));
iterator!(IntoIter<K, V>, (K, V), |kv| kv);
