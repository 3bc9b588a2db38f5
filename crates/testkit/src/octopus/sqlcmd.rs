//! A stand-in `sqlcmd` for SQL Server, written from Microsoft's sqlcmd and
//! T-SQL documentation, implementing exactly the three statements upshift's
//! Octopus preset sends:
//!
//! ```sql
//! BACKUP DATABASE [db] TO DISK = N'path' WITH COPY_ONLY, CHECKSUM
//! RESTORE VERIFYONLY FROM DISK = N'path' WITH CHECKSUM
//! RESTORE DATABASE [db] FROM DISK = N'path' WITH REPLACE
//! ```
//!
//! Options: `-S server`, `-U login` (password from `SQLCMDPASSWORD`, or
//! `-P`), `-E`, `-d db`, `-C`, `-b`, `-r0`/`-r1`, `-Q query`. As sqlcmd
//! does: error messages go to stdout unless `-r` sends them to stderr, and
//! an error makes sqlcmd exit 1 only with `-b` (without it, 0).
//!
//! The databases are files (`<world>/sql/<db>.json`); a backup is a header
//! line with the SHA-256 of the content, then the content, so VERIFYONLY
//! and RESTORE find damage. Like SQL Server, RESTORE needs exclusive use of
//! the database (refused while a node using it runs), RESTORE over an
//! existing database needs `WITH REPLACE`, and BACKUP into an existing file
//! is refused here (SQL Server would append a second backup set, and a
//! plain RESTORE would then read the first: a new file per backup is right).
//! Fault switch `backup`: BACKUP fails as on a full disk.

use super::files::{sha256_hex, write_atomic, World};
use std::path::Path;

const HEADER: &str = "OCTOPUS-STANDIN-BACKUP";

/// Runs `sqlcmd <args>`, invoked as `argv0`; returns the exit code.
pub fn main(argv0: &Path, args: &[String]) -> i32 {
    let world = match World::find(argv0) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    world.log("sql", "sqlcmd", args);
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Sqlcmd: {e}");
            return 1;
        }
    };
    let result = login(&world, &opts).and_then(|()| match &opts.query {
        Some(q) => execute(&world, q),
        None => Err(Msg::new(
            0,
            "sqlcmd -Q is the only mode the stand-in implements",
        )),
    });
    match result {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(msgs) => {
            let text = msgs.0.join("\n");
            if opts.errors_to_stderr {
                eprintln!("{text}");
            } else {
                println!("{text}");
            }
            i32::from(opts.exit_on_error)
        }
    }
}

/// Error messages, as SQL Server numbers them.
struct Msg(Vec<String>);

impl Msg {
    fn new(number: u32, text: &str) -> Msg {
        Msg(vec![format!(
            "Msg {number}, Level 16, State 1, Server stand-in, Line 1\n{text}"
        )])
    }

    /// Adds the "... is terminating abnormally." that follows a failed statement.
    fn terminating(mut self, statement: &str) -> Msg {
        self.0.push(format!(
            "Msg 3013, Level 16, State 1, Server stand-in, Line 1\n{statement} is terminating abnormally."
        ));
        self
    }
}

struct Options {
    user: Option<String>,
    password: Option<String>,
    query: Option<String>,
    exit_on_error: bool,
    errors_to_stderr: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut opts = Options {
            user: None,
            password: std::env::var("SQLCMDPASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            query: None,
            exit_on_error: false,
            errors_to_stderr: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or(format!("'{arg}': Missing argument."))
            };
            match arg.as_str() {
                "-S" | "-d" => drop(value()?),
                "-U" => opts.user = Some(value()?),
                "-P" => opts.password = Some(value()?),
                "-Q" => opts.query = Some(value()?),
                "-b" => opts.exit_on_error = true,
                "-r" | "-r0" | "-r1" => opts.errors_to_stderr = true,
                "-E" | "-C" => {}
                other => return Err(format!("'{other}': Unknown Option. Enter '-?' for help.")),
            }
        }
        Ok(opts)
    }
}

/// Checks a SQL login's password (integrated security is always accepted).
fn login(world: &World, opts: &Options) -> Result<(), Msg> {
    let Some(user) = &opts.user else {
        return Ok(());
    };
    let logins = world.settings().map(|s| s.sql_logins).unwrap_or_default();
    let given = opts.password.as_deref().map(|p| sha256_hex(p.as_bytes()));
    match logins.get(user) {
        Some(expected) if given.as_deref() == Some(expected.as_str()) => Ok(()),
        _ => Err(Msg(vec![format!(
            "Msg 18456, Level 14, State 1, Server stand-in, Line 1\nLogin failed for user '{user}'."
        )])),
    }
}

