//! Follows L1 to choose the L1 origin of the next L2 blocks: polls the L1 head
//! and hands the node the block `confirmations` below it.

use crate::node::Node;
use alloy_primitives::B256;
use rollup_core::block::L1Origin;
use serde_json::{Value, json};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Where and how to follow L1.
#[derive(Clone, Debug)]
pub struct L1FollowConfig {
    /// L1 JSON-RPC URL.
    pub rpc_url: String,
    /// Time between polls of the L1 head.
    pub poll_interval: Duration,
    /// The origin is this many blocks below the L1 head (protection against shallow reorgs).
    pub confirmations: u64,
}

/// Failures reading L1.
#[derive(Debug, thiserror::Error)]
pub enum L1FollowError {
    /// Transport failure.
    #[error("L1 request to {url} failed: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// Cause.
        source: reqwest::Error,
    },
    /// The node answered with an error or an unexpected shape.
    #[error("L1 node at {url} answered {method} unexpectedly: {detail}")]
    Answer {
        /// The URL.
        url: String,
        /// The method.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Reads L1 blocks over JSON-RPC.
#[derive(Clone, Debug)]
pub struct L1Reader {
    url: String,
    http: reqwest::Client,
}

impl L1Reader {
    /// A reader of the node at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("static client configuration"),
        }
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, L1FollowError> {
        let answer: Value = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|source| L1FollowError::Transport {
                url: self.url.clone(),
                source,
            })?
            .json()
            .await
            .map_err(|source| L1FollowError::Transport {
                url: self.url.clone(),
                source,
            })?;
        if let Some(error) = answer.get("error") {
            return Err(self.unexpected(method, error.to_string()));
        }
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    fn unexpected(&self, method: &'static str, detail: String) -> L1FollowError {
        L1FollowError::Answer {
            url: self.url.clone(),
            method,
            detail,
        }
    }

    /// Number and hash of the L1 block `tag` ("latest" or a hex number); `None` when absent.
    pub async fn block(&self, tag: &str) -> Result<Option<L1Origin>, L1FollowError> {
        let block = self
            .call("eth_getBlockByNumber", json!([tag, false]))
            .await?;
        if block.is_null() {
            return Ok(None);
        }
        let number = block
            .get("number")
            .and_then(Value::as_str)
            .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| {
                self.unexpected("eth_getBlockByNumber", format!("no number in {block}"))
            })?;
        let hash: B256 = block
            .get("hash")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                self.unexpected("eth_getBlockByNumber", format!("no hash in {block}"))
            })?;
        Ok(Some(L1Origin { number, hash }))
    }

    /// The block `confirmations` below the head.
    pub async fn origin(&self, confirmations: u64) -> Result<Option<L1Origin>, L1FollowError> {
        let Some(head) = self.block("latest").await? else {
            return Ok(None);
        };
        if confirmations == 0 {
            return Ok(Some(head));
        }
        let number = head.number.saturating_sub(confirmations);
        self.block(&format!("{number:#x}")).await
    }
}

/// Follows L1 for a node: one poll of the L1 head at a time.
#[derive(Debug)]
pub struct L1Follower {
    node: Arc<Node>,
    config: L1FollowConfig,
    reader: L1Reader,
    /// Whether the last poll failed (an outage is logged once).
    failing: bool,
}

impl L1Follower {
    /// A follower of `config.rpc_url` for `node`.
    pub fn new(node: Arc<Node>, config: L1FollowConfig) -> Self {
        Self {
            reader: L1Reader::new(config.rpc_url.clone()),
            node,
            config,
            failing: false,
        }
    }

    /// Reads the L1 head once and advances the node's L1 origin. L1 being down is
    /// logged (once per outage) and the node keeps its last origin meanwhile.
    pub async fn poll(&mut self) {
        match self.reader.origin(self.config.confirmations).await {
            Ok(Some(origin)) => {
                if self.failing {
                    tracing::info!(url = %self.config.rpc_url, "L1 answers again");
                    self.failing = false;
                }
                if self.node.advance_l1_origin(origin) {
                    tracing::debug!(number = origin.number, hash = %origin.hash, "new L1 origin");
                }
            }
            Ok(None) => {}
            Err(error) => {
                if !self.failing {
                    tracing::warn!(%error, "cannot read L1; keeping the current L1 origin");
                    self.failing = true;
                }
            }
        }
    }

    /// Polls every `poll_interval` until `cancel` (the first poll after one interval:
    /// the caller polls once before the builder starts).
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
            self.poll().await;
        }
    }
}
