//! Fault proofs, off-chain side: the step trace of a batch, its state hashes and the
//! witnesses the one-step verifier on L1 checks (byte-level definition: docs/fault-proof.md).

pub mod evm;
pub mod inputs;
pub mod machine;
pub mod mpt;
pub mod sponge;
pub mod step;
pub mod trace;

pub use inputs::{
    InputItem, InputsError, batch_inputs, inputs_chain, inputs_root, recent_hashes_tree,
};
pub use machine::{BlockItem, MachineState, Phase};
pub use step::{Machine, StepError, StepKind, World};
pub use trace::{StepWitness, Trace, TraceError};
