//! Integration tests of the core rules: the reference executor and the state commitment.

mod batch;
mod evm_fixtures;
mod executor;
mod fuzz_tx;
mod fuzz_witness;
mod mpt_fixtures;
mod step_fixtures;
