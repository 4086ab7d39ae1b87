//! What hangs off one provider besides inventory: its traits
//! (`/resource_providers/{uuid}/traits`, upstream `handlers/trait.py`, from
//! 1.6) and its aggregates (`/resource_providers/{uuid}/aggregates`,
//! upstream `handlers/aggregate.py`, from 1.1; the generation joins the
//! body at 1.19). Both replace the whole set, guarded by the provider
//! generation.
//!
//! Checks run in the order of upstream's decorators and handler bodies,
//! which differ between the two: traits validate the body before reading
//! the provider, aggregates read the provider first.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use placement_core::ids::Generation;
use placement_core::microversion::Microversion;
use placement_core::traits::Trait;
use placement_store::ops::aggregates as agg_store;
use placement_store::ops::provider_traits::{self as trait_store};
use placement_store::Error as StoreError;
use serde::Serialize;

use super::util;
use crate::body::{extract_json, PyValue};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::routes::Route;
use crate::schema::aggregate;
use crate::schema::trait_::SET_TRAITS_FOR_RP_SCHEMA;
use crate::settings::AppState;

/// The aggregate rows of the route table, in upstream's order.
pub(crate) fn aggregate_routes() -> Vec<Route> {
    vec![Route::new("/resource_providers/{uuid}/aggregates")
        .get(get_aggregates)
        .put(set_aggregates)]
}

/// The provider-trait rows of the route table, in upstream's order.
pub(crate) fn trait_routes() -> Vec<Route> {
    vec![Route::new("/resource_providers/{uuid}/traits")
        .get(list_traits_for_resource_provider)
        .put(update_traits_for_resource_provider)
        .delete(delete_traits_for_resource_provider)]
}

/// The version from which responses carry `Last-Modified` and
/// `Cache-Control`.
const CACHE_HEADERS: (u16, u16) = (1, 15);

/// The version from which aggregate bodies carry the generation.
const AGGREGATES_GENERATION: (u16, u16) = (1, 19);

#[derive(Serialize)]
struct TraitsBody {
    traits: Vec<String>,
    resource_provider_generation: i64,
}

#[derive(Serialize)]
struct AggregatesBody {
    aggregates: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_provider_generation: Option<i64>,
}

/// The `{uuid}` path segment; a segment axum cannot decode matches no route.
async fn path_uuid(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    axum::extract::Path::<String>::from_request_parts(parts, state)
        .await
        .map(|axum::extract::Path(uuid)| uuid)
        .map_err(|_| ApiError::not_found("").before_dispatch())
}

/// The client's `resource_provider_generation` (validated as an integer);
/// one beyond `i64` can never match a stored generation.
fn body_generation(data: &PyValue) -> Generation {
    let value = match data.get("resource_provider_generation") {
        Some(PyValue::Int(digits)) => digits.parse().unwrap_or(i64::MIN),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an integral float; out of range saturates to a mismatch"
        )]
        Some(PyValue::Float(f)) => *f as i64,
        _ => i64::MIN,
    };
    Generation(value)
}

