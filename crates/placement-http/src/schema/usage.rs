//! upstream's `schemas/usage.py`: the `GET /usages` query.

use placement_core::microversion::Microversion;

use super::common::CONSUMER_TYPE_GET_PATTERN;
use super::{py, PyValue, Schema};

/// 1.9–1.37.
pub(crate) static GET_USAGES_SCHEMA_1_9: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
            "user_id": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        "required": ["project_id"],
        "additionalProperties": false,
    })
});

/// 1.38+: with `consumer_type`.
pub(crate) static GET_USAGES_SCHEMA_V1_38: Schema = Schema::new(|| {
    GET_USAGES_SCHEMA_1_9.clone().set(
        &["properties"],
        "consumer_type",
        py!({
            "type": "string",
            "pattern": CONSUMER_TYPE_GET_PATTERN,
            "minLength": 1,
            "maxLength": 255,
        }),
    )
});

/// The query schema of `GET /usages` at `mv`.
pub(crate) fn get_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 38) {
        &GET_USAGES_SCHEMA_V1_38
    } else {
        &GET_USAGES_SCHEMA_1_9
    }
}
