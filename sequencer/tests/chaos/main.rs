//! Crash chaos suite (issue 7; design invariant 3, "nothing acknowledged is lost"): the
//! real `sequencer` binary under load from many senders is killed with SIGKILL at random
//! moments (seeded, the seed is printed) and restarted on the same store, SQLite and
//! Postgres; a private Postgres server is also crashed (`pg_ctl stop -m immediate`) under
//! the live node, and SQLite's disk is filled up under it. After every restart and at the end: every acknowledged hash has a
//! receipt, no (sender, nonce) is included twice, no exposed block changed, and every
//! block replays from the genesis with the reference executor to the stored hash and
//! state root (`rollup_sequencer::verify`).
//!
//! Fast by default (5 kills on SQLite, 3 on Postgres). `CHAOS_KILLS=50` (what
//! `make chaos` runs) sets the kills per store, `CHAOS_SEED=<u64>` replays a run. Each
//! test prints a table and, last, one JSON line with its counts.

#[path = "../it/harness.rs"]
#[allow(dead_code)]
mod harness;

use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use harness::{CHAIN_ID, GWEI, Rpc, SequencerProcess, free_port, hex_b256, hex_u64, log_tail};
use rollup_core::chain::{DEV_PRIVATE_KEYS, Genesis};
use rollup_sequencer::{
    config::Config,
    store::Store,
    verify::{ReplayedBlock, Replayer, verify_store},
};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The tests of this binary run one at a time: each drives a node as hard as two cores allow.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long acknowledged transactions may take to get receipts after a restart.
const RECEIPT_WAIT: Duration = Duration::from_secs(60);
/// Fresh funded senders driving the load.
const SENDERS: usize = 32;
/// Senders that stay idle in an outage round until the store is gone.
const OUTAGE_PROBES: usize = 4;
/// Signed transactions kept ready per sender before each load phase.
const AHEAD: usize = 120;
/// Recipients of the transfers (a small set, so that transactions of a block conflict).
const RECIPIENTS: u64 = 64;

// ---------------------------------------------------------------- settings and randomness

/// SplitMix64: a small seeded generator, so a run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|e| panic!("{name}={value:?} is not a number: {e}")),
    )
}

/// The run's seed: `CHAOS_SEED`, else the clock.
fn seed() -> u64 {
    env_u64("CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos() as u64
    })
}

/// Kills per store: `CHAOS_KILLS`, else `default`.
/// Outage rounds: `var` when set, else one per ten `CHAOS_KILLS`, at least one.
fn outage_rounds(var: &str) -> u64 {
    env_u64(var)
        .or_else(|| env_u64("CHAOS_KILLS").map(|k| k / 10))
        .unwrap_or(1)
        .max(1)
}

fn kills(default: usize) -> usize {
    env_u64("CHAOS_KILLS").map_or(default, |k| k as usize)
}

/// A file under cargo's per-target temp dir (kept after the run, for post-mortems).
fn artifact(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&path);
    path
}

// ---------------------------------------------------------------- the load

/// One sender's pre-signed transfers (index = nonce) and how far it got.
struct Sender {
    key: PrivateKeySigner,
    signed: Vec<(B256, Bytes)>,
    /// First nonce not settled yet (acknowledged, or known to the node already).
    next: usize,
}

fn sign_transfer(key: &PrivateKeySigner, nonce: u64, to: Address, value: U256) -> (B256, Bytes) {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let signature = key
        .sign_hash_sync(&tx.signature_hash())
        .expect("signing a transfer");
    let signed = tx.into_signed(signature);
    let hash = *signed.hash();
    (hash, TxEnvelope::from(signed).encoded_2718().into())
}

fn recipient(i: u64) -> Address {
    Address::from_word(keccak256(format!("chaos-recipient-{}", i % RECIPIENTS)))
}

/// An acknowledged transaction: eth_sendRawTransaction returned its hash.
#[derive(Clone, Copy, Debug)]
struct Ack {
    hash: B256,
    sender: Address,
    nonce: u64,
    /// When the request was sent.
    sent: Instant,
    /// When the answer came.
    answered: Instant,
}

/// A refusal: eth_sendRawTransaction answered with an error.
#[derive(Clone, Debug)]
struct Refusal {
    sent: Instant,
    message: String,
}

/// Shared by the sender tasks of one load phase.
#[derive(Default)]
struct Feed {
    acks: Mutex<Vec<Ack>>,
    refusals: Mutex<Vec<Refusal>>,
    /// Acknowledgements whose returned hash was not the transaction's.
    wrong_hashes: AtomicU64,
    /// Sends answered "already known" / "nonce too low" (settled, not acknowledged).
    known: AtomicU64,
    /// Sends that got no answer (retried).
    transport_errors: AtomicU64,
    stop: AtomicBool,
}

impl Feed {
    /// How many acknowledgements so far `keep` selects.
    fn count_acks(&self, keep: impl Fn(&Ack) -> bool) -> usize {
        self.acks
            .lock()
            .expect("acks")
            .iter()
            .filter(|a| keep(a))
            .count()
    }
}

