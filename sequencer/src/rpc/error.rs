//! JSON-RPC errors in the codes and words geth uses, because clients match them.

use crate::node::SubmitError;
use alloy_primitives::Bytes;
use alloy_sol_types::{Revert, SolError};
use serde_json::{Value, json};

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Optional data (revert bytes, for instance).
    pub data: Option<Value>,
}

impl RpcError {
    /// Any error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
    /// -32700.
    pub fn parse(message: impl std::fmt::Display) -> Self {
        Self::new(-32700, format!("parse error: {message}"))
    }
    /// -32600.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(-32600, message)
    }
    /// -32601.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            -32601,
            format!("the method {method} does not exist/is not available"),
        )
    }
    /// -32602.
    pub fn invalid_params(message: impl std::fmt::Display) -> Self {
        Self::new(-32602, format!("invalid params: {message}"))
    }
    /// -32000, geth's generic server error.
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(-32000, message)
    }
    /// -32603.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(-32603, format!("internal error: {message}"))
    }
    /// Code 3: "execution reverted[: reason]" with the revert data.
    pub fn reverted(output: &Bytes) -> Self {
        let message = match Revert::abi_decode(output) {
            Ok(revert) => format!("execution reverted: {}", revert.reason),
            Err(_) => "execution reverted".to_string(),
        };
        Self {
            code: 3,
            message,
            data: Some(json!(output)),
        }
    }
    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({"code": self.code, "message": self.message, "data": data}),
            None => json!({"code": self.code, "message": self.message}),
        }
    }
}

impl From<SubmitError> for RpcError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Intake(rollup_core::tx::IntakeError::Decode(m)) => {
                RpcError::invalid_params(format!("failed to decode signed transaction: {m}"))
            }
            SubmitError::State(e) => RpcError::internal(e),
            other => RpcError::server(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for RpcError {
    fn from(e: crate::store::StoreError) -> Self {
        RpcError::internal(e)
    }
}

impl From<rollup_core::error::StateError> for RpcError {
    fn from(e: rollup_core::error::StateError) -> Self {
        RpcError::internal(e)
    }
}

/// Result of an RPC method.
pub type RpcResult<T = Value> = Result<T, RpcError>;
