// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OneStepVerifier} from "../../src/fault/OneStepVerifier.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCopyVerifier} from "../../src/fault/evm/EvmCopyVerifier.sol";
import {EvmStateVerifier} from "../../src/fault/evm/EvmStateVerifier.sol";
import {EvmCallVerifier} from "../../src/fault/evm/EvmCallVerifier.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {EvmStepHelpers, RangeModel, WordModel} from "./EvmStepHelpers.sol";

/// @dev A plain model of chunked copies (docs/evm-steps.md section 4): the frame, its memory and its
///      sources as bytes; for each step the witness and the expected post-state, computed from the
///      bytes (the memory root with `WordModel`), not from the verifier's code.
library ChunkModel {
    uint256 internal constant CHUNK = 32_736;
    uint256 internal constant MAX_U64 = type(uint64).max;

    /// @dev A frame at a copy (or in the middle of one), with everything it reads as bytes.
    struct Sim {
        MachineState.State s;
        EvmTypes.EvmState e;
        bytes code;
        /// @dev The copy's items, top first (`dst src len`), and the rest of the stack's hash.
        uint256[] top;
        bytes32 rest;
        /// @dev `e.memSize` bytes.
        bytes mem;
        bytes data;
        bytes ret;
    }

    /// @dev Chunk `k`'s offset and length inside the copy.
    function span(uint256 op, uint256 dst, uint256 src, uint256 len, uint256 k)
        internal
        pure
        returns (uint256 off, uint256 l)
    {
        if (op == 0x5e && dst > src) {
            uint256 end = len - k * CHUNK;
            off = end > CHUNK ? end - CHUNK : 0;
            l = end - off;
        } else {
            off = k * CHUNK;
            l = len - off < CHUNK ? len - off : CHUNK;
        }
    }

    function steps(uint256 len) internal pure returns (uint256) {
        return len <= CHUNK ? 1 : (len + CHUNK - 1) / CHUNK;
    }

    function memoryCost(uint256 words) internal pure returns (uint256) {
        return 3 * words + words * words / 512;
    }

    /// @dev `l` bytes of `b` from `from`, zero past its end.
    function slice(bytes memory b, uint256 from, uint256 l) internal pure returns (bytes memory out) {
        out = new bytes(l);
        if (from >= b.length) return out;
        uint256 n = b.length - from < l ? b.length - from : l;
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(b, 32), from), n)
        }
    }

    /// @dev The pre-state's encoding, the witness and the expected post-state hash of the next step
    ///      of the copy `x` is at (its first when `x.e.pc < 2^16`); `x` becomes the post-state.
    function next(Sim memory x) internal pure returns (bytes memory pre, bytes memory proof, bytes32 expected) {
        x.s.evm = EvmTypes.hash(x.e);
        pre = abi.encode(x.s);
        uint256 k = x.e.pc >> 16;
        uint256 op = uint8(x.code[x.e.pc & 0xffff]);
        (bytes memory mem, uint256 cost) = grownFor(x, op, k);
        (uint256 off, uint256 l) = span(op, x.top[0], x.top[1], x.top[2], k);
        uint256 d = x.top[0] + off;
        (EvmTypes.WordRange[] memory ranges, bytes memory copied) = source(x, op, mem, off, l);
        ranges[ranges.length - 1] = RangeModel.range(mem, d / 32, (d + l - 1) / 32);
        proof = witness(x, ranges);
        for (uint256 i; i < l; ++i) {
            mem[d + i] = copied[i];
        }
        expected = advance(x, mem, cost, k);
    }

    /// @dev The stage-2 witness of `x` with `ranges`.
    function witness(Sim memory x, EvmTypes.WordRange[] memory ranges) internal pure returns (bytes memory) {
        return abi.encode(uint8(2), abi.encode(x.e, x.code, x.top, x.rest, ranges));
    }

    /// @dev A copy of the memory, grown by the first step (`k == 0`), and the step's gas.
    function grownFor(Sim memory x, uint256 op, uint256 k) internal pure returns (bytes memory mem, uint256 cost) {
        mem = bytes.concat(x.mem);
        if (k != 0) return (mem, 0);
        (uint256 dst, uint256 src, uint256 len) = (x.top[0], x.top[1], x.top[2]);
        cost = 3 + 3 * ((len + 31) / 32);
        uint256 at = op == 0x5e && src > dst ? src : dst;
        uint256 words = (at + len + 31) / 32;
        if (words * 32 > mem.length) {
            cost += memoryCost(words) - memoryCost(mem.length / 32);
            mem = bytes.concat(mem, new bytes(words * 32 - mem.length));
        }
    }

    /// @dev The ranges of chunk `(off, l)` with its source range (if any) filled and a last slot for
    ///      the destination's, and the bytes it copies.
    function source(Sim memory x, uint256 op, bytes memory mem, uint256 off, uint256 l)
        internal
        pure
        returns (EvmTypes.WordRange[] memory ranges, bytes memory copied)
    {
        uint256 s = (x.top[1] > MAX_U64 ? MAX_U64 : x.top[1]) + off;
        if (op == 0x39) {
            ranges = new EvmTypes.WordRange[](1);
            return (ranges, slice(x.code, s, l));
        }
        bytes memory from = op == 0x37 ? x.data : op == 0x3e ? x.ret : mem;
        copied = slice(from, s, l);
        if (op == 0x37 && s >= from.length) return (new EvmTypes.WordRange[](1), copied);
        uint256 end = s + l;
        if (op == 0x37 && end > from.length) end = from.length;
        ranges = new EvmTypes.WordRange[](2);
        ranges[0] = RangeModel.range(from, s / 32, (end - 1) / 32);
    }

    /// @dev `x` after the step (memory `mem`, gas `cost`, chunk `k` copied); the post-state's hash.
    function advance(Sim memory x, bytes memory mem, uint256 cost, uint256 k) internal pure returns (bytes32) {
        EvmTypes.EvmState memory post = abi.decode(abi.encode(x.e), (EvmTypes.EvmState));
        uint256 p = post.pc & 0xffff;
        x.mem = mem;
        // forge-lint: disable-next-line(unsafe-typecast)
        post.memSize = uint32(mem.length);
        post.memRoot = WordModel.root(mem);
        // forge-lint: disable-next-line(unsafe-typecast)
        post.gas -= uint64(cost);
        if ((k + 1) * CHUNK >= x.top[2]) {
            // forge-lint: disable-next-line(unsafe-typecast)
            post.pc = uint32(p + 1);
            post.stack = x.rest;
            post.stackSize -= 3;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            post.pc = uint32(p + ((k + 1) << 16));
        }
        x.e = post;
        x.s.evm = EvmTypes.hash(post);
        return MachineState.hash(x.s);
    }
}

