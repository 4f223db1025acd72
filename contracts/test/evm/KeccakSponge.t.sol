// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {KeccakSponge} from "../../src/fault/evm/KeccakSponge.sol";

/// @title KeccakSpongeTest
/// @notice `KeccakSponge` against the `keccak256` opcode (known vectors, random data split at random
///         block boundaries), the state between steps independent of where the input was split, and
///         one permutation against the Keccak team's known answer.
contract KeccakSpongeTest is Test {
    uint256 internal constant RATE = 136;

    function zeroState() internal pure returns (bytes memory) {
        return new bytes(200);
    }

    /// @dev `len` pseudo-random bytes from `seed`.
    function pattern(uint256 len, uint256 seed) internal pure returns (bytes memory out) {
        // `new bytes` allocates whole words: the last word written stays inside.
        out = new bytes(len);
        for (uint256 i; i < len; i += 32) {
            bytes32 w = keccak256(abi.encode(seed, i));
            assembly ("memory-safe") {
                mstore(add(add(out, 32), i), w)
            }
        }
    }

    /// @dev keccak256 of `data` by the sponge, split after `k` whole blocks.
    function split(bytes memory data, uint256 k) internal pure returns (bytes32) {
        bytes memory state = zeroState();
        KeccakSponge.absorb(state, data, 0, k * RATE);
        return KeccakSponge.finish(state, data, k * RATE, data.length - k * RATE);
    }

    /// @dev Lane `i` of a state: bytes `8i..8i+7`, little-endian.
    function lane(bytes memory state, uint256 i) internal pure returns (uint64 v) {
        uint256 acc;
        for (uint256 j; j < 8; ++j) {
            acc |= uint256(uint8(state[8 * i + j])) << (8 * j);
        }
        // Eight bytes: it fits.
        // forge-lint: disable-next-line(unsafe-typecast)
        v = uint64(acc);
    }

    function test_emptyAndKnownVectors() public pure {
        assertEq(split("", 0), keccak256(""));
        assertEq(split("", 0), 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470);
        assertEq(split("abc", 0), 0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45);
        assertEq(
            split("The quick brown fox jumps over the lazy dog", 0),
            0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15
        );
        // The padding's edge cases: 135 bytes (0x81 on one byte), 136 (a block of padding alone).
        bytes memory d = pattern(136, 1);
        assertEq(split(d, 1), keccak256(d));
        assertEq(split(d, 0), keccak256(d));
        d = pattern(135, 2);
        assertEq(split(d, 0), keccak256(d));
    }

    /// @notice Every split of every length around the block edges, 0 to 5 blocks.
    function test_allSplitsAroundBlockEdges() public pure {
        for (uint256 blocks; blocks <= 5; ++blocks) {
            for (uint256 extra; extra < 3; ++extra) {
                // 136 m - 1 (135 mod 136), 136 m, 136 m + 1.
                if (blocks == 0 && extra == 0) continue;
                uint256 len = blocks * RATE + extra - 1;
                bytes memory d = pattern(len, len);
                for (uint256 k; k <= len / RATE; ++k) {
                    assertEq(split(d, k), keccak256(d), "split");
                }
            }
        }
    }

    /// @notice Random data of 0 to 2,000 bytes (a third of the runs a multiple of 136, a third 135
    ///         mod 136) split after a random number of whole blocks.
    function testFuzz_splitMatchesOpcode(uint256 seed, uint256 lenSeed, uint256 kSeed) public {
        uint256 len = bound(lenSeed, 0, 2000);
        if (lenSeed % 3 == 1) len -= len % RATE;
        else if (lenSeed % 3 == 2) len = len < RATE ? 135 : len - len % RATE - 1;
        bytes memory d = pattern(len, seed);
        uint256 k = bound(kSeed, 0, len / RATE);
        assertEq(split(d, k), keccak256(d));
    }

    /// @notice The same input absorbed at once or in pieces at other block boundaries leaves the same
    ///         state (the state between steps depends on the bytes only).
    function test_splitsGiveSameState() public {
        bytes memory d = pattern(5 * RATE, 3);
        bytes memory whole = zeroState();
        KeccakSponge.absorb(whole, d, 0, 5 * RATE);
        bytes memory a = zeroState();
        KeccakSponge.absorb(a, d, 0, 2 * RATE);
        KeccakSponge.absorb(a, d, 2 * RATE, 3 * RATE);
        bytes memory b = zeroState();
        KeccakSponge.absorb(b, d, 0, RATE);
        KeccakSponge.absorb(b, d, RATE, RATE);
        KeccakSponge.absorb(b, d, 2 * RATE, 0);
        KeccakSponge.absorb(b, d, 2 * RATE, 3 * RATE);
        assertEq(a, whole);
        assertEq(b, whole);
        assertTrue(keccak256(whole) != keccak256(zeroState()));
        // And finishing each gives the hash of the whole.
        assertEq(KeccakSponge.finish(a, d, 0, 0), keccak256(d));
    }

    /// @notice Keccak-f[1600] of the zero state (absorbing a block of zeros into it), every lane
    ///         against the Keccak team's KeccakF-1600-IntermediateValues.txt.
    function test_permutationOfZeroState() public pure {
        bytes memory state = zeroState();
        KeccakSponge.absorb(state, new bytes(RATE), 0, RATE);
        uint64[25] memory expected = [
            0xF1258F7940E1DDE7,
            0x84D5CCF933C0478A,
            0xD598261EA65AA9EE,
            0xBD1547306F80494D,
            0x8B284E056253D057,
            0xFF97A42D7F8E6FD4,
            0x90FEE5A0A44647C4,
            0x8C5BDA0CD6192E76,
            0xAD30A6F71B19059C,
            0x30935AB7D08FFC64,
            0xEB5AA93F2317D635,
            0xA9A6E6260D712103,
            0x81A57C16DBCF555F,
            0x43B831CD0347C826,
            0x01F22F1A11A5569F,
            0x05E5635A21D9AE61,
            0x64BEFEF28CC970F2,
            0x613670957BC46611,
            0xB87C5A554FD00ECB,
            0x8C3EE88A1CCF32C8,
            0x940C7922AE3A2614,
            0x1841F924A2C509E4,
            0x16F53526E70465C2,
            0x75F644E97F30A13B,
            0xEAF1FF7B5CECA249
        ];
        for (uint256 i; i < 25; ++i) {
            assertEq(lane(state, i), expected[i], "lane");
        }
        assertEq(state.length, 200);
    }

    /// @notice The sponge works in low memory (saved and restored): the data and the state may lie
    ///         there (a fresh call: the first allocations) or far above it, and nothing else in memory
    ///         changes.
    function test_memoryAroundIsKept() public {
        // Allocated first: at 0x80, inside the region the permutation uses.
        bytes memory low = pattern(700, 4);
        bytes memory lowState = zeroState();
        bytes32 before = keccak256(low);
        bytes memory filler = new bytes(5000);
        bytes memory high = bytes.concat(low);
        bytes memory highState = zeroState();
        assertEq(KeccakSponge.finish(lowState, low, 0, 700), keccak256(low));
        assertEq(KeccakSponge.finish(highState, high, 0, 700), keccak256(low));
        assertEq(lowState, highState);
        assertEq(keccak256(low), before);
        assertEq(keccak256(filler), keccak256(new bytes(5000)));
        uint256 fmp;
        assembly ("memory-safe") {
            fmp := mload(0x40)
        }
        assertGt(fmp, 0x80);
    }

    function absorbExternal(uint256 len) external pure {
        KeccakSponge.absorb(zeroState(), new bytes(len), 0, len);
    }

    function finishExternal(uint256 len) external pure {
        KeccakSponge.finish(zeroState(), new bytes(len), 1, len);
    }

    function test_refusals() public {
        vm.expectRevert(abi.encodeWithSelector(KeccakSponge.PartialBlock.selector, 135));
        this.absorbExternal(135);
        vm.expectRevert(KeccakSponge.OutOfBounds.selector);
        this.finishExternal(10);
    }

    /// @notice Gas of one permutation (absorbing one block, with the sponge's setup) and of 48 blocks
    ///         (`EvmCopyVerifier.HASH_CHUNK_BYTES`), measured around the call. Measured: 52,203 for one
    ///         block and 2,240,353 for 48 (about 46,600 per permutation, 5,600 of setup: saving and
    ///         restoring low memory, unpacking and packing the state).
    function test_gasOfPermutation() public view {
        bytes memory data = pattern(48 * RATE, 5);
        bytes memory state = zeroState();
        uint256 g = gasleft();
        KeccakSponge.absorb(state, data, 0, RATE);
        uint256 one = g - gasleft();
        g = gasleft();
        KeccakSponge.absorb(state, data, 0, 48 * RATE);
        uint256 chunk = g - gasleft();
        assertLt(one, 60_000);
        assertLt(chunk, 2_300_000);
    }
}
