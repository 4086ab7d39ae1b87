//! Allocations (upstream `handlers/allocation.py`): a consumer's allocations
//! (`GET`/`PUT`/`DELETE /allocations/{consumer_uuid}`), several consumers'
//! at once (`POST /allocations`, 1.13+) and a provider's
//! (`GET /resource_providers/{uuid}/allocations`).
//!
//! The request body changes shape with the microversion: a list of
//! providers before 1.12, a dict keyed by provider from it; owners are
//! required from 1.8, the consumer generation from 1.28, `mappings` may be
//! sent from 1.34 (checked, not stored) and the consumer type is required
//! from 1.38. Every shape is parsed into the store's
//! [`AllocationRequest`]s here; the store runs ensure-consumer, the writes
//! and the compensation as one unit of work. Store errors are mapped at each
//! call site, because upstream words the same failure differently on `PUT`,
//! `POST` and the reshaper.
//!
//! The body schemas are upstream's `schemas/allocation.py`, node for node,
//! each with its `pprint` text (jsonschema prints the failing node).

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::allocation::{
    AllocationRequest, ConsumerAllocations, ConsumerGenerationCheck, ProviderResources,
};
use placement_core::ids::{ConsumerUuid, Generation};
use placement_core::microversion::Microversion;
use placement_core::resource_provider::parse_uuid_like;
use placement_store::ops::allocation::{self as store, ProviderAllocations};
use placement_store::Error as StoreError;
use serde::ser::SerializeMap as _;
use serde::Serialize;

use super::util;
use crate::body::{extract_json, PyValue};
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::routes::Route;
use crate::schema::allocation::{post_schema, put_schema};
use crate::settings::{AppState, HttpSettings};

/// The provider's row of the route table.
pub(crate) fn provider_routes() -> Vec<Route> {
    vec![Route::new("/resource_providers/{uuid}/allocations").get(list_for_resource_provider)]
}

/// The consumer rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new("/allocations").post(set_allocations),
        Route::new("/allocations/{consumer_uuid}")
            .get(list_for_consumer)
            .put(set_allocations_for_consumer)
            .delete(delete_allocations),
    ]
}

/// The version from which responses carry `Last-Modified` and
/// `Cache-Control`.
const CACHE_HEADERS: (u16, u16) = (1, 15);

// ---------------------------------------------------------------------------
// Request bodies into the store's requests.

/// A schema-valid JSON integer as an `i64`: digits beyond the range
/// saturate (the capacity check then refuses them), and an integral float
/// counts, as `jsonschema`'s `integer` admits it.
pub(super) fn int_of(value: &PyValue) -> Option<i64> {
    match value {
        PyValue::Int(digits) => Some(digits.parse().unwrap_or(if digits.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        })),
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an integral float as the schema admitted it; `as` saturates"
        )]
        PyValue::Float(f) if f.is_finite() && f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

fn entries(value: Option<&PyValue>) -> &[(String, PyValue)] {
    match value {
        Some(PyValue::Object(items)) => items,
        _ => &[],
    }
}

/// `{"VCPU": 2, …}` as (class, amount) pairs in request order.
fn amounts(resources: Option<&PyValue>) -> Vec<(String, i64)> {
    entries(resources)
        .iter()
        .filter_map(|(class, amount)| int_of(amount).map(|n| (class.clone(), n)))
        .collect()
}

/// The providers and amounts of one consumer's `allocations`: a list of
/// `{resource_provider: {uuid}, resources}` before 1.12 (a provider listed
/// twice keeps its first position and its last resources, as the dict
/// upstream builds does), a dict keyed by provider uuid from 1.12.
fn provider_resources(allocations: Option<&PyValue>, list_format: bool) -> Vec<ProviderResources> {
    let mut out: Vec<ProviderResources> = Vec::new();
    if list_format {
        let items = match allocations {
            Some(PyValue::List(items)) => items.as_slice(),
            _ => &[],
        };
        for item in items {
            let provider = item
                .get("resource_provider")
                .and_then(|rp| rp.get("uuid"))
                .and_then(PyValue::as_str)
                .unwrap_or_default()
                .to_owned();
            let resources = amounts(item.get("resources"));
            match out.iter_mut().find(|p| p.provider == provider) {
                Some(existing) => existing.resources = resources,
                None => out.push(ProviderResources {
                    provider,
                    resources,
                }),
            }
        }
    } else {
        for (provider, allocation) in entries(allocations) {
            out.push(ProviderResources {
                provider: provider.clone(),
                resources: amounts(allocation.get("resources")),
            });
        }
    }
    out
}

