//! Traits: standard (read-only) and `CUSTOM_*`.
