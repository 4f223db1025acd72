//! Configuration of the `batcher` binary: clap flags with environment
//! variables over an optional TOML file over defaults.

use crate::{service::BatcherConfig, txmgr::TxManagerConfig};
use alloy_primitives::{Address, U256};
use clap::{Parser, ValueEnum};
use serde::Deserialize;
use std::{path::PathBuf, time::Duration};

/// Where batch data goes on L1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    /// Transaction calldata (`submitBatch`, `stageBatchData`).
    #[default]
    Calldata,
    /// EIP-4844 blobs (`submitBatchBlobs`, `stageBatchBlobs`).
    Blobs,
}

impl DataKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calldata => "calldata",
            Self::Blobs => "blobs",
        }
    }
}

/// Command-line flags of the `batcher` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "batcher",
    version,
    about = "Posts the sequencer's L2 blocks to the L1 Rollup contract as compressed batches with their state roots and bonds"
)]
pub struct BatcherArgs {
    /// TOML file with any of the options below (flags and env win over it).
    #[arg(long, env = "BATCHER_CONFIG")]
    pub config: Option<PathBuf>,
    /// L1 JSON-RPC URL.
    #[arg(long = "l1.rpc-url", env = "BATCHER_L1_RPC_URL")]
    pub l1_rpc_url: Option<String>,
    /// The sequencer's JSON-RPC URL (it must serve debug_getRawBlock).
    #[arg(long = "l2.rpc-url", env = "BATCHER_L2_RPC_URL")]
    pub l2_rpc_url: Option<String>,
    /// Database URL for the batcher's progress: sqlite://path or postgres://… (its own database).
    #[arg(long = "db.url", env = "BATCHER_DB_URL")]
    pub db_url: Option<String>,
    /// Address of the Rollup contract on L1.
    #[arg(long = "rollup.address", env = "BATCHER_ROLLUP_ADDRESS")]
    pub rollup: Option<Address>,
    /// Private key of the batcher account (the Rollup's permitted batcher).
    #[arg(
        long = "private-key",
        env = "BATCHER_PRIVATE_KEY",
        hide_env_values = true
    )]
    pub private_key: Option<String>,
    /// Carry batches in calldata or in EIP-4844 blobs [default: calldata].
    #[arg(long = "data.kind", env = "BATCHER_DATA_KIND", value_enum)]
    pub data_kind: Option<DataKind>,
    /// Most L2 blocks in one batch [default: 600].
    #[arg(long = "batch.max-blocks", env = "BATCHER_MAX_BLOCKS")]
    pub max_blocks: Option<u64>,
    /// Post at least this often (milliseconds) while there are unposted blocks [default: 6000].
    #[arg(long = "batch.interval-ms", env = "BATCHER_INTERVAL_MS")]
    pub interval_ms: Option<u64>,
    /// Largest calldata piece in bytes; bigger batches span several L1 transactions [default: 120000].
    #[arg(long = "batch.max-piece-bytes", env = "BATCHER_MAX_PIECE_BYTES")]
    pub max_piece_bytes: Option<usize>,
    /// Most pieces (L1 transactions) per batch [default: 16].
    #[arg(long = "batch.max-pieces", env = "BATCHER_MAX_PIECES")]
    pub max_pieces: Option<usize>,
    /// Brotli quality of batches, 0..=11: 11 is the smallest (about 1 MB/s of raw
    /// transactions per core), 5 about 1% larger and about 50x faster [default: 11].
    #[arg(long = "batch.compression-quality", env = "BATCHER_COMPRESSION_QUALITY", value_parser = clap::value_parser!(u32).range(0..=11))]
    pub compression_quality: Option<u32>,
    /// Bond sent with each commitment, in wei [default: the contract's minimum].
    #[arg(long = "bond-wei", env = "BATCHER_BOND_WEI")]
    pub bond_wei: Option<U256>,
    /// L1 confirmations after which a batch is recorded final [default: 3].
    #[arg(long = "l1.confirmations", env = "BATCHER_L1_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Milliseconds between checks of the sequencer, L1 and pending receipts [default: 500].
    #[arg(long = "poll-ms", env = "BATCHER_POLL_MS")]
    pub poll_ms: Option<u64>,
    /// Seconds an L1 transaction may stay unmined before it is replaced with higher fees [default: 12].
    #[arg(long = "l1.resubmit-after-secs", env = "BATCHER_RESUBMIT_AFTER_SECS")]
    pub resubmit_after_secs: Option<u64>,
    /// Percent by which a replacement raises the fees [default: 20].
    #[arg(long = "l1.fee-bump-percent", env = "BATCHER_FEE_BUMP_PERCENT")]
    pub fee_bump_percent: Option<u64>,
    /// Highest max fee per gas the batcher will bid, in wei [default: 500 gwei].
    #[arg(long = "l1.max-fee-per-gas", env = "BATCHER_MAX_FEE_PER_GAS")]
    pub max_fee_per_gas: Option<u128>,
    /// Warn when the batcher's L1 balance is below this, in wei [default: 1 ether].
    #[arg(long = "l1.min-balance-wei", env = "BATCHER_MIN_BALANCE_WEI")]
    pub min_balance_wei: Option<U256>,
    /// Log format: text or json (filter with RUST_LOG).
    #[arg(
        long = "log.format",
        env = "BATCHER_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
}