/// One parsed statement.
enum Statement {
    Backup {
        database: String,
        disk: String,
        options: Vec<String>,
    },
    Verify {
        disk: String,
        options: Vec<String>,
    },
    Restore {
        database: String,
        disk: String,
        options: Vec<String>,
    },
}

fn execute(world: &World, query: &str) -> Result<String, Msg> {
    match parse(query)? {
        Statement::Backup {
            database,
            disk,
            options,
        } => {
            allowed(
                &options,
                &["COPY_ONLY", "CHECKSUM", "INIT", "FORMAT"],
                "BACKUP",
            )?;
            let stop = |m: Msg| m.terminating("BACKUP DATABASE");
            let content = std::fs::read(world.database_file(&database)).map_err(|_| {
                Msg::new(911, &format!("Database '{database}' does not exist. Make sure that the name is entered correctly."))
            })?;
            let path = Path::new(&disk);
            if world.faulty("backup") {
                return Err(stop(cannot_open(
                    &disk,
                    "112(There is not enough space on the disk.)",
                )));
            }
            if !path.parent().is_some_and(Path::is_dir) {
                return Err(stop(cannot_open(
                    &disk,
                    "3(The system cannot find the path specified.)",
                )));
            }
            if path.exists() {
                return Err(stop(Msg::new(4035, &format!(
                    "The stand-in refuses to add a second backup set to '{disk}': back up into a new file"
                ))));
            }
            let mut bytes = format!("{HEADER} {database} {}\n", sha256_hex(&content)).into_bytes();
            bytes.extend_from_slice(&content);
            write_atomic(path, &bytes).map_err(|e| stop(Msg::new(3201, &e)))?;
            Ok(format!(
                "BACKUP DATABASE successfully processed {} pages.",
                content.len() / 8192 + 1
            ))
        }
        Statement::Verify { disk, options } => {
            allowed(&options, &["CHECKSUM"], "RESTORE")?;
            read_backup(&disk).map_err(|m| m.terminating("VERIFY DATABASE"))?;
            Ok("The backup set on file 1 is valid.".into())
        }
        Statement::Restore {
            database,
            disk,
            options,
        } => {
            allowed(&options, &["REPLACE", "CHECKSUM"], "RESTORE")?;
            let stop = |m: Msg| m.terminating("RESTORE DATABASE");
            let (from, content) = read_backup(&disk).map_err(stop)?;
            let live = world.database_file(&database);
            let replace = options.iter().any(|o| o == "REPLACE");
            if live.exists() && !replace {
                return Err(stop(Msg::new(3159, &format!(
                    "The tail of the log for the database \"{database}\" has not been backed up. Use WITH REPLACE if you want to overwrite it."
                ))));
            }
            if from != database && !replace {
                return Err(stop(Msg::new(3154, &format!(
                    "The backup set holds a backup of a database other than the existing '{database}' database."
                ))));
            }
            let users = world.running_on(&database);
            if !users.is_empty() {
                return Err(stop(Msg::new(3101, &format!(
                    "Exclusive access could not be obtained because the database is in use (by {}).",
                    users.join(", ")
                ))));
            }
            write_atomic(&live, &content).map_err(|e| stop(Msg::new(3201, &e)))?;
            Ok(format!(
                "RESTORE DATABASE successfully processed {} pages.",
                content.len() / 8192 + 1
            ))
        }
    }
}

fn cannot_open(disk: &str, os_error: &str) -> Msg {
    Msg::new(
        3201,
        &format!("Cannot open backup device '{disk}'. Operating system error {os_error}."),
    )
}

/// The database name and content of a backup file, checked against its hash.
fn read_backup(disk: &str) -> Result<(String, Vec<u8>), Msg> {
    let bytes = std::fs::read(disk)
        .map_err(|_| cannot_open(disk, "2(The system cannot find the file specified.)"))?;
    let damaged = || Msg::new(3189, "Damage to the backup set was detected.");
    let split = bytes.iter().position(|&b| b == b'\n').ok_or_else(damaged)?;
    let header = String::from_utf8_lossy(&bytes[..split]).to_string();
    let content = bytes[split + 1..].to_vec();
    match header.split(' ').collect::<Vec<_>>()[..] {
        [HEADER, database, sha] if sha == sha256_hex(&content) => {
            Ok((database.to_string(), content))
        }
        _ => Err(damaged()),
    }
}

