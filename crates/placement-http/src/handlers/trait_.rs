//! `/traits` (upstream `handlers/trait.py`): list traits with filters, and
//! show, create (custom only) and delete one trait. All since 1.6; cache
//! headers from 1.15. The `/resource_providers/{uuid}/traits` routes belong
//! with resource providers.

use axum::extract::{FromRequestParts, RawPathParams, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::traits::{CustomTraitName, Trait, TraitFilter};
use placement_store::ops::traits::{self as store, EnsuredTrait};
use placement_store::Error as StoreError;
use serde::Serialize;

use super::util::{self, absolute_location, set_cache_headers};
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::extract::{AcceptJson, WantVersion};
use crate::json::PyJson;
use crate::query::{self, QueryParams};
use crate::routes::Route;
use crate::schema::trait_::LIST_TRAIT_SCHEMA;
use crate::settings::AppState;

/// This module's rows of the route table, in upstream's order.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new("/traits").get(list_traits),
        Route::new("/traits/{name}")
            .get(get_trait)
            .put(put_trait)
            .delete(delete_trait),
    ]
}

/// The first version with traits.
const SINCE: (u16, u16) = (1, 6);

/// The version from which responses carry `Last-Modified` and
/// `Cache-Control`.
const CACHE_HEADERS: (u16, u16) = (1, 15);

/// upstream's message for a name `PUT /traits/{name}` may not create.
const INVALID_TRAIT: &str = "The trait is invalid. A valid trait must be no longer than 255 \
     characters, start with the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \
     \"0\"-\"9\" and \"_\"";

#[derive(Serialize)]
struct TraitList {
    traits: Vec<String>,
}

/// `GET /traits`. The version and `Accept` are checked in the body, in
/// upstream's decorator order (`version_handler` before `check_accept`),
/// which extractor arguments would reverse.
pub(crate) async fn list_traits(
    State(state): State<AppState>,
    mut parts: Parts,
    RawQuery(raw_query): RawQuery,
) -> Result<Response, ApiError> {
    let mv = WantVersion::from_request_parts(&mut parts, &state)
        .await?
        .require(SINCE.0, SINCE.1)?;
    AcceptJson::from_request_parts(&mut parts, &state).await?;
    util::authorize_parts(&state, &mut parts, "placement:traits:list").await?;
    let params = QueryParams::parse(raw_query.as_deref().unwrap_or_default())
        .and_then(|params| {
            params.validate(&LIST_TRAIT_SCHEMA)?;
            Ok(params)
        })
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let filter = trait_filter(&params)?;

    let traits = store::list_traits(&state.store, &filter)
        .await
        .map_err(ApiError::internal)?;

    let last_modified = newest(&traits);
    let body = TraitList {
        traits: traits.into_iter().map(|t| t.name).collect(),
    };
    let mut response = PyJson(body).into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        set_cache_headers(response.headers_mut(), Some(last_modified));
    }
    Ok(response)
}

/// The filter the `name` and `associated` parameters ask for, with
/// upstream's 400s.
fn trait_filter(params: &QueryParams) -> Result<TraitFilter, ApiError> {
    let mut filter = TraitFilter::default();
    if let Some(name) = params.get("name") {
        let Some((op, value)) = name.split_once(':') else {
            return Err(ApiError::bad_request(format!(
                "Badly formatted name parameter. Expected name query string parameter in \
                 form: ?name=[in|startswith]:[name1,name2|prefix]. Got: \"{name}\""
            )));
        };
        match op {
            "in" => filter.name_in = Some(value.split(',').map(str::to_owned).collect()),
            "startswith" => filter.prefix = Some(value.to_owned()),
            // NOTE(upstream): any other operator filters nothing.
            _ => {}
        }
    }
    if let Some(associated) = params.get("associated") {
        filter.associated = match associated.to_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                return Err(ApiError::bad_request(
                    "The query parameter \"associated\" only accepts \"true\" or \"false\"",
                ))
            }
        };
    }
    Ok(filter)
}

/// The newest update or creation time of `traits`, or now when there are
/// none or one was never stamped (upstream's `_serialize_traits`).
fn newest(traits: &[Trait]) -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    traits
        .iter()
        .map(|t| t.last_modified().unwrap_or(now))
        .max()
        .unwrap_or(now)
}

/// `GET /traits/{name}`: 204 when the trait exists.
pub(crate) async fn get_trait(
    State(state): State<AppState>,
    version: WantVersion,
    context: RequestContext,
    path: RawPathParams,
) -> Result<Response, ApiError> {
    let mv = version.require(SINCE.0, SINCE.1)?;
    util::authorize(&state, &context, "placement:traits:show")?;
    let name = name_from_path(&path);
    let found = store::get_trait(&state.store, &name)
        .await
        .map_err(trait_error)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        // NOTE(upstream): a trait row without created_at gets no
        // Last-Modified, only Cache-Control.
        set_cache_headers(response.headers_mut(), found.created_at);
    }
    Ok(response)
}

