//! Byte-level helpers over the file's text: columns, lines, and where the parser's spans
//! leave off (a quoted scalar's closing quote, a block scalar's header, a flow collection's
//! bracket, a sequence item's dash). They know the text, not the node model: the index, the
//! loader and the splice all stand on them.

use saphyr_parser::ScalarStyle;

/// A byte column; a byte order mark at the start of the file takes none.
pub(super) fn col(src: &str, pos: usize) -> usize {
    let start = match src[..pos].rfind('\n') {
        Some(n) => n + 1,
        None if src.starts_with('\u{feff}') && pos >= 3 => 3,
        None => 0,
    };
    pos - start
}

pub(super) fn line_start(src: &str, pos: usize) -> usize {
    src[..pos].rfind('\n').map_or(0, |n| n + 1)
}

/// Just past the line break of the line that holds `pos`, or the end of the text.
pub(super) fn after_line(src: &str, pos: usize) -> usize {
    src[pos..].find('\n').map_or(src.len(), |n| pos + n + 1)
}

/// Just past the bracket that closes the flow collection starting at or after `start` (after
/// its anchor or tag). The parser's span runs on over trailing spaces and a comment, which a
/// replacement must keep. Quotes and comments inside are skipped; `None` when unbalanced.
pub(super) fn flow_close(src: &str, start: usize, end: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = start + src[start..end].find(['{', '['])?;
    let mut depth = 0usize;
    while i < end {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1;
                while i < end && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' => {
                i += 1;
                while i < end && !(b[i] == b'\'' && b.get(i + 1) != Some(&b'\'')) {
                    i += if b[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                while i < end && b[i] != b'\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where an entry starts: at its key, or at the `?` of an explicit key (`? [a]`), whose
/// node starts after the indicator.
pub(super) fn entry_start(src: &str, key: usize) -> usize {
    let before = src[..key].trim_end_matches([' ', '\t', '\n', '\r']);
    match before.strip_suffix('?') {
        Some(lead) if lead.is_empty() || lead.ends_with([' ', '\t', '\n', '-', '{', '[', ',']) => {
            before.len() - 1
        }
        _ => key,
    }
}

/// The column where a block mapping's keys stand.
pub(super) fn key_col(src: &str, key: usize) -> usize {
    col(src, entry_start(src, key))
}

/// The comments between `from` (after a key's colon or an item's dash) and a value that
/// begins on a later line (`key: # why`, or comment lines above the value): the range to
/// keep when the value is replaced.
pub(super) fn trailing_comment(
    src: &str,
    from: usize,
    node_start: usize,
) -> Option<std::ops::Range<usize>> {
    let gap = src.get(from..node_start)?;
    let last_nl = gap.rfind('\n')?;
    let keep = gap[..last_nl].strip_suffix('\r').unwrap_or(&gap[..last_nl]);
    let only_comments = keep.split('\n').all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    });
    (only_comments && keep.contains('#')).then(|| from..from + keep.len())
}

/// `pos`, or past the blanks after it when only the line's end follows them.
pub(super) fn past_line_end_blanks(src: &str, pos: usize) -> usize {
    let rest = &src[pos..];
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    match rest.as_bytes().get(blanks) {
        None | Some(b'\n' | b'\r') => pos + blanks,
        _ => pos,
    }
}

/// The line of `body`, counted from the line the parser gave for `start`.
pub(super) fn line_of(src: &str, body: usize, start_line: usize, start: usize) -> usize {
    if body > start && body <= src.len() {
        start_line + src[start..body].matches('\n').count()
    } else {
        start_line
    }
}

pub(super) fn display_tag(t: &saphyr_parser::Tag) -> String {
    // saphyr-parser reads the non-specific tag `!` as an empty handle with the suffix `!`,
    // which its Display would show as `!!`, a different tag.
    if t.handle.is_empty() && t.suffix == "!" {
        return "!".into();
    }
    if t.handle == "tag:yaml.org,2002:" {
        format!("!!{}", t.suffix)
    } else {
        t.to_string()
    }
}

/// The `|` or `>` header of a block scalar whose body starts at `body`: the last token on the
/// line before it that starts with one of those, ignoring a comment.
pub(super) fn find_block_header(src: &str, body: usize) -> Option<usize> {
    let before = &src[..body];
    // The body starts at a line's first content; the header ends the last line before it
    // that is not blank (leading blank lines belong to the scalar; an empty scalar's span
    // is at the next token, after any blank lines).
    let mut line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let (prev_start, line) = loop {
        let prev = &src[..line_start.checked_sub(1)?];
        let prev_start = prev.rfind('\n').map_or(0, |n| n + 1);
        let line = &src[prev_start..line_start - 1];
        if !line.trim().is_empty() {
            break (prev_start, line);
        }
        line_start = prev_start;
    };
    let mut found = None;
    let mut pos = 0;
    for tok in line.split([' ', '\t']) {
        if tok.starts_with('#') {
            break;
        }
        if tok.starts_with('|') || tok.starts_with('>') {
            found = Some(prev_start + pos);
        }
        pos += tok.len() + 1;
    }
    found
}

/// End of a block scalar's last line that has content (trailing blank lines excluded).
pub(super) fn block_content_end(src: &str, header: usize, span_end: usize) -> usize {
    let text = &src[header..span_end.max(header)];
    let body = text.find('\n').map_or(text.len(), |n| n + 1);
    // A line of spaces only is a trailing blank when it is no longer than the content's
    // indentation; longer, its extra spaces are content, as is a tab (`|\n  \t`). The
    // indentation is the first content line's (exact when auto-detected). With no content
    // line at all, every line that holds a space is taken in.
    let indent = text[body..]
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.trim_start_matches(' ').chars().any(|c| c != ' '))
        .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
    let mut end = text.len();
    loop {
        let line_start = text[..end].rfind('\n').map_or(0, |n| n + 1);
        let line = text[line_start..end].trim_end_matches('\r');
        let blank = line.bytes().all(|b| b == b' ') && line.len() <= indent;
        if !blank || line_start == 0 {
            return header + end;
        }
        end = line_start - 1;
        if text[..end].ends_with('\r') {
            end -= 1;
        }
    }
}

/// One past a quoted scalar's closing quote.
pub(super) fn quoted_end(src: &str, body: usize, style: ScalarStyle) -> usize {
    let b = src.as_bytes();
    let mut i = body + 1;
    while i < b.len() {
        match (style, b[i]) {
            (ScalarStyle::DoubleQuoted, b'\\') => i += 2,
            (ScalarStyle::DoubleQuoted, b'"') => return i + 1,
            (ScalarStyle::SingleQuoted, b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
            (ScalarStyle::SingleQuoted, b'\'') => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The `?` of an explicit key whose node starts at `key`.
pub(super) fn question_mark(src: &str, key: usize) -> Option<usize> {
    let before = src[..key].trim_end_matches([' ', '\t', '\n', '\r']);
    before.strip_suffix('?').map(|_| before.len() - 1)
}

/// The `:` that follows a key ending at `from`, when only spaces stand between them.
pub(super) fn colon_after(src: &str, from: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = from;
    // Line breaks too: an explicit key's `:` is on the next line (`? a\n: b`); and comment
    // lines, which a flow mapping's key may have before its `:` (found by fuzzing).
    loop {
        match b.get(i)? {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' if i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                i = src[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b':' => return Some(i),
            _ => return None,
        }
    }
}

/// The `-` of the block sequence item whose node the parser put at `at`: the last `- `
/// before `at`, with only blanks, comments and line breaks between (an empty item's node
/// lies at the next token, which may be past a comment: `- # none yet`). `at` itself when
/// there is none.
pub(super) fn find_dash(src: &str, at: usize) -> usize {
    let mut end = at;
    loop {
        let line_start = src[..end].rfind('\n').map_or(0, |n| n + 1);
        // A BOM starts the first line as the line's start does, not as a character before
        // the dash (found by fuzzing: `\u{feff}-` put the item past the end of the text).
        let line_start = if line_start == 0 && src.starts_with('\u{feff}') && end >= 3 {
            3
        } else {
            line_start
        };
        let mut seg = &src[line_start..end];
        let b = seg.as_bytes();
        if let Some(h) = (0..b.len())
            .find(|&i| b[i] == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t'))
        {
            seg = &seg[..h];
        }
        let t = seg.trim_end();
        let tb = t.as_bytes();
        if t.ends_with('-') && (tb.len() == 1 || matches!(tb[tb.len() - 2], b' ' | b'\t')) {
            return line_start + t.len() - 1;
        }
        if !t.trim().is_empty() || line_start == 0 {
            return at;
        }
        end = line_start - 1;
    }
}

/// The first byte of a node's value after its anchor (`&a`) and tag (`!t`, `!!str`).
pub(super) fn skip_props(src: &str, start: usize, limit: usize) -> usize {
    let b = src.as_bytes();
    let mut i = start;
    while i < limit && matches!(b.get(i), Some(b'&' | b'!')) {
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            // A comment after the properties (`key: &x # why`): the content is below it.
            if b.get(i) != Some(&b'#') {
                break;
            }
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        }
    }
    i.min(limit.max(start))
}

/// Whether a collection whose event span starts at `start` is a flow collection.
pub(super) fn is_flow(src: &str, start: usize, span_end: usize) -> bool {
    let body = skip_props(src, start, span_end.max(start + 1));
    matches!(src.as_bytes().get(body), Some(b'[' | b'{'))
}
