//! upstream's `schemas/resource_class.py`.

use super::common::CUSTOM_RC_PATTERN;
use super::{py, Schema};

/// `POST /resource_classes` (and, copied, `PUT /resource_classes/{name}`).
pub(crate) static POST_RC_SCHEMA_V1_2: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": CUSTOM_RC_PATTERN, "maxLength": 255},
        },
        "required": ["name"],
        "additionalProperties": false,
    })
});

/// `PUT /resource_classes/{name}`: a copy of the POST schema.
pub(crate) static PUT_RC_SCHEMA_V1_2: Schema = Schema::new(|| POST_RC_SCHEMA_V1_2.clone());
