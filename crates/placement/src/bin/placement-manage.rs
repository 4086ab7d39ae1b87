//! `placement-manage`; all logic lives in [`placement::manage`].

fn main() -> std::process::ExitCode {
    placement::manage::main()
}
