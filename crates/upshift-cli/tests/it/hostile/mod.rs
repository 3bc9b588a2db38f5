//! Hostile review (issue 11): each test reproduces a fault or an attack for
//! real and proves the instance comes out of it as the contract says.

mod output;
mod signals;
mod spawned;
