//! The clone's instance file: production's with the `[clone]` replacements
//! applied, then made the clone's own (name, state folder, database, the
//! release source made absolute, secrets shared only where copied).

use crate::drivers::db::cloneable;
use crate::engine::instance::Instance;
use crate::support::error::{Context, Error, Result};
use std::path::Path;

/// Production's instance file, replaced and edited for the clone.
pub(super) fn clone_file(
    prod: &Instance,
    name: &str,
    replace: &[(String, String)],
    db: &str,
    copied: &[String],
) -> Result<String> {
    let text = std::fs::read_to_string(&prod.loaded.path)
        .context(|| format!("cannot read {}", prod.loaded.path.display()))?;
    let text = apply(&text, replace);
    let at = |what: &str| format!("the clone's instance file: {what}");
    let mut doc: toml::Table = text.parse().map_err(|e| {
        Error::input(at(&format!("{e}")))
            .hint("check the [clone] replacements: they made the file invalid")
    })?;
    let table = |doc: &mut toml::Table, key: &str| -> Result<toml::Table> {
        match doc.remove(key) {
            Some(toml::Value::Table(t)) => Ok(t),
            None => Ok(toml::Table::new()),
            Some(_) => Err(Error::input(at(&format!("[{key}] is not a table")))),
        }
    };
    let mut instance = table(&mut doc, "instance")?;
    instance.insert("name".into(), format!("{}-{name}", prod.name()).into());
    instance.insert("state_dir".into(), ".upshift".into());
    doc.insert("instance".into(), instance.into());
    let mut release = table(&mut doc, "release")?;
    if !prod.loaded.file.release.source.contains("://") {
        let source = prod.loaded.dir.join(&prod.loaded.file.release.source);
        release.insert("source".into(), source.display().to_string().into());
    }
    release.remove("cache_dir");
    doc.insert("release".into(), release.into());
    if let Some(toml::Value::Table(backups)) = doc.get_mut("backups") {
        backups.remove("dir");
    }
    if let Some(toml::Value::Table(database)) = doc.get_mut("database") {
        cloneable(prod.db.as_ref())?.point_at(database, db);
    }
    doc.remove("clone");
    for (key, value) in doc.iter_mut() {
        shared_secrets(value, key, &prod.loaded.dir, copied);
    }
    let body = toml::to_string(&doc).context(|| at("cannot write it"))?;
    Ok(format!(
        "# A clone of {} made by `upshift clone`; tear it down with `upshift rehearse` \
         or by stopping it and deleting this folder.\n{body}",
        prod.loaded.path.display()
    ))
}

/// Points the secret references (`{ file = ".." }` outside `from` value
/// sources) that `[clone] copy` does not copy at production's files: a
/// secret is only read, and the clone needs the same passphrase to open its
/// own key bundles.
pub(super) fn shared_secrets(
    value: &mut toml::Value,
    field: &str,
    prod_dir: &Path,
    copied: &[String],
) {
    match value {
        toml::Value::Table(t) => {
            let secret_ref =
                t.keys().all(|k| k == "file" || k == "env") && !field.ends_with(".from");
            if let (true, Some(toml::Value::String(file))) = (secret_ref, t.get_mut("file")) {
                let own = copied
                    .iter()
                    .any(|c| Path::new(file.as_str()).starts_with(c));
                if !Path::new(file.as_str()).is_absolute() && !own {
                    *file = prod_dir.join(&*file).display().to_string();
                }
                return;
            }
            for (key, v) in t.iter_mut() {
                shared_secrets(v, &format!("{field}.{key}"), prod_dir, copied);
            }
        }
        toml::Value::Array(items) => {
            for v in items {
                shared_secrets(v, field, prod_dir, copied);
            }
        }
        _ => {}
    }
}

/// The replacements applied to `text`, in order.
pub(super) fn apply(text: &str, replace: &[(String, String)]) -> String {
    replace.iter().fold(text.to_string(), |t, (from, to)| {
        t.replace(from.as_str(), to)
    })
}
