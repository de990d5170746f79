//! Prints saphyr-parser's events with their raw spans, for checking the index's assumptions
//! about where nodes start and end: `cargo run --example spans -- file.yaml`.

use saphyr_parser::Parser;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: spans FILE")?;
    let src = std::fs::read_to_string(path)?;
    let chars: Vec<char> = src.chars().collect();
    for event in Parser::new_from_str(&src) {
        let (event, span) = event?;
        let (a, b) = (
            span.start.index().min(chars.len()),
            span.end.index().min(chars.len()),
        );
        let text: String = chars[a..b].iter().collect();
        println!(
            "{event:?} chars {a}..{b} L{}C{}-L{}C{} {text:?}",
            span.start.line(),
            span.start.col(),
            span.end.line(),
            span.end.col()
        );
    }
    Ok(())
}
