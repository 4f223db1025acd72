//! L1 transaction manager: gets one calldata (EIP-1559) or blob (EIP-4844)
//! transaction of the batcher included on L1.
//!
//! It owns the sender's nonce (initialised from the L1 `pending` nonce and
//! resynced on "nonce too low"), estimates gas and fees, signs locally, and
//! broadcasts. [`TxManager::send_and_wait`] then polls for the receipt and,
//! when the transaction stays unmined for [`TxManagerConfig::resubmit_after`],
//! re-signs the same nonce with fees bumped by
//! [`TxManagerConfig::fee_bump_percent`] (at least 10% on both EIP-1559 fee
//! caps and 100% on the blob fee cap, as geth requires to replace), never above
//! the configured caps. Each (re)broadcast is handed to a callback with its
//! signed bytes *before* waiting, so the caller can persist it and, after a
//! restart, [`TxManager::rebroadcast`] it or [`TxManager::resume`] waiting.
//!
//! Every RPC call retries transient failures (connection refused, timeouts,
//! HTTP 5xx/429, rate limits) with exponential backoff, logging a warning that
//! names the endpoint, and gives up with [`TxManagerError::L1Unavailable`]
//! after [`TxManagerConfig::rpc_give_up_after`] (zero: never).

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use alloy::providers::transport::{RpcError, TransportError, TransportErrorKind};
use alloy::providers::{DynProvider, Provider, RootProvider};
use alloy::rpc::types::{
    BlockNumberOrTag, TransactionInput, TransactionReceipt, TransactionRequest,
};
use alloy_consensus::{
    SignableTransaction, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope,
};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip4844::builder::{SidecarBuilder, SimpleCoder};
use alloy_eips::eip4844::env_settings::EnvKzgSettings;
use alloy_eips::eip4844::{BlobTransactionSidecar, DATA_GAS_PER_BLOB, FIELD_ELEMENTS_PER_BLOB};
use alloy_eips::eip7594::BlobTransactionSidecarVariant;
use alloy_primitives::{Address, B256, Bytes, TxHash, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use tokio::sync::Mutex;

/// The most blobs one transaction may carry (EIP-7594's per-transaction limit;
/// also Cancun's per-block maximum).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// Payload bytes of one [`SimpleCoder`] field element (its first byte stays zero).
const SIMPLE_CODER_BYTES_PER_FE: usize = 31;

/// How many payload bytes fit in `blobs` blobs when one piece of data is coded
/// with [`SimpleCoder`] (as [`blob_sidecar`] does): 31 bytes per field element,
/// minus one field element for the length prefix.
pub const fn max_blob_payload(blobs: usize) -> usize {
    if blobs == 0 {
        return 0;
    }
    (blobs * FIELD_ELEMENTS_PER_BLOB as usize - 1) * SIMPLE_CODER_BYTES_PER_FE
}

/// Builds an EIP-4844 sidecar (blobs, KZG commitments and proofs) holding
/// `data`, coded with [`SimpleCoder`]. `data` must be non-empty and at most
/// `max_blob_payload(MAX_BLOBS_PER_TX)` bytes.
pub fn blob_sidecar(data: &[u8]) -> Result<BlobTransactionSidecar, TxManagerError> {
    if data.is_empty() {
        return Err(TxManagerError::Blob("no data to put in blobs".into()));
    }
    let max = max_blob_payload(MAX_BLOBS_PER_TX);
    if data.len() > max {
        return Err(TxManagerError::Blob(format!(
            "{} bytes do not fit in {MAX_BLOBS_PER_TX} blobs (at most {max} bytes)",
            data.len()
        )));
    }
    SidecarBuilder::<SimpleCoder>::from_slice(data)
        .build_4844()
        .map_err(|e| TxManagerError::Blob(format!("KZG commitment failed: {e}")))
}

/// How blob sidecars are put on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BlobSidecarFormat {
    /// EIP-4844 blob proofs (Cancun/Prague L1s).
    #[default]
    Eip4844,
    /// EIP-7594 cell proofs (Osaka and later L1s); computed from the 4844
    /// sidecar before broadcasting.
    Eip7594,
}

/// Settings of a [`TxManager`].
#[derive(Clone, Debug)]
pub struct TxManagerConfig {
    /// Percentage by which a replacement raises both EIP-1559 fee caps
    /// (raised to 10 if lower) and the blob fee cap (raised to 100 if lower),
    /// the minimum geth accepts to replace a pooled transaction.
    pub fee_bump_percent: u64,
    /// How long a broadcast transaction may stay unmined before it is replaced
    /// with bumped fees.
    pub resubmit_after: Duration,
    /// Never bid a `max_fee_per_gas` above this (wei).
    pub max_fee_per_gas_cap: u128,
    /// Never bid a `max_fee_per_blob_gas` above this (wei).
    pub max_fee_per_blob_gas_cap: u128,
    /// Warn when the balance left after the worst-case cost of a transaction
    /// is below this (wei).
    pub min_balance_wei: U256,
    /// Extra gas on top of `eth_estimateGas`, in percent.
    pub gas_limit_margin_percent: u64,
    /// Interval between receipt polls.
    pub receipt_poll: Duration,
    /// First backoff delay after a failed RPC call.
    pub rpc_retry_initial: Duration,
    /// Longest backoff delay between RPC retries.
    pub rpc_retry_max: Duration,
    /// Give up an RPC call (with [`TxManagerError::L1Unavailable`]) after it
    /// has failed for this long; zero retries forever.
    pub rpc_give_up_after: Duration,
    /// A single RPC call that has not answered after this long counts as failed.
    pub rpc_timeout: Duration,
    /// Blocks (including the one holding the transaction) for
    /// [`TxManager::wait_confirmed`] to consider a transaction confirmed.
    pub confirmations: u64,
    /// Sidecar format for blob transactions.
    pub blob_sidecar_format: BlobSidecarFormat,
}

impl Default for TxManagerConfig {
    fn default() -> Self {
        Self {
            fee_bump_percent: 20,
            resubmit_after: Duration::from_secs(12),
            max_fee_per_gas_cap: 1_000_000_000_000, // 1000 gwei
            max_fee_per_blob_gas_cap: 1_000_000_000_000,
            min_balance_wei: U256::from(100_000_000_000_000_000u128), // 0.1 ETH
            gas_limit_margin_percent: 20,
            receipt_poll: Duration::from_secs(1),
            rpc_retry_initial: Duration::from_millis(250),
            rpc_retry_max: Duration::from_secs(15),
            rpc_give_up_after: Duration::from_secs(300),
            rpc_timeout: Duration::from_secs(30),
            confirmations: 1,
            blob_sidecar_format: BlobSidecarFormat::Eip4844,
        }
    }
}

