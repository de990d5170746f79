//! The physical floor for an edit, for `scripts/bench-edit.sh`: read the file and drain
//! saphyr-parser's events once, building nothing. Every edit must parse its input at least
//! once with this parser, so an edit's time is reported as a multiple of this.
//!
//! `cargo build --release --example parse-floor && target/release/examples/parse-floor FILE`

use saphyr_parser::Parser;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: parse-floor FILE")?;
    let src = std::fs::read_to_string(path)?;
    let mut events = 0u64;
    for event in Parser::new_from_str(&src) {
        event?;
        events += 1;
    }
    // Printed so that the loop cannot be optimised away.
    println!("{events}");
    Ok(())
}
