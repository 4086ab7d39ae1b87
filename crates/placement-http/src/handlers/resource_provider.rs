//! `/resource_providers` and `/resource_providers/{uuid}` (upstream
//! `handlers/resource_provider.py`): list with filters, create, show,
//! update (rename, parent changes) and delete, at every microversion.
//!
//! Extractors run in the order of upstream's decorators: `check_accept` on
//! the reads, `require_content` on the writes. Query strings are validated
//! as upstream's `validate_query_params` and `normalize_*_qs_param(s)` do,
//! with their 400 texts.

use std::collections::BTreeSet;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use placement_core::microversion::Microversion;
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
/// upstream's order: the schema, then `member_of`, `required`, `resources`.
fn provider_filter(params: &QueryParams, mv: Microversion) -> Result<ProviderFilter, ApiError> {
    params
        .validate(rp_schema::list_schema(mv))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut filter = ProviderFilter::default();
    let member_of = params.get_all("member_of");
    if !member_of.is_empty() {
        if !mv.matches(1, 24) && member_of.len() > 1 {
            return Err(ApiError::bad_request(
                "Multiple member_of parameters are not supported",
            ));
        }
        for value in member_of {
            let (required, forbidden) = member_of_param(value)?;
            if !required.is_empty() {
                filter.member_of.push(required);
            }
            if !forbidden.is_empty() {
                if !mv.matches(1, 32) {
                    return Err(ApiError::bad_request(
                        "Forbidden member_of parameters are not supported in the specified \
                         microversion",
                    ));
                }
                filter.forbidden_aggs.extend(forbidden);
            }
        }
    }
    let mut required = params.get_all("required");
    if !required.is_empty() {
        if !mv.matches(1, 39) {
            // Before 1.39 only the last `required` counts.
            required = required.split_off(required.len() - 1);
        }
        for value in required {
            let (any, forbidden) = traits_param(value, mv.matches(1, 22), mv.matches(1, 39))?;
            filter.required_traits.extend(any);
            filter.forbidden_traits.extend(forbidden);
        }
    }
    filter.uuid = params.get("uuid").map(str::to_owned);
    filter.name = params.get("name").map(str::to_owned);
    filter.in_tree = params.get("in_tree").map(str::to_owned);
    if let Some(resources) = params.get("resources") {
        filter.resources = resources_param(resources)?;
    }
    Ok(filter)
}

/// upstream's `normalize_member_of_qs_param`: a uuid, `!uuid`, `in:a,b` or
/// `!in:a,b`; returns (any of these required, all of these forbidden).
fn member_of_param(value: &str) -> Result<(BTreeSet<String>, BTreeSet<String>), ApiError> {
    if value.contains(',') && !(value.starts_with("in:") || value.starts_with("!in:")) {
        return Err(ApiError::bad_request(format!(
            "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' \
             keyword using the valid microversion. Got: {value}"
        )));
    }
    let split = |s: &str| -> Vec<String> { s.split(',').map(str::to_owned).collect() };
    let (required, forbidden) = if let Some(rest) = value.strip_prefix("!in:") {
        (Vec::new(), split(rest))
    } else if let Some(rest) = value.strip_prefix('!') {
        (Vec::new(), vec![rest.to_owned()])
    } else if let Some(rest) = value.strip_prefix("in:") {
        (split(rest), Vec::new())
    } else {
        (vec![value.to_owned()], Vec::new())
    };
    if let Some(bad) = required
        .iter()
        .chain(&forbidden)
        .find(|u| parse_uuid_like(u).is_err())
    {
        return Err(ApiError::bad_request(format!(
            "Invalid query string parameters: Expected 'member_of' parameter to contain \
             valid UUID(s). Got: {bad}"
        )));
    }
    Ok((
        required.into_iter().collect(),
        forbidden.into_iter().collect(),
    ))
}

