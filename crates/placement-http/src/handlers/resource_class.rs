//! `/resource_classes` (upstream `handlers/resource_class.py`), from
//! microversion 1.2: list, create, show, rename (1.2–1.6) or
//! create-or-verify (1.7+), delete.
//!
//! Extractors run in the order of upstream's decorators: the version check
//! (404 below 1.2) first, then `check_accept` or `require_content`.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::microversion::Microversion;
use placement_core::resource_class::{CustomClassName, ResourceClass};
use placement_store::ops::resource_class::{self as store, Ensured};
use serde::Serialize;

use super::util;
use crate::body::{extract_json, validate_body, PyValue};
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::extract::{AcceptJson, JsonContent, WantVersion};
use crate::json::PyJson;
use crate::routes::Route;
use crate::schema::resource_class::{POST_RC_SCHEMA_V1_2, PUT_RC_SCHEMA_V1_2};
use crate::settings::AppState;

/// This module's rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new("/resource_classes")
            .get(list_resource_classes)
            .post(create_resource_class),
        Route::new("/resource_classes/{name}")
            .get(get_resource_class)
            .put(update_resource_class)
            .delete(delete_resource_class),
    ]
}

/// `version_handler('1.2')`: the routes do not exist before 1.2.
struct Since1_2(Microversion);

impl<S: Send + Sync> FromRequestParts<S> for Since1_2 {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let want = WantVersion::from_request_parts(parts, state).await?;
        want.require(1, 2).map(Self)
    }
}

#[derive(Serialize)]
struct Link {
    rel: &'static str,
    href: String,
}

#[derive(Serialize)]
struct ResourceClassBody {
    name: String,
    links: [Link; 1],
}

#[derive(Serialize)]
struct ResourceClassesBody {
    resource_classes: Vec<ResourceClassBody>,
}

/// upstream's `util.resource_class_url`: under the mount point.
fn resource_class_url(state: &AppState, name: &str) -> String {
    format!(
        "{}/resource_classes/{name}",
        state.settings.url_prefix.as_str()
    )
}

fn serialize(state: &AppState, class: &ResourceClass) -> ResourceClassBody {
    ResourceClassBody {
        name: class.name.clone(),
        links: [Link {
            rel: "self",
            href: resource_class_url(state, &class.name),
        }],
    }
}

/// The absolute `Location` of a class, as webob sends it.
fn location(headers: &HeaderMap, state: &AppState, name: &str) -> Option<HeaderValue> {
    util::absolute_location(headers, &resource_class_url(state, name))
}

/// `Last-Modified` and `Cache-Control: no-cache` from 1.15.
fn add_cache_headers(response: &mut Response, mv: Microversion, last_modified: NaiveDateTime) {
    if mv.matches(1, 15) {
        util::set_cache_headers(response.headers_mut(), Some(last_modified));
    }
}

