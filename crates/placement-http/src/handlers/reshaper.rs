//! `POST /reshaper` (upstream `handlers/reshaper.py`, 1.30+): replace
//! several providers' inventories and several consumers' allocations in one
//! transaction, as when inventory moves from a parent to a new child.
//!
//! Checks run in upstream's order: the body schema (whose allocation part
//! follows `POST /allocations` at 1.34 and 1.38), then each provider of
//! `inventories` exists (400 with `placement.resource_provider.not_found`)
//! at the generation the client read (409), then each inventory is built;
//! the store then ensures the consumers and writes everything.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use placement_core::allocation::InventoryReplacement;
use placement_core::microversion::Microversion;
use placement_store::ops::allocation as store;
use placement_store::ops::resource_provider as rp_store;
use placement_store::Error as StoreError;

use super::allocation::{self, int_of, raised_before_write, RC_PATTERN, UUID_PATTERN};
use super::{inventory, util};
use crate::body::{extract_json, repr, ObjectKeyword, PyValue, Schema, SchemaKind};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{JsonContent, WantVersion};
use crate::routes::Route;
use crate::settings::AppState;

/// This module's row of the route table.
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::new("/reshaper").post(reshape)]
}

/// The body schema for a microversion.
fn schema(mv: Microversion) -> &'static Schema {
    if mv.matches(1, 38) {
        &POST_RESHAPER_SCHEMA_V1_38
    } else if mv.matches(1, 34) {
        &POST_RESHAPER_SCHEMA_V1_34
    } else {
        &POST_RESHAPER_SCHEMA
    }
}

fn entries(value: Option<&PyValue>) -> &[(String, PyValue)] {
    match value {
        Some(PyValue::Object(items)) => items,
        _ => &[],
    }
}

/// The new inventory of one provider named in `inventories`, after
/// upstream's existence and early generation checks.
async fn replacement(
    state: &AppState,
    rp_uuid: &str,
    data: &PyValue,
) -> Result<InventoryReplacement, ApiError> {
    let rp = rp_store::get_resource_provider(&state.store, rp_uuid)
        .await
        .map_err(|e| match e {
            StoreError::ResourceProviderNotFound(_) => ApiError::bad_request(format!(
                "Resource provider {rp_uuid} in inventories not found: {e}"
            ))
            .with_code(ErrorCode::ResourceProviderNotFound),
            other => other.into(),
        })?;
    let given = data.get("resource_provider_generation");
    if given.and_then(int_of) != Some(rp.generation.0) {
        let shown = given.map_or_else(|| "None".to_owned(), repr);
        return Err(ApiError::conflict(format!(
            "resource provider generation conflict for provider {rp_uuid}: actual: {}, given: {shown}",
            rp.generation
        ))
        .with_code(ErrorCode::ConcurrentUpdate));
    }
    let inventories = entries(data.get("inventories"))
        .iter()
        .map(|(class, raw)| inventory::record_from(raw, class, &rp))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InventoryReplacement {
        provider: rp_uuid.to_owned(),
        generation: rp.generation,
        inventories,
    })
}

/// The `except` clauses of upstream's `reshape`.
fn reshape_error(e: StoreError) -> ApiError {
    if let Some(raised) = raised_before_write(&e) {
        return raised;
    }
    match e {
        e if e.is_concurrent_update() => ApiError::conflict(format!("update conflict: {e}"))
            .with_code(ErrorCode::ConcurrentUpdate),
        e if e.is_not_found() => ApiError::bad_request(format!("malformed reshaper data: {e}")),
        StoreError::InventoryInUse { .. } => {
            ApiError::conflict(format!("update conflict: {e}")).with_code(ErrorCode::InventoryInuse)
        }
        e if e.is_invalid_inventory() => {
            ApiError::conflict(format!("Unable to allocate inventory: {e}"))
        }
        other => other.into(),
    }
}

