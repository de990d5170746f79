use std::process::ExitCode;

fn main() -> ExitCode {
    match gitops_update::main_with_args(std::env::args_os()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
