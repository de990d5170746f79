use std::process::ExitCode;

/// Counts the bytes in use, for the expression's memory budget.
#[global_allocator]
static ALLOC: gitops_update::budget::Counting = gitops_update::budget::Counting;

fn main() -> ExitCode {
    // First, before any thread starts: they all inherit the blocked signals.
    gitops_update::cleanup::on_signals();
    match gitops_update::main_with_args(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            gitops_update::report::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
