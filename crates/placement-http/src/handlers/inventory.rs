//! `/resource_providers/{uuid}/inventories` (upstream
//! `handlers/inventory.py`): list, create one, replace all, delete all
//! (1.5+), and show, update, delete one.
//!
//! Order of checks follows upstream's handlers: the content-type or accept
//! check, then the provider lookup (a 404), then the body schema, then the
//! client's generation, then upstream's capacity rule, then the write.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::ids::Generation;
use placement_core::inventory::{Inventory, InventoryRecord};
use placement_core::microversion::Microversion;
use placement_core::resource_provider::ResourceProvider;
use placement_store::ops::inventory::{self as store, ProviderInventories};
use placement_store::ops::resource_provider as rp_store;
use placement_store::Error as StoreError;
use serde::Serialize;

use super::util;
use crate::body::{extract_json, PyValue};
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::routes::Route;
use crate::schema::inventory as inv_schema;
use crate::settings::AppState;

/// This module's rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new("/resource_providers/{uuid}/inventories")
            .get(get_inventories)
            .post(create_inventory)
            .put(set_inventories)
            .delete(delete_inventories),
        Route::new("/resource_providers/{uuid}/inventories/{resource_class}")
            .get(get_inventory)
            .put(update_inventory)
            .delete(delete_inventory),
    ]
}

/// A number as upstream echoes it: what the request sent (an int stays
/// an int, `4.0` stays a float), or the stored value.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Num::Int(v) => serializer.serialize_i64(*v),
            Num::Float(v) => serializer.serialize_f64(*v),
        }
    }
}

/// upstream's `OUTPUT_INVENTORY_FIELDS`, plus the generation on a single
/// inventory.
#[derive(Serialize)]
struct InventoryBody {
    total: Num,
    reserved: Num,
    min_unit: Num,
    max_unit: Num,
    step_size: Num,
    allocation_ratio: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_provider_generation: Option<i64>,
}

#[derive(Serialize)]
struct InventoriesBody {
    resource_provider_generation: i64,
    inventories: ByClass,
}

/// Inventories keyed by class, in the order upstream's dict would hold
/// them (a `serde_json::Map` would sort the keys).
struct ByClass(Vec<(String, InventoryBody)>);

impl Serialize for ByClass {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (class, body) in &self.0 {
            map.serialize_entry(class, body)?;
        }
        map.end()
    }
}

/// The body of one inventory; `sent` is the request's object when the
/// response echoes a write, whose numbers upstream renders as sent.
fn serialize(
    record: &InventoryRecord,
    sent: Option<&PyValue>,
    generation: Option<Generation>,
) -> InventoryBody {
    let echo = |name: &str, stored: Num| match sent.and_then(|d| d.get(name)) {
        Some(PyValue::Int(digits)) => digits.parse().map_or(stored, Num::Int),
        Some(PyValue::Float(f)) => Num::Float(*f),
        _ => stored,
    };
    InventoryBody {
        total: echo("total", Num::Int(record.total)),
        reserved: echo("reserved", Num::Int(record.reserved)),
        min_unit: echo("min_unit", Num::Int(record.min_unit)),
        max_unit: echo("max_unit", Num::Int(record.max_unit)),
        step_size: echo("step_size", Num::Int(record.step_size)),
        allocation_ratio: echo("allocation_ratio", Num::Float(record.allocation_ratio)),
        // upstream's `if generation:` leaves out a generation of 0.
        resource_provider_generation: generation.filter(|g| g.0 != 0).map(|g| g.0),
    }
}

/// upstream's `pick_last_modified` for one inventory: a record without
/// timestamps (one built from the request) counts as now.
fn last_modified(inventory: Option<&Inventory>) -> NaiveDateTime {
    inventory
        .and_then(|i| i.updated_at.or(i.created_at))
        .unwrap_or_else(util::utcnow)
}

/// upstream's `_send_inventory`.
fn send_inventory(
    mv: Microversion,
    status: StatusCode,
    record: &InventoryRecord,
    sent: Option<&PyValue>,
    generation: Generation,
    modified: NaiveDateTime,
) -> Result<Response, ApiError> {
    let mut response = (status, PyJson(serialize(record, sent, Some(generation)))).into_response();
    if mv.matches(1, 15) {
        util::set_cache_headers(response.headers_mut(), Some(modified));
    }
    Ok(response)
}

