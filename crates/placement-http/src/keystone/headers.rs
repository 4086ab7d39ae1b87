//! The identity headers between token validation and the request context:
//! what clients may not send, and what a validated token writes
//! (keystonemiddleware's `_AuthTokenRequest`).
//!
//! Placement builds its context from these headers only after the
//! validator has removed every client-supplied one and written its own, so
//! the headers carry nothing but Keystone's word.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::token::TokenData;

/// `X-Identity-Status`: `Confirmed` or `Invalid`, always set.
pub(crate) const X_IDENTITY_STATUS: HeaderName = HeaderName::from_static("x-identity-status");
/// `X-Service-Identity-Status`, set when a service token was sent.
pub(crate) const X_SERVICE_IDENTITY_STATUS: HeaderName =
    HeaderName::from_static("x-service-identity-status");
const X_IS_ADMIN_PROJECT: HeaderName = HeaderName::from_static("x-is-admin-project");
const X_SERVICE_CATALOG: HeaderName = HeaderName::from_static("x-service-catalog");
const OPENSTACK_SYSTEM_SCOPE: HeaderName = HeaderName::from_static("openstack-system-scope");

/// The headers that describe an identity, for the user (`X-…`) and the
/// service (`X-Service-…`), in keystonemiddleware's `_HEADER_TEMPLATE`
/// order, plus the roles.
struct Prefixed {
    domain_id: HeaderName,
    domain_name: HeaderName,
    project_id: HeaderName,
    project_name: HeaderName,
    project_domain_id: HeaderName,
    project_domain_name: HeaderName,
    user_id: HeaderName,
    user_name: HeaderName,
    user_domain_id: HeaderName,
    user_domain_name: HeaderName,
    roles: HeaderName,
}

impl Prefixed {
    fn all(&'static self) -> [&'static HeaderName; 11] {
        [
            &self.domain_id,
            &self.domain_name,
            &self.project_id,
            &self.project_name,
            &self.project_domain_id,
            &self.project_domain_name,
            &self.user_id,
            &self.user_name,
            &self.user_domain_id,
            &self.user_domain_name,
            &self.roles,
        ]
    }
}

static USER: Prefixed = Prefixed {
    domain_id: HeaderName::from_static("x-domain-id"),
    domain_name: HeaderName::from_static("x-domain-name"),
    project_id: HeaderName::from_static("x-project-id"),
    project_name: HeaderName::from_static("x-project-name"),
    project_domain_id: HeaderName::from_static("x-project-domain-id"),
    project_domain_name: HeaderName::from_static("x-project-domain-name"),
    user_id: HeaderName::from_static("x-user-id"),
    user_name: HeaderName::from_static("x-user-name"),
    user_domain_id: HeaderName::from_static("x-user-domain-id"),
    user_domain_name: HeaderName::from_static("x-user-domain-name"),
    roles: HeaderName::from_static("x-roles"),
};

static SERVICE: Prefixed = Prefixed {
    domain_id: HeaderName::from_static("x-service-domain-id"),
    domain_name: HeaderName::from_static("x-service-domain-name"),
    project_id: HeaderName::from_static("x-service-project-id"),
    project_name: HeaderName::from_static("x-service-project-name"),
    project_domain_id: HeaderName::from_static("x-service-project-domain-id"),
    project_domain_name: HeaderName::from_static("x-service-project-domain-name"),
    user_id: HeaderName::from_static("x-service-user-id"),
    user_name: HeaderName::from_static("x-service-user-name"),
    user_domain_id: HeaderName::from_static("x-service-user-domain-id"),
    user_domain_name: HeaderName::from_static("x-service-user-domain-name"),
    roles: HeaderName::from_static("x-service-roles"),
};

/// keystonemiddleware's deprecated names and the header each copies.
static DEPRECATED: [(HeaderName, &HeaderName); 5] = [
    (HeaderName::from_static("x-role"), &USER.roles),
    (HeaderName::from_static("x-user"), &USER.user_name),
    (HeaderName::from_static("x-tenant-id"), &USER.project_id),
    (HeaderName::from_static("x-tenant-name"), &USER.project_name),
    (HeaderName::from_static("x-tenant"), &USER.project_name),
];

