//! oslo.policy's rule language and placement's registered rules, with no
//! I/O: parsing check strings, evaluating them against credentials and a
//! target, scope types, and the defaults upstream placement 16.0.0 registers.
//!
//! # Layout
//! - [`check`]: the rule language — check strings and the list-of-lists
//!   form parsed once into a [`Check`] tree, evaluated per request.
//! - [`defaults`]: the 38 registered rules (names, checks, scope types,
//!   operations, deprecated checks) and the action names as constants.
//! - [`rules`]: the effective [`RuleSet`] (defaults merged with file rules,
//!   legacy checks or-ed in when `enforce_new_defaults` is off) and the
//!   decision for one action, with the scope check.
//! - [`sample`]: the sample policy file, [`sample_yaml`].
//!
//! Reading policy files, reloading them and logging belong to the HTTP
//! crate's enforcer; problems found here come back as [`RuleWarning`]s.

use std::collections::BTreeMap;

pub mod check;
pub mod defaults;
pub mod rules;
pub mod sample;

pub use check::{Check, ParseError, RuleSpec};
pub use defaults::{actions, RuleDefault, ScopeType};
pub use rules::{Denial, RuleSet, RuleWarning};
pub use sample::sample_yaml;

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

impl Target {
    /// An empty target: every `%(key)s` in a rule is then missing, so the
    /// checks using one are false.
    pub fn new() -> Self {
        Self::default()
    }

    /// The target most placement handlers pass: the caller's own project
    /// and user.
    pub fn for_caller(creds: &Credentials) -> Self {
        Self::new()
            .with("project_id", creds.project_id.clone())
            .with("user_id", creds.user_id.clone())
    }

    /// Adds (or replaces) `key`; `None` formats as `"None"`, as upstream.
    #[must_use]
    pub fn with(mut self, key: &str, value: Option<String>) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }
}
