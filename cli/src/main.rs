//! The `shopctl` binary: a shim over the library so tests and tools reuse every command.

/// mimalloc instead of the system allocator: every request allocates (headers, bodies, futures)
/// across threads, and glibc's allocator costs the services measurable throughput under load
/// (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shopctl::main()
}
