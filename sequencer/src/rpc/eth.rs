//! The eth_, net_ and web3_ methods: parameter parsing at the edge, then the
//! node, the store and the core executor.

use super::{
    RpcContext, WsConn, convert,
    error::{RpcError, RpcResult},
    filters::{self, Changes},
};
use crate::store::StoredTx;
use alloy_consensus::{Header, Transaction as _};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    AccessList, AccessListItem, BlockId, BlockNumberOrTag, EIP1186AccountProofResponse,
    EIP1186StorageProof, FeeHistory, Filter, FilterBlockOption, Log, TransactionRequest,
    state::StateOverride,
};
use revm::context_interface::result::EVMError;
use revm::{context::TxEnv, context_interface::result::ExecutionResult, primitives::KECCAK_EMPTY};
use rollup_core::{
    error::StateError,
    executor::{BlockInput, build_evm, rejection_of},
    state::{AccountState, Overlay, StateReader, WorldState},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

fn param<T: DeserializeOwned>(params: &[Value], i: usize) -> RpcResult<T> {
    let v = params.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| RpcError::invalid_params(format!("argument {i}: {e}")))
}

fn opt_param<T: DeserializeOwned>(params: &[Value], i: usize) -> RpcResult<Option<T>> {
    match params.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| RpcError::invalid_params(format!("argument {i}: {e}"))),
    }
}

fn to_json<T: serde::Serialize>(v: T) -> RpcResult {
    serde_json::to_value(v).map_err(RpcError::internal)
}

