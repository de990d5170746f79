//! The index: every node of every document with its byte span, style and properties.
//!
//! saphyr-parser reports positions in characters and its spans have quirks (a quoted
//! scalar's span runs over trailing spaces and a comment; a block scalar's span starts at its
//! body, after the header; block collections end at the next token). Here those are turned
//! into byte offsets that mean exactly what the splice needs: where a node's text starts,
//! where its value starts after any anchor or tag, and where its content ends.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::error::{Error, Located, Result};

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// First byte of the node, including an anchor or tag.
    pub start: usize,
    /// First byte of the value itself: after properties; a block scalar's `|`/`>` header;
    /// a block sequence's first `-`; a block mapping's first key.
    pub body: usize,
    /// One past the last byte of content: a quoted scalar's closing quote, a block scalar's
    /// last non-blank line (before its line break), a flow collection's bracket, a block
    /// collection's last child.
    pub end: usize,
    /// 1-based line of `body`, for messages.
    pub line: usize,
    pub anchor: usize,
    pub tag: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
        /// Where the parser's span ends: for block scalars it includes trailing blank lines,
        /// which belong to the value under the `+` chomping indicator.
        raw_end: usize,
    },
    Seq {
        flow: bool,
        items: Vec<Item>,
    },
    Map {
        flow: bool,
        entries: Vec<Entry>,
    },
    Alias(usize),
}

#[derive(Debug, Clone)]
pub struct Item {
    /// The `-` of a block sequence item; the node's start in a flow sequence.
    pub dash: usize,
    pub node: Node,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

#[derive(Debug, Clone)]
pub struct Doc {
    /// `None` for a stream with no document at all (an empty file, or only comments).
    pub root: Option<Node>,
}

#[derive(Debug)]
pub struct Index {
    pub docs: Vec<Doc>,
}

impl Node {
    pub fn is_flow(&self) -> bool {
        match &self.kind {
            Kind::Seq { flow, .. } | Kind::Map { flow, .. } => *flow,
            _ => false,
        }
    }
}

/// Converts the parser's character indices into byte offsets. Positions arrive nearly in
/// order, so a cursor that walks from the last answer costs O(distance), and a file that is
/// all ASCII needs no walking at all.
struct Offsets<'a> {
    src: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(src: &'a str) -> Self {
        Offsets {
            src,
            ascii: src.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.src.len());
        }
        while self.chars < char_index && self.bytes < self.src.len() {
            let c = self.src[self.bytes..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            self.bytes += c;
            self.chars += 1;
        }
        while self.chars > char_index && self.bytes > 0 {
            self.bytes -= 1;
            while !self.src.is_char_boundary(self.bytes) {
                self.bytes -= 1;
            }
            self.chars -= 1;
        }
        self.bytes
    }
}

struct Builder<'a> {
    src: &'a str,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    offsets: Offsets<'a>,
    file: &'a str,
}

