//! `/resource_providers/{uuid}/usages` and `/usages` (upstream
//! `handlers/usage.py`): what a provider's inventory has allocated, and what
//! a project or user holds, grouped by consumer type from 1.38.
//!
//! Both answer "what is used now", so from 1.15 `Last-Modified` is the time
//! of the answer, as upstream chooses.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use placement_core::policy::Target;
use placement_store::ops::usage::{self as store, ConsumerTypeUsages};
use placement_store::Error as StoreError;
use serde::Serialize;
use serde_json::{Map, Value};

use super::util;
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::extract::{AcceptJson, WantVersion};
use crate::json::PyJson;
use crate::query::QueryParams;
use crate::routes::Route;
use crate::schema::usage;
use crate::settings::AppState;

/// The provider usages route, in upstream's position among provider routes.
pub(crate) fn provider_routes() -> Vec<Route> {
    vec![Route::new("/resource_providers/{uuid}/usages").get(list_usages)]
}

/// The total usages route.
pub(crate) fn total_routes() -> Vec<Route> {
    vec![Route::new("/usages").get(get_total_usages)]
}

/// The first version with `GET /usages`.
const TOTAL_USAGES: (u16, u16) = (1, 9);

/// The version from which responses carry `Last-Modified` and
/// `Cache-Control`.
const CACHE_HEADERS: (u16, u16) = (1, 15);

/// The version that groups total usages by consumer type.
const CONSUMER_TYPES: (u16, u16) = (1, 38);

#[derive(Serialize)]
struct ProviderUsagesBody {
    resource_provider_generation: i64,
    usages: BTreeMap<String, i64>,
}

/// `GET /resource_providers/{uuid}/usages`.
pub(crate) async fn list_usages(
    State(state): State<AppState>,
    mut parts: Parts,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state).await?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    let uuid = util::path_item(path)?;
    util::authorize_parts(&state, &mut parts, "placement:resource_providers:usages").await?;
    let found = store::provider_usages(&state.store, &uuid)
        .await
        .map_err(|e| match e {
            StoreError::ResourceProviderNotFound(_) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found: {e}"))
            }
            other => other.into(),
        })?;
    let body = ProviderUsagesBody {
        resource_provider_generation: found.provider.generation.0,
        usages: found.usages.into_iter().collect(),
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
    }
    Ok(response)
}

/// The 1.38 body: `{type: {class: amount, …, "consumer_count": n}}`.
fn by_type_body(groups: Vec<ConsumerTypeUsages>) -> Value {
    let mut usages = Map::new();
    for group in groups {
        let mut entry = Map::new();
        for (class, amount) in group.usages {
            entry.insert(class, Value::from(amount));
        }
        entry.insert(
            "consumer_count".to_owned(),
            Value::from(group.consumer_count),
        );
        usages.insert(group.consumer_type, Value::Object(entry));
    }
    let mut body = Map::new();
    body.insert("usages".to_owned(), Value::Object(usages));
    Value::Object(body)
}

/// `GET /usages?project_id=&user_id=[&consumer_type=]` (1.9+).
pub(crate) async fn get_total_usages(
    State(state): State<AppState>,
    mut parts: Parts,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(TOTAL_USAGES.0, TOTAL_USAGES.1)?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    let params = QueryParams::parse(raw_query.as_deref().unwrap_or_default());
    // upstream's target is the project the query names (`req.GET`, read
    // before any validation), so a reader may see its own project's usages.
    let target = Target(BTreeMap::from([(
        "project_id".to_owned(),
        params
            .as_ref()
            .ok()
            .and_then(|p| p.get("project_id"))
            .map(str::to_owned),
    )]));
    let context = RequestContext::from_request_parts(&mut parts, &state).await?;
    util::authorize_target(&state, &context, "placement:usages", &target)?;
    let params = params.map_err(|e| ApiError::bad_request(e.to_string()))?;
    let by_type = mv.matches(CONSUMER_TYPES.0, CONSUMER_TYPES.1);
    params
        .validate(usage::get_schema(mv))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Validation guarantees a project id; the fallback is never taken.
    let project_id = params.get("project_id").unwrap_or_default();
    let user_id = params.get("user_id");

    let body = if by_type {
        let groups = store::project_usages_by_consumer_type(
            &state.store,
            project_id,
            user_id,
            params.get("consumer_type"),
        )
        .await
        .map_err(ApiError::internal)?;
        by_type_body(groups)
    } else {
        let usages = store::project_usages(&state.store, project_id, user_id)
            .await
            .map_err(ApiError::internal)?;
        let usages: Map<String, Value> = usages
            .into_iter()
            .map(|(class, amount)| (class, Value::from(amount)))
            .collect();
        let mut body = Map::new();
        body.insert("usages".to_owned(), Value::Object(usages));
        Value::Object(body)
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
    }
    Ok(response)
}
