//! The challenger's JSON status endpoint: `GET /status` (commitments checked,
//! verdicts, derived head) and `GET /health`.

use crate::watcher::Status;
use axum::{Json, Router, extract::State, routing::get};
use parking_lot::RwLock;
use std::{net::SocketAddr, sync::Arc};
use tokio_util::sync::CancellationToken;

/// Serves the status on `addr` until `cancel`; returns the bound address.
pub async fn serve_status(
    addr: SocketAddr,
    status: Arc<RwLock<Status>>,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let app = Router::new()
        .route("/status", get(status_json))
        .route("/health", get(|| async { "ok" }))
        .with_state(status);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
    });
    Ok((bound, task))
}

async fn status_json(State(status): State<Arc<RwLock<Status>>>) -> Json<Status> {
    Json(status.read().clone())
}
