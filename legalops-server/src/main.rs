//! The `legalops` binary.

fn main() -> std::process::ExitCode {
    legalops_server::cli::main()
}
