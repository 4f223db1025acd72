//! The node: head state, pool intake with durable group commit, and the block
//! builder loop. Every block is persisted before it is exposed, and every
//! transaction is persisted before its hash is returned.

use crate::{
    parallel::{Engine, ParallelConfig, execute_with, on_engine_threads},
    pool::{PoolConfig, PoolError, PoolTx, SenderState, TxPool},
    store::{Store, StoreError},
};
use alloy_consensus::{Header, TxEnvelope, transaction::Recovered};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, U256};
use parking_lot::{Mutex, RwLock};
use rollup_core::{
    block::{L1Origin, SealedBlock, genesis_header, next_block_input, seal_block},
    chain::{ChainConfig, Genesis},
    error::StateError,
    executor::BlockInput,
    state::{AccountState, StateChanges, StateReader, WorldState},
    trie::StateCommitment,
    tx::{IntakeError, check_provable, decode_and_check},
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Node settings.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Genesis (and with it the chain rules).
    pub genesis: Genesis,
    /// Block interval; zero means "as soon as there are transactions".
    pub block_time: Duration,
    /// Pool limits.
    pub pool: PoolConfig,
    /// Block execution engine.
    pub engine: Engine,
    /// Threads and thresholds of the parallel engine.
    pub parallel: ParallelConfig,
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Stateless check failed.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Pool check failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The store could not make it durable: not acknowledged.
    #[error("transaction not stored: {0}")]
    Store(String),
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Node failures at startup.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored chain does not match the configuration or its own roots.
    #[error("inconsistent chain: {0}")]
    Inconsistent(String),
}

/// Events published to subscribers.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block was sealed and persisted.
    NewBlock(Arc<SealedBlock>),
    /// A transaction entered the pool.
    PendingTx(B256),
}

/// The head of the chain in memory.
#[derive(Debug)]
pub struct Head {
    /// Head header.
    pub header: Header,
    /// Its hash.
    pub hash: B256,
    /// State at the head.
    pub state: WorldState,
}

/// A sealed block whose commit reported an error. It is retried exactly as it is, never
/// rebuilt: the commit may have reached the database although its answer did not (a
/// database server that crashed in between), and then this block, not another one with
/// the same number, is the chain.
struct Unpersisted {
    block: SealedBlock,
    changes: StateChanges,
    dropped: Vec<B256>,
}

struct PoolWrite {
    tx: Arc<PoolTx>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The sequencer node, shared by the RPC server and the builder.
pub struct Node {
    /// Chain rules.
    pub chain: ChainConfig,
    config: NodeConfig,
    head: RwLock<Head>,
    pool: Mutex<TxPool>,
    /// The state commitment and the block it is at (owned by the builder).
    commitment: Mutex<(u64, StateCommitment)>,
    /// Durable storage.
    pub store: Store,
    events: broadcast::Sender<ChainEvent>,
    pool_writes: mpsc::Sender<PoolWrite>,
    wake_builder: tokio::sync::Notify,
    /// The L1 block the next L2 block refers to (see [`L1Origin`]); only moves forward.
    l1_origin: Mutex<L1Origin>,
    /// A sealed block not known to be stored yet (owned by the builder).
    unpersisted: Mutex<Option<Unpersisted>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Opens the store, writes genesis or resumes from the stored head,
    /// reloads the durable pool, and starts the pool writer.
    pub async fn open(config: NodeConfig, store: Store) -> Result<Arc<Self>, NodeError> {
        let chain = config.genesis.config.clone();
        let chain_bytes = serde_json::to_vec(&config.genesis).unwrap_or_default();
        let (header, hash, state) = match store.head_number().await? {
            None => {
                let state = config.genesis.state();
                let root = StateCommitment::from_state(&state).root();
                let header = genesis_header(&chain, config.genesis.timestamp, root);
                let block = SealedBlock {
                    hash: header.hash_slow(),
                    header,
                    txs: vec![],
                };
                store.insert_genesis(&block, &state).await?;
                store.set_meta("genesis", &chain_bytes).await?;
                (block.header, block.hash, state)
            }
            Some(number) => {
                if let Some(stored) = store.meta("genesis").await?
                    && stored != chain_bytes
                {
                    return Err(NodeError::Inconsistent(
                        "store was created with a different genesis".into(),
                    ));
                }
                let (header, hash) = store.header_by_number(number).await?.ok_or_else(|| {
                    NodeError::Inconsistent(format!("head block {number} missing"))
                })?;
                let state = store.load_state(number).await?;
                (header, hash, state)
            }
        };
        let mut state = state;
        let mut commitment = StateCommitment::from_state(&state);
        if commitment.root() != header.state_root {
            return Err(NodeError::Inconsistent(format!(
                "state root of block {} is {}, recomputed {}",
                header.number,
                header.state_root,
                commitment.root()
            )));
        }
        let first = header.number.saturating_sub(255);
        for (h, hash) in store.headers_in_range(first, header.number).await? {
            state.record_block_hash(h.number, hash);
        }
        let l1_origin = L1Origin::from_header(&header).unwrap_or_default();
        let (events, _) = broadcast::channel(4096);
        let (pool_writes, writes_rx) = mpsc::channel(65_536);
        let node = Arc::new(Self {
            chain,
            head: RwLock::new(Head {
                header: header.clone(),
                hash,
                state,
            }),
            pool: Mutex::new(TxPool::new(config.pool.clone())),
            commitment: Mutex::new((header.number, commitment)),
            config,
            store: store.clone(),
            events,
            pool_writes,
            wake_builder: tokio::sync::Notify::new(),
            l1_origin: Mutex::new(l1_origin),
            unpersisted: Mutex::new(None),
        });
        tokio::spawn(pool_writer(store.clone(), writes_rx));
        node.reload_pool().await?;
        tracing::info!(head = header.number, hash = %hash, "chain opened");
        Ok(node)
    }

