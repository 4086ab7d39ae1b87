//! upstream's `schemas/aggregate.py`: `PUT /resource_providers/{uuid}/aggregates`.

use placement_core::microversion::Microversion;

use super::{py, PyValue, Schema};

/// A list of distinct aggregate uuids.
static AGGREGATES_LIST_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "uniqueItems": true,
    })
});

/// 1.1–1.18: the body is the list itself.
pub(crate) static PUT_AGGREGATES_SCHEMA_V1_1: Schema =
    Schema::new(|| AGGREGATES_LIST_SCHEMA.clone());

/// 1.19+: the list with the provider's generation.
pub(crate) static PUT_AGGREGATES_SCHEMA_V1_19: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "aggregates": (AGGREGATES_LIST_SCHEMA.clone()),
            "resource_provider_generation": {"type": "integer"},
        },
        "required": ["aggregates", "resource_provider_generation"],
        "additionalProperties": false,
    })
});

/// The body schema of `PUT /resource_providers/{uuid}/aggregates` at `mv`.
pub(crate) fn put_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 19) {
        &PUT_AGGREGATES_SCHEMA_V1_19
    } else {
        &PUT_AGGREGATES_SCHEMA_V1_1
    }
}
