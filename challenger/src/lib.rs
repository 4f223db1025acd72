//! The challenger service: derives the L2 chain from L1 alone and checks every
//! state root the batcher posted (`watcher`), and serves what it found as JSON
//! (`status`). Dispute games are the next step (see the open issues): today a
//! wrong root is detected and reported, not yet challenged on L1.

pub mod config;
pub mod status;
pub mod watcher;
