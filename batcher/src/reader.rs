//! The L1 batch reader, now in `rollup_core::l1_reader` (the sequencer's
//! `--sync-from-l1` uses it too); re-exported here for the batcher's users.

pub use rollup_core::l1_reader::{BatchReader, PostedBatch, ReaderError};