/// One consumer's schema-valid request object (the `PUT` body, or one value
/// of a `POST /allocations` or reshaper body) as the store's request.
pub(super) fn consumer_request(
    consumer: ConsumerUuid,
    data: &PyValue,
    mv: Microversion,
    settings: &HttpSettings,
) -> AllocationRequest {
    let text = |name: &str| data.get(name).and_then(PyValue::as_str).map(str::to_owned);
    // upstream's ensure_consumer: no project (before 1.8) charges both
    // owners to the configured incomplete consumer.
    let (project_id, user_id) = match text("project_id") {
        Some(project) => (project, text("user_id").unwrap_or_default()),
        None => (
            settings.incomplete_consumer_project_id.clone(),
            settings.incomplete_consumer_user_id.clone(),
        ),
    };
    let generation = if mv.matches(1, 28) {
        match data.get("consumer_generation").and_then(int_of) {
            Some(g) => ConsumerGenerationCheck::Expect(Generation(g)),
            None => ConsumerGenerationCheck::ExpectNew,
        }
    } else {
        ConsumerGenerationCheck::Unchecked
    };
    let consumer_type = if mv.matches(1, 38) {
        text("consumer_type")
    } else {
        None
    };
    AllocationRequest {
        consumer,
        project_id,
        user_id,
        generation,
        consumer_type,
        allocations: provider_resources(data.get("allocations"), !mv.matches(1, 12)),
    }
}

/// The consumers of a schema-valid `POST /allocations` body (or the
/// reshaper's `allocations`), in body order.
///
/// # Errors
/// A 400 for a key the schema's pattern admits that is no uuid at all
/// (36 hyphens, say).
pub(super) fn post_requests(
    body: Option<&PyValue>,
    mv: Microversion,
    settings: &HttpSettings,
) -> Result<Vec<AllocationRequest>, ApiError> {
    entries(body)
        .iter()
        .map(|(consumer, data)| {
            // NOTE(upstream): upstream uses the key verbatim as the
            // consumer's uuid, so an upper-case key names another consumer
            // than its lower-case form and a key of 36 hyphens is stored as
            // is. Consumers here are real uuids: keys are normalised (as
            // upstream's PUT normalises its path) and a non-uuid is refused.
            let uuid = parse_uuid_like(consumer).map_err(|_| malformed_consumer(consumer))?;
            Ok(consumer_request(ConsumerUuid(uuid), data, mv, settings))
        })
        .collect()
}

fn malformed_consumer(consumer: &str) -> ApiError {
    ApiError::bad_request(format!("Malformed consumer_uuid: {consumer}"))
}

// ---------------------------------------------------------------------------
// Store errors, as each upstream handler wraps them.

/// The failures ensure-consumer and the provider lookup raise as webob
/// errors themselves, the same on every route.
pub(super) fn raised_before_write(e: &StoreError) -> Option<ApiError> {
    match e {
        StoreError::AllocationProviderNotFound(_) => Some(ApiError::bad_request(e.to_string())),
        StoreError::ConsumerGenerationConflict { .. } => {
            Some(ApiError::conflict(e.to_string()).with_code(ErrorCode::ConcurrentUpdate))
        }
        _ => None,
    }
}

