//! oslo.policy's rule language and placement's registered rules, with no
//! I/O: parsing check strings, evaluating them against credentials and a
//! target, scope types, and the defaults upstream placement 16.0.0 registers.
//!
//! (Interface stub: the engine lands in the next commits.)

use std::collections::BTreeMap;

/// The credentials a rule is checked against: what oslo.context's
/// `RequestContext.to_policy_values()` gives upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `X-User-Id`.
    pub user_id: Option<String>,
    /// `X-User-Domain-Id`.
    pub user_domain_id: Option<String>,
    /// `X-Project-Id`.
    pub project_id: Option<String>,
    /// `X-Project-Domain-Id`.
    pub project_domain_id: Option<String>,
    /// `X-Domain-Id` (domain-scoped tokens).
    pub domain_id: Option<String>,
    /// `OpenStack-System-Scope` (`all` for system-scoped tokens).
    pub system_scope: Option<String>,
    /// Role names, as given.
    pub roles: Vec<String>,
    /// `X-Is-Admin-Project` (true unless the header says otherwise).
    pub is_admin_project: bool,
    /// `X-Service-User-Id`.
    pub service_user_id: Option<String>,
    /// `X-Service-User-Domain-Id`.
    pub service_user_domain_id: Option<String>,
    /// `X-Service-Project-Id`.
    pub service_project_id: Option<String>,
    /// `X-Service-Project-Domain-Id`.
    pub service_project_domain_id: Option<String>,
    /// `X-Service-Roles`.
    pub service_roles: Vec<String>,
}

/// What a rule's `%(name)s` substitutions read: upstream passes
/// `{project_id, user_id}` of the caller, or `/usages`' query project.
/// `None` formats as Python's `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target(pub BTreeMap<String, Option<String>>);
