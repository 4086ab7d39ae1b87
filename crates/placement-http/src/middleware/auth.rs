//! Authentication (upstream's `auth.py`): one strategy checks the request,
//! then the [`RequestContext`] is built from the identity headers, as
//! upstream's `PlacementKeystoneContext` builds it with oslo.context.
//!
//! The root (`/`, and the bare mount prefix) answers without credentials so
//! clients can discover versions.
//!
//! - [`AuthStrategy::NoAuth2`], for tests and development, follows upstream's
//!   `NoAuthMiddleware` exactly: outside `/` (note: the bare prefix is *not*
//!   exempt, upstream compares `PATH_INFO` with `/` only) a request needs
//!   `X-Auth-Token: user[:project]`, else a bare webob 401. The user is the
//!   token's first part, the project its second (or the user again); user
//!   `admin` gets role `admin` unless `X-Roles` is sent; with
//!   `OpenStack-System-Scope` the token's project is not applied.
//! - [`AuthStrategy::Keystone`]: upstream runs keystonemiddleware's
//!   `auth_token` in process to validate the token. Until that lands here,
//!   placement trusts the identity headers `auth_token` would have set, as
//!   put there by an authenticating proxy in front of it: the request needs
//!   `X-Identity-Status: Confirmed`, `X-User-Id`, `X-Roles` and either
//!   `X-Project-Id` or `OpenStack-System-Scope`, else keystonemiddleware's
//!   401. **Such a proxy must strip those headers from client requests.**
//!
//! Authorization is not decided here: handlers check policy against the
//! context (upstream's `context.can(...)`), which is why the context keeps
//! roles, project and system scope.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::{RequestContext, RequestIds};
use crate::error::ApiError;
use crate::settings::{AppState, AuthStrategy};
use crate::wsgi::header_text;

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_IDENTITY_STATUS: HeaderName = HeaderName::from_static("x-identity-status");
const X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");
const X_USER: HeaderName = HeaderName::from_static("x-user");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");
const X_TENANT_ID: HeaderName = HeaderName::from_static("x-tenant-id");
const X_TENANT: HeaderName = HeaderName::from_static("x-tenant");
const X_ROLES: HeaderName = HeaderName::from_static("x-roles");
const X_ROLE: HeaderName = HeaderName::from_static("x-role");
const OPENSTACK_SYSTEM_SCOPE: HeaderName = HeaderName::from_static("openstack-system-scope");

/// Authenticates the request and stores its [`RequestContext`].
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(ids) = request.extensions().get::<RequestIds>().cloned() else {
        return ApiError::internal(crate::MissingLayer("request log")).into_response();
    };
    let path = request.uri().path();
    // Outside the mount the route table answers 404 after authentication,
    // as upstream's auth runs before routing.
    let path_info = state.settings.url_prefix.path_info(path).unwrap_or(path);
    let is_root = path_info == "/";
    let is_root_or_bare_prefix = is_root || path_info.is_empty();

    let checked = match state.settings.auth_strategy {
        AuthStrategy::NoAuth2 if is_root => Ok(()),
        AuthStrategy::NoAuth2 => apply_noauth2_token(request.headers_mut()),
        AuthStrategy::Keystone if is_root_or_bare_prefix => Ok(()),
        AuthStrategy::Keystone => check_keystone_headers(request.headers()),
    };
    if let Err(error) = checked {
        return error.into_response();
    }
    let context = context_from_headers(request.headers(), ids);
    if context.user_id.is_none() && !is_root_or_bare_prefix {
        tracing::debug!("neither X-User-Id nor X-User found in request");
        return ApiError::unauthorized().into_response();
    }
    let span = tracing::Span::current();
    if let Some(user_id) = &context.user_id {
        span.record("user_id", tracing::field::display(user_id));
    }
    if let Some(project_id) = &context.project_id {
        span.record("project_id", tracing::field::display(project_id));
    }
    request.extensions_mut().insert(context);
    next.run(request).await
}

/// upstream's `NoAuthMiddleware`: rewrites the identity headers from the
/// token, as upstream does, so the context is built the same way for both
/// strategies.
fn apply_noauth2_token(headers: &mut HeaderMap) -> Result<(), ApiError> {
    let Some(token) = headers.get(X_AUTH_TOKEN).cloned() else {
        return Err(ApiError::unauthorized());
    };
    let token = token.as_bytes();
    let (user, project) = match token.iter().position(|&b| b == b':') {
        Some(colon) => (&token[..colon], &token[colon + 1..]),
        None => (token, &token[..0]),
    };
    let project = if project.is_empty() { user } else { project };
    let set = |headers: &mut HeaderMap, name: HeaderName, bytes: &[u8]| {
        // A slice of a valid header value is a valid header value.
        if let Ok(value) = HeaderValue::from_bytes(bytes) {
            headers.insert(name, value);
        }
    };
    set(headers, X_USER_ID, user);
    if header_text(headers, &OPENSTACK_SYSTEM_SCOPE).is_none_or(|scope| scope.is_empty()) {
        set(headers, X_TENANT_ID, project);
    }
    if !headers.contains_key(X_ROLES) {
        let roles: &[u8] = if user == b"admin" { b"admin" } else { b"" };
        set(headers, X_ROLES, roles);
    }
    Ok(())
}