/// What to send: a call (or plain transfer) to `to`, optionally carrying blobs.
#[derive(Clone, Debug, Default)]
pub struct TxCandidate {
    /// Recipient (contract creation is not supported).
    pub to: Address,
    /// Calldata.
    pub input: Bytes,
    /// Wei to transfer.
    pub value: U256,
    /// Gas limit; estimated with a margin when `None`.
    pub gas_limit: Option<u64>,
    /// Blobs: makes this an EIP-4844 transaction.
    pub blobs: Option<BlobTransactionSidecar>,
}

/// A signed and broadcast transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Transaction hash.
    pub hash: TxHash,
    /// Sender nonce.
    pub nonce: u64,
    /// The signed transaction as broadcast (EIP-2718; blob transactions in
    /// their network form, with the sidecar), for [`TxManager::rebroadcast`].
    pub raw: Bytes,
    /// Gas limit.
    pub gas_limit: u64,
    /// EIP-1559 fee cap (wei per gas).
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee cap (wei per gas).
    pub max_priority_fee_per_gas: u128,
    /// Blob fee cap (wei per blob gas), for blob transactions.
    pub max_fee_per_blob_gas: Option<u128>,
}

impl Sent {
    /// The fee bid of this transaction.
    pub const fn bid(&self) -> FeeBid {
        FeeBid {
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            max_fee_per_blob_gas: self.max_fee_per_blob_gas,
        }
    }
}

/// Fees as the network asks for them now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkFees {
    /// Base fee of the next block (wei per gas).
    pub base_fee: u128,
    /// Suggested priority fee (wei per gas).
    pub priority_fee: u128,
    /// Current blob base fee (wei per blob gas), when blobs are involved.
    pub blob_base_fee: Option<u128>,
}

/// The fee caps a transaction bids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeBid {
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee cap.
    pub max_priority_fee_per_gas: u128,
    /// Blob fee cap, for blob transactions.
    pub max_fee_per_blob_gas: Option<u128>,
}

/// The bid for a new transaction: twice the next base fee plus the suggested
/// tip (twice the blob base fee for blobs), lowered to the caps when the
/// network's minimum (base fee plus tip; blob base fee) still fits under them.
pub fn initial_bid(net: &NetworkFees, config: &TxManagerConfig) -> Result<FeeBid, TxManagerError> {
    let tip = net.priority_fee;
    let wanted = net.base_fee.saturating_mul(2).saturating_add(tip);
    let minimum = net.base_fee.saturating_add(tip);
    let max_fee = fit_cap(
        "max_fee_per_gas",
        wanted,
        minimum,
        config.max_fee_per_gas_cap,
    )?;
    let max_fee_per_blob_gas = net
        .blob_base_fee
        .map(|blob_base| {
            let blob_base = blob_base.max(1);
            fit_cap(
                "max_fee_per_blob_gas",
                blob_base.saturating_mul(2),
                blob_base,
                config.max_fee_per_blob_gas_cap,
            )
        })
        .transpose()?;
    Ok(FeeBid {
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip.min(max_fee),
        max_fee_per_blob_gas,
    })
}

/// The bid replacing `prev`: every cap raised by the bump percentage (at least
/// 10% for the EIP-1559 caps, 100% for the blob cap, and at least 1 wei), and
/// at least what [`initial_bid`] would bid at the current network fees; lowered
/// to the configured caps as long as the least replacement geth accepts (10%;
/// 100% for blobs) still fits under them, else
/// [`TxManagerError::FeeCapExceeded`].
pub fn bump_bid(
    prev: &FeeBid,
    net: &NetworkFees,
    config: &TxManagerConfig,
) -> Result<FeeBid, TxManagerError> {
    let pct = config.fee_bump_percent.max(MIN_BUMP_PERCENT);
    let blob_pct = config.fee_bump_percent.max(MIN_BLOB_BUMP_PERCENT);
    // What the pool requires to replace, and what we would like to bid.
    let required_tip = bump(prev.max_priority_fee_per_gas, MIN_BUMP_PERCENT);
    let required_max_fee = bump(prev.max_fee_per_gas, MIN_BUMP_PERCENT).max(required_tip);
    let tip = bump(prev.max_priority_fee_per_gas, pct).max(net.priority_fee);
    let wanted = bump(prev.max_fee_per_gas, pct)
        .max(net.base_fee.saturating_mul(2).saturating_add(tip))
        .max(tip);
    let max_fee = fit_cap(
        "max_fee_per_gas",
        wanted,
        required_max_fee,
        config.max_fee_per_gas_cap,
    )?;
    let max_fee_per_blob_gas = match (prev.max_fee_per_blob_gas, net.blob_base_fee) {
        (None, None) => None,
        (prev_blob, blob_base) => {
            let min_blob = prev_blob.map_or(1, |p| bump(p, blob_pct));
            let wanted = min_blob.max(blob_base.unwrap_or(0).saturating_mul(2));
            Some(fit_cap(
                "max_fee_per_blob_gas",
                wanted,
                min_blob,
                config.max_fee_per_blob_gas_cap,
            )?)
        }
    };
    Ok(FeeBid {
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip.min(max_fee),
        max_fee_per_blob_gas,
    })
}

/// How long the sender's nonce must be seen used without a receipt of ours
/// before [`TxManagerError::NonceTaken`].
const NONCE_TAKEN_GRACE: Duration = Duration::from_secs(1);

/// The least increase of both EIP-1559 fee caps geth accepts for a replacement.
const MIN_BUMP_PERCENT: u64 = 10;
/// The least increase of the blob fee cap geth accepts for a replacement.
const MIN_BLOB_BUMP_PERCENT: u64 = 100;

/// `x` raised by `pct` percent, rounded up, and by at least 1.
fn bump(x: u128, pct: u64) -> u128 {
    let inc = x.saturating_mul(u128::from(pct)).div_ceil(100).max(1);
    x.saturating_add(inc)
}

/// `wanted`, lowered to `cap` if needed; an error when even `minimum` exceeds it.
fn fit_cap(
    what: &'static str,
    wanted: u128,
    minimum: u128,
    cap: u128,
) -> Result<u128, TxManagerError> {
    if minimum > cap {
        return Err(TxManagerError::FeeCapExceeded {
            what,
            needed: minimum,
            cap,
        });
    }
    Ok(wanted.min(cap))
}

