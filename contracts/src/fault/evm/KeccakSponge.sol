// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title KeccakSponge
/// @notice keccak256 as a sponge whose state can be carried between steps (docs/evm-steps.md
///         section 4, "Hashing and copies"): Keccak-f[1600] and the sponge of rate 136 bytes with
///         keccak256's padding, in assembly. A KECCAK256 of more bytes than one step may open
///         (`EvmCopyVerifier`) absorbs them chunk by chunk; the state between chunks is the standard
///         200-byte Keccak state (lane `i`, x = i % 5 and y = i / 5, is bytes `8i..8i+7`,
///         little-endian).
/// @dev Gas (test/evm/KeccakSponge.t.sol `test_gasOfPermutation`): absorbing one block 52,203 (the
///      permutation about 46,600, the rest the setup); absorbing 48 blocks (6,528 bytes,
///      `EvmCopyVerifier.HASH_CHUNK_BYTES`) 2,240,353. The permutation is one round's code (rows
///      unrolled, lanes at constant addresses) run twice per loop; a rotation is `mul` by
///      `2^64 + 1` (the lane twice), a shift and a mask.
library KeccakSponge {
    /// @notice Bytes absorbed per permutation (keccak256's rate: 1088 bits).
    uint256 internal constant RATE = 136;
    /// @notice Bytes of the Keccak state.
    uint256 internal constant STATE_BYTES = 200;

    /// @notice `absorb` was given a length that is not a whole number of blocks.
    error PartialBlock(uint256 len);
    /// @notice A state that is not 200 bytes, or bytes past the end of the data.
    error OutOfBounds();

    /// @dev The permutation keeps its lanes at fixed addresses of low memory, saved before and
    ///      restored after (`_absorb`): a constant address costs half the gas of one computed
    ///      from a base, and lane accesses are most of the permutation's cost. Lanes of the
    ///      state at `0x000 + 32 i`, the other buffer (rounds go back and forth) at `0x320`,
    ///      the 24 round constants at `0x640`.
    uint256 private constant SCRATCH = 0x940;

    /// @notice Absorbs `len` bytes of `data` from `start` (`len` a multiple of 136) into `state`
    ///         (200 bytes, updated in place).
    function absorb(bytes memory state, bytes memory data, uint256 start, uint256 len) internal pure {
        if (len % RATE != 0) revert PartialBlock(len);
        if (start + len > data.length || state.length != STATE_BYTES) revert OutOfBounds();
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(add(data, 32), start)
        }
        _absorb(state, ptr, len, 0);
    }

    /// @notice Absorbs the last `len` bytes of `data` from `start` (any length, 0 included) with
    ///         keccak256's padding (0x01 after the data, 0x80 on the block's last byte) and
    ///         returns the hash: the first 32 bytes of `state` (updated in place).
    function finish(bytes memory state, bytes memory data, uint256 start, uint256 len) internal pure returns (bytes32) {
        if (start + len > data.length || state.length != STATE_BYTES) revert OutOfBounds();
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(add(data, 32), start)
        }
        return finishAt(state, ptr, len);
    }

    /// @notice `absorb` of the `len` bytes (a multiple of 136) at memory address `ptr`.
    function absorbAt(bytes memory state, uint256 ptr, uint256 len) internal pure {
        if (len % RATE != 0) revert PartialBlock(len);
        _absorb(state, ptr, len, 0);
    }

    /// @notice `finish` of the `len` bytes at memory address `ptr`: the whole blocks are absorbed
    ///         from where they are, the rest is copied into a padded block of its own.
    function finishAt(bytes memory state, uint256 ptr, uint256 len) internal pure returns (bytes32 h) {
        uint256 full = len - len % RATE;
        bytes memory last = new bytes(RATE);
        assembly ("memory-safe") {
            let tail := sub(len, full)
            mcopy(add(last, 32), add(ptr, full), tail)
            // 0x01 after the data, 0x80 on the last byte (0x81 when they are the same byte).
            mstore8(add(add(last, 32), tail), 0x01)
            let end := add(last, 167)
            mstore8(end, or(byte(0, mload(end)), 0x80))
        }
        _absorb(state, ptr, full, _ptr(last));
        assembly ("memory-safe") {
            h := mload(add(state, 32))
        }
    }

    function _ptr(bytes memory b) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(b, 32)
        }
    }

    /// @dev Absorbs the `len` bytes (whole blocks) at `ptr`, then the block at `tail` (when not
    ///      0), into the 200 bytes of `state`. Not memory-safe on purpose: it works in
    ///      `[0, SCRATCH)` (see there), which it saves above the free memory pointer first and
    ///      restores last; whatever it reads from that region (the state, data allocated there)
    ///      is copied out before.
    function _absorb(bytes memory state, uint256 ptr, uint256 len, uint256 tail) private pure {
        assembly {
            // Four lanes of a word, each byte-reversed in place (big-endian memory to
            // little-endian lanes and back).
            function rev(w) -> r {
                r := or(
                    shl(8, and(w, 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)),
                    and(shr(8, w), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                )
                r := or(
                    shl(16, and(r, 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)),
                    and(shr(16, r), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                )
                r := or(
                    shl(32, and(r, 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)),
                    and(shr(32, r), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                )
            }
            // XORs the 17 lanes (136 bytes) of the block at `p` into the state.
            function xorBlock(p) {
                for { let i := 0 } lt(i, 0x200) { i := add(i, 0x80) } {
                    let w := rev(mload(add(p, shr(2, i))))
                    mstore(i, xor(mload(i), shr(192, w)))
                    mstore(add(i, 0x20), xor(mload(add(i, 0x20)), and(shr(128, w), 0xffffffffffffffff)))
                    mstore(add(i, 0x40), xor(mload(add(i, 0x40)), and(shr(64, w), 0xffffffffffffffff)))
                    mstore(add(i, 0x60), xor(mload(add(i, 0x60)), and(w, 0xffffffffffffffff)))
                }
                mstore(0x200, xor(mload(0x200), shr(192, rev(mload(add(p, 128))))))
            }
            // Keccak-f[1600]: 12 times two rounds, the first from the lanes at 0x000 to those at
            // 0x320, the second back; `rc` walks the round constants.
            function permute() {
                for { let rc := 0x640 } lt(rc, 0x940) { rc := add(rc, 0x40) } {
                    let d0, d1, d2, d3, d4
                    {
                        // theta: the column parities c, then d[x] = c[x-1] ^ rot(c[x+1], 1)
                        let c0 :=
                            xor(xor(xor(xor(mload(0x000), mload(0x0a0)), mload(0x140)), mload(0x1e0)), mload(0x280))
                        let c1 :=
                            xor(xor(xor(xor(mload(0x020), mload(0x0c0)), mload(0x160)), mload(0x200)), mload(0x2a0))
                        let c2 :=
                            xor(xor(xor(xor(mload(0x040), mload(0x0e0)), mload(0x180)), mload(0x220)), mload(0x2c0))
                        let c3 :=
                            xor(xor(xor(xor(mload(0x060), mload(0x100)), mload(0x1a0)), mload(0x240)), mload(0x2e0))
                        let c4 :=
                            xor(xor(xor(xor(mload(0x080), mload(0x120)), mload(0x1c0)), mload(0x260)), mload(0x300))
                        d0 := xor(c4, and(shr(63, mul(c1, 0x10000000000000001)), 0xffffffffffffffff))
                        d1 := xor(c0, and(shr(63, mul(c2, 0x10000000000000001)), 0xffffffffffffffff))
                        d2 := xor(c1, and(shr(63, mul(c3, 0x10000000000000001)), 0xffffffffffffffff))
                        d3 := xor(c2, and(shr(63, mul(c4, 0x10000000000000001)), 0xffffffffffffffff))
                        d4 := xor(c3, and(shr(63, mul(c0, 0x10000000000000001)), 0xffffffffffffffff))
                    }
                    {
                        // row 0: rho and pi bring its five lanes, chi mixes them, iota
                        let b0 := xor(mload(0x000), d0)
                        let b1 := and(shr(20, mul(xor(mload(0x0c0), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(21, mul(xor(mload(0x180), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(43, mul(xor(mload(0x240), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(50, mul(xor(mload(0x300), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x320, xor(xor(b0, and(not(b1), b2)), mload(rc)))
                        mstore(0x340, xor(b1, and(not(b2), b3)))
                        mstore(0x360, xor(b2, and(not(b3), b4)))
                        mstore(0x380, xor(b3, and(not(b4), b0)))
                        mstore(0x3a0, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 1: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(36, mul(xor(mload(0x060), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(44, mul(xor(mload(0x120), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(61, mul(xor(mload(0x140), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(19, mul(xor(mload(0x200), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(3, mul(xor(mload(0x2c0), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x3c0, xor(b0, and(not(b1), b2)))
                        mstore(0x3e0, xor(b1, and(not(b2), b3)))
                        mstore(0x400, xor(b2, and(not(b3), b4)))
                        mstore(0x420, xor(b3, and(not(b4), b0)))
                        mstore(0x440, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 2: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(63, mul(xor(mload(0x020), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(58, mul(xor(mload(0x0e0), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(39, mul(xor(mload(0x1a0), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(56, mul(xor(mload(0x260), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(46, mul(xor(mload(0x280), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x460, xor(b0, and(not(b1), b2)))
                        mstore(0x480, xor(b1, and(not(b2), b3)))
                        mstore(0x4a0, xor(b2, and(not(b3), b4)))
                        mstore(0x4c0, xor(b3, and(not(b4), b0)))
                        mstore(0x4e0, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 3: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(37, mul(xor(mload(0x080), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(28, mul(xor(mload(0x0a0), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(54, mul(xor(mload(0x160), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(49, mul(xor(mload(0x220), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(8, mul(xor(mload(0x2e0), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x500, xor(b0, and(not(b1), b2)))
                        mstore(0x520, xor(b1, and(not(b2), b3)))
                        mstore(0x540, xor(b2, and(not(b3), b4)))
                        mstore(0x560, xor(b3, and(not(b4), b0)))
                        mstore(0x580, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 4: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(2, mul(xor(mload(0x040), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(9, mul(xor(mload(0x100), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(25, mul(xor(mload(0x1c0), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(23, mul(xor(mload(0x1e0), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(62, mul(xor(mload(0x2a0), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x5a0, xor(b0, and(not(b1), b2)))
                        mstore(0x5c0, xor(b1, and(not(b2), b3)))
                        mstore(0x5e0, xor(b2, and(not(b3), b4)))
                        mstore(0x600, xor(b3, and(not(b4), b0)))
                        mstore(0x620, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // theta: the column parities c, then d[x] = c[x-1] ^ rot(c[x+1], 1)
                        let c0 :=
                            xor(xor(xor(xor(mload(0x320), mload(0x3c0)), mload(0x460)), mload(0x500)), mload(0x5a0))
                        let c1 :=
                            xor(xor(xor(xor(mload(0x340), mload(0x3e0)), mload(0x480)), mload(0x520)), mload(0x5c0))
                        let c2 :=
                            xor(xor(xor(xor(mload(0x360), mload(0x400)), mload(0x4a0)), mload(0x540)), mload(0x5e0))
                        let c3 :=
                            xor(xor(xor(xor(mload(0x380), mload(0x420)), mload(0x4c0)), mload(0x560)), mload(0x600))
                        let c4 :=
                            xor(xor(xor(xor(mload(0x3a0), mload(0x440)), mload(0x4e0)), mload(0x580)), mload(0x620))
                        d0 := xor(c4, and(shr(63, mul(c1, 0x10000000000000001)), 0xffffffffffffffff))
                        d1 := xor(c0, and(shr(63, mul(c2, 0x10000000000000001)), 0xffffffffffffffff))
                        d2 := xor(c1, and(shr(63, mul(c3, 0x10000000000000001)), 0xffffffffffffffff))
                        d3 := xor(c2, and(shr(63, mul(c4, 0x10000000000000001)), 0xffffffffffffffff))
                        d4 := xor(c3, and(shr(63, mul(c0, 0x10000000000000001)), 0xffffffffffffffff))
                    }
                    {
                        // row 0: rho and pi bring its five lanes, chi mixes them, iota
                        let b0 := xor(mload(0x320), d0)
                        let b1 := and(shr(20, mul(xor(mload(0x3e0), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(21, mul(xor(mload(0x4a0), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(43, mul(xor(mload(0x560), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(50, mul(xor(mload(0x620), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x000, xor(xor(b0, and(not(b1), b2)), mload(add(rc, 0x20))))
                        mstore(0x020, xor(b1, and(not(b2), b3)))
                        mstore(0x040, xor(b2, and(not(b3), b4)))
                        mstore(0x060, xor(b3, and(not(b4), b0)))
                        mstore(0x080, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 1: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(36, mul(xor(mload(0x380), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(44, mul(xor(mload(0x440), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(61, mul(xor(mload(0x460), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(19, mul(xor(mload(0x520), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(3, mul(xor(mload(0x5e0), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x0a0, xor(b0, and(not(b1), b2)))
                        mstore(0x0c0, xor(b1, and(not(b2), b3)))
                        mstore(0x0e0, xor(b2, and(not(b3), b4)))
                        mstore(0x100, xor(b3, and(not(b4), b0)))
                        mstore(0x120, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 2: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(63, mul(xor(mload(0x340), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(58, mul(xor(mload(0x400), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(39, mul(xor(mload(0x4c0), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(56, mul(xor(mload(0x580), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(46, mul(xor(mload(0x5a0), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x140, xor(b0, and(not(b1), b2)))
                        mstore(0x160, xor(b1, and(not(b2), b3)))
                        mstore(0x180, xor(b2, and(not(b3), b4)))
                        mstore(0x1a0, xor(b3, and(not(b4), b0)))
                        mstore(0x1c0, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 3: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(37, mul(xor(mload(0x3a0), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(28, mul(xor(mload(0x3c0), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(54, mul(xor(mload(0x480), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(49, mul(xor(mload(0x540), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(8, mul(xor(mload(0x600), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x1e0, xor(b0, and(not(b1), b2)))
                        mstore(0x200, xor(b1, and(not(b2), b3)))
                        mstore(0x220, xor(b2, and(not(b3), b4)))
                        mstore(0x240, xor(b3, and(not(b4), b0)))
                        mstore(0x260, xor(b4, and(not(b0), b1)))
                    }
                    {
                        // row 4: rho and pi bring its five lanes, chi mixes them
                        let b0 := and(shr(2, mul(xor(mload(0x360), d2), 0x10000000000000001)), 0xffffffffffffffff)
                        let b1 := and(shr(9, mul(xor(mload(0x420), d3), 0x10000000000000001)), 0xffffffffffffffff)
                        let b2 := and(shr(25, mul(xor(mload(0x4e0), d4), 0x10000000000000001)), 0xffffffffffffffff)
                        let b3 := and(shr(23, mul(xor(mload(0x500), d0), 0x10000000000000001)), 0xffffffffffffffff)
                        let b4 := and(shr(62, mul(xor(mload(0x5c0), d1), 0x10000000000000001)), 0xffffffffffffffff)
                        mstore(0x280, xor(b0, and(not(b1), b2)))
                        mstore(0x2a0, xor(b1, and(not(b2), b3)))
                        mstore(0x2c0, xor(b2, and(not(b3), b4)))
                        mstore(0x2e0, xor(b3, and(not(b4), b0)))
                        mstore(0x300, xor(b4, and(not(b0), b1)))
                    }
                }
            }

            let t := mload(0x40)
            if lt(t, SCRATCH) { t := SCRATCH }
            mcopy(t, 0, SCRATCH)
            // The state's 200 bytes (then 24 zero bytes once packed), and the data when it lies
            // in the region about to be overwritten.
            let st := add(t, SCRATCH)
            mcopy(st, add(state, 32), 200)
            let free := add(st, 0x100)
            if lt(ptr, SCRATCH) {
                mcopy(free, ptr, len)
                ptr := free
                free := add(free, len)
            }
            if and(iszero(iszero(tail)), lt(tail, SCRATCH)) {
                mcopy(free, tail, 136)
                tail := free
            }

            // Unpack the lanes: words 0..5 hold lanes 4j..4j+3, word 6 lane 24.
            for { let i := 0 } lt(i, 0x300) { i := add(i, 0x80) } {
                let w := rev(mload(add(st, shr(2, i))))
                mstore(i, shr(192, w))
                mstore(add(i, 0x20), and(shr(128, w), 0xffffffffffffffff))
                mstore(add(i, 0x40), and(shr(64, w), 0xffffffffffffffff))
                mstore(add(i, 0x60), and(w, 0xffffffffffffffff))
            }
            mstore(0x300, shr(192, rev(mload(add(st, 192)))))
            mstore(0x640, 0x0000000000000001)
            mstore(0x660, 0x0000000000008082)
            mstore(0x680, 0x800000000000808a)
            mstore(0x6a0, 0x8000000080008000)
            mstore(0x6c0, 0x000000000000808b)
            mstore(0x6e0, 0x0000000080000001)
            mstore(0x700, 0x8000000080008081)
            mstore(0x720, 0x8000000000008009)
            mstore(0x740, 0x000000000000008a)
            mstore(0x760, 0x0000000000000088)
            mstore(0x780, 0x0000000080008009)
            mstore(0x7a0, 0x000000008000000a)
            mstore(0x7c0, 0x000000008000808b)
            mstore(0x7e0, 0x800000000000008b)
            mstore(0x800, 0x8000000000008089)
            mstore(0x820, 0x8000000000008003)
            mstore(0x840, 0x8000000000008002)
            mstore(0x860, 0x8000000000000080)
            mstore(0x880, 0x000000000000800a)
            mstore(0x8a0, 0x800000008000000a)
            mstore(0x8c0, 0x8000000080008081)
            mstore(0x8e0, 0x8000000000008080)
            mstore(0x900, 0x0000000080000001)
            mstore(0x920, 0x8000000080008008)

            for { let end := add(ptr, len) } lt(ptr, end) { ptr := add(ptr, 136) } {
                xorBlock(ptr)
                permute()
            }
            if tail {
                xorBlock(tail)
                permute()
            }

            // Pack the lanes back (word 6: lane 24 then 24 zero bytes).
            for { let i := 0 } lt(i, 0x300) { i := add(i, 0x80) } {
                let w :=
                    or(
                        or(shl(192, mload(i)), shl(128, mload(add(i, 0x20)))),
                        or(shl(64, mload(add(i, 0x40))), mload(add(i, 0x60)))
                    )
                mstore(add(st, shr(2, i)), rev(w))
            }
            mstore(add(st, 192), rev(shl(192, mload(0x300))))
            mcopy(0, t, SCRATCH)
            mcopy(add(state, 32), st, 200)
        }
    }
}
