//! Integration tests of the core rules: the reference executor and the state commitment.

mod batch;
#[path = "../../../batcher/tests/common/contracts.rs"]
mod contracts;
mod evm_fixtures;
mod evm_step_fuzz;
mod executor;
mod fuzz_tx;
mod fuzz_witness;
mod mpt_fixtures;
mod step_fixtures;
