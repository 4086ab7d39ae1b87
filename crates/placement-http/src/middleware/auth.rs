//! Authentication (upstream's `auth.py`): one strategy checks the request,
//! then the [`RequestContext`] is built from the identity headers, as
//! upstream's `PlacementKeystoneContext` builds it with oslo.context.
//!
//! The root (`/`, and for keystone the bare mount prefix) answers without
//! credentials so clients can discover versions.
//!
//! - [`AuthStrategy::NoAuth2`], for tests and development, follows upstream's
//!   `NoAuthMiddleware` exactly: outside `/` (note: the bare prefix is *not*
//!   exempt, upstream compares `PATH_INFO` with `/` only) a request needs
//!   `X-Auth-Token: user[:project]`, else a bare webob 401. The user is the
//!   token's first part, the project its second (or the user again); user
//!   `admin` gets role `admin` unless `X-Roles` is sent; with
//!   `OpenStack-System-Scope` the token's project is not applied.
//! - [`AuthStrategy::Keystone`] runs keystonemiddleware's `auth_token` as
//!   upstream's `PlacementAuthProtocol` does: the root skips it entirely (a
//!   token there, even a bogus one, is never looked at); everywhere else the
//!   [`TokenValidator`](crate::keystone::TokenValidator) removes the
//!   identity headers the client sent, validates the token with Keystone and
//!   writes the headers from Keystone's answer. No token or a bad one gets
//!   keystonemiddleware's 401, Keystone being unreachable its 503; every
//!   401 on the way out (also the context's own, and the handlers') carries
//!   `WWW-Authenticate: Keystone uri="…"`.
//!
//! Authorization is not decided here: handlers check policy against the
//! context (upstream's `context.can(...)`), which is why the context keeps
//! roles, project and system scope.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::context::{RequestContext, RequestIds};
use crate::error::ApiError;
use crate::keystone::{Decision, TokenValidator};
use crate::settings::{AppState, AuthStrategy};
use crate::wsgi::header_text;

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");
const X_USER: HeaderName = HeaderName::from_static("x-user");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");
const X_TENANT_ID: HeaderName = HeaderName::from_static("x-tenant-id");
const X_TENANT: HeaderName = HeaderName::from_static("x-tenant");
const X_DOMAIN_ID: HeaderName = HeaderName::from_static("x-domain-id");
const X_USER_DOMAIN_ID: HeaderName = HeaderName::from_static("x-user-domain-id");
const X_PROJECT_DOMAIN_ID: HeaderName = HeaderName::from_static("x-project-domain-id");
const X_ROLES: HeaderName = HeaderName::from_static("x-roles");
const X_ROLE: HeaderName = HeaderName::from_static("x-role");
const X_IS_ADMIN_PROJECT: HeaderName = HeaderName::from_static("x-is-admin-project");
const X_SERVICE_USER_ID: HeaderName = HeaderName::from_static("x-service-user-id");
const X_SERVICE_USER_DOMAIN_ID: HeaderName = HeaderName::from_static("x-service-user-domain-id");
const X_SERVICE_PROJECT_ID: HeaderName = HeaderName::from_static("x-service-project-id");
const X_SERVICE_PROJECT_DOMAIN_ID: HeaderName =
    HeaderName::from_static("x-service-project-domain-id");
const X_SERVICE_ROLES: HeaderName = HeaderName::from_static("x-service-roles");
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

    let keystone = match state.settings.auth_strategy {
        AuthStrategy::NoAuth2 => {
            if !is_root {
                if let Err(error) = apply_noauth2_token(request.headers_mut()) {
                    return error.into_response();
                }
            }
            None
        }
        AuthStrategy::Keystone if is_root_or_bare_prefix => None,
        AuthStrategy::Keystone => {
            let Some(validator) = state.settings.keystone.clone() else {
                tracing::error!("auth_strategy keystone without a token validator: refusing");
                return ApiError::keystone_unauthorized().into_response();
            };
            let method = request.method().clone();
            let path = request.uri().path().to_owned();
            match validator
                .process(request.headers_mut(), &method, &path)
                .await
            {
                Decision::Proceed => {}
                Decision::Reject => {
                    let response = ApiError::keystone_unauthorized().into_response();
                    return with_www_authenticate(response, &validator);
                }
                Decision::Unavailable(cause) => {
                    return ApiError::keystone_unavailable(cause).into_response();
                }
            }
            Some(validator)
        }
    };
    let context = context_from_headers(request.headers(), ids);
    if context.user_id.is_none() && !is_root_or_bare_prefix {
        tracing::debug!("neither X-User-Id nor X-User found in request");
        let response = ApiError::unauthorized().into_response();
        return match &keystone {
            Some(validator) => with_www_authenticate(response, validator),
            None => response,
        };
    }
    let span = tracing::Span::current();
    if let Some(user_id) = &context.user_id {
        span.record("user_id", tracing::field::display(user_id));
    }
    if let Some(project_id) = &context.project_id {
        span.record("project_id", tracing::field::display(project_id));
    }
    request.extensions_mut().insert(context);
    let response = next.run(request).await;
    match &keystone {
        Some(validator) => with_www_authenticate(response, validator),
        None => response,
    }
}