/// `POST /reshaper`: 204.
async fn reshape(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 30)?;
    JsonContent::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:reshaper:reshape").await?;
    let data = extract_json(&util::read_body(body).await?, schema(mv))?;
    let mut inventories = Vec::new();
    for (rp_uuid, inventory) in entries(data.get("inventories")) {
        inventories.push(replacement(&state, rp_uuid, inventory).await?);
    }
    let allocations = allocation::post_requests(data.get("allocations"), mv, &state.settings)?;
    store::reshape(
        &state.store,
        &inventories,
        &allocations,
        state.settings.allocation_write_options(),
    )
    .await
    .map_err(reshape_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------
// upstream's schemas/reshaper.py (the allocation parts are shared with
// `POST /allocations`).

/// An inventory integer that is at least 1.
pub(super) const TOTAL_SCHEMA: Schema = Schema {
    kind: SchemaKind::Integer {
        minimum: Some(1),
        maximum: Some(2147483647),
    },
    pretty: r#"{'type': 'integer', 'maximum': 2147483647, 'minimum': 1}"#,
};

/// `reserved`: an inventory integer that may be 0.
pub(super) const RESERVED_SCHEMA: Schema = Schema {
    kind: SchemaKind::Integer {
        minimum: Some(0),
        maximum: Some(2147483647),
    },
    pretty: r#"{'type': 'integer', 'maximum': 2147483647, 'minimum': 0}"#,
};

/// `allocation_ratio`.
pub(super) const ALLOCATION_RATIO_SCHEMA: Schema = Schema {
    kind: SchemaKind::Number {
        maximum: Some((3.40282e+38_f64, "3.40282e+38")),
    },
    pretty: r#"{'type': 'number', 'maximum': 3.40282e+38}"#,
};

/// One inventory record of `PUT_INVENTORY_SCHEMA`.
pub(super) const INVENTORY_RECORD_SCHEMA: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::Properties(&[
            (
                "resource_provider_generation",
                allocation::GENERATION_SCHEMA,
            ),
            ("total", TOTAL_SCHEMA),
            ("reserved", RESERVED_SCHEMA),
            ("min_unit", TOTAL_SCHEMA),
            ("max_unit", TOTAL_SCHEMA),
            ("step_size", TOTAL_SCHEMA),
            ("allocation_ratio", ALLOCATION_RATIO_SCHEMA),
        ]),
        ObjectKeyword::Required(&["total"]),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'properties': {'resource_provider_generation': {'type': 'integer'},
                'total': {'type': 'integer',
                          'maximum': 2147483647,
                          'minimum': 1},
                'reserved': {'type': 'integer',
                             'maximum': 2147483647,
                             'minimum': 0},
                'min_unit': {'type': 'integer',
                             'maximum': 2147483647,
                             'minimum': 1},
                'max_unit': {'type': 'integer',
                             'maximum': 2147483647,
                             'minimum': 1},
                'step_size': {'type': 'integer',
                              'maximum': 2147483647,
                              'minimum': 1},
                'allocation_ratio': {'type': 'number',
                                     'maximum': 3.40282e+38}},
 'required': ['total'],
 'additionalProperties': False}"#,
};

/// Inventory records by resource class.
pub(super) const INVENTORIES_BY_CLASS_SCHEMA: Schema = Schema {
    kind: SchemaKind::Dict(&[ObjectKeyword::PatternProperties(
        RC_PATTERN,
        &INVENTORY_RECORD_SCHEMA,
    )]),
    pretty: r#"{'type': 'object',
 'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                        'properties': {'resource_provider_generation': {'type': 'integer'},
                                                       'total': {'type': 'integer',
                                                                 'maximum': 2147483647,
                                                                 'minimum': 1},
                                                       'reserved': {'type': 'integer',
                                                                    'maximum': 2147483647,
                                                                    'minimum': 0},
                                                       'min_unit': {'type': 'integer',
                                                                    'maximum': 2147483647,
                                                                    'minimum': 1},
                                                       'max_unit': {'type': 'integer',
                                                                    'maximum': 2147483647,
                                                                    'minimum': 1},
                                                       'step_size': {'type': 'integer',
                                                                     'maximum': 2147483647,
                                                                     'minimum': 1},
                                                       'allocation_ratio': {'type': 'number',
                                                                            'maximum': 3.40282e+38}},
                                        'required': ['total'],
                                        'additionalProperties': False}}}"#,
};

