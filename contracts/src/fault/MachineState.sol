// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MachineState
/// @notice The fault-proof machine: the state after each step of a batch's execution trace and
///         its hash, exactly as docs/fault-proof.md (sections 2 and 3) defines them. Shared by the
///         one-step verifier and the dispute game; mirrored in Rust by `core/src/fault/machine.rs`.
library MachineState {
    uint8 internal constant BETWEEN_BLOCKS = 0;
    uint8 internal constant IN_BLOCK = 1;
    uint8 internal constant IN_TX = 2;
    uint8 internal constant TX_EXECUTED = 3;

    /// @notice The inputs of one L2 block (docs/fault-proof.md section 2).
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
        /// @notice WordTree root (depth 20) of 256 words: word k is the hash of block m, the one
        ///         with m % 256 == k and max(0, number - 256) <= m <= number - 1, zero when there is
        ///         none; BLOCKHASH reads it (docs/evm-steps.md section 12).
        bytes32 recentHashes;
    }

    /// @notice The machine state after a step (docs/fault-proof.md section 3).
    struct State {
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

    function hash(State memory s) internal pure returns (bytes32) {
        return keccak256(abi.encode(s));
    }

    function itemHash(BlockItem memory item) internal pure returns (bytes32) {
        return keccak256(abi.encode(item));
    }

    /// @notice Hash chain link: the inputs whose front item hashes to `item` and whose rest is `tail`.
    function consume(bytes32 item, bytes32 tail) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(item, tail));
    }

    /// @notice Hash of the state before the first step of a commitment.
    function initialHash(bytes32 prevStateRoot, bytes32 inputsRoot) internal pure returns (bytes32) {
        State memory s;
        s.stateRoot = prevStateRoot;
        s.inputs = inputsRoot;
        return hash(s);
    }

    /// @notice Hash of the finished state a commitment claims (padding to the trace's fixed length).
    function finalHash(bytes32 postStateRoot) internal pure returns (bytes32) {
        State memory s;
        s.stateRoot = postStateRoot;
        return hash(s);
    }
}
