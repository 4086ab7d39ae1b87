//! `GET /allocation_candidates` (upstream `handlers/allocation_candidate.py`):
//! which combinations of providers could satisfy a request, as bodies a
//! client can `PUT /allocations/{consumer}`, with summaries of the providers
//! involved.
//!
//! The handler checks in upstream's order (version, `Accept`, policy, the
//! query schema, the query language, `group_policy`), hands the parsed
//! request to the store op (which reads a snapshot and runs the engine in
//! `placement_core::candidates`), and renders the answer for its
//! microversion.

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use placement_core::candidates::model::{EngineOptions, NamedRequest};
use placement_core::microversion::Microversion;
use placement_core::request_groups::{parse_candidates_query, CandidatesQuery};
use placement_store::ops::allocation_candidates::{self as store, CandidatesAnswer};
use placement_store::Error as StoreError;
use serde_json::{Map, Value};

use super::util;
use crate::error::ApiError;
use crate::extract::{AcceptJson, WantVersion};
use crate::json::PyJson;
use crate::query::QueryParams;
use crate::request_groups::capabilities;
use crate::routes::Route;
use crate::schema::allocation_candidate;
use crate::settings::AppState;

/// The route, in upstream's position (after the allocations routes).
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::new("/allocation_candidates").get(list_allocation_candidates)]
}

/// The first version with the route.
const INTRODUCED: (u16, u16) = (1, 10);
/// `allocation_requests` become dicts keyed by provider UUID.
const DICT_REQUESTS: (u16, u16) = (1, 12);
/// `Cache-Control` and `Last-Modified`.
const CACHE_HEADERS: (u16, u16) = (1, 15);
/// Provider summaries list the provider's traits.
const SUMMARY_TRAITS: (u16, u16) = (1, 17);
/// Provider summaries list every inventory, not only the requested classes.
const ALL_RESOURCES: (u16, u16) = (1, 27);
/// Nested-aware: whole trees, with parent and root UUIDs in summaries.
const NESTED: (u16, u16) = (1, 29);
/// Each allocation request carries `mappings`.
const MAPPINGS: (u16, u16) = (1, 34);

/// `GET /allocation_candidates` (1.10+).
pub(crate) async fn list_allocation_candidates(
    State(state): State<AppState>,
    mut parts: Parts,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(INTRODUCED.0, INTRODUCED.1)?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:allocation_candidates:list").await?;
    let params = QueryParams::parse(raw_query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    params
        .validate(allocation_candidate::get_schema(mv))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let query = parse_candidates_query(params.all(), capabilities(mv))?;
    let named = NamedRequest::try_from(&query).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let settings = state.settings.candidates;
    let options = EngineOptions {
        limit: query.params.limit,
        max_candidates: settings.cap(),
        strategy: settings.strategy,
        random_seed: settings.randomize.then(random_seed),
        drop_multi_provider_trees: !mv.matches(NESTED.0, NESTED.1),
    };
    let answer = store::allocation_candidates(&state.store, &named, &options)
        .await
        .map_err(|e| match e {
            StoreError::CandidatesRequest(lazy) => ApiError::bad_request(lazy.to_string()),
            other => ApiError::internal(other),
        })?;
    if let Some(metrics) = &state.metrics {
        metrics.candidates_answered(answer.candidates.len(), answer.summaries.len());
    }
    let body = render(&answer, &query, mv);
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
    }
    Ok(response)
}

/// A fresh seed per request, so that randomized answers differ between
/// requests as upstream's `random.sample` does.
fn random_seed() -> u64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(seed)
}

/// The response body for `mv`.
fn render(answer: &CandidatesAnswer, query: &CandidatesQuery, mv: Microversion) -> Value {
    let requests: Vec<Value> = answer
        .candidates
        .iter()
        .map(|c| {
            let mut item = Map::new();
            if mv.matches(DICT_REQUESTS.0, DICT_REQUESTS.1) {
                let allocations: Map<String, Value> = c
                    .allocations
                    .iter()
                    .map(|(rp, resources)| {
                        let mut entry = Map::new();
                        entry.insert("resources".to_owned(), amounts(resources));
                        (rp.clone(), Value::Object(entry))
                    })
                    .collect();
                item.insert("allocations".to_owned(), Value::Object(allocations));
                if mv.matches(MAPPINGS.0, MAPPINGS.1) {
                    let mappings: Map<String, Value> = c
                        .mappings
                        .iter()
                        .map(|(suffix, rps)| {
                            let list = rps.iter().map(|u| Value::String(u.clone())).collect();
                            (suffix.clone(), Value::Array(list))
                        })
                        .collect();
                    item.insert("mappings".to_owned(), Value::Object(mappings));
                }
            } else {
                let allocations: Vec<Value> = c
                    .allocations
                    .iter()
                    .map(|(rp, resources)| {
                        let mut provider = Map::new();
                        provider.insert("uuid".to_owned(), Value::String(rp.clone()));
                        let mut entry = Map::new();
                        entry.insert("resource_provider".to_owned(), Value::Object(provider));
                        entry.insert("resources".to_owned(), amounts(resources));
                        Value::Object(entry)
                    })
                    .collect();
                item.insert("allocations".to_owned(), Value::Array(allocations));
            }
            Value::Object(item)
        })
        .collect();

    let all_resources = mv.matches(ALL_RESOURCES.0, ALL_RESOURCES.1);
    let requested: BTreeSet<&str> = query
        .groups
        .iter()
        .flat_map(|g| g.resources.iter().map(|(class, _)| class.as_str()))
        .collect();
    let mut summaries = Map::new();
    for ps in &answer.summaries {
        let mut resources = Map::new();
        for r in &ps.resources {
            if !all_resources && !requested.contains(r.resource_class.as_str()) {
                continue;
            }
            let mut figures = Map::new();
            figures.insert("capacity".to_owned(), Value::from(r.capacity));
            figures.insert("used".to_owned(), Value::from(r.used));
            resources.insert(r.resource_class.clone(), Value::Object(figures));
        }
        let mut entry = Map::new();
        entry.insert("resources".to_owned(), Value::Object(resources));
        if mv.matches(SUMMARY_TRAITS.0, SUMMARY_TRAITS.1) {
            let traits = ps.traits.iter().map(|t| Value::String(t.clone())).collect();
            entry.insert("traits".to_owned(), Value::Array(traits));
        }
        if mv.matches(NESTED.0, NESTED.1) {
            entry.insert(
                "parent_provider_uuid".to_owned(),
                ps.parent_uuid.clone().map_or(Value::Null, Value::String),
            );
            entry.insert(
                "root_provider_uuid".to_owned(),
                Value::String(ps.root_uuid.clone()),
            );
        }
        summaries.insert(ps.uuid.clone(), Value::Object(entry));
    }

    let mut body = Map::new();
    body.insert("allocation_requests".to_owned(), Value::Array(requests));
    body.insert("provider_summaries".to_owned(), Value::Object(summaries));
    Value::Object(body)
}

/// `{class: amount}`.
fn amounts(resources: &std::collections::BTreeMap<String, i64>) -> Value {
    Value::Object(
        resources
            .iter()
            .map(|(class, amount)| (class.clone(), Value::from(*amount)))
            .collect(),
    )
}
