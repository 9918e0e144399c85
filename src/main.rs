//! The `fstop` binary: parse, run, map errors to exit codes (see `fstop --help`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run(std::env::args_os().collect()) {
        Ok(exit) => ExitCode::from(exit.code().clamp(0, 255) as u8),
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::error_message(&e));
            ExitCode::from(cli::Exit::Usage.code() as u8)
        }
    }
}
