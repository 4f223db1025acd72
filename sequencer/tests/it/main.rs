//! Integration tests of the sequencer: its eth_ JSON-RPC (HTTP and WebSocket),
//! transaction intake and receipts, crash recovery of the binary, real
//! clients (viem, forge, cast) and a differential run against Anvil.
//!
//! Tools (`anvil`, `forge`, `cast`, `solc`) come from `ROLLUP_TOOLS_BIN`, then
//! `<workspace>/.tools/bin` (`anvil-scripts/bootstrap.sh` installs them), then PATH.

mod abuse;
mod clients;
mod differential;
mod engines;
mod harness;
mod l1_origin;
mod persistence;
mod rpc_basics;
mod soak;
mod txs;
