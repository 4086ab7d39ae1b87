//! placement-status upgrade check: the three checks and their exit codes.

use placement_store::testing::TestDb;
use serde_json::Value;

use crate::helpers::{conf_for, run, stdout};
use crate::manage::{orphan_allocations, rootless_providers};

fn check(conf: &std::path::Path, dir: &std::path::Path, json: bool) -> (Option<i32>, String) {
    let mut args = vec!["--config-file", conf.to_str().unwrap(), "upgrade", "check"];
    if json {
        args.push("--json");
    }
    let out = run("placement-status", &args, dir);
    (out.status.code(), stdout(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_escalate_from_success_to_warning_to_failure() {
    for db in TestDb::all().await {
        let name = db.backend().name();
        placement_store::ops::schema::sync(db.database())
            .await
            .unwrap();
        let (dir, conf) = conf_for(&db, false);

        let (code, text) = check(&conf, &dir, false);
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(text.contains("| Upgrade Check Results"), "{text}");
        assert!(text.contains("Check: Missing Root Provider IDs"), "{text}");
        assert!(text.contains("Result: Success"), "{text}");

        orphan_allocations(db.database(), 2).await;
        let (code, text) = check(&conf, &dir, false);
        assert_eq!(code, Some(1), "{name}: {text}");
        assert!(text.contains("Result: Warning"), "{text}");
        assert!(text.contains("There are 2 incomplete consumers"), "{text}");

        rootless_providers(db.database(), 1).await;
        let (code, text) = check(&conf, &dir, true);
        assert_eq!(code, Some(2), "{name}: {text}");
        let doc: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(doc["name"], "Upgrade Check Results");
        assert_eq!(doc["checks"][0]["check"], "Missing Root Provider IDs");
        assert_eq!(doc["checks"][0]["result"], 2);
        assert_eq!(doc["checks"][1]["result"], 1);
        assert_eq!(doc["checks"][2]["result"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_policy_file_fails_the_policy_check() {
    let db = TestDb::sqlite().await;
    placement_store::ops::schema::sync(db.database())
        .await
        .unwrap();
    let (dir, conf) = conf_for(&db, false);
    let (code, _) = check(&conf, &dir, false);
    assert_eq!(code, Some(0));
    std::fs::write(
        dir.join("policy.yaml"),
        "{\"placement:resource_providers:list\": \"\"}",
    )
    .unwrap();
    let (code, text) = check(&conf, &dir, false);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("Policy File JSON to YAML Migration"),
        "{text}"
    );
    std::fs::write(
        dir.join("policy.yaml"),
        "\"placement:resource_providers:list\": \"\"\n",
    )
    .unwrap();
    let (code, text) = check(&conf, &dir, false);
    assert_eq!(code, Some(0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_exits_255() {
    let dir = crate::helpers::tmpdir();
    let url = placement_store::DatabaseUrl::parse("mysql://nobody@127.0.0.1:1/none").unwrap();
    let conf = crate::helpers::write_conf(&dir, &url, false, "pool_timeout = 2");
    let (code, text) = check(&conf, &dir, false);
    assert_eq!(code, Some(255), "{text}");
    assert!(text.starts_with("Error:"), "{text}");
}