/// A response without a body or `Content-Type`, with `Location` if known.
fn empty(status: StatusCode, location: Option<HeaderValue>) -> Response {
    let mut response = status.into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The validated `name` of a body that passed the resource class schema.
fn body_name(value: &PyValue) -> Result<CustomClassName, ApiError> {
    let name = value.get("name").and_then(PyValue::as_str).unwrap_or("");
    CustomClassName::parse(name).map_err(ApiError::internal)
}

/// `GET /resource_classes`.
async fn list_resource_classes(
    Since1_2(mv): Since1_2,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
) -> Result<Response, ApiError> {
    util::authorize(&state, &context, "placement:resource_classes:list")?;
    let classes = store::list_resource_classes(&state.store)
        .await
        .map_err(ApiError::from)?;
    // upstream's pick_last_modified over every class; a row without
    // timestamps, or an empty list, means now.
    let last_modified = classes
        .iter()
        .map(ResourceClass::last_modified)
        .try_fold(None, |latest: Option<NaiveDateTime>, t| {
            t.map(|t| Some(latest.map_or(t, |l| l.max(t))))
        })
        .flatten()
        .unwrap_or_else(util::utcnow);
    let body = ResourceClassesBody {
        resource_classes: classes.iter().map(|c| serialize(&state, c)).collect(),
    };
    let mut response = PyJson(body).into_response();
    add_cache_headers(&mut response, mv, last_modified);
    Ok(response)
}

/// `POST /resource_classes`: 201 with `Location` and no body.
async fn create_resource_class(
    Since1_2(_): Since1_2,
    _: JsonContent,
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Result<Response, ApiError> {
    util::authorize(&state, &context, "placement:resource_classes:create")?;
    let (parts, body) = request.into_parts();
    let data = extract_json(&util::read_body(body).await?, &POST_RC_SCHEMA_V1_2)?;
    let name = body_name(&data)?;
    let class = match store::create_resource_class(&state.store, &name).await {
        Ok(class) => class,
        Err(placement_store::Error::ResourceClassExists(_)) => {
            return Err(ApiError::conflict(format!(
                "Conflicting resource class already exists: {name}"
            )))
        }
        Err(placement_store::Error::MaxDbRetriesExceeded(_)) => {
            return Err(ApiError::conflict(format!(
                "Max retries of DB transaction exceeded attempting to create resource \
                 class: {name}, please try again."
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(empty(
        StatusCode::CREATED,
        location(&parts.headers, &state, &class.name),
    ))
}

/// `GET /resource_classes/{name}`.
async fn get_resource_class(
    Since1_2(mv): Since1_2,
    _: AcceptJson,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = util::path_item(path)?;
    util::authorize(&state, &context, "placement:resource_classes:show")?;
    let class = store::get_resource_class(&state.store, &name)
        .await
        .map_err(ApiError::from)?;
    let mut response = PyJson(serialize(&state, &class)).into_response();
    add_cache_headers(
        &mut response,
        mv,
        class.last_modified().unwrap_or_else(util::utcnow),
    );
    Ok(response)
}

/// `PUT /resource_classes/{name}`: a rename through the body up to 1.6; from
/// 1.7 a bodiless create (201) or existence check (204), with `Location`.
async fn update_resource_class(
    Since1_2(mv): Since1_2,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let name = util::path_item(path)?;
    let (mut parts, body) = request.into_parts();
    if mv.matches(1, 7) {
        util::authorize(&state, &context, "placement:resource_classes:update")?;
        return put_resource_class(&state, &parts.headers, &name).await;
    }
    JsonContent::from_request_parts(&mut parts, &state).await?;
    util::authorize(&state, &context, "placement:resource_classes:update")?;
    let data = extract_json(&util::read_body(body).await?, &PUT_RC_SCHEMA_V1_2)?;
    let new_name = body_name(&data)?;
    let class = match store::update_resource_class(&state.store, &name, &new_name).await {
        Ok(class) => class,
        Err(placement_store::Error::ResourceClassExists(_)) => {
            return Err(ApiError::conflict(format!(
                "Resource class already exists: {new_name}"
            )))
        }
        Err(placement_store::Error::ResourceClassCannotUpdateStandard(_)) => {
            return Err(ApiError::bad_request(format!(
                "Cannot update standard resource class {name}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(PyJson(serialize(&state, &class)).into_response())
}

/// The 1.7 form of `PUT /resource_classes/{name}`.
async fn put_resource_class(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
) -> Result<Response, ApiError> {
    // Like upstream, validate the name by validating the JSON document it
    // makes, so a name that breaks that document fails as it does there.
    let document = format!("{{\"name\": \"{name}\"}}");
    extract_json(document.as_bytes(), &PUT_RC_SCHEMA_V1_2)?;
    // NOTE(upstream): upstream then stores the name from the path, which
    // differs from the validated one when the path holds JSON escapes
    // (`CUSTOM_\u0041`), and so can create a class its own schema refuses.
    // We validate the path's name itself as well.
    let raw = PyValue::Object(vec![("name".to_owned(), PyValue::Str(name.to_owned()))]);
    validate_body(&raw, &PUT_RC_SCHEMA_V1_2)?;
    let name = body_name(&raw)?;
    let (status, class) = match store::ensure_resource_class(&state.store, &name).await {
        Ok(Ensured::Created(class)) => (StatusCode::CREATED, class),
        Ok(Ensured::Existing(class)) => (StatusCode::NO_CONTENT, class),
        Err(e) => return Err(e.into()),
    };
    Ok(empty(status, location(headers, state, &class.name)))
}

/// `DELETE /resource_classes/{name}`: 204.
async fn delete_resource_class(
    Since1_2(_): Since1_2,
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = util::path_item(path)?;
    util::authorize(&state, &context, "placement:resource_classes:delete")?;
    match store::delete_resource_class(&state.store, &name).await {
        Ok(()) => Ok(empty(StatusCode::NO_CONTENT, None)),
        Err(e @ placement_store::Error::ResourceClassCannotDeleteStandard(_)) => Err(
            ApiError::bad_request(format!("Error in delete resource class: {e}")),
        ),
        Err(e @ placement_store::Error::ResourceClassInUse(_)) => Err(ApiError::conflict(format!(
            "Error in delete resource class: {e}"
        ))),
        Err(e) => Err(e.into()),
    }
}
