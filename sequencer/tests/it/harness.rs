//! Shared helpers: in-process nodes (SQLite in a tempdir, or a fresh Postgres
//! schema), the `sequencer` binary as a child process, a real `anvil`, a raw
//! JSON-RPC client, transaction signing, tool lookup and waits with deadlines.

use alloy::{
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use alloy_consensus::TxEnvelope;
use alloy_eips::eip2718::Encodable2718;
use rollup_core::{block::SealedBlock, chain::DEV_PRIVATE_KEYS};
use rollup_sequencer::{
    config::{Config, Running, launch},
    node::Node,
};
use serde_json::{Value, json};
use std::{
    ffi::OsString,
    fs::OpenOptions,
    future::Future,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tempfile::TempDir;

/// Chain id every test node runs with.
pub(crate) const CHAIN_ID: u64 = 42069;
/// One gwei in wei.
pub(crate) const GWEI: u128 = 1_000_000_000;
/// Default deadline of a wait.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// `n` ether in wei.
pub(crate) fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

// ---------------------------------------------------------------- waiting

/// Polls `probe` until it yields `Some`, panicking with `what` after `timeout`.
pub(crate) async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Awaits `fut`, panicking with `what` after `timeout`.
pub(crate) async fn within<T>(what: &str, timeout: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(timeout, fut).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {timeout:?}: {what}"),
    }
}

// ---------------------------------------------------------------- JSON helpers

/// Parses a hex quantity (`"0x1a"`) into a u64.
pub(crate) fn hex_u64(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a hex quantity, got {v}"));
    u64::from_str_radix(
        s.strip_prefix("0x")
            .unwrap_or_else(|| panic!("no 0x prefix: {s}")),
        16,
    )
    .unwrap_or_else(|e| panic!("bad quantity {s}: {e}"))
}

/// Parses a hex quantity into a U256.
pub(crate) fn hex_u256(v: &Value) -> U256 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a hex quantity, got {v}"));
    U256::from_str_radix(
        s.strip_prefix("0x")
            .unwrap_or_else(|| panic!("no 0x prefix: {s}")),
        16,
    )
    .unwrap_or_else(|e| panic!("bad quantity {s}: {e}"))
}

/// Parses a 32-byte hash.
pub(crate) fn hex_b256(v: &Value) -> B256 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a 32-byte hex string, got {v}"));
    s.parse().unwrap_or_else(|e| panic!("bad hash {s}: {e}"))
}

/// Parses an address.
pub(crate) fn hex_address(v: &Value) -> Address {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected an address, got {v}"));
    s.parse().unwrap_or_else(|e| panic!("bad address {s}: {e}"))
}

/// True for a canonical JSON-RPC quantity: `0x0` or `0x` and hex without leading zeros.
pub(crate) fn is_quantity(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .is_some_and(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                && (h == "0" || !h.starts_with('0'))
        })
}

