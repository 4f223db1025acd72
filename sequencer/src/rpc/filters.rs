//! Polling filters (eth_newFilter, eth_newBlockFilter,
//! eth_newPendingTransactionFilter, eth_getFilterChanges) and WebSocket
//! subscriptions (newHeads, logs, newPendingTransactions).

use super::{
    WsConn, convert,
    error::{RpcError, RpcResult},
};
use crate::node::{ChainEvent, Node};
use alloy_primitives::{B256, U128};
use alloy_rpc_types_eth::{Filter, Log};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

/// How long an unpolled filter lives (geth: 5 minutes).
const FILTER_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
enum Kind {
    Blocks(Vec<B256>),
    Pending(Vec<B256>),
    Logs {
        filter: Box<Filter>,
        next_block: u64,
    },
}

#[derive(Debug)]
struct Installed {
    kind: Kind,
    last_poll: Instant,
}

/// Installed polling filters.
#[derive(Debug)]
pub struct Filters {
    node: Arc<Node>,
    installed: Arc<Mutex<HashMap<U128, Installed>>>,
}

fn new_id() -> U128 {
    U128::from(rand_u128())
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let a = h.finish() as u128;
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a as u64);
    (a << 64) | h2.finish() as u128
}

impl Filters {
    /// Starts the task that feeds block and pending filters.
    pub fn new(node: Arc<Node>) -> Self {
        let installed: Arc<Mutex<HashMap<U128, Installed>>> = Default::default();
        let feed = installed.clone();
        let mut events = node.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let mut filters = feed.lock();
                        filters.retain(|_, f| f.last_poll.elapsed() < FILTER_TIMEOUT);
                        for f in filters.values_mut() {
                            match (&mut f.kind, &event) {
                                (Kind::Blocks(v), ChainEvent::NewBlock(b)) => v.push(b.hash),
                                (Kind::Pending(v), ChainEvent::PendingTx(h)) => v.push(*h),
                                _ => {}
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        });
        Self { node, installed }
    }

    fn install(&self, kind: Kind) -> U128 {
        let id = new_id();
        self.installed.lock().insert(
            id,
            Installed {
                kind,
                last_poll: Instant::now(),
            },
        );
        id
    }

    /// eth_newFilter.
    pub fn new_log_filter(&self, filter: Filter) -> U128 {
        let next_block = filter
            .get_from_block()
            .unwrap_or(self.node.head_number() + 1);
        self.install(Kind::Logs {
            filter: Box::new(filter),
            next_block,
        })
    }

    /// eth_newBlockFilter.
    pub fn new_block_filter(&self) -> U128 {
        self.install(Kind::Blocks(vec![]))
    }

    /// eth_newPendingTransactionFilter.
    pub fn new_pending_filter(&self) -> U128 {
        self.install(Kind::Pending(vec![]))
    }

    /// eth_uninstallFilter.
    pub fn uninstall(&self, id: U128) -> bool {
        self.installed.lock().remove(&id).is_some()
    }

    /// eth_getFilterChanges: for log filters returns the range to query next.
    pub fn changes(&self, id: U128) -> RpcResult<Changes> {
        let head = self.node.head_number();
        let mut filters = self.installed.lock();
        let f = filters
            .get_mut(&id)
            .ok_or_else(|| RpcError::server("filter not found"))?;
        f.last_poll = Instant::now();
        Ok(match &mut f.kind {
            Kind::Blocks(v) => Changes::Hashes(std::mem::take(v)),
            Kind::Pending(v) => Changes::Hashes(std::mem::take(v)),
            Kind::Logs { filter, next_block } => {
                let from = *next_block;
                let to = filter.get_to_block().map_or(head, |t| t.min(head));
                *next_block = (*next_block).max(to + 1);
                Changes::Logs(filter.clone(), from, to)
            }
        })
    }

    /// The filter of a log filter (eth_getFilterLogs).
    pub fn log_filter(&self, id: U128) -> RpcResult<Filter> {
        let mut filters = self.installed.lock();
        let f = filters
            .get_mut(&id)
            .ok_or_else(|| RpcError::server("filter not found"))?;
        f.last_poll = Instant::now();
        match &f.kind {
            Kind::Logs { filter, .. } => Ok((**filter).clone()),
            _ => Err(RpcError::server("filter not found")),
        }
    }
}

/// What a poll returns.
#[derive(Debug)]
pub enum Changes {
    /// Block or transaction hashes.
    Hashes(Vec<B256>),
    /// A log filter and the block range to scan.
    Logs(Box<Filter>, u64, u64),
}

/// eth_subscribe over a WebSocket connection.
pub fn subscribe(node: &Arc<Node>, conn: &Arc<WsConn>, params: Vec<Value>) -> RpcResult {
    let kind = params
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("missing subscription kind"))?;
    let id = format!("{:#x}", new_id());
    let mut events = node.subscribe();
    let out = conn.out.clone();
    let sub_id = id.clone();
    let send = move |result: Value| {
        let msg = json!({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sub_id, "result": result}});
        out.send(msg.to_string()).is_ok()
    };
    let task = match kind {
        "newHeads" => tokio::spawn(async move {
            while let Some(event) = next_event(&mut events).await {
                if let ChainEvent::NewBlock(b) = event
                    && !send(json!(convert::rpc_header(&b.header, b.hash)))
                {
                    break;
                }
            }
        }),
        "newPendingTransactions" => tokio::spawn(async move {
            while let Some(event) = next_event(&mut events).await {
                if let ChainEvent::PendingTx(h) = event
                    && !send(json!(h))
                {
                    break;
                }
            }
        }),
        "logs" => {
            let filter: Filter = match params.get(1) {
                Some(v) => serde_json::from_value(v.clone()).map_err(RpcError::invalid_params)?,
                None => Filter::default(),
            };
            tokio::spawn(async move {
                while let Some(event) = next_event(&mut events).await {
                    if let ChainEvent::NewBlock(b) = event {
                        for log in block_logs(&b).into_iter().filter(|l| filter.rpc_matches(l)) {
                            if !send(json!(log)) {
                                return;
                            }
                        }
                    }
                }
            })
        }
        other => {
            return Err(RpcError::invalid_params(format!(
                "unsupported subscription kind {other}"
            )));
        }
    };
    conn.subs.lock().insert(id.clone(), task);
    Ok(json!(id))
}

async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<ChainEvent>,
) -> Option<ChainEvent> {
    loop {
        match events.recv().await {
            Ok(e) => return Some(e),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "subscriber lagged");
            }
            Err(_) => return None,
        }
    }
}

/// All logs of a freshly sealed block.
pub fn block_logs(block: &rollup_core::block::SealedBlock) -> Vec<Log> {
    let mut out = Vec::new();
    let mut index = 0u64;
    for (i, t) in block.txs.iter().enumerate() {
        let stored = crate::store::StoredTx {
            tx: t.tx.clone(),
            block_number: block.number(),
            index: i as u64,
            receipt: t.receipt.clone(),
            gas_used: t.gas_used,
            contract_address: t.contract_address,
        };
        let logs = convert::rpc_logs(&stored, block.hash, &block.header, index);
        index += logs.len() as u64;
        out.extend(logs);
    }
    out
}