/// Routes a method to its handler.
pub async fn dispatch(
    ctx: &Arc<RpcContext>,
    method: &str,
    p: Vec<Value>,
    conn: Option<&Arc<WsConn>>,
) -> RpcResult {
    let node = &ctx.node;
    match method {
        "eth_chainId" => to_json(U64::from(node.chain.chain_id)),
        "net_version" => Ok(json!(node.chain.chain_id.to_string())),
        "net_listening" => Ok(json!(true)),
        "net_peerCount" => Ok(json!("0x0")),
        "web3_clientVersion" => Ok(json!(format!(
            "rollup-sequencer/v{}",
            env!("CARGO_PKG_VERSION")
        ))),
        "web3_sha3" => {
            let data: Bytes = param(&p, 0)?;
            to_json(alloy_primitives::keccak256(&data))
        }
        "eth_blockNumber" => to_json(U64::from(node.head_number())),
        "eth_syncing" => Ok(json!(false)),
        "eth_accounts" => Ok(json!([])),
        "eth_mining" => Ok(json!(false)),
        "eth_hashrate" => Ok(json!("0x0")),
        "eth_gasPrice" => to_json(U256::from(node.next_base_fee() as u128 + PRIORITY_FEE)),
        "eth_maxPriorityFeePerGas" => to_json(U256::from(PRIORITY_FEE)),
        "eth_blobBaseFee" => to_json(U256::from(1)),
        "eth_feeHistory" => fee_history(ctx, &p).await,
        "eth_getBlockByNumber" => {
            let tag: BlockNumberOrTag = param(&p, 0)?;
            let full: bool = opt_param(&p, 1)?.unwrap_or(false);
            block_by_number(ctx, tag, full).await
        }
        "eth_getBlockByHash" => {
            let hash: B256 = param(&p, 0)?;
            let full: bool = opt_param(&p, 1)?.unwrap_or(false);
            match node.store.header_by_hash(hash).await? {
                Some((h, hash)) => block_json(ctx, &h, hash, full).await,
                None => Ok(Value::Null),
            }
        }
        "eth_getBlockTransactionCountByNumber" => {
            let tag: BlockNumberOrTag = param(&p, 0)?;
            match resolve_tag(ctx, tag)? {
                Some(n) => to_json(U64::from(node.store.block_txs(n).await?.len())),
                None => Ok(Value::Null),
            }
        }
        "eth_getBlockTransactionCountByHash" => {
            let hash: B256 = param(&p, 0)?;
            match node.store.header_by_hash(hash).await? {
                Some((h, _)) => to_json(U64::from(node.store.block_txs(h.number).await?.len())),
                None => Ok(Value::Null),
            }
        }
        "eth_getUncleCountByBlockNumber" | "eth_getUncleCountByBlockHash" => Ok(json!("0x0")),
        "eth_getBlockReceipts" => {
            let id: BlockId = param(&p, 0)?;
            let Some(n) = resolve_block(ctx, id).await? else {
                return Ok(Value::Null);
            };
            let Some((h, hash)) = node.store.header_by_number(n).await? else {
                return Ok(Value::Null);
            };
            let txs = node.store.block_txs(n).await?;
            to_json(convert::rpc_receipts(&h, hash, &txs))
        }
        "eth_getBalance" | "eth_getTransactionCount" | "eth_getCode" => {
            let address: Address = param(&p, 0)?;
            let id: BlockId = opt_param(&p, 1)?.unwrap_or_default();
            if method == "eth_getTransactionCount"
                && id == BlockId::Number(BlockNumberOrTag::Pending)
            {
                return to_json(U64::from(node.pending_nonce(address)?));
            }
            let account = account_at(ctx, address, id).await?;
            match method {
                "eth_getBalance" => to_json(account.map(|a| a.balance).unwrap_or_default()),
                "eth_getTransactionCount" => {
                    to_json(U64::from(account.map(|a| a.nonce).unwrap_or_default()))
                }
                _ => {
                    let code = match account {
                        Some(a) if a.code_hash != KECCAK_EMPTY => {
                            node.store.code(a.code_hash).await?.unwrap_or_default()
                        }
                        _ => Bytes::new(),
                    };
                    to_json(code)
                }
            }
        }
        "eth_getStorageAt" => {
            let address: Address = param(&p, 0)?;
            let slot: U256 = param(&p, 1)?;
            let id: BlockId = opt_param(&p, 2)?.unwrap_or_default();
            let n = resolve_block(ctx, id).await?.ok_or_else(header_not_found)?;
            let value = if n == node.head_number() {
                node.with_head(|h| h.state.storage(address, slot))?
            } else {
                node.store.storage_at(address, slot, n).await?
            };
            to_json(B256::from(value))
        }
        "eth_call" => {
            let req: TransactionRequest = param(&p, 0)?;
            let id: BlockId = opt_param(&p, 1)?.unwrap_or_default();
            let overrides: Option<StateOverride> = opt_param(&p, 2)?;
            let (result, _) = simulate(ctx, req, id, overrides, None, call_deadline(ctx)).await?;
            match result {
                ExecutionResult::Success { output, .. } => to_json(output.into_data()),
                ExecutionResult::Revert { output, .. } => Err(RpcError::reverted(&output)),
                ExecutionResult::Halt { reason, .. } => {
                    Err(RpcError::server(halt_message(&reason)))
                }
            }
        }
        "eth_estimateGas" => {
            let req: TransactionRequest = param(&p, 0)?;
            let id: BlockId = opt_param(&p, 1)?.unwrap_or_default();
            let overrides: Option<StateOverride> = opt_param(&p, 2)?;
            to_json(U64::from(estimate_gas(ctx, req, id, overrides).await?))
        }
        "eth_createAccessList" => {
            let req: TransactionRequest = param(&p, 0)?;
            let id: BlockId = opt_param(&p, 1)?.unwrap_or_default();
            create_access_list(ctx, req, id).await
        }
        "eth_sendRawTransaction" => {
            let raw: Bytes = param(&p, 0)?;
            to_json(node.submit_raw(raw).await?)
        }
        "eth_sendRawTransactionSync" => {
            let raw: Bytes = param(&p, 0)?;
            let timeout_ms: Option<U64> = opt_param(&p, 1)?;
            let timeout = Duration::from_millis(
                timeout_ms
                    .map(|t| t.to::<u64>())
                    .unwrap_or(10_000)
                    .min(60_000),
            );
            let mut events = node.subscribe();
            let hash = node.submit_raw(raw).await?;
            let deadline = tokio::time::Instant::now() + timeout;
            loop {
                if let Some(r) = receipt_json(ctx, hash).await? {
                    return Ok(r);
                }
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) => {
                        return Err(RpcError {
                            code: 4,
                            message: "The transaction was added to the mempool but wasn't processed within the designated timeout".into(),
                            data: Some(json!(hash)),
                        });
                    }
                    Ok(_) => continue,
                }
            }
        }
        "debug_getRawHeader" => {
            let id: BlockId = param(&p, 0)?;
            let Some(n) = resolve_block(ctx, id).await? else {
                return Ok(Value::Null);
            };
            match node.store.header_by_number(n).await? {
                Some((h, _)) => to_json(Bytes::from(alloy_rlp::encode(&h))),
                None => Ok(Value::Null),
            }
        }
        "debug_getRawBlock" => {
            let id: BlockId = param(&p, 0)?;
            let Some(n) = resolve_block(ctx, id).await? else {
                return Ok(Value::Null);
            };
            let Some((header, _)) = node.store.header_by_number(n).await? else {
                return Ok(Value::Null);
            };
            let transactions = node
                .store
                .block_txs(n)
                .await?
                .into_iter()
                .map(|t| t.tx.into_inner())
                .collect();
            let block = alloy_consensus::Block {
                header,
                body: alloy_consensus::BlockBody {
                    transactions,
                    ommers: vec![],
                    withdrawals: Some(Default::default()),
                },
            };
            to_json(Bytes::from(alloy_rlp::encode(&block)))
        }
        "debug_getRawTransaction" => {
            let hash: B256 = param(&p, 0)?;
            let raw = match node.store.tx_by_hash(hash).await? {
                Some(tx) => Some(tx.tx.inner().encoded_2718()),
                None => node.pooled(&hash).map(|t| t.tx.inner().encoded_2718()),
            };
            to_json(raw.map(Bytes::from))
        }
        "eth_getTransactionByHash" => {
            let hash: B256 = param(&p, 0)?;
            if let Some(tx) = node.store.tx_by_hash(hash).await? {
                let (h, bh) = node
                    .store
                    .header_by_number(tx.block_number)
                    .await?
                    .ok_or_else(header_not_found)?;
                return to_json(convert::rpc_tx(&tx, bh, &h));
            }
            match node.pooled(&hash) {
                Some(pooled) => to_json(alloy_rpc_types_eth::Transaction {
                    inner: pooled.tx.clone(),
                    block_hash: None,
                    block_number: None,
                    transaction_index: None,
                    effective_gas_price: None,
                    block_timestamp: None,
                }),
                None => Ok(Value::Null),
            }
        }
        "eth_getTransactionByBlockNumberAndIndex" | "eth_getTransactionByBlockHashAndIndex" => {
            let n = if method.contains("Hash") {
                let hash: B256 = param(&p, 0)?;
                node.store
                    .header_by_hash(hash)
                    .await?
                    .map(|(h, _)| h.number)
            } else {
                resolve_tag(ctx, param(&p, 0)?)?
            };
            let index: U64 = param(&p, 1)?;
            let Some(n) = n else { return Ok(Value::Null) };
            let Some((h, bh)) = node.store.header_by_number(n).await? else {
                return Ok(Value::Null);
            };
            let txs = node.store.block_txs(n).await?;
            match txs.get(index.to::<usize>()) {
                Some(tx) => to_json(convert::rpc_tx(tx, bh, &h)),
                None => Ok(Value::Null),
            }
        }
        "eth_getTransactionReceipt" => {
            let hash: B256 = param(&p, 0)?;
            Ok(receipt_json(ctx, hash).await?.unwrap_or(Value::Null))
        }
        "eth_getLogs" => {
            let filter: Filter = param(&p, 0)?;
            to_json(get_logs(ctx, &filter).await?)
        }
        "eth_newFilter" => {
            let filter: Filter = param(&p, 0)?;
            to_json(ctx.filters.new_log_filter(filter))
        }
        "eth_newBlockFilter" => to_json(ctx.filters.new_block_filter()),
        "eth_newPendingTransactionFilter" => to_json(ctx.filters.new_pending_filter()),
        "eth_uninstallFilter" => Ok(json!(ctx.filters.uninstall(param(&p, 0)?))),
        "eth_getFilterChanges" => match ctx.filters.changes(param(&p, 0)?)? {
            Changes::Hashes(h) => to_json(h),
            Changes::Logs(filter, from, to) => {
                if from > to {
                    return Ok(json!([]));
                }
                let filter = (*filter).from_block(from).to_block(to);
                to_json(get_logs(ctx, &filter).await?)
            }
        },
        "eth_getFilterLogs" => {
            let filter = ctx.filters.log_filter(param(&p, 0)?)?;
            to_json(get_logs(ctx, &filter).await?)
        }
        "eth_subscribe" => match conn {
            Some(conn) => filters::subscribe(node, conn, p),
            None => Err(RpcError::new(
                -32001,
                "notifications not supported over HTTP; use a WebSocket",
            )),
        },
        "eth_unsubscribe" => match conn {
            Some(conn) => {
                let id: String = param(&p, 0)?;
                match conn.subs.lock().remove(&id) {
                    Some(task) => {
                        task.abort();
                        Ok(json!(true))
                    }
                    None => Ok(json!(false)),
                }
            }
            None => Err(RpcError::new(
                -32001,
                "notifications not supported over HTTP; use a WebSocket",
            )),
        },
        "eth_getProof" => {
            let address: Address = param(&p, 0)?;
            let slots: Vec<B256> = param(&p, 1)?;
            let id: BlockId = opt_param(&p, 2)?.unwrap_or_default();
            get_proof(ctx, address, slots, id).await
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

/// The priority fee we suggest (1 gwei, as Anvil and geth's default oracle floor).
const PRIORITY_FEE: u128 = 1_000_000_000;

fn header_not_found() -> RpcError {
    RpcError::server("header not found")
}

fn resolve_tag(ctx: &RpcContext, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
    let head = ctx.node.head_number();
    Ok(match tag {
        BlockNumberOrTag::Latest
        | BlockNumberOrTag::Pending
        | BlockNumberOrTag::Safe
        | BlockNumberOrTag::Finalized => Some(head),
        BlockNumberOrTag::Earliest => Some(0),
        BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
    })
}

async fn resolve_block(ctx: &RpcContext, id: BlockId) -> RpcResult<Option<u64>> {
    match id {
        BlockId::Number(tag) => resolve_tag(ctx, tag),
        BlockId::Hash(h) => Ok(ctx
            .node
            .store
            .header_by_hash(h.block_hash)
            .await?
            .map(|(h, _)| h.number)),
    }
}

async fn block_by_number(ctx: &RpcContext, tag: BlockNumberOrTag, full: bool) -> RpcResult {
    let Some(n) = resolve_tag(ctx, tag)? else {
        return Ok(Value::Null);
    };
    match ctx.node.store.header_by_number(n).await? {
        Some((h, hash)) => block_json(ctx, &h, hash, full).await,
        None => Ok(Value::Null),
    }
}

async fn block_json(ctx: &RpcContext, header: &Header, hash: B256, full: bool) -> RpcResult {
    let txs = ctx.node.store.block_txs(header.number).await?;
    to_json(convert::rpc_block(header, hash, &txs, full))
}

async fn receipt_json(ctx: &RpcContext, hash: B256) -> RpcResult<Option<Value>> {
    let Some(tx) = ctx.node.store.tx_by_hash(hash).await? else {
        return Ok(None);
    };
    let (h, bh) = ctx
        .node
        .store
        .header_by_number(tx.block_number)
        .await?
        .ok_or_else(header_not_found)?;
    let first_log_index = if tx.receipt.logs().is_empty() {
        0
    } else {
        let txs = ctx.node.store.block_txs(tx.block_number).await?;
        txs.iter()
            .take(tx.index as usize)
            .map(|t| t.receipt.logs().len() as u64)
            .sum()
    };
    Ok(Some(to_json(convert::rpc_receipt(
        &tx,
        bh,
        &h,
        first_log_index,
    ))?))
}

async fn account_at(
    ctx: &RpcContext,
    address: Address,
    id: BlockId,
) -> RpcResult<Option<AccountState>> {
    let n = resolve_block(ctx, id).await?.ok_or_else(header_not_found)?;
    if n == ctx.node.head_number()
        && let Some(found) = ctx
            .node
            .with_head(|h| (h.header.number == n).then(|| h.state.account(address)))
    {
        return Ok(found?);
    }
    Ok(ctx.node.store.account_at(address, n).await?)
}

async fn get_logs(ctx: &RpcContext, filter: &Filter) -> RpcResult<Vec<Log>> {
    let head = ctx.node.head_number();
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => match ctx.node.store.header_by_hash(hash).await? {
            Some((h, _)) => (h.number, h.number),
            None => return Err(RpcError::server("unknown block")),
        },
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let resolve = |t: Option<BlockNumberOrTag>| match t {
                None => head,
                Some(BlockNumberOrTag::Earliest) => 0,
                Some(BlockNumberOrTag::Number(n)) => n,
                Some(_) => head,
            };
            (resolve(from_block), resolve(to_block))
        }
    };
    // The range asked for counts, not only its part below the head: a query over
    // 100,000 blocks is refused even on a young chain.
    if to >= from && to - from >= ctx.config.max_logs_range {
        return Err(RpcError::server(format!(
            "query exceeds max block range {}",
            ctx.config.max_logs_range
        )));
    }
    if from > to.min(head) {
        if from > head {
            return Ok(vec![]);
        }
        return Err(RpcError::invalid_params(
            "invalid block range params: fromBlock is after toBlock",
        ));
    }
    let to = to.min(head);
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + 1023).min(to);
        for (h, hash) in ctx.node.store.headers_in_range(start, end).await? {
            if !filter.matches_bloom(h.logs_bloom) {
                continue;
            }
            let txs: Vec<StoredTx> = ctx.node.store.block_txs(h.number).await?;
            let mut index = 0u64;
            for tx in &txs {
                let logs = convert::rpc_logs(tx, hash, &h, index);
                index += logs.len() as u64;
                out.extend(logs.into_iter().filter(|l| filter.rpc_matches(l)));
            }
        }
        start = end + 1;
    }
    Ok(out)
}