/// True for `0x` and exactly `bytes` bytes of hex.
pub(crate) fn is_data(v: &Value, bytes: usize) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .is_some_and(|h| h.len() == bytes * 2 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------- raw JSON-RPC

/// A plain JSON-RPC client over HTTP that returns whole response objects.
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    /// Endpoint.
    pub(crate) url: String,
    client: reqwest::Client,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Rpc {
    /// A client for `url`.
    pub(crate) fn new(url: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("reqwest client");
        Self {
            url: url.into(),
            client,
        }
    }

    /// Posts `body` as `application/json`: HTTP status and body text.
    pub(crate) async fn post(
        &self,
        body: impl Into<reqwest::Body>,
    ) -> Result<(u16, String), reqwest::Error> {
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    /// Posts `body` and parses the response as JSON (panics on transport errors or non-JSON).
    pub(crate) async fn post_json(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let (status, text) = self
            .post(body)
            .await
            .unwrap_or_else(|e| panic!("POST {} failed: {e}", self.url));
        let value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "response (HTTP {status}) is not JSON ({e}): {}",
                truncate(&text, 2000)
            )
        });
        (status, value)
    }

    /// One request; the full response object, or a transport error.
    pub(crate) async fn try_call(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Value, reqwest::Error> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self.client.post(&self.url).json(&body).send().await?;
        response.json().await
    }

    /// One request; the full response object.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        let request = format!("{method} {params}");
        let response = self
            .try_call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{request} at {}: {e}", self.url));
        assert_eq!(response["jsonrpc"], "2.0", "{request} -> {response}");
        response
    }

    /// One request that must succeed; its `result`.
    pub(crate) async fn result(&self, method: &str, params: Value) -> Value {
        let request = format!("{method} {params}");
        let response = self.call(method, params).await;
        assert!(
            response.get("error").is_none(),
            "{request} failed: {response}"
        );
        response
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{request}: response without result: {response}"))
    }

    /// One request that must fail; its `error` object.
    pub(crate) async fn error(&self, method: &str, params: Value) -> Value {
        let request = format!("{method} {}", truncate(&params.to_string(), 300));
        let response = self.call(method, params).await;
        assert!(
            response.get("result").is_none(),
            "{request} should have failed: {response}"
        );
        response
            .get("error")
            .cloned()
            .unwrap_or_else(|| panic!("{request}: response without error: {response}"))
    }

    /// `eth_sendRawTransaction`: the full response.
    pub(crate) async fn send_raw(&self, raw: &Bytes) -> Value {
        self.call("eth_sendRawTransaction", json!([raw])).await
    }

    /// `eth_sendRawTransaction` that must succeed: the hash.
    pub(crate) async fn send_raw_ok(&self, raw: &Bytes) -> B256 {
        hex_b256(&self.result("eth_sendRawTransaction", json!([raw])).await)
    }

    /// Waits for the receipt of `hash`.
    pub(crate) async fn wait_receipt(&self, hash: B256, timeout: Duration) -> Value {
        wait_until(
            &format!("receipt of {hash} at {}", self.url),
            timeout,
            || async move {
                let receipt = self
                    .result("eth_getTransactionReceipt", json!([hash]))
                    .await;
                (!receipt.is_null()).then_some(receipt)
            },
        )
        .await
    }

    /// `eth_getBlockByNumber(tag, false)`.
    pub(crate) async fn block(&self, tag: &str) -> Value {
        self.result("eth_getBlockByNumber", json!([tag, false]))
            .await
    }

    /// `eth_blockNumber`.
    pub(crate) async fn block_number(&self) -> u64 {
        hex_u64(&self.result("eth_blockNumber", json!([])).await)
    }

    /// `eth_getBalance(address, tag)`.
    pub(crate) async fn balance(&self, address: Address, tag: &str) -> U256 {
        hex_u256(&self.result("eth_getBalance", json!([address, tag])).await)
    }

    /// `eth_getTransactionCount(address, tag)`.
    pub(crate) async fn nonce(&self, address: Address, tag: &str) -> u64 {
        hex_u64(
            &self
                .result("eth_getTransactionCount", json!([address, tag]))
                .await,
        )
    }

    /// `eth_getStorageAt(address, slot, latest)`.
    pub(crate) async fn storage(&self, address: Address, slot: U256) -> B256 {
        hex_b256(
            &self
                .result("eth_getStorageAt", json!([address, slot, "latest"]))
                .await,
        )
    }
}

/// At most `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        format!("{}… ({} bytes)", &s[..s.floor_char_boundary(max)], s.len())
    }
}

/// Asserts `error` is a JSON-RPC error with `code` whose message starts with `prefix`.
pub(crate) fn assert_error(error: &Value, code: i64, prefix: &str, context: &str) {
    assert_eq!(
        error["code"].as_i64(),
        Some(code),
        "{context}: wrong error code: {error}"
    );
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: error without message: {error}"));
    assert!(
        message.starts_with(prefix),
        "{context}: message {message:?} should start with {prefix:?} ({error})"
    );
}

// ---------------------------------------------------------------- signing

