//! The sequential reference executor: the state transition function of a block.
//!
//! Transactions run in order on revm against a `StateReader`; an invalid
//! transaction is skipped (it changes nothing and has no receipt), which is the
//! same rule the challenger applies when it derives blocks from L1.

use crate::{
    chain::ChainConfig,
    error::{StateError, TxRejection},
    state::{RevmDb, StateChanges, StateReader, account_info},
};
use alloy_consensus::{
    Eip658Value, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction, TxEnvelope, TxType,
    transaction::Recovered,
};
use alloy_primitives::{Address, B256, Bloom, Bytes, Log, TxKind, U256, logs_bloom};
use revm::{
    Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, InvalidTransaction},
    },
    context_interface::{ContextTr, block::BlobExcessGasAndPrice},
    database::{AccountState as DbAccountState, CacheDB, DbAccount},
    state::EvmState,
};

/// The block-level inputs of execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInput {
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Beneficiary: receives priority fees.
    pub beneficiary: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// EIP-1559 base fee.
    pub base_fee: u64,
    /// PREVRANDAO value (also the header's mixHash).
    pub prevrandao: B256,
}

impl BlockInput {
    /// The revm block environment.
    pub fn block_env(&self) -> BlockEnv {
        BlockEnv {
            number: U256::from(self.number),
            beneficiary: self.beneficiary,
            timestamp: U256::from(self.timestamp),
            gas_limit: self.gas_limit,
            basefee: self.base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(self.prevrandao),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(
                0,
                ChainConfig::SPEC,
            )),
            ..Default::default()
        }
    }
}

/// A transaction that made it into the block, with its receipt.
#[derive(Clone, Debug)]
pub struct ExecutedTx {
    /// The signed transaction and its sender.
    pub tx: Recovered<TxEnvelope>,
    /// The consensus receipt (cumulative gas in block order, bloom).
    pub receipt: ReceiptEnvelope,
    /// Gas used by this transaction alone.
    pub gas_used: u64,
    /// Address of the contract it created.
    pub contract_address: Option<Address>,
}

/// What executing a block produced.
#[derive(Clone, Debug, Default)]
pub struct BlockOutcome {
    /// Included transactions in block order.
    pub executed: Vec<ExecutedTx>,
    /// Skipped transactions and why.
    pub rejected: Vec<(B256, TxRejection)>,
    /// The block's state changes.
    pub changes: StateChanges,
    /// Total gas used.
    pub gas_used: u64,
}

/// Execution failures that are not the transaction's fault.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The EVM failed for a reason outside the transaction.
    #[error("evm: {0}")]
    Evm(String),
}

/// Builds revm's transaction environment from a recovered signed transaction.
pub fn tx_env(tx: &Recovered<TxEnvelope>) -> TxEnv {
    let inner = tx.inner();
    let mut env = TxEnv {
        tx_type: inner.tx_type() as u8,
        caller: tx.signer(),
        gas_limit: inner.gas_limit(),
        gas_price: inner.max_fee_per_gas(),
        kind: inner.kind(),
        value: inner.value(),
        data: inner.input().clone(),
        nonce: inner.nonce(),
        chain_id: inner.chain_id(),
        access_list: inner.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: inner.max_priority_fee_per_gas(),
        blob_hashes: inner
            .blob_versioned_hashes()
            .map(|h| h.to_vec())
            .unwrap_or_default(),
        max_fee_per_blob_gas: inner.max_fee_per_blob_gas().unwrap_or_default(),
        ..Default::default()
    };
    if inner.tx_type() == TxType::Legacy {
        env.gas_price = inner.gas_price().unwrap_or_default();
        env.gas_priority_fee = None;
    }
    if let Some(list) = inner.authorization_list() {
        env.set_signed_authorization(list.to_vec());
    }
    env
}

/// The database every executor hands revm: a cache over a state reader.
pub type ExecDb<R> = CacheDB<RevmDb<R>>;