type Ev<'a> = (Event<'a>, Span);

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Ev<'a>> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => {
                let off = self.offsets.byte(e.marker().index());
                Err(Error::YamlSyntax {
                    msg: e.info().to_string(),
                    at: Located::at(self.file, self.src, off),
                })
            }
            None => Err(Error::Internal("the YAML parser ended early".into())),
        }
    }

    fn node(&mut self, ev: Ev<'a>) -> Result<Node> {
        let (event, span) = ev;
        let start = self.offsets.byte(span.start.index());
        let span_end = self.offsets.byte(span.end.index());
        let line = span.start.line();
        let src = self.src;
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                let props_end = skip_props(src, start, span_end);
                let (body, end) = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        // With properties the span starts at them and covers the header;
                        // without, it starts at the body and the header is on the line above.
                        let header = if props_end > start || tag.is_some() || anchor != 0 {
                            props_end
                        } else {
                            find_block_header(src, start).unwrap_or(start)
                        };
                        (header, block_content_end(src, header, span_end))
                    }
                    ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
                        (props_end, quoted_end(src, props_end, style))
                    }
                    _ => (props_end, span_end.max(props_end)),
                };
                Ok(Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                        raw_end: span_end.max(end),
                    },
                    // Without properties a block scalar's span starts after its header.
                    start: start.min(body),
                    body,
                    end,
                    line: line_of(src, body, line, start),
                    anchor,
                    tag,
                })
            }
            Event::Alias(id) => Ok(Node {
                kind: Kind::Alias(id),
                start,
                body: start,
                end: span_end,
                line,
                anchor: 0,
                tag: None,
            }),
            Event::SequenceStart(anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                let props_end = skip_props(src, start, span_end);
                let flow = src.as_bytes().get(props_end) == Some(&b'[');
                let mut items = Vec::new();
                let end = loop {
                    let ev = self.next()?;
                    if let Event::SequenceEnd = ev.0 {
                        let e = self.offsets.byte(ev.1.end.index());
                        break if flow {
                            e
                        } else {
                            items.last().map_or(e, |i: &Item| i.node.end)
                        };
                    }
                    let node = self.node(ev)?;
                    let dash = if flow {
                        node.start
                    } else {
                        find_dash(src, node.start)
                    };
                    items.push(Item { dash, node });
                };
                let body = if flow {
                    props_end
                } else {
                    items.first().map_or(props_end, |i| i.dash)
                };
                Ok(Node {
                    line: line_of(src, body, line, start),
                    kind: Kind::Seq { flow, items },
                    start: start.min(body),
                    body,
                    end,
                    anchor,
                    tag,
                })
            }
            Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|t| display_tag(&t));
                let props_end = skip_props(src, start, span_end);
                let flow = src.as_bytes().get(props_end) == Some(&b'{');
                let mut entries: Vec<Entry> = Vec::new();
                let end = loop {
                    let ev = self.next()?;
                    if let Event::MappingEnd = ev.0 {
                        let e = self.offsets.byte(ev.1.end.index());
                        break if flow {
                            e
                        } else {
                            entries.last().map_or(e, |en| en.value.end.max(en.key.end))
                        };
                    }
                    let key = self.node(ev)?;
                    let next = self.next()?;
                    let mut value = self.node(next)?;
                    if value.start == value.end && value.end <= key.end {
                        // `key:` with no value: the parser puts the empty scalar before the
                        // colon; a value written there would land inside the key.
                        if let Some(colon) = colon_after(src, key.end) {
                            (value.start, value.body, value.end) =
                                (colon + 1, colon + 1, colon + 1);
                        }
                    }
                    entries.push(Entry { key, value });
                };
                let body = if flow {
                    props_end
                } else {
                    entries.first().map_or(props_end, |e| e.key.start)
                };
                Ok(Node {
                    line: line_of(src, body, line, start),
                    kind: Kind::Map { flow, entries },
                    start: start.min(body),
                    body,
                    end,
                    anchor,
                    tag,
                })
            }
            other => Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
        }
    }
}

/// The line of `body`, counted from the line the parser gave for `start`.
fn line_of(src: &str, body: usize, start_line: usize, start: usize) -> usize {
    if body > start && body <= src.len() {
        start_line + src[start..body].matches('\n').count()
    } else {
        start_line
    }
}

fn display_tag(t: &saphyr_parser::Tag) -> String {
    if t.handle == "tag:yaml.org,2002:" {
        format!("!!{}", t.suffix)
    } else {
        t.to_string()
    }
}

/// Skips an anchor (`&a`) and a tag (`!t`, `!!str`, `!<...>`) and the space after them.
fn skip_props(src: &str, start: usize, limit: usize) -> usize {
    let b = src.as_bytes();
    let mut i = start;
    while i < limit && matches!(b.get(i), Some(b'&' | b'!')) {
        while i < b.len() && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
    }
    i.min(limit.max(start))
}

