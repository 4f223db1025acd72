//! `loadgen`: pre-signs EIP-1559 transfers from many funded senders, fires them at an eth_ JSON-RPC node (HTTP, HTTP batches or WebSocket) and reports sustained throughput and send→inclusion latency; `--compare-anvil` benchmarks our sequencer against anvil.
//!
//! Method, identical for every target (so the comparison with anvil is fair):
//! - Before the clock starts: fund the senders from the dev accounts (waiting for
//!   their receipts), read each sender's pending nonce, and sign every transfer.
//! - Sending: `--concurrency` workers (64 by default) each keep one
//!   `eth_sendRawTransaction` in flight (or one batch, or one WebSocket request);
//!   a transaction's send time is when its request goes out, its ack when the
//!   answer (its hash, which our node gives only once the transaction is durable)
//!   comes back.
//! - Inclusion: one watcher polls `eth_blockNumber` every `--poll-ms` and reads
//!   each new block once with `eth_getBlockByNumber(n, false)` (hashes only); a
//!   transaction is included at the moment its block was seen. No per-transaction
//!   receipt polling, so the watcher costs the node a few requests per block.
//! - Sustained tx/s = included transactions / (last inclusion − first send);
//!   latency = inclusion − send (p50, p99). With block time T every run pays the
//!   wait for the last block (up to T plus its build), so a short run at a high
//!   rate is capped near `txs / (send time + T/2 + build)`.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use clap::{Parser, ValueEnum};
use eyre::{WrapErr, bail, eyre};
use futures::{SinkExt, StreamExt};
use rayon::prelude::*;
use rollup_core::chain::DEV_PRIVATE_KEYS;
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio_tungstenite::tungstenite::Message;

mod soak;

/// Transport used to send the transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    /// Keep-alive HTTP/1.1 (one request or one batch at a time per worker).
    Http,
    /// One WebSocket connection per worker.
    Ws,
}

/// Command-line flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "loadgen",
    about = "Load generator: pre-signed EIP-1559 transfers, sustained TPS and send→inclusion latency"
)]
struct Args {
    /// Target node's HTTP JSON-RPC URL (ignored with --compare-anvil).
    #[arg(long, default_value = "http://127.0.0.1:9545")]
    rpc_url: String,
    /// WebSocket URL for --transport ws (default: the RPC URL with ws://).
    #[arg(long)]
    ws_url: Option<String>,
    /// Number of transfers to send.
    #[arg(long, short = 'n', default_value_t = 20_000)]
    txs: usize,
    /// Number of fresh senders (funded from the ten dev accounts).
    #[arg(long, default_value_t = 200)]
    senders: usize,
    /// Seed the sender keys are derived from.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent send workers (HTTP requests or WebSocket connections in flight).
    #[arg(long, short = 'c', default_value_t = 64)]
    concurrency: usize,
    /// Transactions per JSON-RPC batch (1: no batching).
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    /// Transport for the sends.
    #[arg(long, value_enum, default_value_t = Transport::Http)]
    transport: Transport,
    /// Max fee per gas of the transfers, in gwei.
    #[arg(long, default_value_t = 100)]
    max_fee_gwei: u64,
    /// Priority fee of the transfers, in gwei.
    #[arg(long, default_value_t = 1)]
    tip_gwei: u64,
    /// Interval between polls for new blocks, in milliseconds.
    #[arg(long, default_value_t = 10)]
    poll_ms: u64,
    /// Give up waiting for inclusions after this many seconds without progress.
    #[arg(long, default_value_t = 60)]
    stall_secs: u64,
    /// Start our sequencer and anvil, run the workload against both, compare.
    #[arg(long)]
    compare_anvil: bool,
    /// With --compare-anvil: skip anvil (profile the sequencer only).
    #[arg(long)]
    skip_anvil: bool,
    /// With --compare-anvil: skip the sequencer.
    #[arg(long)]
    skip_sequencer: bool,
    /// With --compare-anvil: block time of both nodes in ms (0: seal/mine on every tx).
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// With --compare-anvil: block gas limit of both nodes.
    #[arg(long, default_value_t = 200_000_000)]
    gas_limit: u64,
    /// With --compare-anvil: chain id of both nodes.
    #[arg(long, default_value_t = 42069)]
    chain_id: u64,
    /// With --compare-anvil: our pool's per-sender limit (default: enough for each sender's share).
    #[arg(long)]
    pool_max_per_sender: Option<usize>,
    /// With --compare-anvil: sequencer binary (default: next to this executable).
    #[arg(long)]
    sequencer_bin: Option<PathBuf>,
    /// With --compare-anvil: anvil binary (default: $ROLLUP_TOOLS_BIN, PATH, <repo>/.tools/bin).
    #[arg(long)]
    anvil_bin: Option<PathBuf>,
    /// Keep the temp dir (sequencer DB and node logs).
    #[arg(long)]
    keep_tmp: bool,
    /// Soak instead: start our sequencer and keep `--concurrency` transfers in flight for
    /// this many seconds (signed as they go), reporting send→inclusion latency and the
    /// node's memory per window.
    #[arg(long)]
    soak_secs: Option<u64>,
    /// With --soak-secs: length of a reporting window in seconds.
    #[arg(long, default_value_t = 60)]
    soak_window_secs: u64,
}

