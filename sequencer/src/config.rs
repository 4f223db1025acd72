//! Configuration: clap flags with environment variables and an optional TOML
//! file, turned into the library [`Config`], and [`launch`], which starts a
//! whole node (store, builder, RPC) in-process for the binary and the tests.

use crate::{
    l1_origin::{L1FollowConfig, L1Follower},
    node::{Node, NodeConfig},
    parallel::{Engine, ParallelConfig},
    pool::PoolConfig,
    rpc::{RpcConfig, serve},
    store::Store,
    sync_l1::{SyncConfig, SyncReport, sync_from_l1},
};
use alloy_primitives::Address;
use clap::Parser;
use rollup_core::chain::{ChainConfig, Genesis};
use serde::Deserialize;
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Command-line flags of the `sequencer` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sequencer",
    version,
    about = "The rollup's L2 node: eth_ JSON-RPC, txpool, block production, persistence"
)]
pub struct SequencerArgs {
    /// TOML file with any of the options below (flags and env win over it).
    #[arg(long, env = "SEQUENCER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address the JSON-RPC server (HTTP and WebSocket on one port) listens on.
    #[arg(long = "rpc.addr", env = "SEQUENCER_RPC_ADDR")]
    pub rpc_addr: Option<SocketAddr>,
    /// Database URL: sqlite://path (created if missing) or postgres://…
    #[arg(long = "db.url", env = "SEQUENCER_DB_URL")]
    pub db_url: Option<String>,
    /// L2 chain id (used when no genesis file is given).
    #[arg(long = "chain.id", env = "SEQUENCER_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// Genesis JSON file; default: a dev genesis funding Anvil's ten dev accounts.
    #[arg(long = "chain.genesis", env = "SEQUENCER_GENESIS")]
    pub genesis: Option<PathBuf>,
    /// Block gas limit (dev genesis only).
    #[arg(long = "block.gas-limit", env = "SEQUENCER_BLOCK_GAS_LIMIT")]
    pub gas_limit: Option<u64>,
    /// Block interval in milliseconds; 0 seals as soon as there are transactions.
    #[arg(long = "block.time-ms", env = "SEQUENCER_BLOCK_TIME_MS")]
    pub block_time_ms: Option<u64>,
    /// Where priority fees go (dev genesis only).
    #[arg(long = "block.fee-vault", env = "SEQUENCER_FEE_VAULT")]
    pub fee_vault: Option<Address>,
    /// L1 RPC URL: the sequencer follows L1's head to give every L2 block an L1 origin.
    /// Without it, blocks record L1 origin 0 (a chain not anchored to any L1).
    #[arg(long = "l1.rpc-url", env = "SEQUENCER_L1_RPC_URL")]
    pub l1_rpc_url: Option<String>,
    /// Milliseconds between polls of the L1 head [default: 1000].
    #[arg(long = "l1.poll-ms", env = "SEQUENCER_L1_POLL_MS")]
    pub l1_poll_ms: Option<u64>,
    /// The L1 origin is this many blocks below the L1 head [default: 0].
    #[arg(
        long = "l1.origin-confirmations",
        env = "SEQUENCER_L1_ORIGIN_CONFIRMATIONS"
    )]
    pub l1_origin_confirmations: Option<u64>,
    /// Before starting, rebuild the database from L1: read every batch posted to the
    /// Rollup contract (--rollup.address) on --l1.rpc-url, derive its blocks from the
    /// genesis as the challenger does, check each commitment's state roots, and store the
    /// blocks (block hashes and state roots identical to the original sequencer's). Blocks
    /// already stored must equal the derived ones; missing ones are appended. Then the node
    /// runs as usual from the synced head, unless --exit-after-sync. An underivable
    /// commitment or a wrong claimed root stops the sync with an error naming it (the
    /// blocks before it stay stored) and the node does not start.
    #[arg(long = "sync-from-l1", env = "SEQUENCER_SYNC_FROM_L1")]
    pub sync_from_l1: bool,
    /// With --sync-from-l1: exit (status 0) after the sync, printing the synced head as
    /// one JSON line, instead of starting the node.
    #[arg(
        long = "exit-after-sync",
        env = "SEQUENCER_EXIT_AFTER_SYNC",
        requires = "sync_from_l1"
    )]
    pub exit_after_sync: bool,
    /// The Rollup contract on L1 (needed by --sync-from-l1).
    #[arg(long = "rollup.address", env = "SEQUENCER_ROLLUP_ADDRESS")]
    pub rollup_address: Option<Address>,
    /// First L1 block whose Rollup logs --sync-from-l1 reads (the contract's deployment
    /// block) [default: 0].
    #[arg(long = "l1.from-block", env = "SEQUENCER_L1_FROM_BLOCK")]
    pub l1_from_block: Option<u64>,
    /// Largest JSON-RPC request body in bytes.
    #[arg(long = "rpc.max-body-bytes", env = "SEQUENCER_RPC_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most requests in one JSON-RPC batch.
    #[arg(long = "rpc.max-batch", env = "SEQUENCER_RPC_MAX_BATCH")]
    pub max_batch: Option<usize>,
    /// Widest block range eth_getLogs accepts.
    #[arg(long = "rpc.max-logs-range", env = "SEQUENCER_RPC_MAX_LOGS_RANGE")]
    pub max_logs_range: Option<u64>,
    /// Gas cap of eth_call and eth_estimateGas.
    #[arg(long = "rpc.gas-cap", env = "SEQUENCER_RPC_GAS_CAP")]
    pub gas_cap: Option<u64>,
    /// Wall-clock limit of one eth_call / eth_estimateGas / eth_createAccessList in
    /// milliseconds, 0 for none [default: 5000].
    #[arg(long = "rpc.evm-timeout-ms", env = "SEQUENCER_RPC_EVM_TIMEOUT_MS")]
    pub evm_timeout_ms: Option<u64>,
    /// Most open RPC connections (HTTP and WebSocket); above it, HTTP 503 [default: 5000].
    #[arg(long = "rpc.max-connections", env = "SEQUENCER_RPC_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Milliseconds an HTTP connection may stay without sending a request before it
    /// is closed, 0 for never [default: 30000].
    #[arg(long = "rpc.idle-timeout-ms", env = "SEQUENCER_RPC_IDLE_TIMEOUT_MS")]
    pub idle_timeout_ms: Option<u64>,
    /// Most transactions in the pool.
    #[arg(long = "pool.max-txs", env = "SEQUENCER_POOL_MAX_TXS")]
    pub pool_max_txs: Option<usize>,
    /// Most pooled transactions per sender.
    #[arg(long = "pool.max-per-sender", env = "SEQUENCER_POOL_MAX_PER_SENDER")]
    pub pool_max_per_sender: Option<usize>,
    /// Block execution engine: parallel (speculative, validated in block
    /// order) or sequential (the reference executor) [default: parallel].
    #[arg(long = "exec.engine", env = "SEQUENCER_EXEC_ENGINE", value_enum)]
    pub exec_engine: Option<Engine>,
    /// Threads of the parallel engine [default: the machine's cores].
    #[arg(long = "exec.threads", env = "SEQUENCER_EXEC_THREADS")]
    pub exec_threads: Option<usize>,
    /// Log format: text or json (filter with RUST_LOG).
    #[arg(
        long = "log.format",
        env = "SEQUENCER_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
}