/// upstream's `_send_inventories`; `modified` is `None` for an empty list,
/// which leaves `Last-Modified` out.
fn send_inventories(
    mv: Microversion,
    generation: Generation,
    records: &[(&InventoryRecord, Option<&PyValue>, NaiveDateTime)],
) -> Result<Response, ApiError> {
    let mut inventories = Vec::with_capacity(records.len());
    let mut modified: Option<NaiveDateTime> = None;
    for (record, sent, when) in records {
        modified = Some(modified.map_or(*when, |m| m.max(*when)));
        inventories.push((
            record.resource_class.clone(),
            serialize(record, *sent, None),
        ));
    }
    let body = InventoriesBody {
        resource_provider_generation: generation.0,
        inventories: ByClass(inventories),
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(1, 15) {
        util::set_cache_headers(response.headers_mut(), modified);
    }
    Ok(response)
}

/// upstream's `ResourceProvider.get_by_uuid` at the top of a write handler.
async fn provider(state: &AppState, uuid: &str) -> Result<ResourceProvider, ApiError> {
    rp_store::get_resource_provider(&state.store, uuid)
        .await
        .map_err(ApiError::from)
}

fn int_field(data: &PyValue, name: &str, default: i64) -> i64 {
    match data.get(name) {
        Some(PyValue::Int(digits)) => digits.parse().unwrap_or(default),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the schema admitted an integral float within 2^31"
        )]
        Some(PyValue::Float(f)) => *f as i64,
        _ => default,
    }
}

/// The inventory of `class` a schema-valid body describes, with upstream's
/// `INVENTORY_DEFAULTS` for what it leaves out (also the reshaper's
/// `make_inventory_object`).
pub(super) fn record_from(
    data: &PyValue,
    class: &str,
    rp: &ResourceProvider,
) -> Result<InventoryRecord, ApiError> {
    let allocation_ratio = match data.get("allocation_ratio") {
        Some(PyValue::Int(digits)) => digits.parse().unwrap_or(f64::NAN),
        Some(PyValue::Float(f)) => *f,
        _ => 1.0,
    };
    // NOTE(upstream): a NaN ratio passes upstream's schema and fails
    // computing capacity, a 500; we refuse it with make_inventory_object's
    // 400 text.
    if !allocation_ratio.is_finite() {
        return Err(ApiError::bad_request(format!(
            "Bad inventory {class} for resource provider {}: allocation_ratio must be a finite number",
            rp.uuid
        )));
    }
    let defaults = InventoryRecord::with_defaults(class, 0);
    Ok(InventoryRecord {
        resource_class: class.to_owned(),
        total: int_field(data, "total", 0),
        reserved: int_field(data, "reserved", defaults.reserved),
        min_unit: int_field(data, "min_unit", defaults.min_unit),
        max_unit: int_field(data, "max_unit", defaults.max_unit),
        step_size: int_field(data, "step_size", defaults.step_size),
        allocation_ratio,
    })
}

/// upstream's `_validate_inventory_capacity`: capacity must be positive
/// before 1.26 and non-negative from it.
fn check_capacity(
    mv: Microversion,
    records: &[InventoryRecord],
    rp: &ResourceProvider,
    prefix: &str,
) -> Result<(), ApiError> {
    let can_be_total = mv.matches(1, 26);
    for record in records {
        if !record.limits().capacity_is_valid(can_be_total) {
            let tail = if can_be_total {
                "The reserved value is greater than total."
            } else {
                "The reserved value is greater than or equal to total."
            };
            return Err(ApiError::bad_request(format!(
                "{prefix} {}: Invalid inventory for '{}' on resource provider '{}'. {tail}",
                rp.uuid, record.resource_class, rp.uuid
            )));
        }
    }
    Ok(())
}

fn body_generation(data: &PyValue) -> Option<Generation> {
    match data.get("resource_provider_generation") {
        Some(PyValue::Int(digits)) => digits.parse().ok().map(Generation),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an integral float, as the schema admitted"
        )]
        Some(PyValue::Float(f)) => Some(Generation(*f as i64)),
        _ => None,
    }
}

