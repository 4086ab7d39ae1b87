//! placement-manage
fn main() {}
