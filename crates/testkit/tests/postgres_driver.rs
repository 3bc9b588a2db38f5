//! The PostgreSQL driver against a real server (see `PgCluster`): both
//! backup strategies, corruption, sessions, privileges, passwords and tool
//! versions.

use std::path::{Path, PathBuf};
use testkit::PgCluster;
use upshift::config::{DatabaseConfig, FilePath, PgStrategy, PostgresConfig};
use upshift::drivers::db::{self, Database};
use upshift::support::secret::SecretRef;
use upshift::ErrorKind;

/// Creates database `name` owned by `owner` and fills it as that role.
fn fill(pg: &PgCluster, name: &str, owner: Option<(&str, &str)>) {
    pg.create_database(name, owner.map(|o| o.0));
    let mut client = match owner {
        Some((role, password)) => connect_as(pg, name, role, password, "fill"),
        None => pg.client(name),
    };
    client
        .batch_execute(
            "CREATE SCHEMA shop;
             CREATE TABLE shop.items(id serial PRIMARY KEY, name text, price numeric(10,2),
                                     data bytea, note text, tags jsonb);
             INSERT INTO shop.items(name, price, data, tags)
               SELECT 'item ' || i, i / 4.0, convert_to(repeat(md5(i::text), 8), 'UTF8'),
                      jsonb_build_object('n', i)
               FROM generate_series(1, 3000) AS i;
             CREATE INDEX items_name ON shop.items(name);
             CREATE TABLE kv(k text PRIMARY KEY, v int);
             INSERT INTO kv VALUES ('a', 1), ('b', NULL), ('it''s', 3);",
        )
        .expect("fill test database");
}

fn connect_as(pg: &PgCluster, db: &str, role: &str, password: &str, app: &str) -> postgres::Client {
    postgres::Client::connect(
        &format!(
            "host={} port={} user={role} password={password} dbname={db} application_name={app}",
            pg.host(),
            pg.port()
        ),
        postgres::NoTls,
    )
    .expect("connect as test role")
}

fn open(cfg: &PostgresConfig) -> Box<dyn Database> {
    db::open(&DatabaseConfig::Postgres(cfg.clone()), Path::new("."))
}

