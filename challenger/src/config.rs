//! Flags of the `challenger` binary (clap, with environment variables).

use crate::watcher::WatcherConfig;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::Address;
use clap::Parser;
use rollup_core::chain::{ChainConfig, Genesis};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Command-line flags of the `challenger` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "challenger",
    version,
    about = "Derives the L2 chain from L1 alone and checks every state root posted to the Rollup contract"
)]
pub struct ChallengerArgs {
    /// L1 JSON-RPC URL.
    #[arg(
        long = "l1.rpc-url",
        env = "CHALLENGER_L1_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    pub l1_rpc_url: String,
    /// Address of the Rollup contract on L1.
    #[arg(long = "rollup.address", env = "CHALLENGER_ROLLUP_ADDRESS")]
    pub rollup: Address,
    /// L1 block to start reading the Rollup's logs from (its deployment block).
    #[arg(
        long = "l1.from-block",
        env = "CHALLENGER_L1_FROM_BLOCK",
        default_value_t = 0
    )]
    pub from_block: u64,
    /// L2 genesis JSON file (the sequencer's); default: the dev genesis with --chain.id.
    #[arg(long = "chain.genesis", env = "CHALLENGER_GENESIS")]
    pub genesis: Option<PathBuf>,
    /// L2 chain id of the dev genesis (when no genesis file is given).
    #[arg(
        long = "chain.id",
        env = "CHALLENGER_CHAIN_ID",
        default_value_t = 42069
    )]
    pub chain_id: u64,
    /// Address of the JSON status endpoint (GET /status, GET /health).
    #[arg(
        long = "status.addr",
        env = "CHALLENGER_STATUS_ADDR",
        default_value = "127.0.0.1:9546"
    )]
    pub status_addr: SocketAddr,
    /// Milliseconds between checks of L1.
    #[arg(long = "poll-ms", env = "CHALLENGER_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// Address of the DisputeGames contract; without it the challenger only watches.
    #[arg(long = "games.address", env = "CHALLENGER_GAMES_ADDRESS")]
    pub games: Option<Address>,
    /// Private key (hex) of the account that opens and plays games and pays their bonds;
    /// required with --games.address. To defend a proposer's correct roots, the proposer
    /// authorizes this account with `DisputeGames.setDefender`.
    #[arg(
        long = "private-key",
        env = "CHALLENGER_PRIVATE_KEY",
        hide_env_values = true
    )]
    pub private_key: Option<String>,
    /// Database of the challenger's progress and games: `sqlite://path` (created if missing)
    /// or `postgres://…` (a database or schema of its own).
    #[arg(
        long = "db.url",
        env = "CHALLENGER_DB_URL",
        default_value = "sqlite://challenger.db"
    )]
    pub db_url: String,
    /// Log format: text or json (filter with RUST_LOG).
    #[arg(
        long = "log.format",
        env = "CHALLENGER_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,
}

/// Configuration problems.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The genesis file cannot be read.
    #[error("reading {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The genesis file is not valid.
    #[error("genesis file {0}: {1}")]
    Genesis(PathBuf, serde_json::Error),
    /// Games need a key.
    #[error("--games.address needs --private-key (CHALLENGER_PRIVATE_KEY)")]
    MissingKey,
    /// The key does not parse.
    #[error("--private-key is not a valid secp256k1 private key")]
    BadKey,
}

impl ChallengerArgs {
    /// The games contract and the key that plays, when games are played.
    pub fn player(&self) -> Result<Option<(Address, PrivateKeySigner)>, ConfigError> {
        let Some(games) = self.games else {
            return Ok(None);
        };
        let key = self.private_key.as_deref().ok_or(ConfigError::MissingKey)?;
        let signer = key.parse().map_err(|_| ConfigError::BadKey)?;
        Ok(Some((games, signer)))
    }

    /// The watcher's configuration.
    pub fn watcher_config(&self) -> Result<WatcherConfig, ConfigError> {
        let genesis = match &self.genesis {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                serde_json::from_str(&text).map_err(|e| ConfigError::Genesis(path.clone(), e))?
            }
            None => Genesis::dev(ChainConfig {
                chain_id: self.chain_id,
                ..ChainConfig::default()
            }),
        };
        Ok(WatcherConfig {
            l1_rpc_url: self.l1_rpc_url.clone(),
            rollup: self.rollup,
            genesis,
            from_block: self.from_block,
            poll: Duration::from_millis(self.poll_ms.max(10)),
        })
    }
}