/// Sends `signed[next..]` one after the other until `stop`, the end of the list, or (with
/// `stop_when_gone`) a transport error, i.e. the node was killed. Returns the new `next`.
async fn send_loop(
    rpc: Rpc,
    sender: Address,
    signed: Arc<Vec<(B256, Bytes)>>,
    mut next: usize,
    feed: Arc<Feed>,
    stop_when_gone: bool,
) -> usize {
    while next < signed.len() && !feed.stop.load(Ordering::Relaxed) {
        let (hash, raw) = &signed[next];
        let sent = Instant::now();
        match rpc.try_call("eth_sendRawTransaction", json!([raw])).await {
            Ok(response) if response.get("result").is_some() => {
                if response["result"] != json!(hash) {
                    feed.wrong_hashes.fetch_add(1, Ordering::Relaxed);
                }
                let ack = Ack {
                    hash: *hash,
                    sender,
                    nonce: next as u64,
                    sent,
                    answered: Instant::now(),
                };
                feed.acks.lock().expect("acks").push(ack);
                next += 1;
            }
            Ok(response) => {
                let message = response["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if message == "already known" || message.starts_with("nonce too low") {
                    feed.known.fetch_add(1, Ordering::Relaxed);
                    next += 1;
                } else {
                    feed.refusals
                        .lock()
                        .expect("refusals")
                        .push(Refusal { sent, message });
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Err(_) if stop_when_gone => break,
            Err(_) => {
                feed.transport_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    next
}

// ---------------------------------------------------------------- the checks

/// What the checks found so far.
#[derive(Default)]
struct Counts {
    kills: usize,
    /// Of which right after a restart, while the node re-pools and seals what it stored.
    recovery_kills: usize,
    acked: usize,
    lost: usize,
    duplicate_nonces: usize,
    root_mismatches: usize,
    /// Exposed blocks that later had another hash (or disappeared).
    rewritten_blocks: usize,
    wrong_hashes: u64,
    refused: usize,
    /// Refusals by reason (the message up to its first colon).
    refusal_reasons: std::collections::BTreeMap<String, usize>,
    blocks: u64,
    chain_txs: usize,
    /// Included transactions whose send got no answer: the kill came between the durable
    /// commit and the acknowledgement.
    stored_unanswered: usize,
    checks: usize,
    problems: Vec<String>,
}

impl Counts {
    fn failed(&self) -> bool {
        self.lost + self.duplicate_nonces + self.root_mismatches + self.rewritten_blocks > 0
            || self.wrong_hashes > 0
    }

    fn problem(&mut self, what: String) {
        eprintln!("PROBLEM: {what}");
        if self.problems.len() < 20 {
            self.problems.push(what);
        }
    }
}

/// The chain as walked over RPC, and the replay against the store.
struct Checker {
    genesis: Genesis,
    db_url: String,
    store: Option<Store>,
    replayer: Option<Replayer>,
    /// Replay failed once: later replays would only repeat it.
    replay_broken: bool,
    /// Every acknowledged transaction so far.
    acked: Vec<Ack>,
    /// Acknowledged hashes already found included (hash → block).
    confirmed: HashMap<B256, u64>,
    /// Hashes given up on.
    lost: HashSet<B256>,
    /// Walked blocks: number → (hash, state root).
    walked: Vec<(B256, B256)>,
    /// (sender, nonce) → hash, over the walked blocks.
    nonces: HashMap<(Address, u64), B256>,
    /// hash → block, over the walked blocks.
    included: HashMap<B256, u64>,
}

impl Checker {
    fn new(db_url: &str) -> Self {
        Self {
            genesis: Config::dev(CHAIN_ID, db_url).node.genesis,
            db_url: db_url.to_string(),
            store: None,
            replayer: None,
            replay_broken: false,
            acked: Vec::new(),
            confirmed: HashMap::new(),
            lost: HashSet::new(),
            walked: Vec::new(),
            nonces: HashMap::new(),
            included: HashMap::new(),
        }
    }

    async fn store(&mut self) -> &Store {
        if self.store.is_none() {
            let store = Store::connect(&self.db_url)
                .await
                .unwrap_or_else(|e| panic!("the checker's store at {}: {e}", self.db_url));
            self.store = Some(store);
        }
        self.store.as_ref().expect("store")
    }

    /// Every check, against the node at `rpc`; `fresh` re-walks and re-replays from block 0.
    async fn check(&mut self, rpc: &Rpc, counts: &mut Counts, fresh: bool) {
        counts.checks += 1;
        if fresh {
            self.walked.clear();
            self.nonces.clear();
            self.included.clear();
            self.confirmed.clear();
            self.replayer = None;
            self.replay_broken = false;
        }
        self.wait_receipts(rpc, counts).await;
        self.walk(rpc, counts).await;
        // Every acknowledged transaction with a receipt is in the walked chain, at that block.
        for ack in &self.acked {
            if let Some(block) = self.confirmed.get(&ack.hash)
                && self.included.get(&ack.hash) != Some(block)
                && !self.lost.contains(&ack.hash)
            {
                self.lost.insert(ack.hash);
                counts.lost += 1;
                counts.problem(format!(
                    "{} (sender {}, nonce {}) has a receipt in block {block} but the chain walk finds it in {:?}",
                    ack.hash,
                    ack.sender,
                    ack.nonce,
                    self.included.get(&ack.hash)
                ));
            }
        }
        self.replay(counts).await;
        counts.acked = self.acked.len();
        counts.blocks = self.walked.len().saturating_sub(1) as u64;
        counts.chain_txs = self.included.len();
        let acked: HashSet<B256> = self.acked.iter().map(|a| a.hash).collect();
        counts.stored_unanswered = self.included.keys().filter(|h| !acked.contains(*h)).count();
    }

    async fn wait_receipts(&mut self, rpc: &Rpc, counts: &mut Counts) {
        let deadline = Instant::now() + RECEIPT_WAIT;
        let mut pending: Vec<Ack> = self
            .acked
            .iter()
            .filter(|a| !self.confirmed.contains_key(&a.hash) && !self.lost.contains(&a.hash))
            .copied()
            .collect();
        while !pending.is_empty() {
            let mut still = Vec::new();
            for chunk in pending.chunks(500) {
                let body: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        json!({"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt", "params": [a.hash]})
                    })
                    .collect();
                let (status, answers) = rpc.post_json(Value::Array(body).to_string()).await;
                assert_eq!(status, 200, "receipt batch: {answers}");
                let answers = answers.as_array().expect("batch answer").clone();
                let mut by_id: HashMap<u64, Value> = HashMap::new();
                for answer in answers {
                    by_id.insert(answer["id"].as_u64().expect("id"), answer);
                }
                for (i, ack) in chunk.iter().enumerate() {
                    let receipt = &by_id.get(&(i as u64)).expect("answer")["result"];
                    if receipt.is_null() || !receipt.is_object() {
                        still.push(*ack);
                    } else {
                        if receipt["status"] != "0x1" {
                            counts.problem(format!("{} failed: {receipt}", ack.hash));
                        }
                        self.confirmed
                            .insert(ack.hash, hex_u64(&receipt["blockNumber"]));
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                counts.lost += pending.len();
                for ack in &pending {
                    self.lost.insert(ack.hash);
                }
                counts.problem(format!(
                    "{} acknowledged transactions have no receipt {RECEIPT_WAIT:?} after the restart, e.g. {:?}",
                    pending.len(),
                    &pending[..pending.len().min(5)]
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Walks the blocks after the walked head (full transactions) and checks that the
    /// walked head did not change.
    async fn walk(&mut self, rpc: &Rpc, counts: &mut Counts) {
        if let Some(last) = self.walked.len().checked_sub(1) {
            let block = rpc
                .result("eth_getBlockByNumber", json!([format!("{last:#x}"), false]))
                .await;
            let now = if block.is_null() {
                None
            } else {
                Some(hex_b256(&block["hash"]))
            };
            if now != Some(self.walked[last].0) {
                counts.rewritten_blocks += 1;
                counts.problem(format!(
                    "exposed block {last} was {} and is now {now:?}",
                    self.walked[last].0
                ));
                // Walk again from scratch, so that the other counts stay meaningful.
                self.walked.clear();
                self.nonces.clear();
                self.included.clear();
            }
        }
        let head = rpc.block_number().await;
        let mut number = self.walked.len() as u64;
        while number <= head {
            let last = head.min(number + 99);
            let body: Vec<Value> = (number..=last)
                .map(|n| {
                    json!({"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber", "params": [format!("{n:#x}"), true]})
                })
                .collect();
            let (status, answers) = rpc.post_json(Value::Array(body).to_string()).await;
            assert_eq!(status, 200, "block batch: {answers}");
            let mut by_id: HashMap<u64, Value> = HashMap::new();
            for answer in answers.as_array().expect("batch answer") {
                by_id.insert(answer["id"].as_u64().expect("id"), answer["result"].clone());
            }
            for n in number..=last {
                let block = by_id.remove(&n).expect("block answer");
                assert!(block.is_object(), "block {n} below head {head}: {block}");
                let hash = hex_b256(&block["hash"]);
                if let Some((parent, _)) = self.walked.last()
                    && hex_b256(&block["parentHash"]) != *parent
                {
                    counts.rewritten_blocks += 1;
                    counts.problem(format!("block {n}'s parent is not block {}", n - 1));
                }
                for tx in block["transactions"].as_array().expect("transactions") {
                    let tx_hash = hex_b256(&tx["hash"]);
                    let from: Address = tx["from"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("from");
                    let nonce = hex_u64(&tx["nonce"]);
                    if let Some(first) = self.nonces.insert((from, nonce), tx_hash) {
                        counts.duplicate_nonces += 1;
                        counts.problem(format!(
                            "({from}, nonce {nonce}) included twice: {first} and {tx_hash} (block {n})"
                        ));
                    }
                    if self.included.insert(tx_hash, n).is_some() {
                        counts.duplicate_nonces += 1;
                        counts.problem(format!("{tx_hash} included twice"));
                    }
                }
                self.walked.push((hash, hex_b256(&block["stateRoot"])));
            }
            number = last + 1;
        }
    }

    /// Replays the newly walked blocks from the store with the reference executor and
    /// compares hashes and state roots; then the stored state at the head.
    async fn replay(&mut self, counts: &mut Counts) {
        if self.replay_broken || self.walked.is_empty() {
            return;
        }
        let head = self.walked.len() as u64 - 1;
        let genesis = self.genesis.clone();
        let store = self.store().await.clone();
        let result = async {
            if self.replayer.is_none() {
                self.replayer = Some(Replayer::open(&store, &genesis).await?);
            }
            let replayer = self.replayer.as_mut().expect("replayer");
            let replayed = replayer.advance(&store, Some(head)).await?;
            replayer.check_stored_state(&store).await?;
            Ok::<_, rollup_sequencer::verify::VerifyError>(replayed)
        }
        .await;
        match result {
            Ok(replayed) => {
                self.compare_with_walked(&replayed, "replay", counts);
                let replayed_head = self.replayer.as_ref().expect("replayer").head();
                if replayed_head.number != head {
                    counts.root_mismatches += 1;
                    counts.problem(format!(
                        "the store's chain ends at {}, the RPC's head is {head}",
                        replayed_head.number
                    ));
                }
            }
            Err(e) => {
                counts.root_mismatches += 1;
                counts.problem(format!("replay and verify: {e}"));
                self.replay_broken = true;
            }
        }
    }

    /// Counts every replayed block whose hash or state root differs from what
    /// the RPC exposed at that number.
    fn compare_with_walked(&self, replayed: &[ReplayedBlock], what: &str, counts: &mut Counts) {
        for block in replayed {
            let (hash, root) = self.walked[block.number as usize];
            if (hash, root) != (block.hash, block.state_root) {
                counts.root_mismatches += 1;
                counts.problem(format!(
                    "block {}: RPC says hash {hash} root {root}, {what} gives {} {}",
                    block.number, block.hash, block.state_root
                ));
            }
        }
    }

    /// The final, independent verification, once the node is stopped: a fresh replay of
    /// the whole store from the genesis (every block, and the stored state at its head),
    /// compared with every block the RPC exposed (the node may have sealed a few more,
    /// empty ones, after the last walk).
    async fn verify_whole_store(&mut self, counts: &mut Counts) {
        let genesis = self.genesis.clone();
        let store = self.store().await.clone();
        let result = async {
            let mut replayer = Replayer::open(&store, &genesis).await?;
            let blocks = replayer.advance(&store, None).await?;
            replayer.check_stored_state(&store).await?;
            let report = verify_store(&store, &genesis).await?;
            Ok::<_, rollup_sequencer::verify::VerifyError>((blocks, report))
        }
        .await;
        match result {
            Ok((blocks, report)) => {
                let exposed = self.walked.len().saturating_sub(1) as u64;
                let head = blocks.last().map_or(0, |b| b.number);
                if head < exposed || report.head.number != head {
                    counts.root_mismatches += 1;
                    counts.problem(format!(
                        "the stored chain ends at {head} (verify_store: {}), the RPC exposed {exposed}",
                        report.head.number
                    ));
                }
                let exposed_blocks: Vec<ReplayedBlock> =
                    blocks.into_iter().filter(|b| b.number <= exposed).collect();
                self.compare_with_walked(&exposed_blocks, "fresh replay", counts);
            }
            Err(e) => {
                counts.root_mismatches += 1;
                counts.problem(format!("fresh replay of the whole store: {e}"));
            }
        }
    }

    async fn close(&mut self) {
        if let Some(store) = self.store.take() {
            store.close().await;
        }
    }
}

// ---------------------------------------------------------------- the driver

/// One store under chaos: senders, the acknowledged log, the checker.
struct Driver {
    name: &'static str,
    db_url: String,
    rng: Rng,
    senders: Vec<Sender>,
    checker: Checker,
    counts: Counts,
    log: PathBuf,
    acked_log: PathBuf,
    started: Instant,
    seed: u64,
}

impl Driver {
    fn new(name: &'static str, db_url: String, seed: u64) -> Self {
        let senders = (0..SENDERS)
            .map(|i| Sender {
                key: PrivateKeySigner::from_bytes(&keccak256(format!("chaos-sender-{seed}-{i}")))
                    .expect("sender key"),
                signed: Vec::new(),
                next: 0,
            })
            .collect();
        println!("chaos [{name}]: seed {seed} (CHAOS_SEED={seed} replays it)");
        Self {
            name,
            checker: Checker::new(&db_url),
            db_url,
            rng: Rng(seed),
            senders,
            counts: Counts::default(),
            log: artifact(&format!("chaos-{name}.sequencer.log")),
            acked_log: artifact(&format!("chaos-{name}.acked.log")),
            started: Instant::now(),
            seed,
        }
    }

    async fn start(&mut self) -> SequencerProcess {
        // Mostly "seal as soon as there are transactions" (the builder always busy), some
        // runs with an interval, so kills also land between blocks.
        let block_time = [0, 0, 0, 50, 200][self.rng.range(0, 5) as usize];
        SequencerProcess::start(&self.db_url, block_time, &self.log).await
    }

    /// Records acknowledgements in memory and in the log file.
    fn record(&mut self, acks: Vec<Ack>) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.acked_log)
            .expect("acked log");
        for ack in &acks {
            writeln!(file, "{} {} {}", ack.hash, ack.sender, ack.nonce).expect("acked log");
        }
        self.checker.acked.extend(acks);
    }

    /// Funds every sender from the dev accounts (acknowledged like any load).
    async fn fund(&mut self, rpc: &Rpc) {
        let dev: Vec<PrivateKeySigner> = DEV_PRIVATE_KEYS
            .iter()
            .map(|k| k.parse().expect("dev key"))
            .collect();
        let mut acks = Vec::new();
        for (i, sender) in self.senders.iter().enumerate() {
            let from = &dev[i % dev.len()];
            let nonce = (i / dev.len()) as u64;
            let value = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
            let (hash, raw) = sign_transfer(from, nonce, sender.key.address(), value);
            let sent = Instant::now();
            assert_eq!(rpc.send_raw_ok(&raw).await, hash, "funding transfer");
            acks.push(Ack {
                hash,
                sender: from.address(),
                nonce,
                sent,
                answered: Instant::now(),
            });
        }
        self.record(acks);
    }

    /// Tops every sender up to `ahead` unsent signed transfers.
    async fn sign_ahead(&mut self, ahead: usize) {
        let mut work = Vec::new();
        for (i, sender) in self.senders.iter().enumerate() {
            let have = sender.signed.len();
            let want = sender.next + ahead;
            if have < want {
                work.push((i, sender.key.clone(), have, want));
            }
        }
        let seed = self.rng.next();
        let signed = tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(i, key, from, to)| {
                    let txs: Vec<_> = (from..to)
                        .map(|nonce| {
                            let r = seed ^ ((i as u64) << 32) ^ nonce as u64;
                            sign_transfer(&key, nonce as u64, recipient(r), U256::from(1 + nonce))
                        })
                        .collect();
                    (i, txs)
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("signing");
        for (i, txs) in signed {
            self.senders[i].signed.extend(txs);
        }
    }

    /// Starts one sender task per sender against `rpc`.
    fn spawn_load(
        &self,
        rpc: &Rpc,
        feed: &Arc<Feed>,
        stop_when_gone: bool,
        senders: std::ops::Range<usize>,
    ) -> Vec<tokio::task::JoinHandle<usize>> {
        self.senders[senders]
            .iter()
            .map(|s| {
                tokio::spawn(send_loop(
                    rpc.clone(),
                    s.key.address(),
                    Arc::new(s.signed.clone()),
                    s.next,
                    feed.clone(),
                    stop_when_gone,
                ))
            })
            .collect()
    }

    /// Waits for the sender tasks (one per sender, in order) and takes their progress and acknowledgements.
    async fn join_load(&mut self, tasks: Vec<tokio::task::JoinHandle<usize>>, feed: &Arc<Feed>) {
        feed.stop.store(true, Ordering::Relaxed);
        for (sender, task) in self.senders.iter_mut().zip(tasks) {
            sender.next = harness::within("a sender task to stop", RECEIPT_WAIT, task)
                .await
                .expect("sender task");
        }
        let acks = std::mem::take(&mut *feed.acks.lock().expect("acks"));
        self.record(acks);
        for refusal in feed.refusals.lock().expect("refusals").iter() {
            self.counts.refused += 1;
            let reason = refusal.message.split(':').next().unwrap_or_default();
            *self
                .counts
                .refusal_reasons
                .entry(reason.to_string())
                .or_default() += 1;
        }
        self.counts.wrong_hashes += feed.wrong_hashes.load(Ordering::Relaxed);
    }

    async fn check(&mut self, rpc: &Rpc, fresh: bool) {
        self.checker.check(rpc, &mut self.counts, fresh).await;
        println!(
            "chaos [{}]: check {} at block {}: {} acked, {} lost, {} duplicate nonces, {} root mismatches ({:.1} s)",
            self.name,
            self.counts.checks,
            self.counts.blocks,
            self.counts.acked,
            self.counts.lost,
            self.counts.duplicate_nonces,
            self.counts.root_mismatches,
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Starts, funds, then `kills` times: load, SIGKILL at a random moment, restart and
    /// check. Ends with a fresh check of everything.
    async fn run_kills(&mut self, kills: usize) {
        let mut seq = self.start().await;
        self.fund(&seq.rpc).await;
        self.check(&seq.rpc.clone(), false).await;
        while self.counts.kills < kills {
            // Sometimes kill again right away: during recovery (re-pooling, sealing what
            // the store holds), before any new load.
            if self.counts.kills > 0 && self.rng.range(0, 4) == 0 {
                tokio::time::sleep(Duration::from_millis(self.rng.range(0, 150))).await;
                seq.kill9();
                self.counts.kills += 1;
                self.counts.recovery_kills += 1;
                seq = self.start().await;
                continue;
            }
            self.sign_ahead(AHEAD).await;
            let feed = Arc::new(Feed::default());
            let tasks = self.spawn_load(&seq.rpc, &feed, true, 0..SENDERS);
            // Random moments: sometimes within the first milliseconds, mostly deep in the
            // load, where blocks are being executed and committed.
            // The first phase always runs long enough to acknowledge something.
            let delay = match self.rng.range(0, 3) {
                _ if self.counts.kills == 0 => self.rng.range(300, 1500),
                0 => self.rng.range(1, 100),
                _ => self.rng.range(100, 1500),
            };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            seq.kill9();
            self.counts.kills += 1;
            self.join_load(tasks, &feed).await;
            seq = self.start().await;
            self.check(&seq.rpc.clone(), false).await;
        }
        let rpc = seq.rpc.clone();
        self.check(&rpc, true).await;
        seq.kill9();
        self.checker.verify_whole_store(&mut self.counts).await;
    }

    /// A whole outage run: start and fund, [`Driver::store_outages`], then one kill -9
    /// of the node on the recovered store, a fresh check of everything and a replay of
    /// the whole store.
    async fn run_outages(
        &mut self,
        rounds: u64,
        what: &str,
        begin: impl Fn(),
        end: impl Fn(),
    ) -> Outages {
        let mut seq = self.start().await;
        self.fund(&seq.rpc).await;
        self.check(&seq.rpc.clone(), false).await;
        let outages = self.store_outages(&seq.rpc, rounds, what, begin, end).await;
        seq.kill9();
        self.counts.kills += 1;
        seq = self.start().await;
        let rpc = seq.rpc.clone();
        self.check(&rpc, true).await;
        seq.kill9();
        self.checker.verify_whole_store(&mut self.counts).await;
        outages
    }

    /// `rounds` store outages under load: `begin` takes the store away while senders
    /// keep sending, then, once some sends were refused, `end` brings it back and the
    /// node must acknowledge again; after each round everything acknowledged must be
    /// included. Counts what was answered while the store was away.
    async fn store_outages(
        &mut self,
        rpc: &Rpc,
        rounds: u64,
        what: &str,
        begin: impl Fn(),
        end: impl Fn(),
    ) -> Outages {
        let mut outages = Outages::default();
        for round in 1..=rounds {
            // Load that outlives the outage (refusals are retried, the node stays up),
            // with enough transfers for the whole round at full speed.
            self.sign_ahead(AHEAD + 400).await;
            let feed = Arc::new(Feed::default());
            let busy = SENDERS - OUTAGE_PROBES;
            let mut tasks = self.spawn_load(rpc, &feed, false, 0..busy);
            tokio::time::sleep(Duration::from_millis(self.rng.range(300, 1200))).await;
            begin();
            let down = Instant::now();
            // The busy senders may have filled their pool windows before the store went
            // away (blocks cannot be stored now, so their sends are refused by the pool,
            // "nonce too high", before reaching the store): the probes start with empty
            // windows, so their sends must reach the store and be refused by it.
            tasks.extend(self.spawn_load(rpc, &feed, false, busy..SENDERS));
            println!("chaos [{}]: round {round}/{rounds}: {what}", self.name);
            // Sends while the store is away: wait until some have been refused, and a
            // little longer.
            loop {
                let refused = feed
                    .refusals
                    .lock()
                    .expect("refusals")
                    .iter()
                    .filter(|r| r.sent >= down && r.message.starts_with(STORE_REFUSAL))
                    .count();
                if refused >= 8 {
                    break;
                }
                let acked = feed.count_acks(|a| a.sent >= down);
                if down.elapsed() >= RECEIPT_WAIT {
                    let refusals = feed.refusals.lock().expect("refusals");
                    let other: Vec<_> = refusals
                        .iter()
                        .filter(|r| r.sent >= down && !r.message.starts_with(STORE_REFUSAL))
                        .collect();
                    panic!(
                        "chaos [{}]: {RECEIPT_WAIT:?} after the store went away only {refused} sends were refused by the store ({acked} acknowledged, {} other refusals (e.g. {:?}), {} already known or nonce too low, {} transport errors)",
                        self.name,
                        other.len(),
                        other
                            .first()
                            .map(|r| r.message.as_str())
                            .unwrap_or_default(),
                        feed.known.load(Ordering::Relaxed),
                        feed.transport_errors.load(Ordering::Relaxed),
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_millis(self.rng.range(0, 1000))).await;
            // The store may serve before `end` returns: answers count as "while away"
            // only up to the moment it is called.
            let restoring = Instant::now();
            end();
            let up = Instant::now();
            // The node recovers: new sends are acknowledged again.
            harness::wait_until(
                "acknowledgements after the store is back",
                RECEIPT_WAIT,
                || {
                    let fresh = feed.count_acks(|a| a.sent >= up);
                    async move { (fresh >= SENDERS).then_some(()) }
                },
            )
            .await;
            tokio::time::sleep(Duration::from_millis(self.rng.range(200, 1000))).await;
            // Asked after the store went away, answered before it came back.
            let acked = feed.count_acks(|a| a.sent >= down && a.answered < restoring);
            let (refused, sample) = {
                let refusals = feed.refusals.lock().expect("refusals");
                let during: Vec<_> = refusals
                    .iter()
                    .filter(|r| {
                        r.sent >= down && r.sent < restoring && r.message.starts_with(STORE_REFUSAL)
                    })
                    .collect();
                let sample = during
                    .first()
                    .map(|r| r.message.clone())
                    .unwrap_or_default();
                (during.len(), sample)
            };
            self.join_load(tasks, &feed).await;
            println!(
                "chaos [{}]: round {round}/{rounds}: away {:.1} s, {refused} sends refused (e.g. {sample:?}), {acked} acknowledged",
                self.name,
                (restoring - down).as_secs_f64()
            );
            outages.acked += acked;
            outages.refused += refused;
            outages.rounds_without_refusal += usize::from(refused == 0);
            // Everything acknowledged before, during and after the outage is included.
            self.check(&rpc.clone(), false).await;
        }
        outages
    }

    /// Prints the table and, last, the JSON line; fails on any loss.
    async fn report(mut self, extra: Value) {
        self.checker.close().await;
        let c = &self.counts;
        let secs = self.started.elapsed().as_secs_f64();
        println!();
        println!(
            "| store | kills | of which in recovery | acked | lost | duplicate nonces | root mismatches | rewritten blocks | refused sends | blocks | txs in chain | stored, unanswered | seconds |"
        );
        println!(
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            self.name,
            c.kills,
            c.recovery_kills,
            c.acked,
            c.lost,
            c.duplicate_nonces,
            c.root_mismatches,
            c.rewritten_blocks,
            c.refused,
            c.blocks,
            c.chain_txs,
            c.stored_unanswered,
            secs
        );
        if !c.refusal_reasons.is_empty() {
            println!(
                "refused sends (retried; not acknowledged): {:?}",
                c.refusal_reasons
            );
        }
        println!(
            "logs: {} (sequencer), {} (acknowledged: hash sender nonce)",
            self.log.display(),
            self.acked_log.display()
        );
        let mut line = json!({
            "store": self.name,
            "seed": self.seed.to_string(),
            "kills": c.kills,
            "acked": c.acked,
            "lost": c.lost,
            "duplicate_nonces": c.duplicate_nonces,
            "root_mismatches": c.root_mismatches,
            "rewritten_blocks": c.rewritten_blocks,
            "wrong_hashes": c.wrong_hashes,
            "blocks": c.blocks,
            "stored_unanswered": c.stored_unanswered,
            "seconds": (secs * 10.0).round() / 10.0,
        });
        if let (Value::Object(line), Value::Object(extra)) = (&mut line, extra) {
            line.extend(extra);
        }
        println!("{line}");
        assert!(
            !c.failed(),
            "chaos [{}] (seed {}) broke invariant 3: {:#?}\nsequencer log tail:\n{}",
            self.name,
            self.seed,
            c.problems,
            log_tail(&self.log, 4000)
        );
        assert!(
            c.acked > SENDERS,
            "chaos [{}]: only {} acknowledged transactions, the load did not run",
            self.name,
            c.acked
        );
    }
}

/// How the node refuses a send it could not make durable.
const STORE_REFUSAL: &str = "transaction not stored";

/// What [`Driver::store_outages`] saw while the store was away.
#[derive(Default)]
struct Outages {
    /// Sends answered with a hash.
    acked: usize,
    /// Sends refused because the store could not take them.
    refused: usize,
    rounds_without_refusal: usize,
}

// ---------------------------------------------------------------- a disk that fills up

/// A small tmpfs (mounting needs root), so that the test can fill the disk under SQLite
/// with another file and free it again. Unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts `megabytes` of tmpfs on a fresh folder; `Err` says why it cannot here.
    fn mount(megabytes: u64) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let path = dir.path().display().to_string();
        command_output(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m"),
                "tmpfs",
                &path,
            ],
        )?;
        Ok(Self { dir })
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes a file until the disk refuses another byte.
    fn fill(&self) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.filler())?;
        for chunk in [1 << 20, 4096, 1] {
            let block = vec![0xa5u8; chunk];
            loop {
                match file.write(&block) {
                    Ok(n) if n == chunk => {}
                    Ok(_) => break,
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Removes the filler.
    fn free(&self) -> std::io::Result<()> {
        std::fs::remove_file(self.filler())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let path = self.dir.path().display().to_string();
        let _ = command_output("umount", &["-l", &path]);
    }
}

// ---------------------------------------------------------------- Postgres

/// A fresh database on a Postgres server, dropped on drop.
struct PgDatabase {
    admin_url: String,
    name: String,
    /// URL of the new database.
    url: String,
}

impl PgDatabase {
    /// Creates a uniquely named database through `admin_url` (any database on the server).
    async fn create(admin_url: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Connection;
        let mut conn = sqlx::postgres::PgConnection::connect(admin_url).await?;
        let name = harness::unique_pg_name("chaos");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        let base = admin_url.split('?').next().expect("url");
        let server = &base[..base.rfind('/').expect("a /database in the URL")];
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        harness::drop_on_postgres(
            &self.admin_url,
            &[format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )],
        );
    }
}

/// The shared Postgres at 127.0.0.1:5432, or `None` (printed) when unreachable; with
/// `ROLLUP_REQUIRE_POSTGRES=1` that is a failure instead.
async fn shared_postgres() -> Option<PgDatabase> {
    let admin = std::env::var("ROLLUP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    match PgDatabase::create(&admin).await {
        Ok(db) => Some(db),
        Err(e) => {
            assert!(
                std::env::var("ROLLUP_REQUIRE_POSTGRES").is_err(),
                "Postgres at {admin} unusable and ROLLUP_REQUIRE_POSTGRES is set: {e}"
            );
            println!("SKIPPED (chaos on Postgres): cannot create a database at {admin}: {e}");
            None
        }
    }
}

/// A private Postgres cluster (`initdb` + `pg_ctl`) in a temp dir on a free loopback
/// port, so that the test may crash the server. Stopped on drop.
struct PgCluster {
    dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    /// Run the tools as the `postgres` user (initdb refuses to run as root).
    runuser: bool,
}

impl PgCluster {
    /// Initialises and starts the cluster; `Err` says why it cannot run here.
    fn start() -> Result<Self, String> {
        for tool in ["initdb", "pg_ctl"] {
            if which(tool).is_none() {
                return Err(format!(
                    "`{tool}` is not installed (looked in /usr/local/bin and PATH)"
                ));
            }
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let data = dir.path().join("data");
        let uid = command_output("id", &["-u"])?;
        let runuser = uid.trim() == "0";
        if runuser {
            // initdb will not run as root: hand a folder to the postgres user.
            use std::os::unix::fs::PermissionsExt;
            let owner = |flag: &str| -> Result<u32, String> {
                command_output("id", &[flag, "postgres"])?
                    .trim()
                    .parse()
                    .map_err(|e| format!("id {flag} postgres: {e}"))
            };
            let (uid, gid) = (owner("-u")?, owner("-g")?);
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod: {e}"))?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| format!("chown to postgres: {e}"))?;
        }
        let mut cluster = Self {
            dir,
            data,
            port: 0,
            runuser,
        };
        let data = cluster.data.display().to_string();
        cluster.pg(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let mut last = String::new();
        for _ in 0..3 {
            cluster.port = free_port();
            match cluster.pg_start() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn pg(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let path = which(tool).ok_or_else(|| format!("`{tool}` not found"))?;
        let mut command = if self.runuser {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("running {tool}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("{tool} {args:?} failed ({}): {text}", out.status))
        }
    }

    fn pg_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data.display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        )
        .map(drop)
    }

    /// `pg_ctl stop -m immediate`: the server dies without a checkpoint, like a crash.
    fn crash(&self) -> Result<(), String> {
        let data = self.data.display().to_string();
        self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .map(drop)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/local/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter().map(|d| d.join(tool)).find(|p| p.is_file())
}

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program} {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------- the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_chaos_on_sqlite() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/seq.db", dir.path().display());
    let mut driver = Driver::new("sqlite", db_url, seed());
    driver.run_kills(kills(5)).await;
    driver.report(json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_chaos_on_postgres() {
    let _serial = SERIAL.lock().await;
    let Some(db) = shared_postgres().await else {
        return;
    };
    let mut driver = Driver::new("postgres", db.url.clone(), seed());
    driver.run_kills(kills(3)).await;
    driver.report(json!({})).await;
}

/// The database server crashes under a live node: sends must fail with an error while
/// it is down (never a false acknowledgement), the node must recover once the server is
/// back, and everything acknowledged before, during and after must be included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_crash_under_load() {
    let _serial = SERIAL.lock().await;
    let cluster = match PgCluster::start() {
        Ok(cluster) => cluster,
        Err(reason) => {
            println!("SKIPPED (Postgres server crash): cannot run a private cluster: {reason}");
            return;
        }
    };
    let db = PgDatabase::create(&cluster.url("postgres"))
        .await
        .expect("a database on the private cluster");
    let mut driver = Driver::new("postgres-server-crash", db.url.clone(), seed());
    let rounds = outage_rounds("CHAOS_SERVER_CRASHES");
    let outages = driver
        .run_outages(
            rounds,
            "server crashed",
            || cluster.crash().expect("pg_ctl stop -m immediate"),
            || cluster.pg_start().expect("restarting the server"),
        )
        .await;
    driver
        .report(json!({
            "server_crashes": rounds,
            "refused_while_down": outages.refused,
            "acked_while_down": outages.acked,
        }))
        .await;
    // A server that is down cannot have made anything durable.
    assert_eq!(
        outages.acked, 0,
        "sends were acknowledged while the database server was down"
    );
    assert_eq!(
        outages.rounds_without_refusal, 0,
        "in some outages no send was refused while the database server was down"
    );
    drop(db);
}

/// SQLite on a full disk under a live node (a small tmpfs, filled by another file): sends
/// must fail with an error once SQLite cannot write, no partial block may appear, the node
/// must recover once space is freed, and everything acknowledged before, during and after
/// must be included (a send SQLite could still make durable in its free pages is a true
/// acknowledgement: the checks below hold it to that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_disk_under_load() {
    let _serial = SERIAL.lock().await;
    let disk = match SmallDisk::mount(64) {
        Ok(disk) => disk,
        Err(reason) => {
            println!("SKIPPED (SQLite full disk): cannot mount a small tmpfs: {reason}");
            return;
        }
    };
    let db_url = format!("sqlite://{}/seq.db", disk.dir.path().display());
    let mut driver = Driver::new("sqlite-full-disk", db_url, seed());
    let rounds = outage_rounds("CHAOS_FULL_DISKS");
    let outages = driver
        .run_outages(
            rounds,
            "disk filled",
            || disk.fill().expect("filling the disk"),
            || disk.free().expect("freeing the disk"),
        )
        .await;
    driver
        .report(json!({
            "full_disks": rounds,
            "refused_while_full": outages.refused,
            "acked_while_full": outages.acked,
        }))
        .await;
    assert_eq!(
        outages.rounds_without_refusal, 0,
        "in some rounds no send was refused while the disk was full"
    );
}

/// The verifier is not vacuous: a store the binary wrote verifies, and the same store with
/// one stored balance changed, or one transaction removed from a block, does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_store_catches_a_tampered_store() {
    use sqlx::Connection;
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/seq.db", dir.path().display());
    let log = dir.path().join("sequencer.log");
    let mut seq = SequencerProcess::start(&db_url, 0, &log).await;
    let key: PrivateKeySigner = DEV_PRIVATE_KEYS[0].parse().expect("dev key");
    let to = recipient(7);
    let mut hashes = Vec::new();
    for nonce in 0..10u64 {
        let (hash, raw) = sign_transfer(&key, nonce, to, U256::from(1_000 + nonce));
        assert_eq!(seq.rpc.send_raw_ok(&raw).await, hash);
        hashes.push(hash);
    }
    let mut last_block = 0;
    for hash in &hashes {
        let receipt = seq.rpc.wait_receipt(*hash, RECEIPT_WAIT).await;
        last_block = last_block.max(hex_u64(&receipt["blockNumber"]));
    }
    let head = seq.rpc.block("latest").await;
    seq.kill9();

    let genesis = Config::dev(CHAIN_ID, &db_url).node.genesis;
    let store = Store::connect(&db_url).await.expect("store");
    let report = verify_store(&store, &genesis)
        .await
        .expect("the untouched store verifies");
    assert_eq!(report.txs, 10, "{report:?}");
    assert_eq!(report.head.hash, hex_b256(&head["hash"]), "{report:?}");
    assert_eq!(report.head.state_root, hex_b256(&head["stateRoot"]));
    store.close().await;

    // One stored balance changed: the replay still matches every header, the state stored
    // at the head does not hash to the head's root.
    let mut db = sqlx::sqlite::SqliteConnection::connect(&db_url)
        .await
        .expect("sqlite");
    let balance = U256::from(999_999u64).to_be_bytes::<32>().to_vec();
    let changed = sqlx::query(
        "UPDATE account_history SET balance = $1 WHERE address = $2 \
         AND block_number = (SELECT MAX(block_number) FROM account_history WHERE address = $2)",
    )
    .bind(balance)
    .bind(to.to_vec())
    .execute(&mut db)
    .await
    .expect("tampering with a balance");
    assert_eq!(changed.rows_affected(), 1);
    let store = Store::connect(&db_url).await.expect("store");
    let error = verify_store(&store, &genesis)
        .await
        .expect_err("a changed balance must not verify");
    assert!(error.is_state_root(), "{error}");
    assert!(
        error.to_string().contains("stored state"),
        "the stored state is what differs: {error}"
    );

    // One transaction removed from the last block that has any: its replay gives another
    // state root than the stored header.
    let removed = sqlx::query(
        "DELETE FROM transactions WHERE block_number = $1 \
         AND tx_index = (SELECT MAX(tx_index) FROM transactions WHERE block_number = $1)",
    )
    .bind(last_block as i64)
    .execute(&mut db)
    .await
    .expect("removing a transaction");
    assert_eq!(removed.rows_affected(), 1);
    let error = verify_store(&store, &genesis)
        .await
        .expect_err("a block without one of its transactions must not verify");
    assert!(
        matches!(
            &error,
            rollup_sequencer::verify::VerifyError::Mismatch { number, field: "stateRoot", .. }
                if *number == last_block
        ),
        "{error}"
    );
    store.close().await;
    let _ = db.close().await;
}
