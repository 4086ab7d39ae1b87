//! The 38 rules upstream placement 16.0.0 registers (`placement/policies/`):
//! names, check strings, scope types, the HTTP operations each guards and
//! the deprecated legacy check of the base rules. The names, checks, scopes,
//! operations and deprecations are upstream's; the descriptions are ours.
//!
//! Order is upstream's registration order (base rules, then providers,
//! classes, inventories, aggregates, usages, traits, allocations,
//! candidates, reshaper), which the sample file follows.

use std::fmt;

/// The scopes a token can have, and a rule can be meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeType {
    /// A system-scoped token (`OpenStack-System-Scope: all`).
    System,
    /// A domain-scoped token.
    Domain,
    /// A project-scoped (or unscoped) token.
    Project,
}

impl ScopeType {
    /// The name oslo.policy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeType::System => "system",
            ScopeType::Domain => "domain",
            ScopeType::Project => "project",
        }
    }
}

impl fmt::Display for ScopeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP operation a rule guards, for the sample file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `GET`, `PUT`, …
    pub method: &'static str,
    /// The route as upstream documents it (`/resource_providers/{uuid}`).
    pub path: &'static str,
}

/// The legacy check a rule replaced. While `enforce_new_defaults` is off,
/// a rule no file overrides passes when either check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedRule {
    /// The legacy name. NOTE(upstream): placement registers it as
    /// `rule:admin_api`, prefix included, and oslo.policy honours a file
    /// rule of exactly that name.
    pub name: &'static str,
    /// The legacy check string.
    pub check_str: &'static str,
    /// The release that deprecated it (upstream's `W`, Wallaby).
    pub since: &'static str,
    /// Why, for the sample file.
    pub reason: &'static str,
}

/// A rule placement registers: what `oslo_policy.RuleDefault` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleDefault {
    /// The rule (and action) name.
    pub name: &'static str,
    /// The default check string.
    pub check_str: &'static str,
    /// What the rule is for, in our words.
    pub description: &'static str,
    /// The HTTP operations it guards; empty for the base rules.
    pub operations: &'static [Operation],
    /// The token scopes it is meant for; empty means any.
    pub scope_types: &'static [ScopeType],
    /// The legacy check it replaced, if any.
    pub deprecated_rule: Option<DeprecatedRule>,
}

