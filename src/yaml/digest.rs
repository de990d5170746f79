//! The digest of what a load along a reach leaves out: the loader, the index and the
//! verifier feed it the same events, so that text the program cannot see must read back as
//! it was.

use saphyr_parser::{Event, ScalarStyle};

use super::text::display_tag;
use crate::error::Error;

/// Why a load or check along a reach gave up: the caller loads the whole document instead,
/// which reports any real error exactly as before.
pub(super) fn outside_reach() -> Error {
    Error::Internal("outside the reach".into())
}

/// A 128-bit digest of events, from two differently seeded foldhash streams. It guards
/// against a splice mistake, not an adversary: the text it digests is the file's own, and
/// a mistake it missed would have to collide in both halves. SHA-256 cost a tenth of a
/// 20 MB edit; this costs a fiftieth.
#[derive(Clone)]
pub struct Digester {
    a: foldhash::fast::FoldHasher,
    b: foldhash::fast::FoldHasher,
}

impl Digester {
    pub(super) fn new() -> Self {
        use std::hash::BuildHasher;
        let seeded = |s| foldhash::fast::FixedState::with_seed(s).build_hasher();
        Digester {
            a: seeded(0x243f_6a88_85a3_08d3),
            b: seeded(0x1319_8a2e_0370_7344),
        }
    }

    fn update(&mut self, bytes: impl AsRef<[u8]>) {
        use std::hash::Hasher;
        let bytes = bytes.as_ref();
        self.a.write(bytes);
        self.b.write(bytes);
    }

    pub(super) fn finish(self) -> u128 {
        use std::hash::Hasher;
        (u128::from(self.a.finish()) << 64) | u128::from(self.b.finish())
    }
}

/// The place of a skipped node in its collection (a key, an index), digested before it.
pub(super) fn feed_label(h: &mut Digester, place: &[u8]) {
    h.update([0xff]);
    h.update((place.len() as u64).to_le_bytes());
    h.update(place);
}

/// Digests an event as a reader sees it: kind, text, style and tag. Anchors count only as
/// present: with no aliases their names change no value.
pub(super) fn feed(h: &mut Digester, event: &Event) {
    let tag = |h: &mut Digester, t: &Option<std::borrow::Cow<saphyr_parser::Tag>>| {
        let t = t.as_ref().map(|t| display_tag(t)).unwrap_or_default();
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    };
    match event {
        Event::Scalar(v, style, anchor, t) => {
            let style = match style {
                ScalarStyle::Plain => 0,
                ScalarStyle::SingleQuoted => 1,
                ScalarStyle::DoubleQuoted => 2,
                ScalarStyle::Literal => 3,
                ScalarStyle::Folded => 4,
            };
            h.update([1, style, u8::from(*anchor != 0)]);
            tag(h, t);
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        Event::SequenceStart(anchor, t) => {
            h.update([2, u8::from(*anchor != 0)]);
            tag(h, t);
        }
        Event::SequenceEnd => h.update([3]),
        Event::MappingStart(anchor, t) => {
            h.update([4, u8::from(*anchor != 0)]);
            tag(h, t);
        }
        Event::MappingEnd => h.update([5]),
        _ => h.update([6]),
    }
}