/// Databases whose names start with `prefix`.
fn databases(pg: &PgCluster, prefix: &str) -> Vec<String> {
    pg.client("postgres")
        .query(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
            &[&prefix],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn change(pg: &PgCluster, db: &str) {
    pg.client(db)
        .batch_execute(
            "UPDATE shop.items SET name = 'changed' WHERE id = 7;
             DELETE FROM shop.items WHERE id > 2500;
             INSERT INTO kv VALUES ('d', 4);
             CREATE TABLE added(x int);",
        )
        .unwrap();
}

/// A role's password in a file, for a `SecretRef`.
fn password_file(dir: &Path, password: &str) -> SecretRef {
    let path = dir.join("role-password");
    std::fs::write(&path, password).unwrap();
    SecretRef {
        env: None,
        file: Some(FilePath::from_path(path)),
    }
}

/// A folder of fake tools that say `said` for `--version`.
fn fake_tools(dir: &Path, said: &str) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["pg_dump", "pg_restore"] {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{said}'\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    bin
}

#[test]
fn dump_backup_verify_and_restore_bring_back_the_content() {
    let pg = PgCluster::start();
    let name = "drv_dump_roundtrip";
    fill(&pg, name, None);
    let live = open(&pg.config(name, PgStrategy::Dump));
    assert!(live.describe().starts_with("postgres postgres@127.0.0.1:"));
    live.ping().unwrap();
    live.preflight().unwrap();
    let before = live.content_checksum().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let last = std::sync::Mutex::new((0, 0));
    let file = live
        .backup(dir.path(), "db.dump", &|done, total| {
            *last.lock().unwrap() = (done, total)
        })
        .unwrap();
    let (done, total) = *last.lock().unwrap();
    assert!(total > 0 && done == total, "{done}/{total}");
    assert_eq!(file.path, dir.path().join("db.dump"));
    assert!(file.path.join("toc.dat").is_file());
    let manifest = file.path.join("upshift-manifest.sha256");
    assert_eq!(
        file.sha256,
        upshift::support::fsutil::sha256_file(&manifest).unwrap()
    );
    assert_eq!(live.backup_sha256(&file.path).unwrap(), file.sha256);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    live.verify(&file.path).unwrap();

    change(&pg, name);
    assert_ne!(live.content_checksum().unwrap(), before);
    live.restore(&file.path).unwrap();
    assert_eq!(live.content_checksum().unwrap(), before);
    assert_eq!(
        live.query_scalar("SELECT count(*) FROM shop.items")
            .unwrap(),
        3000
    );
    assert_eq!(databases(&pg, name), [name]);
}

#[test]
fn a_corrupt_dump_is_refused_before_anything_changes() {
    let pg = PgCluster::start();
    let name = "drv_dump_corrupt";
    fill(&pg, name, None);
    let live = open(&pg.config(name, PgStrategy::Dump));
    let dir = tempfile::tempdir().unwrap();
    let file = live.backup(dir.path(), "db.dump", &|_, _| {}).unwrap();
    let largest = std::fs::read_dir(&file.path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".dat.gz"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&largest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&largest, &bytes).unwrap();
    change(&pg, name);
    let changed = live.content_checksum().unwrap();

    let shown = largest.file_name().unwrap().to_string_lossy().into_owned();
    let err = live.verify(&file.path).unwrap_err();
    assert!(err.chain().contains(&shown), "{}", err.chain());
    let err = live.restore(&file.path).unwrap_err();
    assert!(err.chain().contains("the manifest says"), "{}", err.chain());
    assert_eq!(live.content_checksum().unwrap(), changed);
    assert_eq!(databases(&pg, name), [name]);
}

#[test]
fn snapshot_restores_by_rename_and_finalizes_to_a_restorable_dump() {
    let pg = PgCluster::start();
    let name = "drv_snapshot";
    fill(&pg, name, None);
    let live = open(&pg.config(name, PgStrategy::Snapshot));
    live.preflight().unwrap();
    assert!(live.strategy_note().unwrap().contains("snapshot"));
    let before = live.content_checksum().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker = live.backup(dir.path(), "db.snap", &|_, _| {}).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&marker.path).unwrap()).unwrap();
    assert_eq!(json["kind"], "postgres-snapshot");
    assert_eq!(json["of"], name);
    assert_eq!(json["content_checksum"], before.as_str());
    let snap = json["database"].as_str().unwrap().to_string();
    assert_eq!(databases(&pg, name), [name.to_string(), snap.clone()]);
    assert_eq!(
        marker.sha256,
        upshift::support::fsutil::sha256_file(&marker.path).unwrap()
    );
    live.verify(&marker.path).unwrap();
    // Sealed: nobody can connect to change it, and the restore trusts the
    // seal and the OID instead of scanning it.
    assert_eq!(live.backup_checksum(&marker.path).unwrap(), None);
    assert!(
        postgres::Client::connect(&pg.conn_string(&snap), postgres::NoTls).is_err(),
        "the snapshot is sealed"
    );

    change(&pg, name);
    live.restore(&marker.path).unwrap();
    assert_eq!(live.content_checksum().unwrap(), before);
    assert_eq!(
        databases(&pg, name),
        [name],
        "the snapshot became the live database"
    );
    assert!(
        live.verify(&marker.path).is_err(),
        "a consumed snapshot no longer verifies"
    );

    let second = live.backup(dir.path(), "db2.snap", &|_, _| {}).unwrap();
    change(&pg, name);
    let in_server = live.as_in_server().expect("snapshots live in the server");
    let dump = in_server
        .export(&second.path, dir.path(), "db2.dump")
        .unwrap()
        .expect("a snapshot is finalized into a dump");
    assert!(dump.path.is_dir());
    live.verify(&dump.path).unwrap();
    assert!(in_server
        .export(&dump.path, dir.path(), "x")
        .unwrap()
        .is_none());
    live.restore(&dump.path).unwrap();
    assert_eq!(live.content_checksum().unwrap(), before);

    live.discard(&second.path).unwrap();
    assert!(!second.path.exists());
    assert_eq!(databases(&pg, name), [name]);
    live.discard(&dump.path).unwrap();
    assert!(!dump.path.exists());
}

#[test]
fn other_sessions_are_named_and_refused_and_own_leftovers_are_ended_when_allowed() {
    let pg = PgCluster::start();
    let (name, role, password) = ("drv_sessions", "drv_sessions_app", "app-pw-1");
    pg.create_role(role, password, "CREATEDB");
    fill(&pg, name, Some((role, password)));
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = pg.config(name, PgStrategy::Snapshot);
    cfg.user = role.into();
    cfg.password = Some(password_file(dir.path(), password));
    cfg.terminate_own_sessions = true;

    let mut intruder = postgres::Client::connect(
        &format!("{} application_name=intruder", pg.conn_string(name)),
        postgres::NoTls,
    )
    .unwrap();
    let pid: i32 = intruder
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    // Preflight runs while the service is up, so it leaves sessions alone;
    // the snapshot, taken with the service stopped, refuses strangers.
    open(&cfg).preflight().unwrap();
    let err = open(&cfg)
        .backup(dir.path(), "refused.snap", &|_, _| {})
        .unwrap_err();
    let text = err.chain();
    assert!(text.contains(&format!("pid {pid}")), "{text}");
    assert!(
        text.contains("intruder") && text.contains("role postgres"),
        "{text}"
    );
    assert!(!dir.path().join("refused.snap").exists());
    drop(intruder);

    let mut leftover = connect_as(&pg, name, role, password, "leftover");
    cfg.terminate_own_sessions = false;
    let err = open(&cfg)
        .backup(dir.path(), "refused.snap", &|_, _| {})
        .unwrap_err();
    assert!(err.chain().contains("leftover"), "{}", err.chain());
    assert!(err.hint_text().unwrap().contains("terminate_own_sessions"));

    cfg.terminate_own_sessions = true;
    let marker = open(&cfg)
        .backup(dir.path(), "db.snap", &|_, _| {})
        .unwrap();
    assert!(
        leftover.simple_query("SELECT 1").is_err(),
        "the leftover session was ended"
    );
    open(&cfg).discard(&marker.path).unwrap();
}

