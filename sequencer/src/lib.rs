//! The sequencer node: txpool, block production, eth_ JSON-RPC over HTTP and
//! WebSocket, and persistence through sqlx. The binary in `src/bin` is a thin
//! shell around [`node::Node`] and [`rpc::serve`].

pub mod config;
pub mod l1_origin;
pub mod node;
pub mod parallel;
pub mod pool;
pub mod rpc;
pub mod store;
pub mod sync_l1;
pub mod verify;
