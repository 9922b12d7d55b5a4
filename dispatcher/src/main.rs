// glibc's malloc took a quarter of the worker's CPU under load (arena locking, consolidation of
// the many short-lived buffers of HTTP calls and JSON); mimalloc's thread-local free lists don't.
// See docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dispatcher::cli::main()
}
