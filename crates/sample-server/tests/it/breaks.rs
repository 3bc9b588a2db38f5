//! The break switches make failures happen for real: a half-applied
//! migration, a failing health check, a start that never listens.

use std::time::Duration;

use sample_server::manifest::Break;

use crate::support::{get, Root, Server};

#[test]
fn broken_migration_leaves_the_database_half_migrated_sqlite() {
    broken_migration_leaves_the_database_half_migrated(Root::new());
}

#[test]
fn broken_migration_leaves_the_database_half_migrated_postgres() {
    broken_migration_leaves_the_database_half_migrated(Root::postgres());
}

fn broken_migration_leaves_the_database_half_migrated(root: Root) {
    let old = root.install("2026.1.0", 1, None);
    root.seed(&old, 1000, 3);
    let broken = root.install("2026.2.0", 2, Some(Break::Migration));

    let out = root.run(&broken, "migrate", &[]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("half-migrated"), "{}", out.stderr);

    assert_eq!(root.snapshot().schema_version, 1);
    let mut db = root.db();
    assert!(
        db.column_exists("projects", "slug").unwrap(),
        "the ALTER was committed"
    );
    let filled: i64 = db
        .query_one("SELECT count(*) FROM projects WHERE slug IS NOT NULL", &[])
        .unwrap();
    assert!(
        (100..1000).contains(&filled),
        "some batches committed, not all: {filled}"
    );
    drop(db);

    // Not re-runnable, like a real non-transactional migration: only a
    // restore gets this database back.
    let fixed = root.install("2026.2.1", 2, None);
    assert!(!root.run(&fixed, "migrate", &[]).status.success());
}

#[test]
fn health_switch_answers_418() {
    let root = Root::new();
    let bin = root.install("2026.1.0", 1, Some(Break::Health));
    root.seed(&bin, 1, 1);
    let server = root.serve(&bin);
    assert_eq!(get(&server.url("/api")).0, 200);
    let (status, body) = get(&server.url("/api/health"));
    assert_eq!(status, 418);
    assert!(body["Status"].as_str().unwrap().contains("break"), "{body}");
}

#[test]
fn health_fails_with_the_wrong_master_key() {
    let root = Root::new();
    let bin = root.install("2026.1.0", 1, None);
    root.seed(&bin, 1, 2);
    let other = sample_server::crypto::MasterKey::generate();
    std::fs::write(&root.instance.config.master_key_file, other.to_base64()).unwrap();
    let server = root.serve(&bin);
    assert_eq!(get(&server.url("/api/health")).0, 418);
}

#[test]
fn start_switch_never_listens() {
    let root = Root::new();
    let bin = root.install("2026.1.0", 1, Some(Break::Start));
    root.seed(&bin, 1, 1);
    // Give it real time to come up; it must still be running and silent.
    // (On failure the guard inside `start_within` kills the process.)
    let err = Server::start_within(&bin, root.config(), Duration::from_secs(2))
        .err()
        .expect("a hung server must not print a listening line");
    assert!(
        err.contains("exit: Ok(None)"),
        "still running when given up on: {err}"
    );
}
