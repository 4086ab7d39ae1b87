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
    is_jsonschema_uuid, parse_uuid_like, NewProvider, ProviderFilter, ProviderUpdate, ProviderUuid,
    ResourceProvider, MAX_NAME_LENGTH,
};
use placement_store::ops::resource_provider as store;
use placement_store::Error as StoreError;
use serde::Serialize;

use super::util;
use crate::body::{extract_json, str_repr, Format, PyValue, Schema, SchemaKind, StringSchema};
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::query::QueryParams;
use crate::request_groups::capabilities;
use crate::routes::Route;
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

/// upstream's body format checker for `uuid` (`uuidutils.is_uuid_like`).
const UUID_FORMAT: Format = Format {
    name: "uuid",
    check: |s| parse_uuid_like(s).is_ok(),
};

/// `{'type': 'string', 'maxLength': 200}`.
const NAME_SCHEMA: Schema = Schema {
    kind: SchemaKind::String(StringSchema {
        pattern: None,
        min_length: None,
        max_length: Some(MAX_NAME_LENGTH),
        format: None,
    }),
    pretty: "{'type': 'string', 'maxLength': 200}",
};

/// `{'type': 'string', 'format': 'uuid'}`.
const UUID_SCHEMA: Schema = Schema {
    kind: SchemaKind::String(StringSchema {
        pattern: None,
        min_length: None,
        max_length: None,
        format: Some(UUID_FORMAT),
    }),
    pretty: "{'type': 'string', 'format': 'uuid'}",
};

/// The `parent_provider_uuid` property from 1.14.
const PARENT_SCHEMA: Schema = Schema {
    kind: SchemaKind::AnyOf(&[
        UUID_SCHEMA,
        Schema {
            kind: SchemaKind::Null,
            pretty: "{'type': 'null'}",
        },
    ]),
    pretty: "{'anyOf': [{'type': 'string', 'format': 'uuid'}, {'type': 'null'}]}",
};

/// upstream's `POST_RESOURCE_PROVIDER_SCHEMA`.
static POST_SCHEMA: Schema = Schema {
    kind: SchemaKind::Object {
        properties: &[("name", NAME_SCHEMA), ("uuid", UUID_SCHEMA)],
        required: &["name"],
        additional_properties: false,
    },
    pretty: "{'type': 'object',\n 'properties': {'name': {'type': 'string', 'maxLength': \
             200},\n                'uuid': {'type': 'string', 'format': 'uuid'}},\n \
             'required': ['name'],\n 'additionalProperties': False}",
};

/// upstream's `POST_RP_SCHEMA_V1_14`.
static POST_SCHEMA_V1_14: Schema = Schema {
    kind: SchemaKind::Object {
        properties: &[
            ("name", NAME_SCHEMA),
            ("uuid", UUID_SCHEMA),
            ("parent_provider_uuid", PARENT_SCHEMA),
        ],
        required: &["name"],
        additional_properties: false,
    },
    pretty: "{'type': 'object',\n 'properties': {'name': {'type': 'string', 'maxLength': \
             200},\n                'uuid': {'type': 'string', 'format': 'uuid'},\n                \
             'parent_provider_uuid': {'anyOf': [{'type': 'string',\n                                                    \
             'format': 'uuid'},\n                                                   \
             {'type': 'null'}]}},\n 'required': ['name'],\n 'additionalProperties': False}",
};

/// upstream's `PUT_RESOURCE_PROVIDER_SCHEMA`.
static PUT_SCHEMA: Schema = Schema {
    kind: SchemaKind::Object {
        properties: &[("name", NAME_SCHEMA)],
        required: &["name"],
        additional_properties: false,
    },
    pretty: "{'type': 'object',\n 'properties': {'name': {'type': 'string', 'maxLength': \
             200}},\n 'required': ['name'],\n 'additionalProperties': False}",
};

/// upstream's `PUT_RP_SCHEMA_V1_14`.
static PUT_SCHEMA_V1_14: Schema = Schema {
    kind: SchemaKind::Object {
        properties: &[("name", NAME_SCHEMA), ("parent_provider_uuid", PARENT_SCHEMA)],
        required: &["name"],
        additional_properties: false,
    },
    pretty: "{'type': 'object',\n 'properties': {'name': {'type': 'string', 'maxLength': \
             200},\n                'parent_provider_uuid': {'anyOf': [{'type': 'string',\n                                                    \
             'format': 'uuid'},\n                                                   \
             {'type': 'null'}]}},\n 'required': ['name'],\n 'additionalProperties': False}",
};

