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
use placement_store::ops::allocation as store;
use placement_store::ops::resource_provider as rp_store;
use placement_store::Error as StoreError;

use super::allocation::{self, int_of, raised_before_write};
use super::{inventory, util};
use crate::body::{extract_json, PyValue};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{JsonContent, WantVersion};
use crate::routes::Route;
use crate::schema::pyrepr::repr;
use crate::schema::reshaper::post_schema;
use crate::settings::AppState;

/// This module's row of the route table.
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::new("/reshaper").post(reshape)]
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
    let data = extract_json(&util::read_body(body).await?, post_schema(mv))?;
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