/// Outcome of comparing a balance with a transaction's worst-case cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalanceCheck {
    /// Enough, and at least the configured minimum is left over.
    Sufficient,
    /// Enough for this transaction, but less than the minimum is left over.
    Low {
        /// What would be left after paying the worst-case cost.
        remaining: U256,
    },
    /// Not enough to pay the worst-case cost.
    Insufficient {
        /// The balance.
        have: U256,
        /// The worst-case cost.
        need: U256,
    },
}

/// Compares `balance` with a transaction's worst-case cost `max_cost` and the
/// balance that should stay left over, `min_balance`.
pub fn check_balance(balance: U256, max_cost: U256, min_balance: U256) -> BalanceCheck {
    match balance.checked_sub(max_cost) {
        None => BalanceCheck::Insufficient {
            have: balance,
            need: max_cost,
        },
        Some(remaining) if remaining < min_balance => BalanceCheck::Low { remaining },
        Some(_) => BalanceCheck::Sufficient,
    }
}

/// The worst-case cost of a transaction: value plus gas and blob gas at the
/// bid's caps.
pub fn max_cost(gas_limit: u64, bid: &FeeBid, blobs: usize, value: U256) -> U256 {
    let gas = U256::from(gas_limit) * U256::from(bid.max_fee_per_gas);
    let blob_gas = U256::from(blobs as u64 * DATA_GAS_PER_BLOB)
        * U256::from(bid.max_fee_per_blob_gas.unwrap_or(0));
    value.saturating_add(gas).saturating_add(blob_gas)
}

/// Where an included transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmationStatus {
    /// Included in the canonical chain at least the requested number of blocks deep.
    Confirmed {
        /// Block number.
        block: u64,
        /// Block hash.
        block_hash: B256,
        /// Blocks from the head down to and including the transaction's block.
        depth: u64,
    },
    /// Included in the canonical chain, not yet deep enough.
    Pending {
        /// Block number.
        block: u64,
        /// Blocks from the head down to and including the transaction's block.
        depth: u64,
    },
    /// Not included; the node still holds it in its pool.
    Unmined,
    /// Not included and unknown to the node (never seen, dropped from the
    /// pool, or removed by an L1 reorg): resubmit.
    Dropped,
}

/// What [`TxManager::rebroadcast`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebroadcastOutcome {
    /// The node accepted it into its pool.
    Accepted(TxHash),
    /// The node already had it.
    AlreadyKnown,
    /// The node refused it as underpriced: it holds another transaction of
    /// the same nonce with higher fees (usually a later replacement of ours),
    /// or the base fee rose above its fee cap. [`TxManager::resume`] re-signs
    /// with current fees.
    Underpriced,
    /// The nonce is already used on chain (by this transaction or another);
    /// look up the receipt.
    NonceConsumed,
}

impl RebroadcastOutcome {
    /// Whether the transaction's nonce is still open, i.e. it (or a
    /// replacement) still has to be mined.
    pub const fn still_pending(&self) -> bool {
        !matches!(self, Self::NonceConsumed)
    }
}

/// Errors of the transaction manager.
#[derive(Debug, thiserror::Error)]
pub enum TxManagerError {
    /// L1 kept failing (unreachable, timing out, 5xx, rate limited) for
    /// longer than [`TxManagerConfig::rpc_give_up_after`].
    #[error(
        "L1 at {url} unavailable: {method} failed {attempts} times over {elapsed:?}; last error: {source}"
    )]
    L1Unavailable {
        /// The endpoint (credentials and path redacted).
        url: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Time spent retrying.
        elapsed: Duration,
        /// The last error.
        #[source]
        source: Box<TransportError>,
    },
    /// The node answered an RPC call with an error that retrying will not fix.
    #[error("L1 RPC {method} at {url} failed: {source}")]
    Rpc {
        /// The endpoint.
        url: String,
        /// The JSON-RPC method.
        method: &'static str,
        /// The error.
        #[source]
        source: Box<TransportError>,
    },
    /// The node refused to accept the signed transaction.
    #[error("L1 rejected transaction {hash} (nonce {nonce}): {message}")]
    Rejected {
        /// Transaction hash.
        hash: TxHash,
        /// Nonce.
        nonce: u64,
        /// The node's message.
        message: String,
    },
    /// The transaction was mined and reverted.
    #[error("transaction {} reverted in block {:?}", .receipt.transaction_hash, .receipt.block_number)]
    Reverted {
        /// Its receipt (status 0).
        receipt: Box<TransactionReceipt>,
        /// The revert data from replaying it with `eth_call` at the parent
        /// block, when the node returned any (the caller decodes the
        /// contract's custom errors).
        revert_data: Option<Bytes>,
    },
    /// Gas estimation failed because the call reverts; nothing was sent.
    #[error("transaction would revert: {message}")]
    WouldRevert {
        /// The node's message.
        message: String,
        /// The revert data, when the node returned any.
        revert_data: Option<Bytes>,
    },
    /// The network asks for more than the configured cap.
    #[error("{what} of at least {needed} wei is needed, above the configured cap of {cap} wei")]
    FeeCapExceeded {
        /// Which fee.
        what: &'static str,
        /// The lowest acceptable bid.
        needed: u128,
        /// The cap.
        cap: u128,
    },
    /// The nonce was used on chain by a transaction that is none of ours.
    #[error("nonce {nonce} was used by a transaction that is none of ours (ours: {ours:?})")]
    NonceTaken {
        /// The nonce.
        nonce: u64,
        /// The hashes we broadcast with it.
        ours: Vec<TxHash>,
    },
    /// Nonces below ours are unknown to L1, mined or pending (L1 lost them: a node that
    /// restarted from an older state, a deep reorg): ours can never be mined.
    #[error(
        "nonce {nonce} can never be mined: L1's next nonce for us is {l1_next} and nothing of ours fills the gap"
    )]
    NonceGap {
        /// Our transaction's nonce.
        nonce: u64,
        /// L1's `pending` nonce of our account.
        l1_next: u64,
    },
    /// The node's chain id differs from the configured one.
    #[error("L1 chain id is {l1}, configured {configured}")]
    ChainIdMismatch {
        /// Configured chain id.
        configured: u64,
        /// The node's chain id.
        l1: u64,
    },
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(#[from] alloy_signer::Error),
    /// Bad blob data or sidecar.
    #[error("blob sidecar: {0}")]
    Blob(String),
    /// The sender cannot pay the worst-case cost.
    #[error("insufficient funds on {address}: have {have} wei, need up to {need} wei")]
    InsufficientFunds {
        /// The sender.
        address: Address,
        /// Its balance.
        have: U256,
        /// The worst-case cost.
        need: U256,
    },
    /// The L1 URL cannot be used.
    #[error("invalid L1 URL {url}: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why.
        message: String,
    },
}