/// State an eth_call runs against: the head in memory or a block from the store.
async fn state_for(ctx: &RpcContext, n: u64) -> RpcResult<Option<WorldState>> {
    if n == ctx.node.head_number() {
        return Ok(None);
    }
    Ok(Some(ctx.node.store.load_state(n).await?))
}

fn call_env(
    ctx: &RpcContext,
    req: &TransactionRequest,
    block: &BlockInput,
    gas: Option<u64>,
) -> RpcResult<TxEnv> {
    let cap = ctx
        .config
        .gas_cap
        .min(block.gas_limit.max(ctx.config.gas_cap));
    let gas_limit = gas.or(req.gas).unwrap_or(cap).min(cap);
    let gas_price = req.gas_price.or(req.max_fee_per_gas).unwrap_or(0);
    let mut env = TxEnv {
        caller: req.from.unwrap_or_default(),
        gas_limit,
        gas_price,
        kind: req.to.unwrap_or(alloy_primitives::TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.input().cloned().unwrap_or_default(),
        nonce: req.nonce.unwrap_or_default(),
        chain_id: Some(ctx.node.chain.chain_id),
        access_list: req.access_list.clone().unwrap_or_default(),
        gas_priority_fee: req.max_priority_fee_per_gas,
        tx_type: if req.max_fee_per_gas.is_some() || req.gas_price.is_none() {
            2
        } else {
            0
        },
        ..Default::default()
    };
    if env.gas_priority_fee.is_some_and(|tip| tip > env.gas_price) {
        return Err(RpcError::server(
            "max priority fee per gas higher than max fee per gas",
        ));
    }
    if let Some(list) = &req.authorization_list {
        env.set_signed_authorization(list.clone());
        env.tx_type = 4;
    }
    if env.tx_type == 2 && env.gas_priority_fee.is_none() {
        env.gas_priority_fee = Some(0);
    }
    Ok(env)
}

fn apply_overrides<R: StateReader>(
    overlay: &mut Overlay<R>,
    overrides: &StateOverride,
) -> RpcResult<()> {
    for (address, o) in overrides {
        let mut account = overlay
            .account(*address)?
            .unwrap_or(AccountState::with_balance(U256::ZERO));
        if let Some(b) = o.balance {
            account.balance = b;
        }
        if let Some(n) = o.nonce {
            account.nonce = n;
        }
        if let Some(code) = &o.code {
            let hash = alloy_primitives::keccak256(code);
            overlay.changes.codes.insert(hash, code.clone());
            account.code_hash = if code.is_empty() { KECCAK_EMPTY } else { hash };
        }
        if let Some(state) = &o.state {
            overlay.changes.destroyed.insert(*address);
            overlay.changes.storage.insert(
                *address,
                state
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            );
        }
        if let Some(diff) = &o.state_diff {
            let slots = overlay.changes.storage.entry(*address).or_default();
            for (k, v) in diff {
                slots.insert((*k).into(), (*v).into());
            }
        }
        overlay.changes.accounts.insert(*address, Some(account));
    }
    Ok(())
}

/// Why the head-state run of a simulation gave up: the head moved under it, so
/// its reads might mix two blocks; the caller reruns on the stored state.
struct HeadMoved;

/// The head's state read through the head lock one access at a time, so that a long
/// eth_call never holds the lock (which the builder needs to expose each block).
/// Every read checks the head is still block `number`: a run that straddles a new
/// block fails with [`HEAD_MOVED`] instead of mixing two states.
struct HeadReader<'a> {
    node: &'a crate::node::Node,
    number: u64,
}

