//! The ground floor under `error` and `model`: which characters are never shown raw.

/// Characters that reorder what a reader sees (Trojan Source): never part of a name, URL
/// or sha, and shown escaped when they come from outside.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
