//! Resource classes: the kinds of resource inventories and allocations count.
//!
//! Standard classes (`VCPU`, `MEMORY_MB`, …) come from `os-resource-classes`
//! with fixed ids below [`MIN_CUSTOM_ID`]; operators add `CUSTOM_*` classes,
//! which get ids from [`MIN_CUSTOM_ID`] up. The id range, not the name, is
//! what makes a class read-only, exactly as upstream decides it.

use std::fmt;

use chrono::NaiveDateTime;

use crate::ids::ResourceClassId;

/// The smallest id a custom class can have (upstream's
/// `ResourceClass.MIN_CUSTOM_RESOURCE_CLASS_ID`); every id below it is a
/// standard class and can be neither renamed nor deleted.
pub const MIN_CUSTOM_ID: i64 = 10_000;

/// The prefix every class an operator creates must carry.
pub const CUSTOM_PREFIX: &str = "CUSTOM_";

/// The longest name the `resource_classes.name` column (and upstream's JSON
/// schema) accepts.
pub const MAX_NAME_LENGTH: usize = 255;

/// A name that may be given to a new custom class: it matches upstream's
/// schema pattern `^CUSTOM_[A-Z0-9_]+$` and is at most 255 characters long.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomClassName(String);

/// Why a string is not a [`CustomClassName`], in the order upstream's schema
/// checks (pattern first, then length).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCustomClassName {
    /// Not `CUSTOM_` followed by one or more of `A-Z`, `0-9`, `_`.
    #[error("{0:?} does not match ^CUSTOM_[A-Z0-9_]+$")]
    Pattern(String),
    /// More than [`MAX_NAME_LENGTH`] characters.
    #[error("{0:?} is longer than 255 characters")]
    TooLong(String),
}

impl CustomClassName {
    /// Checks `name` against upstream's `CUSTOM_RC_PATTERN` and `maxLength`.
    ///
    /// # Errors
    /// [`InvalidCustomClassName`] naming the first rule broken.
    pub fn parse(name: &str) -> Result<Self, InvalidCustomClassName> {
        if !matches_custom_pattern(name) {
            return Err(InvalidCustomClassName::Pattern(name.to_owned()));
        }
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(InvalidCustomClassName::TooLong(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` matches `^CUSTOM_[A-Z0-9_]+$`. Python's `$` also matches
/// before one trailing newline, so `"CUSTOM_A\n"` passes upstream's schema
/// too; we accept it the same way.
pub fn matches_custom_pattern(name: &str) -> bool {
    name.strip_prefix(CUSTOM_PREFIX)
        .is_some_and(matches_name_pattern)
}

/// Whether `name` matches upstream's `^[A-Z0-9_]+$` (`common.RC_PATTERN`,
/// which is also its trait and consumer-type pattern) as Python's
/// `re.search` applies it: `$` also matches before one final newline. The
/// one copy of this rule.
pub fn matches_name_pattern(name: &str) -> bool {
    let body = name.strip_suffix('\n').unwrap_or(name);
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// A resource-class name in upstream's `RC_PATTERN` (standard or custom),
/// as bodies name classes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceClassName(String);

/// Why a string is not a [`ResourceClassName`] or a
/// [`crate::traits::TraitName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} does not match ^[A-Z0-9_]+$")]
pub struct InvalidName(pub String);

impl ResourceClassName {
    /// Checks `name` against [`matches_name_pattern`].
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

impl fmt::Display for ResourceClassName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored resource class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceClass {
    /// Its id: the position in `os-resource-classes` for standard classes,
    /// [`MIN_CUSTOM_ID`] or more for custom ones.
    pub id: ResourceClassId,
    /// Its name.
    pub name: String,
    /// When the row was created (naive UTC).
    pub created_at: Option<NaiveDateTime>,
    /// When the row was last renamed (naive UTC).
    pub updated_at: Option<NaiveDateTime>,
}

impl ResourceClass {
    /// Standard classes are read-only; upstream decides by id, not by name.
    pub fn is_standard(&self) -> bool {
        self.id.0 < MIN_CUSTOM_ID
    }

    /// The timestamp upstream's `pick_last_modified` uses for this row:
    /// `updated_at`, else `created_at` (`None` when the row has neither).
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_names_are_custom_prefix_and_upper_case_digits_or_underscores() {
        for good in [
            "CUSTOM_A",
            "CUSTOM_NFV_BAR",
            "CUSTOM_1",
            "CUSTOM__",
            "CUSTOM_A\n",
        ] {
            assert!(CustomClassName::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "CUSTOM_",
            "VCPU",
            "custom_a",
            "CUSTOM_a",
            "CUSTOM_Illegal&@!Name?",
            "CUSTOM_É",
            "XCUSTOM_A",
            "CUSTOM_A\n\n",
        ] {
            assert_eq!(
                CustomClassName::parse(bad),
                Err(InvalidCustomClassName::Pattern(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_longer_than_255_characters_are_refused_after_the_pattern() {
        let ok = format!("CUSTOM_{}", "S".repeat(248));
        assert_eq!(ok.len(), 255);
        assert!(CustomClassName::parse(&ok).is_ok());
        let long = format!("{ok}S");
        assert_eq!(
            CustomClassName::parse(&long),
            Err(InvalidCustomClassName::TooLong(long.clone()))
        );
        let long_and_bad = format!("{long}x");
        assert!(matches!(
            CustomClassName::parse(&long_and_bad),
            Err(InvalidCustomClassName::Pattern(_))
        ));
    }

    #[test]
    fn the_id_decides_whether_a_class_is_standard() {
        let class = |id| ResourceClass {
            id: ResourceClassId(id),
            name: "X".into(),
            created_at: None,
            updated_at: None,
        };
        assert!(class(0).is_standard());
        assert!(class(9_999).is_standard());
        assert!(!class(10_000).is_standard());
    }

    #[test]
    fn class_names_are_upper_case_digits_or_underscores_with_python_dollar() {
        for good in ["VCPU", "CUSTOM_A1", "_", "DISK_GB\n"] {
            assert!(ResourceClassName::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "vcpu", "VCPU ", "DISK-GB", "VCPU\n\n", "\n"] {
            assert_eq!(
                ResourceClassName::parse(bad),
                Err(InvalidName(bad.to_owned()))
            );
        }
    }
}
