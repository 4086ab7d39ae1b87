//! placement-manage db sync | version | stamp | online_data_migrations.

use placement_store::testing::TestDb;
use placement_store::{params, Database};

use crate::helpers::{conf_for, run, stderr, stdout, tmpdir};

pub async fn orphan_allocations(db: &Database, consumers: usize) {
    let mut tx = db.begin().await.unwrap();
    for _ in 0..consumers {
        let uuid = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO allocations (resource_provider_id, consumer_id, resource_class_id, used) VALUES (?, ?, ?, ?)",
            params![1_i64, uuid, 0_i64, 1_i64],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

pub async fn rootless_providers(db: &Database, n: usize) {
    let mut tx = db.begin().await.unwrap();
    for i in 0..n {
        tx.execute(
            "INSERT INTO resource_providers (uuid, name, generation) VALUES (?, ?, ?)",
            params![uuid::Uuid::new_v4().to_string(), format!("rp-{i}"), 0_i64],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_version_and_stamp_behave_like_upstream() {
    for db in TestDb::all().await {
        let name = db.backend().name();
        let (dir, conf) = conf_for(&db, false);
        let c = conf.to_str().unwrap();
        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "version"],
            &dir,
        );
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "None", "{name}");

        for _ in 0..2 {
            let out = run(
                "placement-manage",
                &["--config-file", c, "db", "sync"],
                &dir,
            );
            assert!(out.status.success(), "{name}: {}", stderr(&out));
        }
        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "version"],
            &dir,
        );
        assert_eq!(stdout(&out).trim(), "a082b8bb98d0", "{name}");

        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "stamp", "422ece571366"],
            &dir,
        );
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "version"],
            &dir,
        );
        assert_eq!(stdout(&out).trim(), "422ece571366", "{name}");

        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "stamp", "deadbeef0000"],
            &dir,
        );
        assert!(!out.status.success(), "{name}");
        assert!(
            stderr(&out).contains("deadbeef0000"),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_data_migrations_report_and_exit_like_upstream() {
    for db in TestDb::all().await {
        let name = db.backend().name();
        placement_store::ops::schema::sync(db.database())
            .await
            .unwrap();
        orphan_allocations(db.database(), 3).await;
        rootless_providers(db.database(), 2).await;
        let (dir, conf) = conf_for(&db, false);
        let c = conf.to_str().unwrap();

        let out = run(
            "placement-manage",
            &[
                "--config-file",
                c,
                "db",
                "online_data_migrations",
                "--max-count",
                "0",
            ],
            &dir,
        );
        assert_eq!(out.status.code(), Some(127), "{name}");
        assert!(stdout(&out).contains("Must supply a positive value for max_count"));

        // A limited run does one batch of at most 4 and says more may remain.
        let out = run(
            "placement-manage",
            &[
                "--config-file",
                c,
                "db",
                "online_data_migrations",
                "--max-count",
                "4",
            ],
            &dir,
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(
            text.contains("2 rows matched query set_root_provider_ids, 2 migrated"),
            "{name}: {text}"
        );
        assert!(
            text.contains("2 rows matched query create_incomplete_consumers, 2 migrated"),
            "{name}: {text}"
        );
        assert!(
            text.contains("| Total Found | Completed |"),
            "{name}: {text}"
        );

        // An unlimited run finishes the rest and exits 0.
        let out = run(
            "placement-manage",
            &["--config-file", c, "db", "online_data_migrations"],
            &dir,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(
            text.contains("Running batches of 50 until complete"),
            "{text}"
        );
        assert!(
            text.contains("1 rows matched query create_incomplete_consumers, 1 migrated"),
            "{name}: {text}"
        );

        assert_eq!(
            placement_store::ops::consumer::count_incomplete_consumers(db.database())
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            placement_store::ops::maintenance::count_missing_root_provider_ids(db.database())
                .await
                .unwrap(),
            0
        );
    }
}

#[test]
fn policy_sample_prints_every_registered_rule_commented_out_without_config() {
    let dir = tmpdir();
    // A config without a database connection would stop `db` commands; the
    // sample needs none.
    std::fs::write(
        dir.join("placement.conf"),
        "[api]\nauth_strategy = keystone\n",
    )
    .unwrap();
    let out = run(
        "placement-manage",
        &["--config-file", "placement.conf", "policy", "sample"],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rules: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("#\""))
        .collect();
    assert_eq!(rules.len(), 38, "{text}");
    for expected in [
        "admin_api\": \"role:admin\"",
        "service_api\": \"role:service\"",
        "placement:resource_providers:list\": \"rule:admin_or_service_api\"",
        "placement:usages\": \"rule:admin_or_project_reader_or_service_api\"",
        "placement:reshaper:reshape\": \"rule:service_api\"",
    ] {
        assert!(
            rules.contains(&expected),
            "{expected} missing from:\n{text}"
        );
    }
}
