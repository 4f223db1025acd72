// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";

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
///         The return step of an init frame (CREATE, CREATE2: the `CallerFrame`'s `created` is not 0;
///         docs/evm-steps.md section 10) is revm 43's `return_create`: a successful init code's
///         output is the new account's code, refused over 24,576 bytes (EIP-170), starting with
///         0xEF (EIP-3541) or when its 200 gas a byte passes the gas left (all three fail as an
///         exceptional halt); otherwise its hash is stored in the new account (an account proof),
///         the caller pushes the address and gets the rest of the gas; the return data is the
///         output only after a revert. A creation transaction's init frame (depth 0, its
///         `CallerFrame` without a caller, `frame` 0) returns to no caller: with the same deposit
///         rules its return step ends the transaction (`TX_EXECUTED`); so does an EIP-7702 transaction's
///         depth-0 frame (its `CallerFrame` has no caller and no created account; docs/evm-steps.md
///         section 1.2), without a deposit. `EvmCallVerifier` is given
///         this verifier at deployment and forwards kind 6 here. Mirrored off chain by `core/src/fault/evm.rs`.
contract EvmReturnVerifier is IEvmStepVerifier {
    /// @notice EIP-170's code limit.
    uint256 internal constant MAX_CODE_SIZE = 24_576;
    /// @notice The code deposit's gas a byte.
    uint256 internal constant CODE_DEPOSIT_BYTE = 200;

    /// @dev The return witness: `abi.encode(FrameEnd end, CallerFrame frame, EvmState caller,
    ///      WordRange output, WordRange dest, bytes[] createdProof)`.
    struct Return {
        EvmTypes.FrameEnd end;
        EvmTypes.CallerFrame frame;
        EvmTypes.EvmState caller;
        /// @dev The callee's memory words holding the output (empty when `outSize` is 0).
        EvmTypes.WordRange output;
        /// @dev The caller's memory words the output's first `min(retLen, outSize)` bytes go to,
        ///      before the write (empty when nothing is written).
        EvmTypes.WordRange dest;
        /// @dev An init frame's successful return: the new account against the state root (read,
        ///      then its code hash written); otherwise unused.
        bytes[] createdProof;
        /// @dev A step of a long output (kind 14, docs/evm-steps.md section 9, "Long outputs"): the
        ///      chunk `k` it moves, the return data's tree and the caller's memory root so far (at
        ///      `k = 0`: `WordTree.EMPTY_ROOT` and the caller's), and the return-data tree's words of
        ///      the chunk (`output` and `dest` then hold the chunk's words only).
        bool chunked;
        uint256 k;
        bytes32 returnData;
        bytes32 callerMem;
        EvmTypes.WordRange returnRange;
    }

    /// @notice Most output bytes one step of a long output moves (`EvmFrame.CHUNK_BYTES`).
    uint256 public constant CHUNK_BYTES = EvmFrame.CHUNK_BYTES;

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        Return memory w;
        if (kind == 14) {
            _decodeLong(body, w);
            _open(pre, w);
            return _chunk(pre, w);
        }
        if (kind != 6) revert UnsupportedStep(MachineState.IN_TX);
        (w.end, w.frame, w.caller, w.output, w.dest, w.createdProof) = abi.decode(
            body,
            (
                EvmTypes.FrameEnd,
                EvmTypes.CallerFrame,
                EvmTypes.EvmState,
                EvmTypes.WordRange,
                EvmTypes.WordRange,
                bytes[]
            )
        );
        _open(pre, w);
        // A long output is moved by the steps of kind 14.
        if (_isLong(w)) revert UnsupportedStep(MachineState.IN_TX);
        return _return(pre, w);
    }

    /// @notice What a step of a long output (kind 14) adds to the return witness.
    struct LongOutput {
        /// @dev The chunk the step moves.
        uint256 k;
        /// @dev The return data's tree and the caller's memory root so far (ignored at `k = 0`).
        bytes32 returnData;
        bytes32 callerMem;
        /// @dev The ended frame's memory words holding the chunk.
        EvmTypes.WordRange output;
        /// @dev The return-data tree's words of the chunk, before the write.
        EvmTypes.WordRange returnRange;
        /// @dev The caller's memory words the chunk's bytes below `min(retLen, outSize)` go to,
        ///      before the write (empty when none).
        EvmTypes.WordRange dest;
    }

    /// @dev A kind-14 witness: `abi.encode(FrameEnd end, CallerFrame frame, EvmState caller,
    ///      LongOutput long)`.
    function _decodeLong(bytes calldata body, Return memory w) private pure {
        w.chunked = true;
        LongOutput memory long;
        (w.end, w.frame, w.caller, long) =
            abi.decode(body, (EvmTypes.FrameEnd, EvmTypes.CallerFrame, EvmTypes.EvmState, LongOutput));
        (w.k, w.returnData, w.callerMem) = (long.k, long.returnData, long.callerMem);
        (w.output, w.returnRange, w.dest) = (long.output, long.returnRange, long.dest);
    }

    /// @notice The hash of a state between two steps of a long output (docs/evm-steps.md section 9,
    ///         "Long outputs"): `keccak256(abi.encode(keccak256(abi.encode(end)), k, returnData,
    ///         callerMem))`, with `k` the chunks moved so far.
    function progressHash(bytes32 end, uint256 k, bytes32 returnData, bytes32 callerMem) public pure returns (bytes32) {
        return keccak256(abi.encode(end, k, returnData, callerMem));
    }

    /// @dev Whether the output is long (over `CHUNK_BYTES`) and read: returned to a caller (not by a
    ///      creation transaction's or an EIP-7702 transaction's depth-0 frame, whose output is not
    ///      committed but for a deposit), and not an init frame's success (a code over EIP-170's
    ///      limit is not read).
    function _isLong(Return memory w) private pure returns (bool) {
        return w.end.outSize > CHUNK_BYTES && w.frame.frame != 0
            && !(w.frame.created != address(0) && w.end.outcome == EvmFrame.SUCCESS);
    }

    /// @dev Step `k` of a long output (kind 14; docs/evm-steps.md section 9, "Long outputs"): the
    ///      output bytes `[k * CHUNK_BYTES, +CHUNK_BYTES)`, read from the ended frame's memory, go
    ///      into the return data's tree at the same offset and, for those below `min(retLen,
    ///      outSize)` (none for an init frame), into the caller's memory at `retOffset` plus that
    ///      offset; then either the next step's state or, after the last chunk, the return step
    ///      itself with these two roots.
    function _chunk(MachineState.State memory pre, Return memory w) private pure returns (bytes32) {
        EvmTypes.FrameEnd memory end = w.end;
        EvmTypes.CallerFrame memory frame = w.frame;
        uint256 off = w.k * CHUNK_BYTES;
        // Not a state any trace has: an output the return step moves in one, a chunk past the last.
        if (!_isLong(w) || off >= end.outSize) revert UnsupportedStep(MachineState.IN_TX);
        if (w.k == 0) {
            w.returnData = WordTree.EMPTY_ROOT;
            w.callerMem = w.caller.memRoot;
        }
        uint256 l = EvmFrame.min(CHUNK_BYTES, end.outSize - off);
        bytes memory part = EvmFrame.readRange(w.output, end.memRoot, end.outOffset + off, l, 0);
        w.returnData = EvmFrame.writeRange(w.returnRange, w.returnData, off, part, l, 1);
        uint256 m = frame.created != address(0) ? 0 : EvmFrame.min(frame.retLen, end.outSize);
        if (off < m) {
            w.callerMem =
                EvmFrame.writeRange(w.dest, w.callerMem, frame.retOffset + off, part, EvmFrame.min(l, m - off), 2);
        } else if (!EvmFrame.isEmpty(w.dest)) {
            revert UnexpectedWords();
        }
        if (off + l < end.outSize) {
            pre.evm = progressHash(EvmTypes.hash(end), w.k + 1, w.returnData, w.callerMem);
            return MachineState.hash(pre);
        }
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
    ///      A `CallerFrame` without a caller (`frame` 0) is a depth-0 frame's, whose `caller` is not
    ///      looked at: a creation transaction's init frame (`created` set) or an EIP-7702
    ///      transaction's frame (`created` 0, made only by its entry step, kind 13).
    function _open(MachineState.State memory pre, Return memory w) private pure {
        bytes32 computed = EvmTypes.hash(w.end);
        // Between the steps of a long output: the progress over the returning state.
        if (w.k != 0) computed = progressHash(computed, w.k, w.returnData, w.callerMem);
        if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
        computed = EvmTypes.hash(w.frame);
        if (computed != w.end.parent) revert EvmStateMismatch(w.end.parent, computed);
        if (w.frame.frame != 0) {
            computed = EvmTypes.hash(w.caller);
            if (computed != w.frame.frame) revert EvmStateMismatch(w.frame.frame, computed);
        }
        // Only an instruction step makes a returning state, with one of these outcomes.
        uint256 outcome = w.end.outcome;
        if (outcome == EvmFrame.CONTINUE || outcome > EvmFrame.EXCEPTION) revert InvalidPreState();
    }

    /// @dev The caller resumes with the callee's outcome.
    function _return(MachineState.State memory pre, Return memory w) private pure returns (bytes32) {
        EvmTypes.FrameEnd memory end = w.end;
        EvmTypes.CallerFrame memory frame = w.frame;
        EvmTypes.EvmState memory caller = w.caller;
        if (frame.frame == 0 && frame.created == address(0)) return _authorizedTxEnd(pre, w);
        // The output (RETURN, REVERT) becomes the caller's return data; its first bytes go to the
        // caller's memory (which the call expanded over the whole output range).
        bool created = frame.created != address(0);
        // An init frame's code over the limit fails the creation unread.
        bool tooLarge = created && end.outcome == EvmFrame.SUCCESS && end.outSize > MAX_CODE_SIZE;
        bytes memory output;
        if (w.chunked) {
            // A long output's steps built the return data and wrote the caller's memory.
            caller.memRoot = w.callerMem;
        } else {
            // A creation transaction's failure does not read its output (no caller gets it).
            if (end.outSize == 0 || tooLarge || (frame.frame == 0 && end.outcome != EvmFrame.SUCCESS)) {
                if (!EvmFrame.isEmpty(w.output)) revert UnexpectedWords();
            } else {
                output = EvmFrame.readRange(w.output, end.memRoot, end.outOffset, end.outSize, 0);
            }
            // An init frame writes nothing to its caller's memory.
            uint256 n = created ? 0 : EvmFrame.min(frame.retLen, end.outSize);
            if (n == 0) {
                if (!EvmFrame.isEmpty(w.dest)) revert UnexpectedWords();
            } else {
                caller.memRoot = EvmFrame.writeRange(w.dest, caller.memRoot, frame.retOffset, output, n, 1);
            }
        }
        if (created) return _created(pre, w, output, tooLarge);
        caller.returnDataRoot = _returnData(w, output);
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

    /// @dev The caller resumes with an init frame's outcome (revm 43's `return_create` and
    ///      `return_result`; docs/evm-steps.md section 10). Nothing was written to its memory (an
    ///      init frame's `retLen` is 0).
    function _created(MachineState.State memory pre, Return memory w, bytes memory output, bool tooLarge)
        private
        pure
        returns (bytes32)
    {
        EvmTypes.FrameEnd memory end = w.end;
        EvmTypes.EvmState memory caller = w.caller;
        uint256 outcome = end.outcome;
        uint256 deposit = CODE_DEPOSIT_BYTE * output.length;
        // The code deposit's failures are exceptional halts: no gas back.
        if (
            outcome == EvmFrame.SUCCESS
                && (tooLarge || (output.length != 0 && output[0] == 0xef) || deposit > end.gasLeft)
        ) outcome = EvmFrame.EXCEPTION;
        if (w.frame.frame == 0) return _creationTxEnd(pre, w, output, outcome, deposit);
        uint256 item;
        caller.returnDataRoot = WordTree.EMPTY_ROOT;
        caller.returnDataSize = 0;
        if (outcome == EvmFrame.SUCCESS) {
            address account = w.frame.created;
            pre.stateRoot = _deposit(pre.stateRoot, account, output, w.createdProof);
            item = uint256(uint160(account));
            // forge-lint: disable-next-line(unsafe-typecast)
            caller.gas += uint64(end.gasLeft - deposit);
            caller.substate = end.substate;
        } else {
            if (outcome == EvmFrame.REVERTED) {
                caller.returnDataRoot = _returnData(w, output);
                caller.returnDataSize = end.outSize;
                caller.gas += end.gasLeft;
            }
            // The init frame's state changes (the new account, the value), warm accounts and slots,
            // transient storage and refunds are dropped; the creator's nonce bump stays.
            caller.substate = w.frame.substate;
            pre.stateRoot = w.frame.stateRoot;
            pre.refund = w.frame.refund;
        }
        caller.stack = StackHash.push(caller.stack, item);
        // The creation popped three or four items: the stack has room.
        caller.stackSize += 1;
        pre.evm = EvmTypes.hash(caller);
        return MachineState.hash(pre);
    }

    /// @dev A creation transaction's init frame has ended (its `CallerFrame` has no caller,
    ///      docs/evm-steps.md section 10): the transaction has executed, as `EvmFrame.post` ends it
    ///      at depth 0, with the code deposit's outcome. A deposit keeps the gas left less 200 a byte
    ///      and the refund counter (capped at a fifth of the gas spent, EIP-3529); a revert keeps the
    ///      gas left; a halt or a refused deposit spends all the gas. Both failures restore the
    ///      state root at the transaction's start (the sender's nonce bump and prepaid gas stay).
    function _creationTxEnd(
        MachineState.State memory pre,
        Return memory w,
        bytes memory output,
        uint256 outcome,
        uint256 deposit
    ) private pure returns (bytes32) {
        pre.phase = MachineState.TX_EXECUTED;
        pre.evm = bytes32(0);
        pre.success = outcome == EvmFrame.SUCCESS;
        if (outcome == EvmFrame.SUCCESS) {
            pre.stateRoot = _deposit(pre.stateRoot, w.frame.created, output, w.createdProof);
            // The deposit is at most the gas left (checked by the caller).
            // forge-lint: disable-next-line(unsafe-typecast)
            pre.gasLeft = uint64(w.end.gasLeft - deposit);
            // No trace has more gas left than the transaction's limit.
            if (pre.gasLeft > pre.txGasLimit) revert InvalidPreState();
            uint64 cap = (pre.txGasLimit - pre.gasLeft) / 5;
            if (pre.refund > cap) pre.refund = cap;
        } else {
            pre.stateRoot = w.frame.stateRoot;
            pre.gasLeft = outcome == EvmFrame.REVERTED ? w.end.gasLeft : 0;
            pre.refund = 0;
        }
        return MachineState.hash(pre);
    }

    /// @dev An EIP-7702 transaction's depth-0 frame has ended (its `CallerFrame` has neither a caller
    ///      nor a created account, docs/evm-steps.md section 1.2): the transaction has executed, as
    ///      `EvmFrame.post` ends a depth-0 frame without a parent, but with the frame's snapshots:
    ///      a failure restores the root after the authorizations and keeps their refund (revm adds
    ///      it after execution, whatever the outcome), then the refund is capped at a fifth of the
    ///      gas spent (EIP-3529). The output is not committed, so no range opens it.
    function _authorizedTxEnd(MachineState.State memory pre, Return memory w) private pure returns (bytes32) {
        if (!EvmFrame.isEmpty(w.output) || !EvmFrame.isEmpty(w.dest)) revert UnexpectedWords();
        if (w.createdProof.length != 0) revert UnexpectedProof();
        uint256 outcome = w.end.outcome;
        pre.phase = MachineState.TX_EXECUTED;
        pre.evm = bytes32(0);
        pre.success = outcome == EvmFrame.SUCCESS;
        pre.gasLeft = outcome == EvmFrame.EXCEPTION ? 0 : w.end.gasLeft;
        if (outcome != EvmFrame.SUCCESS) {
            pre.stateRoot = w.frame.stateRoot;
            pre.refund = w.frame.refund;
        }
        // No trace has more gas left than the transaction's limit.
        if (pre.gasLeft > pre.txGasLimit) revert InvalidPreState();
        uint64 cap = (pre.txGasLimit - pre.gasLeft) / 5;
        if (pre.refund > cap) pre.refund = cap;
        return MachineState.hash(pre);
    }

    /// @dev The caller's return data: the tree a long output's steps built, else `output`'s.
    function _returnData(Return memory w, bytes memory output) private pure returns (bytes32) {
        return w.chunked ? w.returnData : WordTree.root(output);
    }

    /// @dev The root after `account` (read against `root` with `proof`) gets `code`'s hash.
    function _deposit(bytes32 root, address account, bytes memory code, bytes[] memory proof)
        private
        pure
        returns (bytes32)
    {
        bytes32 key = Accounts.key(account);
        Accounts.Account memory a = Accounts.read(root, key, proof);
        // Absent: the init code destroyed it (SELFDESTRUCT deletes at the step, revm at the
        // transaction's end, after this deposit): not proven (docs/evm-steps.md section 11).
        if (!a.exists) revert UnsupportedStep(MachineState.IN_TX);
        a.codeHash = keccak256(code);
        return MerkleTrie.update(root, key, Accounts.encode(a), proof);
    }
}