    async fn reload_pool(&self) -> Result<(), NodeError> {
        let stored = self.store.pool_txs().await?;
        let mut stale = Vec::new();
        let mut restored = 0usize;
        for (seq, raw) in stored {
            let Ok(tx) = decode_and_check(&raw, &self.chain) else {
                continue;
            };
            let hash = *tx.inner().tx_hash();
            if self.store.tx_by_hash(hash).await?.is_some() {
                stale.push(hash);
                continue;
            }
            let head = self.head.read();
            let base_fee = self.next_base_fee_locked(&head);
            let sender = sender_state(&head.state, tx.signer())
                .map_err(|e| NodeError::Inconsistent(e.to_string()))?;
            match self.pool.lock().add(tx, raw, sender, base_fee, Some(seq)) {
                Ok(_) => restored += 1,
                Err(_) => stale.push(hash),
            }
        }
        self.store.delete_pool_txs(&stale).await?;
        if restored > 0 {
            tracing::info!(restored, dropped = stale.len(), "pool restored from store");
            self.wake_builder.notify_one();
        }
        Ok(())
    }

    /// Subscribes to chain events.
    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// Runs `f` with the head (header, hash, state) under the read lock.
    pub fn with_head<T>(&self, f: impl FnOnce(&Head) -> T) -> T {
        f(&self.head.read())
    }

    /// Head block number.
    pub fn head_number(&self) -> u64 {
        self.head.read().header.number
    }

    fn next_base_fee_locked(&self, head: &Head) -> u64 {
        next_block_input(&self.chain, &head.header, head.hash, head.header.timestamp).base_fee
    }

    /// Base fee of the next block.
    pub fn next_base_fee(&self) -> u64 {
        self.next_base_fee_locked(&self.head.read())
    }

    /// Inputs of the next block, as the builder will use them (for "pending").
    pub fn pending_block_input(&self) -> BlockInput {
        let head = self.head.read();
        next_block_input(&self.chain, &head.header, head.hash, now_secs())
    }

    /// Nonce including pooled transactions.
    pub fn pending_nonce(&self, address: Address) -> Result<u64, StateError> {
        let head = self.head.read();
        let nonce = head
            .state
            .account(address)?
            .map(|a| a.nonce)
            .unwrap_or_default();
        Ok(self.pool.lock().pending_nonce(address, nonce))
    }

    /// A pooled transaction.
    pub fn pooled(&self, hash: &B256) -> Option<Arc<PoolTx>> {
        self.pool.lock().get(hash)
    }

    /// Number of pooled transactions.
    pub fn pool_len(&self) -> usize {
        self.pool.lock().len()
    }