const HEAD_MOVED: &str = "head moved during the call";

impl HeadReader<'_> {
    fn read<T>(
        &self,
        f: impl FnOnce(&WorldState) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        self.node.with_head(|h| {
            if h.header.number == self.number {
                f(&h.state)
            } else {
                Err(StateError::Backend(HEAD_MOVED.into()))
            }
        })
    }
}

impl StateReader for HeadReader<'_> {
    fn account(&self, address: Address) -> Result<Option<AccountState>, StateError> {
        self.read(|s| s.account(address))
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        self.read(|s| s.storage(address, slot))
    }
    fn code(&self, code_hash: B256) -> Result<Option<revm::bytecode::Bytecode>, StateError> {
        self.read(|s| s.code(code_hash))
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.read(|s| s.block_hash(number))
    }
}

/// Halts every frame once the wall-clock deadline has passed (geth's
/// --rpc.evmtimeout): checked every [`Deadline::EVERY`] instructions.
struct Deadline {
    at: Instant,
    steps: u32,
    expired: bool,
}

impl Deadline {
    const EVERY: u32 = 4096;
}

impl<CTX, INTR: revm::interpreter::InterpreterTypes> revm::Inspector<CTX, INTR> for Deadline {
    fn step(&mut self, interp: &mut revm::interpreter::Interpreter<INTR>, _: &mut CTX) {
        if !self.expired {
            self.steps += 1;
            if self.steps < Self::EVERY {
                return;
            }
            self.steps = 0;
            if Instant::now() < self.at {
                return;
            }
            self.expired = true;
        }
        interp.halt(revm::interpreter::InstructionResult::OutOfGas);
    }
}