/// A candidate made ready to sign repeatedly: sidecar converted once.
#[derive(Clone, Debug)]
struct Prepared {
    to: Address,
    input: Bytes,
    value: U256,
    gas_limit: Option<u64>,
    blobs: Option<(BlobTransactionSidecarVariant, Vec<B256>)>,
}

impl Prepared {
    fn blob_count(&self) -> usize {
        self.blobs.as_ref().map_or(0, |(_, h)| h.len())
    }

    fn request(&self, from: Address) -> TransactionRequest {
        let mut req = TransactionRequest {
            from: Some(from),
            to: Some(TxKind::Call(self.to)),
            value: Some(self.value),
            input: TransactionInput::new(self.input.clone()),
            ..Default::default()
        };
        if let Some((_, hashes)) = &self.blobs {
            req.blob_versioned_hashes = Some(hashes.clone());
        }
        req
    }
}

/// How the node took a broadcast.
enum Broadcast {
    Accepted,
    AlreadyKnown,
    NonceTooLow,
    Underpriced(String),
    InsufficientFunds(String),
    Rejected(String),
}

/// Gets the batcher's L1 transactions included. See the module docs.
pub struct TxManager {
    provider: DynProvider,
    url: String,
    signer: PrivateKeySigner,
    chain_id: u64,
    config: TxManagerConfig,
    /// The next nonce to use; `None` until read from L1 (or after an
    /// uncertain broadcast).
    next_nonce: Mutex<Option<u64>>,
}

