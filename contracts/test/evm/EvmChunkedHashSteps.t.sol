// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCopyVerifier} from "../../src/fault/evm/EvmCopyVerifier.sol";
import {KeccakSponge} from "../../src/fault/evm/KeccakSponge.sol";
import {EvmStepHelpers, RangeModel} from "./EvmStepHelpers.sol";

/// @title HashModel
/// @notice A plain model of chunked KECCAK256 (docs/evm-steps.md section 4) to check the verifier
///         against: the frame and its memory as bytes; for each step the witness and the expected
///         post-state, the intermediate sponge words from `KeccakSponge` over the bytes and the final
///         hash from the `keccak256` opcode, not from the verifier's code.
library HashModel {
    uint256 internal constant CHUNK = 32_736;
    uint256 internal constant H = 6528;

    /// @dev A frame at a KECCAK256 (or in the middle of one), its memory as bytes.
    struct Sim {
        MachineState.State s;
        EvmTypes.EvmState e;
        bytes code;
        uint256 offset;
        uint256 len;
        /// @dev The hash of the stack below `offset len`.
        bytes32 rest;
        /// @dev `e.memSize` bytes (memory never changes during a hash).
        bytes mem;
        /// @dev The sponge between steps (200 bytes).
        bytes sponge;
    }

    function steps(uint256 len) internal pure returns (uint256) {
        return len <= CHUNK ? 1 : (len + H - 1) / H;
    }

    function memoryCost(uint256 words) internal pure returns (uint256) {
        return 3 * words + words * words / 512;
    }

    /// @dev The seven stack words of a sponge: its 200 bytes then 24 zero bytes, big-endian.
    function spongeWords(bytes memory sponge) internal pure returns (uint256[] memory w) {
        bytes memory padded = bytes.concat(sponge, new bytes(24));
        w = new uint256[](7);
        for (uint256 i; i < 7; ++i) {
            uint256 v;
            assembly ("memory-safe") {
                v := mload(add(add(padded, 32), mul(i, 32)))
            }
            w[i] = v;
        }
    }

    /// @dev The items a step opens, top first: `offset len`, or `w0..w6 offset len` in a continuation.
    function top(Sim memory x) internal pure returns (uint256[] memory t) {
        if (x.e.pc >> 16 == 0) {
            t = new uint256[](2);
            (t[0], t[1]) = (x.offset, x.len);
            return t;
        }
        uint256[] memory w = spongeWords(x.sponge);
        t = new uint256[](9);
        for (uint256 i; i < 7; ++i) {
            t[i] = w[i];
        }
        (t[7], t[8]) = (x.offset, x.len);
    }

    function build(uint256[] memory t, bytes32 rest) internal pure returns (bytes32 h) {
        h = rest;
        for (uint256 i = t.length; i > 0; --i) {
            h = keccak256(abi.encodePacked(t[i - 1], h));
        }
    }

    /// @dev The witness of `x`'s next step with `ranges`.
    function witness(Sim memory x, EvmTypes.WordRange[] memory ranges) internal pure returns (bytes memory) {
        return abi.encode(uint8(2), abi.encode(x.e, x.code, top(x), x.rest, ranges));
    }

    /// @dev The range of chunk `k`: the memory words of `[offset + k H, offset + k H + l)`.
    function chunkRange(Sim memory x, uint256 k) internal pure returns (EvmTypes.WordRange[] memory r) {
        uint256 off = k * H;
        uint256 l = x.len - off < H ? x.len - off : H;
        uint256 a = x.offset + off;
        r = new EvmTypes.WordRange[](1);
        r[0] = RangeModel.range(x.mem, a / 32, (a + l - 1) / 32);
    }

    /// @dev The pre-state, the witness and the expected post-state hash of `x`'s next step; `x`
    ///      becomes the post-state.
    function next(Sim memory x) internal pure returns (bytes memory pre, bytes memory proof, bytes32 expected) {
        x.s.evm = EvmTypes.hash(x.e);
        pre = abi.encode(x.s);
        uint256 k = x.e.pc >> 16;
        proof = witness(x, chunkRange(x, k));
        EvmTypes.EvmState memory post = abi.decode(abi.encode(x.e), (EvmTypes.EvmState));
        uint256 p = post.pc & 0xffff;
        uint256 off = k * H;
        if (k == 0) {
            // The whole instruction's gas and memory expansion; chunk 0 into the zero state.
            uint256 cost = 30 + 6 * ((x.len + 31) / 32);
            uint256 w = (x.offset + x.len + 31) / 32;
            if (w * 32 > x.mem.length) {
                cost += memoryCost(w) - memoryCost(x.mem.length / 32);
                x.mem = bytes.concat(x.mem, new bytes(w * 32 - x.mem.length));
            }
            // forge-lint: disable-next-line(unsafe-typecast)
            post.gas -= uint64(cost);
            // forge-lint: disable-next-line(unsafe-typecast)
            post.memSize = uint32(x.mem.length);
            x.sponge = new bytes(200);
        }
        if (off + H >= x.len) {
            // The last chunk: the hash of the whole range, by the opcode.
            bytes memory all = new bytes(x.len);
            for (uint256 i; i < x.len; ++i) {
                all[i] = x.mem[x.offset + i];
            }
            post.stack = keccak256(abi.encodePacked(keccak256(all), x.rest));
            post.stackSize -= 8;
            // forge-lint: disable-next-line(unsafe-typecast)
            post.pc = uint32(p + 1);
        } else {
            KeccakSponge.absorb(x.sponge, x.mem, x.offset + off, H);
            uint256[] memory w = spongeWords(x.sponge);
            uint256[] memory t = new uint256[](9);
            for (uint256 i; i < 7; ++i) {
                t[i] = w[i];
            }
            (t[7], t[8]) = (x.offset, x.len);
            post.stack = build(t, x.rest);
            if (k == 0) post.stackSize += 7;
            // forge-lint: disable-next-line(unsafe-typecast)
            post.pc = uint32(p + ((k + 1) << 16));
        }
        x.e = post;
        x.s.evm = EvmTypes.hash(post);
        expected = MachineState.hash(x.s);
    }
}

