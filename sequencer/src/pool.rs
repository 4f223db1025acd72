//! The transaction pool: per-sender nonce queues, replacement by fee bump,
//! limits, and the order in which the block builder takes transactions.

use alloy_consensus::{Transaction, TxEnvelope, transaction::Recovered};
use alloy_primitives::{Address, B256, Bytes, U256, map::HashMap};
use std::{
    cmp::Ordering,
    collections::{BTreeMap, BinaryHeap},
    sync::Arc,
};

/// A pooled transaction.
#[derive(Debug)]
pub struct PoolTx {
    /// The transaction and its sender.
    pub tx: Recovered<TxEnvelope>,
    /// Its hash.
    pub hash: B256,
    /// Its EIP-2718 encoding.
    pub raw: Bytes,
    /// Arrival order, for fairness and for the durable pool.
    pub seq: u64,
}

impl PoolTx {
    fn nonce(&self) -> u64 {
        self.tx.inner().nonce()
    }
    fn sender(&self) -> Address {
        self.tx.signer()
    }
}

/// Pool limits.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// Most transactions one sender may have pooled.
    pub max_per_sender: usize,
    /// Most transactions in the pool.
    pub max_total: usize,
    /// Minimum bump, in percent, for a replacement.
    pub price_bump_percent: u128,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_per_sender: 64,
            max_total: 50_000,
            price_bump_percent: 10,
        }
    }
}

/// Why the pool refused a transaction (geth's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Same hash already pooled or mined.
    #[error("already known")]
    AlreadyKnown,
    /// Nonce below the account nonce.
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Nonce too far ahead of the account nonce to be queued.
    #[error("nonce too high: next nonce {expected}, tx nonce {got}")]
    NonceTooHigh {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Same sender and nonce without a sufficient fee bump.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// Fee cap below the next block's base fee.
    #[error("max fee per gas less than block base fee")]
    FeeCapBelowBaseFee,
    /// Balance below gas * price + value.
    #[error("insufficient funds for gas * price + value")]
    InsufficientFunds,
    /// Pool or per-sender limit reached.
    #[error("txpool is full")]
    Full,
}

/// Account facts the pool checks against.
#[derive(Clone, Copy, Debug)]
pub struct SenderState {
    /// Account nonce at the head.
    pub nonce: u64,
    /// Balance at the head.
    pub balance: U256,
}