/// Dev account `i` (funded with 10,000 ETH at genesis).
pub(crate) fn dev_key(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

/// A fresh random key (no funds).
pub(crate) fn random_key() -> PrivateKeySigner {
    PrivateKeySigner::random()
}

/// Signs a complete request with `signer` through `EthereumWallet`: the
/// envelope and its EIP-2718 bytes.
pub(crate) async fn sign(
    signer: &PrivateKeySigner,
    request: TransactionRequest,
) -> (TxEnvelope, Bytes) {
    let wallet = EthereumWallet::from(signer.clone());
    let envelope = request
        .clone()
        .build(&wallet)
        .await
        .unwrap_or_else(|e| panic!("signing {request:?}: {e}"));
    let raw = Bytes::from(envelope.encoded_2718());
    (envelope, raw)
}

/// An EIP-1559 call/transfer on [`CHAIN_ID`]: max fee 10 gwei, tip 1 gwei.
pub(crate) fn eip1559(nonce: u64, to: Address, value: U256, gas: u64) -> TransactionRequest {
    TransactionRequest::default()
        .with_chain_id(CHAIN_ID)
        .with_nonce(nonce)
        .with_to(to)
        .with_value(value)
        .with_gas_limit(gas)
        .with_max_fee_per_gas(10 * GWEI)
        .with_max_priority_fee_per_gas(GWEI)
}

/// An EIP-1559 contract creation on [`CHAIN_ID`].
pub(crate) fn eip1559_create(nonce: u64, init_code: Bytes, gas: u64) -> TransactionRequest {
    TransactionRequest::default()
        .with_chain_id(CHAIN_ID)
        .with_nonce(nonce)
        .with_deploy_code(init_code)
        .with_gas_limit(gas)
        .with_max_fee_per_gas(10 * GWEI)
        .with_max_priority_fee_per_gas(GWEI)
}

/// A legacy transaction; EIP-155 protected when `chain_id` is given.
pub(crate) fn legacy(
    chain_id: Option<u64>,
    nonce: u64,
    to: Address,
    value: U256,
    gas_price: u128,
) -> TransactionRequest {
    let request = TransactionRequest::default()
        .with_nonce(nonce)
        .with_to(to)
        .with_value(value)
        .with_gas_limit(21_000)
        .with_gas_price(gas_price);
    match chain_id {
        Some(id) => request.with_chain_id(id),
        None => request,
    }
}

/// The hash of an envelope.
pub(crate) fn tx_hash(envelope: &TxEnvelope) -> B256 {
    *envelope.tx_hash()
}

// ---------------------------------------------------------------- in-process node

/// A node launched in-process on a fresh SQLite file (or Postgres schema).
pub(crate) struct TestNode {
    running: Option<Running>,
    /// Raw JSON-RPC client for the node's HTTP endpoint.
    pub(crate) rpc: Rpc,
    _dir: TempDir,
    _pg: Option<PgSchema>,
}

impl TestNode {
    /// Dev chain, blocks as soon as there are transactions, SQLite.
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestNode::start`], with the configuration adjusted by `adjust`.
    pub(crate) async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::dev(
            CHAIN_ID,
            format!("sqlite://{}/seq.db", dir.path().display()),
        );
        adjust(&mut config);
        Self::launch(config, dir, None).await
    }

    /// A node on a fresh Postgres schema, or `None` when Postgres is unreachable.
    pub(crate) async fn start_postgres(adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let pg = PgSchema::create().await?;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::dev(CHAIN_ID, pg.url.clone());
        adjust(&mut config);
        Some(Self::launch(config, dir, Some(pg)).await)
    }

    /// A node whose blocks come only from [`TestNode::mine`]: the builder's
    /// interval is an hour, and its first (immediate) tick has sealed block 1.
    pub(crate) async fn start_manual() -> Self {
        let node = Self::start_with(|c| c.node.block_time = Duration::from_secs(3600)).await;
        let n = node.node().clone();
        wait_until("the builder's first block", WAIT, || {
            let n = n.clone();
            async move { (n.head_number() >= 1).then_some(()) }
        })
        .await;
        node
    }

    async fn launch(config: Config, dir: TempDir, pg: Option<PgSchema>) -> Self {
        let running = launch(config)
            .await
            .unwrap_or_else(|e| panic!("launching the node: {e:?}"));
        let rpc = Rpc::new(running.http_url());
        Self {
            running: Some(running),
            rpc,
            _dir: dir,
            _pg: pg,
        }
    }

    /// The node.
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.running.as_ref().expect("running").node
    }

    /// `http://…`
    pub(crate) fn http_url(&self) -> String {
        self.running.as_ref().expect("running").http_url()
    }

    /// `ws://…`
    pub(crate) fn ws_url(&self) -> String {
        self.running.as_ref().expect("running").ws_url()
    }

    /// Seals one block now (for nodes started with [`TestNode::start_manual`]).
    pub(crate) async fn mine(&self) -> Arc<SealedBlock> {
        let node = self.node().clone();
        tokio::task::spawn_blocking(move || node.build_block_blocking())
            .await
            .expect("builder thread")
            .unwrap_or_else(|e| panic!("building a block: {e}"))
            .expect("a block (the node has a non-zero block time)")
    }

    /// Stops the node and waits for its tasks.
    pub(crate) async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            within("stopping the node", WAIT, running.stop()).await;
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.cancel.cancel();
        }
    }
}