/// Every header a client could use to pose as someone
/// (keystonemiddleware's `_all_auth_headers`) and `OpenStack-System-Scope`.
pub(crate) fn identity_headers() -> impl Iterator<Item = &'static HeaderName> {
    static SINGLE: [HeaderName; 5] = [
        X_SERVICE_CATALOG,
        X_IDENTITY_STATUS,
        X_SERVICE_IDENTITY_STATUS,
        X_IS_ADMIN_PROJECT,
        // NOTE(upstream): keystonemiddleware does not remove this one; it is
        // only overwritten when a token validates, so with
        // delay_auth_decision a client's own system scope reached placement.
        OPENSTACK_SYSTEM_SCOPE,
    ];
    SINGLE
        .iter()
        .chain(DEPRECATED.iter().map(|(name, _)| name))
        .chain(USER.all())
        .chain(SERVICE.all())
}

/// Removes every client-supplied identity header.
pub(crate) fn strip_identity_headers(headers: &mut HeaderMap) {
    for name in identity_headers() {
        headers.remove(name);
    }
}

/// Sets `name` to `value`, or removes it when there is no value (webob's
/// `headers[name] = None`). Text Keystone sent that cannot be a header
/// value is left out, with a warning.
fn set(headers: &mut HeaderMap, name: &HeaderName, value: Option<&str>) {
    let Some(value) = value else {
        headers.remove(name);
        return;
    };
    match HeaderValue::from_bytes(value.as_bytes()) {
        Ok(value) => {
            headers.insert(name.clone(), value);
        }
        Err(_) => {
            tracing::warn!(header = %name, "token data not usable as a header value; left out");
            headers.remove(name);
        }
    }
}

/// `X-Identity-Status` or `X-Service-Identity-Status`.
pub(crate) fn set_status(headers: &mut HeaderMap, name: HeaderName, confirmed: bool) {
    let value = if confirmed { "Confirmed" } else { "Invalid" };
    headers.insert(name, HeaderValue::from_static(value));
}

/// `_set_auth_headers`: roles, system scope and the ten identity headers.
fn set_auth_headers(headers: &mut HeaderMap, token: &TokenData, names: &Prefixed) {
    set(headers, &names.roles, Some(&token.roles.join(",")));
    // Quirk kept from upstream: the service token's scope overwrites the
    // user's (a project-scoped service token clears a system user's).
    set(
        headers,
        &OPENSTACK_SYSTEM_SCOPE,
        token.system_scope.as_deref(),
    );
    let project = token.project.as_ref();
    let domain = token.domain.as_ref();
    let values = [
        (&names.domain_id, domain.and_then(|d| d.id.as_deref())),
        (&names.domain_name, domain.and_then(|d| d.name.as_deref())),
        (&names.project_id, project.and_then(|p| p.id.as_deref())),
        (&names.project_name, project.and_then(|p| p.name.as_deref())),
        (
            &names.project_domain_id,
            project.and_then(|p| p.domain.id.as_deref()),
        ),
        (
            &names.project_domain_name,
            project.and_then(|p| p.domain.name.as_deref()),
        ),
        (&names.user_id, token.user.id.as_deref()),
        (&names.user_name, token.user.name.as_deref()),
        (&names.user_domain_id, token.user.domain.id.as_deref()),
        (&names.user_domain_name, token.user.domain.name.as_deref()),
    ];
    for (name, value) in values {
        set(headers, name, value);
    }
}

/// `set_user_headers`: the user's identity, admin-project flag and the
/// deprecated copies.
pub(crate) fn set_user_headers(headers: &mut HeaderMap, token: &TokenData) {
    set_auth_headers(headers, token, &USER);
    let admin_project = if token.is_admin_project {
        "True"
    } else {
        "False"
    };
    headers.insert(X_IS_ADMIN_PROJECT, HeaderValue::from_static(admin_project));
    for (deprecated, current) in &DEPRECATED {
        match headers.get(*current).cloned() {
            Some(value) => {
                headers.insert(deprecated.clone(), value);
            }
            None => {
                headers.remove(deprecated);
            }
        }
    }
}

