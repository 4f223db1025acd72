//! The step trace of a commitment: state hashes by step index and the witness of any step
//! (docs/fault-proof.md section 4 and 5).
//!
//! [`Trace::new`] runs the step machine ([`super::step::Machine`]) over a batch once and keeps
//! only the state hash after every step (and the state root after every block), not the world
//! state: [`Trace::witness_at`] re-executes from the batch's pre-state (kept once) up to the
//! step asked for. Index `k` of the trace is the state after `k` steps; from the finished state
//! on (and up to the game's `2^DEPTH`) every index holds the finished state.
//!
//! BLOCKHASH inside the batch reads the block hashes recorded in the pre-state
//! ([`WorldState::record_block_hash`]); record the batch's own blocks there too (revm never
//! reads the hash of the current block or a later one).

use super::{
    inputs::InputItem,
    machine::MachineState,
    step::{Machine, StepError, StepKind, World},
};
use crate::{chain::ChainConfig, state::WorldState};
use alloy_primitives::{B256, Bytes};
use alloy_sol_types::SolValue;

/// Depth of the dispute game's bisection: the trace has `2^DEPTH + 1` indices.
pub const DEPTH: u32 = 40;

/// The last index of a trace, `2^DEPTH`.
pub const LAST_INDEX: u64 = 1 << DEPTH;

/// Why a trace cannot be built or queried.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The machine could not take step `step`.
    #[error("step {step}: {source}")]
    Step {
        /// Index of the pre-state.
        step: u64,
        /// Why.
        source: StepError,
    },
    /// The batch takes more steps than the game's `2^DEPTH`.
    #[error("the batch needs more than 2^{DEPTH} steps")]
    TooLong,
    /// A step index beyond `2^DEPTH`.
    #[error("step index {0} is beyond 2^{DEPTH}")]
    OutOfRange(u64),
}

/// One step of a trace with its witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepWitness {
    /// Index of the pre-state.
    pub index: u64,
    /// The step's kind.
    pub kind: StepKind,
    /// The state before the step.
    pub pre: MachineState,
    /// The verifier's `proof` for the step.
    pub proof: Bytes,
    /// The state after the step.
    pub post: MachineState,
}

/// The step trace of one batch.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The machine at index 0 (re-executed from for witnesses).
    start: Machine,
    /// `hashes[k]`: the state hash at index `k`, for `k` in `0..=len`.
    hashes: Vec<B256>,
    /// The state root after each block, in order.
    block_roots: Vec<B256>,
    /// The state at index `len` (finished).
    last: MachineState,
}

impl Trace {
    /// The trace of the batch with `items` (see [`super::inputs::batch_inputs`]) executed on
    /// `pre` (the state at the batch's parent block) under `chain`.
    pub fn new(
        pre: WorldState,
        chain: ChainConfig,
        items: Vec<InputItem>,
    ) -> Result<Self, TraceError> {
        Self::from_machine(Machine::new(chain, World::new(pre), items))
    }

    /// The trace of `start` run to its finished state.
    pub fn from_machine(start: Machine) -> Result<Self, TraceError> {
        let mut machine = start.clone();
        let mut hashes = vec![machine.state().hash()];
        let mut block_roots = Vec::new();
        while !machine.is_finished() {
            let step = hashes.len() as u64 - 1;
            if step >= LAST_INDEX {
                return Err(TraceError::TooLong);
            }
            let kind = StepKind::of(machine.state());
            machine
                .step(false)
                .map_err(|source| TraceError::Step { step, source })?;
            if kind == Some(StepKind::BlockEnd) {
                block_roots.push(machine.state().stateRoot);
            }
            hashes.push(machine.state().hash());
        }
        Ok(Self {
            last: machine.state().clone(),
            start,
            hashes,
            block_roots,
        })
    }

    /// Number of real steps: the state at index `len()` is the finished state.
    pub fn len(&self) -> u64 {
        self.hashes.len() as u64 - 1
    }

    /// True when the batch takes no step (no inputs).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The initial state (index 0).
    pub fn initial_state(&self) -> &MachineState {
        self.start.state()
    }

    /// The finished state (index `len()` and every later one).
    pub fn final_state(&self) -> &MachineState {
        &self.last
    }

    /// The state root after the batch.
    pub fn post_state_root(&self) -> B256 {
        self.last.stateRoot
    }

    /// The state root after each block of the batch, in order.
    pub fn block_roots(&self) -> &[B256] {
        &self.block_roots
    }

    /// The state hash at index `k` (`k >= len()`: the finished state's).
    pub fn state_hash_at(&self, k: u64) -> B256 {
        let last = self.hashes.len() - 1;
        self.hashes[usize::try_from(k).unwrap_or(last).min(last)]
    }

    /// The machine state at index `k`, re-executed.
    pub fn state_at(&self, k: u64) -> Result<MachineState, TraceError> {
        if k > LAST_INDEX {
            return Err(TraceError::OutOfRange(k));
        }
        if k >= self.len() {
            return Ok(self.last.clone());
        }
        Ok(self.machine_at(k)?.state().clone())
    }

    /// The witness of the step from index `k` to `k + 1`: `(abi.encode(preState), proof)` as
    /// `IStepVerifier.step` takes them. `k` in `0..2^DEPTH`.
    pub fn witness_at(&self, k: u64) -> Result<(Bytes, Bytes), TraceError> {
        let step = self.step_at(k)?;
        Ok((step.pre.abi_encode().into(), step.proof))
    }

    /// The step from index `k` to `k + 1` with its witness.
    pub fn step_at(&self, k: u64) -> Result<StepWitness, TraceError> {
        if k >= LAST_INDEX {
            return Err(TraceError::OutOfRange(k));
        }
        if k >= self.len() {
            return Ok(StepWitness {
                index: k,
                kind: StepKind::Finished,
                pre: self.last.clone(),
                proof: Bytes::new(),
                post: self.last.clone(),
            });
        }
        let mut machine = self.machine_at(k)?;
        witness_step(&mut machine, k)
    }

    /// Every real step with its witness, in order (one pass of execution).
    pub fn steps(&self) -> impl Iterator<Item = Result<StepWitness, TraceError>> + '_ {
        let mut machine = self.start.clone();
        (0..self.len()).map(move |k| witness_step(&mut machine, k))
    }

    /// The machine at index `k < len()`, re-executed from index 0.
    fn machine_at(&self, k: u64) -> Result<Machine, TraceError> {
        let mut machine = self.start.clone();
        for step in 0..k {
            machine
                .step(false)
                .map_err(|source| TraceError::Step { step, source })?;
        }
        debug_assert_eq!(machine.state().hash(), self.hashes[k as usize]);
        Ok(machine)
    }
}

fn witness_step(machine: &mut Machine, k: u64) -> Result<StepWitness, TraceError> {
    let pre = machine.state().clone();
    let kind = StepKind::of(&pre).ok_or(TraceError::Step {
        step: k,
        source: StepError::UnknownPhase(pre.phase),
    })?;
    let proof = machine
        .step(true)
        .map_err(|source| TraceError::Step { step: k, source })?;
    Ok(StepWitness {
        index: k,
        kind,
        pre,
        proof,
        post: machine.state().clone(),
    })
}