// ---------------------------------------------------------------------------
// JSON-RPC over HTTP

#[derive(Clone)]
struct Rpc {
    client: reqwest::Client,
    url: String,
}

impl Rpc {
    fn new(url: &str, pool: usize) -> eyre::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool.max(1))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }

    async fn post(&self, body: String) -> eyre::Result<Value> {
        let resp = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            eyre!(
                "HTTP {status}: {e}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })
    }

    async fn call(&self, method: &str, params: Value) -> eyre::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self.post(body.to_string()).await?;
        if let Some(err) = resp.get("error") {
            bail!("{method}: {err}");
        }
        Ok(resp.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Sends calls in batches of at most 500; results in order.
    async fn batch(&self, calls: &[(&str, Value)]) -> eyre::Result<Vec<Result<Value, String>>> {
        let mut out = Vec::with_capacity(calls.len());
        for (chunk_no, chunk) in calls.chunks(500).enumerate() {
            let base = chunk_no * 500;
            let body: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, (m, p))| json!({"jsonrpc": "2.0", "id": base + i, "method": m, "params": p}))
                .collect();
            let resp = self.post(Value::Array(body).to_string()).await?;
            let Value::Array(items) = resp else {
                bail!("batch answer is not an array: {resp}");
            };
            let mut slots: Vec<Option<Result<Value, String>>> = vec![None; chunk.len()];
            for item in items {
                let id = item.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
                if id < base || id >= base + chunk.len() {
                    continue;
                }
                slots[id - base] = Some(match item.get("error") {
                    Some(e) => Err(e.to_string()),
                    None => Ok(item.get("result").cloned().unwrap_or(Value::Null)),
                });
            }
            out.extend(
                slots
                    .into_iter()
                    .map(|s| s.unwrap_or_else(|| Err("missing answer".into()))),
            );
        }
        Ok(out)
    }
}

fn hex_u64(v: &Value) -> eyre::Result<u64> {
    let s = v.as_str().ok_or_else(|| eyre!("not a hex string: {v}"))?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).wrap_err_with(|| format!("bad hex {s}"))
}

fn hex_u256(v: &Value) -> eyre::Result<U256> {
    let s = v.as_str().ok_or_else(|| eyre!("not a hex string: {v}"))?;
    U256::from_str(s).wrap_err_with(|| format!("bad hex {s}"))
}

// ---------------------------------------------------------------------------
// Signing and funding

struct Fees {
    max_fee: u128,
    tip: u128,
}

fn sign_transfer(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    value: U256,
    fees: &Fees,
) -> eyre::Result<(B256, Bytes)> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.tip,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    let signed = tx.into_signed(sig);
    let hash = *signed.hash();
    let envelope = TxEnvelope::from(signed);
    Ok((hash, envelope.encoded_2718().into()))
}

fn sender_keys(seed: u64, k: usize) -> eyre::Result<Vec<PrivateKeySigner>> {
    (0..k)
        .into_par_iter()
        .map(|i| {
            let key = keccak256(format!("rollup-loadgen-sender-{seed}-{i}"));
            PrivateKeySigner::from_bytes(&key).map_err(|e| eyre!("sender key {i}: {e}"))
        })
        .collect()
}