// ---------------------------------------------------------------- Postgres

/// A fresh schema in the local Postgres, dropped on drop.
pub(crate) struct PgSchema {
    admin_url: String,
    name: String,
    /// URL whose connections use the schema (`options=-c search_path=…`).
    pub(crate) url: String,
}

static PG_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A Postgres identifier no other test (of this process or another) uses:
/// `prefix`, the process id, the clock's nanoseconds and a counter.
pub(crate) fn unique_pg_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        PG_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl PgSchema {
    /// Creates a schema, or returns `None` (with a note on stderr) when Postgres
    /// is unreachable; with `ROLLUP_REQUIRE_POSTGRES=1` that is a failure instead.
    pub(crate) async fn create() -> Option<Self> {
        use sqlx::Connection;
        let admin_url = std::env::var("ROLLUP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut conn = match sqlx::postgres::PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => {
                assert!(
                    std::env::var("ROLLUP_REQUIRE_POSTGRES").is_err(),
                    "Postgres at {admin_url} unreachable and ROLLUP_REQUIRE_POSTGRES is set: {e}"
                );
                eprintln!("SKIPPED (Postgres variant): cannot connect to {admin_url}: {e}");
                return None;
            }
        };
        let name = unique_pg_name("t");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("CREATE SCHEMA");
        let _ = conn.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        drop_on_postgres(
            &self.admin_url,
            &[
                "SET lock_timeout = '5s'".to_string(),
                format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
            ],
        );
    }
}

/// Runs `statements` on the Postgres at `url`, best effort, on a thread of its
/// own with its own runtime (a `Drop` may run inside a runtime): test
/// clean-up of schemas and databases.
pub(crate) fn drop_on_postgres(url: &str, statements: &[String]) {
    let (url, statements) = (url.to_string(), statements.to_vec());
    let _ = std::thread::spawn(move || {
        use sqlx::Connection;
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&url).await {
                for statement in statements {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                        .execute(&mut conn)
                        .await;
                }
            }
        });
    })
    .join();
}

// ---------------------------------------------------------------- tools and processes

/// The workspace root.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The pinned tools folder: `ROLLUP_TOOLS_BIN`, else `<workspace>/.tools/bin`.
pub(crate) fn tools_bin() -> PathBuf {
    std::env::var_os("ROLLUP_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/bin"))
}

/// A tool from [`tools_bin`], else from PATH.
pub(crate) fn tool(name: &str) -> PathBuf {
    let pinned = tools_bin().join(name);
    if pinned.is_file() {
        return pinned;
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found in {} nor on PATH: run anvil-scripts/bootstrap.sh (or set ROLLUP_TOOLS_BIN)",
                tools_bin().display()
            )
        })
}