/// Refuses a WITH option outside `known`.
fn allowed(options: &[String], known: &[&str], statement: &str) -> Result<(), Msg> {
    match options.iter().find(|o| !known.contains(&o.as_str())) {
        Some(o) => Err(Msg::new(
            155,
            &format!("'{o}' is not a recognized {statement} option."),
        )),
        None => Ok(()),
    }
}

/// Parses one of the three statements (keywords in any case, any spacing).
fn parse(query: &str) -> Result<Statement, Msg> {
    let mut rest = query.trim().trim_end_matches(';').trim();
    let upper = rest.to_ascii_uppercase();
    let kind = if upper.starts_with("BACKUP") {
        keyword(&mut rest, "BACKUP DATABASE")?;
        0
    } else if upper.split_whitespace().nth(1) == Some("VERIFYONLY") {
        keyword(&mut rest, "RESTORE VERIFYONLY FROM DISK =")?;
        1
    } else {
        keyword(&mut rest, "RESTORE DATABASE")?;
        2
    };
    let database = if kind == 1 {
        String::new()
    } else {
        let (name, after) = bracketed(rest).ok_or_else(|| syntax(rest))?;
        rest = after;
        keyword(
            &mut rest,
            if kind == 0 {
                "TO DISK ="
            } else {
                "FROM DISK ="
            },
        )?;
        name
    };
    let (disk, after) = quoted(rest.trim_start()).ok_or_else(|| syntax(rest))?;
    rest = after.trim();
    let options = if rest.is_empty() {
        Vec::new()
    } else {
        keyword(&mut rest, "WITH")?;
        rest.split(',')
            .map(|o| o.trim().to_ascii_uppercase())
            .collect()
    };
    Ok(match kind {
        0 => Statement::Backup {
            database,
            disk,
            options,
        },
        1 => Statement::Verify { disk, options },
        _ => Statement::Restore {
            database,
            disk,
            options,
        },
    })
}

/// Consumes `words` (space-separated keywords, any case) from `rest`.
fn keyword(rest: &mut &str, words: &str) -> Result<(), Msg> {
    for word in words.split(' ') {
        let t = rest.trim_start();
        let matches = t
            .get(..word.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(word));
        if !matches {
            return Err(syntax(t));
        }
        *rest = &t[word.len()..];
    }
    Ok(())
}

fn syntax(near: &str) -> Msg {
    let near = near.split_whitespace().next().unwrap_or(near);
    Msg::new(102, &format!("Incorrect syntax near '{near}' (the stand-in knows BACKUP DATABASE, RESTORE VERIFYONLY and RESTORE DATABASE only)."))
}

/// `[name]` (with `]]` for `]`) at the start of `text`, and what follows.
fn bracketed(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start().strip_prefix('[')?;
    let mut name = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ']' if chars.peek().map(|p| p.1) == Some(']') => {
                name.push(']');
                chars.next();
            }
            ']' => return Some((name, &text[i + 1..])),
            c => name.push(c),
        }
    }
    None
}

/// `N'text'` or `'text'` (with `''` for `'`) at the start of `text`, and what follows.
fn quoted(text: &str) -> Option<(String, &str)> {
    let text = text
        .strip_prefix(['N', 'n'])
        .unwrap_or(text)
        .strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if chars.peek().map(|p| p.1) == Some('\'') => {
                value.push('\'');
                chars.next();
            }
            '\'' => return Some((value, &text[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_statements() {
        let Ok(Statement::Backup {
            database,
            disk,
            options,
        }) =
            parse("BACKUP DATABASE [Oct]]opus] TO DISK = N'/b/it''s.bak' WITH COPY_ONLY, CHECKSUM")
        else {
            panic!("not a backup")
        };
        assert_eq!(
            (database.as_str(), disk.as_str()),
            ("Oct]opus", "/b/it's.bak")
        );
        assert_eq!(options, ["COPY_ONLY", "CHECKSUM"]);
        assert!(matches!(
            parse("restore verifyonly from disk = N'/b/x.bak' with checksum;"),
            Ok(Statement::Verify { disk, options }) if disk == "/b/x.bak" && options == ["CHECKSUM"]
        ));
        assert!(matches!(
            parse("RESTORE DATABASE [Octopus] FROM DISK = '/b/x.bak' WITH REPLACE"),
            Ok(Statement::Restore { database, .. }) if database == "Octopus"
        ));
        for bad in [
            "SELECT 1",
            "BACKUP LOG [Octopus] TO DISK = N'/x'",
            "RESTORE DATABASE Octopus FROM DISK = N'/x'",
            "BACKUP DATABASE [Octopus] TO DISK = N'/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