/// The `|` or `>` header of a block scalar whose body starts at `body`: the last token on the
/// line before it that starts with one of those, ignoring a comment.
fn find_block_header(src: &str, body: usize) -> Option<usize> {
    let before = &src[..body];
    // The body starts at a line's first content; the header ends the previous line.
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let prev = &src[..line_start.checked_sub(1)?];
    let prev_start = prev.rfind('\n').map_or(0, |n| n + 1);
    let line = &src[prev_start..line_start - 1];
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
fn block_content_end(src: &str, header: usize, span_end: usize) -> usize {
    let text = &src[header..span_end.max(header)];
    let mut end = text.len();
    loop {
        let line_start = text[..end].rfind('\n').map_or(0, |n| n + 1);
        let line = &text[line_start..end];
        if !line.trim().is_empty() || line_start == 0 {
            return header + end;
        }
        end = line_start - 1;
        if text[..end].ends_with('\r') {
            end -= 1;
        }
    }
}

/// One past a quoted scalar's closing quote.
fn quoted_end(src: &str, body: usize, style: ScalarStyle) -> usize {
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

/// The `:` that follows a key ending at `from`, when only spaces stand between them.
fn colon_after(src: &str, from: usize) -> Option<usize> {
    let rest = &src[from..];
    let i = rest.find(|c: char| c != ' ' && c != '\t')?;
    (rest.as_bytes()[i] == b':').then_some(from + i)
}

/// The `-` before a block sequence item that starts at `at`.
fn find_dash(src: &str, at: usize) -> usize {
    let b = src.as_bytes();
    let mut i = at;
    while i > 0 {
        i -= 1;
        match b[i] {
            b'-' => return i,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => break,
        }
    }
    at
}

/// Parses every document of `src` into an index. `file` names the source in messages.
pub fn index(src: &str, file: &str) -> Result<Index> {
    let mut b = Builder {
        src,
        parser: Parser::new_from_str(src),
        offsets: Offsets::new(src),
        file,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, _) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let ev = b.next()?;
                let root = b.node(ev)?;
                docs.push(Doc { root: Some(root) });
            }
            other => return Err(Error::Internal(format!("unexpected YAML event {other:?}"))),
        }
    }
    if docs.is_empty() {
        docs.push(Doc { root: None });
    }
    Ok(Index { docs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(src: &str) -> Node {
        index(src, "t").unwrap().docs.remove(0).root.unwrap()
    }

    fn entries(n: &Node) -> &[Entry] {
        match &n.kind {
            Kind::Map { entries, .. } => entries,
            _ => panic!("not a map"),
        }
    }

    fn text<'a>(src: &'a str, n: &Node) -> &'a str {
        &src[n.body..n.end]
    }

    #[test]
    fn quoted_span_stops_at_closing_quote() {
        let src = "a: \"x\\\"y\"   # c\nb: 'it''s' # d\n";
        let r = root(src);
        assert_eq!(text(src, &entries(&r)[0].value), "\"x\\\"y\"");
        assert_eq!(text(src, &entries(&r)[1].value), "'it''s'");
    }

    #[test]
    fn anchor_and_tag_are_props_not_body() {
        let src = "a: &x 1\nb: !!str 2\nc: &y !t v\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].value), "1");
        assert_eq!(&src[e[0].value.start..e[0].value.end], "&x 1");
        assert_eq!(text(src, &e[1].value), "2");
        assert_eq!(e[1].value.tag.as_deref(), Some("!!str"));
        assert_eq!(text(src, &e[2].value), "v");
    }

    #[test]
    fn block_scalar_body_includes_header_not_trailing_blanks() {
        let src = "a: |-  # c\n  x\n  y\n\n\nb: &q >\n  z\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].value), "|-  # c\n  x\n  y");
        assert_eq!(text(src, &e[1].value), ">\n  z");
    }

    #[test]
    fn block_collection_ends_at_last_child() {
        let src = "a:\n  - 1\n  - 2\n# foot\nb: 1\n";
        let r = root(src);
        let seq = &entries(&r)[0].value;
        assert_eq!(&src[seq.body..seq.end], "- 1\n  - 2");
    }

    #[test]
    fn non_ascii_offsets_are_bytes() {
        let src = "\u{feff}ключ: \"значение\"\nb: ü\n";
        let r = root(src);
        let e = entries(&r);
        assert_eq!(text(src, &e[0].key), "ключ");
        assert_eq!(text(src, &e[0].value), "\"значение\"");
        assert_eq!(text(src, &e[1].value), "ü");
    }

    #[test]
    fn empty_stream_has_one_empty_doc() {
        let idx = index("# just a comment\n", "t").unwrap();
        assert_eq!(idx.docs.len(), 1);
        assert!(idx.docs[0].root.is_none());
    }

    #[test]
    fn syntax_error_has_location() {
        let err = index("a: 1\nb: [1, 2\n", "v.yaml").unwrap_err();
        let Error::YamlSyntax { at, .. } = err else {
            panic!()
        };
        assert_eq!(at.source, "v.yaml");
        assert!(at.line >= 2);
    }
}
