// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";

/// @title EvmReturnVerifier
/// @notice The return step (docs/evm-steps.md section 9; witness kind 6): from the returning state a
///         frame at depth >= 1 leaves when it ends (`evm` the hash of its `FrameEnd`) back to its
///         caller, as revm 43's `insert_call_outcome`: the caller (saved in the `CallerFrame` its
///         call made) gets the first `min(retLen, outSize)` output bytes in its memory at
///         `retOffset` and the whole output as its return data (both opened by word ranges: the
///         callee's memory over the output, the caller's over the destination), pushes 1 on
///         success and 0 otherwise, and takes back the gas the callee left; a callee that reverted
///         or halted has its state changes, substate and refunds dropped (the caller's snapshots).
///         A range of more than `EvmFrame.MAX_RANGE_WORDS` words is a rest-of-transaction step.
///         `EvmCallVerifier` creates this verifier and forwards kind 6 here. Mirrored off chain by
///         `core/src/fault/evm.rs`.
contract EvmReturnVerifier is IEvmStepVerifier {
    /// @dev The return witness: `abi.encode(FrameEnd end, CallerFrame frame, EvmState caller,
    ///      WordRange output, WordRange dest)`.
    struct Return {
        EvmTypes.FrameEnd end;
        EvmTypes.CallerFrame frame;
        EvmTypes.EvmState caller;
        /// @dev The callee's memory words holding the output (empty when `outSize` is 0).
        EvmTypes.WordRange output;
        /// @dev The caller's memory words the output's first `min(retLen, outSize)` bytes go to,
        ///      before the write (empty when nothing is written).
        EvmTypes.WordRange dest;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 6) revert UnsupportedStep(MachineState.IN_TX);
        Return memory w;
        (w.end, w.frame, w.caller, w.output, w.dest) = abi.decode(
            body, (EvmTypes.FrameEnd, EvmTypes.CallerFrame, EvmTypes.EvmState, EvmTypes.WordRange, EvmTypes.WordRange)
        );
        _open(pre, w);
        return _return(pre, w);
    }

    /// @notice The call data of a frame `EvmCallVerifier` starts (docs/evm-steps.md section 9): the
    ///         root of the `len` argument bytes at `offset` in the caller's memory (`memRoot`),
    ///         opened by `args` and shifted to offset 0; `WordTree.EMPTY_ROOT` when `len` is 0 (then
    ///         `args` must be empty). Reverts as `EvmFrame.readRange` on a wrong or too long range.
    function callData(EvmTypes.WordRange memory args, bytes32 memRoot, uint256 offset, uint256 len)
        external
        pure
        returns (bytes32)
    {
        if (len == 0) {
            if (!EvmFrame.isEmpty(args)) revert UnexpectedWords();
            return WordTree.EMPTY_ROOT;
        }
        return WordTree.root(EvmFrame.readRange(args, memRoot, offset, len, 0));
    }

    /// @dev The returning state, the caller frame and the caller must be the ones `pre.evm` commits to.
    function _open(MachineState.State memory pre, Return memory w) private pure {
        bytes32 computed = EvmTypes.hash(w.end);
        if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
        computed = EvmTypes.hash(w.frame);
        if (computed != w.end.parent) revert EvmStateMismatch(w.end.parent, computed);
        computed = EvmTypes.hash(w.caller);
        if (computed != w.frame.frame) revert EvmStateMismatch(w.frame.frame, computed);
        // Only an instruction step makes a returning state, with one of these outcomes.
        uint256 outcome = w.end.outcome;
        if (outcome == EvmFrame.CONTINUE || outcome > EvmFrame.EXCEPTION) revert InvalidPreState();
    }

    /// @dev The caller resumes with the callee's outcome.
    function _return(MachineState.State memory pre, Return memory w) private pure returns (bytes32) {
        EvmTypes.FrameEnd memory end = w.end;
        EvmTypes.CallerFrame memory frame = w.frame;
        EvmTypes.EvmState memory caller = w.caller;
        // The output (RETURN, REVERT) becomes the caller's return data; its first bytes go to the
        // caller's memory (which the call expanded over the whole output range).
        bytes memory output;
        if (end.outSize == 0) {
            if (!EvmFrame.isEmpty(w.output)) revert UnexpectedWords();
        } else {
            output = EvmFrame.readRange(w.output, end.memRoot, end.outOffset, end.outSize, 0);
        }
        uint256 n = EvmFrame.min(frame.retLen, end.outSize);
        if (n == 0) {
            if (!EvmFrame.isEmpty(w.dest)) revert UnexpectedWords();
        } else {
            caller.memRoot = EvmFrame.writeRange(w.dest, caller.memRoot, frame.retOffset, output, n, 1);
        }
        caller.returnDataRoot = WordTree.root(output);
        caller.returnDataSize = end.outSize;

        bool success = end.outcome == EvmFrame.SUCCESS;
        caller.stack = StackHash.push(caller.stack, success ? 1 : 0);
        // The call popped six or seven items: the stack has room.
        caller.stackSize += 1;
        // At most the gas the call forwarded (with the stipend), which the caller had.
        caller.gas += end.gasLeft;
        if (success) {
            caller.substate = end.substate;
        } else {
            // The callee's state changes, warm accounts and slots, transient storage and refunds
            // are dropped.
            caller.substate = frame.substate;
            pre.stateRoot = frame.stateRoot;
            pre.refund = frame.refund;
        }
        pre.evm = EvmTypes.hash(caller);
        return MachineState.hash(pre);
    }
}