impl std::fmt::Debug for TxManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxManager")
            .field("url", &self.url)
            .field("address", &self.signer.address())
            .field("chain_id", &self.chain_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TxManager {
    /// A manager talking to an existing provider; `endpoint` names it in logs
    /// and errors (keep secrets out of it).
    pub fn new(
        provider: DynProvider,
        endpoint: impl Into<String>,
        signer: PrivateKeySigner,
        chain_id: u64,
        config: TxManagerConfig,
    ) -> Self {
        Self {
            provider,
            url: endpoint.into(),
            signer,
            chain_id,
            config,
            next_nonce: Mutex::new(None),
        }
    }

    /// A manager talking JSON-RPC over HTTP(S) to `url`. Nothing is contacted
    /// yet. For WebSocket or IPC, build the provider and use [`TxManager::new`].
    pub fn connect(
        url: &str,
        signer: PrivateKeySigner,
        chain_id: u64,
        config: TxManagerConfig,
    ) -> Result<Self, TxManagerError> {
        let parsed: url::Url =
            url.parse()
                .map_err(|e: url::ParseError| TxManagerError::InvalidUrl {
                    url: redact_url(url),
                    message: e.to_string(),
                })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TxManagerError::InvalidUrl {
                url: redact_url(url),
                message: "only http(s) here; pass a WebSocket/IPC provider to TxManager::new"
                    .into(),
            });
        }
        let provider = RootProvider::<alloy::network::Ethereum>::new_http(parsed).erased();
        Ok(Self::new(
            provider,
            redact_url(url),
            signer,
            chain_id,
            config,
        ))
    }

    /// The sender address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The configuration.
    pub const fn config(&self) -> &TxManagerConfig {
        &self.config
    }

    /// The endpoint as shown in logs and errors.
    pub fn endpoint(&self) -> &str {
        &self.url
    }

    /// The sender's balance at the latest block.
    pub async fn balance(&self) -> Result<U256, TxManagerError> {
        let address = self.address();
        self.rpc("eth_getBalance", || {
            self.provider.get_balance(address).latest()
        })
        .await
    }

    /// Forgets the tracked nonce; the next send reads the `pending` nonce from L1.
    pub async fn reset_nonce(&self) {
        *self.next_nonce.lock().await = None;
    }

    /// Signs and broadcasts `candidate` with the next nonce, estimated gas (unless
    /// given) and fees from the network. Returns as soon as the node accepted it.
    pub async fn send(&self, candidate: TxCandidate) -> Result<Sent, TxManagerError> {
        let prepared = self.prepare(candidate)?;
        self.send_prepared(&prepared).await
    }

    /// Sends `candidate` and waits until it or one of its replacements is
    /// mined, replacing it with bumped fees whenever it stayed unmined for
    /// [`TxManagerConfig::resubmit_after`]. `on_sent` sees every (re)broadcast
    /// before waiting goes on, so the caller can persist it. A receipt with
    /// status 0 becomes [`TxManagerError::Reverted`].
    pub async fn send_and_wait(
        &self,
        candidate: TxCandidate,
        mut on_sent: impl FnMut(&Sent),
    ) -> Result<TransactionReceipt, TxManagerError> {
        let prepared = self.prepare(candidate)?;
        let first = self.send_prepared(&prepared).await?;
        on_sent(&first);
        self.wait_replacing(&prepared, Vec::new(), first, on_sent)
            .await
    }

    /// Continues [`TxManager::send_and_wait`] after a restart: `sent` are the
    /// persisted broadcasts of `candidate` (same nonce, oldest first).
    /// Rebroadcasts the newest, then waits and replaces as usual; with
    /// nothing persisted it is [`TxManager::send_and_wait`].
    pub async fn resume(
        &self,
        candidate: TxCandidate,
        sent: Vec<Sent>,
        on_sent: impl FnMut(&Sent),
    ) -> Result<TransactionReceipt, TxManagerError> {
        let mut sent = sent;
        let Some(last) = sent.pop() else {
            return self.send_and_wait(candidate, on_sent).await;
        };
        let prepared = self.prepare(candidate)?;
        let outcome = self.rebroadcast(&last.raw).await?;
        tracing::info!(hash = %last.hash, nonce = last.nonce, ?outcome, "resumed L1 transaction");
        self.wait_replacing(&prepared, sent, last, on_sent).await
    }

    /// Broadcasts an already signed transaction again (e.g. after a restart or
    /// an L1 reorg), tolerating "already known" and "nonce too low".
    pub async fn rebroadcast(&self, raw: &Bytes) -> Result<RebroadcastOutcome, TxManagerError> {
        let (broadcast, hash) = self.broadcast_raw(raw).await?;
        match broadcast {
            Broadcast::Accepted => Ok(RebroadcastOutcome::Accepted(hash)),
            Broadcast::AlreadyKnown => Ok(RebroadcastOutcome::AlreadyKnown),
            Broadcast::NonceTooLow => Ok(RebroadcastOutcome::NonceConsumed),
            Broadcast::Underpriced(_) => Ok(RebroadcastOutcome::Underpriced),
            Broadcast::InsufficientFunds(message) | Broadcast::Rejected(message) => {
                Err(TxManagerError::Rejected {
                    hash,
                    nonce: decode_raw(raw).map_or(0, |(_, n)| n),
                    message,
                })
            }
        }
    }

    /// Where transaction `hash` stands, `confirmations` blocks counting as
    /// final (the including block counts as one).
    pub async fn confirmation_status(
        &self,
        hash: TxHash,
        confirmations: u64,
    ) -> Result<ConfirmationStatus, TxManagerError> {
        let receipt = self
            .rpc("eth_getTransactionReceipt", || {
                self.provider.get_transaction_receipt(hash)
            })
            .await?;
        if let Some(receipt) = receipt
            && let (Some(block), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
        {
            let canonical = self
                .rpc("eth_getBlockByNumber", || {
                    self.provider
                        .get_block_by_number(BlockNumberOrTag::Number(block))
                })
                .await?
                .map(|b| b.header.hash);
            if canonical == Some(block_hash) {
                let head = self
                    .rpc("eth_blockNumber", || self.provider.get_block_number())
                    .await?;
                let depth = head.saturating_sub(block) + 1;
                return Ok(if depth >= confirmations {
                    ConfirmationStatus::Confirmed {
                        block,
                        block_hash,
                        depth,
                    }
                } else {
                    ConfirmationStatus::Pending { block, depth }
                });
            }
        }
        let tx = self
            .rpc("eth_getTransactionByHash", || {
                self.provider.get_transaction_by_hash(hash)
            })
            .await?;
        Ok(match tx {
            Some(_) => ConfirmationStatus::Unmined,
            None => ConfirmationStatus::Dropped,
        })
    }

    /// Waits until transaction `hash` is [`TxManagerConfig::confirmations`]
    /// deep ([`ConfirmationStatus::Confirmed`]) or is no longer included
    /// ([`ConfirmationStatus::Dropped`] or, when a reorg put it back into the
    /// pool, [`ConfirmationStatus::Unmined`]; both seen twice in a row), so the
    /// caller can resubmit. Meant for transactions already mined once.
    pub async fn wait_confirmed(&self, hash: TxHash) -> Result<ConfirmationStatus, TxManagerError> {
        let mut absent_before = None;
        loop {
            let status = self
                .confirmation_status(hash, self.config.confirmations)
                .await?;
            match status {
                ConfirmationStatus::Confirmed { .. } => return Ok(status),
                ConfirmationStatus::Pending { .. } => absent_before = None,
                ConfirmationStatus::Unmined | ConfirmationStatus::Dropped => {
                    if absent_before == Some(status) {
                        tracing::warn!(url = %self.url, %hash, ?status, "L1 transaction no longer included");
                        return Ok(status);
                    }
                    absent_before = Some(status);
                }
            }
            tokio::time::sleep(self.config.receipt_poll).await;
        }
    }

    // ----- internals -----

    fn prepare(&self, candidate: TxCandidate) -> Result<Prepared, TxManagerError> {
        let blobs = match candidate.blobs {
            None => None,
            Some(sidecar) => {
                let n = sidecar.blobs.len();
                if n == 0 || n > MAX_BLOBS_PER_TX {
                    return Err(TxManagerError::Blob(format!(
                        "{n} blobs; a transaction carries 1 to {MAX_BLOBS_PER_TX}"
                    )));
                }
                if sidecar.commitments.len() != n || sidecar.proofs.len() != n {
                    return Err(TxManagerError::Blob(format!(
                        "{n} blobs but {} commitments and {} proofs",
                        sidecar.commitments.len(),
                        sidecar.proofs.len()
                    )));
                }
                let hashes: Vec<B256> = sidecar.versioned_hashes().collect();
                let variant = match self.config.blob_sidecar_format {
                    BlobSidecarFormat::Eip4844 => BlobTransactionSidecarVariant::Eip4844(sidecar),
                    BlobSidecarFormat::Eip7594 => BlobTransactionSidecarVariant::Eip7594(
                        sidecar
                            .try_into_7594(EnvKzgSettings::Default.get())
                            .map_err(|e| {
                                TxManagerError::Blob(format!("cell proofs failed: {e}"))
                            })?,
                    ),
                };
                Some((variant, hashes))
            }
        };
        Ok(Prepared {
            to: candidate.to,
            input: candidate.input,
            value: candidate.value,
            gas_limit: candidate.gas_limit,
            blobs,
        })
    }

    async fn send_prepared(&self, prepared: &Prepared) -> Result<Sent, TxManagerError> {
        let mut next_nonce = self.next_nonce.lock().await;
        let mut nonce = match *next_nonce {
            Some(n) => n,
            None => self.l1_pending_nonce(true).await?,
        };
        let net = self.network_fees(prepared.blobs.is_some()).await?;
        let bid = initial_bid(&net, &self.config)?;
        let gas_limit = match prepared.gas_limit {
            Some(g) => g,
            None => self.estimate_gas(prepared, &bid).await?,
        };
        let need = max_cost(gas_limit, &bid, prepared.blob_count(), prepared.value);
        let have = self.balance().await?;
        match check_balance(have, need, self.config.min_balance_wei) {
            BalanceCheck::Insufficient { have, need } => {
                return Err(TxManagerError::InsufficientFunds {
                    address: self.address(),
                    have,
                    need,
                });
            }
            BalanceCheck::Low { remaining } => tracing::warn!(
                url = %self.url,
                address = %self.address(),
                balance = %have,
                max_cost = %need,
                %remaining,
                min_balance = %self.config.min_balance_wei,
                "batcher L1 balance is running low; top it up"
            ),
            BalanceCheck::Sufficient => {}
        }

        let mut resyncs = 0;
        loop {
            let sent = self.sign(prepared, nonce, gas_limit, &bid)?;
            let outcome = match self.broadcast_raw(&sent.raw).await {
                Ok((outcome, _)) => outcome,
                Err(e) => {
                    // It may or may not have reached the pool: read the nonce afresh next time.
                    *next_nonce = None;
                    return Err(e);
                }
            };
            match outcome {
                Broadcast::Accepted | Broadcast::AlreadyKnown => {
                    *next_nonce = Some(nonce + 1);
                    tracing::info!(
                        hash = %sent.hash,
                        nonce,
                        gas_limit,
                        max_fee_per_gas = sent.max_fee_per_gas,
                        max_priority_fee_per_gas = sent.max_priority_fee_per_gas,
                        max_fee_per_blob_gas = ?sent.max_fee_per_blob_gas,
                        "sent L1 transaction"
                    );
                    return Ok(sent);
                }
                Broadcast::NonceTooLow => {
                    // A retried broadcast of ours may have been mined meanwhile.
                    if self.tx_known(sent.hash).await? {
                        *next_nonce = Some(nonce + 1);
                        return Ok(sent);
                    }
                    let fresh = self.l1_pending_nonce(false).await?;
                    resyncs += 1;
                    tracing::warn!(url = %self.url, stale = nonce, fresh, "nonce too low; resynced from L1");
                    if resyncs > 3 {
                        *next_nonce = None;
                        return Err(TxManagerError::Rejected {
                            hash: sent.hash,
                            nonce,
                            message: "nonce too low, even after resyncing".into(),
                        });
                    }
                    nonce = fresh.max(nonce + 1);
                }
                Broadcast::InsufficientFunds(message) => {
                    tracing::warn!(url = %self.url, %message, "L1 says insufficient funds");
                    return Err(TxManagerError::InsufficientFunds {
                        address: self.address(),
                        have: self.balance().await.unwrap_or(have),
                        need,
                    });
                }
                Broadcast::Underpriced(message) | Broadcast::Rejected(message) => {
                    // Not in the pool, but our view of the nonce may be off.
                    *next_nonce = None;
                    return Err(TxManagerError::Rejected {
                        hash: sent.hash,
                        nonce,
                        message,
                    });
                }
            }
        }
    }

    async fn wait_replacing(
        &self,
        prepared: &Prepared,
        mut sent: Vec<Sent>,
        mut last: Sent,
        mut on_sent: impl FnMut(&Sent),
    ) -> Result<TransactionReceipt, TxManagerError> {
        let nonce = last.nonce;
        sent.push(last.clone());
        let mut bid = last.bid();
        let mut last_broadcast = Instant::now();
        let mut nonce_used_since: Option<Instant> = None;
        loop {
            if let Some(receipt) = self.find_receipt(&sent).await? {
                return self.judge_receipt(prepared, receipt).await;
            }
            let mined_nonce = self
                .rpc("eth_getTransactionCount", || {
                    self.provider.get_transaction_count(self.address()).latest()
                })
                .await?;
            if mined_nonce > nonce {
                // Nodes may show the new nonce a moment before the receipt (and a
                // load balancer may ask a lagging node): only after a grace period
                // of seeing the nonce used without a receipt of ours is it taken.
                let since = *nonce_used_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= NONCE_TAKEN_GRACE.max(self.config.receipt_poll * 3) {
                    return Err(TxManagerError::NonceTaken {
                        nonce,
                        ours: sent.iter().map(|s| s.hash).collect(),
                    });
                }
                tokio::time::sleep(self.config.receipt_poll).await;
                continue;
            }
            nonce_used_since = None;
            if last_broadcast.elapsed() >= self.config.resubmit_after {
                last_broadcast = Instant::now();
                if mined_nonce < nonce {
                    // A fee bump cannot help a transaction stuck behind a gap.
                    let l1_next = self
                        .rpc("eth_getTransactionCount", || {
                            self.provider
                                .get_transaction_count(self.address())
                                .pending()
                        })
                        .await?;
                    if l1_next < nonce {
                        tracing::warn!(url = %self.url, nonce, l1_next, hash = %last.hash, "L1 lost our earlier transactions; giving this one up and resyncing the nonce");
                        self.reset_nonce().await;
                        return Err(TxManagerError::NonceGap { nonce, l1_next });
                    }
                }
                let net = self.network_fees(prepared.blobs.is_some()).await?;
                match bump_bid(&bid, &net, &self.config) {
                    Ok(new_bid) => {
                        let replacement = self.sign(prepared, nonce, last.gas_limit, &new_bid)?;
                        let (outcome, _) = self.broadcast_raw(&replacement.raw).await?;
                        match outcome {
                            Broadcast::Accepted | Broadcast::AlreadyKnown => {
                                tracing::info!(
                                    old = %last.hash,
                                    new = %replacement.hash,
                                    nonce,
                                    max_fee_per_gas = new_bid.max_fee_per_gas,
                                    max_priority_fee_per_gas = new_bid.max_priority_fee_per_gas,
                                    max_fee_per_blob_gas = ?new_bid.max_fee_per_blob_gas,
                                    "L1 transaction not mined in time; replaced it with bumped fees"
                                );
                                bid = new_bid;
                                on_sent(&replacement);
                                last = replacement.clone();
                                sent.push(replacement);
                            }
                            Broadcast::Underpriced(message) => {
                                tracing::warn!(url = %self.url, nonce, %message, "replacement underpriced; bumping further next time");
                                bid = new_bid;
                            }
                            // Mined meanwhile: the next poll finds out by whom.
                            Broadcast::NonceTooLow => {}
                            Broadcast::InsufficientFunds(message)
                            | Broadcast::Rejected(message) => {
                                tracing::warn!(url = %self.url, nonce, %message, "replacement rejected; still waiting for the previous one");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(url = %self.url, nonce, error = %e, hash = %last.hash, "cannot bump fees further; rebroadcasting the last transaction");
                        let (_, _) = self.broadcast_raw(&last.raw).await?;
                    }
                }
            }
            tokio::time::sleep(self.config.receipt_poll).await;
        }
    }

    async fn find_receipt(
        &self,
        sent: &[Sent],
    ) -> Result<Option<TransactionReceipt>, TxManagerError> {
        for s in sent.iter().rev() {
            let receipt = self
                .rpc("eth_getTransactionReceipt", || {
                    self.provider.get_transaction_receipt(s.hash)
                })
                .await?;
            if let Some(receipt) = receipt
                && receipt.block_number.is_some()
            {
                return Ok(Some(receipt));
            }
        }
        Ok(None)
    }

    async fn judge_receipt(
        &self,
        prepared: &Prepared,
        receipt: TransactionReceipt,
    ) -> Result<TransactionReceipt, TxManagerError> {
        if receipt.status() {
            tracing::info!(hash = %receipt.transaction_hash, block = ?receipt.block_number, gas_used = receipt.gas_used, "L1 transaction mined");
            return Ok(receipt);
        }
        let revert_data = self.revert_data(prepared, &receipt).await;
        tracing::warn!(hash = %receipt.transaction_hash, block = ?receipt.block_number, revert_data = ?revert_data, "L1 transaction reverted");
        Err(TxManagerError::Reverted {
            receipt: Box::new(receipt),
            revert_data,
        })
    }

    /// Replays a reverted transaction with `eth_call` at its parent block and
    /// returns the revert data, if the node gives any.
    async fn revert_data(
        &self,
        prepared: &Prepared,
        receipt: &TransactionReceipt,
    ) -> Option<Bytes> {
        let block = receipt.block_number?.checked_sub(1)?;
        let tx = self
            .rpc("eth_getTransactionByHash", || {
                self.provider
                    .get_transaction_by_hash(receipt.transaction_hash)
            })
            .await
            .ok()
            .flatten();
        let mut req = prepared.request(self.address());
        if let Some(tx) = tx {
            use alloy_consensus::Transaction as _;
            req.gas = Some(tx.gas_limit());
            req.max_fee_per_gas = Some(tx.max_fee_per_gas());
            req.max_priority_fee_per_gas = tx.max_priority_fee_per_gas();
            req.max_fee_per_blob_gas = tx.max_fee_per_blob_gas();
        }
        let call = self.provider.call(req).block(block.into());
        match tokio::time::timeout(self.config.rpc_timeout, call.into_future()).await {
            Ok(Err(RpcError::ErrorResp(payload))) => payload.as_revert_data(),
            Ok(Ok(_)) => {
                tracing::debug!("replay of the reverted transaction succeeded; no revert data");
                None
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "replay of the reverted transaction failed");
                None
            }
            Err(_) => None,
        }
    }

    async fn estimate_gas(&self, prepared: &Prepared, bid: &FeeBid) -> Result<u64, TxManagerError> {
        let mut req = prepared.request(self.address());
        req.max_fee_per_blob_gas = bid.max_fee_per_blob_gas;
        match self
            .rpc("eth_estimateGas", || {
                self.provider.estimate_gas(req.clone())
            })
            .await
        {
            Ok(gas) => {
                let margin = gas.saturating_mul(self.config.gas_limit_margin_percent) / 100;
                Ok(gas.saturating_add(margin))
            }
            Err(TxManagerError::Rpc { source, .. }) => match *source {
                RpcError::ErrorResp(payload) => Err(TxManagerError::WouldRevert {
                    revert_data: payload.as_revert_data(),
                    message: payload.message.to_string(),
                }),
                other => Err(TxManagerError::Rpc {
                    url: self.url.clone(),
                    method: "eth_estimateGas",
                    source: Box::new(other),
                }),
            },
            Err(e) => Err(e),
        }
    }

    async fn network_fees(&self, blobs: bool) -> Result<NetworkFees, TxManagerError> {
        let history = self
            .rpc("eth_feeHistory", || {
                self.provider
                    .get_fee_history(10, BlockNumberOrTag::Latest, &[50.0])
            })
            .await?;
        let base_fee = match history.next_block_base_fee() {
            Some(b) if b > 0 => b,
            _ => {
                let block = self
                    .rpc("eth_getBlockByNumber", || {
                        self.provider.get_block_by_number(BlockNumberOrTag::Latest)
                    })
                    .await?;
                block
                    .and_then(|b| b.header.base_fee_per_gas)
                    .map(u128::from)
                    .unwrap_or(0)
            }
        };
        let priority_fee = match self
            .rpc("eth_maxPriorityFeePerGas", || {
                self.provider.get_max_priority_fee_per_gas()
            })
            .await
        {
            Ok(tip) => tip,
            // Not every node has it: take the median tip of recent blocks.
            Err(TxManagerError::Rpc { .. }) => {
                let mut tips: Vec<u128> = history
                    .reward
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| r.first().copied())
                    .collect();
                tips.sort_unstable();
                tips.get(tips.len() / 2)
                    .copied()
                    .unwrap_or(1_000_000_000)
                    .max(1)
            }
            Err(e) => return Err(e),
        };
        let blob_base_fee = if blobs {
            Some(
                self.rpc("eth_blobBaseFee", || self.provider.get_blob_base_fee())
                    .await?,
            )
        } else {
            None
        };
        Ok(NetworkFees {
            base_fee,
            priority_fee,
            blob_base_fee,
        })
    }

    async fn l1_pending_nonce(&self, check_chain: bool) -> Result<u64, TxManagerError> {
        if check_chain {
            let l1 = self
                .rpc("eth_chainId", || self.provider.get_chain_id())
                .await?;
            if l1 != self.chain_id {
                return Err(TxManagerError::ChainIdMismatch {
                    configured: self.chain_id,
                    l1,
                });
            }
        }
        let address = self.address();
        let nonce = self
            .rpc("eth_getTransactionCount", || {
                self.provider.get_transaction_count(address).pending()
            })
            .await?;
        tracing::debug!(%address, nonce, "read pending nonce from L1");
        Ok(nonce)
    }

    async fn tx_known(&self, hash: TxHash) -> Result<bool, TxManagerError> {
        Ok(self
            .rpc("eth_getTransactionByHash", || {
                self.provider.get_transaction_by_hash(hash)
            })
            .await?
            .is_some())
    }

    fn sign(
        &self,
        prepared: &Prepared,
        nonce: u64,
        gas_limit: u64,
        bid: &FeeBid,
    ) -> Result<Sent, TxManagerError> {
        let envelope = match &prepared.blobs {
            None => {
                let tx = TxEip1559 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: bid.max_fee_per_gas,
                    max_priority_fee_per_gas: bid.max_priority_fee_per_gas,
                    to: TxKind::Call(prepared.to),
                    value: prepared.value,
                    access_list: Default::default(),
                    input: prepared.input.clone(),
                };
                let signature = self.signer.sign_hash_sync(&tx.signature_hash())?;
                TxEnvelope::Eip1559(tx.into_signed(signature))
            }
            Some((sidecar, hashes)) => {
                let tx = TxEip4844 {
                    chain_id: self.chain_id,
                    nonce,
                    gas_limit,
                    max_fee_per_gas: bid.max_fee_per_gas,
                    max_priority_fee_per_gas: bid.max_priority_fee_per_gas,
                    to: prepared.to,
                    value: prepared.value,
                    access_list: Default::default(),
                    blob_versioned_hashes: hashes.clone(),
                    max_fee_per_blob_gas: bid.max_fee_per_blob_gas.unwrap_or(1),
                    input: prepared.input.clone(),
                };
                let tx = TxEip4844Variant::TxEip4844WithSidecar(
                    TxEip4844WithSidecar::from_tx_and_sidecar(tx, sidecar.clone()),
                );
                let signature = self.signer.sign_hash_sync(&tx.signature_hash())?;
                TxEnvelope::Eip4844(tx.into_signed(signature))
            }
        };
        Ok(Sent {
            hash: *envelope.tx_hash(),
            nonce,
            raw: envelope.encoded_2718().into(),
            gas_limit,
            max_fee_per_gas: bid.max_fee_per_gas,
            max_priority_fee_per_gas: bid.max_priority_fee_per_gas,
            max_fee_per_blob_gas: prepared
                .blobs
                .as_ref()
                .map(|_| bid.max_fee_per_blob_gas.unwrap_or(1)),
        })
    }

    /// `eth_sendRawTransaction`, with the node's usual refusals classified.
    async fn broadcast_raw(&self, raw: &Bytes) -> Result<(Broadcast, TxHash), TxManagerError> {
        let result = self
            .rpc("eth_sendRawTransaction", || {
                self.provider
                    .client()
                    .request::<_, TxHash>("eth_sendRawTransaction", (raw.clone(),))
            })
            .await;
        let hash = tx_hash_of(raw);
        match result {
            Ok(hash) => Ok((Broadcast::Accepted, hash)),
            Err(TxManagerError::Rpc {
                source,
                url,
                method,
            }) => match *source {
                RpcError::ErrorResp(payload) => {
                    let message = payload.message.to_string();
                    let lower = message.to_ascii_lowercase();
                    let outcome = if lower.contains("already known")
                        || lower.contains("already imported")
                        || lower.contains("known transaction")
                        || lower.contains("alreadyknown")
                        || lower.contains("already exists")
                        || lower.contains("already in the pool")
                    {
                        Broadcast::AlreadyKnown
                    } else if lower.contains("nonce too low")
                        || lower.contains("nonce is too low")
                        || lower.contains("noncetoolow")
                        || lower.contains("oldnonce")
                        || lower.contains("invalid nonce")
                    {
                        Broadcast::NonceTooLow
                    } else if lower.contains("underpriced")
                        || lower.contains("replacementnotallowed")
                        || lower.contains("less than block base fee")
                        || lower.contains("fee cap less than")
                        || lower.contains("fee too low")
                        || lower.contains("feecaptoolow")
                    {
                        Broadcast::Underpriced(message)
                    } else if lower.contains("insufficient funds") {
                        Broadcast::InsufficientFunds(message)
                    } else {
                        Broadcast::Rejected(message)
                    };
                    Ok((outcome, hash))
                }
                other => Err(TxManagerError::Rpc {
                    url,
                    method,
                    source: Box::new(other),
                }),
            },
            Err(e) => Err(e),
        }
    }

    /// Runs one RPC call, retrying transient failures with exponential backoff
    /// until [`TxManagerConfig::rpc_give_up_after`].
    async fn rpc<T, F, Fut>(&self, method: &'static str, mut call: F) -> Result<T, TxManagerError>
    where
        F: FnMut() -> Fut,
        Fut: IntoFuture<Output = Result<T, TransportError>>,
    {
        let started = Instant::now();
        let mut delay = self.config.rpc_retry_initial;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let result =
                match tokio::time::timeout(self.config.rpc_timeout, call().into_future()).await {
                    Ok(r) => r,
                    Err(_) => Err(TransportErrorKind::custom_str(&format!(
                        "no answer within {:?}",
                        self.config.rpc_timeout
                    ))),
                };
            let err = match result {
                Ok(v) => {
                    if attempts > 1 {
                        tracing::info!(url = %self.url, method, attempts, "L1 answers again");
                    }
                    return Ok(v);
                }
                Err(e) if is_transient(&e) => e,
                Err(e) => {
                    return Err(TxManagerError::Rpc {
                        url: self.url.clone(),
                        method,
                        source: Box::new(e),
                    });
                }
            };
            let elapsed = started.elapsed();
            let give_up = self.config.rpc_give_up_after;
            if !give_up.is_zero() && elapsed >= give_up {
                tracing::error!(url = %self.url, method, attempts, ?elapsed, error = %err, "L1 unavailable; giving up");
                return Err(TxManagerError::L1Unavailable {
                    url: self.url.clone(),
                    method,
                    attempts,
                    elapsed,
                    source: Box::new(err),
                });
            }
            let mut wait = delay;
            if !give_up.is_zero() {
                wait = wait.min(give_up - elapsed);
            }
            tracing::warn!(url = %self.url, method, attempt = attempts, error = %err, retry_in = ?wait, "L1 RPC call failed; retrying");
            sleep_at_least(wait).await;
            delay = (delay * 2).min(self.config.rpc_retry_max.max(self.config.rpc_retry_initial));
        }
    }
}