/// The strings of a validated list of strings.
fn strings(value: Option<&PyValue>) -> Vec<String> {
    match value {
        Some(PyValue::List(items)) => items
            .iter()
            .filter_map(PyValue::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The newest update or creation time of `traits`, or now when there are
/// none (upstream's `_serialize_traits`).
fn newest(traits: &[Trait]) -> chrono::NaiveDateTime {
    let now = util::utcnow();
    traits
        .iter()
        .map(|t| t.last_modified().unwrap_or(now))
        .max()
        .unwrap_or(now)
}

/// The traits body, with cache headers from 1.15.
fn traits_response(mv: Microversion, traits: Vec<Trait>, generation: Generation) -> Response {
    let last_modified = newest(&traits);
    let body = TraitsBody {
        traits: traits.into_iter().map(|t| t.name).collect(),
        resource_provider_generation: generation.0,
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(last_modified));
    }
    response
}

/// `GET /resource_providers/{uuid}/traits` (version, then `Accept`).
async fn list_traits_for_resource_provider(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 6)?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(
        &state,
        &mut parts,
        "placement:resource_providers:traits:list",
    )
    .await?;
    let uuid = path_uuid(&mut parts, &state).await?;
    let read = match trait_store::get_provider_traits(&state.store, &uuid).await {
        Ok(read) => read,
        Err(e @ StoreError::ResourceProviderNotFound(_)) => {
            return Err(ApiError::not_found(format!(
                "No resource provider with uuid {uuid} found: {e}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(traits_response(mv, read.traits, read.provider.generation))
}

/// `PUT /resource_providers/{uuid}/traits` (version, then content type;
/// the body is validated before the provider is read).
async fn update_traits_for_resource_provider(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 6)?;
    JsonContent::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(
        &state,
        &mut parts,
        "placement:resource_providers:traits:update",
    )
    .await?;
    let uuid = path_uuid(&mut parts, &state).await?;
    let body = util::read_body(body).await?;
    let data = extract_json(&body, &SET_TRAITS_FOR_RP_SCHEMA)?;
    let names = strings(data.get("traits"));
    let generation = body_generation(&data);
    match trait_store::set_provider_traits(&state.store, &uuid, &names, generation).await {
        Ok(set) => Ok(traits_response(mv, set.traits, set.provider.generation)),
        Err(StoreError::TraitNotFound(missing)) => {
            Err(ApiError::bad_request(format!("No such trait {missing}")))
        }
        // NOTE(upstream): a lost compare-and-swap escapes upstream's handler
        // as a 500; we answer 409 with the exception's text.
        Err(StoreError::ConcurrentUpdate(text) | StoreError::GenerationMismatch(text)) => {
            Err(ApiError::conflict(text).with_code(ErrorCode::ConcurrentUpdate))
        }
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /resource_providers/{uuid}/traits`: 204.
async fn delete_traits_for_resource_provider(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 6)?;
    util::authorize_parts(
        &state,
        &mut parts,
        "placement:resource_providers:traits:delete",
    )
    .await?;
    let uuid = path_uuid(&mut parts, &state).await?;
    match trait_store::delete_provider_traits(&state.store, &uuid).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(StoreError::ConcurrentUpdate(text)) => {
            Err(ApiError::conflict(text).with_code(ErrorCode::ConcurrentUpdate))
        }
        Err(e) => Err(e.into()),
    }
}

/// upstream's `_send_aggregates`: the generation from 1.19, cache headers
/// (with `Last-Modified` now) from 1.15.
fn aggregates_response(
    mv: Microversion,
    aggregates: Vec<String>,
    generation: Generation,
) -> Response {
    let body = AggregatesBody {
        aggregates,
        resource_provider_generation: mv
            .matches(AGGREGATES_GENERATION.0, AGGREGATES_GENERATION.1)
            .then_some(generation.0),
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
    }
    response
}

/// `GET /resource_providers/{uuid}/aggregates` (`Accept`, then version).
async fn get_aggregates(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 1)?;
    util::authorize_parts(
        &state,
        &mut parts,
        "placement:resource_providers:aggregates:list",
    )
    .await?;
    let uuid = path_uuid(&mut parts, &state).await?;
    let read = agg_store::get_provider_aggregates(&state.store, &uuid)
        .await
        .map_err(ApiError::from)?;
    Ok(aggregates_response(
        mv,
        read.aggregates,
        read.provider.generation,
    ))
}

/// `PUT /resource_providers/{uuid}/aggregates` (content type, then
/// version; the provider is read before the body is validated).
async fn set_aggregates(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    JsonContent::from_request_parts(&mut parts, &state).await?;
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 1)?;
    util::authorize_parts(
        &state,
        &mut parts,
        "placement:resource_providers:aggregates:update",
    )
    .await?;
    let uuid = path_uuid(&mut parts, &state).await?;
    let consider_generation = mv.matches(AGGREGATES_GENERATION.0, AGGREGATES_GENERATION.1);
    let schema = aggregate::put_schema(mv);
    let body = util::read_body(body).await?;
    let data = match extract_json(&body, schema) {
        Ok(data) => data,
        Err(invalid) => {
            // upstream reads the provider before the body.
            agg_store::get_provider_aggregates(&state.store, &uuid)
                .await
                .map_err(ApiError::from)?;
            return Err(invalid);
        }
    };
    let (aggregates, generation) = if consider_generation {
        (
            strings(data.get("aggregates")),
            Some(body_generation(&data)),
        )
    } else {
        (strings(Some(&data)), None)
    };
    match agg_store::set_provider_aggregates(&state.store, &uuid, &aggregates, generation).await {
        Ok(set) => Ok(aggregates_response(
            mv,
            set.aggregates,
            set.provider.generation,
        )),
        Err(StoreError::GenerationMismatch(text)) => {
            Err(ApiError::conflict(text).with_code(ErrorCode::ConcurrentUpdate))
        }
        Err(StoreError::ConcurrentUpdate(text)) => {
            Err(ApiError::conflict(format!("Update conflict: {text}"))
                .with_code(ErrorCode::ConcurrentUpdate))
        }
        Err(e) => Err(e.into()),
    }
}