/// The error of a call stopped by the RPC's EVM timeout, in geth's words.
fn timeout_error(ctx: &RpcContext) -> RpcError {
    RpcError::server(format!(
        "execution aborted (timeout = {})",
        fmt_duration(ctx.config.evm_timeout)
    ))
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// When a simulation started now must stop (`None`: the timeout is off).
fn call_deadline(ctx: &RpcContext) -> Option<Instant> {
    (!ctx.config.evm_timeout.is_zero()).then(|| Instant::now() + ctx.config.evm_timeout)
}

type SimOutcome = (ExecutionResult, revm::state::EvmState);

/// Runs `env` over `state` with `overrides`, stopping at `deadline`.
fn run_simulation(
    timeout: RpcError,
    state: &dyn StateReader,
    overrides: Option<&StateOverride>,
    chain: &rollup_core::chain::ChainConfig,
    block: &BlockInput,
    env: TxEnv,
    deadline: Option<Instant>,
) -> Result<RpcResult<SimOutcome>, HeadMoved> {
    use revm::InspectEvm;
    let mut overlay = Overlay::new(state);
    if let Some(o) = overrides
        && let Err(e) = apply_overrides(&mut overlay, o)
    {
        return Ok(Err(e));
    }
    let no_fee = env.gas_price == 0;
    let evm = build_evm(&overlay, chain, block, |cfg| {
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = no_fee;
        cfg.disable_block_gas_limit = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
    });
    let mut evm = evm.with_inspector(Deadline {
        // Far enough to never fire when there is no deadline.
        at: deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365)),
        steps: 0,
        expired: false,
    });
    let outcome = evm.inspect_tx(env);
    if evm.inspector.expired {
        return Ok(Err(timeout));
    }
    Ok(match outcome {
        Ok(out) => Ok((out.result, out.state)),
        Err(EVMError::Transaction(invalid)) => {
            Err(RpcError::server(rejection_of(&invalid).to_string()))
        }
        Err(EVMError::Database(StateError::Backend(m))) if m == HEAD_MOVED => {
            return Err(HeadMoved);
        }
        Err(EVMError::Database(e)) => Err(RpcError::internal(e)),
        Err(other) => Err(RpcError::internal(format!("evm: {other}"))),
    })
}