/// The `except` clauses of upstream's allocation writers; `not_found` words
/// the 400 for a `NotFound`, which differs between `PUT` and `POST`.
fn write_error(e: StoreError, not_found: impl FnOnce(&StoreError) -> String) -> ApiError {
    if let Some(raised) = raised_before_write(&e) {
        return raised;
    }
    if e.is_not_found() {
        return ApiError::bad_request(not_found(&e));
    }
    if e.is_invalid_inventory() {
        return ApiError::conflict(format!("Unable to allocate inventory: {e}"));
    }
    if e.is_concurrent_update() {
        return ApiError::conflict(format!(
            "Inventory and/or allocations changed while attempting to allocate: {e}"
        ))
        .with_code(ErrorCode::ConcurrentUpdate);
    }
    e.into()
}

// ---------------------------------------------------------------------------
// Responses.

/// A JSON object whose keys keep insertion order, as Python's dicts do.
struct Ordered<T>(Vec<(String, T)>);

impl<T> Ordered<T> {
    fn new() -> Self {
        Self(Vec::new())
    }

    /// The value under `key`, inserted at the end with `make` if absent.
    fn entry(
        &mut self,
        index: &mut HashMap<String, usize>,
        key: &str,
        make: impl FnOnce() -> T,
    ) -> &mut T {
        let at = *index.entry(key.to_owned()).or_insert_with(|| {
            self.0.push((key.to_owned(), make()));
            self.0.len() - 1
        });
        &mut self.0[at].1
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// One provider's part of a consumer's allocations.
#[derive(Serialize)]
struct ProviderPart {
    resources: Ordered<i64>,
    generation: i64,
}

/// upstream's `_serialize_allocations_for_consumer`.
#[derive(Serialize)]
struct ConsumerBody {
    allocations: Ordered<ProviderPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_generation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_type: Option<String>,
}

/// One consumer's part of a provider's allocations.
#[derive(Serialize)]
struct ConsumerPart {
    resources: Ordered<i64>,
    /// From 1.28; `None` (shown as `null`) is a consumer without a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer_generation: Option<Option<i64>>,
}

/// upstream's `_serialize_allocations_for_resource_provider`.
#[derive(Serialize)]
struct ProviderBody {
    allocations: Ordered<ConsumerPart>,
    resource_provider_generation: i64,
}

/// upstream's `_last_modified_from_allocations`: the newest row's
/// `updated_at` or `created_at`, else now.
fn last_modified(
    rows: impl Iterator<Item = (Option<NaiveDateTime>, Option<NaiveDateTime>)>,
) -> NaiveDateTime {
    rows.filter_map(|(created, updated)| updated.or(created))
        .max()
        .unwrap_or_else(util::utcnow)
}

fn send<T: Serialize>(mv: Microversion, body: T, modified: NaiveDateTime) -> Response {
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(modified));
    }
    response
}

/// upstream's `_serialize_allocations_for_consumer`: owners, generation and
/// type only when there are allocations.
fn consumer_body(mv: Microversion, found: Option<&ConsumerAllocations>) -> ConsumerBody {
    let mut body = ConsumerBody {
        allocations: Ordered::new(),
        project_id: None,
        user_id: None,
        consumer_generation: None,
        consumer_type: None,
    };
    let Some(found) = found.filter(|f| !f.allocations.is_empty()) else {
        return body;
    };
    let mut index = HashMap::new();
    for row in &found.allocations {
        let part = body
            .allocations
            .entry(&mut index, &row.provider.to_string(), || ProviderPart {
                resources: Ordered::new(),
                generation: row.provider_generation.0,
            });
        part.resources
            .0
            .push((row.resource_class.clone(), row.used));
        part.generation = row.provider_generation.0;
    }
    if mv.matches(1, 12) {
        let consumer = &found.consumer;
        body.project_id = Some(consumer.project.external_id.clone());
        body.user_id = Some(consumer.user.external_id.clone());
        if mv.matches(1, 28) {
            body.consumer_generation = Some(consumer.generation.0);
        }
        if mv.matches(1, 38) {
            // A consumer written before 1.38 has no type: upstream's type
            // cache names it `unknown`.
            body.consumer_type = Some(
                consumer
                    .consumer_type
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), |t| t.name.clone()),
            );
        }
    }
    body
}

