//! Integration tests: real `sample-server` processes, real SQLite files, real
//! HTTP. Releases are packaged from the built binary and unpacked into a
//! `versions/<v>/` folder, so the binary finds its `release.toml` the way it
//! does in production.

mod support;

mod breaks;
mod feed;
mod migrate;
mod serve;