async fn simulate(
    ctx: &RpcContext,
    req: TransactionRequest,
    id: BlockId,
    overrides: Option<StateOverride>,
    gas: Option<u64>,
    deadline: Option<Instant>,
) -> RpcResult<SimOutcome> {
    let pending = id == BlockId::Number(BlockNumberOrTag::Pending);
    let n = resolve_block(ctx, id).await?.ok_or_else(header_not_found)?;
    let block = block_input_at(ctx, n, pending).await?;
    let env = call_env(ctx, &req, &block, gas)?;
    let timeout = timeout_error(ctx);
    let chain = ctx.node.chain.clone();
    let overrides = overrides.map(Arc::new);
    let historical = state_for(ctx, n).await?;
    if historical.is_none() {
        // At the head: read it in place, without holding its lock for the whole run.
        let node = ctx.node.clone();
        let (chain, block, env, timeout, o) = (
            chain.clone(),
            block.clone(),
            env.clone(),
            timeout.clone(),
            overrides.clone(),
        );
        let run = move || {
            let state = HeadReader {
                node: &node,
                number: n,
            };
            run_simulation(timeout, &state, o.as_deref(), &chain, &block, env, deadline)
        };
        if let Ok(result) = tokio::task::spawn_blocking(run)
            .await
            .map_err(RpcError::internal)?
        {
            return result;
        }
    }
    // A past block, or the head moved during the run: the state of block n from the store.
    let state = match historical {
        Some(state) => state,
        None => ctx.node.store.load_state(n).await?,
    };
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(timeout);
    }
    let run = move || {
        run_simulation(
            timeout,
            &state,
            overrides.as_deref(),
            &chain,
            &block,
            env,
            deadline,
        )
        .unwrap_or_else(|HeadMoved| Err(RpcError::internal(HEAD_MOVED)))
    };
    tokio::task::spawn_blocking(run)
        .await
        .map_err(RpcError::internal)?
}

