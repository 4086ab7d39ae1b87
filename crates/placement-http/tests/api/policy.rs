//! Policy enforcement at every route: upstream's defaults (new and legacy),
//! where the check sits among the other checks, the 403 bodies, and policy
//! files.

use axum::http::{Method, StatusCode};
use placement_http::policy::{Enforcer, PolicySettings};
use placement_http::{AuthStrategy, HttpSettings};

use crate::helpers::{send, TestApp};

const RP: &str = "/resource_providers/7ad1a2ef-4bd4-4c6b-a4b4-2b3d21b4d1e5";
const CONSUMER: &str = "/allocations/0ff0a6b3-8d1b-4fd4-9c0e-7c5a3b5b0f11";

/// Every route placement serves, with a version that has it, in upstream's
/// table order, and the policy rule it checks.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    (
        "GET",
        "/resource_classes",
        "1.2",
        "placement:resource_classes:list",
    ),
    (
        "POST",
        "/resource_classes",
        "1.2",
        "placement:resource_classes:create",
    ),
    (
        "GET",
        "/resource_classes/CUSTOM_A",
        "1.2",
        "placement:resource_classes:show",
    ),
    (
        "PUT",
        "/resource_classes/CUSTOM_A",
        "1.7",
        "placement:resource_classes:update",
    ),
    (
        "DELETE",
        "/resource_classes/CUSTOM_A",
        "1.2",
        "placement:resource_classes:delete",
    ),
    (
        "GET",
        "/resource_providers",
        "1.0",
        "placement:resource_providers:list",
    ),
    (
        "POST",
        "/resource_providers",
        "1.0",
        "placement:resource_providers:create",
    ),
    ("GET", RP, "1.0", "placement:resource_providers:show"),
    ("PUT", RP, "1.0", "placement:resource_providers:update"),
    ("DELETE", RP, "1.0", "placement:resource_providers:delete"),
    (
        "GET",
        "{rp}/inventories",
        "1.0",
        "placement:resource_providers:inventories:list",
    ),
    (
        "POST",
        "{rp}/inventories",
        "1.0",
        "placement:resource_providers:inventories:create",
    ),
    (
        "PUT",
        "{rp}/inventories",
        "1.0",
        "placement:resource_providers:inventories:update",
    ),
    (
        "DELETE",
        "{rp}/inventories",
        "1.5",
        "placement:resource_providers:inventories:delete",
    ),
    (
        "GET",
        "{rp}/inventories/VCPU",
        "1.0",
        "placement:resource_providers:inventories:show",
    ),
    (
        "PUT",
        "{rp}/inventories/VCPU",
        "1.0",
        "placement:resource_providers:inventories:update",
    ),
    (
        "DELETE",
        "{rp}/inventories/VCPU",
        "1.0",
        "placement:resource_providers:inventories:delete",
    ),
    (
        "GET",
        "{rp}/usages",
        "1.0",
        "placement:resource_providers:usages",
    ),
    (
        "GET",
        "{rp}/aggregates",
        "1.1",
        "placement:resource_providers:aggregates:list",
    ),
    (
        "PUT",
        "{rp}/aggregates",
        "1.1",
        "placement:resource_providers:aggregates:update",
    ),
    (
        "GET",
        "{rp}/allocations",
        "1.0",
        "placement:resource_providers:allocations:list",
    ),
    ("GET", CONSUMER, "1.0", "placement:allocations:list"),
    ("PUT", CONSUMER, "1.0", "placement:allocations:update"),
    ("DELETE", CONSUMER, "1.0", "placement:allocations:delete"),
    (
        "POST",
        "/allocations",
        "1.13",
        "placement:allocations:manage",
    ),
    ("GET", "/traits", "1.6", "placement:traits:list"),
    ("GET", "/traits/CUSTOM_T", "1.6", "placement:traits:show"),
    ("PUT", "/traits/CUSTOM_T", "1.6", "placement:traits:update"),
    (
        "DELETE",
        "/traits/CUSTOM_T",
        "1.6",
        "placement:traits:delete",
    ),
    (
        "GET",
        "{rp}/traits",
        "1.6",
        "placement:resource_providers:traits:list",
    ),
    (
        "PUT",
        "{rp}/traits",
        "1.6",
        "placement:resource_providers:traits:update",
    ),
    (
        "DELETE",
        "{rp}/traits",
        "1.6",
        "placement:resource_providers:traits:delete",
    ),
    ("GET", "/usages?project_id=other", "1.9", "placement:usages"),
    ("POST", "/reshaper", "1.30", "placement:reshaper:reshape"),
];