/// @title EvmChunkedHashStepsTest
/// @notice KECCAK256 of more than `CHUNK_BYTES` bytes proven in chunks of `HASH_CHUNK_BYTES`
///         (docs/evm-steps.md section 4): every step against the plain model, the final stack against
///         the `keccak256` opcode, the states no trace has refused, and the worst step's gas.
contract EvmChunkedHashStepsTest is EvmStepHelpers {
    uint256 internal constant CHUNK = 32_736;
    uint256 internal constant H = 6528;
    uint256 internal constant BELOW = 0xdead;

    /// @dev A frame at a KECCAK256 of `len` bytes at `offset` (over the item `BELOW`), memory `mem`.
    function sim(uint256 offset, uint256 len, bytes memory mem) internal pure returns (HashModel.Sim memory x) {
        uint256[] memory stack = new uint256[](3);
        (stack[0], stack[1], stack[2]) = (BELOW, len, offset);
        Frame memory f = frame(op(0x20), stack);
        f.mem = mem;
        f.gas = 1_000_000;
        x.s = machine(f);
        x.e = state(f);
        x.code = f.code;
        (x.offset, x.len) = (offset, len);
        x.rest = keccak256(abi.encodePacked(BELOW, bytes32(0)));
        x.mem = mem;
    }

    /// @dev Runs the hash `x` is at to its end, every step checked; returns the steps taken.
    function run(HashModel.Sim memory x) internal view returns (uint256 count) {
        uint256 p = x.e.pc;
        do {
            (bytes memory pre, bytes memory proof, bytes32 expected) = HashModel.next(x);
            assertEq(verifier.step(pre, proof), expected, "hash step");
            ++count;
            if (x.e.pc != p + 1) {
                assertEq(x.e.pc, p + (count << 16), "chunk pc");
                assertEq(x.e.stackSize, 1 + 2 + 7, "nine items over the rest");
            }
        } while (x.e.pc != p + 1);
        assertEq(count, HashModel.steps(x.len), "steps");
        assertEq(x.e.stackSize, 2, "the hash over the rest");
    }

    /// @dev keccak256 of `len` bytes of `mem` at `offset` (zero past its end).
    function hashOf(bytes memory mem, uint256 offset, uint256 len) internal pure returns (bytes32) {
        bytes memory b = new bytes(len);
        for (uint256 i; i < len && offset + i < mem.length; ++i) {
            b[i] = mem[offset + i];
        }
        return keccak256(b);
    }

    function assertHashed(HashModel.Sim memory x, bytes32 h) internal pure {
        assertEq(x.e.stack, keccak256(abi.encodePacked(h, x.rest)), "hash on the stack");
    }

    // ------------------------------------------------------------------------------------------
    // Chunked hashes

    /// @notice 32,737 bytes at an unaligned offset: six steps (five full chunks, then 97 bytes).
    function test_hashOf32737BytesUnaligned() public view {
        bytes memory mem = pattern(33_024, 1);
        HashModel.Sim memory x = sim(5, 32_737, mem);
        assertEq(run(x), 6);
        assertHashed(x, hashOf(mem, 5, 32_737));
        // Memory is as long as before (the range was inside it) and the gas is the whole
        // instruction's, charged once.
        assertEq(x.e.memSize, 33_024);
        assertEq(x.e.gas, 1_000_000 - 30 - 6 * 1024);
    }

    /// @notice Exactly six chunks (39,168 bytes): the last chunk is full, so its padding is a block
    ///         of its own.
    function test_hashOfSixFullChunks() public view {
        bytes memory mem = pattern(39_168 + 64, 2);
        HashModel.Sim memory x = sim(64, 6 * H, mem);
        assertEq(run(x), 6);
        assertHashed(x, hashOf(mem, 64, 6 * H));
    }

    /// @notice About 100 KB, most of it past the memory's end: the first step grows the memory (and
    ///         charges it), the hash covers the zeros.
    function test_hashOf100KBGrowingMemory() public view {
        bytes memory mem = pattern(2048, 3);
        HashModel.Sim memory x = sim(1000, 100_000, mem);
        assertEq(run(x), 16);
        assertHashed(x, hashOf(mem, 1000, 100_000));
        uint256 words = 3157; // ceil(101,000 / 32)
        assertEq(x.e.memSize, words * 32);
        assertEq(x.e.gas, 1_000_000 - 30 - 6 * 3125 - (memoryCost(words) - memoryCost(64)));
    }

    /// @notice 32,736 bytes (1023 words) are one step as before; 32,737 to 32,768 bytes, one step
    ///         before chunking when aligned, are now chunked.
    function test_boundary() public {
        assertEq(new EvmCopyVerifier().HASH_CHUNK_BYTES(), H);
        bytes memory mem = pattern(32_800, 4);
        HashModel.Sim memory x = sim(7, CHUNK, mem);
        // One step: the range of the whole hash, the hash pushed.
        x.s.evm = EvmTypes.hash(x.e);
        bytes memory pre = abi.encode(x.s);
        bytes memory proof = abi.encode(
            uint8(2), abi.encode(x.e, x.code, HashModel.top(x), x.rest, ranges1(RangeModel.range(mem, 0, 1023)))
        );
        EvmTypes.EvmState memory post = abi.decode(abi.encode(x.e), (EvmTypes.EvmState));
        post.pc = 1;
        post.stackSize = 2;
        post.stack = keccak256(abi.encodePacked(hashOf(mem, 7, CHUNK), x.rest));
        post.gas -= 30 + 6 * 1023;
        MachineState.State memory s = copyState(x.s);
        s.evm = EvmTypes.hash(post);
        assertEq(verifier.step(pre, proof), MachineState.hash(s));
        x = sim(0, 32_768, mem);
        assertEq(run(x), 6);
        assertHashed(x, hashOf(mem, 0, 32_768));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    function stepExternal(bytes memory pre, bytes memory proof) external view returns (bytes32) {
        return verifier.step(pre, proof);
    }

    /// @dev Gas of one `step` call, from a fresh call frame (the test's own memory does not count).
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (bytes32 post, uint256 used) {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        used = before - gasleft();
    }

    function expectUnsupported() internal {
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    function clone(HashModel.Sim memory x) internal pure returns (HashModel.Sim memory) {
        return abi.decode(abi.encode(x), (HashModel.Sim));
    }

    /// @dev The hash of 32,737 bytes at 5 after `k` steps.
    function midHash(uint256 k) internal pure returns (HashModel.Sim memory x) {
        x = sim(5, 32_737, pattern(33_024, 5));
        for (uint256 i; i < k; ++i) {
            HashModel.next(x);
        }
    }

    /// @dev `y` with its items `t` (top first, over `y.rest`) in its frame: its pre-state and a
    ///      witness opening them, with `ranges`.
    function with(HashModel.Sim memory y, uint256[] memory t, EvmTypes.WordRange[] memory ranges)
        internal
        pure
        returns (bytes memory pre, bytes memory proof)
    {
        y.e.stack = HashModel.build(t, y.rest);
        y.s.evm = EvmTypes.hash(y.e);
        pre = abi.encode(y.s);
        proof = abi.encode(uint8(2), abi.encode(y.e, y.code, t, y.rest, ranges));
    }

    /// @notice A wrong sponge word is another state: the step proves another post-state (the
    ///         sponge's state is any 200 bytes), it does not revert; in the middle and at the end.
    function test_wrongSpongeWordGivesAnotherPostState() public view {
        for (uint256 k = 1; k <= 5; k += 4) {
            HashModel.Sim memory x = midHash(k);
            HashModel.Sim memory y = clone(x);
            (bytes memory pre, bytes memory proof, bytes32 expected) = HashModel.next(y);
            assertEq(this.stepExternal(pre, proof), expected);
            for (uint256 i; i < 7; i += 3) {
                uint256[] memory t = HashModel.top(x);
                t[i] ^= 1 << 200;
                (pre, proof) = with(clone(x), t, HashModel.chunkRange(x, k));
                bytes32 got = this.stepExternal(pre, proof);
                assertTrue(got != expected, "another state, another post-state");
                assertTrue(got != bytes32(0));
            }
        }
    }

    /// @notice A `w6` whose 24 bytes past the state are not zero: no trace has it.
    function test_nonzeroPaddingInW6Refused() public {
        HashModel.Sim memory x = midHash(2);
        uint256[] memory t = HashModel.top(x);
        t[6] |= 1;
        (bytes memory pre, bytes memory proof) = with(clone(x), t, HashModel.chunkRange(x, 2));
        expectUnsupported();
        this.stepExternal(pre, proof);
        t[6] = HashModel.top(x)[6] | (1 << 191);
        (pre, proof) = with(clone(x), t, HashModel.chunkRange(x, 2));
        expectUnsupported();
        this.stepExternal(pre, proof);
    }

    /// @notice Continuations no trace has: a chunk past the last, a hash of one step, fewer than nine
    ///         items.
    function test_wrongContinuationsRefused() public {
        HashModel.Sim memory x = midHash(5);
        // k = 6 = n: past the last chunk (its range the last chunk's, to reach the check).
        HashModel.Sim memory y = clone(x);
        y.e.pc = 6 << 16;
        (bytes memory pre, bytes memory proof) = with(y, HashModel.top(x), HashModel.chunkRange(x, 5));
        expectUnsupported();
        this.stepExternal(pre, proof);
        y.e.pc = 100 << 16;
        (pre, proof) = with(y, HashModel.top(x), HashModel.chunkRange(x, 5));
        expectUnsupported();
        this.stepExternal(pre, proof);

        // len = 32,736 (one step): no continuation.
        y = clone(midHash(1));
        uint256[] memory t = HashModel.top(y);
        t[8] = CHUNK;
        (pre, proof) = with(y, t, HashModel.chunkRange(y, 1));
        expectUnsupported();
        this.stepExternal(pre, proof);

        // The first step's two items only.
        y = clone(midHash(1));
        y.e.stackSize = 2;
        t = new uint256[](0);
        y.rest = keccak256(abi.encodePacked(uint256(5), keccak256(abi.encodePacked(uint256(32_737), y.rest))));
        y.e.stack = y.rest;
        y.s.evm = EvmTypes.hash(y.e);
        expectUnsupported();
        this.stepExternal(abi.encode(y.s), abi.encode(uint8(2), abi.encode(y.e, y.code, t, y.rest, noRanges())));

        // The items opened wrong.
        y = clone(midHash(1));
        t = HashModel.top(y);
        (pre,) = with(clone(y), t, HashModel.chunkRange(y, 1));
        t[7] = 6;
        proof = abi.encode(uint8(2), abi.encode(y.e, y.code, t, y.rest, HashModel.chunkRange(y, 1)));
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(pre, proof);
    }

    /// @notice A continuation's range must be its chunk's, word for word.
    function test_continuationRangeChecked() public {
        HashModel.Sim memory x = midHash(2);
        uint256[] memory t = HashModel.top(x);
        // Chunk 1's range, the whole hash's, none, two.
        (bytes memory pre, bytes memory proof) = with(clone(x), t, HashModel.chunkRange(x, 1));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
        (pre, proof) = with(clone(x), t, ranges1(RangeModel.range(x.mem, 0, 1023)));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
        (pre, proof) = with(clone(x), t, noRanges());
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
        EvmTypes.WordRange[] memory r = HashModel.chunkRange(x, 2);
        (pre, proof) = with(clone(x), t, ranges2(r[0], r[0]));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
        // A word changed.
        r[0].words[3] ^= bytes32(uint256(1));
        (pre, proof) = with(clone(x), t, r);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, proof);
        // The first step too: the whole range (one step before chunking) is not chunk 0's.
        HashModel.Sim memory y = sim(5, 32_737, x.mem);
        (pre, proof) = with(y, HashModel.top(y), ranges1(RangeModel.range(x.mem, 0, 1023)));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
    }

    /// @notice The first step out of gas (the whole instruction's gas, not a chunk's): an exceptional
    ///         halt, as before chunking.
    function test_firstStepOutOfGas() public view {
        uint256[] memory stack = new uint256[](3);
        (stack[0], stack[1], stack[2]) = (BELOW, 32_737, 5);
        Frame memory f = frame(op(0x20), stack);
        f.mem = pattern(32_736, 6);
        // 1024 words hashed, the memory grown from 1023 words to 1024.
        uint256 cost = 30 + 6 * 1024 + memoryCost(1024) - memoryCost(1023);
        f.gas = cost - 1;
        assertEq(step(f, rangeWitness(f, 2, noRanges())), halted(f, 3, 0));
        // With the gas it needs it goes on (chunk 0's range).
        f.gas = cost;
        HashModel.Sim memory x = sim(5, 32_737, f.mem);
        // forge-lint: disable-next-line(unsafe-typecast)
        x.e.gas = uint64(cost);
        x.s = machine(f);
        (bytes memory pre, bytes memory proof, bytes32 expected) = HashModel.next(x);
        assertEq(this.stepExternal(pre, proof), expected);
        assertEq(x.e.gas, 0);
    }

    /// @notice A hash's chunk state is only the copy verifier's: `EvmStepVerifier` (kind 1) refuses
    ///         a pc of 2^16 or more, also where a KECCAK256 would be if the pc were read whole.
    function test_chunkStateRefusedByStepVerifier() public {
        HashModel.Sim memory x = midHash(1);
        x.s.evm = EvmTypes.hash(x.e);
        bytes memory proof =
            abi.encode(uint8(1), abi.encode(x.e, x.code, HashModel.top(x), x.rest, noWords(), blockItem()));
        expectUnsupported();
        this.stepExternal(abi.encode(x.s), proof);
        bytes memory code = new bytes((1 << 16) + 1);
        code[0] = 0x20;
        code[1 << 16] = 0x20;
        x.code = code;
        x.e.codeHash = keccak256(code);
        x.s.evm = EvmTypes.hash(x.e);
        proof = abi.encode(uint8(1), abi.encode(x.e, x.code, HashModel.top(x), x.rest, noWords(), blockItem()));
        expectUnsupported();
        this.stepExternal(abi.encode(x.s), proof);
    }

    // ------------------------------------------------------------------------------------------
    // Gas

    /// @notice The worst hash step: a full chunk (48 blocks) at an unaligned offset, 205 words opened,
    ///         in the middle of a hash, and the last chunk full (48 blocks and a block of padding).
    ///         Both must stay under the L1 target of 5 million gas.
    function test_gasOfWorstStep() public {
        HashModel.Sim memory x = sim(5, 6 * H, pattern(6 * H + 64, 7));
        for (uint256 k; k < 6; ++k) {
            (bytes memory pre, bytes memory proof, bytes32 expected) = HashModel.next(x);
            (bytes32 post, uint256 used) = this.gasOfStep(pre, proof);
            assertEq(post, expected);
            if (k == 0) {
                (, bytes memory body) = abi.decode(proof, (uint8, bytes));
                (,,,, EvmTypes.WordRange[] memory r) =
                    abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordRange[]));
                assertEq(r[0].words.length, 205);
            }
            if (k == 1 || k == 5) {
                emit log_named_uint(k == 1 ? "full chunk step: gas" : "last full chunk step: gas", used);
                emit log_named_uint("its calldata (bytes)", pre.length + proof.length);
                assertLt(used, 5_000_000);
            }
        }
    }
}