/// Waits until every hash has a receipt; fails on a reverted one or after `timeout`.
async fn wait_receipts(rpc: &Rpc, hashes: &[B256], timeout: Duration) -> eyre::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<B256> = hashes.to_vec();
    while !pending.is_empty() {
        if Instant::now() > deadline {
            bail!("{} funding receipts still missing", pending.len());
        }
        let calls: Vec<(&str, Value)> = pending
            .iter()
            .map(|h| ("eth_getTransactionReceipt", json!([h])))
            .collect();
        let answers = rpc.batch(&calls).await?;
        let mut still = Vec::new();
        for (h, a) in pending.iter().zip(answers) {
            match a {
                Ok(Value::Null) | Err(_) => still.push(*h),
                Ok(r) => {
                    if r.get("status").and_then(Value::as_str) != Some("0x1") {
                        bail!("funding tx {h} failed: {r}");
                    }
                }
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// The pre-signed workload.
struct Workload {
    /// `0x…` raw transactions in send order.
    raws: Vec<String>,
    hashes: Vec<B256>,
}

/// The `pending` nonce of each address, in one batch.
async fn pending_nonces(rpc: &Rpc, addrs: &[Address]) -> eyre::Result<Vec<u64>> {
    let calls: Vec<(&str, Value)> = addrs
        .iter()
        .map(|a| ("eth_getTransactionCount", json!([a, "pending"])))
        .collect();
    rpc.batch(&calls)
        .await?
        .into_iter()
        .map(|r| hex_u64(&r.map_err(|e| eyre!(e))?))
        .collect()
}

/// Funded senders, ready to sign.
struct Senders {
    chain_id: u64,
    fees: Fees,
    keys: Vec<PrivateKeySigner>,
    addrs: Vec<Address>,
    /// Each sender's next (pending) nonce.
    nonces: Vec<u64>,
}

/// Funds `args.senders` senders from the dev accounts for `per_sender` transfers each
/// (waiting for receipts) and reads their pending nonces.
async fn fund_senders(rpc: &Rpc, args: &Args, per_sender: usize) -> eyre::Result<Senders> {
    let chain_id = hex_u64(&rpc.call("eth_chainId", json!([])).await?)?;
    let fees = Fees {
        max_fee: args.max_fee_gwei as u128 * 1_000_000_000,
        tip: args.tip_gwei as u128 * 1_000_000_000,
    };
    let k = args.senders.max(1);
    let senders = sender_keys(args.seed, k)?;
    let addrs: Vec<Address> = senders.iter().map(|s| s.address()).collect();
    let share = per_sender as u128;
    // Each sender pays at most 21000 * max_fee + 1 wei per transfer; double it for margin.
    let need = U256::from(share * (21_000 * fees.max_fee + 1) * 2 + 1_000_000_000_000_000);

    let devs: Vec<PrivateKeySigner> = DEV_PRIVATE_KEYS
        .iter()
        .map(|k| PrivateKeySigner::from_bytes(&B256::from_str(k)?).map_err(|e| eyre!("{e}")))
        .collect::<eyre::Result<_>>()?;
    let dev_addrs: Vec<Address> = devs.iter().map(|d| d.address()).collect();
    let balance_calls: Vec<(&str, Value)> = addrs
        .iter()
        .map(|a| ("eth_getBalance", json!([a, "latest"])))
        .collect();
    let dev_nonces = pending_nonces(rpc, &dev_addrs).await?;
    let balances: Vec<U256> = rpc
        .batch(&balance_calls)
        .await?
        .into_iter()
        .map(|r| hex_u256(&r.map_err(|e| eyre!(e))?))
        .collect::<eyre::Result<_>>()?;

    let t = Instant::now();
    let mut next_nonce = dev_nonces.clone();
    let mut funding = Vec::new();
    for (i, (addr, bal)) in addrs.iter().zip(&balances).enumerate() {
        if *bal >= need {
            continue;
        }
        let d = i % devs.len();
        let (hash, raw) = sign_transfer(&devs[d], chain_id, next_nonce[d], *addr, need, &fees)?;
        next_nonce[d] += 1;
        funding.push((hash, raw));
    }
    if !funding.is_empty() {
        let calls: Vec<(&str, Value)> = funding
            .iter()
            .map(|(_, raw)| ("eth_sendRawTransaction", json!([raw])))
            .collect();
        for (a, (h, _)) in rpc.batch(&calls).await?.into_iter().zip(&funding) {
            if let Err(e) = a {
                bail!("funding tx {h} rejected: {e}");
            }
        }
        let hashes: Vec<B256> = funding.iter().map(|(h, _)| *h).collect();
        wait_receipts(rpc, &hashes, Duration::from_secs(120)).await?;
    }
    eprintln!(
        "  funded {} of {k} senders with {need} wei each in {:.2}s",
        funding.len(),
        t.elapsed().as_secs_f64()
    );

    let nonces = pending_nonces(rpc, &addrs).await?;
    Ok(Senders {
        chain_id,
        fees,
        keys: senders,
        addrs,
        nonces,
    })
}

/// Funds the senders and pre-signs `args.txs` transfers.
async fn prepare(rpc: &Rpc, args: &Args) -> eyre::Result<Workload> {
    let k = args.senders.max(1);
    let share = args.txs.div_ceil(k);
    let Senders {
        chain_id,
        fees,
        keys: senders,
        addrs,
        nonces,
    } = fund_senders(rpc, args, share).await?;
    let t = Instant::now();
    // Round-robin over senders so each sender's nonces go out in order.
    let signed: Vec<(B256, String)> = (0..args.txs)
        .into_par_iter()
        .map(|j| {
            let s = j % k;
            let nonce = nonces[s] + (j / k) as u64;
            let to = addrs[(s + 1) % k];
            let (h, raw) = sign_transfer(&senders[s], chain_id, nonce, to, U256::from(1), &fees)?;
            Ok((h, format!("0x{}", hex::encode(&raw))))
        })
        .collect::<eyre::Result<_>>()?;
    eprintln!(
        "  signed {} transfers (chain id {chain_id}, {share} per sender) in {:.2}s",
        signed.len(),
        t.elapsed().as_secs_f64()
    );
    let (hashes, raws) = signed.into_iter().unzip();
    Ok(Workload { raws, hashes })
}

// ---------------------------------------------------------------------------
// The timed run

/// Per-transaction timings in nanoseconds since the run's start (0: none).
struct Timings {
    sent: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
    failed: Vec<AtomicBool>,
    errors: AtomicUsize,
    first_errors: parking_lot::Mutex<Vec<String>>,
    t0: Instant,
}

impl Timings {
    fn now(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64 + 1
    }

    fn fail(&self, i: usize, msg: impl FnOnce() -> String) {
        if !self.failed[i].swap(true, Ordering::Relaxed) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_errors.lock();
            if first.len() < 5 {
                first.push(msg());
            }
        }
    }

    /// Records the answer to a request carrying transactions `range`.
    fn answer(&self, range: std::ops::Range<usize>, resp: eyre::Result<Value>) {
        let now = self.now();
        for i in range.clone() {
            self.acked[i].store(now, Ordering::Relaxed);
        }
        match resp {
            Err(e) => {
                for i in range {
                    self.fail(i, || format!("transport: {e}"));
                }
            }
            Ok(Value::Array(items)) => {
                let mut seen = vec![false; range.len()];
                for item in items {
                    let id = item.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX) as usize;
                    if !range.contains(&id) {
                        continue;
                    }
                    seen[id - range.start] = true;
                    if let Some(err) = item.get("error") {
                        self.fail(id, || format!("tx {id}: {err}"));
                    }
                }
                for (k, s) in seen.into_iter().enumerate() {
                    if !s {
                        self.fail(range.start + k, || "no answer in batch".into());
                    }
                }
            }
            Ok(obj) => {
                if range.len() != 1 {
                    let msg = obj.to_string();
                    for i in range {
                        self.fail(i, || format!("batch answered with {msg}"));
                    }
                } else if let Some(err) = obj.get("error") {
                    self.fail(range.start, || format!("tx {}: {err}", range.start));
                }
            }
        }
    }
}

fn request_body(raws: &[String], range: std::ops::Range<usize>, batched: bool) -> String {
    let one = |i: usize| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{i},"method":"eth_sendRawTransaction","params":["{}"]}}"#,
            raws[i]
        )
    };
    if batched {
        let parts: Vec<String> = range.map(one).collect();
        format!("[{}]", parts.join(","))
    } else {
        one(range.start)
    }
}

