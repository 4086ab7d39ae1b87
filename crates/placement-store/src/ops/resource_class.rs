//! Resource classes: standard (read-only) and `CUSTOM_*`.
