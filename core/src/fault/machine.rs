//! The machine state after each step and its hash (docs/fault-proof.md section 3), the Rust
//! mirror of `contracts/src/fault/MachineState.sol`.

use alloy_primitives::{B256, keccak256};
use alloy_sol_types::{SolValue, sol};

sol! {
    /// The inputs of one L2 block (docs/fault-proof.md section 2).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct BlockItem {
        uint64 number;
        uint64 timestamp;
        uint64 gasLimit;
        uint64 baseFee;
        address beneficiary;
        bytes32 prevrandao;
        uint64 l1OriginNumber;
        bytes32 l1OriginHash;
        uint32 txCount;
        bytes32 recentHashes;
    }

    /// The machine state after a step (docs/fault-proof.md section 3).
    #[derive(Debug, Default, PartialEq, Eq)]
    struct MachineState {
        uint8 phase;
        bytes32 stateRoot;
        bytes32 inputs;
        bytes32 blockItem;
        uint64 blockGasUsed;
        uint32 txsLeft;
        address caller;
        uint64 txGasLimit;
        uint256 effectiveGasPrice;
        uint256 priorityFee;
        uint64 gasLeft;
        uint64 refund;
        uint64 floorGas;
        bool success;
        bytes32 evm;
    }
}

/// The phase of the machine, which alone chooses the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No block open.
    BetweenBlocks = 0,
    /// A block is open, between transactions.
    InBlock = 1,
    /// A transaction is running EVM code.
    InTx = 2,
    /// A transaction finished executing; fees not yet settled.
    TxExecuted = 3,
}

impl Phase {
    /// The phase a state's `phase` byte names, if any.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::BetweenBlocks),
            1 => Some(Self::InBlock),
            2 => Some(Self::InTx),
            3 => Some(Self::TxExecuted),
            _ => None,
        }
    }
}

impl BlockItem {
    /// `keccak256(abi.encode(item))`.
    pub fn item_hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}

impl MachineState {
    /// The state before the first step of a commitment.
    pub fn initial(prev_state_root: B256, inputs_root: B256) -> Self {
        Self {
            stateRoot: prev_state_root,
            inputs: inputs_root,
            ..Default::default()
        }
    }

    /// The finished state a commitment with `post_state_root` claims.
    pub fn finished(post_state_root: B256) -> Self {
        Self {
            stateRoot: post_state_root,
            ..Default::default()
        }
    }

    /// `keccak256(abi.encode(state))`.
    pub fn hash(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// The phase, when the byte names one.
    pub fn phase(&self) -> Option<Phase> {
        Phase::from_u8(self.phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_and_final_states_differ_only_in_the_named_fields() {
        let root = B256::repeat_byte(7);
        assert_eq!(
            MachineState::initial(root, B256::ZERO),
            MachineState::finished(root)
        );
        assert_ne!(
            MachineState::initial(root, B256::repeat_byte(1)).hash(),
            MachineState::finished(root).hash()
        );
        // abi.encode of a static struct: one 32-byte word per field.
        assert_eq!(MachineState::default().abi_encode().len(), 15 * 32);
        assert_eq!(BlockItem::default().abi_encode().len(), 10 * 32);
    }
}
