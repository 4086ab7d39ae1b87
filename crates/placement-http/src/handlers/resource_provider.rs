//! `/resource_providers` and `/resource_providers/{uuid}` (upstream
//! `handlers/resource_provider.py`): list with filters, create, show,
//! update (rename, parent changes) and delete, at every microversion.
//!
//! Extractors run in the order of upstream's decorators: `check_accept` on
//! the reads, `require_content` on the writes. Query strings are validated
//! as upstream's `validate_query_params` and `normalize_*_qs_param(s)` do,
//! with their 400 texts.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::microversion::Microversion;
use placement_core::request_groups::parse_provider_filter;
use placement_core::resource_provider::{
    parse_uuid_like, NewProvider, ProviderFilter, ProviderUpdate, ProviderUuid, ResourceProvider,
};
use placement_store::ops::resource_provider as store;
use placement_store::Error as StoreError;
use serde::Serialize;

use super::util;
use crate::body::{extract_json, PyValue};
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::query::QueryParams;
use crate::request_groups::capabilities;
use crate::routes::Route;
use crate::schema::resource_provider as rp_schema;
use crate::settings::AppState;

/// This module's rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new("/resource_providers")
            .get(list_resource_providers)
            .post(create_resource_provider),
        Route::new("/resource_providers/{uuid}")
            .get(get_resource_provider)
            .delete(delete_resource_provider)
            .put(update_resource_provider),
    ]
}

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

#[derive(Serialize)]
struct ProviderBody {
    uuid: String,
    name: String,
    generation: i64,
    links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_provider_uuid: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_provider_uuid: Option<String>,
}

#[derive(Serialize)]
struct ProvidersBody {
    resource_providers: Vec<ProviderBody>,
}

/// upstream's `util.resource_provider_url`: under the mount point.
fn provider_url(state: &AppState, uuid: &ProviderUuid) -> String {
    format!(
        "{}/resource_providers/{uuid}",
        state.settings.url_prefix.as_str()
    )
}

/// upstream's `_serialize_provider`: links grow with the microversion; the
/// tree's uuids appear from 1.14.
fn serialize(state: &AppState, rp: &ResourceProvider, mv: Microversion) -> ProviderBody {
    let url = provider_url(state, &rp.uuid);
    let mut rels = vec!["inventories", "usages"];
    if mv.matches(1, 1) {
        rels.push("aggregates");
    }
    if mv.matches(1, 6) {
        rels.push("traits");
    }
    if mv.matches(1, 11) {
        rels.push("allocations");
    }
    let mut links = vec![Link {
        rel: "self",
        href: url.clone(),
    }];
    links.extend(rels.into_iter().map(|rel| Link {
        rel,
        href: format!("{url}/{rel}"),
    }));
    let tree = mv.matches(1, 14);
    ProviderBody {
        uuid: rp.uuid.to_string(),
        name: rp.name.clone(),
        generation: rp.generation.0,
        links,
        parent_provider_uuid: tree.then(|| rp.parent_provider_uuid.map(|p| p.to_string())),
        root_provider_uuid: tree.then(|| rp.root_provider_uuid.to_string()),
    }
}

