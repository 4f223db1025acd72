// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {KeccakSponge} from "./KeccakSponge.sol";
import {MachineState} from "../MachineState.sol";

/// @title EvmCopyVerifier
/// @notice Stage 2 of docs/evm-steps.md (section 4, "Hashing and copies"; witness kind 2): KECCAK256,
///         CALLDATACOPY, CODECOPY, RETURNDATACOPY and MCOPY in a frame at any depth, with gas exactly as
///         revm 43 (Prague) charges it. The bytes they read and the memory they write are opened by
///         word ranges (one multiproof per range, `WordTree.rangeRoot`), none of more than
///         `MAX_RANGE_WORDS` words. A copy of more than `CHUNK_BYTES` bytes is chunked: its first step
///         charges the whole instruction (gas, memory expansion) and copies chunk 0, then one
///         continuation step per chunk, with the frame's pc `p + (k << 16)` (`p` the copy's pc, `k` the
///         next chunk) and its three stack items kept until the last chunk; MCOPY with `dst > src`
///         copies its chunks from the end (memmove). An EXTCODECOPY of more than `CHUNK_BYTES` bytes
///         is chunked too: its first step is `EvmStateVerifier`'s (kind 7), its continuations (four
///         items kept, a source of zeros: that step refuses a longer code) are this verifier's. A
///         KECCAK256 of more than `CHUNK_BYTES` bytes is chunked as well, by `HASH_CHUNK_BYTES`: each
///         step absorbs one chunk into keccak's sponge (`KeccakSponge`), whose 200-byte state rides on
///         the stack as seven words above `offset len` between steps; the last pads, squeezes and
///         pushes the hash. `EvmStepVerifier` forwards kind 2 here. Mirrored off chain by
///         `core/src/fault/evm.rs`.
contract EvmCopyVerifier is IEvmStepVerifier {
    /// @notice Most words one range may span (32 KiB).
    uint256 public constant MAX_RANGE_WORDS = 1024;
    /// @notice Most bytes one step of a copy copies (`EvmFrame.CHUNK_BYTES`).
    uint256 public constant CHUNK_BYTES = EvmFrame.CHUNK_BYTES;
    /// @notice Most bytes one step of a chunked KECCAK256 absorbs (48 blocks of keccak's 136-byte
    ///         rate: the permutations, not the range, bound a hash step's gas).
    uint256 public constant HASH_CHUNK_BYTES = 6528;

    uint256 internal constant MAX_U64 = type(uint64).max;
    uint256 internal constant CHUNK_PC = EvmFrame.CHUNK_PC;
    /// @dev What a chunk adds to the pc.
    uint32 internal constant NEXT_CHUNK = 1 << 16;
    bytes32 internal constant EMPTY_HASH = keccak256("");
    /// @dev Sponge words a chunked KECCAK256 keeps above its `offset len`.
    uint256 internal constant SPONGE_WORDS = 7;

    // The call opcodes, whose argument bytes over `CHUNK_BYTES` are put in the callee's call-data
    // tree here, chunk by chunk, before `EvmCallVerifier` steps the call itself.
    uint256 internal constant CALL = 0xf1;
    uint256 internal constant CALLCODE = 0xf2;
    uint256 internal constant DELEGATECALL = 0xf4;
    uint256 internal constant STATICCALL = 0xfa;
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        EvmTypes.WordRange[] ranges;
        /// @dev Gas the instruction costs so far.
        uint256 cost;
        /// @dev Ranges consumed.
        uint256 used;
        /// @dev Memory size after the instruction.
        uint256 memSize;
        /// @dev Stack items above the copy's `dst src len`: 1 for EXTCODECOPY (`address`), else 0.
        uint256 skip;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 2) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.ranges) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordRange[]));
        // k >= 1: a continuation of a chunked copy or hash; EXTCODECOPY's first step is kind 7's
        // (EvmStateVerifier), its continuations are this verifier's.
        (uint256 op, uint256 k) = EvmFrame.openChunk(pre, r.e, r.code);
        r.memSize = r.e.memSize;
        if (op == CALL || op == CALLCODE || op == DELEGATECALL || op == STATICCALL) {
            _callArgs(r, op, k);
            if (r.used != r.ranges.length) revert UnexpectedWords();
            return EvmFrame.post(pre, r.e, EvmFrame.CONTINUE, 0, r.memSize);
        }
        if (op != 0x20 && (k == 0 || op != 0x3c) && op != 0x37 && op != 0x39 && op != 0x3e && op != 0x5e) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        if (op == 0x3c) r.skip = 1;
        // A hash's continuation also opens the seven sponge words above `offset len`.
        uint256 reads = op == 0x20 ? (k == 0 ? 2 : 2 + SPONGE_WORDS) : 3 + r.skip;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, reads)) {
            // A continuation's items were on the stack at its first step.
            if (k != 0) revert UnsupportedStep(MachineState.IN_TX);
            outcome = EvmFrame.EXCEPTION;
        } else if (k == 0) {
            outcome = _execute(r, op);
        } else if (op == 0x20) {
            _continueHash(r, k);
        } else {
            _continue(r, op, k);
        }
        if (r.used != r.ranges.length) revert UnexpectedWords();
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The instruction, whose stack items are open: its gas in revm's order, then its effect.
    function _execute(Run memory r, uint256 op) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        // KECCAK256 offset len | CALLDATACOPY, CODECOPY, RETURNDATACOPY dst src len | MCOPY dst src len
        uint256 len = op == 0x20 ? top[1] : top[2];
        r.cost = op == 0x20 ? 30 : 3;
        if (r.cost > e.gas || len > MAX_U64) return EvmFrame.EXCEPTION;
        uint256 src = EvmFrame.min(top[1], MAX_U64);
        // RETURNDATACOPY: the range must lie inside the return data (even when empty).
        if (op == 0x3e && EvmFrame.min(src + len, MAX_U64) > e.returnDataSize) return EvmFrame.EXCEPTION;
        r.cost += (op == 0x20 ? 6 : 3) * ((len + 31) / 32);
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        bytes32 stack = r.rest;
        if (len == 0) {
            if (op == 0x20) stack = StackHash.push(stack, uint256(EMPTY_HASH));
        } else {
            uint256 at = top[0];
            if (op == 0x5e) {
                if (top[0] > MAX_U64 || top[1] > MAX_U64) return EvmFrame.EXCEPTION;
                at = top[0] > top[1] ? top[0] : top[1];
            }
            (bool ok, uint256 memSize, uint256 cost) = EvmFrame.expansion(r.memSize, at, len);
            if (!ok) return EvmFrame.EXCEPTION;
            r.memSize = memSize;
            r.cost += cost;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
            if (op == 0x20) {
                if (len > CHUNK_BYTES) {
                    _startHash(r);
                    return EvmFrame.CONTINUE;
                }
                stack = StackHash.push(stack, uint256(_hash(r, top[0], len)));
            } else if (!_chunk(r, op, 0)) {
                // Chunked: the next step copies chunk 1; the stack keeps the three items.
                e.pc += NEXT_CHUNK;
                return EvmFrame.CONTINUE;
            }
        }
        e.stack = stack;
        // KECCAK256 pops 2 and pushes 1, a copy pops 3.
        e.stackSize -= op == 0x20 ? 1 : 3;
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev A continuation step (`k >= 1`) of the chunked copy `op` at `e.pc & 0xffff`, whose stack
    ///      items are open: no gas, no memory expansion; chunk `k`, then the next chunk's pc or, after
    ///      the last chunk, the instruction's end (its three items, EXTCODECOPY's four, popped).
    function _continue(Run memory r, uint256 op, uint256 k) private pure {
        EvmTypes.EvmState memory e = r.e;
        uint256 len = r.top[r.skip + 2];
        // Not a state any trace has: a copy that is not chunked, a chunk past the last.
        if (len <= CHUNK_BYTES || k * CHUNK_BYTES >= len) revert UnsupportedStep(MachineState.IN_TX);
        if (_chunk(r, op, k)) {
            e.stack = r.rest;
            // forge-lint: disable-next-line(unsafe-typecast)
            e.stackSize -= uint16(3 + r.skip);
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32((e.pc & (CHUNK_PC - 1)) + 1);
        } else {
            e.pc += NEXT_CHUNK;
        }
    }

    /// @dev The first step of a chunked KECCAK256, charged as the whole instruction: chunk 0 into the
    ///      zero state; the sponge's words go on top of the unchanged `offset len` (w0 on top) for
    ///      the next step, chunk 1.
    function _startHash(Run memory r) private pure {
        EvmTypes.EvmState memory e = r.e;
        uint256 offset = r.top[0];
        bytes memory sponge = _sponge(r.top, false);
        KeccakSponge.absorbAt(sponge, _pointer(_read(r, e.memRoot, offset, HASH_CHUNK_BYTES), offset), HASH_CHUNK_BYTES);
        e.stack = _pushSponge(e.stack, sponge);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize += uint16(SPONGE_WORDS);
        e.pc += NEXT_CHUNK;
    }

    /// @dev A continuation step (`k >= 1`) of a chunked KECCAK256 at `e.pc & 0xffff`, whose nine items
    ///      (`w0..w6 offset len`) are open: no gas, no memory change; chunk `k` absorbed into the
    ///      sponge of `w0..w6`, then the new words in their place and the next chunk's pc or, after
    ///      the last chunk (padded and squeezed), the nine items replaced by the hash.
    function _continueHash(Run memory r, uint256 k) private pure {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 offset = top[SPONGE_WORDS];
        uint256 len = top[SPONGE_WORDS + 1];
        uint256 off = k * HASH_CHUNK_BYTES;
        // Not a state any trace has: a hash of one step, a chunk past the last, a w6 whose 24 bytes
        // past the state are not zero (the same sponge would have several stacks).
        // forge-lint: disable-next-line(unsafe-typecast)
        if (len <= CHUNK_BYTES || off >= len || uint192(top[SPONGE_WORDS - 1]) != 0) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        uint256 l = EvmFrame.min(HASH_CHUNK_BYTES, len - off);
        bytes memory sponge = _sponge(top, true);
        uint256 at = _pointer(_read(r, e.memRoot, offset + off, l), offset + off);
        if (off + l == len) {
            // The last chunk (1 to HASH_CHUNK_BYTES bytes): padded, squeezed, the hash pushed.
            e.stack = StackHash.push(r.rest, uint256(KeccakSponge.finishAt(sponge, at, l)));
            // forge-lint: disable-next-line(unsafe-typecast)
            e.stackSize -= uint16(SPONGE_WORDS + 1);
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32((e.pc & (CHUNK_PC - 1)) + 1);
        } else {
            KeccakSponge.absorbAt(sponge, at, HASH_CHUNK_BYTES);
            e.stack = _pushSponge(StackHash.push(StackHash.push(r.rest, len), offset), sponge);
            e.pc += NEXT_CHUNK;
        }
    }

    /// @dev A step of a call's arguments (docs/evm-steps.md section 9, "Long arguments"): a call
    ///      (`CALL`, `CALLCODE`: 7 items; `DELEGATECALL`, `STATICCALL`: 6) whose argument length is
    ///      over `CHUNK_BYTES`, whose callee is not a precompile and which does not halt before its
    ///      callee's access (100 gas, a value in a static frame, the memory expansion of both ranges)
    ///      first builds its callee's call-data tree, `n = ⌈inLen / CHUNK_BYTES⌉` steps: chunk `k`
    ///      is the argument bytes `[k * CHUNK_BYTES, +CHUNK_BYTES)` read from memory (words past the
    ///      memory's size are zero) and written at the same offset into the tree so far (`EMPTY_ROOT`
    ///      at `k = 0`, then the word on top of the call's items), whose new root goes on top (pushed
    ///      at `k = 0`, replaced after); no gas, no memory change; the pc becomes `p + ((k + 1) << 16)`.
    ///      The call step itself (`EvmCallVerifier`, at `k = n`) charges the whole call and takes the
    ///      tree from the top of the stack.
    function _callArgs(Run memory r, uint256 op, uint256 k) private pure {
        EvmTypes.EvmState memory e = r.e;
        uint256 items = op == CALL || op == CALLCODE ? 7 : 6;
        // A continuation also opens the tree so far, above the call's items.
        uint256 b = k == 0 ? 0 : 1;
        // The call's stack items were checked by its first step (a stack underflow halts there).
        if (e.substate == EvmFrame.ACCESS_LIST_SUBSTATE || !EvmFrame.openStack(e, r.top, r.rest, items + b)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        uint256[] memory top = r.top;
        uint256 at = b + items - 4;
        uint256 len = top[at + 1];
        uint256 to = uint160(top[b + 1]);
        // Not a state any trace has (a call whose arguments are one range, a chunk past the last)
        // or the call step's own (a precompile's input is read there).
        if (len <= CHUNK_BYTES || k * CHUNK_BYTES >= len || (to != 0 && to <= LAST_PRECOMPILE)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        bytes32 stack = e.stack;
        if (k == 0) {
            // A call that halts before its callee's access is the call step's, in one step.
            if (!_reachesCallee(e, op, top, at)) revert UnsupportedStep(MachineState.IN_TX);
            e.stackSize += 1;
        } else {
            // The stack without the tree so far: the call's items over the rest.
            stack = r.rest;
            for (uint256 i = items; i > 0; --i) {
                stack = StackHash.push(stack, top[i]);
            }
        }
        uint256 off = k * CHUNK_BYTES;
        bytes memory data = _memory(r, top[at] + off, EvmFrame.min(CHUNK_BYTES, len - off));
        bytes32 root = _write(r, k == 0 ? WordTree.EMPTY_ROOT : bytes32(top[0]), off, data);
        e.stack = StackHash.push(stack, uint256(root));
        e.pc += NEXT_CHUNK;
    }

    /// @dev Whether the call `op` (its items in `top`, its argument range at `at`) reaches its
    ///      callee's access, as `EvmCallVerifier` charges it: 100 gas, no value in a static frame,
    ///      the memory expansion of the argument range then of the output range.
    function _reachesCallee(EvmTypes.EvmState memory e, uint256 op, uint256[] memory top, uint256 at)
        private
        pure
        returns (bool ok)
    {
        (ok,,) = EvmFrame.callPrefix(e, op, top, at);
    }

    /// @dev The `len > 0` bytes of memory at `offset`, opened by the next range (words past the
    ///      memory's size are zero).
    function _memory(Run memory r, uint256 offset, uint256 len) private pure returns (bytes memory data) {
        data = new bytes(len);
        _readInto(r, r.e.memRoot, offset, data, len);
    }

    /// @dev Reads `n > 0` bytes at `offset` of `root`, opened by the next range, into the start of
    ///      `data`.
    function _readInto(Run memory r, bytes32 root, uint256 offset, bytes memory data, uint256 n) private pure {
        bytes32[] memory words = _read(r, root, offset, n);
        assembly ("memory-safe") {
            mcopy(add(data, 32), add(add(words, 32), mod(offset, 32)), n)
        }
    }

    /// @dev A 200-byte sponge state (allocated 224 bytes: the seven words fit): `top`'s first seven
    ///      items (`w0..w6`, big-endian) when `load`, else zero.
    function _sponge(uint256[] memory top, bool load) private pure returns (bytes memory s) {
        s = new bytes(SPONGE_WORDS * 32);
        assembly ("memory-safe") {
            if load { mcopy(add(s, 32), add(top, 32), 224) }
            mstore(s, 200)
        }
    }

    /// @dev `stack` with the sponge's seven words pushed, `w6` first and `w0` on top.
    function _pushSponge(bytes32 stack, bytes memory sponge) private pure returns (bytes32) {
        for (uint256 i = SPONGE_WORDS; i > 0; --i) {
            uint256 w;
            assembly ("memory-safe") {
                w := mload(add(sponge, mul(i, 32)))
            }
            stack = StackHash.push(stack, w);
        }
        return stack;
    }

    /// @dev The memory address of the byte at `offset` in `words`, the words opened from `offset / 32`.
    function _pointer(bytes32[] memory words, uint256 offset) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(add(words, 32), mod(offset, 32))
        }
    }

    /// @dev Copies chunk `k` (with `k * CHUNK_BYTES < len`) of the copy `op` of `len > 0` bytes
    ///      (`dst src len` in `r.top` from `r.skip`; all of it when `len <= CHUNK_BYTES`) as a copy
    ///      of `(dst + off, src + off, l)`, with `src` saturated to 64 bits and the source read from
    ///      the current roots; MCOPY with `dst > src` chunks from the end. True when it is the last
    ///      chunk.
    function _chunk(Run memory r, uint256 op, uint256 k) private pure returns (bool last) {
        uint256 s = r.skip;
        uint256 dst = r.top[s];
        uint256 src = r.top[s + 1];
        uint256 len = r.top[s + 2];
        uint256 off = k * CHUNK_BYTES;
        uint256 l;
        if (op == 0x5e && dst > src) {
            // Backward: chunk k ends `k * CHUNK_BYTES` bytes before the copy's end.
            uint256 end = len - off;
            off = end > CHUNK_BYTES ? end - CHUNK_BYTES : 0;
            l = end - off;
        } else {
            l = EvmFrame.min(CHUNK_BYTES, len - off);
        }
        r.e.memRoot = _write(r, r.e.memRoot, dst + off, _source(r, op, EvmFrame.min(src, MAX_U64) + off, l));
        return (k + 1) * CHUNK_BYTES >= len;
    }

    /// @dev KECCAK256 of `len > 0` bytes of memory at `offset` (the memory range is opened against
    ///      the root before the instruction; words past the old size are zero in it).
    function _hash(Run memory r, uint256 offset, uint256 len) private pure returns (bytes32 h) {
        bytes32[] memory words = _read(r, r.e.memRoot, offset, len);
        assembly ("memory-safe") {
            h := keccak256(add(add(words, 32), mod(offset, 32)), len)
        }
    }

    /// @dev The `len > 0` bytes a copy writes: call data, code or return data from `src`
    ///      (saturated to 64 bits; call data and code are zero past their end), or memory; zeros
    ///      for an EXTCODECOPY continuation (docs/evm-steps.md section 4, "EXTCODECOPY": its first
    ///      step refused a code longer than the chunk 0 this source starts past; no range opened).
    function _source(Run memory r, uint256 op, uint256 src, uint256 len) private pure returns (bytes memory data) {
        data = new bytes(len);
        if (op == 0x3c) return data;
        if (op == 0x39) {
            // CODECOPY: the code is in the witness.
            uint256 codeLen = r.code.length;
            if (src < codeLen) _copy(r.code, src, data, EvmFrame.min(len, codeLen - src));
            return data;
        }
        bytes32 root = r.e.memRoot;
        uint256 avail = len;
        if (op == 0x37) {
            uint256 size = r.e.calldataSize;
            if (src >= size) return data;
            root = r.e.calldataRoot;
            avail = EvmFrame.min(len, size - src);
        } else if (op == 0x3e) {
            root = r.e.returnDataRoot;
        }
        _readInto(r, root, src, data, avail);
    }

    /// @dev The words holding `len > 0` bytes at `offset` of `root`, opened by the next range.
    function _read(Run memory r, bytes32 root, uint256 offset, uint256 len) private pure returns (bytes32[] memory) {
        return _open(r, root, offset, len).words;
    }

    /// @dev The next range, which must open the words holding `len > 0` bytes at `offset` of `root`.
    function _open(Run memory r, bytes32 root, uint256 offset, uint256 len)
        private
        pure
        returns (EvmTypes.WordRange memory w)
    {
        w = _next(r, offset, len);
        (bool ok, bytes32 opened) = WordTree.rangeRoot(w.first, w.words, w.siblings);
        if (!ok || opened != root) revert WordProofMismatch(r.used - 1);
    }

    /// @dev Writes `data` at `offset` into the word tree `root` (the memory, or a callee's call data
    ///      being built): the next range opens the words it covers against `root`; returns the root
    ///      after.
    function _write(Run memory r, bytes32 root, uint256 offset, bytes memory data) private pure returns (bytes32) {
        EvmTypes.WordRange memory w = _open(r, root, offset, data.length);
        uint256 n = w.words.length;
        bytes32[] memory written = new bytes32[](n);
        assembly ("memory-safe") {
            let dst := add(written, 32)
            mcopy(dst, add(mload(add(w, 32)), 32), mul(n, 32))
            mcopy(add(dst, mod(offset, 32)), add(data, 32), mload(data))
        }
        // The same span and siblings as the range just opened: always a root.
        (, root) = WordTree.rangeRoot(w.first, written, w.siblings);
        return root;
    }

    /// @dev The next range, checked to span exactly the words of `len > 0` bytes at `offset`.
    function _next(Run memory r, uint256 offset, uint256 len) private pure returns (EvmTypes.WordRange memory w) {
        uint256 first = offset / 32;
        uint256 count = (offset + len - 1) / 32 - first + 1;
        if (count > MAX_RANGE_WORDS) revert UnsupportedStep(MachineState.IN_TX);
        uint256 i = r.used;
        if (i >= r.ranges.length) revert UnexpectedWords();
        w = r.ranges[i];
        if (w.first != first || w.words.length != count) revert UnexpectedWords();
        r.used = i + 1;
    }

    /// @dev Copies `n` bytes of `from` at `start` to the beginning of `to`.
    function _copy(bytes memory from, uint256 start, bytes memory to, uint256 n) private pure {
        assembly ("memory-safe") {
            mcopy(add(to, 32), add(add(from, 32), start), n)
        }
    }
}
