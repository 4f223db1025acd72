//! The rules of the rollup, shared by every service: chain parameters and
//! genesis, world state and the `StateReader` seam, the sequential reference
//! executor (the state transition function), the Merkle Patricia state
//! commitment, and sealed block types.
//!
//! It does not know about networking, persistence or parallelism: the
//! sequencer, batcher and challenger build those on top.

pub mod batch;
pub mod block;
pub mod chain;
pub mod derive;
pub mod error;
pub mod executor;
pub mod fault;
pub mod l1;
#[cfg(feature = "l1-reader")]
pub mod l1_reader;
pub mod precompiles;
pub mod state;
pub mod trie;
pub mod tx;

pub use alloy_consensus;
pub use alloy_primitives;
pub use revm;
