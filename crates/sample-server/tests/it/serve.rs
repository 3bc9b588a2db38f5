//! Serving an installed release: version, health, licence, maintenance with
//! and without the API key (persisted across a restart), and a task queue
//! that drains.

use serde_json::json;

use crate::support::{get, post, put, wait_until, Root};

#[test]
fn installed_release_serves_the_api_and_drains_tasks_sqlite() {
    serves_the_api_and_drains_tasks(Root::new());
}

#[test]
fn installed_release_serves_the_api_and_drains_tasks_postgres() {
    serves_the_api_and_drains_tasks(Root::postgres());
}

fn serves_the_api_and_drains_tasks(root: Root) {
    let bin = root.install("2026.1.0", 1, None);
    root.seed(&bin, 50, 5);
    let key = root.instance.api_key.clone();
    let server = root.serve(&bin);

    assert_eq!(
        get(&server.url("/api")),
        (
            200,
            json!({"Application": "sample-server", "Version": "2026.1.0"})
        )
    );
    assert_eq!(
        get(&server.url("/api/health")),
        (200, json!({"Status": "ok", "Secrets": 5}))
    );
    assert_eq!(
        get(&server.url("/api/licence")),
        (
            200,
            json!({"Licensee": "Acme", "UpgradesUntil": "2027-06-30"})
        )
    );
    assert_eq!(get(&server.url("/api/nope")).0, 404);

    let maintenance = server.url("/api/maintenance");
    let on = json!({"IsInMaintenanceMode": true});
    assert_eq!(put(&maintenance, None, &on).0, 401);
    assert_eq!(put(&maintenance, Some("wrong"), &on).0, 401);
    assert_eq!(put(&maintenance, Some(&key), &json!({"nope": 1})).0, 400);
    assert_eq!(
        get(&maintenance),
        (200, json!({"IsInMaintenanceMode": false}))
    );
    assert_eq!(put(&maintenance, Some(&key), &on), (200, on.clone()));
    assert_eq!(get(&maintenance), (200, on.clone()));

    let tasks = server.url("/api/tasks");
    let task = json!({"duration_ms": 150});
    assert_eq!(
        post(&tasks, Some(&key), &task).0,
        503,
        "no new tasks in maintenance mode"
    );
    assert_eq!(post(&tasks, None, &task).0, 401);

    // Maintenance mode is stored in the database, so it survives a restart.
    drop(server);
    let server = root.serve(&bin);
    let maintenance = server.url("/api/maintenance");
    assert_eq!(get(&maintenance), (200, on));
    let off = json!({"IsInMaintenanceMode": false});
    assert_eq!(put(&maintenance, Some(&key), &off), (200, off));

    let tasks = server.url("/api/tasks");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, body) = post(&tasks, Some(&key), &task);
        assert_eq!(status, 201);
        ids.push(body["Id"].as_i64().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let summary = server.url("/api/tasks/summary");
    let (_, first) = get(&summary);
    assert!(
        first["Running"].as_u64().unwrap() >= 1,
        "450 ms of work queued: {first}"
    );
    assert!(
        first["Executing"].as_u64().unwrap() <= 1,
        "one task at a time: {first}"
    );
    wait_until("the task queue to drain", || {
        get(&summary).1["Running"] == 0
    });
    assert_eq!(
        get(&summary).1,
        json!({"Queued": 0, "Executing": 0, "Running": 0})
    );
}

#[test]
fn show_master_key_prints_the_key_file() {
    let root = Root::new();
    let bin = root.install("2026.1.0", 1, None);
    let out = root.run(&bin, "show-master-key", &[]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), root.instance.master_key.to_base64());
}
