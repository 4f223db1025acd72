//! Real clients against an in-process node: viem (HTTP and WebSocket), forge
//! create, forge script and cast, through `sequencer/tests/clients/run_all.sh`
//! (the same script was validated against Anvil).

use crate::harness::{TestNode, path_with_tools, tool, truncate};
use rollup_core::chain::DEV_PRIVATE_KEYS;
use std::{path::PathBuf, process::Stdio, time::Duration};

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

async fn run_all_clients(block_time: Duration) {
    let dir = clients_dir();
    assert!(
        dir.join("node_modules/viem").is_dir(),
        "{} has no node_modules/viem: run anvil-scripts/bootstrap.sh (it runs `npm ci` there)",
        dir.display()
    );
    let (forge, cast, solc) = (tool("forge"), tool("cast"), tool("solc"));
    let node = TestNode::start_with(|c| c.node.block_time = block_time).await;
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(dir.join("run_all.sh"))
        .args([
            node.http_url(),
            node.ws_url(),
            DEV_PRIVATE_KEYS[0].to_string(),
        ])
        .env("PATH", path_with_tools())
        .env("FORGE", forge)
        .env("CAST", cast)
        .env("SOLC", solc)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("spawning run_all.sh");
    let output =
        match tokio::time::timeout(Duration::from_secs(600), child.wait_with_output()).await {
            Ok(output) => output.expect("run_all.sh output"),
            Err(_) => panic!("run_all.sh did not finish within 600 s"),
        };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("not ok")).collect();
    assert!(
        output.status.success() && failed.is_empty(),
        "run_all.sh failed ({}) with block time {block_time:?}\nfailed checks: {failed:#?}\n--- stdout (tail):\n{}\n--- stderr (tail):\n{}",
        output.status,
        tail(&stdout, 6000),
        tail(&stderr, 6000),
    );
    assert_eq!(
        stdout.lines().last(),
        Some("3 passed, 0 failed"),
        "stdout: {}",
        truncate(&stdout, 4000)
    );
    node.stop().await;
}

fn tail(s: &str, max: usize) -> &str {
    let start = s.len().saturating_sub(max);
    &s[s.ceil_char_boundary(start)..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viem_forge_and_cast_work_with_instant_blocks() {
    run_all_clients(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viem_forge_and_cast_work_with_one_second_blocks() {
    run_all_clients(Duration::from_millis(1000)).await;
}