/// The action names handlers authorize, so a typo is a compile error.
pub mod actions {
    /// `GET /resource_providers`
    pub const RESOURCE_PROVIDERS_LIST: &str = "placement:resource_providers:list";
    /// `POST /resource_providers`
    pub const RESOURCE_PROVIDERS_CREATE: &str = "placement:resource_providers:create";
    /// `GET /resource_providers/{uuid}`
    pub const RESOURCE_PROVIDERS_SHOW: &str = "placement:resource_providers:show";
    /// `PUT /resource_providers/{uuid}`
    pub const RESOURCE_PROVIDERS_UPDATE: &str = "placement:resource_providers:update";
    /// `DELETE /resource_providers/{uuid}`
    pub const RESOURCE_PROVIDERS_DELETE: &str = "placement:resource_providers:delete";
    /// `GET /resource_classes`
    pub const RESOURCE_CLASSES_LIST: &str = "placement:resource_classes:list";
    /// `POST /resource_classes`
    pub const RESOURCE_CLASSES_CREATE: &str = "placement:resource_classes:create";
    /// `GET /resource_classes/{name}`
    pub const RESOURCE_CLASSES_SHOW: &str = "placement:resource_classes:show";
    /// `PUT /resource_classes/{name}`
    pub const RESOURCE_CLASSES_UPDATE: &str = "placement:resource_classes:update";
    /// `DELETE /resource_classes/{name}`
    pub const RESOURCE_CLASSES_DELETE: &str = "placement:resource_classes:delete";
    /// `GET /resource_providers/{uuid}/inventories`
    pub const INVENTORIES_LIST: &str = "placement:resource_providers:inventories:list";
    /// `POST /resource_providers/{uuid}/inventories`
    pub const INVENTORIES_CREATE: &str = "placement:resource_providers:inventories:create";
    /// `GET /resource_providers/{uuid}/inventories/{resource_class}`
    pub const INVENTORIES_SHOW: &str = "placement:resource_providers:inventories:show";
    /// `PUT` on one inventory or all of a provider's.
    pub const INVENTORIES_UPDATE: &str = "placement:resource_providers:inventories:update";
    /// `DELETE` on one inventory or all of a provider's.
    pub const INVENTORIES_DELETE: &str = "placement:resource_providers:inventories:delete";
    /// `GET /resource_providers/{uuid}/aggregates`
    pub const AGGREGATES_LIST: &str = "placement:resource_providers:aggregates:list";
    /// `PUT /resource_providers/{uuid}/aggregates`
    pub const AGGREGATES_UPDATE: &str = "placement:resource_providers:aggregates:update";
    /// `GET /resource_providers/{uuid}/usages`
    pub const PROVIDER_USAGES: &str = "placement:resource_providers:usages";
    /// `GET /usages`
    pub const TOTAL_USAGES: &str = "placement:usages";
    /// `GET /traits`
    pub const TRAITS_LIST: &str = "placement:traits:list";
    /// `GET /traits/{name}`
    pub const TRAITS_SHOW: &str = "placement:traits:show";
    /// `PUT /traits/{name}`
    pub const TRAITS_UPDATE: &str = "placement:traits:update";
    /// `DELETE /traits/{name}`
    pub const TRAITS_DELETE: &str = "placement:traits:delete";
    /// `GET /resource_providers/{uuid}/traits`
    pub const PROVIDER_TRAITS_LIST: &str = "placement:resource_providers:traits:list";
    /// `PUT /resource_providers/{uuid}/traits`
    pub const PROVIDER_TRAITS_UPDATE: &str = "placement:resource_providers:traits:update";
    /// `DELETE /resource_providers/{uuid}/traits`
    pub const PROVIDER_TRAITS_DELETE: &str = "placement:resource_providers:traits:delete";
    /// `POST /allocations`
    pub const ALLOCATIONS_MANAGE: &str = "placement:allocations:manage";
    /// `GET /allocations/{consumer_uuid}`
    pub const ALLOCATIONS_LIST: &str = "placement:allocations:list";
    /// `PUT /allocations/{consumer_uuid}`
    pub const ALLOCATIONS_UPDATE: &str = "placement:allocations:update";
    /// `DELETE /allocations/{consumer_uuid}`
    pub const ALLOCATIONS_DELETE: &str = "placement:allocations:delete";
    /// `GET /resource_providers/{uuid}/allocations`
    pub const PROVIDER_ALLOCATIONS_LIST: &str = "placement:resource_providers:allocations:list";
    /// `GET /allocation_candidates`
    pub const ALLOCATION_CANDIDATES_LIST: &str = "placement:allocation_candidates:list";
    /// `POST /reshaper`
    pub const RESHAPER_RESHAPE: &str = "placement:reshaper:reshape";
}

use actions::*;

const PROJECT: &[ScopeType] = &[ScopeType::Project];
const ADMIN_OR_SERVICE: &str = "rule:admin_or_service_api";

/// The legacy check every deprecated base rule shares.
const DEPRECATED_ADMIN: DeprecatedRule = DeprecatedRule {
    name: "rule:admin_api",
    check_str: "role:admin",
    since: "W",
    reason: "Placement's defaults now tell readers, services and admins \
             apart and say which token scope each rule is meant for. With \
             enforce_new_defaults off, the old admin-only check still \
             passes alongside the new one.",
};

const fn op(method: &'static str, path: &'static str) -> Operation {
    Operation { method, path }
}

/// An API rule with upstream's usual shape: project scope, no deprecation.
const fn api(
    name: &'static str,
    check_str: &'static str,
    description: &'static str,
    operations: &'static [Operation],
) -> RuleDefault {
    RuleDefault {
        name,
        check_str,
        description,
        operations,
        scope_types: PROJECT,
        deprecated_rule: None,
    }
}

