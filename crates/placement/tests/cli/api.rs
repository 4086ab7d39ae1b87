//! placement-api: the embedded default, every backend, schema guards.

use placement_store::testing::TestDb;
use serde_json::Value;

use crate::helpers::{conf_for, run, stderr, tmpdir, write_conf, Server};

const VERSION_DOC: &str = r#"{"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]}"#;

async fn get(server: &Server, path: &str, version: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header("x-auth-token", "admin");
    if let Some(v) = version {
        req = req.header("openstack-api-version", format!("placement {v}"));
    }
    req.send().await.unwrap()
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The checks "Done when" names: GET / at 1.0, 1.15 and latest, and the
/// generic 404/405/406/400 errors in upstream's shape.
async fn assert_serves_upstream_root(server: &Server) {
    let r = get(server, "/", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "openstack-api-version"), Some("placement 1.0"));
    assert_eq!(header(&r, "vary"), Some("openstack-api-version"));
    assert!(header(&r, "last-modified").is_none());
    assert!(header(&r, "x-openstack-request-id").is_some_and(|v| v.starts_with("req-")));
    assert_eq!(r.text().await.unwrap(), VERSION_DOC);

    let r = get(server, "/", Some("1.15")).await;
    assert_eq!(header(&r, "openstack-api-version"), Some("placement 1.15"));
    assert_eq!(header(&r, "cache-control"), Some("no-cache"));
    assert!(header(&r, "last-modified").is_some());

    let r = get(server, "/", Some("latest")).await;
    assert_eq!(header(&r, "openstack-api-version"), Some("placement 1.39"));

    let r = get(server, "/no/such/route", Some("1.23")).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], 404);
    assert_eq!(body["errors"][0]["code"], "placement.undefined_code");

    let r = reqwest::Client::new()
        .delete(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow"), Some("GET"));

    let r = get(server, "/", Some("1.40")).await;
    assert_eq!(r.status(), 406);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["max_version"], "1.39");
    assert_eq!(body["errors"][0]["min_version"], "1.0");

    let r = get(server, "/", Some("one.two")).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_config_at_all_it_serves_sqlite_in_the_working_directory() {
    let dir = tmpdir();
    let server = Server::start(&[], &dir).await;
    assert_serves_upstream_root(&server).await;
    assert!(dir.join("placement.sqlite").is_file());
    let log = server.log();
    assert!(log.contains("embedded default"), "{log}");
    assert!(server.terminate(), "SIGTERM must shut down cleanly");

    // A second start finds the schema in place and serves the same.
    let server = Server::start(&[], &dir).await;
    assert_serves_upstream_root(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_every_configured_backend() {
    for db in TestDb::all().await {
        let (dir, conf) = conf_for(&db, true);
        let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
        assert_serves_upstream_root(&server).await;
        assert!(server.terminate(), "{}", db.backend().name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sync_on_startup_an_empty_database_is_refused_with_the_remedy() {
    for db in TestDb::all().await {
        let (dir, conf) = conf_for(&db, false);
        let out = run(
            "placement-api",
            &[
                "--config-file",
                conf.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ],
            &dir,
        );
        assert!(!out.status.success(), "{}", db.backend().name());
        assert!(
            stderr(&out).contains("placement-manage db sync"),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_synced_by_manage_is_served_without_sync_on_startup() {
    for db in TestDb::all().await {
        let (dir, conf) = conf_for(&db, false);
        let out = run(
            "placement-manage",
            &["--config-file", conf.to_str().unwrap(), "db", "sync"],
            &dir,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
        assert_serves_upstream_root(&server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_value_stops_startup_naming_file_section_and_key() {
    let dir = tmpdir();
    let url = placement_store::DatabaseUrl::parse("sqlite:///x.db").unwrap();
    let conf = write_conf(&dir, &url, true, "max_pool_size = many");
    let out = run(
        "placement-api",
        &["--config-file", conf.to_str().unwrap()],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("placement.conf"), "{err}");
    assert!(err.contains("[placement_database] max_pool_size"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_a_clear_startup_error() {
    let dir = tmpdir();
    let url =
        placement_store::DatabaseUrl::parse("postgresql://nobody:secret@127.0.0.1:1/none").unwrap();
    let conf = write_conf(&dir, &url, false, "pool_timeout = 2");
    let out = run(
        "placement-api",
        &["--config-file", conf.to_str().unwrap()],
        &dir,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("cannot open database"), "{err}");
    assert!(
        !err.contains("secret"),
        "the password must not be logged: {err}"
    );
}

/// Upstream's test fixtures build the tables from the models and record no
/// revision; the API must serve such a database as it is, without syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_alembic_version_is_served_as_found() {
    for db in TestDb::all().await {
        placement_store::ops::schema::sync(db.database())
            .await
            .unwrap();
        let mut tx = db.database().begin().await.unwrap();
        tx.execute_raw("DROP TABLE alembic_version").await.unwrap();
        tx.commit().await.unwrap();
        for sync_on_startup in [false, true] {
            let (dir, conf) = conf_for(&db, sync_on_startup);
            let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
            assert_serves_upstream_root(&server).await;
            assert!(server.terminate(), "{}", db.backend().name());
        }
        assert_eq!(
            placement_store::ops::schema::version(db.database())
                .await
                .unwrap(),
            None,
            "the API must not have stamped or migrated it"
        );
    }
}

/// A revision this code does not know (a newer upstream's) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_schema_revision_is_refused() {
    let db = TestDb::sqlite().await;
    placement_store::ops::schema::sync(db.database())
        .await
        .unwrap();
    let mut tx = db.database().begin().await.unwrap();
    tx.execute(
        "UPDATE alembic_version SET version_num = ?",
        placement_store::params!["ffffffffffff"],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (dir, conf) = conf_for(&db, true);
    let out = run(
        "placement-api",
        &[
            "--config-file",
            conf.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ],
        &dir,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ffffffffffff"), "{}", stderr(&out));
}
