//! Microversion negotiation as seen on the wire.

use axum::http::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_malformed_version_is_400_with_pythons_message() {
    let response = TestApp::new().await.get("/").version("foo").send().await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response.request_id();
    assert_eq!(
        response.body,
        format!(
            "{{\"errors\": [{{\"status\": 400, \"title\": \"Bad Request\", \"detail\": \"The \
             server could not comply with the request since it is either malformed or \
             otherwise incorrect.\\n\\n Invalid microversion: invalid version string: foo; \
             invalid literal for int() with base 10: 'foo'  \", \"request_id\": \"{id}\"}}]}}"
        )
    );
    // No version was chosen, so none is announced.
    assert_eq!(response.header("openstack-api-version"), None);
    assert_eq!(response.header("vary"), None);
}

#[tokio::test]
async fn other_malformed_versions_are_400_too() {
    let app = TestApp::new().await;
    for (version, reason) in [
        (
            "1",
            "Version.__new__() missing 1 required positional argument: 'minor'",
        ),
        ("1.2.3", "invalid literal for int() with base 10: '2.3'"),
        (
            "pony.horse",
            "invalid literal for int() with base 10: 'pony'",
        ),
    ] {
        let response = app.get("/").version(version).send().await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{version}");
        let detail = response.error()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.ends_with(&format!(
                "Invalid microversion: invalid version string: {version}; {reason}  "
            )),
            "{detail}"
        );
        assert!(response.error().get("code").is_none());
    }
}

#[tokio::test]
async fn an_unknown_version_is_406_with_the_supported_range() {
    let response = TestApp::new().await.get("/").version("1.40").send().await;

    assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let id = response.request_id();
    assert_eq!(
        response.body,
        format!(
            "{{\"errors\": [{{\"status\": 406, \"title\": \"Not Acceptable\", \"detail\": \"The \
             resource could not be generated that was acceptable to your browser (content of \
             type application/json. \\n\\n Invalid microversion: Unacceptable version header: \
             1.40\", \"request_id\": \"{id}\", \"max_version\": \"1.39\", \"min_version\": \
             \"1.0\"}}]}}"
        )
    );
    assert_eq!(response.header("openstack-api-version"), None);
}

#[tokio::test]
async fn versions_below_the_minimum_or_of_another_major_are_406() {
    let app = TestApp::new().await;
    for version in ["0.9", "2.0", "-1.0", "0.5"] {
        let response = app.get("/").version(version).send().await;
        assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE, "{version}");
        let error = response.error();
        assert_eq!(error["max_version"], "1.39");
        assert_eq!(error["min_version"], "1.0");
        assert!(
            error["detail"]
                .as_str()
                .unwrap()
                .ends_with(&format!("Unacceptable version header: {version}")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_406_follows_accept_like_upstream_and_can_be_html() {
    let response = TestApp::new()
        .await
        .get("/")
        .version("0.5")
        .header("accept", "text/html")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert!(
        response.body.contains("Unacceptable version header: 0.5"),
        "{}",
        response.body
    );
    assert!(
        response.body.contains("(content of type text/html."),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn the_last_placement_entry_of_folded_headers_wins() {
    let response = TestApp::new()
        .await
        .get("/")
        .header("openstack-api-version", "compute 2.1, placement 1.7")
        .header("openstack-api-version", "placement 1.9, identity 3.0")
        .send()
        .await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.9")
    );
}

#[tokio::test]
async fn a_version_is_echoed_in_canonical_form() {
    let response = TestApp::new().await.get("/").version("1.05").send().await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.5")
    );
}

#[tokio::test]
async fn the_service_name_is_case_insensitive_but_latest_is_not() {
    let app = TestApp::new().await;
    let response = app
        .get("/")
        .header("openstack-api-version", "PLACEMENT latest")
        .send()
        .await;
    assert_eq!(
        response.header("openstack-api-version"),
        Some("placement 1.39")
    );

    let response = app.get("/").version("LATEST").send().await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}
