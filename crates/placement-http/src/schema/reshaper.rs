//! upstream's `schemas/reshaper.py`: `POST /reshaper` (1.30+), built from
//! the inventory and allocation schemas.

use placement_core::microversion::Microversion;

use super::allocation::{POST_ALLOCATIONS_V1_28, POST_ALLOCATIONS_V1_34, POST_ALLOCATIONS_V1_38};
use super::common::UUID_PATTERN;
use super::inventory::PUT_INVENTORY_SCHEMA;
use super::{py, PyValue, Schema};

/// 1.30–1.33.
pub(crate) static POST_RESHAPER_SCHEMA: Schema = Schema::new(|| {
    let allocations = POST_ALLOCATIONS_V1_28
        .clone()
        .set(&[], "minProperties", py!(0));
    py!({
        "type": "object",
        "properties": {
            "inventories": {
                "type": "object",
                "patternProperties": {(UUID_PATTERN): (PUT_INVENTORY_SCHEMA.clone())},
                "minProperties": 1,
                "additionalProperties": false,
            },
            "allocations": allocations,
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": false,
    })
});

/// 1.34–1.37: 1.34's allocations.
pub(crate) static POST_RESHAPER_SCHEMA_V1_34: Schema = Schema::new(|| {
    let allocations = POST_ALLOCATIONS_V1_34
        .clone()
        .set(&[], "minProperties", py!(0));
    POST_RESHAPER_SCHEMA
        .clone()
        .set(&["properties"], "allocations", allocations)
});

/// 1.38+: 1.38's allocations.
pub(crate) static POST_RESHAPER_SCHEMA_V1_38: Schema = Schema::new(|| {
    let allocations = POST_ALLOCATIONS_V1_38
        .clone()
        .set(&[], "minProperties", py!(0));
    POST_RESHAPER_SCHEMA_V1_34
        .clone()
        .set(&["properties"], "allocations", allocations)
});

/// The body schema of `POST /reshaper` at `mv`.
pub(crate) fn post_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 38) {
        &POST_RESHAPER_SCHEMA_V1_38
    } else if mv.matches(1, 34) {
        &POST_RESHAPER_SCHEMA_V1_34
    } else {
        &POST_RESHAPER_SCHEMA
    }
}