/// What the block watcher saw.
struct Inclusions {
    included: Vec<u64>,
    blocks: Vec<(u64, usize, u64)>,
}

/// Polls for new blocks; every known tx hash in a new block gets the time its block was seen.
async fn watch_blocks(
    rpc: Rpc,
    start_block: u64,
    index: HashMap<B256, usize>,
    timings: Arc<Timings>,
    sending_done: Arc<AtomicBool>,
    poll: Duration,
    stall: Duration,
) -> eyre::Result<Inclusions> {
    let n = index.len();
    let mut included = vec![0u64; n];
    let mut count = 0usize;
    let mut blocks = Vec::new();
    let mut last = start_block;
    let mut last_progress = Instant::now();
    loop {
        let head = match rpc.call("eth_blockNumber", json!([])).await {
            Ok(v) => hex_u64(&v)?,
            Err(e) => {
                eprintln!("  watcher: {e}");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        for num in last + 1..=head {
            let block = rpc
                .call("eth_getBlockByNumber", json!([format!("0x{num:x}"), false]))
                .await?;
            let now = timings.now();
            let txs = block
                .get("transactions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut mine = 0;
            for h in &txs {
                if let Some(i) = h
                    .as_str()
                    .and_then(|s| B256::from_str(s).ok())
                    .and_then(|h| index.get(&h))
                    && included[*i] == 0
                {
                    included[*i] = now;
                    count += 1;
                    mine += 1;
                }
            }
            if mine > 0 {
                last_progress = Instant::now();
            }
            blocks.push((num, mine, now));
            last = num;
        }
        if sending_done.load(Ordering::Acquire) {
            let errors = timings.errors.load(Ordering::Relaxed);
            if count + errors >= n {
                break;
            }
            if last_progress.elapsed() > stall {
                eprintln!(
                    "  watcher: no progress for {stall:?}; {} txs never included",
                    n - count - errors
                );
                break;
            }
        } else if count > 0 || timings.sent[0].load(Ordering::Relaxed) == 0 {
            last_progress = Instant::now();
        }
        tokio::time::sleep(poll).await;
    }
    Ok(Inclusions { included, blocks })
}

/// Result of one target.
#[derive(Debug, Clone)]
struct RunResult {
    tps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    included: usize,
    missing: usize,
}

fn percentile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx] as f64 / 1e6
}

fn ws_url_of(http: &str) -> String {
    if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        http.to_owned()
    }
}

