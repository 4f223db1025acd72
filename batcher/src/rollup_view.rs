//! Calls of the Rollup contract's view functions at L1's latest block, shared by
//! the batcher's loop and the L1 batch reader; defined in `rollup_core::l1_reader`.

pub use rollup_core::l1_reader::{ViewError, call_view};
