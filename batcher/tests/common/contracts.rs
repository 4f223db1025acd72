//! The L1 contracts for tests: the pinned tools, `forge build` once per test binary, and
//! creation code from forge's artifacts. Shared by file path with other crates' tests.
#![allow(unreachable_pub)]

use alloy_primitives::Bytes;
use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
};

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// A tool from the project's pinned tools folder, else from PATH.
pub fn tool(name: &str) -> PathBuf {
    let bin = std::env::var_os("ROLLUP_TOOLS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/bin"));
    let pinned = bin.join(name);
    if pinned.exists() {
        return pinned;
    }
    PathBuf::from(name)
}

/// Runs `forge build` once per test binary.
fn forge_build() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(tool("forge"))
            .arg("build")
            .current_dir(workspace_root().join("contracts"))
            .env("FOUNDRY_SOLC", tool("solc"))
            .stdout(Stdio::null())
            .status()
            .expect("run forge build");
        assert!(status.success(), "forge build failed");
    });
}

/// Creation code of contract `name` (in `contracts/src/**/<name>.sol`), from `forge build`.
pub fn contract_bytecode(name: &str) -> Bytes {
    forge_build();
    let path = workspace_root().join(format!("contracts/out/{name}.sol/{name}.json"));
    let artifact = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("artifact {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&artifact).expect("artifact JSON");
    json["bytecode"]["object"]
        .as_str()
        .expect("bytecode")
        .parse()
        .expect("hex bytecode")
}