/// One `GET_RPS_SCHEMA_*`: its properties in order, which of them have the
/// `uuid` format, and its printed form.
struct ListSchema {
    properties: &'static [&'static str],
    text: &'static str,
}

/// The list schema for a microversion (1.0, 1.3, 1.4, 1.14, 1.18).
fn list_schema(mv: Microversion) -> ListSchema {
    if mv.matches(1, 18) {
        ListSchema {
            properties: &["name", "uuid", "member_of", "resources", "in_tree", "required"],
            text: "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                \
                   'uuid': {'type': 'string', 'format': 'uuid'},\n                'member_of': \
                   {'type': 'string'},\n                'resources': {'type': 'string'},\n                \
                   'in_tree': {'type': 'string', 'format': 'uuid'},\n                'required': \
                   {'type': 'string'}},\n 'additionalProperties': False}",
        }
    } else if mv.matches(1, 14) {
        ListSchema {
            properties: &["name", "uuid", "member_of", "resources", "in_tree"],
            text: "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                \
                   'uuid': {'type': 'string', 'format': 'uuid'},\n                'member_of': \
                   {'type': 'string'},\n                'resources': {'type': 'string'},\n                \
                   'in_tree': {'type': 'string', 'format': 'uuid'}},\n 'additionalProperties': \
                   False}",
        }
    } else if mv.matches(1, 4) {
        ListSchema {
            properties: &["name", "uuid", "member_of", "resources"],
            text:
                "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                \
                   'uuid': {'type': 'string', 'format': 'uuid'},\n                'member_of': \
                   {'type': 'string'},\n                'resources': {'type': 'string'}},\n \
                   'additionalProperties': False}",
        }
    } else if mv.matches(1, 3) {
        ListSchema {
            properties: &["name", "uuid", "member_of"],
            text:
                "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                \
                   'uuid': {'type': 'string', 'format': 'uuid'},\n                'member_of': \
                   {'type': 'string'}},\n 'additionalProperties': False}",
        }
    } else {
        ListSchema {
            properties: &["name", "uuid"],
            text:
                "{'type': 'object',\n 'properties': {'name': {'type': 'string'},\n                \
                   'uuid': {'type': 'string', 'format': 'uuid'}},\n 'additionalProperties': False}",
        }
    }
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

/// upstream's dispatcher 404 for a `NotFound` the object layer raised
/// (outside the handler, so without `Vary`); anything else is a 500.
fn not_found_or_internal(e: StoreError) -> ApiError {
    match e {
        StoreError::ResourceProviderNotFound(_) => {
            ApiError::not_found(e.to_string()).before_dispatch()
        }
        other => ApiError::internal(other),
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
            other => ApiError::internal(other),
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
    let schema = list_schema(mv);
    let invalid = |e: crate::query::InvalidQuery| ApiError::bad_request(e.to_string());
    params
        .check_known(schema.properties, schema.text)
        .map_err(invalid)?;
    for key in ["uuid", "in_tree"] {
        if !schema.properties.contains(&key) {
            continue;
        }
        if let Some(value) = params.get(key) {
            if !is_jsonschema_uuid(value) {
                return Err(ApiError::bad_request(format!(
                    "Invalid query string parameters: {value_repr} is not a 'uuid'\n\n\
                     Failed validating 'format' in schema['properties']['{key}']:\n    \
                     {{'type': 'string', 'format': 'uuid'}}\n\nOn instance['{key}']:\n    \
                     {value_repr}",
                    value_repr = str_repr(value),
                )));
            }
        }
    }
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
    let schema = if mv.matches(1, 14) {
        &POST_SCHEMA_V1_14
    } else {
        &POST_SCHEMA
    };
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
        Err(e) => return Err(ApiError::internal(e)),
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
        .map_err(not_found_or_internal)?;
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
    let schema = if mv.matches(1, 14) {
        &PUT_SCHEMA_V1_14
    } else {
        &PUT_SCHEMA
    };
    let data = match extract_json(&body, schema) {
        Ok(data) => data,
        Err(invalid) => {
            // upstream reads the provider before it reads the body, so a
            // missing provider is a 404 whatever the body holds.
            store::get_resource_provider(&state.store, &uuid)
                .await
                .map_err(not_found_or_internal)?;
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
        Err(e) => return Err(not_found_or_internal(e)),
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
        Err(e) => Err(ApiError::internal(e)),
    }
}