    /// A proof against the head if the commitment is at block `number`.
    pub fn proof_at(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Option<rollup_core::trie::AccountProof> {
        let guard = self.commitment.lock();
        (guard.0 == number).then(|| guard.1.proof(address, slots))
    }

    /// Accepts raw transaction bytes: checks, pools, makes durable, then returns the hash.
    pub async fn submit_raw(&self, raw: Bytes) -> Result<B256, SubmitError> {
        let tx = decode_and_check(&raw, &self.chain)?;
        self.submit(tx, raw).await
    }

    /// Accepts a decoded, checked transaction.
    pub async fn submit(&self, tx: Recovered<TxEnvelope>, raw: Bytes) -> Result<B256, SubmitError> {
        // Not part of the chain: the shapes the fault proof cannot prove (also checked by
        // `decode_and_check`; a transaction handed over decoded is checked here).
        check_provable(tx.inner())?;
        let hash = *tx.inner().tx_hash();
        let (pooled, replaced) = {
            let head = self.head.read();
            let base_fee = self.next_base_fee_locked(&head);
            let sender = sender_state(&head.state, tx.signer())?;
            self.pool.lock().add(tx, raw, sender, base_fee, None)?
        };
        let (done, ack) = oneshot::channel();
        let stored = match self.pool_writes.send(PoolWrite { tx: pooled, done }).await {
            Ok(()) => ack
                .await
                .unwrap_or_else(|_| Err("pool writer stopped".into())),
            Err(_) => Err("pool writer stopped".into()),
        };
        if let Err(e) = stored {
            let mut pool = self.pool.lock();
            pool.remove(&hash);
            if let Some(old) = replaced {
                let old = Arc::try_unwrap(old).unwrap_or_else(|a| PoolTx {
                    tx: a.tx.clone(),
                    hash: a.hash,
                    raw: a.raw.clone(),
                    seq: a.seq,
                });
                let head = self.head.read();
                let base_fee = self.next_base_fee_locked(&head);
                if let Ok(sender) = sender_state(&head.state, old.tx.signer()) {
                    let _ = pool.add(old.tx, old.raw, sender, base_fee, Some(old.seq));
                }
            }
            return Err(SubmitError::Store(e));
        }
        if let Some(old) = replaced {
            let _ = self.store.delete_pool_txs(&[old.hash]).await;
        }
        let _ = self.events.send(ChainEvent::PendingTx(hash));
        self.wake_builder.notify_one();
        Ok(hash)
    }

    /// The builder loop: seals a block every `block_time`, or as soon as there
    /// are transactions when `block_time` is zero, until cancelled.
    pub async fn run_builder(self: Arc<Self>, cancel: CancellationToken) {
        let instant = self.config.block_time.is_zero();
        let mut ticker = tokio::time::interval(if instant {
            Duration::from_millis(250)
        } else {
            self.config.block_time
        });
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = self.wake_builder.notified(), if instant => {},
                _ = ticker.tick() => {},
            }
            if instant && self.pool_len() == 0 {
                continue;
            }
            let node = self.clone();
            let result = tokio::task::spawn_blocking(move || node.build_block_blocking()).await;
            match result {
                Ok(Ok(Some(block))) => tracing::debug!(
                    number = block.number(),
                    txs = block.txs.len(),
                    "sealed block"
                ),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "block production failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => tracing::error!(error = %e, "builder task panicked"),
            }
            if instant && self.pool_len() > 0 {
                self.wake_builder.notify_one();
            }
        }
    }

    /// The L1 origin the next block will record.
    pub fn l1_origin(&self) -> L1Origin {
        *self.l1_origin.lock()
    }

    /// Moves the L1 origin of the next blocks to `origin`. An origin older than the current
    /// one is ignored (origins never go back); returns whether it was taken.
    pub fn advance_l1_origin(&self, origin: L1Origin) -> bool {
        let mut current = self.l1_origin.lock();
        if origin.number < current.number || origin == *current {
            return false;
        }
        *current = origin;
        true
    }

    /// Builds, persists and exposes one block. Runs on a blocking thread. A block whose
    /// commit failed is retried first, as it is.
    pub fn build_block_blocking(&self) -> Result<Option<Arc<SealedBlock>>, String> {
        let rt = tokio::runtime::Handle::current();
        let pending = self.unpersisted.lock().take();
        if let Some(pending) = pending {
            return self.persist_and_expose(&rt, pending).map(Some);
        }
        let started = std::time::Instant::now();
        let (input, parent_hash, outcome) = {
            let head = self.head.read();
            let input = next_block_input(&self.chain, &head.header, head.hash, now_secs());
            let txs: Vec<_> = {
                let pool = self.pool.lock();
                pool.select(input.base_fee, input.gas_limit, |a| {
                    head.state
                        .account(a)
                        .ok()
                        .flatten()
                        .map(|a| a.nonce)
                        .unwrap_or_default()
                })
            };
            if txs.is_empty() && self.config.block_time.is_zero() {
                return Ok(None);
            }
            let txs = txs.iter().map(|t| t.tx.clone()).collect();
            let outcome = execute_with(
                self.config.engine,
                &head.state,
                &self.chain,
                &input,
                txs,
                &self.config.parallel,
            )
            .map_err(|e| e.to_string())?;
            (input, head.hash, outcome)
        };
        let executed = started.elapsed();
        let l1_origin = self.l1_origin();
        let changes = outcome.changes.clone();
        let dropped: Vec<B256> = outcome
            .rejected
            .iter()
            .filter(|(_, r)| {
                !matches!(
                    r,
                    rollup_core::error::TxRejection::BlockGasExhausted
                        | rollup_core::error::TxRejection::NonceTooHigh { .. }
                )
            })
            .map(|(h, _)| *h)
            .collect();
        let root = {
            // The state root is hashed on the parallel engine's threads too.
            let threads = match self.config.engine {
                Engine::Parallel => self.config.parallel.threads,
                Engine::Sequential => 1,
            };
            let mut commitment = self.commitment.lock();
            commitment.0 = input.number;
            let trie = &mut commitment.1;
            on_engine_threads(threads, || {
                trie.apply_with_threads(&changes, threads);
                trie.root_with_threads(threads)
            })
        };
        let block = seal_block(parent_hash, &input, outcome, root, l1_origin);
        let sealed = started.elapsed();
        let exposed = self.persist_and_expose(
            &rt,
            Unpersisted {
                block,
                changes,
                dropped,
            },
        )?;
        tracing::debug!(
            number = exposed.number(),
            txs = exposed.txs.len(),
            execute_ms = executed.as_secs_f64() * 1e3,
            root_ms = (sealed - executed).as_secs_f64() * 1e3,
            persist_ms = (started.elapsed() - sealed).as_secs_f64() * 1e3,
            "built block"
        );
        Ok(Some(exposed))
    }

