//! upshift's integration tests: the real `upshift` binary against real
//! sample installations (real processes, SQLite, HTTP, signed archives).

mod bad_input;
mod clone;
mod demo;
mod faults;
mod ha;
mod hostile;
mod init;
mod json;
mod logs;
mod mariadb;
mod octopus;
mod pictures;
mod postgres;
mod rollback;
mod secrets;
mod support;
mod undo_checks;
mod upgrade;
mod window;
mod words;