/// The early generation check of upstream's PUT handlers.
fn check_generation(data: &PyValue, rp: &ResourceProvider) -> Result<Generation, ApiError> {
    match body_generation(data) {
        Some(g) if g == rp.generation => Ok(g),
        _ => {
            Err(ApiError::conflict(store::GENERATION_CONFLICT)
                .with_code(ErrorCode::ConcurrentUpdate))
        }
    }
}

/// `GET /resource_providers/{uuid}/inventories`.
async fn get_inventories(
    WantVersion(mv): WantVersion,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:list",
    )?;
    let found = store::get_inventories(&state.store, &uuid)
        .await
        .map_err(|e| match e {
            StoreError::ResourceProviderNotFound(_) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found : {e}"))
            }
            other => other.into(),
        })?;
    let records: Vec<_> = found
        .inventories
        .iter()
        .map(|i| (&i.record, None, last_modified(Some(i))))
        .collect();
    send_inventories(mv, found.provider.generation, &records)
}

/// `GET /resource_providers/{uuid}/inventories/{resource_class}`.
async fn get_inventory(
    WantVersion(mv): WantVersion,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (uuid, class) = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:show",
    )?;
    let found = store::get_inventories(&state.store, &uuid)
        .await
        .map_err(|e| match e {
            StoreError::ResourceProviderNotFound(_) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found : {e}"))
            }
            other => other.into(),
        })?;
    let inventory = found
        .inventories
        .iter()
        .find(|i| i.record.resource_class == class)
        .ok_or_else(|| ApiError::not_found(format!("No inventory of class {class} for {uuid}")))?;
    send_inventory(
        mv,
        StatusCode::OK,
        &inventory.record,
        None,
        found.provider.generation,
        last_modified(Some(inventory)),
    )
}