/// Creates an EVM with the chain's rules for a block over `state`.
pub fn build_evm<R: StateReader>(
    state: R,
    chain: &ChainConfig,
    block: &BlockInput,
    tune: impl FnOnce(&mut CfgEnv),
) -> revm::handler::MainnetEvm<revm::handler::MainnetContext<ExecDb<R>>> {
    build_evm_on(CacheDB::new(RevmDb(state)), chain, block, tune)
}

/// Creates an EVM with the chain's rules (mainnet's, with the chain's precompiles:
/// [`crate::precompiles`]) for a block over any revm database (a cache
/// for executors that commit, a plain reader for speculative runs).
pub fn build_evm_on<DB: revm::Database>(
    db: DB,
    chain: &ChainConfig,
    block: &BlockInput,
    tune: impl FnOnce(&mut CfgEnv),
) -> revm::handler::MainnetEvm<revm::handler::MainnetContext<DB>> {
    let mut cfg = CfgEnv::new_with_spec(ChainConfig::SPEC);
    cfg.chain_id = chain.chain_id;
    tune(&mut cfg);
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block.block_env())
        .build_mainnet();
    crate::precompiles::install(&mut evm);
    evm
}

/// Maps revm's validation error onto our rejection reasons.
pub fn rejection_of(err: &InvalidTransaction) -> TxRejection {
    match err {
        InvalidTransaction::NonceTooLow { tx, state } => TxRejection::NonceTooLow {
            expected: *state,
            got: *tx,
        },
        InvalidTransaction::NonceTooHigh { tx, state } => TxRejection::NonceTooHigh {
            expected: *state,
            got: *tx,
        },
        InvalidTransaction::LackOfFundForMaxFee { .. }
        | InvalidTransaction::OverflowPaymentInTransaction => TxRejection::InsufficientFunds,
        InvalidTransaction::GasPriceLessThanBasefee => TxRejection::FeeCapBelowBaseFee,
        InvalidTransaction::PriorityFeeGreaterThanMaxFee => TxRejection::TipAboveFeeCap,
        InvalidTransaction::CallGasCostMoreThanGasLimit { .. }
        | InvalidTransaction::GasFloorMoreThanGasLimit { .. } => TxRejection::IntrinsicGasTooLow,
        InvalidTransaction::CallerGasLimitMoreThanBlock
        | InvalidTransaction::TxGasLimitGreaterThanCap { .. } => TxRejection::GasLimitExceedsBlock,
        InvalidTransaction::InvalidChainId | InvalidTransaction::MissingChainId => {
            TxRejection::InvalidChainId
        }
        InvalidTransaction::RejectCallerWithCode => TxRejection::SenderNotEoa,
        InvalidTransaction::CreateInitCodeSizeLimit => TxRejection::InitCodeTooLarge,
        other => TxRejection::Other(other.to_string()),
    }
}

/// Outcome of running one transaction: either revm's result and state, or why it is invalid.
pub type TxRun = Result<(ExecutionResult, EvmState), TxRejection>;

/// Runs one transaction on an EVM without committing it.
pub fn run_tx<R: StateReader>(
    evm: &mut revm::handler::MainnetEvm<revm::handler::MainnetContext<ExecDb<R>>>,
    env: TxEnv,
) -> Result<TxRun, ExecError> {
    match evm.transact(env) {
        Ok(out) => Ok(Ok((out.result, out.state))),
        Err(EVMError::Transaction(invalid)) => Ok(Err(rejection_of(&invalid))),
        Err(EVMError::Database(e)) => Err(ExecError::State(e)),
        Err(EVMError::Header(h)) => Err(ExecError::Evm(h.to_string())),
        Err(other) => Err(ExecError::Evm(other.to_string())),
    }
}

/// Builds the receipt of an included transaction whose logs bloom is known
/// (executors compute it where the transaction ran, off the critical path).
pub fn receipt_with_bloom(
    tx_type: TxType,
    result: &ExecutionResult,
    cumulative_gas_used: u64,
    logs_bloom: Bloom,
) -> ReceiptEnvelope {
    receipt_of(
        tx_type,
        result.is_success(),
        result.logs().to_vec(),
        cumulative_gas_used,
        logs_bloom,
    )
}

