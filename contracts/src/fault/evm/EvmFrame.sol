// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmTypes} from "./EvmTypes.sol";
import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";

/// @title EvmFrame
/// @notice What every instruction verifier shares (docs/evm-steps.md sections 4 and 9): the outcomes
///         of an instruction, memory expansion priced as revm 43 prices it, the word ranges of a
///         call's memory, and the post-state of an instruction step: the frame continuing, the
///         depth-0 frame ending the transaction, or a frame at depth >= 1 (or a creation
///         transaction's init frame) ending into the returning state.
library EvmFrame {
    uint256 internal constant MAX_U64 = type(uint64).max;
    /// @notice Most words one word range may span (32 KiB): a longer range makes the step a
    ///         rest-of-transaction step (docs/evm-steps.md sections 4 and 9).
    uint256 internal constant MAX_RANGE_WORDS = 1024;
    /// @notice Most words a creation's init code spans: EIP-3860's 49,152 bytes at any offset
    ///         (docs/evm-steps.md section 10); its one range may be that long.
    uint256 internal constant MAX_INITCODE_WORDS = 49_152 / 32 + 1;
    /// @notice A frame at this depth or deeper cannot call: revm's frame creation fails every call
    ///         (`CallTooDeep`) before it looks at the callee, and the forwarded gas comes back.
    uint256 internal constant CALL_DEPTH_LIMIT = 1024;

    /// @notice Whether `code` is an EIP-7702 delegation designator (exactly 23 bytes, `0xef0100 ‖
    ///         delegate`), and its delegate (docs/evm-steps.md sections 1.1 and 9).
    function delegation(bytes memory code) internal pure returns (bool isDesignator, address delegate) {
        // forge-lint: disable-next-line(unsafe-typecast)
        if (code.length != 23 || bytes3(code) != 0xef0100) return (false, address(0));
        // Bytes 3..23: the first 32 bytes, zero-padded, shifted left by 3 bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        return (true, address(bytes20(bytes32(code) << 24)));
    }

    /// @notice The least `pc` of a frame in the middle of a chunked copy or hash, or of a call's
    ///         argument steps (`p + (k << 16)`, k >= 1; an honest instruction's pc is below it: code
    ///         is at most 49,152 bytes). Only the copy verifier and, for the call step after the
    ///         argument steps, the call verifier step such a frame (`openChunk`); every other
    ///         verifier refuses it.
    uint256 internal constant CHUNK_PC = 1 << 16;

    /// @notice Most bytes one step of a copy copies (1023 words: any span of them touches at most
    ///         `MAX_RANGE_WORDS` words; docs/evm-steps.md section 4, "Chunked copies").
    uint256 internal constant CHUNK_BYTES = 32_736;

    /// @notice A call's warm read of its callee (EIP-2929), charged first.
    uint256 internal constant CALL_WARM_READ = 100;

    // Outcomes of an instruction.
    uint256 internal constant CONTINUE = 0;
    /// @dev STOP, RETURN.
    uint256 internal constant SUCCESS = 1;
    uint256 internal constant REVERTED = 2;
    /// @dev Out of gas, stack underflow or overflow, invalid jump, invalid or undefined opcode,
    ///      an operand out of range.
    uint256 internal constant EXCEPTION = 3;

    /// @notice The substate of a frame whose transaction's access list has more entries than the
    ///         entry step warms (`AccessList.MAX_ACCESS_LIST_WARMINGS`; docs/evm-steps.md section 2):
    ///         its state-access instructions are rest-of-transaction steps.
    bytes32 internal constant ACCESS_LIST_SUBSTATE = bytes32(uint256(1));

    /// @notice Opens the frame `e` (at any depth) of an instruction step: `e` must hash to `pre.evm`
    ///         and `code` to its code hash; (with `stateAccess`) a frame under the access-list marker
    ///         is not provable yet. A frame in the middle of a chunked copy (`pc >= CHUNK_PC`) is only
    ///         the copy and call verifiers' (`openChunk`): refused. Returns the instruction (`STOP` past the
    ///         end of the code).
    function open(MachineState.State memory pre, EvmTypes.EvmState memory e, bytes memory code, bool stateAccess)
        internal
        pure
        returns (uint256 op)
    {
        _check(pre, e, code);
        if (stateAccess && e.substate == ACCESS_LIST_SUBSTATE) {
            revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
        }
        uint256 pc = e.pc;
        if (pc >= CHUNK_PC) revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
        op = pc < code.length ? uint8(code[pc]) : 0;
    }

    /// @notice `open` for the copy verifier and the call verifier, which also take a frame in the
    ///         middle of a chunked copy, hash or call's arguments (docs/evm-steps.md sections 4 and
    ///         9): its `pc` is `p + (k << 16)`, with `p` the instruction's own pc and `k >= 1` the
    ///         next chunk (the call verifier checks the access-list marker itself). Returns the instruction at `p` (`STOP`
    ///         past the end of the code) and `k` (0 for an instruction's first step).
    function openChunk(MachineState.State memory pre, EvmTypes.EvmState memory e, bytes memory code)
        internal
        pure
        returns (uint256 op, uint256 k)
    {
        _check(pre, e, code);
        uint256 pc = e.pc;
        k = pc >> 16;
        pc &= CHUNK_PC - 1;
        op = pc < code.length ? uint8(code[pc]) : 0;
    }

    /// @dev `e` must hash to `pre.evm` and `code` to its code hash.
    function _check(MachineState.State memory pre, EvmTypes.EvmState memory e, bytes memory code) private pure {
        bytes32 computed = EvmTypes.hash(e);
        if (computed != pre.evm) revert IEvmStepVerifier.EvmStateMismatch(pre.evm, computed);
        computed = keccak256(code);
        if (computed != e.codeHash) revert IEvmStepVerifier.EvmCodeMismatch(e.codeHash, computed);
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

    /// @notice The first part of every call (CALL, CALLCODE, DELEGATECALL, STATICCALL: `op`), in
    ///         revm 43's order (docs/evm-steps.md section 4, "Calls"): the warm read's 100, a CALL
    ///         with a value in a static frame, the memory expansion of the argument range (stack
    ///         items `top[at]`, `top[at + 1]`), then of the output range (`top[at + 2]`,
    ///         `top[at + 3]`). `ok` false when the call halts there; otherwise the memory size and
    ///         the cost after it. Every verifier that steps a call uses it (the call verifiers, and
    ///         the copy verifier to know that a call with long arguments reaches its callee): the
    ///         argument steps and the call step must agree on it exactly (section 9).
    function callPrefix(EvmTypes.EvmState memory e, uint256 op, uint256[] memory top, uint256 at)
        internal
        pure
        returns (bool ok, uint256 memSize, uint256 cost)
    {
        memSize = e.memSize;
        cost = CALL_WARM_READ;
        if (cost > e.gas || (op == 0xf1 && e.isStatic && top[2] != 0)) return (false, memSize, cost);
        (ok, memSize, cost) = callRange(memSize, cost, e.gas, top[at], top[at + 1]);
        if (ok) (ok, memSize, cost) = callRange(memSize, cost, e.gas, top[at + 2], top[at + 3]);
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

    /// @notice The post-state of an instruction with `outcome` that has no output (every instruction
    ///         but RETURN and REVERT), costing `cost` and leaving the memory `memSize` bytes long.
    function post(
        MachineState.State memory pre,
        EvmTypes.EvmState memory e,
        uint256 outcome,
        uint256 cost,
        uint256 memSize
    ) internal pure returns (bytes32) {
        return post(pre, e, outcome, cost, memSize, 0, 0);
    }

    /// @notice The post-state of an instruction with `outcome`, costing `cost`, leaving the memory
    ///         `memSize` bytes long and (RETURN, REVERT) outputting `outSize` bytes of memory at
    ///         `outOffset` (0, 0 for no output); `e` holds the frame after it (pc, stack, memory
    ///         root) when it continues. A frame that ends at depth 0 ends the transaction (section 4,
    ///         "Halting at depth 0"); at depth >= 1, or at depth 0 with a parent (a creation
    ///         transaction's init frame, section 10), it leaves the returning state of section 9.
    function post(
        MachineState.State memory pre,
        EvmTypes.EvmState memory e,
        uint256 outcome,
        uint256 cost,
        uint256 memSize,
        uint256 outOffset,
        uint256 outSize
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
        // A creation transaction's init frame (depth 0 with a parent, docs/evm-steps.md section 10)
        // ends as a deeper frame does: its return step deposits the code.
        if (e.depth != 0 || e.parent != 0) return _end(pre, e, outcome, cost, outOffset, outSize);
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
            uint64 cap;
            // No trace has more gas left than the transaction's limit; on a state that does, the
            // cap wraps (a deterministic post-state, not a panic) rather than costing every verifier
            // the bytes of a revert.
            unchecked {
                cap = (pre.txGasLimit - pre.gasLeft) / 5;
            }
            if (pre.refund > cap) pre.refund = cap;
        }
        return MachineState.hash(pre);
    }

    /// @dev A frame at depth >= 1 (or a creation transaction's init frame at depth 0) ends
    ///      (docs/evm-steps.md section 9, "The frame's end"): the machine's state root, refund
    ///      counter, gas and phase stay, and `evm` becomes the `FrameEnd`'s hash, which the return
    ///      step (kind 6) takes back to the caller (or, for that init frame, to the transaction's end).
    function _end(
        MachineState.State memory pre,
        EvmTypes.EvmState memory e,
        uint256 outcome,
        uint256 cost,
        uint256 outOffset,
        uint256 outSize
    ) private pure returns (bytes32) {
        EvmTypes.FrameEnd memory end;
        end.parent = e.parent;
        // forge-lint: disable-next-line(unsafe-typecast)
        end.outcome = uint8(outcome); // 1, 2 or 3
        if (outcome != EXCEPTION) {
            // The cost is at most the gas left (checked by the instruction).
            // forge-lint: disable-next-line(unsafe-typecast)
            end.gasLeft = uint64(e.gas - cost);
            if (outSize != 0) {
                // An output reaching past 4 GiB of memory (over 3 * 10^13 gas) does not fit.
                if (outOffset + outSize > type(uint32).max) {
                    revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
                }
                end.memRoot = e.memRoot;
                // forge-lint: disable-next-line(unsafe-typecast)
                end.outOffset = uint32(outOffset);
                // forge-lint: disable-next-line(unsafe-typecast)
                end.outSize = uint32(outSize);
            }
        }
        if (outcome == SUCCESS) end.substate = e.substate;
        pre.evm = EvmTypes.hash(end);
        return MachineState.hash(pre);
    }

    // ------------------------------------------------------------------------------------------
    // Word ranges of memory (the calls' arguments and outputs)

    /// @notice Whether `w` is the empty range (no words, no siblings): the witness of a range that
    ///         the step does not open.
    function isEmpty(EvmTypes.WordRange memory w) internal pure returns (bool) {
        return w.words.length == 0 && w.siblings.length == 0;
    }

    /// @notice `w` must span exactly the words holding `len > 0` bytes at `offset`
    ///         (`UnexpectedWords` otherwise; more than `MAX_RANGE_WORDS` words make the step a
    ///         rest-of-transaction step) and open `root` (`WordProofMismatch(index)` otherwise, with
    ///         `index` the range's position in the witness).
    function openRange(EvmTypes.WordRange memory w, bytes32 root, uint256 offset, uint256 len, uint256 index)
        internal
        pure
    {
        openRangeUpTo(w, root, offset, len, index, MAX_RANGE_WORDS);
    }

    /// @notice `openRange` with `most` words instead of `MAX_RANGE_WORDS` (a creation's init code:
    ///         `MAX_INITCODE_WORDS`).
    function openRangeUpTo(
        EvmTypes.WordRange memory w,
        bytes32 root,
        uint256 offset,
        uint256 len,
        uint256 index,
        uint256 most
    ) internal pure {
        uint256 first = offset / 32;
        uint256 count = (offset + len - 1) / 32 - first + 1;
        if (count > most) revert IEvmStepVerifier.UnsupportedStep(MachineState.IN_TX);
        if (w.first != first || w.words.length != count) revert IEvmStepVerifier.UnexpectedWords();
        (bool ok, bytes32 opened) = WordTree.rangeRoot(w.first, w.words, w.siblings);
        if (!ok || opened != root) revert IEvmStepVerifier.WordProofMismatch(index);
    }

    /// @notice `len > 0` bytes at `offset` of the word tree `root`, opened by `w` (`openRange`).
    function readRange(EvmTypes.WordRange memory w, bytes32 root, uint256 offset, uint256 len, uint256 index)
        internal
        pure
        returns (bytes memory)
    {
        return readRangeUpTo(w, root, offset, len, index, MAX_RANGE_WORDS);
    }

    /// @notice `readRange` with `most` words instead of `MAX_RANGE_WORDS` (`openRangeUpTo`).
    function readRangeUpTo(
        EvmTypes.WordRange memory w,
        bytes32 root,
        uint256 offset,
        uint256 len,
        uint256 index,
        uint256 most
    ) internal pure returns (bytes memory data) {
        openRangeUpTo(w, root, offset, len, index, most);
        data = new bytes(len);
        bytes32[] memory words = w.words;
        assembly ("memory-safe") {
            mcopy(add(data, 32), add(add(words, 32), mod(offset, 32)), len)
        }
    }

    /// @notice The root after the first `n > 0` bytes of `data` are written at `offset` of the word
    ///         tree `root`; `w` opens the words they cover against `root` (`openRange`).
    function writeRange(
        EvmTypes.WordRange memory w,
        bytes32 root,
        uint256 offset,
        bytes memory data,
        uint256 n,
        uint256 index
    ) internal pure returns (bytes32 newRoot) {
        openRange(w, root, offset, n, index);
        uint256 count = w.words.length;
        bytes32[] memory written = new bytes32[](count);
        bytes32[] memory words = w.words;
        assembly ("memory-safe") {
            let dst := add(written, 32)
            mcopy(dst, add(words, 32), mul(count, 32))
            mcopy(add(dst, mod(offset, 32)), add(data, 32), n)
        }
        // The same span and siblings as the range just opened: always a root.
        (, newRoot) = WordTree.rangeRoot(w.first, written, w.siblings);
    }

    /// @notice A call's value moving from the frame's account `self` (docs/evm-steps.md section 4,
    ///         "Calls without a frame" and "Calls to precompiles"): for a CALL (`moves`) the callee
    ///         `to` (read as `callee` with `calleeProof` against `root`) is credited first, then
    ///         `self` is read with `selfProof` against that root and debited; a CALL to `self`
    ///         moves nothing; a CALLCODE only checks `self`'s balance. `ok` false when the balance
    ///         is below the value (the call fails, nothing moves); `moved` the root after the move
    ///         (`root` when nothing moved).
    function moveValue(
        bytes32 root,
        address self,
        address to,
        Accounts.Account memory callee,
        uint256 value,
        bool moves,
        bytes[] memory calleeProof,
        bytes[] memory selfProof
    ) internal pure returns (bool ok, bytes32 moved) {
        // The frame's own account, read against the state root as the callee: only its balance counts.
        if (moves && to == self) return (callee.balance >= value, root);
        moved = root;
        bool overflows = callee.balance > type(uint256).max - value;
        if (moves) {
            // Saturated: a value above the frame's balance fails the call whatever the credit (the
            // credit does not change the frame's balance: another account).
            callee.balance = overflows ? type(uint256).max : callee.balance + value;
            moved = MerkleTrie.update(moved, Accounts.key(to), Accounts.encode(callee), calleeProof);
        }
        Accounts.Account memory frame = Accounts.read(moved, Accounts.key(self), selfProof);
        ok = frame.balance >= value;
        // Balances above 2^256 together: no state holds them.
        if (ok && moves && overflows) revert IEvmStepVerifier.InvalidPreState();
        if (!ok || !moves) return (ok, root);
        frame.balance -= value;
        moved = MerkleTrie.update(moved, Accounts.key(self), Accounts.encode(frame), selfProof);
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