/// `PUT /traits/{name}`: creates a custom trait (201) or confirms it exists
/// (204), with a `Location` either way.
pub(crate) async fn put_trait(
    State(state): State<AppState>,
    version: WantVersion,
    headers: HeaderMap,
    context: RequestContext,
    path: RawPathParams,
) -> Result<Response, ApiError> {
    let mv = version.require(SINCE.0, SINCE.1)?;
    util::authorize(&state, &context, "placement:traits:update")?;
    let raw = name_from_path(&path);
    let name = CustomTraitName::parse(&raw).map_err(|_| ApiError::bad_request(INVALID_TRAIT))?;
    let ensured = store::ensure_trait(&state.store, &name)
        .await
        .map_err(ApiError::internal)?;
    let (status, created_at) = match ensured {
        EnsuredTrait::Created(t) => (StatusCode::CREATED, t.created_at),
        EnsuredTrait::Existed(t) => (StatusCode::NO_CONTENT, t.created_at),
        EnsuredTrait::CreatedConcurrently => (StatusCode::NO_CONTENT, None),
    };
    let location = format!("{}/traits/{}", state.settings.url_prefix.as_str(), name);
    if location.chars().any(char::is_control) {
        // NOTE(upstream): a name that kept a trailing newline (sent as
        // `%0A%0A`) is created, and then webob refuses it in the Location
        // header and the request fails with a 500.
        return Err(ApiError::internal(ControlCharacterInHeader));
    }
    let mut response = status.into_response();
    if let Some(location) = absolute_location(&headers, &location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if mv.matches(CACHE_HEADERS.0, CACHE_HEADERS.1) {
        let now = chrono::Utc::now().naive_utc();
        set_cache_headers(response.headers_mut(), Some(created_at.unwrap_or(now)));
    }
    Ok(response)
}

/// The failure upstream's webob raises for a header value with a line
/// break.
#[derive(Debug, thiserror::Error)]
#[error("Header value may not contain control characters")]
struct ControlCharacterInHeader;

/// `DELETE /traits/{name}`: custom traits no provider has.
pub(crate) async fn delete_trait(
    State(state): State<AppState>,
    version: WantVersion,
    context: RequestContext,
    path: RawPathParams,
) -> Result<Response, ApiError> {
    version.require(SINCE.0, SINCE.1)?;
    util::authorize(&state, &context, "placement:traits:delete")?;
    let name = name_from_path(&path);
    store::delete_trait(&state.store, &name)
        .await
        .map_err(|e| match e {
            StoreError::TraitCannotDeleteStandard(_) => ApiError::bad_request(e.to_string()),
            StoreError::TraitInUse(_) => ApiError::conflict(e.to_string()),
            other => trait_error(other),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// upstream's trait handlers catch `TraitNotFound` themselves, so their 404
/// carries `Vary`, unlike the dispatcher's; the rest is the common mapping.
fn trait_error(e: StoreError) -> ApiError {
    match e {
        StoreError::TraitNotFound(_) => ApiError::not_found(e.to_string()),
        other => other.into(),
    }
}

/// The `{name}` path item as upstream's WSGI stack sees it: percent-decoded
/// bytes read as Latin-1 (PEP 3333), so every name, even one that is not
/// UTF-8, reaches the handler and is echoed as upstream echoes it.
fn name_from_path(path: &RawPathParams) -> String {
    let raw = path
        .iter()
        .find_map(|(key, value)| (key == "name").then_some(value))
        .unwrap_or_default();
    let mut name: String = query::percent_decode(raw.as_bytes(), false)
        .into_iter()
        .map(char::from)
        .collect();
    // NOTE(upstream): the routes library matches `^/traits/(?P<name>[^/]+?)$`
    // and Python's `$` also matches before a final newline, so one trailing
    // newline is left out of the name (`/traits/CUSTOM_A%0A` is CUSTOM_A).
    if name.len() > 1 && name.ends_with('\n') {
        name.pop();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_filter_by_operator_and_unknown_operators_filter_nothing() {
        let params = QueryParams::parse("name=in:A,B&associated=TRUE").unwrap();
        let filter = trait_filter(&params).unwrap();
        assert_eq!(filter.name_in, Some(vec!["A".to_owned(), "B".to_owned()]));
        assert_eq!(filter.associated, Some(true));
        let params = QueryParams::parse("name=startswith:CUSTOM_").unwrap();
        assert_eq!(
            trait_filter(&params).unwrap().prefix.as_deref(),
            Some("CUSTOM_")
        );
        let params = QueryParams::parse("name=foo:bar").unwrap();
        assert!(trait_filter(&params).unwrap().is_empty());
    }

    #[test]
    fn the_newest_stamp_wins() {
        let old = NaiveDateTime::default();
        let new = old + chrono::Duration::seconds(1);
        let traits = [
            Trait {
                name: "A".into(),
                created_at: Some(new),
                updated_at: None,
            },
            Trait {
                name: "B".into(),
                created_at: Some(old),
                updated_at: None,
            },
        ];
        assert_eq!(newest(&traits), new);
    }
}
