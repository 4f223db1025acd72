//! The batcher service: reads sealed L2 blocks from the sequencer, encodes and
//! compresses them into batches (`rollup_core::batch`), and posts each batch
//! with its claimed state root and bond to the Rollup contract on L1, tracking
//! every L1 transaction until it is final.

pub mod config;
pub mod l2;
pub mod reader;
pub mod rollup_view;
pub mod service;
pub mod store;
pub mod txmgr;