/// PATH with [`tools_bin`] first.
pub(crate) fn path_with_tools() -> OsString {
    let mut dirs = vec![tools_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH")
}

/// A free TCP port on the loopback interface.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The last `max` bytes of a log file.
pub(crate) fn log_tail(path: &Path, max: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(max);
    text[text.ceil_char_boundary(start)..].to_string()
}

/// Waits until the child answers on `rpc` as `client` (the start of its
/// `web3_clientVersion`: another process may have taken the port between
/// [`free_port`] and the child's bind). `Err` when the child exited (for
/// example because the port was taken); the caller retries on a new port.
async fn wait_for_rpc(
    rpc: &Rpc,
    child: &mut Child,
    (what, client): (&str, &str),
    log: &Path,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited during startup ({status}); log:\n{}",
                log_tail(log, 4000)
            ));
        }
        if let Ok(response) = rpc.try_call("web3_clientVersion", json!([])).await
            && let Some(version) = response.get("result").and_then(Value::as_str)
            && version.starts_with(client)
        {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not answer within {timeout:?}; log:\n{}",
            log_tail(log, 4000)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A real `anvil` on a free loopback port, killed on drop.
pub(crate) struct Anvil {
    child: Child,
    /// Raw JSON-RPC client.
    pub(crate) rpc: Rpc,
    _dir: TempDir,
}

impl Anvil {
    /// Starts `anvil` with `args` (plus host and port) and waits until it answers.
    pub(crate) async fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("anvil.log");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = std::fs::File::create(&log).expect("anvil log");
            let mut child = Command::new(tool("anvil"))
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(args)
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log"))
                .stderr(out)
                .spawn()
                .expect("spawning anvil");
            let rpc = Rpc::new(format!("http://127.0.0.1:{port}"));
            match wait_for_rpc(&rpc, &mut child, ("anvil", "anvil"), &log, WAIT).await {
                Ok(()) => {
                    return Self {
                        child,
                        rpc,
                        _dir: dir,
                    };
                }
                Err(e) => last_error = e,
            }
        }
        panic!("{last_error}");
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `sequencer` binary as a child process, killed on drop.
pub(crate) struct SequencerProcess {
    child: Option<Child>,
    /// Raw JSON-RPC client.
    pub(crate) rpc: Rpc,
    /// Where its stdout and stderr go (appended across restarts).
    pub(crate) log: PathBuf,
}

impl SequencerProcess {
    /// Starts the binary on `db_url` with `--block.time-ms block_time_ms` and
    /// waits until it answers.
    pub(crate) async fn start(db_url: &str, block_time_ms: u64, log: &Path) -> Self {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("log file");
            let mut child = Command::new(env!("CARGO_BIN_EXE_sequencer"))
                .args(["--rpc.addr", &format!("127.0.0.1:{port}")])
                .args(["--db.url", db_url])
                .args(["--chain.id", &CHAIN_ID.to_string()])
                .args(["--block.time-ms", &block_time_ms.to_string()])
                .env(
                    "RUST_LOG",
                    std::env::var("TEST_NODE_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log"))
                .stderr(out)
                .spawn()
                .expect("spawning the sequencer binary");
            let rpc = Rpc::new(format!("http://127.0.0.1:{port}"));
            let who = ("sequencer", "rollup-sequencer");
            match wait_for_rpc(&rpc, &mut child, who, log, Duration::from_secs(60)).await {
                Ok(()) => {
                    return Self {
                        child: Some(child),
                        rpc,
                        log: log.to_path_buf(),
                    };
                }
                Err(e) => last_error = e,
            }
        }
        panic!("{last_error}");
    }

    /// SIGKILL, then reap.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("wait");
        }
    }
}

impl Drop for SequencerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- sequencer log ({}):\n{}",
                self.log.display(),
                log_tail(&self.log, 6000)
            );
        }
        self.kill9();
    }
}