// ---------------------------------------------------------------------------
// Handlers.

/// `GET /allocations/{consumer_uuid}`: the consumer's allocations, or
/// `{"allocations": {}}` for a consumer with none (never a 404: upstream
/// cannot tell an unknown consumer from one without allocations).
async fn list_for_consumer(
    WantVersion(mv): WantVersion,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let consumer = util::path_item(path)?;
    util::authorize(&state, &context, "placement:allocations:list")?;
    let found = store::get_for_consumer(&state.store, &consumer)
        .await
        .map_err(ApiError::internal)?;
    let modified = last_modified(
        found
            .iter()
            .flat_map(|f| f.allocations.iter())
            .map(|a| (a.created_at, a.updated_at)),
    );
    Ok(send(mv, consumer_body(mv, found.as_ref()), modified))
}

/// `GET /resource_providers/{uuid}/allocations`.
async fn list_for_resource_provider(
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
        "placement:resource_providers:allocations:list",
    )?;
    let found: ProviderAllocations =
        store::get_for_provider(&state.store, &uuid)
            .await
            .map_err(|e| match e {
                StoreError::ResourceProviderNotFound(_) => {
                    ApiError::not_found(format!("Resource provider '{uuid}' not found: {e}"))
                }
                other => other.into(),
            })?;
    // NOTE(upstream): upstream's query has no ORDER BY, so its consumer
    // order is whatever the database's plan gives; ours is the store's
    // (by consumer), which is stable.
    let show_generation = mv.matches(1, 28);
    let mut allocations = Ordered::new();
    let mut index = HashMap::new();
    for row in &found.allocations {
        let part = allocations.entry(&mut index, &row.consumer, || ConsumerPart {
            resources: Ordered::new(),
            consumer_generation: None,
        });
        part.resources
            .0
            .push((row.resource_class.clone(), row.used));
    }
    if show_generation {
        for (consumer, part) in &mut allocations.0 {
            part.consumer_generation = Some(
                found
                    .consumer_generations
                    .get(consumer.as_str())
                    .map(|g| g.0),
            );
        }
    }
    let modified = last_modified(
        found
            .allocations
            .iter()
            .map(|a| (a.created_at, a.updated_at)),
    );
    let body = ProviderBody {
        allocations,
        resource_provider_generation: found.provider.generation.0,
    };
    Ok(send(mv, body, modified))
}