/// `POST /resource_providers/{uuid}/inventories`: 201 with `Location`.
async fn create_inventory(
    WantVersion(mv): WantVersion,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:create",
    )?;
    let (parts, body) = request.into_parts();
    let rp = provider(&state, &uuid).await?;
    let data = extract_json(
        &util::read_body(body).await?,
        &inv_schema::POST_INVENTORY_SCHEMA,
    )?;
    let class = data
        .get("resource_class")
        .and_then(PyValue::as_str)
        .unwrap_or_default()
        .to_owned();
    let record = record_from(&data, &class, &rp)?;
    let unable = "Unable to create inventory for resource provider";
    check_capacity(mv, std::slice::from_ref(&record), &rp, unable)?;
    let written: ProviderInventories = store::add_inventory(&state.store, &uuid, &record)
        .await
        .map_err(|e| match e {
            StoreError::ConcurrentUpdate(_) | StoreError::InventoryExists { .. } => {
                ApiError::conflict(format!("Update conflict: {e}"))
                    .with_code(ErrorCode::ConcurrentUpdate)
            }
            StoreError::ResourceClassNotFound(_) | StoreError::ResourceProviderNotFound(_) => {
                ApiError::bad_request(format!("{unable} {}: {e}", rp.uuid))
            }
            other => other.into(),
        })?;
    let mut response = send_inventory(
        mv,
        StatusCode::CREATED,
        &record,
        Some(&data),
        written.provider.generation,
        last_modified(None),
    )?;
    let url = format!(
        "{}/resource_providers/{}/inventories/{class}",
        state.settings.url_prefix.as_str(),
        rp.uuid
    );
    if let Some(location) = util::absolute_location(&parts.headers, &url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /resource_providers/{uuid}/inventories`: replace every inventory.
async fn set_inventories(
    WantVersion(mv): WantVersion,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:update",
    )?;
    let rp = provider(&state, &uuid).await?;
    let data = extract_json(
        &util::read_body(body).await?,
        &inv_schema::PUT_INVENTORY_SCHEMA,
    )?;
    let generation = check_generation(&data, &rp)?;
    let mut records = Vec::new();
    let mut sent = Vec::new();
    if let Some(PyValue::Object(items)) = data.get("inventories") {
        for (class, raw) in items {
            records.push(record_from(raw, class, &rp)?);
            sent.push(raw);
        }
    }
    let unable = "Unable to update inventory for resource provider";
    check_capacity(mv, &records, &rp, unable)?;
    let written = store::set_inventories(&state.store, &uuid, Some(generation), &records)
        .await
        .map_err(|e| match e {
            StoreError::ResourceClassNotFound(_) => ApiError::bad_request(format!(
                "Unknown resource class in inventory for resource provider {}: {e}",
                rp.uuid
            )),
            StoreError::InventoryWithResourceClassNotFound(_) => ApiError::conflict(format!(
                "Race condition detected when setting inventory. No inventory record with \
                 resource class for resource provider {}: {e}",
                rp.uuid
            )),
            StoreError::ConcurrentUpdate(_) => ApiError::conflict(format!("update conflict: {e}"))
                .with_code(ErrorCode::ConcurrentUpdate),
            StoreError::InventoryInUse { .. } => {
                ApiError::conflict(format!("update conflict: {e}"))
                    .with_code(ErrorCode::InventoryInuse)
            }
            other => other.into(),
        })?;
    let now = util::utcnow();
    let rendered: Vec<_> = records
        .iter()
        .zip(sent)
        .map(|(r, raw)| (r, Some(raw), now))
        .collect();
    send_inventories(mv, written.provider.generation, &rendered)
}

/// `DELETE /resource_providers/{uuid}/inventories`: from 1.5; a 405
/// without `Allow` before, as upstream's `version_handler(status_code=405)`.
async fn delete_inventories(
    WantVersion(mv): WantVersion,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    if !mv.matches(1, 5) {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified is not allowed for this resource.",
        ));
    }
    let uuid = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:delete",
    )?;
    let rp = provider(&state, &uuid).await?;
    store::set_inventories(&state.store, &uuid, None, &[])
        .await
        .map_err(|e| match e {
            StoreError::ConcurrentUpdate(_) => ApiError::conflict(format!(
                "Unable to delete inventory for resource provider {} because the inventory \
                 was updated by another process. Please retry your request.",
                rp.uuid
            ))
            .with_code(ErrorCode::ConcurrentUpdate),
            StoreError::InventoryInUse { .. } => {
                ApiError::conflict(e.to_string()).with_code(ErrorCode::InventoryInuse)
            }
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /resource_providers/{uuid}/inventories/{resource_class}`.
async fn update_inventory(
    WantVersion(mv): WantVersion,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let (uuid, class) = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:update",
    )?;
    let rp = provider(&state, &uuid).await?;
    let data = extract_json(
        &util::read_body(body).await?,
        &inv_schema::BASE_INVENTORY_SCHEMA,
    )?;
    let generation = check_generation(&data, &rp)?;
    let record = record_from(&data, &class, &rp)?;
    check_capacity(
        mv,
        std::slice::from_ref(&record),
        &rp,
        "Unable to update inventory for resource provider",
    )?;
    let written = store::update_inventory(&state.store, &uuid, generation, &record)
        .await
        .map_err(|e| match e {
            StoreError::ConcurrentUpdate(_) => ApiError::conflict(format!("update conflict: {e}"))
                .with_code(ErrorCode::ConcurrentUpdate),
            StoreError::InventoryWithResourceClassNotFound(_) => ApiError::bad_request(format!(
                "No inventory record with resource class for resource provider {}: {e}",
                rp.uuid
            )),
            other => other.into(),
        })?;
    send_inventory(
        mv,
        StatusCode::OK,
        &record,
        Some(&data),
        written.provider.generation,
        last_modified(None),
    )
}

/// `DELETE /resource_providers/{uuid}/inventories/{resource_class}`.
async fn delete_inventory(
    WantVersion(_): WantVersion,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (uuid, class) = util::path_item(path)?;
    util::authorize(
        &state,
        &context,
        "placement:resource_providers:inventories:delete",
    )?;
    provider(&state, &uuid).await?;
    store::delete_inventory(&state.store, &uuid, &class)
        .await
        .map_err(|e| match e {
            // upstream maps in-use to the concurrent-update code here.
            StoreError::ConcurrentUpdate(_) | StoreError::InventoryInUse { .. } => {
                ApiError::conflict(format!("Unable to delete inventory of class {class}: {e}"))
                    .with_code(ErrorCode::ConcurrentUpdate)
            }
            StoreError::InventoryNotFoundForDelete(_) | StoreError::ResourceClassNotFound(_) => {
                ApiError::not_found(format!(
                    "No inventory of class {class} found for delete: {e}"
                ))
            }
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