/// The same options, read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    rpc_addr: Option<SocketAddr>,
    db_url: Option<String>,
    chain_id: Option<u64>,
    genesis: Option<PathBuf>,
    gas_limit: Option<u64>,
    block_time_ms: Option<u64>,
    fee_vault: Option<Address>,
    l1_rpc_url: Option<String>,
    l1_poll_ms: Option<u64>,
    l1_origin_confirmations: Option<u64>,
    rollup_address: Option<Address>,
    l1_from_block: Option<u64>,
    max_body_bytes: Option<usize>,
    max_batch: Option<usize>,
    max_logs_range: Option<u64>,
    gas_cap: Option<u64>,
    evm_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    idle_timeout_ms: Option<u64>,
    pool_max_txs: Option<usize>,
    pool_max_per_sender: Option<usize>,
    exec_engine: Option<Engine>,
    exec_threads: Option<usize>,
}

/// Everything a node needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// RPC listen address (port 0 picks a free port).
    pub rpc_addr: SocketAddr,
    /// Database URL.
    pub db_url: String,
    /// Node settings (genesis, block time, pool).
    pub node: NodeConfig,
    /// RPC limits.
    pub rpc: RpcConfig,
    /// L1 to follow for L1 origins; `None` records origin 0.
    pub l1: Option<L1FollowConfig>,
    /// Rebuild the store from L1 before starting (`--sync-from-l1`).
    pub sync: Option<SyncConfig>,
}

