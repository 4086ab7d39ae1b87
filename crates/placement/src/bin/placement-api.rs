//! `placement-api`; all logic lives in [`placement::api`].

fn main() -> std::process::ExitCode {
    placement::api::main()
}