/// upstream's `normalize_traits_qs_param`: returns the any-of groups (each
/// needs one trait) and the forbidden traits.
fn traits_param(
    value: &str,
    allow_forbidden: bool,
    allow_any_traits: bool,
) -> Result<(Vec<BTreeSet<String>>, BTreeSet<String>), ApiError> {
    if let Some(rest) = value.strip_prefix("in:") {
        if !allow_any_traits {
            return Err(ApiError::bad_request(format!(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' \
                 only supported since microversion 1.39. Got: {value}"
            )));
        }
        let any: BTreeSet<String> = rest.split(',').map(|t| py_strip(t).to_owned()).collect();
        if any.iter().any(String::is_empty) {
            return Err(ApiError::bad_request(format!(
                "Invalid query string parameters: Expected 'required' parameter value of the \
                 form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}"
            )));
        }
        if any.iter().any(|t| t.starts_with('!')) {
            return Err(ApiError::bad_request(format!(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' \
                 does not support forbidden traits. Got: {value}"
            )));
        }
        return Ok((vec![any], BTreeSet::new()));
    }
    let all: Vec<&str> = value.split(',').map(py_strip).collect();
    // NOTE(upstream): any number of leading `!` mean one (`!!!FOO` is `FOO`
    // forbidden), a bug upstream keeps until a microversion changes it.
    let forbidden: BTreeSet<String> = all
        .iter()
        .filter(|t| t.starts_with('!'))
        .map(|t| t.trim_start_matches('!').to_owned())
        .collect();
    if all.iter().any(|t| t.is_empty()) || forbidden.iter().any(String::is_empty) {
        let expected = if allow_forbidden {
            "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
        } else {
            "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        };
        return Err(ApiError::bad_request(format!(
            "Invalid query string parameters: Expected 'required' parameter value of the \
             form: {expected}. Got an empty trait in: {value}"
        )));
    }
    let required = all
        .iter()
        .filter(|t| !t.starts_with('!'))
        .map(|t| BTreeSet::from([(*t).to_owned()]))
        .collect();
    if !forbidden.is_empty() && !allow_forbidden {
        return Err(ApiError::bad_request(format!(
            "Invalid query string parameters: Expected 'required' parameter value of the \
             form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}"
        )));
    }
    Ok((required, forbidden))
}

/// Python's `str.strip()` with no argument: Unicode whitespace.
fn py_strip(s: &str) -> &str {
    s.trim_matches(char::is_whitespace)
}

/// The upstream text for a badly formed `resources` item.
fn badly_formed(got: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Badly formed resources parameter. Expected resources query string parameter in \
         form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {got}."
    ))
}

/// upstream's `normalize_resources_qs_param`: `RC:N,RC:M`, each amount a
/// positive integer; a class named twice keeps its first place and last
/// amount, as a Python dict does.
fn resources_param(value: &str) -> Result<Vec<(String, i64)>, ApiError> {
    if py_strip(value).is_empty() {
        return Err(badly_formed("empty string"));
    }
    let mut result: Vec<(String, i64)> = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(':');
        let (Some(name), Some(amount), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(badly_formed(item));
        };
        let not_integer = || {
            ApiError::bad_request(format!(
                "Requested resource {name} expected positive integer amount. Got: {amount}."
            ))
        };
        let digits = python_int(amount).ok_or_else(not_integer)?;
        let amount = match digits.parse::<i64>() {
            Ok(n) => n,
            // NOTE(upstream): an amount beyond 64 bits passes upstream's
            // checks and fails in the database with a 500; we refuse it
            // here with a 400.
            Err(_) if digits.starts_with('-') => {
                return Err(ApiError::bad_request(format!(
                    "Requested resource {name} requires amount >= 1. Got: {digits}."
                )))
            }
            Err(_) => return Err(not_integer()),
        };
        if amount < 1 {
            return Err(ApiError::bad_request(format!(
                "Requested resource {name} requires amount >= 1. Got: {amount}."
            )));
        }
        match result.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = amount,
            None => result.push((name.to_owned(), amount)),
        }
    }
    Ok(result)
}

/// Python's `int(s)` on a string, as the canonical decimal text: surrounding
/// whitespace, a sign, digits with single underscores between them.
fn python_int(s: &str) -> Option<String> {
    let s = py_strip(s);
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty()
        || body.starts_with('_')
        || body.ends_with('_')
        || body.contains("__")
        || !body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    let magnitude = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if negative && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude.to_owned()
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_as_python_ints_and_keep_the_last_amount() {
        let parsed = resources_param("VCPU:1,MEMORY_MB: 1_024,VCPU:+2").unwrap();
        assert_eq!(
            parsed,
            vec![("VCPU".to_owned(), 2), ("MEMORY_MB".to_owned(), 1024)]
        );
        assert!(resources_param("VCPU").is_err());
        assert!(resources_param("VCPU:fred").is_err());
        assert!(resources_param("VCPU:-2").is_err());
        assert!(resources_param("VCPU:99999999999999999999").is_err());
        assert!(resources_param(" ").is_err());
    }

    #[test]
    fn member_of_reads_in_and_forbidden_forms() {
        let agg = "6f1c2e9a-1d4b-4c3e-9f00-0123456789ab";
        let (req, forb) = member_of_param(&format!("in:{agg},{agg}")).unwrap();
        assert_eq!(req.len(), 1);
        assert!(forb.is_empty());
        let (req, forb) = member_of_param(&format!("!{agg}")).unwrap();
        assert!(req.is_empty());
        assert_eq!(forb.len(), 1);
        assert!(member_of_param("a,b").is_err());
        assert!(member_of_param("in:foo").is_err());
    }

    #[test]
    fn traits_split_into_required_and_forbidden() {
        let (req, forb) = traits_param("A, !B,!!!C", true, false).unwrap();
        assert_eq!(req, vec![BTreeSet::from(["A".to_owned()])]);
        assert_eq!(forb, BTreeSet::from(["B".to_owned(), "C".to_owned()]));
        assert!(traits_param("!B", false, false).is_err());
        assert!(traits_param("in:A,B", true, false).is_err());
        assert_eq!(traits_param("in:A,B", true, true).unwrap().0.len(), 1);
        assert!(traits_param("A,", true, true).is_err());
    }
}
