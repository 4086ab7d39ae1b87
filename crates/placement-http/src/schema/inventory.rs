//! upstream's `schemas/inventory.py`: one inventory record, and the
//! inventories of a provider.

use super::common::RC_PATTERN;
use super::{py, Schema};

/// `db_const.MAX_INT`, the largest total, reserved and unit.
const MAX_INT: i64 = 0x7FFF_FFFF;
/// `db_const.SQL_SP_FLOAT_MAX`, the largest allocation ratio.
const SQL_SP_FLOAT_MAX: f64 = 3.40282e+38;

/// `PUT /resource_providers/{uuid}/inventories/{rc}`: one record.
pub(crate) static BASE_INVENTORY_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "total": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
            "reserved": {"type": "integer", "maximum": MAX_INT, "minimum": 0},
            "min_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
            "max_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
            "step_size": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
            "allocation_ratio": {"type": "number", "maximum": SQL_SP_FLOAT_MAX},
        },
        "required": ["total", "resource_provider_generation"],
        "additionalProperties": false,
    })
});

/// `POST /resource_providers/{uuid}/inventories`: a record naming its
/// class, without a generation requirement.
pub(crate) static POST_INVENTORY_SCHEMA: Schema = Schema::new(|| {
    BASE_INVENTORY_SCHEMA
        .clone()
        .set(
            &["properties"],
            "resource_class",
            py!({"type": "string", "pattern": RC_PATTERN}),
        )
        .append(&[], "required", "resource_class")
        .discard(&[], "required", "resource_provider_generation")
});

/// One record inside `PUT /resource_providers/{uuid}/inventories`.
pub(crate) static PUT_INVENTORY_RECORD_SCHEMA: Schema = Schema::new(|| {
    BASE_INVENTORY_SCHEMA
        .clone()
        .discard(&[], "required", "resource_provider_generation")
});

/// `PUT /resource_providers/{uuid}/inventories`.
pub(crate) static PUT_INVENTORY_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "inventories": {
                "type": "object",
                "patternProperties": {(RC_PATTERN): (PUT_INVENTORY_RECORD_SCHEMA.clone())},
            },
        },
        "required": ["resource_provider_generation", "inventories"],
        "additionalProperties": false,
    })
});
