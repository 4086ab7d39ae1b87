//! upstream's `schemas/trait.py`.

use super::common::CUSTOM_TRAIT_PATTERN;
use super::{py, Schema};

/// Any trait name.
pub(crate) static TRAIT: Schema =
    Schema::new(|| py!({"type": "string", "minLength": 1, "maxLength": 255}));

/// A custom trait name.
pub(crate) static CUSTOM_TRAIT: Schema =
    Schema::new(|| TRAIT.clone().set(&[], "pattern", py!(CUSTOM_TRAIT_PATTERN)));

/// upstream's `PUT_TRAITS_SCHEMA` (defined, unused by its handlers).
pub(crate) static PUT_TRAITS_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {"traits": {"type": "array", "items": (CUSTOM_TRAIT.clone())}},
        "required": ["traits"],
        "additionalProperties": false,
    })
});

/// `PUT /resource_providers/{uuid}/traits`.
pub(crate) static SET_TRAITS_FOR_RP_SCHEMA: Schema = Schema::new(|| {
    PUT_TRAITS_SCHEMA
        .clone()
        .set(&["properties", "traits"], "items", TRAIT.clone())
        .set(
            &["properties"],
            "resource_provider_generation",
            py!({"type": "integer"}),
        )
        .append(&[], "required", "resource_provider_generation")
});

/// The `GET /traits` query.
pub(crate) static LIST_TRAIT_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "associated": {"type": "string"}},
        "additionalProperties": false,
    })
});
