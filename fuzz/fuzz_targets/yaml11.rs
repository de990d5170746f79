#![no_main]
#[path = "../checks.rs"]
mod checks;

// Counts the bytes in use, so that the memory budget sees them, as in the binary.
#[global_allocator]
static ALLOC: gitops_update::budget::Counting = gitops_update::budget::Counting;

libfuzzer_sys::fuzz_target!(init: checks::budgets(), |data: &[u8]| checks::yaml11(data));