/// Stands in for keystonemiddleware's token check: the proxy in front must
/// have confirmed the identity and named user, roles and scope.
fn check_keystone_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    let present = |name: &HeaderName| header_text(headers, name).is_some_and(|v| !v.is_empty());
    let confirmed = header_text(headers, &X_IDENTITY_STATUS).as_deref() == Some("Confirmed");
    let scoped = present(&X_PROJECT_ID) || present(&OPENSTACK_SYSTEM_SCOPE);
    if confirmed && present(&X_USER_ID) && headers.contains_key(X_ROLES) && scoped {
        Ok(())
    } else {
        tracing::info!("rejecting request without a confirmed identity");
        Err(ApiError::keystone_unauthorized())
    }
}

/// oslo.context's `RequestContext.from_environ`: the first header present
/// of each list wins, roles are split on commas and stripped.
fn context_from_headers(headers: &HeaderMap, ids: RequestIds) -> RequestContext {
    let first = |names: &[HeaderName]| names.iter().find_map(|name| header_text(headers, name));
    let roles = first(&[X_ROLES, X_ROLE])
        .filter(|roles| !roles.is_empty())
        .map(|roles| {
            roles
                .split(',')
                .map(|role| role.trim().to_owned())
                .collect()
        })
        .unwrap_or_else(Vec::new);
    let mut context = RequestContext {
        user_id: first(&[X_USER_ID, X_USER]),
        project_id: first(&[X_PROJECT_ID, X_TENANT_ID, X_TENANT]),
        roles,
        system_scope: header_text(headers, &OPENSTACK_SYSTEM_SCOPE),
        ..RequestContext::anonymous(ids.request_id, ids.global_request_id)
    };
    context.is_admin = context.has_role("admin");
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> RequestIds {
        RequestIds {
            request_id: "req-local".to_owned(),
            global_request_id: None,
        }
    }

    fn noauth2(pairs: &[(&'static str, &'static str)]) -> Result<RequestContext, ApiError> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        apply_noauth2_token(&mut headers)?;
        Ok(context_from_headers(&headers, ids()))
    }

    #[test]
    fn the_token_names_user_and_project() {
        let context = noauth2(&[("x-auth-token", "alice:p1")]).unwrap();
        assert_eq!(context.user_id.as_deref(), Some("alice"));
        assert_eq!(context.project_id.as_deref(), Some("p1"));
        assert!(context.roles.is_empty());
        assert!(!context.is_admin);
    }

    #[test]
    fn the_project_defaults_to_the_user() {
        let context = noauth2(&[("x-auth-token", "bob")]).unwrap();
        assert_eq!(context.project_id.as_deref(), Some("bob"));
        let context = noauth2(&[("x-auth-token", "bob:")]).unwrap();
        assert_eq!(context.project_id.as_deref(), Some("bob"));
    }

    #[test]
    fn admin_gets_the_admin_role_unless_roles_are_given() {
        let context = noauth2(&[("x-auth-token", "admin")]).unwrap();
        assert_eq!(context.roles, ["admin"]);
        assert!(context.is_admin);
        let context = noauth2(&[("x-auth-token", "admin"), ("x-roles", "reader, member")]).unwrap();
        assert_eq!(context.roles, ["reader", "member"]);
        assert!(!context.is_admin);
    }

    #[test]
    fn a_system_scope_keeps_the_token_project_out() {
        let context = noauth2(&[
            ("x-auth-token", "admin:p1"),
            ("openstack-system-scope", "all"),
        ])
        .unwrap();
        assert_eq!(context.project_id, None);
        assert_eq!(context.system_scope.as_deref(), Some("all"));
    }

    #[test]
    fn a_client_project_header_wins_over_the_token_as_upstream() {
        let context = noauth2(&[("x-auth-token", "u:p1"), ("x-project-id", "p2")]).unwrap();
        assert_eq!(context.project_id.as_deref(), Some("p2"));
    }

    #[test]
    fn the_token_user_wins_over_a_client_user_header() {
        let context = noauth2(&[("x-auth-token", "u"), ("x-user-id", "mallory")]).unwrap();
        assert_eq!(context.user_id.as_deref(), Some("u"));
    }

    #[test]
    fn no_token_is_refused() {
        let error = noauth2(&[("x-user-id", "u")]).unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn keystone_needs_a_confirmed_identity_with_user_roles_and_scope() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-identity-status", "Confirmed"),
            ("x-user-id", "u"),
            ("x-project-id", "p"),
            ("x-roles", "member"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        assert!(check_keystone_headers(&headers).is_ok());
        for missing in ["x-identity-status", "x-user-id", "x-project-id", "x-roles"] {
            let mut partial = headers.clone();
            partial.remove(missing);
            assert!(check_keystone_headers(&partial).is_err(), "{missing}");
        }
        let mut system = headers.clone();
        system.remove("x-project-id");
        system.insert("openstack-system-scope", HeaderValue::from_static("all"));
        assert!(check_keystone_headers(&system).is_ok());
        let mut invalid = headers;
        invalid.insert("x-identity-status", HeaderValue::from_static("Invalid"));
        assert!(check_keystone_headers(&invalid).is_err());
    }
}