async fn block_input_at(ctx: &RpcContext, n: u64, pending: bool) -> RpcResult<BlockInput> {
    if pending {
        return Ok(ctx.node.pending_block_input());
    }
    let (h, _) = ctx
        .node
        .store
        .header_by_number(n)
        .await?
        .ok_or_else(header_not_found)?;
    Ok(BlockInput {
        number: h.number,
        timestamp: h.timestamp,
        beneficiary: h.beneficiary,
        gas_limit: h.gas_limit,
        base_fee: h.base_fee_per_gas.unwrap_or_default(),
        prevrandao: h.mix_hash,
    })
}

fn halt_message(reason: &revm::context_interface::result::HaltReason) -> String {
    use revm::context_interface::result::{HaltReason, OutOfGasError};
    match reason {
        HaltReason::OutOfGas(OutOfGasError::Basic) | HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::InvalidFEOpcode | HaltReason::OpcodeNotFound => "invalid opcode".into(),
        HaltReason::InvalidJump => "invalid jump destination".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        HaltReason::StackOverflow => "stack limit reached 1024".into(),
        HaltReason::CallTooDeep => "max call depth exceeded".into(),
        HaltReason::OutOfFunds => "insufficient balance for transfer".into(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".into(),
        HaltReason::CreateCollision => "contract address collision".into(),
        HaltReason::StateChangeDuringStaticCall => "write protection".into(),
        other => format!("execution halted: {other:?}"),
    }
}

async fn estimate_gas(
    ctx: &RpcContext,
    req: TransactionRequest,
    id: BlockId,
    overrides: Option<StateOverride>,
) -> RpcResult<u64> {
    let cap = req.gas.unwrap_or(ctx.config.gas_cap);
    // One deadline for the whole search, as a client sees one request.
    let deadline = call_deadline(ctx);
    let (result, _) =
        simulate(ctx, req.clone(), id, overrides.clone(), Some(cap), deadline).await?;
    let used = match &result {
        ExecutionResult::Success { .. } => result.tx_gas_used(),
        ExecutionResult::Revert { output, .. } => return Err(RpcError::reverted(output)),
        ExecutionResult::Halt { reason, .. } => {
            return Err(RpcError::server(format!(
                "gas required exceeds allowance ({cap}): {}",
                halt_message(reason)
            )));
        }
    };
    // Binary search the smallest limit that succeeds (refunds and the 63/64 rule
    // make the used gas a lower bound only).
    let mut lo = used.saturating_sub(1);
    let mut hi = cap;
    // Most transactions (transfers, calls without refunds) succeed at exactly their gas used.
    if used < hi {
        let (r, _) = simulate(
            ctx,
            req.clone(),
            id,
            overrides.clone(),
            Some(used),
            deadline,
        )
        .await?;
        if r.is_success() {
            return Ok(used);
        }
        lo = used;
    }
    let optimistic = (used + result.gas().total_gas_spent().saturating_sub(used) + 2300) * 64 / 63;
    if optimistic < hi {
        let (r, _) = simulate(
            ctx,
            req.clone(),
            id,
            overrides.clone(),
            Some(optimistic),
            deadline,
        )
        .await?;
        if r.is_success() {
            hi = optimistic;
        } else {
            lo = optimistic;
        }
    }
    while lo + 1 < hi {
        if (hi - lo) * 1000 < hi * 15 {
            break;
        }
        let mid = lo + (hi - lo) / 2;
        let (r, _) = simulate(ctx, req.clone(), id, overrides.clone(), Some(mid), deadline).await?;
        if r.is_success() { hi = mid } else { lo = mid }
    }
    Ok(hi)
}

async fn create_access_list(
    ctx: &RpcContext,
    mut req: TransactionRequest,
    id: BlockId,
) -> RpcResult {
    let from = req.from.unwrap_or_default();
    let to = req.to.and_then(|k| k.to().copied());
    let beneficiary = ctx.node.chain.fee_vault;
    let precompiles = revm::precompile::Precompiles::new(
        revm::precompile::PrecompileSpecId::from_spec_id(rollup_core::chain::ChainConfig::SPEC),
    );
    let mut list = AccessList::default();
    let mut last = None;
    let deadline = call_deadline(ctx);
    for _ in 0..4 {
        req.access_list = Some(list.clone());
        let (result, state) = simulate(ctx, req.clone(), id, None, None, deadline).await?;
        let mut items: Vec<AccessListItem> = state
            .iter()
            .filter(|(a, _)| {
                **a != from && Some(**a) != to && **a != beneficiary && !precompiles.contains(a)
            })
            .map(|(a, acc)| {
                let mut keys: Vec<B256> = acc.storage.keys().map(|k| B256::from(*k)).collect();
                keys.sort();
                AccessListItem {
                    address: *a,
                    storage_keys: keys,
                }
            })
            .collect();
        items.sort_by_key(|i| i.address);
        let next = AccessList(items);
        let gas = result.tx_gas_used();
        let error = match &result {
            ExecutionResult::Success { .. } => None,
            ExecutionResult::Revert { output, .. } => Some(RpcError::reverted(output).message),
            ExecutionResult::Halt { reason, .. } => Some(halt_message(reason)),
        };
        if next == list {
            last = Some((gas, error));
            break;
        }
        list = next;
        last = Some((gas, error));
    }
    let (gas, error) = last.unwrap_or((0, None));
    let mut out = json!({"accessList": list, "gasUsed": U64::from(gas)});
    if let Some(e) = error {
        out["error"] = json!(e);
    }
    Ok(out)
}

async fn fee_history(ctx: &RpcContext, p: &[Value]) -> RpcResult {
    let count: U64 = param(p, 0)?;
    let newest: BlockNumberOrTag = param(p, 1)?;
    let percentiles: Option<Vec<f64>> = opt_param(p, 2)?;
    let count = count.to::<u64>().min(1024);
    let newest = resolve_tag(ctx, newest)?.ok_or_else(header_not_found)?;
    if count == 0 {
        return to_json(FeeHistory::default());
    }
    let oldest = newest.saturating_sub(count - 1);
    let headers = ctx.node.store.headers_in_range(oldest, newest).await?;
    let mut base_fee_per_gas = Vec::new();
    let mut gas_used_ratio = Vec::new();
    let mut reward = Vec::new();
    for (h, _) in &headers {
        let base_fee = h.base_fee_per_gas.unwrap_or_default();
        base_fee_per_gas.push(base_fee as u128);
        gas_used_ratio.push(if h.gas_limit == 0 {
            0.0
        } else {
            h.gas_used as f64 / h.gas_limit as f64
        });
        if let Some(ps) = &percentiles {
            let txs = ctx.node.store.block_txs(h.number).await?;
            let mut tips: Vec<(u128, u64)> = txs
                .iter()
                .map(|t| {
                    (
                        t.tx.inner().effective_tip_per_gas(base_fee).unwrap_or(0),
                        t.gas_used,
                    )
                })
                .collect();
            tips.sort();
            let total: u64 = tips.iter().map(|t| t.1).sum();
            reward.push(
                ps.iter()
                    .map(|pct| {
                        if tips.is_empty() {
                            return 0;
                        }
                        let threshold = (total as f64 * pct / 100.0) as u64;
                        let mut acc = 0;
                        for (tip, gas) in &tips {
                            acc += gas;
                            if acc >= threshold {
                                return *tip;
                            }
                        }
                        tips.last().map(|t| t.0).unwrap_or(0)
                    })
                    .collect(),
            );
        }
    }
    if let Some((last, _)) = headers.last() {
        let next = alloy_eips::eip1559::BaseFeeParams::ethereum().next_block_base_fee(
            last.gas_used,
            last.gas_limit,
            last.base_fee_per_gas.unwrap_or_default(),
        );
        base_fee_per_gas.push(if last.number == 0 {
            ctx.node.chain.initial_base_fee as u128
        } else {
            next as u128
        });
    }
    let blobs = vec![0u128; base_fee_per_gas.len()];
    let history = FeeHistory {
        base_fee_per_gas,
        gas_used_ratio,
        base_fee_per_blob_gas: blobs,
        blob_gas_used_ratio: vec![0.0; headers.len()],
        oldest_block: oldest,
        reward: percentiles.map(|_| reward),
    };
    to_json(history)
}

async fn get_proof(ctx: &RpcContext, address: Address, slots: Vec<B256>, id: BlockId) -> RpcResult {
    let n = resolve_block(ctx, id).await?.ok_or_else(header_not_found)?;
    let proof = match ctx.node.proof_at(n, address, &slots) {
        Some(p) => p,
        None => {
            let state = ctx.node.store.load_state(n).await?;
            let slots = slots.clone();
            tokio::task::spawn_blocking(move || {
                rollup_core::trie::StateCommitment::from_state(&state).proof(address, &slots)
            })
            .await
            .map_err(RpcError::internal)?
        }
    };
    let account = proof.account.unwrap_or_default();
    to_json(EIP1186AccountProofResponse {
        address,
        balance: account.balance,
        code_hash: account.code_hash,
        nonce: account.nonce,
        storage_hash: account.storage_root,
        account_proof: proof.account_proof,
        storage_proof: proof
            .storage_proofs
            .into_iter()
            .map(|s| EIP1186StorageProof {
                key: s.slot.into(),
                value: s.value,
                proof: s.proof,
            })
            .collect(),
    })
}