/// `GET /resource_providers`.
async fn list_resource_providers(
    WantVersion(mv): WantVersion,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    util::authorize(&state, &context, "placement:resource_providers:list")?;
    let params = QueryParams::parse(raw_query.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let filter = provider_filter(&params, mv)?;
    let providers = store::list_resource_providers(&state.store, &filter)
        .await
        .map_err(|e| match e {
            StoreError::ResourceClassNotFound(_) => ApiError::bad_request(format!(
                "Invalid resource class in resources parameter: {e}"
            )),
            StoreError::TraitNotFound(_) => {
                ApiError::bad_request(format!("Invalid trait(s) in \"required\" parameter: {e}"))
            }
            other => other.into(),
        })?;
    let mut last_modified: Option<NaiveDateTime> = None;
    for rp in &providers {
        // upstream's pick_last_modified: a provider without timestamps
        // counts as now.
        let when = rp.last_modified().unwrap_or_else(util::utcnow);
        last_modified = Some(last_modified.map_or(when, |l| l.max(when)));
    }
    let body = ProvidersBody {
        resource_providers: providers
            .iter()
            .map(|rp| serialize(&state, rp, mv))
            .collect(),
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(1, 15) {
        util::set_cache_headers(
            response.headers_mut(),
            Some(last_modified.unwrap_or_else(util::utcnow)),
        );
    }
    Ok(response)
}

/// The filters the query string asks for, with upstream's 400s in
/// upstream's order: the schema here, then core's parser (`member_of`,
/// `required`, `resources`).
fn provider_filter(params: &QueryParams, mv: Microversion) -> Result<ProviderFilter, ApiError> {
    params
        .validate(rp_schema::list_schema(mv))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(parse_provider_filter(params.all(), capabilities(mv))?)
}

/// `POST /resource_providers`: 201 without a body before 1.20, 200 with
/// the provider from 1.20; `Location` either way.
async fn create_resource_provider(
    WantVersion(mv): WantVersion,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Result<Response, ApiError> {
    util::authorize(&state, &context, "placement:resource_providers:create")?;
    let (parts, body) = request.into_parts();
    let schema = rp_schema::post_schema(mv);
    let data = extract_json(&util::read_body(body).await?, schema)?;
    let name = data
        .get("name")
        .and_then(PyValue::as_str)
        .unwrap_or_default()
        .to_owned();
    let uuid = match data.get("uuid").and_then(PyValue::as_str) {
        Some(given) if !given.is_empty() => parse_uuid_like(given)
            .map(ProviderUuid)
            .map_err(ApiError::internal)?,
        _ => ProviderUuid::new_v4(),
    };
    let parent = data
        .get("parent_provider_uuid")
        .and_then(PyValue::as_str)
        .map(str::to_owned);
    let unable = |reason: &dyn std::fmt::Display| {
        ApiError::bad_request(format!(
            "Unable to create resource provider \"{name}\", {uuid}: {reason}"
        ))
    };
    if name.is_empty() {
        return Err(unable(
            &"Object action create failed because: name is required",
        ));
    }
    let new = NewProvider {
        uuid,
        name: name.clone(),
        parent_provider_uuid: parent,
    };
    let created = match store::create_resource_provider(&state.store, &new).await {
        Ok(created) => created,
        Err(e @ (StoreError::DuplicateProviderName(_) | StoreError::DuplicateProviderUuid(_))) => {
            return Err(ApiError::conflict(e.to_string()).with_code(ErrorCode::DuplicateName))
        }
        Err(e @ StoreError::ProviderActionError { .. }) => return Err(unable(&e)),
        Err(e) => return Err(e.into()),
    };
    let location = util::absolute_location(&parts.headers, &provider_url(&state, &created.uuid));
    let mut response = if mv.matches(1, 20) {
        let mut response = PyJson(serialize(&state, &created, mv)).into_response();
        // upstream's new object carries no timestamps, so
        // pick_last_modified falls back to now.
        util::set_cache_headers(response.headers_mut(), Some(util::utcnow()));
        response
    } else {
        StatusCode::CREATED.into_response()
    };
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /resource_providers/{uuid}`.
async fn get_resource_provider(
    WantVersion(mv): WantVersion,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(&state, &context, "placement:resource_providers:show")?;
    let rp = store::get_resource_provider(&state.store, &uuid)
        .await
        .map_err(ApiError::from)?;
    let mut response = PyJson(serialize(&state, &rp, mv)).into_response();
    if mv.matches(1, 15) {
        util::set_cache_headers(
            response.headers_mut(),
            Some(rp.last_modified().unwrap_or_else(util::utcnow)),
        );
    }
    Ok(response)
}

/// `PUT /resource_providers/{uuid}`: rename; from 1.14 set the parent once,
/// from 1.37 change or drop it.
async fn update_resource_provider(
    WantVersion(mv): WantVersion,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(&state, &context, "placement:resource_providers:update")?;
    let body = util::read_body(request.into_body()).await?;
    let schema = rp_schema::put_schema(mv);
    let data = match extract_json(&body, schema) {
        Ok(data) => data,
        Err(invalid) => {
            // upstream reads the provider before it reads the body, so a
            // missing provider is a 404 whatever the body holds.
            store::get_resource_provider(&state.store, &uuid)
                .await
                .map_err(ApiError::from)?;
            return Err(invalid);
        }
    };
    let update = ProviderUpdate {
        name: data
            .get("name")
            .and_then(PyValue::as_str)
            .unwrap_or_default()
            .to_owned(),
        parent_provider_uuid: data
            .get("parent_provider_uuid")
            .map(|p| p.as_str().map(str::to_owned)),
        allow_reparenting: mv.matches(1, 37),
    };
    let updated = match store::update_resource_provider(&state.store, &uuid, &update).await {
        Ok(updated) => updated,
        Err(StoreError::DuplicateProviderName(name)) => {
            return Err(ApiError::conflict(format!(
                "Conflicting resource provider {name} already exists."
            ))
            .with_code(ErrorCode::DuplicateName))
        }
        Err(e @ StoreError::ProviderActionError { .. }) => {
            return Err(ApiError::bad_request(format!(
                "Unable to save resource provider {uuid}: {e}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = PyJson(serialize(&state, &updated.provider, mv)).into_response();
    if mv.matches(1, 15) {
        // upstream sends the updated_at it read before saving.
        util::set_cache_headers(response.headers_mut(), updated.updated_at_before);
    }
    Ok(response)
}

/// `DELETE /resource_providers/{uuid}`: 204.
async fn delete_resource_provider(
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let uuid = util::path_item(path)?;
    util::authorize(&state, &context, "placement:resource_providers:delete")?;
    match store::delete_resource_provider(&state.store, &uuid).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(StoreError::ResourceProviderNotFound(_)) => Err(ApiError::not_found(format!(
            "No resource provider with uuid {uuid} found for delete"
        ))),
        Err(e @ StoreError::ResourceProviderInUse) => Err(ApiError::conflict(format!(
            "Unable to delete resource provider {uuid}: {e}"
        ))
        .with_code(ErrorCode::ProviderInUse)),
        Err(StoreError::CannotDeleteParentResourceProvider) => Err(ApiError::conflict(format!(
            "Unable to delete parent resource provider {uuid}: It has child resource providers."
        ))
        .with_code(ErrorCode::ProviderCannotDeleteParent)),
        // NOTE(upstream): upstream deletes without a generation check and
        // can strand an allocation written meanwhile; we refuse instead.
        Err(StoreError::ConcurrentUpdate(text)) => {
            Err(ApiError::conflict(text).with_code(ErrorCode::ConcurrentUpdate))
        }
        Err(e) => Err(e.into()),
    }
}