/// `set_service_catalog_headers`: the user token's catalog, or none.
pub(crate) fn set_service_catalog_header(headers: &mut HeaderMap, token: &TokenData) {
    match &token.catalog_header {
        Some(catalog) => {
            headers.insert(X_SERVICE_CATALOG, catalog.clone());
        }
        None => {
            headers.remove(X_SERVICE_CATALOG);
        }
    }
}

/// `set_service_headers`: the service token's identity.
pub(crate) fn set_service_headers(headers: &mut HeaderMap, token: &TokenData) {
    set_auth_headers(headers, token, &SERVICE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(json: &str) -> TokenData {
        TokenData::parse(json.as_bytes()).unwrap()
    }

    fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// keystonemiddleware's list (A1) and the system scope.
    const EVERY_IDENTITY_HEADER: [&str; 32] = [
        "X-Identity-Status",
        "X-Service-Identity-Status",
        "X-Is-Admin-Project",
        "X-Service-Catalog",
        "X-Role",
        "X-User",
        "X-Tenant-Id",
        "X-Tenant-Name",
        "X-Tenant",
        "X-Roles",
        "X-Service-Roles",
        "X-Domain-Id",
        "X-Domain-Name",
        "X-Project-Id",
        "X-Project-Name",
        "X-Project-Domain-Id",
        "X-Project-Domain-Name",
        "X-User-Id",
        "X-User-Name",
        "X-User-Domain-Id",
        "X-User-Domain-Name",
        "X-Service-Domain-Id",
        "X-Service-Domain-Name",
        "X-Service-Project-Id",
        "X-Service-Project-Name",
        "X-Service-Project-Domain-Id",
        "X-Service-Project-Domain-Name",
        "X-Service-User-Id",
        "X-Service-User-Name",
        "X-Service-User-Domain-Id",
        "X-Service-User-Domain-Name",
        "OpenStack-System-Scope",
    ];

    #[test]
    fn every_identity_header_a_client_sends_is_removed() {
        let mut headers = HeaderMap::new();
        for name in EVERY_IDENTITY_HEADER {
            headers.append(name, HeaderValue::from_static("spoofed"));
            headers.append(name, HeaderValue::from_static("twice"));
        }
        headers.insert("x-auth-token", HeaderValue::from_static("t"));
        headers.insert("x-service-token", HeaderValue::from_static("s"));
        headers.insert("accept", HeaderValue::from_static("application/json"));
        strip_identity_headers(&mut headers);
        for name in EVERY_IDENTITY_HEADER {
            assert!(!headers.contains_key(name), "{name} survived");
        }
        assert_eq!(headers.len(), 3, "{headers:?}");
        assert_eq!(identity_headers().count(), EVERY_IDENTITY_HEADER.len());
    }

    #[test]
    fn a_project_token_sets_the_user_headers_and_deprecated_copies() {
        let json = crate::keystone::token::tests::project_token_json("2030-01-01T00:00:00Z");
        let mut headers = HeaderMap::new();
        headers.insert("openstack-system-scope", HeaderValue::from_static("all"));
        headers.insert("x-domain-id", HeaderValue::from_static("stale"));
        set_user_headers(&mut headers, &token(&json));
        let expected = [
            ("x-roles", "reader,member"),
            ("x-role", "reader,member"),
            ("x-project-id", "p1"),
            ("x-tenant-id", "p1"),
            ("x-project-name", "demo"),
            ("x-tenant-name", "demo"),
            ("x-tenant", "demo"),
            ("x-project-domain-id", "default"),
            ("x-project-domain-name", "Default"),
            ("x-user-id", "u1"),
            ("x-user-name", "alice"),
            ("x-user", "alice"),
            ("x-user-domain-id", "default"),
            ("x-user-domain-name", "Default"),
            ("x-is-admin-project", "True"),
        ];
        for (name, value) in expected {
            assert_eq!(text(&headers, name), Some(value), "{name}");
        }
        for absent in ["openstack-system-scope", "x-domain-id", "x-domain-name"] {
            assert!(!headers.contains_key(absent), "{absent}");
        }
        assert_eq!(headers.len(), expected.len());
    }

    #[test]
    fn a_domain_token_sets_the_domain_headers() {
        let json = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "is_admin_project": false,
            "domain": {"id": "d1", "name": "Dom"}, "user": {"id": "u", "name": "n", "domain": {"id": "d1", "name": "Dom"}},
            "roles": [{"name": "admin"}]}}"#;
        let mut headers = HeaderMap::new();
        set_user_headers(&mut headers, &token(json));
        assert_eq!(text(&headers, "x-domain-id"), Some("d1"));
        assert_eq!(text(&headers, "x-domain-name"), Some("Dom"));
        assert_eq!(text(&headers, "x-is-admin-project"), Some("False"));
        assert!(!headers.contains_key("x-project-id"));
        assert!(!headers.contains_key("x-tenant-id"));
        assert!(!headers.contains_key("x-tenant"));
    }

    #[test]
    fn a_system_token_sets_the_system_scope_and_no_project() {
        let json = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "system": {"all": true},
            "user": {"id": "admin-id", "name": "admin"}, "roles": [{"name": "admin"}, {"name": "manager"}]}}"#;
        let mut headers = HeaderMap::new();
        set_user_headers(&mut headers, &token(json));
        assert_eq!(text(&headers, "openstack-system-scope"), Some("all"));
        assert_eq!(text(&headers, "x-roles"), Some("admin,manager"));
        assert!(!headers.contains_key("x-project-id"));
    }

    #[test]
    fn a_token_without_roles_sets_empty_roles() {
        let json = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "user": {"id": "u"}}}"#;
        let mut headers = HeaderMap::new();
        set_user_headers(&mut headers, &token(json));
        assert_eq!(text(&headers, "x-roles"), Some(""));
        assert_eq!(text(&headers, "x-role"), Some(""));
    }

    #[test]
    fn a_service_token_sets_the_service_headers_and_its_own_scope() {
        let user = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "system": {"all": true},
            "user": {"id": "admin-id"}, "roles": [{"name": "admin"}]}}"#;
        let service = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z",
            "project": {"id": "sp", "name": "service", "domain": {"id": "default", "name": "Default"}},
            "user": {"id": "su", "name": "nova", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"name": "service"}]}}"#;
        let mut headers = HeaderMap::new();
        set_user_headers(&mut headers, &token(user));
        set_service_headers(&mut headers, &token(service));
        let expected = [
            ("x-service-roles", "service"),
            ("x-service-project-id", "sp"),
            ("x-service-project-name", "service"),
            ("x-service-project-domain-id", "default"),
            ("x-service-project-domain-name", "Default"),
            ("x-service-user-id", "su"),
            ("x-service-user-name", "nova"),
            ("x-service-user-domain-id", "default"),
            ("x-service-user-domain-name", "Default"),
            ("x-user-id", "admin-id"),
            ("x-roles", "admin"),
        ];
        for (name, value) in expected {
            assert_eq!(text(&headers, name), Some(value), "{name}");
        }
        assert!(!headers.contains_key("x-service-domain-id"));
        // keystonemiddleware's quirk: the service token's scope wins.
        assert!(!headers.contains_key("openstack-system-scope"));
    }

    #[test]
    fn the_catalog_header_follows_the_token() {
        let json = crate::keystone::token::tests::project_token_json("2030-01-01T00:00:00Z");
        let mut headers = HeaderMap::new();
        set_service_catalog_header(&mut headers, &token(&json));
        assert!(text(&headers, "x-service-catalog")
            .unwrap()
            .starts_with("[{\"type\": \"identity\", \"name\": \"keystone\", \"endpoints\": [{\"region\": \"RegionOne\", \"publicURL\": \"http://ks/v3\""));
        let bare = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z"}}"#;
        set_service_catalog_header(&mut headers, &token(bare));
        assert!(!headers.contains_key("x-service-catalog"));
    }

    #[test]
    fn values_that_cannot_be_headers_are_left_out() {
        let json = r#"{"token": {"expires_at": "2030-01-01T00:00:00Z", "user": {"id": "u\nX-Roles: admin", "name": "Jos\u00e9"}}}"#;
        let mut headers = HeaderMap::new();
        set_user_headers(&mut headers, &token(json));
        assert!(!headers.contains_key("x-user-id"));
        assert_eq!(
            headers.get("x-user-name").unwrap().as_bytes(),
            "Jos\u{e9}".as_bytes()
        );
    }
}
