//! `/traits`: listing with filters, show, create and delete, at the
//! microversions where their behaviour changes (1.6 and 1.15), with every
//! error upstream answers.

use axum::http::{Method, StatusCode};
use placement_store::params;

use crate::helpers::{TestApp, TestResponse};

const INVALID_TRAIT: &str = "The trait is invalid. A valid trait must be no longer than 255 \
     characters, start with the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \
     \"0\"-\"9\" and \"_\"";

async fn send(app: &TestApp, method: Method, path: &str, version: &str) -> TestResponse {
    app.call(method, path)
        .token("admin")
        .version(version)
        .send()
        .await
}

async fn put(app: &TestApp, name: &str) -> TestResponse {
    send(app, Method::PUT, &format!("/traits/{name}"), "1.6").await
}

async fn list(app: &TestApp, query: &str) -> TestResponse {
    send(app, Method::GET, &format!("/traits{query}"), "1.6").await
}

fn trait_names(response: &TestResponse) -> Vec<String> {
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()["traits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// Gives a new provider the named trait, as the provider routes will.
async fn associate(app: &TestApp, trait_name: &str) {
    let mut tx = app.database().begin().await.unwrap();
    let id = tx
        .insert_returning_id(
            "INSERT INTO resource_providers (uuid, name, generation) VALUES (?, ?, 0)",
            params![uuid::Uuid::new_v4().to_string(), trait_name.to_lowercase()],
        )
        .await
        .unwrap();
    tx.execute(
        "INSERT INTO resource_provider_traits (resource_provider_id, trait_id)
         SELECT ?, id FROM traits WHERE name = ?",
        params![id, trait_name],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn assert_recent_http_date(response: &TestResponse) {
    let value = response.header("last-modified").expect("last-modified");
    let when = httpdate::parse_http_date(value).expect("an HTTP date");
    let age = std::time::SystemTime::now()
        .duration_since(when)
        .unwrap_or_default();
    assert!(age.as_secs() < 60, "{value}");
}

#[tokio::test]
async fn every_route_is_missing_before_1_6() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/traits"),
        (Method::GET, "/traits/CUSTOM_A"),
        (Method::PUT, "/traits/CUSTOM_A"),
        (Method::DELETE, "/traits/CUSTOM_A"),
    ] {
        let response = send(&app, method.clone(), path, "1.5").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            response.error()["detail"],
            "The resource could not be found.\n\n   "
        );
    }
}

#[tokio::test]
async fn put_refuses_names_that_are_not_custom_or_badly_formed() {
    let app = TestApp::new().await;
    let too_long = format!("CUSTOM_{}", "A".repeat(249));
    for name in [
        "TRAIT_X",
        "CUSTOM_ABC:1",
        "CUSTOM_abc",
        "CUSTOM_",
        &too_long,
    ] {
        let response = put(&app, name).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{name}");
        let detail = response.error()["detail"].as_str().unwrap().to_owned();
        assert!(detail.ends_with(&format!("{INVALID_TRAIT}  ")), "{detail}");
    }
}

#[tokio::test]
async fn put_creates_a_custom_trait_then_confirms_it() {
    let app = TestApp::new().await;
    let created = app
        .call(Method::PUT, "/traits/CUSTOM_TRAIT_1")
        .token("admin")
        .version("1.6")
        .header("host", "placement.example:8778")
        .send()
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.header("location"),
        Some("http://placement.example:8778/traits/CUSTOM_TRAIT_1")
    );
    assert_eq!(created.body, "");
    assert_eq!(created.header("content-type"), None);
    assert_eq!(created.header("cache-control"), None);
    assert_eq!(created.header("last-modified"), None);

    let again = put(&app, "CUSTOM_TRAIT_1").await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(again.header("location"), Some("/traits/CUSTOM_TRAIT_1"));
    assert_eq!(again.header("content-type"), None);
}

#[tokio::test]
async fn put_at_1_15_has_cache_headers_whether_created_or_found() {
    let app = TestApp::new().await;
    for status in [StatusCode::CREATED, StatusCode::NO_CONTENT] {
        let response = send(&app, Method::PUT, "/traits/CUSTOM_CACHED", "1.15").await;
        assert_eq!(response.status, status);
        assert_eq!(response.header("cache-control"), Some("no-cache"));
        assert_recent_http_date(&response);
    }
}

#[tokio::test]
async fn location_carries_the_mount_prefix() {
    let app = TestApp::with_prefix(placement_http::AuthStrategy::NoAuth2, "/placement").await;
    let response = send(&app, Method::PUT, "/placement/traits/CUSTOM_P", "1.6").await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(
        response.header("location"),
        Some("/placement/traits/CUSTOM_P")
    );
}

