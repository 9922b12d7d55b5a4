//! The `integrations` command, built in this package so that the bench's own tests can run it:
//! `cargo test` builds a package's binaries for its integration tests, but not other packages'.
fn main() -> std::process::ExitCode {
    dispatcher::cli::main()
}
