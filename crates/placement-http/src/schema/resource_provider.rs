//! upstream's `schemas/resource_provider.py`: provider bodies and the
//! `GET /resource_providers` query.

use placement_core::microversion::Microversion;

use super::{py, PyValue, Schema};

/// Creating a provider before 1.14.
pub(crate) static POST_RESOURCE_PROVIDER_SCHEMA: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "uuid": {"type": "string", "format": "uuid"},
        },
        "required": ["name"],
        "additionalProperties": false,
    })
});

/// Updating a provider before 1.14.
pub(crate) static PUT_RESOURCE_PROVIDER_SCHEMA: Schema = Schema::new(|| {
    POST_RESOURCE_PROVIDER_SCHEMA
        .clone()
        .remove(&["properties"], "uuid")
});

/// Creating a provider from 1.14: with `parent_provider_uuid`.
pub(crate) static POST_RP_SCHEMA_V1_14: Schema = Schema::new(|| {
    POST_RESOURCE_PROVIDER_SCHEMA.clone().set(
        &["properties"],
        "parent_provider_uuid",
        py!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}),
    )
});

/// Updating a provider from 1.14.
pub(crate) static PUT_RP_SCHEMA_V1_14: Schema =
    Schema::new(|| POST_RP_SCHEMA_V1_14.clone().remove(&["properties"], "uuid"));

/// `GET /resource_providers` at 1.0.
pub(crate) static GET_RPS_SCHEMA_1_0: Schema = Schema::new(|| {
    py!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "uuid": {"type": "string", "format": "uuid"},
        },
        "additionalProperties": false,
    })
});

/// 1.3 adds `member_of`.
pub(crate) static GET_RPS_SCHEMA_1_3: Schema = Schema::new(|| {
    GET_RPS_SCHEMA_1_0
        .clone()
        .set(&["properties"], "member_of", py!({"type": "string"}))
});

/// 1.4 adds `resources`.
pub(crate) static GET_RPS_SCHEMA_1_4: Schema = Schema::new(|| {
    GET_RPS_SCHEMA_1_3
        .clone()
        .set(&["properties"], "resources", py!({"type": "string"}))
});

/// 1.14 adds `in_tree`.
pub(crate) static GET_RPS_SCHEMA_1_14: Schema = Schema::new(|| {
    GET_RPS_SCHEMA_1_4.clone().set(
        &["properties"],
        "in_tree",
        py!({"type": "string", "format": "uuid"}),
    )
});

/// 1.18 adds `required`.
pub(crate) static GET_RPS_SCHEMA_1_18: Schema = Schema::new(|| {
    GET_RPS_SCHEMA_1_14
        .clone()
        .set(&["properties"], "required", py!({"type": "string"}))
});

/// The body schema of `POST /resource_providers` at `mv`.
pub(crate) fn post_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 14) {
        &POST_RP_SCHEMA_V1_14
    } else {
        &POST_RESOURCE_PROVIDER_SCHEMA
    }
}

/// The body schema of `PUT /resource_providers/{uuid}` at `mv`.
pub(crate) fn put_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 14) {
        &PUT_RP_SCHEMA_V1_14
    } else {
        &PUT_RESOURCE_PROVIDER_SCHEMA
    }
}

/// The query schema of `GET /resource_providers` at `mv`.
pub(crate) fn list_schema(mv: Microversion) -> &'static PyValue {
    if mv.matches(1, 18) {
        &GET_RPS_SCHEMA_1_18
    } else if mv.matches(1, 14) {
        &GET_RPS_SCHEMA_1_14
    } else if mv.matches(1, 4) {
        &GET_RPS_SCHEMA_1_4
    } else if mv.matches(1, 3) {
        &GET_RPS_SCHEMA_1_3
    } else {
        &GET_RPS_SCHEMA_1_0
    }
}
