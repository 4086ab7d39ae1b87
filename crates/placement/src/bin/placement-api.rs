//! `placement-api`; all logic lives in [`placement::api`].

/// mimalloc instead of glibc's allocator: answering a large candidates
/// request makes and frees hundreds of thousands of small strings and
/// maps, and glibc's free-list consolidation was the largest single cost
/// in profiles of it (see `bench/candidates.sh`). The other binaries are
/// short-lived tools and keep the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    placement::api::main()
}
