//! Traits: qualitative capabilities of a resource provider (`HW_CPU_X86_AVX2`,
//! `CUSTOM_GOLD`), as upstream's `objects/trait.py` and `schemas/trait.py`
//! define them.
//!
//! Standard traits come from os-traits and are read-only; operators may add
//! and remove `CUSTOM_*` traits. This module owns the one rule that decides
//! whether a name may be created ([`CustomTraitName::parse`]) and the filter
//! `GET /traits` passes to the store ([`TraitFilter`]).

use chrono::NaiveDateTime;

use crate::resource_class::{matches_name_pattern, InvalidName};

/// The prefix every user-defined trait carries (upstream's
/// `Trait.CUSTOM_NAMESPACE`); anything else is standard and cannot be
/// deleted.
pub const CUSTOM_NAMESPACE: &str = "CUSTOM_";

/// The longest trait name `traits.name` holds (and upstream's schema allows).
pub const MAX_NAME_LENGTH: usize = 255;

/// Whether `name` is a custom trait's name: upstream decides by the prefix
/// alone, so a standard-looking name is standard even if os-traits lacks it.
pub fn is_custom(name: &str) -> bool {
    name.starts_with(CUSTOM_NAMESPACE)
}

/// A trait as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trait {
    /// The trait's name, unique.
    pub name: String,
    /// When the row was written (naive UTC); `None` on rows written by tools
    /// that left it empty.
    pub created_at: Option<NaiveDateTime>,
    /// When the row last changed; traits are never updated, so usually `None`.
    pub updated_at: Option<NaiveDateTime>,
}

impl Trait {
    /// The time `Last-Modified` reports for this trait: its update or
    /// creation time (upstream's `pick_last_modified` per object).
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}

/// A trait name in upstream's `^[A-Z0-9_]+$` (standard or custom), as
/// bodies name traits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraitName(String);

impl TraitName {
    /// Checks `name` against
    /// [`matches_name_pattern`](crate::resource_class::matches_name_pattern).
    ///
    /// # Errors
    /// [`InvalidName`] when it does not match.
    pub fn parse(name: &str) -> Result<Self, InvalidName> {
        if matches_name_pattern(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidName(name.to_owned()))
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name that may be created with `PUT /traits/{name}`: at most 255
/// characters, `CUSTOM_` followed by at least one of `A-Z`, `0-9` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomTraitName(String);

/// Why a name is not a valid custom trait name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid custom trait name")]
pub struct InvalidCustomTraitName(pub String);

impl CustomTraitName {
    /// Validates `raw` as upstream's `CUSTOM_TRAIT` JSON schema does.
    ///
    /// # Errors
    /// [`InvalidCustomTraitName`] when the name is empty, longer than 255
    /// characters, lacks the `CUSTOM_` prefix or holds another character.
    pub fn parse(raw: &str) -> Result<Self, InvalidCustomTraitName> {
        let length = raw.chars().count();
        // NOTE(upstream): the schema's pattern `^CUSTOM_[A-Z0-9_]+$` is
        // applied with Python's `re.search`, where `$` also matches before a
        // final newline, so `CUSTOM_A\n` is accepted and stored as given.
        let valid = (1..=MAX_NAME_LENGTH).contains(&length)
            && raw
                .strip_prefix(CUSTOM_NAMESPACE)
                .is_some_and(matches_name_pattern);
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidCustomTraitName(raw.to_owned()))
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CustomTraitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `GET /traits` asks for; every field set narrows the list further.
/// An empty filter lists every trait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraitFilter {
    /// `name=in:A,B`: only these names.
    pub name_in: Option<Vec<String>>,
    /// `name=startswith:P`: names matching the SQL pattern `P%` (upstream
    /// does not escape `%` and `_` in `P`, and neither do we).
    pub prefix: Option<String>,
    /// `associated=true|false`: only traits some provider has, or only
    /// traits no provider has.
    pub associated: Option<bool>,
}

impl TraitFilter {
    /// Whether nothing narrows the list.
    pub fn is_empty(&self) -> bool {
        self.name_in.is_none() && self.prefix.is_none() && self.associated.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_need_the_prefix_and_upper_case_letters_digits_or_underscores() {
        for good in ["CUSTOM_A", "CUSTOM_TRAIT_1", "CUSTOM__", "CUSTOM_0"] {
            assert!(CustomTraitName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "CUSTOM_",
            "TRAIT_X",
            "CUSTOM_ABC:1",
            "CUSTOM_abc",
            "custom_ABC",
            "CUSTOM_\u{c9}",
            "CUSTOM_A B",
            " CUSTOM_A",
        ] {
            assert!(CustomTraitName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn custom_names_may_be_255_characters_long_but_not_256() {
        let longest = format!("CUSTOM_{}", "A".repeat(248));
        assert_eq!(longest.len(), 255);
        assert!(CustomTraitName::parse(&longest).is_ok());
        assert!(CustomTraitName::parse(&format!("{longest}B")).is_err());
    }

    #[test]
    fn a_single_trailing_newline_passes_as_pythons_dollar_lets_it() {
        assert_eq!(
            CustomTraitName::parse("CUSTOM_A\n").map(|n| n.as_str().to_owned()),
            Ok("CUSTOM_A\n".to_owned())
        );
        assert!(CustomTraitName::parse("CUSTOM_A\n\n").is_err());
        assert!(CustomTraitName::parse("CUSTOM_\n").is_err());
    }

    #[test]
    fn standard_and_custom_are_told_apart_by_the_prefix() {
        assert!(is_custom("CUSTOM_X"));
        assert!(!is_custom("HW_CPU_X86_SSE"));
        assert!(!is_custom("custom_x"));
    }

    #[test]
    fn last_modified_prefers_the_update_time() {
        let created = NaiveDateTime::default();
        let updated = created + chrono::Duration::seconds(5);
        let mut t = Trait {
            name: "CUSTOM_X".into(),
            created_at: Some(created),
            updated_at: None,
        };
        assert_eq!(t.last_modified(), Some(created));
        t.updated_at = Some(updated);
        assert_eq!(t.last_modified(), Some(updated));
    }
}