async fn sleep_at_least(d: Duration) {
    tokio::time::sleep(d.max(Duration::from_millis(1))).await;
}

/// Whether an RPC failure is worth retrying: transport trouble (no
/// connection, timeout, HTTP 5xx/429/408), rate limits and empty answers.
fn is_transient(err: &TransportError) -> bool {
    match err {
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::NonRetryable(_) => false,
            TransportErrorKind::HttpError(http) => {
                http.status >= 500 || http.status == 429 || http.status == 408
            }
            _ => true,
        },
        RpcError::ErrorResp(payload) => payload.is_retry_err(),
        RpcError::NullResp => true,
        _ => false,
    }
}

/// The hash of a signed transaction in its EIP-2718 (or network) encoding;
/// zero when it does not decode.
pub fn tx_hash_of(raw: &[u8]) -> TxHash {
    decode_raw(raw).map(|(hash, _)| hash).unwrap_or_default()
}

/// Hash and nonce of a signed transaction.
fn decode_raw(raw: &[u8]) -> Option<(TxHash, u64)> {
    use alloy_consensus::Transaction as _;
    use alloy_eips::eip2718::Decodable2718;
    let envelope = TxEnvelope::decode_2718(&mut &raw[..]).ok()?;
    Some((*envelope.tx_hash(), envelope.nonce()))
}

/// `url` for logs: scheme, host and port; user info and any path (API keys
/// often live there) replaced by `***`.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let mut out = format!("{}://", u.scheme());
            if !u.username().is_empty() || u.password().is_some() {
                out.push_str("***@");
            }
            out.push_str(u.host_str().unwrap_or(""));
            if let Some(port) = u.port() {
                out.push_str(&format!(":{port}"));
            }
            if u.path() != "/" && !u.path().is_empty() || u.query().is_some() {
                out.push_str("/***");
            }
            out
        }
        Err(_) => "<unparseable URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets() {
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("https://mainnet.infura.io/v3/KEY"),
            "https://mainnet.infura.io/***"
        );
        assert_eq!(
            redact_url("https://u:p@node.example/"),
            "https://***@node.example"
        );
    }

    #[test]
    fn bump_rounds_up_and_moves() {
        assert_eq!(bump(0, 10), 1);
        assert_eq!(bump(10, 10), 11);
        assert_eq!(bump(11, 10), 13);
        assert_eq!(bump(1, 100), 2);
        assert_eq!(bump(u128::MAX, 100), u128::MAX);
    }
}