fn path(template: &str) -> String {
    template.replace("{rp}", RP)
}

/// A request as `token` (noauth2 `user:project`) with `roles`, sending an
/// empty JSON object to writes so Content-Type passes.
async fn as_user(
    app: &TestApp,
    method: &str,
    path: &str,
    version: &str,
    token: &str,
    roles: &str,
) -> crate::helpers::TestResponse {
    let method: Method = method.parse().unwrap();
    let mut call = app
        .call(method.clone(), path)
        .token(token)
        .header("x-roles", roles)
        .version(version);
    if matches!(method, Method::POST | Method::PUT) {
        call = call.header("content-type", "application/json").body("{}");
    }
    call.send().await
}

fn denied(action: &str) -> String {
    format!(
        "Access was denied to this resource.\n\n Policy does not allow {action} to be performed.  "
    )
}

#[tokio::test]
async fn a_project_member_or_reader_is_refused_every_route_with_the_rule_named() {
    let app = TestApp::new().await;
    for roles in ["reader", "member", "reader,member"] {
        for (method, template, version, action) in ROUTES {
            let response = as_user(&app, method, &path(template), version, "u:p", roles).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{roles} {method} {template}: {}",
                response.body
            );
            let error = response.error();
            assert_eq!(error["detail"], denied(action), "{method} {template}");
            assert_eq!(error["title"], "Forbidden");
            let minor: u32 = version.trim_start_matches("1.").parse().unwrap();
            if minor >= 23 {
                assert_eq!(
                    error["code"], "placement.undefined_code",
                    "{method} {template}"
                );
            } else {
                assert!(error.get("code").is_none(), "no code before 1.23");
            }
        }
    }
}

#[tokio::test]
async fn admin_and_service_pass_policy_everywhere_but_admin_may_not_reshape() {
    let app = TestApp::new().await;
    for (method, template, version, action) in ROUTES {
        for roles in ["admin", "service", "member,service"] {
            let response = as_user(&app, method, &path(template), version, "u:p", roles).await;
            let refused = response.status == StatusCode::FORBIDDEN;
            let expect_refused = *action == "placement:reshaper:reshape" && roles == "admin";
            assert_eq!(
                refused, expect_refused,
                "{roles} {method} {template}: {} {}",
                response.status, response.body
            );
        }
    }
}

#[tokio::test]
async fn the_403_carries_the_undefined_code_from_1_23() {
    let app = TestApp::new().await;
    let response = as_user(&app, "GET", "/resource_providers", "1.23", "u:p", "reader").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error()["code"], "placement.undefined_code");
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.23")
    );
}

#[tokio::test]
async fn a_system_scoped_admin_fails_the_scope_check_with_the_bare_rule_name() {
    let app = TestApp::new().await;
    let response = app
        .get("/resource_providers")
        .token("admin")
        .header("openstack-system-scope", "all")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    assert_eq!(
        response.error()["detail"],
        "Access was denied to this resource.\n\n placement:resource_providers:list  "
    );
}

