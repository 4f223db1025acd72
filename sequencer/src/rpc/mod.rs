//! The eth_ JSON-RPC server: HTTP POST and WebSocket on one port (axum),
//! JSON-RPC 2.0 envelopes and batches with size caps, dispatch to the method
//! handlers in [`eth`], subscriptions over WebSocket.

mod conn;
pub mod convert;
pub mod error;
pub mod eth;
pub mod filters;

use crate::node::Node;
use axum::{
    Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, State,
        rejection::BytesRejection,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use error::RpcError;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Limits of the RPC server (geth's defaults where geth has one).
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// Largest request body (geth: 5 MiB).
    pub max_body_bytes: usize,
    /// Most requests in one batch (geth: 1000).
    pub max_batch: usize,
    /// Widest eth_getLogs block range.
    pub max_logs_range: u64,
    /// Gas cap for eth_call / eth_estimateGas (geth: 50M).
    pub gas_cap: u64,
    /// Wall-clock limit of one eth_call / eth_estimateGas / eth_createAccessList
    /// (geth's --rpc.evmtimeout: 5 s); zero: none.
    pub evm_timeout: Duration,
    /// Most open connections (HTTP and WebSocket); above it a new connection
    /// gets HTTP 503 and is closed.
    pub max_connections: usize,
    /// An HTTP connection that sends no complete request header for this long
    /// (idle keep-alive, or a client that never sends) is closed; zero: never.
    /// WebSocket connections are not subject to it.
    pub idle_timeout: Duration,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 5 * 1024 * 1024,
            max_batch: 1000,
            max_logs_range: 10_000,
            gas_cap: 50_000_000,
            evm_timeout: Duration::from_secs(5),
            max_connections: 5_000,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared by every request.
#[derive(Debug)]
pub struct RpcContext {
    /// The node.
    pub node: Arc<Node>,
    /// Limits.
    pub config: RpcConfig,
    /// Installed polling filters.
    pub filters: filters::Filters,
}

/// Binds and serves until `cancel`; returns the bound address.
pub async fn serve(
    node: Arc<Node>,
    config: RpcConfig,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let ctx = Arc::new(RpcContext {
        filters: filters::Filters::new(node.clone()),
        node,
        config: config.clone(),
    });
    let app = Router::new()
        .route("/", post(http_handler).get(ws_handler))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(ctx);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(conn::accept_loop(listener, app, config, cancel));
    Ok((bound, task))
}

async fn http_handler(
    State(ctx): State<Arc<RpcContext>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            // geth: 413 "content length too large"; the body says it as JSON-RPC.
            // The unread rest of the body makes the connection unusable, so the
            // response says `Connection: close`: a client that pooled it would
            // otherwise send its next request into a socket the server drops.
            let error = RpcError::invalid_request(format!(
                "request body too large: limit {} bytes",
                ctx.config.max_body_bytes
            ));
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONNECTION, "close"),
                ],
                response(Value::Null, Err(error)).to_string(),
            )
                .into_response();
        }
        Err(rejection) => return rejection.into_response(),
    };
    match handle_body(&ctx, &body, None).await {
        Some(v) => ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

async fn ws_handler(
    State(ctx): State<Arc<RpcContext>>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => ws
            .max_message_size(ctx.config.max_body_bytes)
            .on_upgrade(move |socket| ws_connection(ctx, socket)),
        Err(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST for JSON-RPC or upgrade to WebSocket",
        )
            .into_response(),
    }
}

/// A WebSocket connection's outbound queue and its subscriptions.
#[derive(Debug)]
pub struct WsConn {
    /// Messages to send.
    pub out: mpsc::UnboundedSender<String>,
    /// Live subscriptions by id.
    pub subs: parking_lot::Mutex<std::collections::HashMap<String, tokio::task::JoinHandle<()>>>,
}

impl Drop for WsConn {
    fn drop(&mut self) {
        for (_, task) in self.subs.lock().drain() {
            task.abort();
        }
    }
}

async fn ws_connection(ctx: Arc<RpcContext>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
    let conn = Arc::new(WsConn {
        out,
        subs: Default::default(),
    });
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            if sink.send(Message::Text(msg.into())).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let body = match msg {
            Message::Text(t) => Bytes::from(t.as_str().to_owned()),
            Message::Binary(b) => b,
            Message::Close(_) => break,
            _ => continue,
        };
        let ctx = ctx.clone();
        let conn2 = conn.clone();
        if let Some(resp) = handle_body(&ctx, &body, Some(&conn2)).await {
            let _ = conn.out.send(resp.to_string());
        }
    }
    for (_, task) in conn.subs.lock().drain() {
        task.abort();
    }
    drop(conn);
    writer.abort();
}

/// Parses a body (single request or batch) and answers it.
pub async fn handle_body(
    ctx: &Arc<RpcContext>,
    body: &[u8],
    conn: Option<&Arc<WsConn>>,
) -> Option<Value> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(response(Value::Null, Err(RpcError::parse(e)))),
    };
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Some(response(
                    Value::Null,
                    Err(RpcError::invalid_request("empty batch")),
                ));
            }
            if items.len() > ctx.config.max_batch {
                return Some(response(
                    Value::Null,
                    Err(RpcError::invalid_request(format!(
                        "batch too large: {} requests, limit {}",
                        items.len(),
                        ctx.config.max_batch
                    ))),
                ));
            }
            let answers = futures::future::join_all(
                items.into_iter().map(|item| handle_one(ctx, item, conn)),
            )
            .await;
            let answers: Vec<Value> = answers.into_iter().flatten().collect();
            if answers.is_empty() {
                None
            } else {
                Some(Value::Array(answers))
            }
        }
        other => handle_one(ctx, other, conn).await,
    }
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

async fn handle_one(
    ctx: &Arc<RpcContext>,
    request: Value,
    conn: Option<&Arc<WsConn>>,
) -> Option<Value> {
    let Value::Object(mut obj) = request else {
        return Some(response(
            Value::Null,
            Err(RpcError::invalid_request("request must be an object")),
        ));
    };
    let id = obj.remove("id");
    let is_notification = id.is_none();
    let id = id.unwrap_or(Value::Null);
    if !matches!(&id, Value::Null | Value::Number(_) | Value::String(_)) {
        return Some(response(
            Value::Null,
            Err(RpcError::invalid_request("invalid id")),
        ));
    }
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(response(
            id,
            Err(RpcError::invalid_request("jsonrpc must be \"2.0\"")),
        ));
    }
    let Some(method) = obj.get("method").and_then(Value::as_str).map(str::to_owned) else {
        return Some(response(
            id,
            Err(RpcError::invalid_request("missing method")),
        ));
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Some(response(
                id,
                Err(RpcError::invalid_params("params must be an array")),
            ));
        }
    };
    let result = eth::dispatch(ctx, &method, params, conn).await;
    if let Err(e) = &result
        && e.code == -32603
    {
        tracing::warn!(method, error = %e.message, "internal error");
    }
    if is_notification {
        None
    } else {
        Some(response(id, result))
    }
}
