//! Integration tests: real `sample-server` processes, real SQLite files and
//! a real PostgreSQL cluster ([`pg`]), real HTTP. The key tests run once per
//! engine: each body takes a [`support::Root`] and a `sqlite` and `postgres`
//! test call it. Releases are packaged from the built binary and unpacked into a
//! `versions/<v>/` folder, so the binary finds its `release.toml` the way it
//! does in production.

mod pg;
mod support;

mod breaks;
mod feed;
mod fixture;
mod migrate;
mod serve;