/// `PUT_INVENTORY_SCHEMA` in upstream `schemas/inventory.py`: one provider's new inventory.
pub(super) const PUT_INVENTORY_SCHEMA: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::Properties(&[
            (
                "resource_provider_generation",
                allocation::GENERATION_SCHEMA,
            ),
            ("inventories", INVENTORIES_BY_CLASS_SCHEMA),
        ]),
        ObjectKeyword::Required(&["resource_provider_generation", "inventories"]),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'properties': {'resource_provider_generation': {'type': 'integer'},
                'inventories': {'type': 'object',
                                'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                                                       'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                      'total': {'type': 'integer',
                                                                                                'maximum': 2147483647,
                                                                                                'minimum': 1},
                                                                                      'reserved': {'type': 'integer',
                                                                                                   'maximum': 2147483647,
                                                                                                   'minimum': 0},
                                                                                      'min_unit': {'type': 'integer',
                                                                                                   'maximum': 2147483647,
                                                                                                   'minimum': 1},
                                                                                      'max_unit': {'type': 'integer',
                                                                                                   'maximum': 2147483647,
                                                                                                   'minimum': 1},
                                                                                      'step_size': {'type': 'integer',
                                                                                                    'maximum': 2147483647,
                                                                                                    'minimum': 1},
                                                                                      'allocation_ratio': {'type': 'number',
                                                                                                           'maximum': 3.40282e+38}},
                                                                       'required': ['total'],
                                                                       'additionalProperties': False}}}},
 'required': ['resource_provider_generation', 'inventories'],
 'additionalProperties': False}"#,
};

/// `inventories`: new inventories by provider uuid, at least one.
pub(super) const INVENTORIES_BY_PROVIDER_SCHEMA: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::PatternProperties(UUID_PATTERN, &PUT_INVENTORY_SCHEMA),
        ObjectKeyword::MinProperties(1),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                              'properties': {'resource_provider_generation': {'type': 'integer'},
                                                             'inventories': {'type': 'object',
                                                                             'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                                                                                                    'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                                                                   'total': {'type': 'integer',
                                                                                                                                             'maximum': 2147483647,
                                                                                                                                             'minimum': 1},
                                                                                                                                   'reserved': {'type': 'integer',
                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                'minimum': 0},
                                                                                                                                   'min_unit': {'type': 'integer',
                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                'minimum': 1},
                                                                                                                                   'max_unit': {'type': 'integer',
                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                'minimum': 1},
                                                                                                                                   'step_size': {'type': 'integer',
                                                                                                                                                 'maximum': 2147483647,
                                                                                                                                                 'minimum': 1},
                                                                                                                                   'allocation_ratio': {'type': 'number',
                                                                                                                                                        'maximum': 3.40282e+38}},
                                                                                                                    'required': ['total'],
                                                                                                                    'additionalProperties': False}}}},
                                              'required': ['resource_provider_generation',
                                                           'inventories'],
                                              'additionalProperties': False}},
 'minProperties': 1,
 'additionalProperties': False}"#,
};

/// `ALLOCATIONS` in upstream `schemas/reshaper.py`: `POST_ALLOCATIONS_V1_28`, possibly empty.
pub(super) const ALLOCATIONS: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::MinProperties(0),
        ObjectKeyword::AdditionalProperties(false),
        ObjectKeyword::PatternProperties(UUID_PATTERN, &allocation::ALLOCATION_SCHEMA_V1_28),
    ]),
    pretty: r#"{'type': 'object',
 'minProperties': 0,
 'additionalProperties': False,
 'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                              'properties': {'allocations': {'type': 'object',
                                                                             'minProperties': 0,
                                                                             'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                          'properties': {'generation': {'type': 'integer'},
                                                                                                                                         'resources': {'type': 'object',
                                                                                                                                                       'minProperties': 1,
                                                                                                                                                       'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                              'minimum': 1}},
                                                                                                                                                       'additionalProperties': False}},
                                                                                                                          'required': ['resources'],
                                                                                                                          'additionalProperties': False}},
                                                                             'additionalProperties': False},
                                                             'project_id': {'type': 'string',
                                                                            'minLength': 1,
                                                                            'maxLength': 255},
                                                             'user_id': {'type': 'string',
                                                                         'minLength': 1,
                                                                         'maxLength': 255},
                                                             'consumer_generation': {'type': ['integer',
                                                                                              'null'],
                                                                                     'additionalProperties': False}},
                                              'additionalProperties': False,
                                              'required': ['allocations',
                                                           'project_id',
                                                           'user_id',
                                                           'consumer_generation']}}}"#,
};

