//! The `shopctl` binary: a shim over the library so tests and tools reuse every command.

fn main() -> std::process::ExitCode {
    shopctl::main()
}