/// `PUT /allocations/{consumer_uuid}`: replace the consumer's allocations
/// (an empty dict, from 1.28, removes them and the consumer); 204.
async fn set_allocations_for_consumer(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let WantVersion(mv) = WantVersion::from_request_parts(&mut parts, &state).await?;
    JsonContent::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:allocations:update").await?;
    let raw = util::path_item(Path::<String>::from_request_parts(&mut parts, &state).await)?;
    let uuid = parse_uuid_like(&raw).map_err(|_| malformed_consumer(&raw))?;
    let consumer = ConsumerUuid(uuid);
    let data = extract_json(&util::read_body(body).await?, put_schema(mv))?;
    let request = consumer_request(consumer, &data, mv, &state.settings);
    store::replace(
        &state.store,
        std::slice::from_ref(&request),
        state.settings.allocation_write_options(),
    )
    .await
    .map_err(|e| {
        write_error(e, |e| {
            format!("Unable to allocate inventory for consumer {consumer}: {e}")
        })
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /allocations` (1.13+): replace several consumers' allocations in
/// one transaction; 204.
async fn set_allocations(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(1, 13)?;
    JsonContent::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:allocations:manage").await?;
    let data = extract_json(&util::read_body(body).await?, post_schema(mv))?;
    let requests = post_requests(Some(&data), mv, &state.settings)?;
    store::replace(
        &state.store,
        &requests,
        state.settings.allocation_write_options(),
    )
    .await
    .map_err(|e| write_error(e, |e| format!("Unable to allocate inventory {e}")))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /allocations/{consumer_uuid}`: remove every allocation of the
/// consumer and the consumer, without a generation check; 204, or 404 when
/// it has none.
async fn delete_allocations(
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let consumer = util::path_item(path)?;
    util::authorize(&state, &context, "placement:allocations:delete")?;
    store::delete_for_consumer(&state.store, &consumer)
        .await
        .map_err(|e| match e {
            StoreError::AllocationsNotFound(_) => ApiError::not_found(e.to_string()),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::loads;

    #[test]
    fn list_bodies_keep_a_repeated_providers_first_place_and_last_resources() {
        let body = loads(
            br#"{"allocations": [
                {"resource_provider": {"uuid": "a"}, "resources": {"VCPU": 1}},
                {"resource_provider": {"uuid": "b"}, "resources": {"DISK_GB": 2}},
                {"resource_provider": {"uuid": "a"}, "resources": {"VCPU": 3, "MEMORY_MB": 4.0}}
            ]}"#,
        )
        .unwrap();
        let settings = HttpSettings::new(crate::AuthStrategy::NoAuth2);
        let consumer = ConsumerUuid::new_v4();
        let mv = Microversion::new(1, 0);
        let request = consumer_request(consumer, &body, mv, &settings);
        assert_eq!(
            request.allocations,
            vec![
                ProviderResources {
                    provider: "a".into(),
                    resources: vec![("VCPU".into(), 3), ("MEMORY_MB".into(), 4)],
                },
                ProviderResources {
                    provider: "b".into(),
                    resources: vec![("DISK_GB".into(), 2)],
                },
            ]
        );
        assert_eq!(request.generation, ConsumerGenerationCheck::Unchecked);
        assert_eq!(request.project_id, settings.incomplete_consumer_project_id);
        assert_eq!(request.consumer_type, None);
    }

    #[test]
    fn dict_bodies_carry_owners_generation_and_type_by_microversion() {
        let body = loads(
            br#"{"allocations": {}, "project_id": "p", "user_id": "u",
                 "consumer_generation": 3, "consumer_type": "INSTANCE"}"#,
        )
        .unwrap();
        let settings = HttpSettings::new(crate::AuthStrategy::NoAuth2);
        let consumer = ConsumerUuid::new_v4();
        let at = |minor| consumer_request(consumer, &body, Microversion::new(1, minor), &settings);
        assert_eq!(at(27).generation, ConsumerGenerationCheck::Unchecked);
        assert_eq!(
            at(28).generation,
            ConsumerGenerationCheck::Expect(Generation(3))
        );
        assert_eq!(at(37).consumer_type, None);
        assert_eq!(at(38).consumer_type.as_deref(), Some("INSTANCE"));
        assert_eq!(
            (at(12).project_id, at(12).user_id),
            ("p".into(), "u".into())
        );
        let new = loads(br#"{"allocations": {}, "consumer_generation": null}"#).unwrap();
        assert_eq!(
            consumer_request(consumer, &new, Microversion::new(1, 28), &settings).generation,
            ConsumerGenerationCheck::ExpectNew
        );
    }

    #[test]
    fn integers_beyond_i64_saturate() {
        assert_eq!(
            int_of(&PyValue::Int("99999999999999999999".into())),
            Some(i64::MAX)
        );
        assert_eq!(
            int_of(&PyValue::Int("-99999999999999999999".into())),
            Some(i64::MIN)
        );
        assert_eq!(int_of(&PyValue::Float(2.0)), Some(2));
        assert_eq!(int_of(&PyValue::Float(2.5)), None);
        assert_eq!(int_of(&PyValue::Null), None);
    }

    #[test]
    fn post_keys_that_are_no_uuid_are_refused() {
        let settings = HttpSettings::new(crate::AuthStrategy::NoAuth2);
        let body = loads(format!(r#"{{"{}": {{}}}}"#, "-".repeat(36)).as_bytes()).unwrap();
        let err = post_requests(Some(&body), Microversion::new(1, 13), &settings).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.detail,
            format!("Malformed consumer_uuid: {}", "-".repeat(36))
        );
    }
}