/// `POST_RESHAPER_SCHEMA` in upstream `schemas/reshaper.py`.
pub(super) const POST_RESHAPER_SCHEMA: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::Properties(&[
            ("inventories", INVENTORIES_BY_PROVIDER_SCHEMA),
            ("allocations", ALLOCATIONS),
        ]),
        ObjectKeyword::Required(&["inventories", "allocations"]),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'properties': {'inventories': {'type': 'object',
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                            'inventories': {'type': 'object',
                                                                                                            'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                                                                                                                                   'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                                                                                                  'total': {'type': 'integer',
                                                                                                                                                                            'maximum': 2147483647,
                                                                                                                                                                            'minimum': 1},
                                                                                                                                                                  'reserved': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 0},
                                                                                                                                                                  'min_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'max_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'step_size': {'type': 'integer',
                                                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                                                'minimum': 1},
                                                                                                                                                                  'allocation_ratio': {'type': 'number',
                                                                                                                                                                                       'maximum': 3.40282e+38}},
                                                                                                                                                   'required': ['total'],
                                                                                                                                                   'additionalProperties': False}}}},
                                                                             'required': ['resource_provider_generation',
                                                                                          'inventories'],
                                                                             'additionalProperties': False}},
                                'minProperties': 1,
                                'additionalProperties': False},
                'allocations': {'type': 'object',
                                'minProperties': 0,
                                'additionalProperties': False,
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'allocations': {'type': 'object',
                                                                                                            'minProperties': 0,
                                                                                                            'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                                                         'properties': {'generation': {'type': 'integer'},
                                                                                                                                                                        'resources': {'type': 'object',
                                                                                                                                                                                      'minProperties': 1,
                                                                                                                                                                                      'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                                                             'minimum': 1}},
                                                                                                                                                                                      'additionalProperties': False}},
                                                                                                                                                         'required': ['resources'],
                                                                                                                                                         'additionalProperties': False}},
                                                                                                            'additionalProperties': False},
                                                                                            'project_id': {'type': 'string',
                                                                                                           'minLength': 1,
                                                                                                           'maxLength': 255},
                                                                                            'user_id': {'type': 'string',
                                                                                                        'minLength': 1,
                                                                                                        'maxLength': 255},
                                                                                            'consumer_generation': {'type': ['integer',
                                                                                                                             'null'],
                                                                                                                    'additionalProperties': False}},
                                                                             'additionalProperties': False,
                                                                             'required': ['allocations',
                                                                                          'project_id',
                                                                                          'user_id',
                                                                                          'consumer_generation']}}}},
 'required': ['inventories', 'allocations'],
 'additionalProperties': False}"#,
};

/// `ALLOCATIONS_V1_34` in upstream `schemas/reshaper.py`.
pub(super) const ALLOCATIONS_V1_34: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::MinProperties(0),
        ObjectKeyword::AdditionalProperties(false),
        ObjectKeyword::PatternProperties(UUID_PATTERN, &allocation::ALLOCATION_SCHEMA_V1_34),
    ]),
    pretty: r#"{'type': 'object',
 'minProperties': 0,
 'additionalProperties': False,
 'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                              'properties': {'allocations': {'type': 'object',
                                                                             'minProperties': 0,
                                                                             'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                          'properties': {'generation': {'type': 'integer'},
                                                                                                                                         'resources': {'type': 'object',
                                                                                                                                                       'minProperties': 1,
                                                                                                                                                       'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                              'minimum': 1}},
                                                                                                                                                       'additionalProperties': False}},
                                                                                                                          'required': ['resources'],
                                                                                                                          'additionalProperties': False}},
                                                                             'additionalProperties': False},
                                                             'project_id': {'type': 'string',
                                                                            'minLength': 1,
                                                                            'maxLength': 255},
                                                             'user_id': {'type': 'string',
                                                                         'minLength': 1,
                                                                         'maxLength': 255},
                                                             'consumer_generation': {'type': ['integer',
                                                                                              'null'],
                                                                                     'additionalProperties': False},
                                                             'mappings': {'type': 'object',
                                                                          'minProperties': 1,
                                                                          'patternProperties': {'[a-zA-Z0-9_-]{1,64}': {'type': 'array',
                                                                                                                        'minItems': 1,
                                                                                                                        'items': {'type': 'string',
                                                                                                                                  'format': 'uuid'}}}}},
                                              'additionalProperties': False,
                                              'required': ['allocations',
                                                           'project_id',
                                                           'user_id',
                                                           'consumer_generation']}}}"#,
};

