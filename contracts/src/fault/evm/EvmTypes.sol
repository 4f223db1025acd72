// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";

/// @title EvmTypes
/// @notice The EVM frame of the fault-proof machine's `IN_TX` phase, the saved caller of a frame at
///         depth >= 1, the returning state between a frame's end and its caller's next instruction,
///         and the openings of word trees, exactly as docs/evm-steps.md (sections 2, 3, 9 and 10)
///         defines them; mirrored in Rust by `core/src/fault/evm.rs`.
library EvmTypes {
    /// @notice One EVM call frame (docs/evm-steps.md section 2); the machine state's `evm` is
    ///         `keccak256(abi.encode(EvmState))` during instruction steps.
    struct EvmState {
        bytes32 txHash;
        bytes32 txStartRoot;
        bytes32 substate;
        uint16 depth;
        bytes32 parent;
        address self;
        address caller;
        uint256 value;
        bool isStatic;
        bytes32 codeHash;
        bytes32 calldataRoot;
        uint32 calldataSize;
        bytes32 returnDataRoot;
        uint32 returnDataSize;
        uint32 pc;
        uint64 gas;
        uint16 stackSize;
        bytes32 stack;
        uint32 memSize;
        bytes32 memRoot;
    }

    /// @notice A caller frame saved while its callee runs (docs/evm-steps.md section 9): a frame at
    ///         depth >= 1 has `parent = keccak256(abi.encode(CallerFrame))`.
    struct CallerFrame {
        /// @dev `keccak256(abi.encode(EvmState))` of the caller as it resumes: pc after the call,
        ///      the call's stack items popped, memory expanded for both ranges, gas less the call's
        ///      whole cost (the forwarded gas included), `substate` the snapshot below.
        bytes32 frame;
        /// @dev Where the callee's output goes in the caller's memory (0 when `retLen` is 0).
        uint32 retOffset;
        uint32 retLen;
        /// @dev Snapshots for a callee that fails: the state root before the value moved, the
        ///      caller's substate after the call's own account access, the refund counter at the call.
        bytes32 stateRoot;
        bytes32 substate;
        uint64 refund;
        /// @dev The account an init frame creates (CREATE, CREATE2; docs/evm-steps.md section 10):
        ///      its return step deposits the code there and pushes its address; 0 for a call's frame.
        address created;
    }

    /// @notice A frame at depth >= 1 that has ended (docs/evm-steps.md section 9): the machine's `evm`
    ///         is `keccak256(abi.encode(FrameEnd))` until the return step resumes the caller.
    struct FrameEnd {
        /// @dev The ending frame's `parent`.
        bytes32 parent;
        /// @dev 1 success (STOP, RETURN), 2 revert (REVERT), 3 exceptional halt.
        uint8 outcome;
        /// @dev The frame's gas after the instruction; 0 after an exceptional halt.
        uint64 gasLeft;
        /// @dev Success: the frame's substate; otherwise 0.
        bytes32 substate;
        /// @dev RETURN, REVERT with an output: the frame's memory root and the output's offset in
        ///      that memory; otherwise 0.
        bytes32 memRoot;
        uint32 outOffset;
        /// @dev RETURN, REVERT: the output's length; otherwise 0.
        uint32 outSize;
    }

    /// @notice A word of a word tree and its Merkle path (docs/evm-steps.md section 3).
    struct WordProof {
        uint32 index;
        bytes32 word;
        bytes32[20] siblings;
    }

    /// @notice Consecutive words of a word tree and the siblings that open them together
    ///         (docs/evm-steps.md section 3; `WordTree.rangeRoot`).
    struct WordRange {
        uint32 first;
        bytes32[] words;
        bytes32[] siblings;
    }

    function hash(EvmState memory e) internal pure returns (bytes32) {
        return keccak256(abi.encode(e));
    }

    function hash(CallerFrame memory f) internal pure returns (bytes32) {
        return keccak256(abi.encode(f));
    }

    function hash(FrameEnd memory f) internal pure returns (bytes32) {
        return keccak256(abi.encode(f));
    }

    /// @notice The entry marker: the machine's `evm` when a transaction has just entered `IN_TX`.
    function entryMarker(bytes32 txHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(txHash));
    }

    /// @notice The marker of an EIP-7702 transaction once `applied` of its authorizations have been
    ///         stepped (docs/evm-steps.md section 1.2): its warm slots and warm accounts so far (the
    ///         access list's, then the authorities'; `warmSlots == ACCESS_LIST_SUBSTATE` and
    ///         `warmAccounts == 0` for a list over the cap). Before the first, the entry marker.
    function authorizationMarker(bytes32 txHash, uint256 applied, bytes32 warmSlots, bytes32 warmAccounts)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(txHash, applied, warmSlots, warmAccounts));
    }

    /// @notice Splits an `IN_TX` witness `abi.encode(uint8 kind, bytes body)` without copying.
    ///         A witness too short to hold a kind (the rest-of-transaction step's empty witness)
    ///         or with a kind other than 0 to 14 is a step the verifier does not prove
    ///         (`UnsupportedStep(2)`); malformed offsets revert without data, as `abi.decode` does.
    function split(bytes calldata proof) internal pure returns (uint256 kind, bytes calldata body) {
        if (proof.length < 96) revert IEvmStepVerifier.UnsupportedStep(2);
        kind = uint256(bytes32(proof[0:32]));
        if (kind > 14) revert IEvmStepVerifier.UnsupportedStep(2);
        uint256 off = uint256(bytes32(proof[32:64]));
        if (off > proof.length - 32) revert();
        uint256 len = uint256(bytes32(proof[off:off + 32]));
        if (len > proof.length - off - 32) revert();
        body = proof[off + 32:off + 32 + len];
    }
}
