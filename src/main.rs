use std::process::ExitCode;

/// Counts the bytes in use, for the expression's memory budget.
#[global_allocator]
static ALLOC: gitops_update::budget::Counting = gitops_update::budget::Counting;

fn main() -> ExitCode {
    // First, before any thread starts: they all inherit the blocked signals.
    gitops_update::cleanup::on_signals();
    gitops_update::stack::install();
    let work = std::thread::Builder::new()
        .name("work".into())
        .stack_size(gitops_update::stack::SIZE)
        .spawn(|| {
            gitops_update::stack::guard_this_thread();
            gitops_update::main_with_args(std::env::args_os())
        });
    let result = match work.map(|w| w.join()) {
        Ok(Ok(result)) => result,
        // A panic has printed its message; a thread that cannot start is the machine's.
        Ok(Err(_)) => return ExitCode::from(gitops_update::error::exit::UNEXPECTED),
        Err(e) => Err(gitops_update::Error::Internal(format!(
            "cannot start the work thread: {e}"
        ))),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            gitops_update::report::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