/// keystonemiddleware's `process_response`: a 401 tells the client where
/// to authenticate.
fn with_www_authenticate(mut response: Response, validator: &TokenValidator) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(value) = validator.www_authenticate() {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, value);
        }
    }
    response
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

/// oslo.context's `RequestContext.from_environ`: the first header present
/// of each list wins; roles are split on commas and stripped;
/// `X-Is-Admin-Project` is true unless it says otherwise (any case of
/// `true`).
fn context_from_headers(headers: &HeaderMap, ids: RequestIds) -> RequestContext {
    let first = |names: &[HeaderName]| names.iter().find_map(|name| header_text(headers, name));
    let one = |name: &HeaderName| header_text(headers, name);
    let roles = |names: &[HeaderName]| -> Vec<String> {
        first(names)
            .filter(|roles| !roles.is_empty())
            .map(|roles| {
                roles
                    .split(',')
                    .map(|role| role.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut context = RequestContext {
        user_id: first(&[X_USER_ID, X_USER]),
        project_id: first(&[X_PROJECT_ID, X_TENANT_ID, X_TENANT]),
        roles: roles(&[X_ROLES, X_ROLE]),
        system_scope: one(&OPENSTACK_SYSTEM_SCOPE),
        user_domain_id: one(&X_USER_DOMAIN_ID),
        project_domain_id: one(&X_PROJECT_DOMAIN_ID),
        domain_id: one(&X_DOMAIN_ID),
        is_admin_project: one(&X_IS_ADMIN_PROJECT)
            .is_none_or(|value| value.eq_ignore_ascii_case("true")),
        service_user_id: one(&X_SERVICE_USER_ID),
        service_user_domain_id: one(&X_SERVICE_USER_DOMAIN_ID),
        service_project_id: one(&X_SERVICE_PROJECT_ID),
        service_project_domain_id: one(&X_SERVICE_PROJECT_DOMAIN_ID),
        service_roles: roles(&[X_SERVICE_ROLES]),
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

    fn context(pairs: &[(&'static str, &'static str)]) -> RequestContext {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        context_from_headers(&headers, ids())
    }

    #[test]
    fn the_context_takes_every_field_oslo_context_reads() {
        let context = context(&[
            ("x-user-id", "u"),
            ("x-user-domain-id", "ud"),
            ("x-project-id", "p"),
            ("x-project-domain-id", "pd"),
            ("x-domain-id", "d"),
            ("openstack-system-scope", "all"),
            ("x-roles", "reader, Admin"),
            ("x-is-admin-project", "False"),
            ("x-service-user-id", "su"),
            ("x-service-user-domain-id", "sud"),
            ("x-service-project-id", "sp"),
            ("x-service-project-domain-id", "spd"),
            ("x-service-roles", "service,admin"),
        ]);
        assert_eq!(context.user_id.as_deref(), Some("u"));
        assert_eq!(context.user_domain_id.as_deref(), Some("ud"));
        assert_eq!(context.project_id.as_deref(), Some("p"));
        assert_eq!(context.project_domain_id.as_deref(), Some("pd"));
        assert_eq!(context.domain_id.as_deref(), Some("d"));
        assert_eq!(context.system_scope.as_deref(), Some("all"));
        assert_eq!(context.roles, ["reader", "Admin"]);
        assert!(context.is_admin);
        assert!(!context.is_admin_project);
        assert_eq!(context.service_user_id.as_deref(), Some("su"));
        assert_eq!(context.service_user_domain_id.as_deref(), Some("sud"));
        assert_eq!(context.service_project_id.as_deref(), Some("sp"));
        assert_eq!(context.service_project_domain_id.as_deref(), Some("spd"));
        assert_eq!(context.service_roles, ["service", "admin"]);
    }

    #[test]
    fn deprecated_headers_stand_in_for_missing_ones() {
        let context = context(&[("x-user", "u"), ("x-tenant", "t"), ("x-role", "member")]);
        assert_eq!(context.user_id.as_deref(), Some("u"));
        assert_eq!(context.project_id.as_deref(), Some("t"));
        assert_eq!(context.roles, ["member"]);
        let context = context_with_tenant_id();
        assert_eq!(context.project_id.as_deref(), Some("tid"));
    }

    fn context_with_tenant_id() -> RequestContext {
        context(&[("x-tenant-id", "tid"), ("x-tenant", "t")])
    }

    #[test]
    fn the_admin_project_flag_defaults_to_true_and_ignores_case() {
        assert!(context(&[]).is_admin_project);
        assert!(context(&[("x-is-admin-project", "TRUE")]).is_admin_project);
        assert!(!context(&[("x-is-admin-project", "yes")]).is_admin_project);
        assert!(context(&[]).service_roles.is_empty());
    }
}
