//! Transaction intake rules that do not depend on state: decoding, signature,
//! chain id (EIP-155), size limit and intrinsic gas. Stateful checks (nonce,
//! balance, base fee) belong to the pool and the executor.

use crate::{chain::ChainConfig, executor::tx_env};
use alloy_consensus::{
    Transaction, TxEnvelope,
    transaction::{Recovered, SignerRecoverable},
};
use alloy_eips::eip2718::Decodable2718;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx;

/// Largest accepted encoded transaction (geth's txMaxSize).
pub const MAX_TX_BYTES: usize = 128 * 1024;

/// Why raw transaction bytes were refused before looking at state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// Bytes are not a valid EIP-2718 transaction.
    #[error("transaction could not be decoded: {0}")]
    Decode(String),
    /// Encoded size above [`MAX_TX_BYTES`].
    #[error("oversized data")]
    Oversized,
    /// Signature invalid, high-s, or unrecoverable.
    #[error("invalid sender: {0}")]
    InvalidSignature(String),
    /// Legacy transaction without EIP-155 replay protection.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    NotReplayProtected,
    /// Chain id of another chain.
    #[error("invalid chain id")]
    WrongChainId,
    /// Transaction type not accepted on this chain.
    #[error("transaction type not supported")]
    UnsupportedType,
    /// Gas limit below the intrinsic cost.
    #[error("intrinsic gas too low")]
    IntrinsicGasTooLow,
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    GasLimitExceedsBlock,
    /// Priority fee above fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
}

/// Decodes and checks raw transaction bytes, returning it with its sender.
pub fn decode_and_check(
    raw: &[u8],
    chain: &ChainConfig,
) -> Result<Recovered<TxEnvelope>, IntakeError> {
    if raw.len() > MAX_TX_BYTES {
        return Err(IntakeError::Oversized);
    }
    let tx = TxEnvelope::decode_2718_exact(raw).map_err(|e| IntakeError::Decode(e.to_string()))?;
    check_envelope(tx, chain)
}

/// Stateless checks on a decoded transaction.
pub fn check_envelope(
    tx: TxEnvelope,
    chain: &ChainConfig,
) -> Result<Recovered<TxEnvelope>, IntakeError> {
    if tx.is_eip4844() {
        return Err(IntakeError::UnsupportedType);
    }
    match tx.chain_id() {
        None => return Err(IntakeError::NotReplayProtected),
        Some(id) if id != chain.chain_id => return Err(IntakeError::WrongChainId),
        Some(_) => {}
    }
    if let (Some(tip), fee_cap) = (tx.max_priority_fee_per_gas(), tx.max_fee_per_gas())
        && tip > fee_cap
    {
        return Err(IntakeError::TipAboveFeeCap);
    }
    if tx.gas_limit() > chain.gas_limit {
        return Err(IntakeError::GasLimitExceedsBlock);
    }
    let signer = tx
        .recover_signer()
        .map_err(|e| IntakeError::InvalidSignature(e.to_string()))?;
    let recovered = Recovered::new_unchecked(tx, signer);
    let gas = calculate_initial_tx_gas_for_tx(tx_env(&recovered), ChainConfig::SPEC, None);
    let needed = (gas.initial_regular_gas + gas.initial_state_gas).max(gas.floor_gas);
    if recovered.inner().gas_limit() < needed {
        return Err(IntakeError::IntrinsicGasTooLow);
    }
    Ok(recovered)
}
