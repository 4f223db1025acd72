//! Calls of the Rollup contract's view functions at L1's latest block, shared by
//! the batcher's loop and the L1 batch reader.

use alloy::{
    providers::{Provider, RootProvider},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;

/// A view call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The L1 request failed.
    #[error("L1 call {function}: {source}")]
    Rpc {
        /// The function's signature.
        function: &'static str,
        /// Cause.
        source: alloy::transports::TransportError,
    },
    /// The answer does not decode as the function's return type.
    #[error("L1 call {function}: undecodable answer: {detail}")]
    Decode {
        /// The function's signature.
        function: &'static str,
        /// Details.
        detail: String,
    },
}

/// Calls `call` on the Rollup at `rollup` and decodes its return value.
pub async fn call_view<C: SolCall>(
    l1: &RootProvider,
    rollup: Address,
    call: C,
) -> Result<C::Return, ViewError> {
    let request = TransactionRequest::default()
        .to(rollup)
        .input(Bytes::from(call.abi_encode()).into());
    let output = l1.call(request).await.map_err(|source| ViewError::Rpc {
        function: C::SIGNATURE,
        source,
    })?;
    C::abi_decode_returns(&output).map_err(|e| ViewError::Decode {
        function: C::SIGNATURE,
        detail: e.to_string(),
    })
}
