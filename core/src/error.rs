//! Errors of the core crate: state access and transaction validity.

use alloy_primitives::B256;

/// Failure to read state.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    /// Code referenced by an account is missing from the store.
    #[error("missing code for hash {0}")]
    MissingCode(B256),
    /// The backing store failed.
    #[error("state backend: {0}")]
    Backend(String),
    /// A speculative read was abandoned on purpose: the parallel engine
    /// leaves a transaction that reads contended state to its in-order
    /// committer instead of running it on a guess.
    #[error("speculative run deferred")]
    Deferred,
}

impl revm::database::DBErrorMarker for StateError {}

/// Why a transaction cannot be included, in geth's words where geth has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxRejection {
    /// Nonce below the account's.
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Nonce above the account's.
    #[error("nonce too high: next nonce {expected}, tx nonce {got}")]
    NonceTooHigh {
        /// Account nonce.
        expected: u64,
        /// Transaction nonce.
        got: u64,
    },
    /// Not enough balance for gas * price + value.
    #[error("insufficient funds for gas * price + value")]
    InsufficientFunds,
    /// Fee cap below the block's base fee.
    #[error("max fee per gas less than block base fee")]
    FeeCapBelowBaseFee,
    /// Priority fee above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// Gas limit below the intrinsic gas.
    #[error("intrinsic gas too low")]
    IntrinsicGasTooLow,
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    GasLimitExceedsBlock,
    /// EIP-4844 blob transactions have no place on L2.
    #[error("blob transactions are not supported on L2")]
    BlobsUnsupported,
    /// The block has no room left for this transaction's gas limit.
    #[error("block gas limit reached")]
    BlockGasExhausted,
    /// Wrong chain id.
    #[error("invalid chain id")]
    InvalidChainId,
    /// Sender has code (EIP-3607).
    #[error("sender not an eoa")]
    SenderNotEoa,
    /// Init code above EIP-3860's limit.
    #[error("max initcode size exceeded")]
    InitCodeTooLarge,
    /// Any other validity failure reported by the EVM.
    #[error("invalid transaction: {0}")]
    Other(String),
}
