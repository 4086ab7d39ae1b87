//! upstream's `schemas/allocation.py`: `PUT /allocations/{consumer}` and
//! `POST /allocations`, per microversion.

use placement_core::microversion::Microversion;

use super::common::{CONSUMER_TYPE_PATTERN, GROUP_PAT_1_33, RC_PATTERN, UUID_PATTERN};
use super::{py, PyValue, Schema};

/// 1.0–1.7: a list of `{resource_provider: {uuid}, resources}`.
pub(crate) static ALLOCATION_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "allocations": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "resource_provider": {
                            "type": "object",
                            "properties": {"uuid": {"type": "string", "format": "uuid"}},
                            "additionalProperties": false,
                            "required": ["uuid"],
                        },
                        "resources": {
                            "type": "object",
                            "minProperties": 1,
                            "patternProperties": {(RC_PATTERN): {"type": "integer", "minimum": 1}},
                            "additionalProperties": false,
                        },
                    },
                    "required": ["resource_provider", "resources"],
                    "additionalProperties": false,
                },
            },
        },
        "required": ["allocations"],
        "additionalProperties": false,
    })
});

/// 1.8: with `project_id` and `user_id`.
pub(crate) static ALLOCATION_SCHEMA_V1_8: Schema = Schema::new(|| {
    let owner = py!({"type": "string", "minLength": 1, "maxLength": 255});
    ALLOCATION_SCHEMA
        .clone()
        .set(&["properties"], "project_id", owner.clone())
        .set(&["properties"], "user_id", owner)
        .append(&[], "required", "project_id")
        .append(&[], "required", "user_id")
});

/// 1.12: allocations keyed by provider uuid.
pub(crate) static ALLOCATION_SCHEMA_V1_12: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "allocations": {
                "type": "object",
                "minProperties": 1,
                "patternProperties": {
                    (UUID_PATTERN): {
                        "type": "object",
                        "properties": {
                            "generation": {"type": "integer"},
                            "resources": {
                                "type": "object",
                                "minProperties": 1,
                                "patternProperties": {
                                    (RC_PATTERN): {"type": "integer", "minimum": 1},
                                },
                                "additionalProperties": false,
                            },
                        },
                        "required": ["resources"],
                        "additionalProperties": false,
                    },
                },
                "additionalProperties": false,
            },
            "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
            "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        "additionalProperties": false,
        "required": ["allocations", "project_id", "user_id"],
    })
});

/// 1.12's, where an empty `allocations` deletes (inside `POST`).
pub(crate) static DELETABLE_ALLOCATIONS: Schema = Schema::new(|| {
    ALLOCATION_SCHEMA_V1_12
        .clone()
        .set(&["properties", "allocations"], "minProperties", py!(0))
});

/// `POST /allocations` at 1.13: consumers keyed by uuid.
pub(crate) static POST_ALLOCATIONS_V1_13: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "minProperties": 1,
        "additionalProperties": false,
        "patternProperties": {(UUID_PATTERN): (DELETABLE_ALLOCATIONS.clone())},
    })
});

/// The consumer generation property of 1.28.
fn consumer_generation() -> PyValue {
    py!({"type": ["integer", "null"], "additionalProperties": false})
}

/// 1.28: with a required `consumer_generation`.
pub(crate) static ALLOCATION_SCHEMA_V1_28: Schema = Schema::new(|| {
    DELETABLE_ALLOCATIONS
        .clone()
        .set(
            &["properties"],
            "consumer_generation",
            consumer_generation(),
        )
        .append(&[], "required", "consumer_generation")
});

/// One consumer of `POST /allocations` from 1.28.
pub(crate) static REQUIRED_GENERATION_ALLOCS_POST: Schema = Schema::new(|| {
    DELETABLE_ALLOCATIONS
        .clone()
        .set(
            &["properties"],
            "consumer_generation",
            consumer_generation(),
        )
        .append(&[], "required", "consumer_generation")
});

/// `POST /allocations` at 1.28.
pub(crate) static POST_ALLOCATIONS_V1_28: Schema = Schema::new(|| {
    POST_ALLOCATIONS_V1_13.clone().set(
        &[],
        "patternProperties",
        py!({(UUID_PATTERN): (REQUIRED_GENERATION_ALLOCS_POST.clone())}),
    )
});

/// 1.34: with `mappings` from request groups to providers.
pub(crate) static ALLOCATION_SCHEMA_V1_34: Schema = Schema::new(|| {
    let mappings = py!({
        "type": "object",
        "minProperties": 1,
        "patternProperties": {
            (GROUP_PAT_1_33): {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "format": "uuid"},
            },
        },
    });
    ALLOCATION_SCHEMA_V1_28
        .clone()
        .set(&["properties"], "mappings", mappings)
});

/// `POST /allocations` at 1.34.
pub(crate) static POST_ALLOCATIONS_V1_34: Schema = Schema::new(|| {
    POST_ALLOCATIONS_V1_28.clone().set(
        &[],
        "patternProperties",
        py!({(UUID_PATTERN): (ALLOCATION_SCHEMA_V1_34.clone())}),
    )
});

/// 1.38: with a required `consumer_type`.
pub(crate) static ALLOCATION_SCHEMA_V1_38: Schema = Schema::new(|| {
    ALLOCATION_SCHEMA_V1_34
        .clone()
        .set(
            &["properties"],
            "consumer_type",
            py!({
                "type": "string",
                "pattern": CONSUMER_TYPE_PATTERN,
                "minLength": 1,
                "maxLength": 255,
            }),
        )
        .append(&[], "required", "consumer_type")
});

/// `POST /allocations` at 1.38.
pub(crate) static POST_ALLOCATIONS_V1_38: Schema = Schema::new(|| {
    POST_ALLOCATIONS_V1_34.clone().set(
        &[],
        "patternProperties",
        py!({(UUID_PATTERN): (ALLOCATION_SCHEMA_V1_38.clone())}),
    )
});

/// The body schema of `PUT /allocations/{consumer}` at `mv`.
pub(crate) fn put_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 38) {
        &ALLOCATION_SCHEMA_V1_38
    } else if mv.matches(1, 34) {
        &ALLOCATION_SCHEMA_V1_34
    } else if mv.matches(1, 28) {
        &ALLOCATION_SCHEMA_V1_28
    } else if mv.matches(1, 12) {
        &ALLOCATION_SCHEMA_V1_12
    } else if mv.matches(1, 8) {
        &ALLOCATION_SCHEMA_V1_8
    } else {
        &ALLOCATION_SCHEMA
    }
}

/// The body schema of `POST /allocations` (1.13+) at `mv`.
pub(crate) fn post_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 38) {
        &POST_ALLOCATIONS_V1_38
    } else if mv.matches(1, 34) {
        &POST_ALLOCATIONS_V1_34
    } else if mv.matches(1, 28) {
        &POST_ALLOCATIONS_V1_28
    } else {
        &POST_ALLOCATIONS_V1_13
    }
}
