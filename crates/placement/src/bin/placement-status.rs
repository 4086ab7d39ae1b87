//! placement-status
fn main() {}