    /// Commits `pending` to the store, then exposes it. When the commit reports an error
    /// the block is exposed anyway if the store holds it (the commit went through and only
    /// its answer was lost); otherwise nothing is exposed and the block is kept to be
    /// retried as it is (the state commitment stays at it).
    fn persist_and_expose(
        &self,
        rt: &tokio::runtime::Handle,
        pending: Unpersisted,
    ) -> Result<Arc<SealedBlock>, String> {
        let Unpersisted {
            block,
            changes,
            dropped,
        } = &pending;
        let number = block.number();
        let _span = tracing::info_span!("block", number, txs = block.txs.len()).entered();
        if let Err(e) = rt.block_on(self.store.insert_block(block, changes, dropped)) {
            match rt.block_on(self.store.header_by_number(number)) {
                Ok(Some((_, hash))) if hash == block.hash => {
                    tracing::warn!(error = %e, "the block's commit reported an error, but the block is stored");
                }
                Ok(Some((_, hash))) => {
                    let message = format!(
                        "persisting block {number}: the store holds another block {hash} at this number (is another node writing to it?)"
                    );
                    *self.unpersisted.lock() = Some(pending);
                    return Err(message);
                }
                _ => {
                    *self.unpersisted.lock() = Some(pending);
                    return Err(format!("persisting block {number}: {e}"));
                }
            }
        }
        let Unpersisted {
            block,
            changes,
            dropped,
        } = pending;
        let block = Arc::new(block);
        {
            let mut head = self.head.write();
            head.state.apply(&changes);
            head.state.record_block_hash(block.number(), block.hash);
            head.header = block.header.clone();
            head.hash = block.hash;
            let mut pool = self.pool.lock();
            for tx in &block.txs {
                pool.remove(tx.tx.inner().tx_hash());
            }
            for hash in &dropped {
                pool.remove(hash);
            }
            let state = &head.state;
            let stale = pool.prune(|a| {
                state
                    .account(a)
                    .ok()
                    .flatten()
                    .map(|a| a.nonce)
                    .unwrap_or_default()
            });
            if !stale.is_empty() {
                let store = self.store.clone();
                rt.spawn(async move {
                    let _ = store.delete_pool_txs(&stale).await;
                });
            }
        }
        let _ = self.events.send(ChainEvent::NewBlock(block.clone()));
        Ok(block)
    }
}

fn sender_state(state: &WorldState, address: Address) -> Result<SenderState, StateError> {
    let account = state
        .account(address)?
        .unwrap_or(AccountState::with_balance(U256::ZERO));
    Ok(SenderState {
        nonce: account.nonce,
        balance: account.balance,
    })
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Group commit: drains queued pool inserts and stores them in one transaction.
async fn pool_writer(store: Store, mut rx: mpsc::Receiver<PoolWrite>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 4096 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let rows: Vec<_> = batch
            .iter()
            .map(|w| {
                (
                    w.tx.hash,
                    w.tx.seq,
                    Bytes::from(w.tx.tx.inner().encoded_2718()),
                )
            })
            .collect();
        let result = store
            .insert_pool_txs(&rows)
            .await
            .map_err(|e| e.to_string());
        for w in batch.drain(..) {
            let _ = w.done.send(result.clone());
        }
    }
}
