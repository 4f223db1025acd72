//! Helpers shared by the batcher's integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod anvil;
pub mod contracts;
