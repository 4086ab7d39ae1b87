//! Many clients writing one provider at once through the HTTP API, each
//! with the generation it read: exactly one write per generation wins, the
//! others get 409 `placement.concurrent_update`, and what is stored is the
//! winner's write — never a mix, never a lost update.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{send, TestApp};

/// What one client tried to write.
#[derive(Debug, Clone)]
enum Write {
    Inventory(i64),
    Traits(Vec<String>),
}

/// Writers per round, half replacing the inventory and half the traits.
const WRITERS: usize = 12;
const ROUNDS: i64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inventory_and_trait_replacements_have_one_winner_per_generation() {
    let app = Arc::new(TestApp::new().await);
    let response = send(
        &app,
        Method::POST,
        "/resource_providers",
        "1.20",
        Some(json!({"name": "contended"})),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let uuid = response.json()["uuid"].as_str().unwrap().to_owned();
    // Every write of every round differs from anything stored before it:
    // a write that changes nothing succeeds without a generation bump (as
    // upstream's), which would not be a race.
    for round in 0..ROUNDS {
        for i in 0..WRITERS {
            let response = send(
                &app,
                Method::PUT,
                &format!("/traits/CUSTOM_RACE_{round}_{i}"),
                "1.6",
                None,
            )
            .await;
            assert!(response.status.is_success(), "{}", response.body);
        }
    }

    for round in 0..ROUNDS {
        let read = send(
            &app,
            Method::GET,
            &format!("/resource_providers/{uuid}"),
            "1.20",
            None,
        )
        .await
        .json()["generation"]
            .as_i64()
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let app = Arc::clone(&app);
            let uuid = uuid.clone();
            tasks.push(tokio::spawn(async move {
                let write = if i % 2 == 0 {
                    Write::Inventory(100 * (round + 1) + i64::try_from(i).unwrap())
                } else {
                    Write::Traits(vec![format!("CUSTOM_RACE_{round}_{i}")])
                };
                let response = match &write {
                    Write::Inventory(total) => {
                        send(
                            &app,
                            Method::PUT,
                            &format!("/resource_providers/{uuid}/inventories"),
                            "1.26",
                            Some(json!({
                                "resource_provider_generation": read,
                                "inventories": {"VCPU": {"total": total}},
                            })),
                        )
                        .await
                    }
                    Write::Traits(traits) => {
                        send(
                            &app,
                            Method::PUT,
                            &format!("/resource_providers/{uuid}/traits"),
                            "1.26",
                            Some(json!({
                                "resource_provider_generation": read,
                                "traits": traits,
                            })),
                        )
                        .await
                    }
                };
                (write, response)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (write, response) = task.await.unwrap();
            match response.status {
                StatusCode::OK => winners.push(write),
                StatusCode::CONFLICT => assert_eq!(
                    response.error()["code"],
                    "placement.concurrent_update",
                    "{}",
                    response.body
                ),
                other => panic!("round {round}: unexpected {other}: {}", response.body),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");

        let provider = send(
            &app,
            Method::GET,
            &format!("/resource_providers/{uuid}"),
            "1.20",
            None,
        )
        .await
        .json();
        assert_eq!(provider["generation"].as_i64(), Some(read + 1));
        match &winners[0] {
            Write::Inventory(total) => {
                let inventory = send(
                    &app,
                    Method::GET,
                    &format!("/resource_providers/{uuid}/inventories"),
                    "1.26",
                    None,
                )
                .await
                .json();
                assert_eq!(
                    inventory["inventories"]["VCPU"]["total"].as_i64(),
                    Some(*total)
                );
                assert_eq!(
                    inventory["resource_provider_generation"].as_i64(),
                    Some(read + 1)
                );
            }
            Write::Traits(traits) => {
                let stored = send(
                    &app,
                    Method::GET,
                    &format!("/resource_providers/{uuid}/traits"),
                    "1.26",
                    None,
                )
                .await
                .json();
                assert_eq!(stored["traits"], json!(traits));
                assert_eq!(
                    stored["resource_provider_generation"].as_i64(),
                    Some(read + 1)
                );
            }
        }
    }
}