/// `POST_RESHAPER_SCHEMA_V1_34` in upstream `schemas/reshaper.py`.
pub(super) const POST_RESHAPER_SCHEMA_V1_34: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::Properties(&[
            ("inventories", INVENTORIES_BY_PROVIDER_SCHEMA),
            ("allocations", ALLOCATIONS_V1_34),
        ]),
        ObjectKeyword::Required(&["inventories", "allocations"]),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'properties': {'inventories': {'type': 'object',
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                            'inventories': {'type': 'object',
                                                                                                            'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                                                                                                                                   'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                                                                                                  'total': {'type': 'integer',
                                                                                                                                                                            'maximum': 2147483647,
                                                                                                                                                                            'minimum': 1},
                                                                                                                                                                  'reserved': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 0},
                                                                                                                                                                  'min_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'max_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'step_size': {'type': 'integer',
                                                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                                                'minimum': 1},
                                                                                                                                                                  'allocation_ratio': {'type': 'number',
                                                                                                                                                                                       'maximum': 3.40282e+38}},
                                                                                                                                                   'required': ['total'],
                                                                                                                                                   'additionalProperties': False}}}},
                                                                             'required': ['resource_provider_generation',
                                                                                          'inventories'],
                                                                             'additionalProperties': False}},
                                'minProperties': 1,
                                'additionalProperties': False},
                'allocations': {'type': 'object',
                                'minProperties': 0,
                                'additionalProperties': False,
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'allocations': {'type': 'object',
                                                                                                            'minProperties': 0,
                                                                                                            'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                                                         'properties': {'generation': {'type': 'integer'},
                                                                                                                                                                        'resources': {'type': 'object',
                                                                                                                                                                                      'minProperties': 1,
                                                                                                                                                                                      'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                                                             'minimum': 1}},
                                                                                                                                                                                      'additionalProperties': False}},
                                                                                                                                                         'required': ['resources'],
                                                                                                                                                         'additionalProperties': False}},
                                                                                                            'additionalProperties': False},
                                                                                            'project_id': {'type': 'string',
                                                                                                           'minLength': 1,
                                                                                                           'maxLength': 255},
                                                                                            'user_id': {'type': 'string',
                                                                                                        'minLength': 1,
                                                                                                        'maxLength': 255},
                                                                                            'consumer_generation': {'type': ['integer',
                                                                                                                             'null'],
                                                                                                                    'additionalProperties': False},
                                                                                            'mappings': {'type': 'object',
                                                                                                         'minProperties': 1,
                                                                                                         'patternProperties': {'[a-zA-Z0-9_-]{1,64}': {'type': 'array',
                                                                                                                                                       'minItems': 1,
                                                                                                                                                       'items': {'type': 'string',
                                                                                                                                                                 'format': 'uuid'}}}}},
                                                                             'additionalProperties': False,
                                                                             'required': ['allocations',
                                                                                          'project_id',
                                                                                          'user_id',
                                                                                          'consumer_generation']}}}},
 'required': ['inventories', 'allocations'],
 'additionalProperties': False}"#,
};

/// `ALLOCATIONS_V1_38` in upstream `schemas/reshaper.py`.
pub(super) const ALLOCATIONS_V1_38: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::MinProperties(0),
        ObjectKeyword::AdditionalProperties(false),
        ObjectKeyword::PatternProperties(UUID_PATTERN, &allocation::ALLOCATION_SCHEMA_V1_38),
    ]),
    pretty: r#"{'type': 'object',
 'minProperties': 0,
 'additionalProperties': False,
 'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                              'properties': {'allocations': {'type': 'object',
                                                                             'minProperties': 0,
                                                                             'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                          'properties': {'generation': {'type': 'integer'},
                                                                                                                                         'resources': {'type': 'object',
                                                                                                                                                       'minProperties': 1,
                                                                                                                                                       'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                              'minimum': 1}},
                                                                                                                                                       'additionalProperties': False}},
                                                                                                                          'required': ['resources'],
                                                                                                                          'additionalProperties': False}},
                                                                             'additionalProperties': False},
                                                             'project_id': {'type': 'string',
                                                                            'minLength': 1,
                                                                            'maxLength': 255},
                                                             'user_id': {'type': 'string',
                                                                         'minLength': 1,
                                                                         'maxLength': 255},
                                                             'consumer_generation': {'type': ['integer',
                                                                                              'null'],
                                                                                     'additionalProperties': False},
                                                             'mappings': {'type': 'object',
                                                                          'minProperties': 1,
                                                                          'patternProperties': {'[a-zA-Z0-9_-]{1,64}': {'type': 'array',
                                                                                                                        'minItems': 1,
                                                                                                                        'items': {'type': 'string',
                                                                                                                                  'format': 'uuid'}}}},
                                                             'consumer_type': {'type': 'string',
                                                                               'pattern': '^[A-Z0-9_]+$',
                                                                               'minLength': 1,
                                                                               'maxLength': 255}},
                                              'additionalProperties': False,
                                              'required': ['allocations',
                                                           'project_id',
                                                           'user_id',
                                                           'consumer_generation',
                                                           'consumer_type']}}}"#,
};

