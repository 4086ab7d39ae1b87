//! Shared wiring for the binaries.
