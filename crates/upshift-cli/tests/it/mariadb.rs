//! A command database (`[database] kind = "command"`) on a real MariaDB
//! server: backed up by `mariadb-dump`, verified by the dump's completion
//! trailer, restored by recreating the database and loading the dump,
//! proven by the SHA-256 of a full dump, with the application user's
//! password reaching the commands only through `MYSQL_PWD` from a secret
//! reference. The sample server keeps its own data in SQLite; its
//! `[database]` and `[migration]` are replaced, so what upshift backs up,
//! migrates and restores here is the MariaDB database alone, and the
//! upgrades go to 2026.1.1 (same sample schema, so a rollback leaves the
//! sample's own data usable).

use crate::support::{all_files, json_lines, serving, summary};
use sample_server::fixture::Options;
use std::process::Output;
use testkit::{MariaDb, Sample};
use upshift::engine::state::{BackupKind, BackupRecord, State};

/// The variable the instance file names for the password.
const PASSWORD_VAR: &str = "IT_MARIADB_PASSWORD";
/// Rows seeded, as many as the sample's `sql` check expects.
const ROWS: usize = 200;
/// The client options of the documented commands (the port comes from
/// `MYSQL_TCP_PORT`, the password from `MYSQL_PWD`).
const CONNECT: &str = "--no-defaults -h 127.0.0.1 -u app";
/// The page whose MariaDB configuration these tests run.
const DOC: &str = include_str!("../../../../docs/command-database.md");

/// What goes into the instance file's `[database]` and `[migration]`.
struct Commands {
    /// The `[database]` table.
    database: toml::Table,
    migration: Vec<String>,
    /// Appended to the instance file (more `[[checks]]`).
    extra: String,
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `sh -c script sh args...`: the arguments reach the script as `$1`, ...
fn sh(script: &str, args: &[&str]) -> Vec<String> {
    let mut out = argv(&["sh", "-c", script, "sh"]);
    out.extend(argv(args));
    out
}

/// The fenced block of `lang` in the page whose first line starts with
/// `first`, without the indentation of its fence.
fn doc_block(lang: &str, first: &str) -> String {
    let opening = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in DOC.lines() {
        let fence = line.trim_start();
        open = match open.take() {
            None if fence == opening => {
                Some((line[..line.len() - fence.len()].into(), String::new()))
            }
            None => None,
            Some((_, text)) if fence.starts_with("```") => {
                blocks.push(text);
                None
            }
            Some((indent, mut text)) => {
                text.push_str(line.strip_prefix(indent.as_str()).unwrap_or(line));
                text.push('\n');
                Some((indent, text))
            }
        };
    }
    blocks
        .into_iter()
        .find(|b| b.starts_with(first))
        .unwrap_or_else(|| {
            panic!("docs/command-database.md has no {lang} block starting {first:?}")
        })
}

impl Commands {
    /// The documented MariaDB setup, for database `db` on `mdb`, and a
    /// migration that changes its schema and every row.
    fn standard(mdb: &MariaDb, db: &str) -> Commands {
        let text = doc_block("toml", "[database]\nkind = \"command\"\nname = \"appdb\"")
            .replace("name = \"appdb\"", &format!("name = \"{db}\""))
            .replace("\"3306\"", &format!("\"{}\"", mdb.port()))
            .replace("APP_DB_PASSWORD", PASSWORD_VAR);
        let mut file: toml::Table = text.parse().expect("the documented section parses");
        let Some(toml::Value::Table(database)) = file.remove("database") else {
            panic!("no [database] in the documented section")
        };
        let mut migration = mdb.root_client(db);
        migration.extend(argv(&[
            "-e",
            "ALTER TABLE projects ADD COLUMN archived INT NOT NULL DEFAULT 0; \
             UPDATE projects SET name = CONCAT(name, ' v2'); \
             CREATE TABLE v2_notes (id INT PRIMARY KEY); INSERT INTO v2_notes VALUES (1)",
        ]));
        Commands {
            database,
            migration,
            extra: String::new(),
        }
    }

    /// Sets command `field` of `[database]`.
    fn set(&mut self, field: &str, argv: Vec<String>) {
        self.database.insert(field.into(), argv.into());
    }

