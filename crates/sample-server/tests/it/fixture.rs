//! The fixture on PostgreSQL: the server config points at the database, the
//! seed lands there, and `upshift.toml` describes it for upshift's driver.

use sample_server::data::Snapshot;
use sample_server::db::Source;
use sample_server::fixture::{self, Options};

use crate::pg::TestDb;
use crate::support::server_bin;

#[test]
fn postgres_fixture_seeds_the_database_and_describes_it() {
    let pg = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        postgres: Some(pg.conn.clone()),
        pg_strategy: "snapshot".into(),
        projects: 30,
        secrets: 4,
        ..Options::default()
    };
    let fx = fixture::create(dir.path(), &server_bin(), &options).unwrap();

    assert!(matches!(&fx.source, Source::Postgres(t) if t.conn() == pg.conn));
    assert!(!fx.database.exists(), "no SQLite file beside PostgreSQL");
    let data = Snapshot::read_postgres(&pg.conn, &fx.master_key).unwrap();
    assert_eq!((data.projects.len(), data.secrets.len()), (30, 4));

    let text = std::fs::read_to_string(&fx.instance_file).unwrap();
    let instance: toml::Table = toml::from_str(&text).unwrap();
    let part = |key: &str| {
        pg.conn
            .split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap()
    };
    let expected: toml::Table = toml::from_str(&format!(
        "kind = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndbname = \"{}\"\nstrategy = \"snapshot\"",
        part("host"),
        part("port"),
        part("user"),
        part("dbname"),
    ))
    .unwrap();
    assert_eq!(instance["database"].as_table().unwrap(), &expected);
    assert_eq!(instance["checks"][2]["equals"].as_integer(), Some(30));

    let bad = Options {
        pg_strategy: "copy".into(),
        ..options
    };
    let other = tempfile::tempdir().unwrap();
    assert!(fixture::create(other.path(), &server_bin(), &bad).is_err());
}