async fn run_target(label: &str, url: &str, args: &Args) -> eyre::Result<RunResult> {
    eprintln!("== {label}: {url}");
    let rpc = Rpc::new(url, 4)?;
    let work = prepare(&rpc, args).await?;
    let n = work.raws.len();
    let index: HashMap<B256, usize> = work
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let start_block = hex_u64(&rpc.call("eth_blockNumber", json!([])).await?)?;

    let timings = Arc::new(Timings {
        sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
        acked: (0..n).map(|_| AtomicU64::new(0)).collect(),
        failed: (0..n).map(|_| AtomicBool::new(false)).collect(),
        errors: AtomicUsize::new(0),
        first_errors: Default::default(),
        t0: Instant::now(),
    });
    let sending_done = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_blocks(
        Rpc::new(url, 2)?,
        start_block,
        index,
        timings.clone(),
        sending_done.clone(),
        Duration::from_millis(args.poll_ms),
        Duration::from_secs(args.stall_secs),
    ));

    let raws = Arc::new(work.raws);
    let next = Arc::new(AtomicUsize::new(0));
    let batch = args.batch_size.max(1);
    let batched = args.batch_size > 1;
    let workers = args.concurrency.max(1);
    let mut tasks = Vec::with_capacity(workers);
    let ws_url = args.ws_url.clone().unwrap_or_else(|| ws_url_of(url));
    let sender_rpc = Rpc::new(url, workers)?;
    for _ in 0..workers {
        let (raws, next, timings) = (raws.clone(), next.clone(), timings.clone());
        let rpc = sender_rpc.clone();
        let transport = args.transport;
        let ws_url = ws_url.clone();
        tasks.push(tokio::spawn(async move {
            let mut ws = match transport {
                Transport::Ws => Some(
                    tokio_tungstenite::connect_async(ws_url.as_str())
                        .await
                        .wrap_err("WebSocket connect")?
                        .0,
                ),
                Transport::Http => None,
            };
            loop {
                let start = next.fetch_add(batch, Ordering::Relaxed);
                if start >= n {
                    break;
                }
                let range = start..(start + batch).min(n);
                let body = request_body(&raws, range.clone(), batched);
                let now = timings.now();
                for i in range.clone() {
                    timings.sent[i].store(now, Ordering::Relaxed);
                }
                let resp = match ws.as_mut() {
                    None => rpc.post(body).await,
                    Some(ws) => {
                        async {
                            ws.send(Message::text(body)).await?;
                            loop {
                                match ws.next().await {
                                    None => bail!("WebSocket closed"),
                                    Some(Err(e)) => return Err(e.into()),
                                    Some(Ok(Message::Text(t))) => {
                                        break Ok(serde_json::from_str::<Value>(t.as_str())?);
                                    }
                                    Some(Ok(Message::Binary(b))) => {
                                        break Ok(serde_json::from_slice::<Value>(&b)?);
                                    }
                                    Some(Ok(_)) => continue,
                                }
                            }
                        }
                        .await
                    }
                };
                timings.answer(range, resp);
            }
            eyre::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let send_end = timings.now();
    sending_done.store(true, Ordering::Release);
    let inc = watcher.await??;

    let errors = timings.errors.load(Ordering::Relaxed);
    let first_send = timings
        .sent
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(1);
    let mut lat = Vec::with_capacity(n);
    let mut ack = Vec::with_capacity(n);
    let mut last_incl = first_send;
    for i in 0..n {
        let s = timings.sent[i].load(Ordering::Relaxed);
        let a = timings.acked[i].load(Ordering::Relaxed);
        if a > 0 && s > 0 {
            ack.push(a - s);
        }
        if inc.included[i] > 0 {
            lat.push(inc.included[i].saturating_sub(s));
            last_incl = last_incl.max(inc.included[i]);
        }
    }
    lat.sort_unstable();
    ack.sort_unstable();
    let included = lat.len();
    let span = (last_incl - first_send) as f64 / 1e9;
    let tps = if span > 0.0 {
        included as f64 / span
    } else {
        0.0
    };
    let send_secs = (send_end - first_send) as f64 / 1e9;
    let busy: Vec<&(u64, usize, u64)> = inc.blocks.iter().filter(|b| b.1 > 0).collect();
    let max_per_block = busy.iter().map(|b| b.1).max().unwrap_or(0);
    eprintln!(
        "  sent {n} in {send_secs:.2}s ({:.0} tx/s accepted), rpc ack p50 {:.2} ms p99 {:.2} ms",
        n as f64 / send_secs.max(1e-9),
        percentile_ms(&ack, 0.5),
        percentile_ms(&ack, 0.99)
    );
    eprintln!(
        "  included {included}/{n} in {span:.2}s over {} blocks (max {max_per_block} txs/block): {tps:.0} tx/s; latency p50 {:.1} ms p99 {:.1} ms; errors {errors}",
        busy.len(),
        percentile_ms(&lat, 0.5),
        percentile_ms(&lat, 0.99)
    );
    if busy.len() <= 40 {
        let desc: Vec<String> = busy
            .iter()
            .map(|(num, c, t)| format!("#{num}:{c}@{:.2}s", (*t as f64 - first_send as f64) / 1e9))
            .collect();
        eprintln!("  blocks: {}", desc.join(" "));
    }
    for e in timings.first_errors.lock().iter() {
        eprintln!("  error: {e}");
    }
    Ok(RunResult {
        tps,
        p50_ms: percentile_ms(&lat, 0.5),
        p99_ms: percentile_ms(&lat, 0.99),
        errors,
        included,
        missing: n - included - errors.min(n - included),
    })
}

// ---------------------------------------------------------------------------
// Child nodes for --compare-anvil

/// A child process killed (and reaped) on drop.
struct ChildGuard {
    child: Child,
    name: &'static str,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("  stopped {}", self.name);
    }
}

/// A temp dir removed on drop unless kept.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    /// A fresh folder under the system's temp dir.
    fn new(keep: bool) -> eyre::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let path = std::env::temp_dir().join(format!("loadgen-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path, keep })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn log_files(dir: &Path, name: &str) -> eyre::Result<(Stdio, Stdio)> {
    let f = std::fs::File::create(dir.join(format!("{name}.log")))?;
    Ok((f.try_clone()?.into(), f.into()))
}

async fn wait_ready(url: &str, guard: &mut ChildGuard, dir: &Path) -> eyre::Result<()> {
    let rpc = Rpc::new(url, 1)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = guard.child.try_wait()? {
            let log = std::fs::read_to_string(dir.join(format!("{}.log", guard.name)))
                .unwrap_or_default();
            bail!("{} exited early ({status}):\n{log}", guard.name);
        }
        if rpc.call("eth_chainId", json!([])).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} did not answer on {url} within 60s", guard.name);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn repo_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("..")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(d) = exe.parent().and_then(Path::parent).and_then(Path::parent)
    {
        dirs.push(d.to_path_buf());
    }
    dirs
}

fn find_anvil(args: &Args) -> eyre::Result<PathBuf> {
    if let Some(p) = &args.anvil_bin {
        return Ok(p.clone());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("ROLLUP_TOOLS_BIN") {
        candidates.push(PathBuf::from(dir).join("anvil"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("anvil")));
    }
    candidates.extend(repo_dirs().into_iter().map(|d| d.join(".tools/bin/anvil")));
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| eyre!("anvil not found (PATH, $ROLLUP_TOOLS_BIN, <repo>/.tools/bin)"))
}

async fn start_sequencer(args: &Args, dir: &Path) -> eyre::Result<(ChildGuard, String)> {
    let bin = match &args.sequencer_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| eyre!("no exe dir"))?
            .join("sequencer"),
    };
    if !bin.is_file() {
        bail!(
            "{} not found; build it: cargo build --release -p rollup-sequencer --bin sequencer",
            bin.display()
        );
    }
    let port = free_port()?;
    let share = args.txs.div_ceil(args.senders.max(1));
    let per_sender = args.pool_max_per_sender.unwrap_or((share + 16).max(64));
    let (out, err) = log_files(dir, "sequencer")?;
    let child = Command::new(&bin)
        .arg("--rpc.addr")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--db.url")
        .arg(format!("sqlite://{}", dir.join("sequencer.db").display()))
        .arg("--chain.id")
        .arg(args.chain_id.to_string())
        .arg("--block.time-ms")
        .arg(args.block_time_ms.to_string())
        .arg("--block.gas-limit")
        .arg(args.gas_limit.to_string())
        .arg("--pool.max-per-sender")
        .arg(per_sender.to_string())
        .arg("--pool.max-txs")
        .arg((args.txs + args.senders + 1000).max(50_000).to_string())
        .env(
            "RUST_LOG",
            std::env::var("LOADGEN_NODE_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .wrap_err_with(|| format!("starting {}", bin.display()))?;
    let mut guard = ChildGuard {
        child,
        name: "sequencer",
    };
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&url, &mut guard, dir).await?;
    eprintln!(
        "  started {} (pool.max-per-sender {per_sender})",
        bin.display()
    );
    Ok((guard, url))
}

async fn start_anvil(args: &Args, dir: &Path) -> eyre::Result<(ChildGuard, String)> {
    let bin = find_anvil(args)?;
    let port = free_port()?;
    let (out, err) = log_files(dir, "anvil")?;
    let mut cmd = Command::new(&bin);
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--chain-id")
        .arg(args.chain_id.to_string())
        .arg("--hardfork")
        .arg("prague")
        .arg("--gas-limit")
        .arg(args.gas_limit.to_string())
        .arg("--silent");
    if args.block_time_ms > 0 {
        cmd.arg("--block-time")
            .arg(format!("{}", args.block_time_ms as f64 / 1000.0));
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .wrap_err_with(|| format!("starting {}", bin.display()))?;
    let mut guard = ChildGuard {
        child,
        name: "anvil",
    };
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(&url, &mut guard, dir).await?;
    eprintln!("  started {}", bin.display());
    Ok((guard, url))
}

/// The most transfers per second any node could take in on this machine: the cost of
/// decoding a signed transfer, recovering its sender (libsecp256k1, as the sequencer does)
/// and checking it, measured on one thread, times the machine's cores. Nothing else (HTTP,
/// JSON, execution, storage, the load generator itself) is counted, so a node's real rate
/// is below it.
struct IntakeCeiling {
    micros_per_tx: f64,
    cores: usize,
    tps: f64,
}

fn intake_ceiling(args: &Args) -> eyre::Result<IntakeCeiling> {
    const SAMPLE: u64 = 4_000;
    let signer = sender_keys(args.seed, 1)?.remove(0);
    let fees = Fees {
        max_fee: 1_000_000_000_000,
        tip: 1,
    };
    let raws = (0..SAMPLE)
        .map(|nonce| {
            sign_transfer(
                &signer,
                args.chain_id,
                nonce,
                Address::ZERO,
                U256::from(1),
                &fees,
            )
        })
        .collect::<eyre::Result<Vec<_>>>()?;
    let chain = rollup_core::chain::ChainConfig {
        chain_id: args.chain_id,
        ..Default::default()
    };
    // Best of three passes: the figure is a ceiling, so the least disturbed pass counts.
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        for (_, raw) in &raws {
            rollup_core::tx::decode_and_check(raw, &chain)
                .map_err(|e| eyre!("a loadgen transfer was refused: {e}"))?;
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / SAMPLE as f64);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(IntakeCeiling {
        micros_per_tx: best,
        cores,
        tps: cores as f64 * 1e6 / best,
    })
}

async fn compare(args: &Args) -> eyre::Result<()> {
    let tmp = TempDir::new(args.keep_tmp)?;
    eprintln!(
        "workload: {} transfers from {} senders, {:?} x{} (batch {}), block time {} ms, gas limit {}",
        args.txs,
        args.senders,
        args.transport,
        args.concurrency,
        args.batch_size,
        args.block_time_ms,
        args.gas_limit
    );
    let mut seq = None;
    if !args.skip_sequencer {
        let (guard, url) = start_sequencer(args, &tmp.path).await?;
        seq = Some(run_target("sequencer", &url, args).await?);
        drop(guard);
    }
    let mut anvil = None;
    if !args.skip_anvil {
        let (guard, url) = start_anvil(args, &tmp.path).await?;
        anvil = Some(run_target("anvil", &url, args).await?);
        drop(guard);
    }

    println!();
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>8} {:>9}",
        "node", "tps", "p50 ms", "p99 ms", "errors", "missing"
    );
    for (name, r) in [("sequencer", &seq), ("anvil", &anvil)] {
        if let Some(r) = r {
            println!(
                "{:<10} {:>10.1} {:>10.1} {:>10.1} {:>8} {:>9}",
                name, r.tps, r.p50_ms, r.p99_ms, r.errors, r.missing
            );
        }
    }
    let num = |v: Option<f64>| {
        v.filter(|x| x.is_finite())
            .map(|x| json!((x * 100.0).round() / 100.0))
            .unwrap_or(Value::Null)
    };
    let ratio = match (&seq, &anvil) {
        (Some(s), Some(a)) if a.tps > 0.0 => Some(s.tps / a.tps),
        _ => None,
    };
    let ceiling = intake_ceiling(args)?;
    let ceiling_ratio = anvil
        .as_ref()
        .filter(|a| a.tps > 0.0)
        .map(|a| ceiling.tps / a.tps);
    println!();
    println!(
        "intake ceiling: decoding, recovering and checking a transfer takes {:.1} us on one core; \
         {} cores doing nothing else take in at most {:.0} tx/s{}",
        ceiling.micros_per_tx,
        ceiling.cores,
        ceiling.tps,
        ceiling_ratio
            .map(|r| format!(", {r:.2}x Anvil's rate"))
            .unwrap_or_default()
    );
    let line = json!({
        "sequencer_tps": num(seq.as_ref().map(|r| r.tps)),
        "anvil_tps": num(anvil.as_ref().map(|r| r.tps)),
        "ratio": ratio.map(|x| json!((x * 1000.0).round() / 1000.0)).unwrap_or(Value::Null),
        "sequencer_p50_ms": num(seq.as_ref().map(|r| r.p50_ms)),
        "sequencer_p99_ms": num(seq.as_ref().map(|r| r.p99_ms)),
        "anvil_p50_ms": num(anvil.as_ref().map(|r| r.p50_ms)),
        "anvil_p99_ms": num(anvil.as_ref().map(|r| r.p99_ms)),
        "intake_us_per_tx": num(Some(ceiling.micros_per_tx)),
        "intake_ceiling_tps": num(Some(ceiling.tps.round())),
        "intake_ceiling_ratio": num(ceiling_ratio),
    });
    println!("{line}");
    Ok(())
}

async fn run(args: Args) -> eyre::Result<()> {
    if let Some(secs) = args.soak_secs {
        return soak::soak(&args, secs).await;
    }
    if args.compare_anvil {
        return compare(&args).await;
    }
    let r = run_target("target", &args.rpc_url, &args).await?;
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>8} {:>9}",
        "node", "tps", "p50 ms", "p99 ms", "errors", "missing"
    );
    println!(
        "{:<10} {:>10.1} {:>10.1} {:>10.1} {:>8} {:>9}",
        "target", r.tps, r.p50_ms, r.p99_ms, r.errors, r.missing
    );
    println!(
        "{}",
        json!({"tps": r.tps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors, "included": r.included})
    );
    Ok(())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let args = Args::parse();
    // Returning from main drops the child guards, so Ctrl-C also stops the nodes.
    tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted");
            Ok(())
        }
    }
}