/// @notice Copies of more than `CHUNK_BYTES` bytes (CALLDATACOPY, CODECOPY, RETURNDATACOPY, MCOPY)
///         chunked into several steps (docs/evm-steps.md section 4): every step against the plain
///         model, the final memory against the copy computed as bytes, and the chunk states the other
///         verifiers and a wrong continuation refuse.
contract EvmChunkedCopyStepsTest is EvmStepHelpers {
    uint256 internal constant CHUNK = 32_736;

    function sim(Frame memory f) internal pure returns (ChunkModel.Sim memory x) {
        x.s = machine(f);
        x.e = state(f);
        x.code = f.code;
        (x.top, x.rest) = opening(f, 3);
        x.mem = f.mem;
        x.data = f.data;
    }

    /// @dev Runs the copy `x` is at to its end, every step checked; returns the steps taken.
    function run(ChunkModel.Sim memory x) internal view returns (uint256 count) {
        uint256 p = x.e.pc;
        do {
            (bytes memory pre, bytes memory proof, bytes32 expected) = ChunkModel.next(x);
            assertEq(verifier.step(pre, proof), expected, "chunk step");
            ++count;
            if (x.e.pc != p + 1) assertEq(x.e.pc, p + (count << 16), "chunk pc");
        } while (x.e.pc != p + 1);
        assertEq(count, ChunkModel.steps(x.top[2]), "steps");
    }

    /// @dev `mem` grown to cover `dst + data.length` (words) with `data` written at `dst`.
    function writtenAt(bytes memory mem, uint256 dst, bytes memory data) internal pure returns (bytes memory out) {
        out = grown(mem, (dst + data.length + 31) / 32 * 32);
        for (uint256 i; i < data.length; ++i) {
            out[dst + i] = data[i];
        }
    }

    /// @dev memmove of `len` bytes from `src` to `dst` (both inside `mem` grown as MCOPY grows it).
    function memmove(bytes memory mem, uint256 dst, uint256 src, uint256 len) internal pure returns (bytes memory) {
        uint256 at = dst > src ? dst : src;
        bytes memory m = grown(mem, (at + len + 31) / 32 * 32);
        bytes memory data = new bytes(len);
        for (uint256 i; i < len; ++i) {
            data[i] = m[src + i];
        }
        return writtenAt(m, dst, data);
    }

    // ------------------------------------------------------------------------------------------
    // Chunked copies

    /// @notice 40,000 bytes of call data from 100 (30,000 bytes of it): chunk 0 reads the call data
    ///         to its end then zeros, chunk 1 only zeros (no source range).
    function test_calldatacopyTwoChunks() public {
        Frame memory f = frame(op(0x37), three(5, 100, 40_000));
        f.mem = pattern(100, 1);
        f.mem = grown(f.mem, 128);
        f.data = pattern(30_000, 2);
        ChunkModel.Sim memory x = sim(f);
        assertEq(run(x), 2);
        assertEq(x.mem, writtenAt(f.mem, 5, ChunkModel.slice(f.data, 100, 40_000)));
        // The whole instruction's gas at the first step, nothing after.
        uint256 words = 1251; // (5 + 40,000) bytes
        assertEq(x.e.gas, f.gas - 3 - 3 * 1250 - (memoryCost(words) - memoryCost(4)));
        assertEq(x.e.stackSize, 0);
    }

    /// @notice MCOPY with dst > src overlapping, 3 chunks, copied from the end: the final memory is
    ///         the memmove of the original.
    function test_mcopyBackwardOverlappingThreeChunks() public {
        uint256 len = 2 * CHUNK + 1000;
        Frame memory f = frame(op(0x5e), three(1000, 0, len));
        f.mem = pattern(60_000, 3);
        ChunkModel.Sim memory x = sim(f);
        assertEq(run(x), 3);
        assertEq(x.mem, memmove(f.mem, 1000, 0, len));
        // Forward chunks would have read bytes chunk 0 wrote: the result would differ.
        bytes memory forward = grown(f.mem, x.mem.length);
        forward = writtenAt(forward, 1000, ChunkModel.slice(forward, 0, CHUNK));
        forward = writtenAt(forward, 1000 + CHUNK, ChunkModel.slice(forward, CHUNK, CHUNK));
        forward = writtenAt(forward, 1000 + 2 * CHUNK, ChunkModel.slice(forward, 2 * CHUNK, 1000));
        assertTrue(keccak256(forward) != keccak256(x.mem));
    }

    /// @notice MCOPY with dst < src overlapping: forward chunks, the memmove of the original.
    function test_mcopyForwardOverlapping() public {
        uint256 len = CHUNK + 5000;
        Frame memory f = frame(op(0x5e), three(3, 1000, len));
        f.mem = pattern(40_000, 4);
        ChunkModel.Sim memory x = sim(f);
        assertEq(run(x), 2);
        assertEq(x.mem, memmove(f.mem, 3, 1000, len));
    }

    /// @notice CODECOPY of 40,100 bytes from 1 of a 40,001-byte code: zeros past its end.
    function test_codecopyTwoChunks() public {
        bytes memory code = bytes.concat(op(0x39), pattern(40_000, 5));
        Frame memory f = frame(code, three(64, 1, 40_100));
        ChunkModel.Sim memory x = sim(f);
        assertEq(run(x), 2);
        assertEq(x.mem, writtenAt("", 64, ChunkModel.slice(code, 1, 40_100)));
    }

    /// @notice RETURNDATACOPY of 39,990 bytes from 10 of 40,000 bytes of return data.
    function test_returndatacopyTwoChunks() public {
        Frame memory f = frame(op(0x3e), three(31, 10, 39_990));
        f.returnDataSize = 40_000;
        ChunkModel.Sim memory x = sim(f);
        x.ret = pattern(40_000, 6);
        x.e.returnDataRoot = WordModel.root(x.ret);
        assertEq(run(x), 2);
        assertEq(x.mem, writtenAt("", 31, ChunkModel.slice(x.ret, 10, 39_990)));
    }

    /// @notice `CHUNK_BYTES` bytes are one step (as before chunking); one byte more are two.
    function test_chunkBoundary() public {
        assertEq(new EvmCopyVerifier().CHUNK_BYTES(), CHUNK);
        Frame memory f = frame(op(0x37), three(1, 2, CHUNK));
        f.data = pattern(CHUNK + 10, 7);
        ChunkModel.Sim memory x = sim(f);
        assertEq(run(x), 1);
        assertEq(x.mem, writtenAt("", 1, ChunkModel.slice(f.data, 2, CHUNK)));
        f.stack = three(1, 2, CHUNK + 1);
        x = sim(f);
        assertEq(run(x), 2);
        assertEq(x.mem, writtenAt("", 1, ChunkModel.slice(f.data, 2, CHUNK + 1)));
        // MCOPY backward at the boundary: the first chunk is the last CHUNK bytes, the second one byte.
        f = frame(op(0x5e), three(40, 0, CHUNK + 1));
        f.mem = pattern(64, 8);
        x = sim(f);
        assertEq(run(x), 2);
        assertEq(x.mem, memmove(f.mem, 40, 0, CHUNK + 1));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @dev The frame of chunk 1 of a 2-chunk CALLDATACOPY, with its witness.
    function midCopy() internal pure returns (ChunkModel.Sim memory x) {
        Frame memory f = frame(op(0x37), three(0, 0, CHUNK + 64));
        f.data = pattern(100, 9);
        x = sim(f);
        ChunkModel.next(x);
    }

    /// @dev Gas of one `step` call, from a fresh call frame (the test's own memory does not count).
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (bytes32 post, uint256 used) {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        used = before - gasleft();
    }

    function stepExternal(bytes memory pre, bytes memory proof) external view returns (bytes32) {
        return verifier.step(pre, proof);
    }

    function expectUnsupported() internal {
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @dev A code whose byte 0 and byte 2^16 are `opcode`: a frame at pc 2^16 would run it if
    ///      its pc were read whole.
    function codeAtChunkPc(uint8 opcode) internal pure returns (bytes memory code) {
        code = new bytes((1 << 16) + 1);
        code[0] = bytes1(opcode);
        code[1 << 16] = bytes1(opcode);
    }

    /// @notice A chunk state is only the copy verifier's: kind 1 (STOP, ADD), kind 3 (SLOAD) and
    ///         kind 4 (CALL) refuse it.
    function test_chunkStateRefusedByOtherVerifiers() public {
        // Kind 1: STOP past the end of the code, and an ADD the pc would reach read whole.
        Frame memory f = frame(op(0x01), three(1, 2, 3));
        f.pc = 1 << 16;
        expectUnsupported();
        this.stepExternal(abi.encode(machine(f)), witness(f, 0, noWords()));
        f.code = codeAtChunkPc(0x01);
        expectUnsupported();
        this.stepExternal(abi.encode(machine(f)), witness(f, 2, noWords()));
        f.pc = 0;
        assertTrue(this.stepExternal(abi.encode(machine(f)), witness(f, 2, noWords())) != bytes32(0));

        // Kind 3: SLOAD.
        f = frame(codeAtChunkPc(0x54), one(7));
        f.pc = 1 << 16;
        EvmStateVerifier.StateWitness memory sw;
        (uint256[] memory top, bytes32 rest) = opening(f, 1);
        bytes memory proof = abi.encode(uint8(3), abi.encode(state(f), f.code, top, rest, sw, blockItem()));
        expectUnsupported();
        this.stepExternal(abi.encode(machine(f)), proof);

        // Kind 4: a CALL at pc `p + (1 << 16)` is a call step after its arguments' steps (a tree on
        // top of its seven items), refused when its arguments are not over a chunk (here none).
        uint256[] memory items = new uint256[](8);
        items[7] = uint256(WordTree.EMPTY_ROOT); // bottom first: the tree on top
        f = frame(codeAtChunkPc(0xf1), items);
        f.pc = 1 << 16;
        EvmCallVerifier.CallWitness memory cw;
        (cw.warmSlots, cw.transientStorage, cw.warmAccounts) =
        (MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT);
        (top, rest) = opening(f, 8);
        proof = abi.encode(uint8(4), abi.encode(state(f), f.code, top, rest, cw, blockItem()));
        expectUnsupported();
        this.stepExternal(abi.encode(machine(f)), proof);
    }

    /// @dev A continuation of `x` with its frame changed: its pre-state and a witness with the ranges of
    ///      the honest continuation.
    function continuation(ChunkModel.Sim memory x) internal pure returns (bytes memory pre, bytes memory proof) {
        ChunkModel.Sim memory y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        (pre, proof,) = ChunkModel.next(y);
    }

    /// @notice Continuations no trace has: a chunk past the last, a non-copy at `p`, a copy that is not
    ///         chunked, a stack of fewer than 3 items.
    function test_wrongContinuationsRevert() public {
        ChunkModel.Sim memory x = midCopy();
        (bytes memory pre, bytes memory proof) = continuation(x);
        assertTrue(this.stepExternal(pre, proof) != bytes32(0));

        // k = n = 2.
        ChunkModel.Sim memory y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        y.e.pc = 2 << 16;
        (pre, proof) = witnessOf(y, 3);
        expectUnsupported();
        this.stepExternal(pre, proof);

        // ADD and KECCAK256 at p (a hash continuation, which needs nine items: three are too few).
        y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        y.code = op(0x01);
        y.e.codeHash = keccak256(y.code);
        (pre, proof) = witnessOf(y, 3);
        expectUnsupported();
        this.stepExternal(pre, proof);
        y.code = op(0x20);
        y.e.codeHash = keccak256(y.code);
        (pre, proof) = witnessOf(y, 0);
        expectUnsupported();
        this.stepExternal(pre, proof);

        // len = CHUNK_BYTES (one step only): no chunk 1.
        y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        y.top[2] = CHUNK;
        y.e.stack = keccak256(
            abi.encodePacked(
                y.top[0], keccak256(abi.encodePacked(y.top[1], keccak256(abi.encodePacked(y.top[2], y.rest))))
            )
        );
        (pre, proof) = witnessOf(y, 3);
        expectUnsupported();
        this.stepExternal(pre, proof);

        // Two items on the stack.
        y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        y.e.stackSize = 2;
        y.top = new uint256[](0);
        (pre, proof) = witnessOf(y, 0);
        expectUnsupported();
        this.stepExternal(pre, proof);

        // The items opened wrong.
        y = abi.decode(abi.encode(x), (ChunkModel.Sim));
        y.top[0] = 1;
        (pre, proof) = witnessOf(y, 3);
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(pre, proof);
    }

    /// @dev The pre-state of `y` and a witness opening its first `reads` items, with no ranges.
    function witnessOf(ChunkModel.Sim memory y, uint256 reads)
        internal
        pure
        returns (bytes memory pre, bytes memory proof)
    {
        y.s.evm = EvmTypes.hash(y.e);
        pre = abi.encode(y.s);
        uint256[] memory top = new uint256[](reads);
        for (uint256 i; i < reads; ++i) {
            top[i] = y.top[i];
        }
        proof = abi.encode(uint8(2), abi.encode(y.e, y.code, top, y.rest, new EvmTypes.WordRange[](0)));
    }

    /// @notice A continuation's ranges are checked as a first step's: a word changed, a range missing,
    ///         a range too many, another span.
    function test_continuationRangesChecked() public {
        ChunkModel.Sim memory x = midCopy();
        (bytes memory pre, bytes memory proof) = continuation(x);
        (uint8 kind, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (
            EvmTypes.EvmState memory e,
            bytes memory code,
            uint256[] memory top,
            bytes32 rest,
            EvmTypes.WordRange[] memory ranges
        ) = abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordRange[]));
        assertEq(kind, 2);
        // Chunk 1 reads no call data (it is past its end): one range, the destination.
        assertEq(ranges.length, 1);
        assertEq(ranges[0].first, CHUNK / 32);

        EvmTypes.WordRange memory bad = abi.decode(abi.encode(ranges[0]), (EvmTypes.WordRange));
        bad.words[0] ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, abi.encode(uint8(2), abi.encode(e, code, top, rest, ranges1(bad))));

        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, abi.encode(uint8(2), abi.encode(e, code, top, rest, noRanges())));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, abi.encode(uint8(2), abi.encode(e, code, top, rest, ranges2(ranges[0], ranges[0]))));

        // The span of the whole copy (the step before chunking) instead of chunk 1's.
        bytes memory mem = grown(x.mem, 0);
        bad = RangeModel.range(mem, 0, (CHUNK + 63) / 32);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, abi.encode(uint8(2), abi.encode(e, code, top, rest, ranges1(bad))));

        // The first step with the ranges of the whole copy (as before chunking).
        Frame memory f = frame(op(0x37), three(0, 0, CHUNK + 64));
        f.data = pattern(100, 9);
        proof = rangeWitness(
            f, 3, ranges2(RangeModel.range(f.data, 0, 3), RangeModel.range(new bytes(CHUNK + 64), 0, (CHUNK + 63) / 32))
        );
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(abi.encode(machine(f)), proof);
    }

    /// @notice KECCAK256 over 1024 words is chunked too (test/evm/EvmChunkedHashSteps.t.sol): its first
    ///         step needs chunk 0's range, not none.
    function test_keccakOf1025WordsIsChunked() public {
        Frame memory f = frame(op(0x20), two(0, 1025 * 32));
        f.gas = 1_000_000;
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(abi.encode(machine(f)), rangeWitness(f, 2, noRanges()));
        // A continuation needs its nine items: `offset len` alone are too few.
        f.pc = 1 << 16;
        expectUnsupported();
        this.stepExternal(abi.encode(machine(f)), rangeWitness(f, 9, noRanges()));
    }

    /// @notice Gas of the largest copy step: a chunk of 1023 words read and 1023 written (the first
    ///         step of an MCOPY of 1024 words, backward).
    function test_gasOfFullChunk() public {
        Frame memory f = frame(op(0x5e), three(1024 * 32, 0, 1024 * 32));
        f.mem = pattern(2048 * 32, 10);
        f.gas = 1_000_000;
        ChunkModel.Sim memory x = sim(f);
        (bytes memory pre, bytes memory proof, bytes32 expected) = ChunkModel.next(x);
        (bytes32 post, uint256 used) = this.gasOfStep(pre, proof);
        assertEq(post, expected);
        emit log_named_uint("MCOPY chunk of 1023 words: gas of OneStepVerifier.step", used);
        emit log_named_uint("its calldata (bytes)", pre.length + proof.length);
    }
}