impl Config {
    /// A dev configuration: dev genesis with `chain_id`, SQLite at `db_url`,
    /// blocks as soon as there are transactions, RPC on a free loopback port.
    pub fn dev(chain_id: u64, db_url: impl Into<String>) -> Self {
        Self {
            rpc_addr: "127.0.0.1:0".parse().expect("static address"),
            db_url: db_url.into(),
            node: NodeConfig {
                genesis: Genesis::dev(ChainConfig {
                    chain_id,
                    ..ChainConfig::default()
                }),
                block_time: Duration::ZERO,
                pool: PoolConfig::default(),
                engine: Engine::default(),
                parallel: ParallelConfig::default(),
            },
            rpc: RpcConfig::default(),
            l1: None,
            sync: None,
        }
    }
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
    /// Genesis JSON invalid.
    #[error("genesis file {0}: {1}")]
    Genesis(PathBuf, serde_json::Error),
    /// An option needs another one.
    #[error("{0} needs {1}")]
    Requires(&'static str, &'static str),
}

impl SequencerArgs {
    /// Merges flags/env over the TOML file over defaults.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Toml(path.clone(), e))?
            }
            None => FileConfig::default(),
        };
        let genesis_path = self.genesis.or(file.genesis);
        let genesis = match genesis_path {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                serde_json::from_str(&text).map_err(|e| ConfigError::Genesis(path.clone(), e))?
            }
            None => {
                let defaults = ChainConfig::default();
                Genesis::dev(ChainConfig {
                    chain_id: self.chain_id.or(file.chain_id).unwrap_or(defaults.chain_id),
                    gas_limit: self
                        .gas_limit
                        .or(file.gas_limit)
                        .unwrap_or(defaults.gas_limit),
                    fee_vault: self
                        .fee_vault
                        .or(file.fee_vault)
                        .unwrap_or(defaults.fee_vault),
                    ..defaults
                })
            }
        };
        let l1_rpc_url = self.l1_rpc_url.or(file.l1_rpc_url);
        let sync = if self.sync_from_l1 {
            Some(SyncConfig {
                l1_rpc_url: l1_rpc_url
                    .clone()
                    .ok_or(ConfigError::Requires("--sync-from-l1", "--l1.rpc-url"))?,
                rollup: self
                    .rollup_address
                    .or(file.rollup_address)
                    .ok_or(ConfigError::Requires("--sync-from-l1", "--rollup.address"))?,
                from_block: self.l1_from_block.or(file.l1_from_block).unwrap_or(0),
            })
        } else {
            None
        };
        let rpc_defaults = RpcConfig::default();
        let pool_defaults = PoolConfig::default();
        let parallel_defaults = ParallelConfig::default();
        Ok(Config {
            rpc_addr: self
                .rpc_addr
                .or(file.rpc_addr)
                .unwrap_or_else(|| "127.0.0.1:9545".parse().expect("static address")),
            db_url: self
                .db_url
                .or(file.db_url)
                .unwrap_or_else(|| "sqlite://data/sequencer.db".into()),
            node: NodeConfig {
                genesis,
                block_time: Duration::from_millis(
                    self.block_time_ms.or(file.block_time_ms).unwrap_or(1000),
                ),
                pool: PoolConfig {
                    max_total: self
                        .pool_max_txs
                        .or(file.pool_max_txs)
                        .unwrap_or(pool_defaults.max_total),
                    max_per_sender: self
                        .pool_max_per_sender
                        .or(file.pool_max_per_sender)
                        .unwrap_or(pool_defaults.max_per_sender),
                    ..pool_defaults
                },
                engine: self.exec_engine.or(file.exec_engine).unwrap_or_default(),
                parallel: ParallelConfig {
                    threads: self
                        .exec_threads
                        .or(file.exec_threads)
                        .unwrap_or(parallel_defaults.threads)
                        .max(1),
                    ..parallel_defaults
                },
            },
            rpc: RpcConfig {
                max_body_bytes: self
                    .max_body_bytes
                    .or(file.max_body_bytes)
                    .unwrap_or(rpc_defaults.max_body_bytes),
                max_batch: self
                    .max_batch
                    .or(file.max_batch)
                    .unwrap_or(rpc_defaults.max_batch),
                max_logs_range: self
                    .max_logs_range
                    .or(file.max_logs_range)
                    .unwrap_or(rpc_defaults.max_logs_range),
                gas_cap: self
                    .gas_cap
                    .or(file.gas_cap)
                    .unwrap_or(rpc_defaults.gas_cap),
                evm_timeout: self
                    .evm_timeout_ms
                    .or(file.evm_timeout_ms)
                    .map_or(rpc_defaults.evm_timeout, Duration::from_millis),
                max_connections: self
                    .max_connections
                    .or(file.max_connections)
                    .unwrap_or(rpc_defaults.max_connections)
                    .max(1),
                idle_timeout: self
                    .idle_timeout_ms
                    .or(file.idle_timeout_ms)
                    .map_or(rpc_defaults.idle_timeout, Duration::from_millis),
            },
            sync,
            l1: l1_rpc_url.map(|rpc_url| L1FollowConfig {
                rpc_url,
                poll_interval: Duration::from_millis(
                    self.l1_poll_ms.or(file.l1_poll_ms).unwrap_or(1000).max(10),
                ),
                confirmations: self
                    .l1_origin_confirmations
                    .or(file.l1_origin_confirmations)
                    .unwrap_or(0),
            }),
        })
    }
}

