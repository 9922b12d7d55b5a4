//! The `integrations` command, built in this package so its tests can run it as a process.
fn main() -> std::process::ExitCode {
    dispatcher::cli::main()
}
