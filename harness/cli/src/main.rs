//! `rdpbench`: thin entry point. Parses arguments, runs the command, maps the
//! outcome to a documented exit code (see `exit.rs` and README.md).
#![forbid(unsafe_code)]

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

mod commands;

fn main() -> std::process::ExitCode {
    let exit = commands::run();
    std::process::ExitCode::from(exit.code())
}
