//! `placement-status`; all logic lives in [`placement::status`].

fn main() -> std::process::ExitCode {
    placement::status::main()
}
