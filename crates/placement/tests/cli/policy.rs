//! Policy files under a running placement-api: found beside placement.conf,
//! re-read when they change, broken ones refused with file and line.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::helpers::{run, stderr, tmpdir, write_conf, Server};

/// `GET /resource_providers` as a project reader (noauth2).
async fn reader_status(server: &Server) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/resource_providers", server.base))
        .header("x-auth-token", "alice:p1")
        .header("x-roles", "reader")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls until the reader gets `want`, for at most a few seconds (the file
/// watch notices a change on the next request after it).
async fn wait_for_status(server: &Server, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let got = reader_status(server).await;
        if got == want || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Rewrites a file so its modification time moves on even within the same
/// clock tick of the file system.
fn rewrite(path: &Path, text: &str) {
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(path, text).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(later)
        .unwrap();
}

fn sqlite_conf(dir: &Path, extra: &str) -> std::path::PathBuf {
    let url = placement_store::DatabaseUrl::parse("sqlite:///p.db").unwrap();
    write_conf(dir, &url, true, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_file_beside_the_config_is_reread_while_serving() {
    let dir = tmpdir();
    let conf = sqlite_conf(&dir, "");
    let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
    assert_eq!(
        reader_status(&server).await,
        403,
        "defaults refuse a reader"
    );

    let policy = dir.join("policy.yaml");
    rewrite(
        &policy,
        "\"placement:resource_providers:list\": \"role:reader\"\n",
    );
    assert_eq!(wait_for_status(&server, 200).await, 200, "{}", server.log());

    // A broken file leaves the rules in force, and the log names it.
    rewrite(
        &policy,
        "\"placement:resource_providers:list\": [unclosed\n",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reader_status(&server).await, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("policy.yaml") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        reader_status(&server).await;
    }
    assert!(server.log().contains("policy.yaml"), "{}", server.log());

    // Removing the override brings the default back.
    rewrite(&policy, "{}\n");
    assert_eq!(wait_for_status(&server, 403).await, 403, "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_dirs_apply_after_the_policy_file_in_name_order() {
    let dir = tmpdir();
    std::fs::create_dir_all(dir.join("policy.d")).unwrap();
    std::fs::write(
        dir.join("custom-policy.yaml"),
        "\"placement:resource_providers:list\": \"!\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.d/10-open.yaml"),
        "\"placement:resource_providers:list\": \"@\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.d/20-reader.json"),
        "{\"placement:resource_providers:list\": \"role:reader\"}\n",
    )
    .unwrap();
    let conf = sqlite_conf(&dir, "[oslo_policy]\npolicy_file = custom-policy.yaml\n");
    let server = Server::start(&["--config-file", conf.to_str().unwrap()], &dir).await;
    assert_eq!(reader_status(&server).await, 200, "{}", server.log());
    let other = reqwest::Client::new()
        .get(format!("{}/resource_providers", server.base))
        .header("x-auth-token", "bob:p1")
        .header("x-roles", "member")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 403, "the last file wins");
}

#[test]
fn a_broken_policy_file_stops_startup_naming_file_and_line() {
    let dir = tmpdir();
    std::fs::write(
        dir.join("policy.yaml"),
        "\"placement:traits:list\": \"@\"\n\"placement:usages\": [unclosed\n",
    )
    .unwrap();
    let conf = sqlite_conf(&dir, "");
    let out = run(
        "placement-api",
        &["--config-file", conf.to_str().unwrap()],
        &dir,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("policy.yaml"), "{err}");
    assert!(err.contains("line 2") || err.contains(":2:"), "{err}");
}

#[test]
fn a_remote_http_check_is_refused_at_startup_naming_the_rule() {
    let dir = tmpdir();
    std::fs::write(
        dir.join("policy.yaml"),
        "\"placement:traits:list\": \"role:admin or http://127.0.0.1:9/check\"\n",
    )
    .unwrap();
    let conf = sqlite_conf(&dir, "");
    let out = run(
        "placement-api",
        &["--config-file", conf.to_str().unwrap()],
        &dir,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("placement:traits:list"), "{err}");
    assert!(err.contains("http"), "{err}");
}
