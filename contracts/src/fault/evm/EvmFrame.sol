// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmTypes} from "./EvmTypes.sol";
import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {StackHash} from "./StackHash.sol";

/// @title EvmFrame
/// @notice What every instruction verifier shares (docs/evm-steps.md section 4): the outcomes of an
///         instruction, memory expansion priced as revm 43 prices it, and the post-state of a step
///         of the depth-0 frame, continuing or ending the transaction.
library EvmFrame {
    uint256 internal constant MAX_U64 = type(uint64).max;

    // Outcomes of an instruction.
    uint256 internal constant CONTINUE = 0;
    /// @dev STOP, RETURN.
    uint256 internal constant SUCCESS = 1;
    uint256 internal constant REVERTED = 2;
    /// @dev Out of gas, stack underflow or overflow, invalid jump, invalid or undefined opcode,
    ///      an operand out of range.
    uint256 internal constant EXCEPTION = 3;

    /// @notice The substate of a frame whose transaction has an access list (docs/evm-steps.md
    ///         section 2): its state-access instructions are rest-of-transaction steps.
    bytes32 internal constant ACCESS_LIST_SUBSTATE = bytes32(uint256(1));

    /// @notice Opens the depth-0 frame `e` of an instruction step: `e` must hash to `pre.evm` and
    ///         `code` to its code hash; a frame at another depth, or (with `stateAccess`) under the
    ///         access-list marker, is not provable yet. Returns the instruction (`STOP` past the
    ///         end of the code).
    function open(MachineState.State memory pre, EvmTypes.EvmState memory e, bytes memory code, bool stateAccess)
        internal
        pure
        returns (uint256 op)
    {
        bytes32 computed = EvmTypes.hash(e);
        if (computed != pre.evm) revert IEvmStepVerifier.EvmStateMismatch(pre.evm, computed);
        computed = keccak256(code);
        if (computed != e.codeHash) revert IEvmStepVerifier.EvmCodeMismatch(e.codeHash, computed);
        if (e.depth != 0 || (stateAccess && e.substate == ACCESS_LIST_SUBSTATE)) {
            revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
        }
        uint256 pc = e.pc;
        op = pc < code.length ? uint8(code[pc]) : 0;
    }

    /// @notice The frame's `substate` (docs/evm-steps.md section 2): 0 when its three tries are
    ///         empty, else `keccak256(abi.encode(warmSlots, transientStorage, warmAccounts))`.
    function substateHash(bytes32 warmSlots, bytes32 transientStorage, bytes32 warmAccounts)
        internal
        pure
        returns (bytes32)
    {
        bytes32 empty = MerkleTrie.EMPTY_ROOT;
        if (warmSlots == empty && transientStorage == empty && warmAccounts == empty) return 0;
        return keccak256(abi.encode(warmSlots, transientStorage, warmAccounts));
    }

    /// @notice Opens the `reads` stack items an instruction reads: `top` must be exactly them, top
    ///         first, over a stack whose rest hashes to `rest`. False (with `top` empty) when the
    ///         stack holds fewer: the instruction halts.
    function openStack(EvmTypes.EvmState memory e, uint256[] memory top, bytes32 rest, uint256 reads)
        internal
        pure
        returns (bool)
    {
        if (e.stackSize < reads) {
            if (top.length != 0) revert IEvmStepVerifier.StackMismatch();
            return false;
        }
        if (top.length != reads || StackHash.build(top, rest) != e.stack) revert IEvmStepVerifier.StackMismatch();
        return true;
    }

    /// @notice A call's range of `len` bytes at `offset` (revm's `resize_memory`): a length past 64
    ///         bits halts, an empty range costs nothing (its offset is not looked at), otherwise the
    ///         memory expansion is added to `cost`. `ok` false when the instruction halts (also when
    ///         `cost` passes `gas`).
    function callRange(uint256 memSize, uint256 cost, uint256 gas, uint256 offset, uint256 len)
        internal
        pure
        returns (bool ok, uint256 newMemSize, uint256 newCost)
    {
        if (len > MAX_U64) return (false, memSize, cost);
        if (len == 0) return (true, memSize, cost);
        uint256 expansionCost;
        (ok, newMemSize, expansionCost) = expansion(memSize, offset, len);
        if (!ok) return (false, memSize, cost);
        newCost = cost + expansionCost;
        ok = newCost <= gas;
    }

    /// @notice The memory expansion of an access to `len > 0` bytes at `offset` (revm:
    ///         `num_words(offset.saturating_add(len))` words, `3w + w²/512` in saturating u64):
    ///         the memory size after it and its cost. `ok` false when an operand does not fit in
    ///         64 bits (the instruction halts).
    function expansion(uint256 memSize, uint256 offset, uint256 len)
        internal
        pure
        returns (bool ok, uint256 newMemSize, uint256 cost)
    {
        if (offset > MAX_U64 || len > MAX_U64) return (false, memSize, 0);
        uint256 end = min(offset + len, MAX_U64);
        uint256 words = min(end + 31, MAX_U64) / 32;
        uint256 oldWords = memSize / 32;
        if (words <= oldWords) return (true, memSize, 0);
        return (true, words * 32, memoryCost(words) - memoryCost(oldWords));
    }

    function memoryCost(uint256 words) internal pure returns (uint256) {
        return min(min(3 * words, MAX_U64) + min(words * words, MAX_U64) / 512, MAX_U64);
    }

    /// @notice The post-state of an instruction of the depth-0 frame with `outcome`, costing `cost`
    ///         and leaving the memory `memSize` bytes long; `e` holds the frame after it (pc, stack,
    ///         memory root) when it continues.
    function post(
        MachineState.State memory pre,
        EvmTypes.EvmState memory e,
        uint256 outcome,
        uint256 cost,
        uint256 memSize
    ) internal pure returns (bytes32) {
        if (outcome == CONTINUE) {
            // A memory past 4 GiB (over 3 * 10^13 gas) does not fit the state.
            if (memSize > type(uint32).max) revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
            // forge-lint: disable-next-line(unsafe-typecast)
            e.memSize = uint32(memSize);
            // The cost is at most the gas left (checked by the instruction).
            // forge-lint: disable-next-line(unsafe-typecast)
            e.gas -= uint64(cost);
            pre.evm = EvmTypes.hash(e);
            return MachineState.hash(pre);
        }
        // The depth-0 frame ends: the transaction has executed (docs/evm-steps.md section 4, "Halting").
        pre.phase = MachineState.TX_EXECUTED;
        pre.evm = bytes32(0);
        pre.success = outcome == SUCCESS;
        if (outcome != SUCCESS) pre.stateRoot = e.txStartRoot;
        // forge-lint: disable-next-line(unsafe-typecast)
        pre.gasLeft = outcome == EXCEPTION ? 0 : uint64(e.gas - cost);
        // The refund counter (SSTORE's) stays when the frame succeeds, capped as revm reports it
        // (EIP-3529: a fifth of the gas spent); a failure drops it.
        if (outcome != SUCCESS) {
            pre.refund = 0;
        } else {
            uint64 cap = (pre.txGasLimit - pre.gasLeft) / 5;
            if (pre.refund > cap) pre.refund = cap;
        }
        return MachineState.hash(pre);
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