/// A running node.
#[derive(Debug)]
pub struct Running {
    /// The node.
    pub node: Arc<Node>,
    /// Address the RPC listens on.
    pub addr: SocketAddr,
    /// Cancels the builder and the server.
    pub cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://addr`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `ws://addr`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
    /// Stops everything and waits for it.
    pub async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Connects to the configured store (creating a SQLite file's folder).
async fn connect_store(db_url: &str) -> eyre::Result<Store> {
    if let Some(path) = db_url.strip_prefix("sqlite://")
        && let Some(parent) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(Store::connect(db_url).await?)
}

/// Rebuilds the configured store from L1 (`config.sync`, see [`crate::sync_l1`]);
/// `None` when no sync is configured.
pub async fn sync_store(config: &Config) -> eyre::Result<Option<SyncReport>> {
    let Some(sync) = &config.sync else {
        return Ok(None);
    };
    let store = connect_store(&config.db_url).await?;
    let report = sync_from_l1(&store, &config.node.genesis, sync).await?;
    tracing::info!(
        commitments = report.commitments,
        blocks_derived = report.blocks_derived,
        blocks_written = report.blocks_written,
        head = report.head,
        hash = %report.head_hash,
        state_root = %report.state_root,
        "synced from L1"
    );
    Ok(Some(report))
}

/// Starts store, node, builder and RPC server (after a sync from L1 when configured).
pub async fn launch(config: Config) -> eyre::Result<Running> {
    sync_store(&config).await?;
    let store = connect_store(&config.db_url).await?;
    let node = Node::open(config.node.clone(), store).await?;
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    if let Some(l1) = config.l1.clone() {
        // The first origin is read before the builder starts, so that block 1 of a fresh
        // devnet already refers to L1 (a failure is only logged: L1 may come later).
        let mut follower = L1Follower::new(node.clone(), l1);
        follower.poll().await;
        tasks.push(tokio::spawn(follower.run(cancel.clone())));
    }
    let builder = tokio::spawn(node.clone().run_builder(cancel.clone()));
    let (addr, server) = serve(
        node.clone(),
        config.rpc.clone(),
        config.rpc_addr,
        cancel.clone(),
    )
    .await?;
    tracing::info!(%addr, chain_id = node.chain.chain_id, "JSON-RPC listening");
    Ok(Running {
        node,
        addr,
        cancel,
        tasks: {
            tasks.extend([builder, server]);
            tasks
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_from_l1_needs_an_l1_and_the_rollup() {
        let missing = SequencerArgs::try_parse_from([
            "sequencer",
            "--sync-from-l1",
            "--l1.rpc-url",
            "http://127.0.0.1:8545",
        ])
        .expect("flags")
        .into_config();
        assert!(
            matches!(
                missing,
                Err(ConfigError::Requires("--sync-from-l1", "--rollup.address"))
            ),
            "{missing:?}"
        );
        assert!(
            SequencerArgs::try_parse_from(["sequencer", "--exit-after-sync"]).is_err(),
            "--exit-after-sync alone is refused"
        );
        let config = SequencerArgs::try_parse_from([
            "sequencer",
            "--sync-from-l1",
            "--exit-after-sync",
            "--l1.rpc-url",
            "http://127.0.0.1:8545",
            "--rollup.address",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "--l1.from-block",
            "7",
        ])
        .expect("flags")
        .into_config()
        .expect("config");
        let sync = config.sync.expect("sync configured");
        assert_eq!(sync.l1_rpc_url, "http://127.0.0.1:8545");
        assert_eq!(sync.from_block, 7);
        assert_eq!(
            sync.rollup,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                .parse::<Address>()
                .expect("address")
        );
        assert!(config.l1.is_some(), "the synced node follows L1 too");
    }

    #[test]
    fn rpc_abuse_limits_merge_flags_over_toml_over_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sequencer.toml");
        std::fs::write(
            &path,
            "evm-timeout-ms = 9\nmax-connections = 7\nidle-timeout-ms = 0\n",
        )
        .expect("write config");
        let args = SequencerArgs::try_parse_from([
            "sequencer",
            "--config",
            path.to_str().expect("utf-8 path"),
            "--rpc.evm-timeout-ms",
            "250",
        ])
        .expect("flags");
        let rpc = args.into_config().expect("config").rpc;
        assert_eq!(rpc.evm_timeout, Duration::from_millis(250), "flag wins");
        assert_eq!(rpc.max_connections, 7, "from the file");
        assert_eq!(rpc.idle_timeout, Duration::ZERO, "0 turns it off");

        let defaults = SequencerArgs::try_parse_from(["sequencer"])
            .expect("no flags")
            .into_config()
            .expect("config")
            .rpc;
        assert_eq!(defaults.evm_timeout, Duration::from_secs(5));
        assert_eq!(defaults.max_connections, 5_000);
        assert_eq!(defaults.idle_timeout, Duration::from_secs(30));
        assert_eq!(defaults.gas_cap, 50_000_000);
        assert_eq!(defaults.max_body_bytes, 5 * 1024 * 1024);
        assert_eq!(defaults.max_batch, 1000);
        assert_eq!(defaults.max_logs_range, 10_000);
    }
}
