//! placement-api
fn main() {}
