//! Resource providers: their external identity, what a read returns, and the
//! filters `GET /resource_providers` can ask for.
//!
//! UUIDs are accepted in every form upstream's `uuidutils.is_uuid_like`
//! accepts (upper case, braces, `urn:uuid:`, hyphens anywhere) and stored in
//! the canonical lower-case hyphenated form upstream's handler writes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::ids::{Generation, InvalidUuid};

/// The longest name a provider may have (`resource_providers.name` is
/// `VARCHAR(200)`, and upstream's schema says `maxLength: 200`).
pub const MAX_NAME_LENGTH: usize = 200;

/// A provider's external identity, canonical once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderUuid(pub uuid::Uuid);

impl ProviderUuid {
    /// A random provider UUID, as upstream generates when the client sends
    /// none.
    #[must_use]
    pub fn new_v4() -> ProviderUuid {
        ProviderUuid(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for ProviderUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for ProviderUuid {
    type Err = InvalidUuid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_uuid_like(s).map(ProviderUuid)
    }
}

/// Python's `uuid.UUID(s)` as `uuidutils.is_uuid_like` uses it: `urn:` and
/// `uuid:` removed anywhere, braces stripped from the ends, hyphens removed
/// anywhere, then exactly 32 hex digits.
///
/// # Errors
/// [`InvalidUuid`] for anything else.
pub fn parse_uuid_like(s: &str) -> Result<uuid::Uuid, InvalidUuid> {
    let hex = s.replace("urn:", "").replace("uuid:", "");
    let hex = hex.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(InvalidUuid(s.to_owned()));
    }
    uuid::Uuid::parse_str(&hex).map_err(|_| InvalidUuid(s.to_owned()))
}

/// jsonschema's own `uuid` format (used for query strings, where upstream
/// passes a default `FormatChecker`): Python's `UUID(s)` must parse and
/// positions 8, 13, 18 and 23 must be hyphens.
#[must_use]
pub fn is_jsonschema_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    parse_uuid_like(s).is_ok() && [8, 13, 18, 23].iter().all(|&i| bytes.get(i) == Some(&b'-'))
}

/// A provider as reads return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceProvider {
    /// External identity.
    pub uuid: ProviderUuid,
    /// Unique name.
    pub name: String,
    /// Bumped by inventory, allocation, trait and aggregate writes.
    pub generation: Generation,
    /// The direct parent, none for a root.
    pub parent_provider_uuid: Option<ProviderUuid>,
    /// The root of the tree (itself for a root).
    pub root_provider_uuid: ProviderUuid,
    /// Row creation time.
    pub created_at: Option<NaiveDateTime>,
    /// Last update time.
    pub updated_at: Option<NaiveDateTime>,
}

impl ResourceProvider {
    /// `updated_at`, else `created_at` (upstream's `pick_last_modified`).
    #[must_use]
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}

/// What a new provider is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProvider {
    /// The UUID to store (generated when the client sent none).
    pub uuid: ProviderUuid,
    /// The name.
    pub name: String,
    /// The parent as the client spelled it (upstream looks it up without
    /// normalising it); it must exist.
    pub parent_provider_uuid: Option<String>,
}

/// What `PUT /resource_providers/{uuid}` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUpdate {
    /// The new name.
    pub name: String,
    /// `None`: parent not mentioned; `Some(None)`: no parent;
    /// `Some(Some(p))`: parent `p`, as the client spelled it.
    pub parent_provider_uuid: Option<Option<String>>,
    /// Whether the parent may change or go (microversion 1.37).
    pub allow_reparenting: bool,
}

/// The filters of `GET /resource_providers`, already parsed; all combine
/// with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderFilter {
    /// Exact name.
    pub name: Option<String>,
    /// Exact UUID (as given; upstream compares the raw string).
    pub uuid: Option<String>,
    /// Providers in the same tree as this one.
    pub in_tree: Option<String>,
    /// Each set: member of at least one of these aggregates.
    pub member_of: Vec<BTreeSet<String>>,
    /// Member of none of these aggregates.
    pub forbidden_aggs: BTreeSet<String>,
    /// Each set: has at least one of these traits.
    pub required_traits: Vec<BTreeSet<String>>,
    /// Has none of these traits.
    pub forbidden_traits: BTreeSet<String>,
    /// Capacity for each amount, by resource class name, in request order.
    pub resources: Vec<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_parse_in_every_form_python_accepts_and_print_canonically() {
        let want = "6f1c2e9a-1d4b-4c3e-9f00-0123456789ab";
        for form in [
            "6F1C2E9A-1D4B-4C3E-9F00-0123456789AB",
            "{6f1c2e9a-1d4b-4c3e-9f00-0123456789ab}",
            "urn:uuid:6f1c2e9a-1d4b-4c3e-9f00-0123456789ab",
            "6f1c2e9a1d4b4c3e9f000123456789ab",
        ] {
            assert_eq!(form.parse::<ProviderUuid>().unwrap().to_string(), want);
        }
        assert!("not-a-uuid".parse::<ProviderUuid>().is_err());
    }

    #[test]
    fn jsonschema_uuids_need_hyphens_in_place() {
        assert!(is_jsonschema_uuid("6f1c2e9a-1d4b-4c3e-9f00-0123456789ab"));
        assert!(!is_jsonschema_uuid("6f1c2e9a1d4b4c3e9f000123456789ab"));
        assert!(!is_jsonschema_uuid("foo"));
    }
}
