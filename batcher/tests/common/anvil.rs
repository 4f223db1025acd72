//! A local Anvil L1 for tests: started on a free loopback port, killed on drop.
//!
//! The binary is taken from `$ROLLUP_TOOLS_BIN`, then `<workspace>/.tools/bin`,
//! then `PATH`. Chains start at the Prague hardfork (blob transactions with
//! EIP-4844 proofs) unless the caller passes another `--hardfork`.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running Anvil; the process is killed when this is dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    url: String,
}

/// The `anvil` binary to run.
pub fn anvil_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("ROLLUP_TOOLS_BIN") {
        let p = PathBuf::from(dir).join("anvil");
        if p.exists() {
            return p;
        }
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/anvil");
    if local.exists() {
        return local;
    }
    PathBuf::from("anvil")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

/// Whether the server at `addr` answers `web3_clientVersion` as anvil.
fn answers_as_anvil(addr: &SocketAddr) -> bool {
    use std::io::Write;
    let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_millis(100)) else {
        return false;
    };
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.contains("anvil/")
}

static SHARED: Mutex<Weak<Anvil>> = Mutex::new(Weak::new());

impl Anvil {
    /// Starts Anvil (automine, Prague) on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts Anvil with extra arguments (e.g. `--no-mining`,
    /// `--hardfork osaka`) on a free port.
    pub fn start_with(args: &[&str]) -> Self {
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start_on(free_port(), args) {
                Ok(anvil) => return anvil,
                Err(e) => last_err = e, // most likely the port was taken meanwhile
            }
        }
        panic!("cannot start anvil: {last_err}");
    }

    /// Starts Anvil on `port` (which must be free).
    pub fn start_on(port: u16, args: &[&str]) -> Self {
        Self::try_start_on(port, args).unwrap_or_else(|e| panic!("cannot start anvil: {e}"))
    }

    /// One Anvil shared by the tests of a binary that are alive at the same
    /// time (give each test its own dev key); it stops when the last user
    /// drops its handle, so no process outlives the test binary.
    pub fn shared() -> Arc<Self> {
        let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(anvil) = slot.upgrade() {
            return anvil;
        }
        let anvil = Arc::new(Self::start());
        *slot = Arc::downgrade(&anvil);
        anvil
    }

    fn try_start_on(port: u16, args: &[&str]) -> Result<Self, String> {
        let bin = anvil_bin();
        let mut cmd = Command::new(&bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--host")
            .arg("127.0.0.1");
        if !args.contains(&"--hardfork") {
            cmd.args(["--hardfork", "prague"]);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        let mut anvil = Self {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = anvil.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = anvil.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                return Err(format!("anvil exited with {status}: {stderr}"));
            }
            // Another process may have taken the port between `free_port` and anvil's bind:
            // only an answer that says "anvil" counts (anvil then exits and we retry).
            if answers_as_anvil(&addr) {
                return Ok(anvil);
            }
            if Instant::now() > deadline {
                return Err(format!("anvil did not listen on port {port} within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// One JSON-RPC call; panics on transport errors, returns the JSON-RPC
    /// `result`, or `Err(error object)`.
    pub async fn try_rpc(&self, method: &str, params: Value) -> Result<Value, Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp: Value = reqwest::Client::new()
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        match resp.get("error") {
            Some(err) => Err(err.clone()),
            None => Ok(resp.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// One JSON-RPC call that must succeed.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// Mines one block (`evm_mine`).
    pub async fn mine(&self) {
        self.rpc("evm_mine", json!([])).await;
    }

    /// Turns automine on or off (`evm_setAutomine`).
    pub async fn set_automine(&self, on: bool) {
        self.rpc("evm_setAutomine", json!([on])).await;
    }

    /// `evm_snapshot`: returns the snapshot id.
    pub async fn snapshot(&self) -> Value {
        self.rpc("evm_snapshot", json!([])).await
    }

    /// `evm_revert` to a snapshot.
    pub async fn revert(&self, id: Value) {
        let ok = self.rpc("evm_revert", json!([id])).await;
        assert_eq!(ok, Value::Bool(true), "evm_revert");
    }

    /// Latest block number.
    pub async fn block_number(&self) -> u64 {
        let v = self.rpc("eth_blockNumber", json!([])).await;
        u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