static REGISTERED: [RuleDefault; 38] = [
    RuleDefault {
        name: "admin_api",
        check_str: "role:admin",
        description: "Holders of the admin role. No default refers to it any \
                      more; it stays for policy files that do.",
        operations: &[],
        scope_types: PROJECT,
        deprecated_rule: None,
    },
    RuleDefault {
        name: "service_api",
        check_str: "role:service",
        description: "Other OpenStack services calling placement, for the \
                      operations only they should perform.",
        operations: &[],
        scope_types: PROJECT,
        deprecated_rule: Some(DEPRECATED_ADMIN),
    },
    RuleDefault {
        name: "admin_or_service_api",
        check_str: "role:admin or role:service",
        description: "Admins and services: the rule behind most of the API.",
        operations: &[],
        scope_types: PROJECT,
        deprecated_rule: Some(DEPRECATED_ADMIN),
    },
    RuleDefault {
        name: "project_reader_api",
        check_str: "role:reader and project_id:%(project_id)s",
        description: "Readers of the project the request is about.",
        operations: &[],
        scope_types: &[],
        deprecated_rule: Some(DEPRECATED_ADMIN),
    },
    RuleDefault {
        name: "admin_or_project_reader_or_service_api",
        check_str: "role:admin or rule:project_reader_api or role:service",
        description: "Admins, services, or readers of the project the \
                      request is about.",
        operations: &[],
        scope_types: PROJECT,
        deprecated_rule: Some(DEPRECATED_ADMIN),
    },
    api(
        RESOURCE_PROVIDERS_LIST,
        ADMIN_OR_SERVICE,
        "List or search resource providers.",
        &[op("GET", "/resource_providers")],
    ),
    api(
        RESOURCE_PROVIDERS_CREATE,
        ADMIN_OR_SERVICE,
        "Create a resource provider.",
        &[op("POST", "/resource_providers")],
    ),
    api(
        RESOURCE_PROVIDERS_SHOW,
        ADMIN_OR_SERVICE,
        "Show one resource provider.",
        &[op("GET", "/resource_providers/{uuid}")],
    ),
    api(
        RESOURCE_PROVIDERS_UPDATE,
        ADMIN_OR_SERVICE,
        "Change a resource provider's name or parent.",
        &[op("PUT", "/resource_providers/{uuid}")],
    ),
    api(
        RESOURCE_PROVIDERS_DELETE,
        ADMIN_OR_SERVICE,
        "Delete a resource provider.",
        &[op("DELETE", "/resource_providers/{uuid}")],
    ),
    api(
        RESOURCE_CLASSES_LIST,
        ADMIN_OR_SERVICE,
        "List the standard and custom resource classes.",
        &[op("GET", "/resource_classes")],
    ),
    api(
        RESOURCE_CLASSES_CREATE,
        ADMIN_OR_SERVICE,
        "Create a custom resource class.",
        &[op("POST", "/resource_classes")],
    ),
    api(
        RESOURCE_CLASSES_SHOW,
        ADMIN_OR_SERVICE,
        "Show one resource class.",
        &[op("GET", "/resource_classes/{name}")],
    ),
    api(
        RESOURCE_CLASSES_UPDATE,
        ADMIN_OR_SERVICE,
        "Create a custom resource class if it is missing (or, before \
         microversion 1.7, rename one).",
        &[op("PUT", "/resource_classes/{name}")],
    ),
    api(
        RESOURCE_CLASSES_DELETE,
        ADMIN_OR_SERVICE,
        "Delete a custom resource class.",
        &[op("DELETE", "/resource_classes/{name}")],
    ),
    api(
        INVENTORIES_LIST,
        ADMIN_OR_SERVICE,
        "List a resource provider's inventories.",
        &[op("GET", "/resource_providers/{uuid}/inventories")],
    ),
    api(
        INVENTORIES_CREATE,
        ADMIN_OR_SERVICE,
        "Add one inventory to a resource provider.",
        &[op("POST", "/resource_providers/{uuid}/inventories")],
    ),
    api(
        INVENTORIES_SHOW,
        ADMIN_OR_SERVICE,
        "Show one of a resource provider's inventories.",
        &[op(
            "GET",
            "/resource_providers/{uuid}/inventories/{resource_class}",
        )],
    ),
    api(
        INVENTORIES_UPDATE,
        ADMIN_OR_SERVICE,
        "Replace all of a resource provider's inventories, or change one.",
        &[
            op("PUT", "/resource_providers/{uuid}/inventories"),
            op(
                "PUT",
                "/resource_providers/{uuid}/inventories/{resource_class}",
            ),
        ],
    ),
    api(
        INVENTORIES_DELETE,
        ADMIN_OR_SERVICE,
        "Remove all of a resource provider's inventories, or one.",
        &[
            op("DELETE", "/resource_providers/{uuid}/inventories"),
            op(
                "DELETE",
                "/resource_providers/{uuid}/inventories/{resource_class}",
            ),
        ],
    ),
    api(
        AGGREGATES_LIST,
        ADMIN_OR_SERVICE,
        "List the aggregates a resource provider belongs to.",
        &[op("GET", "/resource_providers/{uuid}/aggregates")],
    ),
    api(
        AGGREGATES_UPDATE,
        ADMIN_OR_SERVICE,
        "Replace the aggregates a resource provider belongs to.",
        &[op("PUT", "/resource_providers/{uuid}/aggregates")],
    ),
    api(
        PROVIDER_USAGES,
        ADMIN_OR_SERVICE,
        "Show how much of each resource class a resource provider has \
         allocated.",
        &[op("GET", "/resource_providers/{uuid}/usages")],
    ),
    api(
        TOTAL_USAGES,
        "rule:admin_or_project_reader_or_service_api",
        "Show a project's (or a project user's) total usage. Readers may \
         see their own project's only.",
        &[op("GET", "/usages")],
    ),
    api(
        TRAITS_LIST,
        ADMIN_OR_SERVICE,
        "List or filter the standard and custom traits.",
        &[op("GET", "/traits")],
    ),
    api(
        TRAITS_SHOW,
        ADMIN_OR_SERVICE,
        "Check that a trait exists.",
        &[op("GET", "/traits/{name}")],
    ),
    api(
        TRAITS_UPDATE,
        ADMIN_OR_SERVICE,
        "Create a custom trait.",
        &[op("PUT", "/traits/{name}")],
    ),
    api(
        TRAITS_DELETE,
        ADMIN_OR_SERVICE,
        "Delete a custom trait.",
        &[op("DELETE", "/traits/{name}")],
    ),
    api(
        PROVIDER_TRAITS_LIST,
        ADMIN_OR_SERVICE,
        "List a resource provider's traits.",
        &[op("GET", "/resource_providers/{uuid}/traits")],
    ),
    api(
        PROVIDER_TRAITS_UPDATE,
        ADMIN_OR_SERVICE,
        "Replace a resource provider's traits.",
        &[op("PUT", "/resource_providers/{uuid}/traits")],
    ),
    api(
        PROVIDER_TRAITS_DELETE,
        ADMIN_OR_SERVICE,
        "Remove all of a resource provider's traits.",
        &[op("DELETE", "/resource_providers/{uuid}/traits")],
    ),
    api(
        ALLOCATIONS_MANAGE,
        ADMIN_OR_SERVICE,
        "Write the allocations of several consumers at once.",
        &[op("POST", "/allocations")],
    ),
    api(
        ALLOCATIONS_LIST,
        ADMIN_OR_SERVICE,
        "Show a consumer's allocations.",
        &[op("GET", "/allocations/{consumer_uuid}")],
    ),
    api(
        ALLOCATIONS_UPDATE,
        ADMIN_OR_SERVICE,
        "Replace a consumer's allocations.",
        &[op("PUT", "/allocations/{consumer_uuid}")],
    ),
    api(
        ALLOCATIONS_DELETE,
        ADMIN_OR_SERVICE,
        "Remove a consumer's allocations.",
        &[op("DELETE", "/allocations/{consumer_uuid}")],
    ),
    api(
        PROVIDER_ALLOCATIONS_LIST,
        ADMIN_OR_SERVICE,
        "List the allocations made against a resource provider.",
        &[op("GET", "/resource_providers/{uuid}/allocations")],
    ),
    api(
        ALLOCATION_CANDIDATES_LIST,
        ADMIN_OR_SERVICE,
        "Find the resource providers that could satisfy a request.",
        &[op("GET", "/allocation_candidates")],
    ),
    api(
        RESHAPER_RESHAPE,
        "rule:service_api",
        "Move inventories and allocations between resource providers in \
         one step (services only).",
        &[op("POST", "/reshaper")],
    ),
];

/// Every registered rule, in upstream's registration order.
pub fn registered() -> &'static [RuleDefault] {
    &REGISTERED
}

/// The registered rule named `name`, if there is one: only these can be
/// authorized.
pub fn find(name: &str) -> Option<&'static RuleDefault> {
    REGISTERED.iter().find(|rule| rule.name == name)
}