/// `POST_RESHAPER_SCHEMA_V1_38` in upstream `schemas/reshaper.py`.
pub(super) const POST_RESHAPER_SCHEMA_V1_38: Schema = Schema {
    kind: SchemaKind::Dict(&[
        ObjectKeyword::Properties(&[
            ("inventories", INVENTORIES_BY_PROVIDER_SCHEMA),
            ("allocations", ALLOCATIONS_V1_38),
        ]),
        ObjectKeyword::Required(&["inventories", "allocations"]),
        ObjectKeyword::AdditionalProperties(false),
    ]),
    pretty: r#"{'type': 'object',
 'properties': {'inventories': {'type': 'object',
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                            'inventories': {'type': 'object',
                                                                                                            'patternProperties': {'^[A-Z0-9_]+$': {'type': 'object',
                                                                                                                                                   'properties': {'resource_provider_generation': {'type': 'integer'},
                                                                                                                                                                  'total': {'type': 'integer',
                                                                                                                                                                            'maximum': 2147483647,
                                                                                                                                                                            'minimum': 1},
                                                                                                                                                                  'reserved': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 0},
                                                                                                                                                                  'min_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'max_unit': {'type': 'integer',
                                                                                                                                                                               'maximum': 2147483647,
                                                                                                                                                                               'minimum': 1},
                                                                                                                                                                  'step_size': {'type': 'integer',
                                                                                                                                                                                'maximum': 2147483647,
                                                                                                                                                                                'minimum': 1},
                                                                                                                                                                  'allocation_ratio': {'type': 'number',
                                                                                                                                                                                       'maximum': 3.40282e+38}},
                                                                                                                                                   'required': ['total'],
                                                                                                                                                   'additionalProperties': False}}}},
                                                                             'required': ['resource_provider_generation',
                                                                                          'inventories'],
                                                                             'additionalProperties': False}},
                                'minProperties': 1,
                                'additionalProperties': False},
                'allocations': {'type': 'object',
                                'minProperties': 0,
                                'additionalProperties': False,
                                'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                             'properties': {'allocations': {'type': 'object',
                                                                                                            'minProperties': 0,
                                                                                                            'patternProperties': {'^[0-9a-fA-F-]{36}$': {'type': 'object',
                                                                                                                                                         'properties': {'generation': {'type': 'integer'},
                                                                                                                                                                        'resources': {'type': 'object',
                                                                                                                                                                                      'minProperties': 1,
                                                                                                                                                                                      'patternProperties': {'^[A-Z0-9_]+$': {'type': 'integer',
                                                                                                                                                                                                                             'minimum': 1}},
                                                                                                                                                                                      'additionalProperties': False}},
                                                                                                                                                         'required': ['resources'],
                                                                                                                                                         'additionalProperties': False}},
                                                                                                            'additionalProperties': False},
                                                                                            'project_id': {'type': 'string',
                                                                                                           'minLength': 1,
                                                                                                           'maxLength': 255},
                                                                                            'user_id': {'type': 'string',
                                                                                                        'minLength': 1,
                                                                                                        'maxLength': 255},
                                                                                            'consumer_generation': {'type': ['integer',
                                                                                                                             'null'],
                                                                                                                    'additionalProperties': False},
                                                                                            'mappings': {'type': 'object',
                                                                                                         'minProperties': 1,
                                                                                                         'patternProperties': {'[a-zA-Z0-9_-]{1,64}': {'type': 'array',
                                                                                                                                                       'minItems': 1,
                                                                                                                                                       'items': {'type': 'string',
                                                                                                                                                                 'format': 'uuid'}}}},
                                                                                            'consumer_type': {'type': 'string',
                                                                                                              'pattern': '^[A-Z0-9_]+$',
                                                                                                              'minLength': 1,
                                                                                                              'maxLength': 255}},
                                                                             'additionalProperties': False,
                                                                             'required': ['allocations',
                                                                                          'project_id',
                                                                                          'user_id',
                                                                                          'consumer_generation',
                                                                                          'consumer_type']}}}},
 'required': ['inventories', 'allocations'],
 'additionalProperties': False}"#,
};
