//! Regression tests for the holes a hostile review found (issue 11), each
//! reproducing the fault for real.

mod checks;
mod rollback;