/// [`receipt_with_bloom`] taking revm's result by value (its logs move into
/// the receipt instead of being copied).
pub fn receipt_from_result(
    tx_type: TxType,
    result: ExecutionResult,
    cumulative_gas_used: u64,
    logs_bloom: Bloom,
) -> ReceiptEnvelope {
    let success = result.is_success();
    receipt_of(
        tx_type,
        success,
        result.into_logs(),
        cumulative_gas_used,
        logs_bloom,
    )
}

fn receipt_of(
    tx_type: TxType,
    success: bool,
    logs: Vec<Log>,
    cumulative_gas_used: u64,
    logs_bloom: Bloom,
) -> ReceiptEnvelope {
    let receipt = Receipt {
        status: Eip658Value::Eip658(success),
        cumulative_gas_used,
        logs,
    };
    let with_bloom = ReceiptWithBloom::new(receipt, logs_bloom);
    match tx_type {
        TxType::Legacy => ReceiptEnvelope::Legacy(with_bloom),
        TxType::Eip2930 => ReceiptEnvelope::Eip2930(with_bloom),
        TxType::Eip1559 => ReceiptEnvelope::Eip1559(with_bloom),
        TxType::Eip4844 => ReceiptEnvelope::Eip4844(with_bloom),
        TxType::Eip7702 => ReceiptEnvelope::Eip7702(with_bloom),
    }
}

impl BlockOutcome {
    /// Why `tx` cannot enter the block before it runs: blob transactions, and
    /// gas limits that no longer fit in what is left of the block.
    pub fn precheck(&self, tx: &Recovered<TxEnvelope>, block: &BlockInput) -> Option<TxRejection> {
        if tx.inner().is_eip4844() {
            return Some(TxRejection::BlobsUnsupported);
        }
        if self.gas_used + tx.inner().gas_limit() > block.gas_limit {
            return Some(TxRejection::BlockGasExhausted);
        }
        None
    }

    /// Records a skipped transaction.
    pub fn reject(&mut self, tx: &Recovered<TxEnvelope>, rejection: TxRejection) {
        self.rejected.push((*tx.inner().tx_hash(), rejection));
    }

    /// Appends an included transaction: folds its state into the block's
    /// changes and builds its receipt with the block's cumulative gas.
    pub fn include(
        &mut self,
        tx: Recovered<TxEnvelope>,
        result: &ExecutionResult,
        evm_state: &EvmState,
    ) {
        let bloom = logs_bloom(result.logs());
        self.include_with_bloom(tx, result, evm_state, bloom);
    }

    /// [`BlockOutcome::include`] with the logs bloom of `result` computed already.
    pub fn include_with_bloom(
        &mut self,
        tx: Recovered<TxEnvelope>,
        result: &ExecutionResult,
        evm_state: &EvmState,
        bloom: Bloom,
    ) {
        self.changes.apply_evm_state(evm_state);
        self.gas_used += result.tx_gas_used();
        self.executed
            .push(ExecutedTx::new(tx, result, self.gas_used, bloom));
    }
}

impl ExecutedTx {
    /// An included transaction's record: its receipt carries the block's gas
    /// used up to and including it.
    pub fn new(
        tx: Recovered<TxEnvelope>,
        result: &ExecutionResult,
        cumulative_gas_used: u64,
        bloom: Bloom,
    ) -> Self {
        let receipt = receipt_with_bloom(tx.inner().tx_type(), result, cumulative_gas_used, bloom);
        Self::with_receipt(tx, receipt, result.tx_gas_used())
    }

    /// An included transaction's record from its receipt.
    pub fn with_receipt(
        tx: Recovered<TxEnvelope>,
        receipt: ReceiptEnvelope,
        gas_used: u64,
    ) -> Self {
        let contract_address = match tx.inner().kind() {
            TxKind::Create => Some(tx.signer().create(tx.inner().nonce())),
            TxKind::Call(_) => None,
        };
        Self {
            tx,
            receipt,
            gas_used,
            contract_address,
        }
    }
}