#[tokio::test]
async fn get_answers_204_for_a_trait_and_404_otherwise() {
    let app = TestApp::new().await;
    let standard = send(&app, Method::GET, "/traits/HW_CPU_X86_SSE", "1.6").await;
    assert_eq!(standard.status, StatusCode::NO_CONTENT);
    assert_eq!(standard.body, "");
    assert_eq!(standard.header("content-type"), None);
    assert_eq!(standard.header("cache-control"), None);
    assert_eq!(standard.header("last-modified"), None);

    let missing = send(&app, Method::GET, "/traits/NON_EXISTED", "1.6").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.error()["detail"],
        "The resource could not be found.\n\n No such trait(s): NON_EXISTED.  "
    );
}

#[tokio::test]
async fn get_at_1_15_has_cache_headers() {
    let app = TestApp::new().await;
    put(&app, "CUSTOM_TRAIT_1").await;
    let response = send(&app, Method::GET, "/traits/CUSTOM_TRAIT_1", "1.15").await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_recent_http_date(&response);
}

#[tokio::test]
async fn delete_removes_a_custom_trait() {
    let app = TestApp::new().await;
    put(&app, "CUSTOM_TRAIT_1").await;
    let response = send(&app, Method::DELETE, "/traits/CUSTOM_TRAIT_1", "1.15").await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(response.header("content-type"), None);
    assert_eq!(response.header("cache-control"), None);
    assert_eq!(response.header("last-modified"), None);
    let gone = send(&app, Method::GET, "/traits/CUSTOM_TRAIT_1", "1.6").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_refuses_missing_standard_and_used_traits() {
    let app = TestApp::new().await;
    put(&app, "CUSTOM_TRAIT_1").await;
    associate(&app, "CUSTOM_TRAIT_1").await;

    let missing = send(&app, Method::DELETE, "/traits/CUSTOM_NON_EXSITED", "1.6").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.error()["detail"],
        "The resource could not be found.\n\n No such trait(s): CUSTOM_NON_EXSITED.  "
    );

    let standard = send(&app, Method::DELETE, "/traits/HW_CPU_X86_SSE", "1.6").await;
    assert_eq!(standard.status, StatusCode::BAD_REQUEST);
    assert!(standard.error()["detail"]
        .as_str()
        .unwrap()
        .ends_with("\n\n Cannot delete standard trait HW_CPU_X86_SSE.  "));

    let used = send(&app, Method::DELETE, "/traits/CUSTOM_TRAIT_1", "1.23").await;
    assert_eq!(used.status, StatusCode::CONFLICT);
    let error = used.error();
    assert_eq!(
        error["detail"],
        "There was a conflict when trying to complete your request.\n\n \
         The trait CUSTOM_TRAIT_1 is in use by a resource provider.  "
    );
    assert_eq!(error["code"], "placement.undefined_code");
}

#[tokio::test]
async fn list_holds_standard_and_custom_traits_as_python_writes_json() {
    let app = TestApp::new().await;
    put(&app, "CUSTOM_TRAIT_1").await;
    put(&app, "CUSTOM_TRAIT_2").await;
    let all = list(&app, "").await;
    assert_eq!(all.header("content-type"), Some("application/json"));
    let names = trait_names(&all);
    assert_eq!(names.len(), 379);
    for name in [
        "CUSTOM_TRAIT_1",
        "MISC_SHARES_VIA_AGGREGATE",
        "HW_CPU_X86_SHA",
    ] {
        assert!(names.contains(&name.to_owned()), "{name}");
    }
    assert_eq!(names[377..], ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]);

    let listed = list(&app, "?name=in:CUSTOM_TRAIT_1,CUSTOM_TRAIT_2").await;
    assert_eq!(
        listed.body,
        r#"{"traits": ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]}"#
    );

    // A list of names comes back sorted by name, as upstream's index scan
    // returns it.
    assert_eq!(
        trait_names(
            &list(
                &app,
                "?name=in:MISC_SHARES_VIA_AGGREGATE,CUSTOM_TRAIT_2,HW_CPU_X86_SHA,NOPE"
            )
            .await
        ),
        [
            "CUSTOM_TRAIT_2",
            "HW_CPU_X86_SHA",
            "MISC_SHARES_VIA_AGGREGATE"
        ]
    );
}

#[tokio::test]
async fn list_filters_by_prefix_and_ignores_unknown_operators() {
    let app = TestApp::new().await;
    for name in ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2", "CUSTOM_ANOTHER_TRAIT"] {
        put(&app, name).await;
    }
    assert_eq!(
        trait_names(&list(&app, "?name=startswith:CUSTOM_TRAIT").await),
        ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]
    );
    assert_eq!(
        trait_names(&list(&app, "?name=startswith:NOTHING").await),
        Vec::<String>::new()
    );
    assert_eq!(trait_names(&list(&app, "?name=foo:bar").await).len(), 380);
}

