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
    /// `X-User-Domain-Id`.
    pub user_domain_id: Option<String>,
    /// `X-Project-Domain-Id`.
    pub project_domain_id: Option<String>,
    /// `X-Domain-Id`, for domain-scoped tokens.
    pub domain_id: Option<String>,
    /// `X-Is-Admin-Project` (oslo.context: true unless the header says
    /// otherwise).
    pub is_admin_project: bool,
    /// `X-Service-User-Id`, when a service token came with the request.
    pub service_user_id: Option<String>,
    /// `X-Service-User-Domain-Id`.
    pub service_user_domain_id: Option<String>,
    /// `X-Service-Project-Id`.
    pub service_project_id: Option<String>,
    /// `X-Service-Project-Domain-Id`.
    pub service_project_domain_id: Option<String>,
    /// `X-Service-Roles`.
    pub service_roles: Vec<String>,
    /// The caller's `X-Openstack-Request-Id`, when it is a well-formed
    /// `req-<uuid>`: the id that ties one operation together across services.
    pub global_request_id: Option<String>,
    /// This request's own id, `req-<uuid4>`, also sent back in
    /// `x-openstack-request-id`.
    pub request_id: String,
}

impl RequestContext {
    /// A context with only the request id set: the unauthenticated root,
    /// and the starting point the auth middleware fills in.
    pub fn anonymous(request_id: String, global_request_id: Option<String>) -> Self {
        Self {
            user_id: None,
            project_id: None,
            roles: Vec::new(),
            is_admin: false,
            system_scope: None,
            user_domain_id: None,
            project_domain_id: None,
            domain_id: None,
            is_admin_project: true,
            service_user_id: None,
            service_user_domain_id: None,
            service_project_id: None,
            service_project_domain_id: None,
            service_roles: Vec::new(),
            global_request_id,
            request_id,
        }
    }

    /// What policy rules are checked against (oslo.context's
    /// `to_policy_values()`).
    pub fn credentials(&self) -> placement_core::policy::Credentials {
        placement_core::policy::Credentials {
            user_id: self.user_id.clone(),
            user_domain_id: self.user_domain_id.clone(),
            project_id: self.project_id.clone(),
            project_domain_id: self.project_domain_id.clone(),
            domain_id: self.domain_id.clone(),
            system_scope: self.system_scope.clone(),
            roles: self.roles.clone(),
            is_admin_project: self.is_admin_project,
            service_user_id: self.service_user_id.clone(),
            service_user_domain_id: self.service_user_domain_id.clone(),
            service_project_id: self.service_project_id.clone(),
            service_project_domain_id: self.service_project_domain_id.clone(),
            service_roles: self.service_roles.clone(),
        }
    }

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
