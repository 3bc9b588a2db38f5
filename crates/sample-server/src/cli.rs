//! The binary's arguments and commands; `main.rs` only calls [`run`] and
//! turns the error into an exit code with [`exit_code`].

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::db::Db;
use crate::error::SchemaError;
use crate::manifest::{Break, Manifest};
use crate::seed::{seed, SeedSpec};
use crate::{migrations, serve};

/// A small real server for testing upshift (not shipped).
#[derive(Debug, Parser)]
#[command(name = "sample-server", version)]
pub struct Args {
    /// Release manifest to use instead of `<exe dir>/../release.toml`.
    #[arg(long, global = true, value_name = "FILE")]
    pub release: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Server config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Run pending migrations up to this release's schema.
    Migrate {
        /// Server config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Add projects and encrypted secrets (migrating an empty database first).
    Seed {
        /// Server config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Projects to add.
        #[arg(long, default_value_t = 0)]
        projects: u64,
        /// Secrets to add.
        #[arg(long, default_value_t = 0)]
        secrets: u64,
        /// Payload bytes per project.
        #[arg(long, default_value_t = 64)]
        payload_bytes: usize,
        /// Then keep adding projects until the database holds N MiB.
        #[arg(long, value_name = "N")]
        target_mb: Option<u64>,
    },
    /// Print the master key (base64), like `Octopus.Server show-master-key`.
    ShowMasterKey {
        /// Server config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Runs one command.
pub fn run(args: Args) -> Result<()> {
    let manifest = || -> Result<Manifest> {
        let path = match &args.release {
            Some(p) => p.clone(),
            None => Manifest::beside_current_exe()?,
        };
        Manifest::load(&path)
    };
    let load = |path: &Path| -> Result<Config> { config::load(path) };
    match &args.command {
        Command::Serve { config } => serve::serve(&load(config)?, &manifest()?),
        Command::Migrate { config } => {
            let (config, manifest) = (load(config)?, manifest()?);
            let mut db = Db::open(&config.source()?)?;
            let broken = manifest.brk == Some(Break::Migration);
            let mut out = std::io::stdout();
            let applied = migrations::run_pending(&mut db, manifest.schema, broken, |v| {
                let _ = writeln!(out, "applied migration {v}");
                let _ = out.flush();
            })?;
            if applied.is_empty() {
                println!("database schema {} is up to date", manifest.schema);
            }
            Ok(())
        }
        Command::Seed {
            config,
            projects,
            secrets,
            payload_bytes,
            target_mb,
        } => {
            let (config, manifest) = (load(config)?, manifest()?);
            let key = config.master_key()?;
            let mut db = Db::open(&config.source()?)?;
            let spec = SeedSpec {
                projects: *projects,
                secrets: *secrets,
                payload_bytes: *payload_bytes,
                target_mb: *target_mb,
            };
            let done = seed(&mut db, &key, manifest.schema, spec).context("seeding")?;
            println!(
                "seeded {} projects and {} secrets",
                done.projects, done.secrets
            );
            Ok(())
        }
        Command::ShowMasterKey { config } => {
            println!("{}", load(config)?.master_key()?.to_base64());
            Ok(())
        }
    }
}

/// The exit code for a failed command: 3 or 4 for a schema mismatch, else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<SchemaError>())
        .map_or(1, SchemaError::exit_code)
}
