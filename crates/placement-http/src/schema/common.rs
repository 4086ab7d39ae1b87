//! upstream's `schemas/common.py`: the patterns other schemas share.

/// Any 36 characters of hex digits and hyphens (a provider uuid key).
pub(crate) const UUID_PATTERN: &str = "^[0-9a-fA-F-]{36}$";
/// A resource class name.
pub(crate) const RC_PATTERN: &str = "^[A-Z0-9_]+$";
/// A custom resource class name.
pub(crate) const CUSTOM_RC_PATTERN: &str = "^CUSTOM_[A-Z0-9_]+$";
/// A custom trait name.
pub(crate) const CUSTOM_TRAIT_PATTERN: &str = "^CUSTOM_[A-Z0-9_]+$";
/// A consumer type.
pub(crate) const CONSUMER_TYPE_PATTERN: &str = "^[A-Z0-9_]+$";
/// A consumer type filter of `GET /usages`: a type, `all…` or `unknown`.
pub(crate) const CONSUMER_TYPE_GET_PATTERN: &str = "^[A-Z0-9_]+$|^all|^unknown$";
/// A request group suffix up to 1.32.
pub(crate) const GROUP_PAT: &str = "[1-9][0-9]*";
/// A request group suffix from 1.33.
pub(crate) const GROUP_PAT_1_33: &str = "[a-zA-Z0-9_-]{1,64}";
