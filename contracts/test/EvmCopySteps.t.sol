// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {WordTree} from "../src/fault/evm/WordTree.sol";
import {EvmStepHelpers, RangeModel, WordModel} from "./evm/EvmStepHelpers.sol";
import {KeccakSponge} from "../src/fault/evm/KeccakSponge.sol";

/// @notice Stage 2 of docs/evm-steps.md (KECCAK256 and the copies, kind 2) on hand-built frames:
///         results, gas and memory against a plain model, and every way a witness can be wrong.
///         The Rust fixtures (EvmFixtures.t.sol) and the differential fuzzer
///         (core/tests/it/evm_step_fuzz.rs) check the same steps against revm.
contract EvmCopyStepsTest is EvmStepHelpers {
    /// @dev Memory of `words` words, every byte distinct.
    function pattern(uint256 words) internal pure returns (bytes memory m) {
        m = new bytes(words * 32);
        for (uint256 i; i < m.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            m[i] = bytes1(uint8(i * 7 + 1));
        }
    }

    function slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = from + i < b.length ? b[from + i] : bytes1(0);
        }
    }

    function written(bytes memory mem, uint256 offset, bytes memory data) internal pure returns (bytes memory out) {
        out = grown(mem, (offset + data.length + 31) & ~uint256(31));
        for (uint256 i; i < data.length; ++i) {
            out[offset + i] = data[i];
        }
    }

    /// @dev The frame after a copy of `data` to `dst` costing `cost`.
    function afterCopy(Frame memory pre, uint256 dst, bytes memory data, uint256 cost)
        internal
        pure
        returns (Frame memory post)
    {
        post = copy(pre);
        post.stack = popped(pre.stack, 3);
        post.mem = data.length == 0 ? pre.mem : written(pre.mem, dst, data);
        post.pc = pre.pc + 1;
        post.gas = pre.gas - cost;
    }

    function test_keccak256() public view {
        Frame memory pre = frame(op(0x20), two(13, 50));
        pre.mem = pattern(3);
        Frame memory post = copy(pre);
        post.stack = one(uint256(keccak256(slice(pre.mem, 13, 50))));
        post.pc = 1;
        // 30 + 6 per word of the length; the memory is large enough.
        post.gas = pre.gas - 30 - 12;
        bytes memory proof = rangeWitness(pre, 2, ranges1(RangeModel.range(pre.mem, 0, 1)));
        assertEq(step(pre, proof), continued(pre, post));

        // Past the memory's end: it grows (zero words), and the hash covers the zeros.
        pre.stack = two(80, 40);
        post.stack = one(uint256(keccak256(slice(pre.mem, 80, 40))));
        post.mem = grown(pre.mem, 128);
        post.gas = pre.gas - 30 - 12 - (memoryCost(4) - memoryCost(3));
        proof = rangeWitness(pre, 2, ranges1(RangeModel.range(pre.mem, 2, 3)));
        assertEq(step(pre, proof), continued(pre, post));

        // Empty: the empty hash, no range, no expansion even at a huge offset.
        pre.stack = two(type(uint256).max, 0);
        post.stack = one(uint256(keccak256("")));
        post.mem = pre.mem;
        post.gas = pre.gas - 30;
        assertEq(step(pre, rangeWitness(pre, 2, noRanges())), continued(pre, post));
    }

    function test_calldatacopy() public view {
        Frame memory pre = frame(op(0x37), three(7, 50, 64));
        pre.mem = pattern(2);
        pre.data = pattern(3);
        pre.data = slice(pre.data, 0, 70);
        // 64 bytes from 50 of 70 bytes of call data: 20 bytes, then zeros.
        bytes memory data = slice(pre.data, 50, 64);
        Frame memory post = afterCopy(pre, 7, data, 3 + 6 + (memoryCost(3) - memoryCost(2)));
        bytes memory proof =
            rangeWitness(pre, 3, ranges2(RangeModel.range(pre.data, 1, 2), RangeModel.range(pre.mem, 0, 2)));
        assertEq(step(pre, proof), continued(pre, post));

        // Wholly past the call data: zeros, no source range.
        pre.stack = three(0, 1000, 5);
        post = afterCopy(pre, 0, new bytes(5), 3 + 3);
        proof = rangeWitness(pre, 3, ranges1(RangeModel.range(pre.mem, 0, 0)));
        assertEq(step(pre, proof), continued(pre, post));
    }

    function test_codecopyAndMcopy() public view {
        bytes memory code = bytes.concat(op(0x39), hex"0102030405060708090a");
        Frame memory pre = frame(code, three(31, 5, 33));
        pre.mem = pattern(2);
        // 33 bytes of code from 5: 6 bytes of code, then zeros, into words 0 and 1.
        Frame memory post = afterCopy(pre, 31, slice(code, 5, 33), 3 + 6);
        assertEq(step(pre, rangeWitness(pre, 3, ranges1(RangeModel.range(pre.mem, 0, 1)))), continued(pre, post));

        // MCOPY overlapping forward: the source as it was before the copy.
        pre = frame(op(0x5e), three(16, 0, 80));
        pre.mem = pattern(4);
        post = afterCopy(pre, 16, slice(pre.mem, 0, 80), 3 + 9);
        bytes memory proof =
            rangeWitness(pre, 3, ranges2(RangeModel.range(pre.mem, 0, 2), RangeModel.range(pre.mem, 0, 2)));
        assertEq(step(pre, proof), continued(pre, post));
    }

    function test_halts() public view {
        // RETURNDATACOPY past the return data halts, even when empty.
        Frame memory pre = frame(op(0x3e), three(0, 1, 0));
        assertEq(step(pre, rangeWitness(pre, 3, noRanges())), halted(pre, 3, 0));
        // KECCAK256 whose word cost exceeds the gas.
        pre = frame(op(0x20), two(0, 1 << 40));
        assertEq(step(pre, rangeWitness(pre, 2, noRanges())), halted(pre, 3, 0));
        // A length past 64 bits, an MCOPY offset past 64 bits.
        pre = frame(op(0x37), three(0, 0, 1 << 64));
        assertEq(step(pre, rangeWitness(pre, 3, noRanges())), halted(pre, 3, 0));
        pre = frame(op(0x5e), three(0, 1 << 64, 1));
        assertEq(step(pre, rangeWitness(pre, 3, noRanges())), halted(pre, 3, 0));
        // Stack underflow: no items opened.
        pre = frame(op(0x39), two(1, 2));
        assertEq(step(pre, rangeWitness(pre, 3, noRanges())), halted(pre, 3, 0));
    }

    function test_wrongWitnesses() public {
        Frame memory pre = frame(op(0x20), two(13, 50));
        pre.mem = pattern(3);
        EvmTypes.WordRange memory good = RangeModel.range(pre.mem, 0, 1);

        // A word changed.
        EvmTypes.WordRange memory bad = RangeModel.range(pre.mem, 0, 1);
        bad.words[1] ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, rangeWitness(pre, 2, ranges1(bad)));

        // A sibling too many.
        bad = RangeModel.range(pre.mem, 0, 1);
        bytes32[] memory more = new bytes32[](bad.siblings.length + 1);
        for (uint256 i; i < bad.siblings.length; ++i) {
            more[i] = bad.siblings[i];
        }
        bad.siblings = more;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, rangeWitness(pre, 2, ranges1(bad)));

        // Another span, a missing range, a range too many.
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, rangeWitness(pre, 2, ranges1(RangeModel.range(pre.mem, 0, 2))));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, rangeWitness(pre, 2, noRanges()));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, rangeWitness(pre, 2, ranges2(good, good)));

        // A stage-1 witness of a stage-2 instruction, and the other way round.
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        this.stepExternal(pre, witness(pre, 2, noWords()));
        Frame memory add = frame(op(0x01), two(1, 2));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        this.stepExternal(add, rangeWitness(add, 2, noRanges()));

        // The stack opening.
        bytes memory proof = rangeWitness(pre, 2, ranges1(good));
        Frame memory other = copy(pre);
        other.stack = two(14, 50);
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(pre, rangeWitnessOpening(pre, other, ranges1(good)));
        assertTrue(step(pre, proof) != bytes32(0));
    }

    /// @notice A copy or a KECCAK256 of more than `CHUNK_BYTES` bytes is no longer refused: it is
    ///         chunked (test/evm/EvmChunkedCopySteps.t.sol, EvmChunkedHashSteps.t.sol), its first step
    ///         charging the whole instruction and copying the first `CHUNK_BYTES` bytes, or absorbing
    ///         the first `HASH_CHUNK_BYTES` into keccak's sponge.
    function test_rangesTooLargeAreChunked() public {
        // A CALLDATACOPY of 1025 words (no call data: zeros): chunk 0, 1023 words, and the pc of chunk 1.
        Frame memory c = frame(op(0x37), three(0, 0, 1025 * 32));
        c.gas = 1_000_000;
        Frame memory cPost = copy(c);
        cPost.mem = new bytes(1025 * 32);
        cPost.pc = 1 << 16;
        cPost.gas = c.gas - 3 - 3 * 1025 - memoryCost(1025);
        assertEq(step(c, rangeWitness(c, 3, ranges1(RangeModel.range(cPost.mem, 0, 1022)))), continued(c, cPost));
        // The ranges of the whole copy (one step before chunking) are refused.
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(c, rangeWitness(c, 3, ranges1(RangeModel.range(cPost.mem, 0, 1024))));

        // A KECCAK256 of 1024 words and a byte: chunk 0 (6,528 zero bytes) absorbed, the sponge's seven
        // words pushed over `offset len`, the whole instruction charged; without chunk 0's range it
        // is refused.
        Frame memory pre = frame(op(0x20), two(0, 1024 * 32 + 1));
        pre.gas = 1_000_000;
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, rangeWitness(pre, 2, noRanges()));
        Frame memory post = copy(pre);
        post.mem = new bytes(1025 * 32);
        bytes memory sponge = new bytes(200);
        KeccakSponge.absorb(sponge, post.mem, 0, 6528);
        sponge = bytes.concat(sponge, new bytes(24));
        for (uint256 i = 7; i > 0; --i) {
            uint256 w;
            assembly ("memory-safe") {
                w := mload(add(sponge, mul(i, 32)))
            }
            post.stack = pushed(post.stack, one(w));
        }
        post.pc = 1 << 16;
        post.gas = pre.gas - 30 - 6 * 1025 - memoryCost(1025);
        assertEq(step(pre, rangeWitness(pre, 2, ranges1(RangeModel.range(post.mem, 0, 203)))), continued(pre, post));
        // 1023 words are one step.
        pre.stack = two(0, 1023 * 32);
        pre.mem = new bytes(1024 * 32);
        bytes memory proof = rangeWitness(pre, 2, ranges1(RangeModel.range(pre.mem, 0, 1022)));
        post = copy(pre);
        post.stack = one(uint256(keccak256(new bytes(1023 * 32))));
        post.pc = 1;
        post.gas = pre.gas - 30 - 6 * 1023;
        assertEq(step(pre, proof), continued(pre, post));
    }

    /// @dev A stage-2 witness of `f` whose stack items are those of `opening`.
    function rangeWitnessOpening(Frame memory f, Frame memory opening, EvmTypes.WordRange[] memory ranges)
        internal
        pure
        returns (bytes memory)
    {
        (, bytes memory body) = abi.decode(rangeWitness(opening, 2, ranges), (uint8, bytes));
        (, bytes memory code, uint256[] memory top, bytes32 rest, EvmTypes.WordRange[] memory r) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordRange[]));
        return abi.encode(uint8(2), abi.encode(state(f), code, top, rest, r));
    }

    function stepExternal(Frame memory f, bytes memory proof) external view returns (bytes32) {
        return step(f, proof);
    }

    /// @dev Range proofs of random spans of random data open the data's root; other words do not.
    function testFuzz_rangeProofs(bytes memory data, uint256 a, uint256 b) public {
        vm.assume(data.length > 0 && data.length < 2000);
        uint256 words = (data.length + 31) / 32;
        uint256 first = a % (words + 3);
        uint256 last = first + b % 40;
        EvmTypes.WordRange memory r = RangeModel.range(data, first, last);
        (bool ok, bytes32 root) = WordTree.rangeRoot(r.first, r.words, r.siblings);
        assertTrue(ok);
        assertEq(root, WordModel.root(data));
        r.words[r.words.length - 1] ^= bytes32(uint256(1));
        (ok, root) = WordTree.rangeRoot(r.first, r.words, r.siblings);
        assertTrue(ok && root != WordModel.root(data));
    }
}