/// The same options, read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    l1_rpc_url: Option<String>,
    l2_rpc_url: Option<String>,
    db_url: Option<String>,
    rollup_address: Option<Address>,
    private_key: Option<String>,
    data_kind: Option<DataKind>,
    max_blocks: Option<u64>,
    interval_ms: Option<u64>,
    max_piece_bytes: Option<usize>,
    max_pieces: Option<usize>,
    compression_quality: Option<u32>,
    bond_wei: Option<U256>,
    confirmations: Option<u64>,
    poll_ms: Option<u64>,
    resubmit_after_secs: Option<u64>,
    fee_bump_percent: Option<u64>,
    max_fee_per_gas: Option<u128>,
    min_balance_wei: Option<U256>,
}

/// Configuration problems.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("reading {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// TOML syntax or unknown key.
    #[error("config file {0}: {1}")]
    Toml(PathBuf, toml::de::Error),
    /// A required option is missing.
    #[error("missing option {0} (flag, environment variable or config file)")]
    Missing(&'static str),
    /// An option has an unusable value.
    #[error("invalid {0}: {1}")]
    Invalid(&'static str, String),
}

impl BatcherArgs {
    /// Merges flags/env over the TOML file over defaults.
    pub fn into_config(self) -> Result<BatcherConfig, ConfigError> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Toml(path.clone(), e))?
            }
            None => FileConfig::default(),
        };
        let private_key = self
            .private_key
            .or(file.private_key)
            .ok_or(ConfigError::Missing("--private-key"))?;
        let signer = private_key
            .trim()
            .parse()
            .map_err(|e| ConfigError::Invalid("--private-key", format!("{e}")))?;
        let defaults = BatcherConfig::defaults_for(signer);
        let txmgr_defaults = TxManagerConfig::default();
        let max_piece_bytes = self
            .max_piece_bytes
            .or(file.max_piece_bytes)
            .unwrap_or(defaults.max_piece_bytes);
        if max_piece_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "--batch.max-piece-bytes",
                format!("{max_piece_bytes} is below 1024"),
            ));
        }
        let poll = self
            .poll_ms
            .or(file.poll_ms)
            .map(Duration::from_millis)
            .unwrap_or(defaults.poll);
        Ok(BatcherConfig {
            l1_rpc_url: self
                .l1_rpc_url
                .or(file.l1_rpc_url)
                .unwrap_or_else(|| "http://127.0.0.1:8545".into()),
            l2_rpc_url: self
                .l2_rpc_url
                .or(file.l2_rpc_url)
                .unwrap_or_else(|| "http://127.0.0.1:9545".into()),
            db_url: self
                .db_url
                .or(file.db_url)
                .unwrap_or_else(|| "sqlite://data/batcher.db".into()),
            rollup: self
                .rollup
                .or(file.rollup_address)
                .ok_or(ConfigError::Missing("--rollup.address"))?,
            data_kind: self.data_kind.or(file.data_kind).unwrap_or_default(),
            max_blocks: self
                .max_blocks
                .or(file.max_blocks)
                .unwrap_or(defaults.max_blocks)
                .max(1),
            interval: self
                .interval_ms
                .or(file.interval_ms)
                .map(Duration::from_millis)
                .unwrap_or(defaults.interval),
            max_piece_bytes,
            max_pieces: self
                .max_pieces
                .or(file.max_pieces)
                .unwrap_or(defaults.max_pieces)
                .clamp(1, 64),
            compression_quality: self
                .compression_quality
                .or(file.compression_quality)
                .unwrap_or(defaults.compression_quality),
            bond: self.bond_wei.or(file.bond_wei),
            confirmations: self
                .confirmations
                .or(file.confirmations)
                .unwrap_or(defaults.confirmations),
            poll,
            txmgr: TxManagerConfig {
                resubmit_after: self
                    .resubmit_after_secs
                    .or(file.resubmit_after_secs)
                    .map(Duration::from_secs)
                    .unwrap_or(txmgr_defaults.resubmit_after),
                fee_bump_percent: self
                    .fee_bump_percent
                    .or(file.fee_bump_percent)
                    .unwrap_or(txmgr_defaults.fee_bump_percent),
                max_fee_per_gas_cap: self
                    .max_fee_per_gas
                    .or(file.max_fee_per_gas)
                    .unwrap_or(txmgr_defaults.max_fee_per_gas_cap),
                min_balance_wei: self
                    .min_balance_wei
                    .or(file.min_balance_wei)
                    .unwrap_or(txmgr_defaults.min_balance_wei),
                // Receipts are looked for as often as the rest (at most every second).
                receipt_poll: poll.min(txmgr_defaults.receipt_poll),
                ..txmgr_defaults
            },
            signer: defaults.signer,
        })
    }
}
