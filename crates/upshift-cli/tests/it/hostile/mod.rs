//! Regressions for the holes a hostile review found (issue 11): each test
//! reproduces the fault or the attack for real and proves the instance
//! comes out of it as the contract says.

mod checks;
mod output;
mod rollback;
mod security;
mod service;
mod signals;
mod spawned;
mod state;
