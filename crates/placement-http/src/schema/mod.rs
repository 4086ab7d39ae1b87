//! upstream's JSON schemas as data (`placement/schemas/*.py`, one module
//! each), with the one validator and the one printer of `jsonschema`'s
//! error text.
//!
//! Layout:
//! - [`tree`]: [`PyValue`], the value tree documents and schemas share,
//!   the `py!` literal and the copy-then-edit helpers;
//! - [`pyrepr`]: Python's `repr`, `isprintable` and `pprint`;
//! - [`regex`]: Python's `re.search` for the schemas' patterns;
//! - [`validate`]: `jsonschema.validate` + `best_match` + `str(error)`;
//! - one module per upstream schema module, each building its schemas
//!   once, as upstream does: a base, then `copy.deepcopy` and edits per
//!   microversion, and a function choosing the schema for a microversion.

pub(crate) mod aggregate;
pub(crate) mod allocation;
pub(crate) mod allocation_candidate;
pub(crate) mod common;
pub(crate) mod inventory;
pub(crate) mod pyrepr;
pub(crate) mod regex;
pub(crate) mod reshaper;
pub(crate) mod resource_class;
pub(crate) mod resource_provider;
pub(crate) mod trait_;
pub(crate) mod tree;
pub(crate) mod usage;
pub(crate) mod validate;

pub(crate) use tree::{py, PyValue};
pub(crate) use validate::{validate, Formats};

/// A schema built on first use and kept for the life of the process.
pub(crate) type Schema = std::sync::LazyLock<PyValue>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern a schema holds, under `pattern` or as a
    /// `patternProperties` key.
    fn patterns(schema: &PyValue, out: &mut Vec<String>) {
        match schema {
            PyValue::Object(items) => {
                for (key, value) in items {
                    match (key.as_str(), value) {
                        ("pattern", PyValue::Str(p)) => out.push(p.clone()),
                        ("patternProperties", PyValue::Object(by_pattern)) => {
                            out.extend(by_pattern.iter().map(|(p, _)| p.clone()));
                        }
                        _ => {}
                    }
                    patterns(value, out);
                }
            }
            PyValue::List(items) => items.iter().for_each(|v| patterns(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_pattern_is_within_the_matchers_subset() {
        let mut found = Vec::new();
        for schema in [
            &*allocation::ALLOCATION_SCHEMA_V1_38,
            &*allocation::POST_ALLOCATIONS_V1_38,
            &*allocation::POST_ALLOCATIONS_V1_13,
            &*allocation_candidate::GET_SCHEMA_1_36,
            &*allocation_candidate::GET_SCHEMA_1_25,
            &*reshaper::POST_RESHAPER_SCHEMA_V1_38,
            &*resource_class::POST_RC_SCHEMA_V1_2,
            &*trait_::PUT_TRAITS_SCHEMA,
            &*usage::GET_USAGES_SCHEMA_V1_38,
        ] {
            patterns(schema, &mut found);
        }
        assert!(found.len() > 10);
        for pattern in found {
            assert!(regex::is_supported(&pattern), "{pattern}");
        }
    }
}
