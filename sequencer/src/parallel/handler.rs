//! A revm handler that runs a transaction exactly as mainnet does but defers
//! the beneficiary's fee credit, so that the fee vault is not a write in every
//! transaction (the parallel engine credits it commutatively, in block order).

use alloy_consensus::{ReceiptEnvelope, TxType};
use alloy_primitives::{Bloom, logs_bloom};
use core::{cell::Cell, marker::PhantomData};
use revm::{
    context::result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction},
    context_interface::{Block, Cfg, ContextTr, JournalTr, Transaction as _},
    handler::{EthFrame, EvmTr, EvmTrError, ExecuteEvm, FrameResult, FrameTr, Handler},
    interpreter::{interpreter::EthInterpreter, interpreter_action::FrameInit},
    state::EvmState,
};
use rollup_core::{
    error::{StateError, TxRejection},
    executor::{ExecError, receipt_from_result, rejection_of},
    state::TxEffects,
};

/// Mainnet semantics minus the beneficiary credit, which it records instead.
#[derive(Debug)]
pub(crate) struct DeferredFeeHandler<EVM, ERROR, FRAME> {
    /// The priority fee the mainnet handler would have credited.
    reward: Cell<u128>,
    _phantom: PhantomData<(EVM, ERROR, FRAME)>,
}

impl<EVM, ERROR, FRAME> Default for DeferredFeeHandler<EVM, ERROR, FRAME> {
    fn default() -> Self {
        Self {
            reward: Cell::new(0),
            _phantom: PhantomData,
        }
    }
}

impl<EVM, ERROR, FRAME> Handler for DeferredFeeHandler<EVM, ERROR, FRAME>
where
    EVM: EvmTr<Context: ContextTr<Journal: JournalTr<State = EvmState>>, Frame = FRAME>,
    ERROR: EvmTrError<EVM>,
    FRAME: FrameTr<FrameResult = FrameResult, FrameInit = FrameInit>,
{
    type Evm = EVM;
    type Error = ERROR;
    type HaltReason = HaltReason;

    /// Computes what `revm::handler::post_execution::reward_beneficiary`
    /// credits (London rules: the tip above the base fee, per unit of gas used
    /// after refunds) without touching the beneficiary's account.
    fn reward_beneficiary(
        &self,
        evm: &mut Self::Evm,
        exec_result: &mut FrameResult,
    ) -> Result<(), Self::Error> {
        let ctx = evm.ctx();
        if ctx.cfg().is_fee_charge_disabled() {
            return Ok(());
        }
        let basefee = ctx.block().basefee() as u128;
        let tip_per_gas = ctx
            .tx()
            .effective_gas_price(basefee)
            .saturating_sub(basefee);
        let gas = exec_result.gas();
        let used = gas.used().saturating_sub(gas.reservoir());
        self.reward.set(tip_per_gas.wrapping_mul(used as u128));
        Ok(())
    }
}

/// A mainnet EVM over `DB`.
pub(crate) type EvmOn<DB> = revm::handler::MainnetEvm<revm::handler::MainnetContext<DB>>;

/// What one transaction did, with the beneficiary credit held back.
#[derive(Debug)]
pub(crate) enum DeferredRun {
    /// Valid: revm's result, the accounts and slots it loaded and changed
    /// (without the fee credit), and the credit owed to the beneficiary.
    Included {
        result: ExecutionResult,
        state: EvmState,
        reward: u128,
        bloom: Box<Bloom>,
    },
    /// Invalid against the state it saw; `state` holds what validation loaded.
    Rejected {
        rejection: TxRejection,
        state: EvmState,
    },
}

impl DeferredRun {
    /// Every account and slot the run loaded.
    pub(crate) fn state(&self) -> &EvmState {
        match self {
            Self::Included { state, .. } | Self::Rejected { state, .. } => state,
        }
    }

    /// What the engine keeps of the run once its reads and writes are known:
    /// revm's state is digested and its receipt built (cumulative gas still
    /// zero), on the thread that ran it, which also frees revm's state.
    pub(crate) fn digest(self, tx_type: TxType) -> Digest {
        match self {
            Self::Included {
                result,
                state,
                reward,
                bloom,
            } => Digest {
                effects: TxEffects::from_evm_state(&state),
                outcome: RunOutcome::Included {
                    gas_used: result.tx_gas_used(),
                    receipt: Box::new(receipt_from_result(tx_type, result, 0, *bloom)),
                    reward,
                },
            },
            // A rejected transaction changes nothing.
            Self::Rejected { rejection, .. } => Digest {
                effects: TxEffects::default(),
                outcome: RunOutcome::Rejected(rejection),
            },
        }
    }
}

/// A run as the engine keeps it until the block is assembled.
#[derive(Debug)]
pub(crate) struct Digest {
    pub(crate) outcome: RunOutcome,
    /// Its state changes (none for a rejected transaction).
    pub(crate) effects: TxEffects,
}

/// Whether the transaction entered the block.
#[derive(Debug)]
pub(crate) enum RunOutcome {
    /// Included: its gas, its receipt (cumulative gas not set yet) and the
    /// credit owed to the beneficiary.
    Included {
        gas_used: u64,
        receipt: Box<ReceiptEnvelope>,
        reward: u128,
    },
    /// Invalid against the state it saw.
    Rejected(TxRejection),
}

/// Runs `env` on `evm` without committing and without crediting the beneficiary.
pub(crate) fn run_deferred<DB: revm::Database<Error = StateError>>(
    evm: &mut EvmOn<DB>,
    env: revm::context::TxEnv,
) -> Result<DeferredRun, ExecError> {
    use revm::context::ContextSetters as _;
    evm.ctx.set_tx(env);
    let mut handler = DeferredFeeHandler::<
        EvmOn<DB>,
        EVMError<StateError, InvalidTransaction>,
        EthFrame<EthInterpreter>,
    >::default();
    let outcome = handler.run(evm);
    let state = evm.finalize();
    match outcome {
        Ok(result) => Ok(DeferredRun::Included {
            bloom: Box::new(logs_bloom(result.logs())),
            result,
            state,
            reward: handler.reward.get(),
        }),
        Err(EVMError::Transaction(invalid)) => Ok(DeferredRun::Rejected {
            rejection: rejection_of(&invalid),
            state,
        }),
        Err(EVMError::Database(e)) => Err(ExecError::State(e)),
        Err(other) => Err(ExecError::Evm(other.to_string())),
    }
}