#[test]
fn missing_privileges_are_refused_by_preflight() {
    let pg = PgCluster::start();
    let (name, role, password) = ("drv_privileges", "drv_privileges_app", "app-pw-2");
    pg.create_role(role, password, "NOCREATEDB");
    fill(&pg, name, Some((role, password)));
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = pg.config(name, PgStrategy::Snapshot);
    cfg.user = role.into();
    cfg.password = Some(password_file(dir.path(), password));
    let err = open(&cfg).preflight().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(err.chain().contains("CREATEDB"), "{}", err.chain());

    pg.create_role(role, password, "CREATEDB");
    open(&cfg).preflight().unwrap();
    pg.client(name)
        .batch_execute("CREATE TABLE secrets(x int); INSERT INTO secrets VALUES (1);")
        .unwrap();
    cfg.strategy = PgStrategy::Dump;
    let err = open(&cfg).preflight().unwrap_err();
    assert!(err.chain().contains("public.secrets"), "{}", err.chain());
}

#[test]
fn a_password_from_the_environment_works_and_never_shows_in_errors() {
    let pg = PgCluster::start();
    let (name, role) = ("drv_password", "drv_password_app");
    let canary = "Canary-7f3a9c-secret";
    pg.create_role(role, canary, "CREATEDB");
    fill(&pg, name, Some((role, canary)));
    std::env::set_var("UPSHIFT_TEST_PG_CANARY", canary);
    let mut cfg = pg.config(name, PgStrategy::Dump);
    cfg.user = role.into();
    cfg.password = Some(SecretRef {
        env: Some("UPSHIFT_TEST_PG_CANARY".into()),
        file: None,
    });
    let live = open(&cfg);
    live.ping().unwrap();
    assert_eq!(
        live.query_scalar("SELECT v FROM kv WHERE k = 'a'").unwrap(),
        1
    );

    let dir = tempfile::tempdir().unwrap();
    let shown =
        |e: upshift::Error| format!("{} {:?} {}", e.chain(), e, e.hint_text().unwrap_or(""));
    let failures = [
        shown(live.query_scalar("SELECT * FROM missing").unwrap_err()),
        shown(live.query_scalar("DELETE FROM kv").unwrap_err()),
    ];
    let not_a_backup = shown(live.restore(dir.path()).unwrap_err());
    assert!(not_a_backup.contains("manifest"), "{not_a_backup}");
    cfg.dbname = "drv_password_missing".into();
    let missing = open(&cfg);
    let more = [
        shown(missing.ping().unwrap_err()),
        shown(
            missing
                .backup(dir.path(), "x.dump", &|_, _| {})
                .unwrap_err(),
        ),
    ];
    pg.client(name)
        .batch_execute("CREATE TABLE hidden(x int)")
        .unwrap();
    let dump_failed = shown(live.backup(dir.path(), "y.dump", &|_, _| {}).unwrap_err());
    assert!(dump_failed.contains("exited with"), "{dump_failed}");
    assert!(dump_failed.contains("permission denied"), "{dump_failed}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
    std::env::set_var("UPSHIFT_TEST_PG_CANARY", "Wrong-canary-55e1");
    let wrong = shown(live.ping().unwrap_err());
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    let located = failures.iter().chain(&more).chain([&wrong, &dump_failed]);
    for text in located {
        assert!(text.contains("drv_password"), "errors say where: {text}");
    }
    let all = failures.iter().chain(&more);
    for text in all.chain([&wrong, &dump_failed, &not_a_backup]) {
        assert!(
            !text.contains("Canary-7f3a9c") && !text.contains("Wrong-canary"),
            "{text}"
        );
    }
    assert!(!format!("{live:?}").contains("Canary"));
}

#[test]
fn an_older_pg_dump_than_the_server_is_refused() {
    let pg = PgCluster::start();
    let name = "drv_old_tools";
    pg.create_database(name, None);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = pg.config(name, PgStrategy::Dump);
    cfg.bin_dir = Some(FilePath::from_path(fake_tools(
        dir.path(),
        "pg_dump (PostgreSQL) 9.6.0",
    )));
    let err = open(&cfg).preflight().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input);
    assert!(
        err.chain()
            .contains("PostgreSQL 9.6, older than the server"),
        "{}",
        err.chain()
    );
    assert!(err.hint_text().unwrap().contains("bin_dir"));
}
