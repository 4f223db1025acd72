//! The challenger service: derives the L2 chain from L1 alone and checks every state root the
//! batcher posted (`watcher`), plays dispute games on wrong roots and defends correct ones
//! (`games`, with the rules of play in `play`), keeps its progress in its own tables (`store`)
//! and serves what it found as JSON (`status`).

pub mod config;
pub mod games;
pub mod play;
pub mod service;
pub mod status;
pub mod store;
pub mod watcher;