    /// Command `field` of `[database]`.
    fn get(&self, field: &str) -> Vec<String> {
        self.database[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

/// The documented stronger `verify`: the trailer, then the dump loads into
/// a scratch database `<db>_verify`, which is dropped again.
fn verify_by_loading() -> Vec<String> {
    let text = doc_block("text", "verify = [");
    let table: toml::Table = text.parse().expect("the documented verify parses");
    table["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// A sample installation whose database is MariaDB database `db`.
struct Setup {
    mdb: MariaDb,
    sample: Sample,
    db: String,
    /// The fixture's instance file, before any edit.
    original: String,
}

impl Setup {
    /// Seeds `db`, lays out a sample (not started) and points its instance
    /// file at `db` with the standard commands as `edit` leaves them.
    fn new(db: &str, edit: impl FnOnce(&mut Commands)) -> Setup {
        let mdb = MariaDb::start();
        mdb.create_database(db, ROWS);
        let mut commands = Commands::standard(&mdb, db);
        edit(&mut commands);
        let sample = Sample::new(&Options::default());
        let setup = Setup {
            original: std::fs::read_to_string(&sample.fx.instance_file).unwrap(),
            sample,
            db: db.to_string(),
            mdb,
        };
        setup.write_instance_file(&commands);
        setup
    }

    /// Writes the fixture's instance file with `[database]` and
    /// `[migration]` replaced.
    fn write_instance_file(&self, c: &Commands) {
        let database = toml::to_string(&toml::Table::from_iter([(
            "database".to_string(),
            toml::Value::Table(c.database.clone()),
        )]))
        .unwrap();
        let migration = format!(
            "[migration]\nkind = \"command\"\nrun = {}\ntimeout = \"2m\"\n",
            serde_json::to_string(&c.migration).unwrap()
        );
        let text = replace_section(&self.original, "[database]", &database);
        let text = replace_section(&text, "[migration]", &migration);
        std::fs::write(&self.sample.fx.instance_file, text + &c.extra).unwrap();
    }

    /// `upshift <args>` with the password in the environment; asserts the
    /// exit code.
    fn upshift(&self, args: &[&str], code: i32) -> Output {
        self.sample
            .run_with(args, &[(PASSWORD_VAR, self.mdb.password())], code)
    }

    /// The live database's schema and rows.
    fn content(&self) -> String {
        self.mdb.content(&self.db)
    }

    fn state(&self) -> State {
        State::open(&self.sample.state_dir()).unwrap()
    }

    fn db_backups(&self) -> Vec<BackupRecord> {
        self.state().backups(Some(BackupKind::Db)).unwrap()
    }

    /// Restores catalogued backup `id` through the library, as a run's
    /// restore step does (so this process needs the password too).
    fn restore(&self, id: i64) -> upshift::Result<String> {
        std::env::set_var(PASSWORD_VAR, self.mdb.password());
        upshift::engine::backup::restore(&self.sample.instance(), &self.state(), id)
    }

    /// Files left in the backups folder.
    fn backup_files(&self) -> Vec<String> {
        std::fs::read_dir(self.sample.state_dir().join("backups"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `text` with the section starting at `header` (up to the next blank
/// line) replaced by `body`.
fn replace_section(text: &str, header: &str, body: &str) -> String {
    let start = text
        .find(&format!("\n{header}\n"))
        .unwrap_or_else(|| panic!("no {header} in the instance file"))
        + 1;
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |e| start + e + 1);
    format!("{}{body}{}", &text[..start], &text[end..])
}

/// The detail of the finished step `name` in a run's JSON lines.
fn step_detail(stdout: &[u8], name: &str) -> String {
    json_lines(stdout)
        .into_iter()
        .find(|l| l["type"] == "step_finished" && l["step"] == name)
        .and_then(|l| l["detail"].as_str().map(String::from))
        .unwrap_or_else(|| {
            panic!(
                "no finished {name} in:\n{}",
                String::from_utf8_lossy(stdout)
            )
        })
}

#[test]
fn round_trip_restores_identical_content_after_the_rows_changed() {
    let s = Setup::new("it_mdb_round_trip", |c| {
        c.set("verify", verify_by_loading())
    });
    let before = s.content();
    s.upshift(&["backup", "db"], 0);
    s.upshift(&["backups", "verify"], 0);
    let backup = &s.db_backups()[0];
    let sidecar = format!("{}.upshift.json", backup.path.display());
    assert!(std::path::Path::new(&sidecar).is_file(), "{sidecar}");

    s.mdb.sql(
        &s.db,
        "UPDATE projects SET name = 'changed' WHERE id <= 10; DELETE FROM projects WHERE id > 190; \
         ALTER TABLE projects ADD COLUMN extra INT; CREATE TABLE stray (id INT)",
    );
    assert_ne!(s.content(), before);

    let said = s.restore(backup.id).unwrap();
    assert!(
        said.contains("content checksum") && said.contains("matches"),
        "{said}"
    );
    assert_eq!(s.content(), before, "schema and rows as backed up");
    let databases = s
        .mdb
        .sql("mysql", "SHOW DATABASES LIKE 'it\\_mdb\\_round\\_trip%'");
    assert_eq!(databases.trim(), s.db, "the scratch database was dropped");
}

#[test]
fn a_corrupted_backup_is_refused_before_any_restore() {
    let s = Setup::new("it_mdb_corrupted", |_| {});
    s.upshift(&["backup", "db"], 0);
    let backup = &s.db_backups()[0];
    let dump = std::fs::read_to_string(&backup.path).unwrap();
    assert!(dump.contains("'project-7'"), "the dump holds the rows");
    // Still a complete dump by its trailer, but not the one verified.
    std::fs::write(&backup.path, dump.replacen("'project-7'", "'project-X'", 1)).unwrap();
    s.mdb.sql(&s.db, "DELETE FROM projects WHERE id > 100");
    let live = s.content();

    let out = s.upshift(&["backups", "verify"], 1);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("FAILED") && said.contains("SHA-256"),
        "{said}"
    );
    let e = s.restore(backup.id).unwrap_err();
    assert!(e.chain().contains("refusing to restore"), "{}", e.chain());
    assert_eq!(s.content(), live, "the live database was not touched");
}

#[test]
fn a_failing_backup_or_verify_leaves_no_catalog_entry_and_no_file() {
    let s = Setup::new("it_mdb_failing_backup", |c| {
        let mut backup = c.get("backup");
        *backup.last_mut().unwrap() = "it_mdb_no_such_database".into();
        c.set("backup", backup);
    });
    let out = s.upshift(&["backup", "db"], 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[database] backup (it_mdb_failing_backup)")
            && stderr.contains("it_mdb_no_such_database"),
        "names the command and carries its stderr: {stderr}"
    );
    assert!(s.db_backups().is_empty());
    assert_eq!(s.backup_files(), Vec::<String>::new());

    // A dump cut short: mariadb-dump succeeded, `verify` refuses it.
    let mut commands = Commands::standard(&s.mdb, &s.db);
    commands.set(
        "backup",
        sh(
            &format!(r#"mariadb-dump {CONNECT} "$2" | head -c 300 > "$1""#),
            &["{backup}", "{db}"],
        ),
    );
    s.write_instance_file(&commands);
    let out = s.upshift(&["backup", "db"], 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[database] verify (it_mdb_failing_backup)"),
        "{stderr}"
    );
    assert!(s.db_backups().is_empty());
    assert_eq!(s.backup_files(), Vec::<String>::new());
}

#[test]
fn upgrade_migrates_the_rows_with_a_verified_backup() {
    let s = Setup::new("it_mdb_upgrade", |_| {});
    s.sample.start();
    let before = s.content();
    let out = s.upshift(&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 0);
    assert_eq!(summary(&out.stdout)["to"], "2026.1.1");
    serving(&s.sample, "2026.1.1");
    let checks = s.upshift(&["check", "--json"], 0);
    let sql = json_lines(&checks.stdout)[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "projects intact")
        .cloned()
        .unwrap();
    assert_eq!(
        sql["detail"],
        format!("returned {ROWS}"),
        "asked MariaDB: {sql}"
    );
    let migrated = s.mdb.sql(
        &s.db,
        "SELECT count(*), sum(archived) FROM projects WHERE name LIKE '% v2'",
    );
    assert_eq!(migrated.trim(), format!("{ROWS}\t0"));
    assert_ne!(s.content(), before);

    let backup = &s.db_backups()[0];
    assert!(backup.run_id.is_some(), "the run's own backup");
    s.upshift(&["backups", "verify"], 0);
    let dump = std::fs::read_to_string(&backup.path).unwrap();
    assert!(
        dump.contains("'project-1'") && !dump.contains("v2_notes"),
        "the backup holds the rows from before the migration"
    );
}

#[test]
fn a_failing_check_after_the_migration_rolls_the_rows_back() {
    let s = Setup::new("it_mdb_rollback", |c| {
        // Fails while the rows are migrated; notes what it saw each time.
        let script = format!(
            "n=$({} --batch --skip-column-names -e \"SELECT count(*) FROM projects WHERE name LIKE '% v2'\"); \
             echo \"$n\" >> seen-by-check; [ \"$n\" = 0 ]",
            c.migration[..5].join(" ")
        );
        c.extra = format!(
            "\n[[checks]]\nkind = \"command\"\nname = \"rows not migrated\"\nrun = {}\nwithin = \"1s\"\n",
            serde_json::to_string(&sh(&script, &[])).unwrap()
        );
    });
    s.sample.start();
    let before = s.content();
    let out = s.upshift(&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 1);
    assert_eq!(summary(&out.stdout)["outcome"], "rolled_back");
    let seen = std::fs::read_to_string(s.sample.dir().join("seen-by-check")).unwrap();
    let seen: Vec<&str> = seen.lines().collect();
    assert_eq!(
        (seen.first(), seen.contains(&"200"), seen.last()),
        (Some(&"0"), true, Some(&"0")),
        "preflight saw no row migrated, the checks every row, the rollback undid it: {seen:?}"
    );

    assert_eq!(s.content(), before, "schema and rows as before the upgrade");
    let restored = step_detail(&out.stdout, "undo-backup-db");
    assert!(restored.contains("matches"), "{restored}");
    serving(&s.sample, "2026.1.0");
}

#[test]
fn a_command_database_is_not_cloned_and_nothing_is_made() {
    let s = Setup::new("it_mdb_clone", |_| {});
    s.sample.start();
    let out = s.upshift(&["clone", "--name", "test", "--fresh-backup"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be cloned"), "{stderr}");
    assert!(s.db_backups().is_empty(), "no fresh backup was taken");
    assert!(!s.sample.state_dir().join("clones").exists());
    serving(&s.sample, "2026.1.0");
}

#[test]
fn the_mariadb_password_never_leaks() {
    let s = Setup::new("it_mdb_secrets", |c| {
        // A query that fails and says the password while 2026.1.1 is
        // installed: the sql check fails inside the window, its error is
        // journaled, and the run is rolled back.
        c.set(
            "query",
            sh(
                &format!(
                    r#"case "$(readlink server/current)" in *2026.1.1)
                     echo "access denied for app using password $MYSQL_PWD" >&2; exit 1;;
                   esac
                   exec mariadb {CONNECT} --batch --skip-column-names -e "$1" "$2""#
                ),
                &["{sql}", "{db}"],
            ),
        );
        c.set("ping", argv(&["true"]));
    });
    s.sample.start();
    let password = s.mdb.password().to_string();
    let mut outputs = vec![];
    let mut run = |args: &[&str], code: i32| {
        let out = s.upshift(args, code);
        outputs.push((args.join(" "), out.stdout.clone()));
        outputs.push((format!("{} (stderr)", args.join(" ")), out.stderr.clone()));
        out
    };
    let failed = run(&["upgrade", "--yes", "--json", "--to", "2026.1.1"], 1);
    let said = String::from_utf8_lossy(&failed.stdout);
    assert!(
        said.contains("access denied for app using password ***"),
        "the scrubbing was exercised: {said}"
    );

    s.write_instance_file(&Commands::standard(&s.mdb, &s.db));
    for (args, code) in [
        (&["upgrade", "--yes", "--json", "--to", "2026.1.1"][..], 0),
        (&["backup", "db"], 0),
        (&["backups", "verify", "--json"], 0),
        (&["check", "--json"], 0),
        (&["status", "--json"], 0),
        (&["history", "--json"], 0),
        (&["backups", "list", "--json"], 0),
    ] {
        run(args, code);
    }
    let mut commands = Commands::standard(&s.mdb, &s.db);
    commands.set(
        "ping",
        sh(r#"echo "cannot log in with $MYSQL_PWD" >&2; exit 1"#, &[]),
    );
    s.write_instance_file(&commands);
    let refused = run(&["upgrade", "--yes", "--json"], 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot log in with ***"));

    let mut files = vec![];
    files.extend(all_files(&s.sample.state_dir()));
    files.extend(all_files(&s.sample.dir().join("logs")));
    assert!(files.iter().any(|f| f.ends_with("state.db")));
    for path in files {
        outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (what, bytes) in &outputs {
        assert!(
            !String::from_utf8_lossy(bytes).contains(&password),
            "the password leaked into {what}"
        );
    }
}
