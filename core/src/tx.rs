//! Transaction intake rules that do not depend on state: decoding, signature,
//! chain id (EIP-155), size limit, intrinsic gas, and the shapes the fault proof
//! cannot prove ([`check_provable`]). Stateful checks (nonce, balance, base fee)
//! belong to the pool and the executor.

use crate::{
    chain::ChainConfig,
    executor::tx_env,
    fault::{
        evm::{MAX_ACCESS_LIST_WARMINGS, access_list_entries},
        step::{is_precompile, is_priced_precompile},
    },
};
use alloy_consensus::{
    Transaction, TxEnvelope,
    transaction::{Recovered, SignerRecoverable},
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::Address;
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
    /// Sent straight to a precompile whose call the fault proof cannot prove as a transaction
    /// (docs/evm-steps.md section 1.1; contracts may call every precompile).
    #[error(
        "transaction to precompile {0} cannot be proven by the fault proof: call it from a contract"
    )]
    UnprovablePrecompile(Address),
    /// An access list longer than the entry step warms (docs/evm-steps.md section 2).
    #[error(
        "access list of {0} entries cannot be proven by the fault proof: at most {MAX_ACCESS_LIST_WARMINGS} addresses and storage keys"
    )]
    AccessListTooLong(usize),
}

/// The transaction shapes the fault proof cannot prove are not part of the chain
/// (docs/fault-proof.md section 4.4): a call straight to a precompile other than the five the
/// entry step prices (ECRECOVER, SHA256, RIPEMD160, IDENTITY, BLAKE2F), an EIP-7702 transaction to
/// any precompile, and an access list of more than [`MAX_ACCESS_LIST_WARMINGS`] entries. The
/// sequencer refuses them at intake, derivation refuses a batch holding one, and the fault-proof
/// machine (and `OneStepVerifier`) skips one, as for every other stateless check: a dispute can
/// never narrow to a step nobody can prove on their account.
pub fn check_provable(tx: &TxEnvelope) -> Result<(), IntakeError> {
    if let Some(to) = tx.to()
        && is_precompile(to)
        && (!is_priced_precompile(to) || tx.is_eip7702())
    {
        return Err(IntakeError::UnprovablePrecompile(to));
    }
    if let Some(list) = tx.access_list() {
        let entries = access_list_entries(list);
        if entries > MAX_ACCESS_LIST_WARMINGS {
            return Err(IntakeError::AccessListTooLong(entries));
        }
    }
    Ok(())
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
    check_provable(&tx)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEip7702};
    use alloy_eips::{
        eip2930::{AccessList, AccessListItem},
        eip7702::{Authorization, SignedAuthorization},
    };
    use alloy_primitives::{B256, Signature, TxKind, U256};

    fn envelope_1559(to: Address, keys: u8) -> TxEnvelope {
        let tx = TxEip1559 {
            to: TxKind::Call(to),
            access_list: AccessList(vec![AccessListItem {
                address: to,
                storage_keys: (0..keys).map(B256::with_last_byte).collect(),
            }]),
            ..Default::default()
        };
        tx.into_signed(Signature::new(U256::ONE, U256::ONE, false))
            .into()
    }

    fn envelope_7702(to: Address) -> TxEnvelope {
        let auth = Authorization {
            chain_id: U256::ZERO,
            address: Address::repeat_byte(7),
            nonce: 0,
        };
        let tx = TxEip7702 {
            to,
            authorization_list: vec![SignedAuthorization::new_unchecked(
                auth,
                0,
                U256::ONE,
                U256::ONE,
            )],
            ..Default::default()
        };
        tx.into_signed(Signature::new(U256::ONE, U256::ONE, false))
            .into()
    }

    #[test]
    fn only_provable_transactions_are_part_of_the_chain() {
        let precompile = Address::with_last_byte;
        // The five precompiles a transaction may call in one step, and contracts.
        for id in [1, 2, 3, 4, 9] {
            assert_eq!(check_provable(&envelope_1559(precompile(id), 0)), Ok(()));
        }
        assert_eq!(
            check_provable(&envelope_1559(Address::repeat_byte(0x42), 63)),
            Ok(())
        );
        // Every other precompile, and any from an EIP-7702 transaction.
        for id in [5, 6, 7, 8, 0x0a, 0x0b, 0x11] {
            assert_eq!(
                check_provable(&envelope_1559(precompile(id), 0)),
                Err(IntakeError::UnprovablePrecompile(precompile(id)))
            );
        }
        assert_eq!(
            check_provable(&envelope_7702(precompile(1))),
            Err(IntakeError::UnprovablePrecompile(precompile(1)))
        );
        assert_eq!(
            check_provable(&envelope_7702(Address::repeat_byte(0x42))),
            Ok(())
        );
        // 0x12 is no precompile on Prague.
        assert_eq!(check_provable(&envelope_1559(precompile(0x12), 0)), Ok(()));
        // The address and 64 keys: 65 entries, one over what an entry step warms.
        assert_eq!(
            check_provable(&envelope_1559(Address::repeat_byte(0x42), 64)),
            Err(IntakeError::AccessListTooLong(65))
        );
    }
}