#[tokio::test]
async fn list_refuses_a_name_without_an_operator() {
    let app = TestApp::new().await;
    let response = list(&app, "?name=in_abc").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.error()["detail"].as_str().unwrap().ends_with(
        "\n\n Badly formatted name parameter. Expected name query string parameter in form: \
         ?name=[in|startswith]:[name1,name2|prefix]. Got: \"in_abc\"  "
    ));
}

#[tokio::test]
async fn list_refuses_unknown_parameters_with_jsonschemas_message() {
    let app = TestApp::new().await;
    let response = list(&app, "?invalid=abc").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    // jsonschema's message, whose line breaks webob's template turns into
    // spaces.
    let message = "Invalid query string parameters: Additional properties are not allowed \
         ('invalid' was unexpected)\n\nFailed validating 'additionalProperties' in \
         schema:\n    {'type': 'object',\n     'properties': {'name': {'type': \
         'string'},\n                    'associated': {'type': 'string'}},\n     \
         'additionalProperties': False}\n\nOn instance:\n    {'invalid': 'abc'}";
    assert_eq!(
        response.error()["detail"],
        format!(
            "The server could not comply with the request since it is either malformed or \
             otherwise incorrect.\n\n {}  ",
            message.replace('\n', " ")
        )
    );
}

#[tokio::test]
async fn list_filters_by_association() {
    let app = TestApp::new().await;
    put(&app, "CUSTOM_TRAIT_1").await;
    put(&app, "CUSTOM_TRAIT_2").await;
    put(&app, "CUSTOM_FREE").await;
    associate(&app, "CUSTOM_TRAIT_1").await;
    associate(&app, "CUSTOM_TRAIT_2").await;
    assert_eq!(
        trait_names(&list(&app, "?associated=true").await),
        ["CUSTOM_TRAIT_1", "CUSTOM_TRAIT_2"]
    );
    assert_eq!(
        trait_names(&list(&app, "?associated=FALSE&name=startswith:CUSTOM_").await),
        ["CUSTOM_FREE"]
    );

    let bad = list(&app, "?associated=xyz").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error()["detail"]
        .as_str()
        .unwrap()
        .ends_with("\n\n The query parameter \"associated\" only accepts \"true\" or \"false\"  "));
}

#[tokio::test]
async fn list_has_cache_headers_from_1_15() {
    let app = TestApp::new().await;
    let old = send(&app, Method::GET, "/traits", "1.14").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.header("cache-control"), None);
    assert_eq!(old.header("last-modified"), None);

    for query in ["", "?name=in:NOTHING"] {
        let new = send(&app, Method::GET, &format!("/traits{query}"), "1.15").await;
        assert_eq!(new.status, StatusCode::OK);
        assert_eq!(new.header("cache-control"), Some("no-cache"));
        assert_recent_http_date(&new);
    }
}

#[tokio::test]
async fn list_checks_the_version_before_accept_and_accept_before_the_query() {
    let app = TestApp::new().await;
    let too_old = app
        .get("/traits?bogus=1")
        .token("admin")
        .version("1.5")
        .header("accept", "text/plain")
        .send()
        .await;
    assert_eq!(too_old.status, StatusCode::NOT_FOUND);

    let unacceptable = app
        .get("/traits?bogus=1")
        .token("admin")
        .version("1.6")
        .header("accept", "text/plain")
        .send()
        .await;
    assert_eq!(unacceptable.status, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn other_methods_are_not_allowed() {
    let app = TestApp::new().await;
    let response = send(&app, Method::POST, "/traits", "1.6").await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET"));
    let response = send(&app, Method::POST, "/traits/CUSTOM_A", "1.6").await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, PUT, DELETE"));
}

#[tokio::test]
async fn one_trailing_newline_is_dropped_from_the_name_as_upstreams_routes_do() {
    let app = TestApp::new().await;
    let created = put(&app, "CUSTOM_A%0A").await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("location"), Some("/traits/CUSTOM_A"));
    let found = send(&app, Method::GET, "/traits/CUSTOM_A%0A", "1.6").await;
    assert_eq!(found.status, StatusCode::NO_CONTENT);

    // Upstream creates `CUSTOM_A\n` and then fails on its Location header.
    let crashed = put(&app, "CUSTOM_A%0A%0A").await;
    assert_eq!(crashed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        trait_names(&list(&app, "?name=startswith:CUSTOM_A").await),
        ["CUSTOM_A", "CUSTOM_A\n"]
    );
}
