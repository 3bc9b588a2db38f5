//! Upgrading the database with a newer release: data survives, schema checks
//! keep an old binary off a new database and a new binary off an old one.

use serde_json::json;

use crate::support::{get, Root};

#[test]
fn migrate_1_to_2_keeps_projects_and_secrets_sqlite() {
    migrate_1_to_2_keeps_projects_and_secrets(Root::new());
}

#[test]
fn migrate_1_to_2_keeps_projects_and_secrets_postgres() {
    migrate_1_to_2_keeps_projects_and_secrets(Root::postgres());
}

fn migrate_1_to_2_keeps_projects_and_secrets(root: Root) {
    let old = root.install("2026.1.0", 1, None);
    root.seed(&old, 250, 7);
    let before = root.snapshot();
    assert_eq!(before.schema_version, 1);
    assert_eq!(before.projects.len(), 250);
    assert_eq!(before.secrets["secret-3"], b"value-3");

    let new = root.install("2026.2.0", 2, None);
    let out = root.run(&new, "migrate", &[]);
    assert!(out.status.success(), "migrate failed: {}", out.stderr);
    assert!(out.stdout.contains("applied migration 2"), "{}", out.stdout);

    let after = root.snapshot();
    assert_eq!(after.schema_version, 2);
    assert_eq!(after.projects, before.projects);
    assert_eq!(after.secrets, before.secrets);
    let mut db = root.db();
    let missing: i64 = db
        .query_one("SELECT count(*) FROM projects WHERE slug IS NULL", &[])
        .unwrap();
    assert_eq!(missing, 0);
    let slug: String = db
        .query_one("SELECT slug FROM projects WHERE name = 'project-42'", &[])
        .unwrap();
    assert_eq!(slug, "project-42");
    drop(db);

    let again = root.run(&new, "migrate", &[]);
    assert!(
        again.status.success(),
        "a second migrate is a no-op: {}",
        again.stderr
    );

    let old_on_new = root.run(&old, "serve", &[]);
    assert_eq!(old_on_new.status.code(), Some(4), "{}", old_on_new.stderr);
    assert!(old_on_new
        .stderr
        .contains("database schema 2 is newer than this release (1)"));
    assert_eq!(root.run(&old, "migrate", &[]).status.code(), Some(4));

    let server = root.serve(&new);
    assert_eq!(get(&server.url("/api")).1["Version"], "2026.2.0");
    assert_eq!(
        get(&server.url("/api/health")),
        (200, json!({"Status": "ok", "Secrets": 7}))
    );
}

#[test]
fn serve_refuses_an_old_schema_unless_migrate_on_start() {
    let root = Root::new();
    let old = root.install("2026.1.0", 1, None);
    root.seed(&old, 10, 1);
    let new = root.install("2026.2.0", 2, None);

    let out = root.run(&new, "serve", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "database schema 1 is older than release 2026.2.0 needs (2): run `sample-server migrate`"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(root.snapshot().schema_version, 1, "serve did not migrate");

    let text = std::fs::read_to_string(root.config()).unwrap();
    std::fs::write(
        root.config(),
        text.replace("migrate_on_start = false", "migrate_on_start = true"),
    )
    .unwrap();
    let server = root.serve(&new);
    assert_eq!(get(&server.url("/api/health")).0, 200);
    assert_eq!(root.snapshot().schema_version, 2);
}