/// Executes a block's transactions in order: the reference semantics.
///
/// A transaction that is invalid against the state left by its predecessors
/// (or that does not fit in the remaining block gas) is skipped.
pub fn execute_block<R: StateReader>(
    state: R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
) -> Result<BlockOutcome, ExecError> {
    let mut evm = build_evm(state, chain, block, |_| {});
    run_block(&mut evm, block, txs, BlockOutcome::default())
}

/// Continues a block whose first transactions ran already: `prefix` is exactly what sequential
/// execution of them produced (the parallel engine's committed prefix when it hands the rest of
/// a block to this executor), `txs` the block's other transactions. Runs them on `state` with
/// the prefix's changes put in the executor's cache first (as if the prefix had run on it: no
/// layer between the EVM and `state`), and returns the whole block's outcome, equal to
/// [`execute_block`] of all the transactions.
pub fn execute_block_after<R: StateReader>(
    state: R,
    chain: &ChainConfig,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    prefix: BlockOutcome,
) -> Result<BlockOutcome, ExecError> {
    let mut evm = build_evm(state, chain, block, |_| {});
    seed(evm.ctx.db_mut(), &prefix.changes)?;
    // The rest's transactions fold into the prefix's changes one by one, as they would have
    // in one sequential run.
    run_block(&mut evm, block, txs, prefix)
}

/// Puts `changes` into an executor's cache, as the transactions that made them would have left
/// it: each changed account's fields (a deleted one absent, a wiped one's other slots zero),
/// the written slots and the new code.
fn seed<R: StateReader>(db: &mut ExecDb<R>, changes: &StateChanges) -> Result<(), ExecError> {
    for (hash, code) in &changes.codes {
        db.cache
            .contracts
            .insert(*hash, Bytecode::new_raw(code.clone()));
    }
    for (address, account) in &changes.accounts {
        let entry = match account {
            None => DbAccount::new_not_existing(),
            Some(account) => DbAccount {
                info: account_info(*account, None),
                account_state: if changes.destroyed.contains(address) {
                    DbAccountState::StorageCleared
                } else {
                    DbAccountState::None
                },
                ..Default::default()
            },
        };
        db.cache.accounts.insert(*address, entry);
    }
    for address in &changes.destroyed {
        if !changes.accounts.contains_key(address) {
            db.replace_account_storage(*address, Default::default())?;
        }
    }
    for (address, slots) in &changes.storage {
        for (slot, value) in slots {
            db.insert_account_storage(*address, *slot, *value)?;
        }
    }
    Ok(())
}

/// Runs `txs` in order on `evm`, appending to `outcome` (whose gas used counts against the
/// block's limit and whose changes `evm`'s state holds already).
fn run_block<R: StateReader>(
    evm: &mut revm::handler::MainnetEvm<revm::handler::MainnetContext<ExecDb<R>>>,
    block: &BlockInput,
    txs: Vec<Recovered<TxEnvelope>>,
    mut outcome: BlockOutcome,
) -> Result<BlockOutcome, ExecError> {
    for tx in txs {
        if let Some(rejection) = outcome.precheck(&tx, block) {
            outcome.reject(&tx, rejection);
            continue;
        }
        match run_tx(evm, tx_env(&tx))? {
            Err(rejection) => outcome.reject(&tx, rejection),
            Ok((result, evm_state)) => {
                outcome.include(tx, &result, &evm_state);
                evm.ctx.db_mut().commit(evm_state);
            }
        }
    }
    Ok(outcome)
}

/// The logs of a receipt.
pub fn receipt_logs(receipt: &ReceiptEnvelope) -> &[Log] {
    receipt.logs()
}

/// Revert data of a failed call, if any.
pub fn revert_output(result: &ExecutionResult) -> Option<Bytes> {
    match result {
        ExecutionResult::Revert { output, .. } => Some(output.clone()),
        _ => None,
    }
}
