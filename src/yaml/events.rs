//! The parser's event stream with byte offsets, shared by the loader, the index and the
//! verifier.

use saphyr_parser::{Event, Parser, Span, StrInput};

use crate::error::{Error, Located, Result};

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

pub type Ev<'a> = (Event<'a>, Span);

/// How deep collections may nest in a file. Every stage that walks a document recurses
/// along its nesting, so the limit is checked here, where every one of them reads the
/// events, before any of them recurses: a file of 20 KB of `- - - …` is an error, not a
/// stack overflow. No configuration file nests a tenth as deep.
pub const MAX_DEPTH: usize = 1000;

pub struct Events<'a> {
    pub src: &'a str,
    pub file: &'a str,
    parser: Parser<'a, StrInput<'a>>,
    offsets: Offsets<'a>,
    depth: usize,
}

impl<'a> Events<'a> {
    pub fn new(src: &'a str, file: &'a str) -> Self {
        Events {
            src,
            file,
            parser: Parser::new_from_str(src),
            offsets: Offsets::new(src),
            depth: 0,
        }
    }

    pub fn next_event(&mut self) -> Result<Ev<'a>> {
        match self.parser.next_event() {
            Some(Ok(ev)) => {
                match ev.0 {
                    Event::SequenceStart(..) | Event::MappingStart(..) => self.depth += 1,
                    Event::SequenceEnd | Event::MappingEnd => {
                        self.depth = self.depth.saturating_sub(1)
                    }
                    _ => {}
                }
                if self.depth > MAX_DEPTH {
                    let off = self.offsets.byte(ev.1.start.index());
                    return Err(Error::YamlSyntax {
                        msg: format!(
                            "collections nest deeper than {MAX_DEPTH} levels here; gitops-update edits configuration files, which never nest this deep"
                        ),
                        at: Located::at(self.file, self.src, off),
                    });
                }
                Ok(ev)
            }
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

    /// The byte offset of a parser position.
    pub fn byte(&mut self, char_index: usize) -> usize {
        self.offsets.byte(char_index)
    }

    /// Byte offsets of a span's start and end.
    pub fn bytes(&mut self, span: &Span) -> (usize, usize) {
        (self.byte(span.start.index()), self.byte(span.end.index()))
    }
}
