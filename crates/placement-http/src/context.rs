//! Who is asking: the request context the auth middleware builds for every
//! request and handlers (and, later, policy checks) read.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The identity and ids of one request (upstream's `RequestContext`, built
/// by oslo.context from keystonemiddleware's headers).
///
/// Policy rules are written against these fields: `role:admin`,
/// `project_id:%(project_id)s`, and scope, which is why the system scope is
/// kept next to the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The authenticated user; `None` only on the unauthenticated root.
    pub user_id: Option<String>,
    /// The project the token is scoped to, if it is project scoped.
    pub project_id: Option<String>,
    /// Role names, as given (keystone flattens implied roles already).
    pub roles: Vec<String>,
    /// Whether the roles include `admin` (compared without case, as
    /// oslo.policy compares roles). A convenience for policy checks, not a
    /// separate grant.
    pub is_admin: bool,
    /// `OpenStack-System-Scope` (e.g. `all`) for system-scoped tokens.
    pub system_scope: Option<String>,
    /// The caller's `X-Openstack-Request-Id`, when it is a well-formed
    /// `req-<uuid>`: the id that ties one operation together across services.
    pub global_request_id: Option<String>,
    /// This request's own id, `req-<uuid4>`, also sent back in
    /// `x-openstack-request-id`.
    pub request_id: String,
}

impl RequestContext {
    /// Whether the context holds `role` (without regard to case).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles
            .iter()
            .any(|held| held.eq_ignore_ascii_case(role))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| ApiError::internal(crate::MissingLayer("auth")))
    }
}

/// The ids the request-log middleware assigns, handed on to the auth
/// middleware which puts them in the context.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub(crate) request_id: String,
    pub(crate) global_request_id: Option<String>,
}