#[tokio::test]
async fn a_reader_sees_the_usages_of_its_own_project_only() {
    let app = TestApp::new().await;
    let own = as_user(
        &app,
        "GET",
        "/usages?project_id=p1",
        "1.9",
        "u:p1",
        "reader",
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let other = as_user(
        &app,
        "GET",
        "/usages?project_id=p2",
        "1.9",
        "u:p1",
        "reader",
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(other.error()["detail"], denied("placement:usages"));
    // A member is no reader under the new defaults' check string.
    let member = as_user(
        &app,
        "GET",
        "/usages?project_id=p1",
        "1.9",
        "u:p1",
        "member",
    )
    .await;
    assert_eq!(member.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn policy_comes_after_version_accept_and_content_type_but_before_validation() {
    let app = TestApp::new().await;
    // The route does not exist at 1.5: 404, not 403.
    let early = as_user(&app, "GET", "/traits", "1.5", "u:p", "reader").await;
    assert_eq!(early.status, StatusCode::NOT_FOUND);
    // Accept is checked first.
    let accept = app
        .get("/resource_providers")
        .token("u:p")
        .header("x-roles", "reader")
        .header("accept", "text/plain")
        .send()
        .await;
    assert_eq!(accept.status, StatusCode::NOT_ACCEPTABLE);
    // So is the content type of a write.
    let content = app
        .call(Method::POST, "/resource_providers")
        .token("u:p")
        .header("x-roles", "reader")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await;
    assert_eq!(content.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A body or query that would fail validation is never looked at.
    let body = app
        .call(Method::POST, "/resource_providers")
        .token("u:p")
        .header("x-roles", "reader")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await;
    assert_eq!(body.status, StatusCode::FORBIDDEN);
    let query = as_user(
        &app,
        "GET",
        "/resource_providers?bogus=1",
        "1.0",
        "u:p",
        "reader",
    )
    .await;
    assert_eq!(query.status, StatusCode::FORBIDDEN);
    // Nor is the database: a missing provider is a 403 too.
    let missing = as_user(&app, "GET", RP, "1.0", "u:p", "reader").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
}

fn legacy() -> Enforcer {
    Enforcer::load(PolicySettings {
        enforce_new_defaults: false,
        ..PolicySettings::default()
    })
    .unwrap()
}

#[tokio::test]
async fn legacy_defaults_let_admin_reshape_and_see_any_projects_usages() {
    let app = TestApp::with_policy(HttpSettings::new(AuthStrategy::NoAuth2), legacy()).await;
    let reshape = send(
        &app,
        Method::POST,
        "/reshaper",
        "1.30",
        Some(serde_json::json!({})),
    )
    .await;
    // Past policy: the empty body fails validation.
    assert_eq!(reshape.status, StatusCode::BAD_REQUEST, "{}", reshape.body);
    let usages = as_user(&app, "GET", "/usages?project_id=p2", "1.9", "u:p1", "admin").await;
    assert_eq!(usages.status, StatusCode::OK);
    let reader = as_user(&app, "GET", "/resource_providers", "1.0", "u:p1", "reader").await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_policy_file_overrides_the_defaults() {
    let dir = std::env::temp_dir().join(format!("placement-policy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        "\"placement:resource_providers:list\": \"role:reader\"\n\
         \"placement:traits:list\": \"!\"\n",
    )
    .unwrap();
    let enforcer = Enforcer::load(PolicySettings {
        search_dirs: vec![dir.clone()],
        ..PolicySettings::default()
    })
    .unwrap();
    let app = TestApp::with_policy(HttpSettings::new(AuthStrategy::NoAuth2), enforcer).await;
    let reader = as_user(&app, "GET", "/resource_providers", "1.0", "u:p", "reader").await;
    assert_eq!(reader.status, StatusCode::OK, "{}", reader.body);
    let admin = as_user(&app, "GET", "/traits", "1.6", "admin", "admin").await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    // Rules the file does not name keep their defaults.
    let member = as_user(&app, "GET", "/resource_classes", "1.2", "u:p", "member").await;
    assert_eq!(member.status, StatusCode::FORBIDDEN);
    std::fs::remove_dir_all(&dir).unwrap();
}
