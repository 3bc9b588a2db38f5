//! Regressions for the holes a hostile review found (issue 11): each test
//! reproduces the fault for real and proves it stays closed.

mod service;
mod state;