/// The pool.
#[derive(Debug, Default)]
pub struct TxPool {
    config: PoolConfig,
    by_hash: HashMap<B256, Arc<PoolTx>>,
    by_sender: HashMap<Address, BTreeMap<u64, Arc<PoolTx>>>,
    next_seq: u64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            ..Default::default()
        }
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<Arc<PoolTx>> {
        self.by_hash.get(hash).cloned()
    }

    /// The next sequence number (arrival order survives restarts through the store).
    pub fn reserve_seq(&mut self, at_least: u64) -> u64 {
        self.next_seq = self.next_seq.max(at_least);
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Validates and inserts. Returns the replaced transaction, if any.
    pub fn add(
        &mut self,
        tx: Recovered<TxEnvelope>,
        raw: Bytes,
        sender: SenderState,
        base_fee: u64,
        seq: Option<u64>,
    ) -> Result<(Arc<PoolTx>, Option<Arc<PoolTx>>), PoolError> {
        let hash = *tx.inner().tx_hash();
        if self.by_hash.contains_key(&hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let inner = tx.inner();
        let nonce = inner.nonce();
        if nonce < sender.nonce {
            return Err(PoolError::NonceTooLow {
                expected: sender.nonce,
                got: nonce,
            });
        }
        if nonce >= sender.nonce + self.config.max_per_sender as u64 {
            return Err(PoolError::NonceTooHigh {
                expected: sender.nonce,
                got: nonce,
            });
        }
        if inner.max_fee_per_gas() < base_fee as u128 {
            return Err(PoolError::FeeCapBelowBaseFee);
        }
        let cost =
            U256::from(inner.gas_limit()) * U256::from(inner.max_fee_per_gas()) + inner.value();
        if cost > sender.balance {
            return Err(PoolError::InsufficientFunds);
        }
        let queue = self.by_sender.get(&tx.signer());
        let existing = queue.and_then(|q| q.get(&nonce)).cloned();
        if let Some(old) = &existing {
            let bump = 100 + self.config.price_bump_percent;
            let old_inner = old.tx.inner();
            let fee_ok = inner.max_fee_per_gas() * 100 >= old_inner.max_fee_per_gas() * bump;
            let tip = |t: &TxEnvelope| t.max_priority_fee_per_gas().unwrap_or(t.max_fee_per_gas());
            let tip_ok = tip(inner) * 100 >= tip(old_inner) * bump;
            if !(fee_ok && tip_ok) {
                return Err(PoolError::ReplacementUnderpriced);
            }
        } else {
            if queue.is_some_and(|q| q.len() >= self.config.max_per_sender) {
                return Err(PoolError::Full);
            }
            if self.by_hash.len() >= self.config.max_total {
                return Err(PoolError::Full);
            }
        }
        let seq = match seq {
            Some(seq) => {
                self.next_seq = self.next_seq.max(seq + 1);
                seq
            }
            None => self.reserve_seq(0),
        };
        let pooled = Arc::new(PoolTx { tx, hash, raw, seq });
        if let Some(old) = &existing {
            self.by_hash.remove(&old.hash);
        }
        self.by_hash.insert(hash, pooled.clone());
        self.by_sender
            .entry(pooled.sender())
            .or_default()
            .insert(nonce, pooled.clone());
        Ok((pooled, existing))
    }

    /// Removes a transaction (a failed durable write, for instance).
    pub fn remove(&mut self, hash: &B256) -> Option<Arc<PoolTx>> {
        let tx = self.by_hash.remove(hash)?;
        if let Some(queue) = self.by_sender.get_mut(&tx.sender()) {
            if queue.get(&tx.nonce()).is_some_and(|t| t.hash == *hash) {
                queue.remove(&tx.nonce());
            }
            if queue.is_empty() {
                self.by_sender.remove(&tx.sender());
            }
        }
        Some(tx)
    }

    /// Nonce the sender's next transaction should use: the account nonce plus
    /// the contiguous run of pooled transactions.
    pub fn pending_nonce(&self, sender: Address, account_nonce: u64) -> u64 {
        let mut next = account_nonce;
        if let Some(queue) = self.by_sender.get(&sender) {
            for nonce in queue.range(account_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Transactions ready to execute, best tip first, each sender in nonce
    /// order, until `gas_budget` of gas limits is taken.
    pub fn select(
        &self,
        base_fee: u64,
        gas_budget: u64,
        nonce_of: impl Fn(Address) -> u64,
    ) -> Vec<Arc<PoolTx>> {
        struct Head(u128, u64, Arc<PoolTx>);
        impl PartialEq for Head {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }
        impl Eq for Head {}
        impl PartialOrd for Head {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Head {
            fn cmp(&self, o: &Self) -> Ordering {
                self.0.cmp(&o.0).then(o.1.cmp(&self.1))
            }
        }
        let tip_of = |t: &PoolTx| t.tx.inner().effective_tip_per_gas(base_fee).unwrap_or(0);
        let mut heap = BinaryHeap::new();
        let mut cursors: HashMap<Address, u64> = HashMap::default();
        for (sender, queue) in &self.by_sender {
            let nonce = nonce_of(*sender);
            if let Some(tx) = queue.get(&nonce)
                && tx.tx.inner().max_fee_per_gas() >= base_fee as u128
            {
                heap.push(Head(tip_of(tx), tx.seq, tx.clone()));
                cursors.insert(*sender, nonce);
            }
        }
        let mut out = Vec::new();
        let mut gas = 0u64;
        while let Some(Head(_, _, tx)) = heap.pop() {
            let limit = tx.tx.inner().gas_limit();
            if gas + limit > gas_budget {
                continue;
            }
            gas += limit;
            let sender = tx.sender();
            let next = cursors.get(&sender).copied().unwrap_or_default() + 1;
            cursors.insert(sender, next);
            if let Some(n) = self.by_sender.get(&sender).and_then(|q| q.get(&next))
                && n.tx.inner().max_fee_per_gas() >= base_fee as u128
            {
                heap.push(Head(tip_of(n), n.seq, n.clone()));
            }
            out.push(tx);
        }
        out
    }

    /// Drops transactions whose nonce the chain has passed; returns their hashes.
    pub fn prune(&mut self, nonce_of: impl Fn(Address) -> u64) -> Vec<B256> {
        let mut gone = Vec::new();
        for (sender, queue) in self.by_sender.iter_mut() {
            let nonce = nonce_of(*sender);
            let stale: Vec<u64> = queue.range(..nonce).map(|(n, _)| *n).collect();
            for n in stale {
                if let Some(tx) = queue.remove(&n) {
                    gone.push(tx.hash);
                }
            }
        }
        self.by_sender.retain(|_, q| !q.is_empty());
        for hash in &gone {
            self.by_hash.remove(hash);
        }
        gone
    }

    /// Senders with pooled transactions.
    pub fn senders(&self) -> Vec<Address> {
        self.by_sender.keys().copied().collect()
    }

    /// All pooled transactions.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PoolTx>> {
        self.by_hash.values()
    }
}
