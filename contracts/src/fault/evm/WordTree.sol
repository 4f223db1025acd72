// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmTypes} from "./EvmTypes.sol";

/// @title WordTree
/// @notice Word trees (docs/evm-steps.md section 3): a byte array split into 32-byte words
///         (zero-padded) committed as a binary Merkle tree of fixed depth `WORD_DEPTH` whose leaves
///         are the words themselves and whose inner nodes are `keccak256(left ‖ right)`. Words past
///         the array are zero, so the root does not depend on the array's length.
library WordTree {
    uint256 internal constant WORD_DEPTH = 20;
    /// @notice Number of leaves (2^20 words, 32 MiB).
    uint256 internal constant WORDS = 2 ** WORD_DEPTH;
    /// @notice `zero[20]`: the root of the empty array (and of any all-zero array).
    bytes32 internal constant EMPTY_ROOT = 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2;

    /// @notice `zero[k]`: the root of a subtree of height `k` whose words are all zero.
    function zero(uint256 k) internal pure returns (bytes32 z) {
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                mstore(0, z)
                mstore(32, z)
                z := keccak256(0, 64)
            }
        }
    }

    /// @notice The root of a tree whose word `p.index` is `leaf` and whose other words are those
    ///         `p.siblings` commits to. Reverts never; an index outside the tree gives 0.
    function rootWith(EvmTypes.WordProof memory p, bytes32 leaf) internal pure returns (bytes32 node) {
        uint256 index = p.index;
        if (index >= WORDS) return bytes32(0);
        bytes32[20] memory siblings = p.siblings;
        assembly ("memory-safe") {
            node := leaf
            for { let i := 0 } lt(i, 20) { i := add(i, 1) } {
                let sibling := mload(add(siblings, mul(i, 32)))
                switch and(shr(i, index), 1)
                case 0 {
                    mstore(0, node)
                    mstore(32, sibling)
                }
                default {
                    mstore(0, sibling)
                    mstore(32, node)
                }
                node := keccak256(0, 64)
            }
        }
    }

    /// @notice Whether `p` opens word `p.index` of the tree `treeRoot` as `p.word`.
    function verify(bytes32 treeRoot, EvmTypes.WordProof memory p) internal pure returns (bool) {
        return p.index < WORDS && rootWith(p, p.word) == treeRoot;
    }

    /// @notice Checks `p` against `treeRoot` and returns the root after word `p.index` becomes `newWord`
    ///         (`ok` false, and `newRoot` 0, when `p` does not open `treeRoot`). One pass computes both.
    function update(bytes32 treeRoot, EvmTypes.WordProof memory p, bytes32 newWord)
        internal
        pure
        returns (bool ok, bytes32 newRoot)
    {
        uint256 index = p.index;
        if (index >= WORDS) return (false, bytes32(0));
        bytes32[20] memory siblings = p.siblings;
        bytes32 oldNode = p.word;
        assembly ("memory-safe") {
            newRoot := newWord
            for { let i := 0 } lt(i, 20) { i := add(i, 1) } {
                let sibling := mload(add(siblings, mul(i, 32)))
                switch and(shr(i, index), 1)
                case 0 {
                    mstore(32, sibling)
                    mstore(0, oldNode)
                    oldNode := keccak256(0, 64)
                    mstore(0, newRoot)
                    newRoot := keccak256(0, 64)
                }
                default {
                    mstore(0, sibling)
                    mstore(32, oldNode)
                    oldNode := keccak256(0, 64)
                    mstore(32, newRoot)
                    newRoot := keccak256(0, 64)
                }
            }
        }
        if (oldNode != treeRoot) return (false, bytes32(0));
        return (true, newRoot);
    }

    /// @notice The root a range proof opens (docs/evm-steps.md section 3): `words` are words
    ///         `first ..` of the tree and `siblings` the nodes beside the range, from the words up:
    ///         at each level the left neighbour when the range's first node is a right child, then
    ///         the right neighbour when its last node is a left child. `ok` false when the range is
    ///         empty or leaves the tree, or the siblings are not exactly the ones it needs.
    function rangeRoot(uint256 first, bytes32[] memory words, bytes32[] memory siblings)
        internal
        pure
        returns (bool ok, bytes32 node)
    {
        uint256 n = words.length;
        if (n == 0 || first >= WORDS || n > WORDS - first) return (false, bytes32(0));
        // The level being hashed, in place: parent j overwrites a node it no longer needs.
        bytes32[] memory level = new bytes32[](n);
        assembly ("memory-safe") {
            mcopy(add(level, 32), add(words, 32), mul(n, 32))
        }
        uint256 lo = first;
        uint256 used;
        for (uint256 depth = 0; depth < WORD_DEPTH; depth++) {
            uint256 hi = lo + n - 1;
            bytes32 left;
            bytes32 right;
            if (lo & 1 == 1) {
                if (used == siblings.length) return (false, bytes32(0));
                left = siblings[used++];
            }
            if (hi & 1 == 0) {
                if (used == siblings.length) return (false, bytes32(0));
                right = siblings[used++];
            }
            uint256 base = lo >> 1;
            uint256 parents = (hi >> 1) - base + 1;
            assembly ("memory-safe") {
                let data := add(level, 32)
                for { let j := 0 } lt(j, parents) { j := add(j, 1) } {
                    let l := mul(add(base, j), 2)
                    let a := left
                    if iszero(lt(l, lo)) { a := mload(add(data, mul(sub(l, lo), 32))) }
                    let b := right
                    if iszero(gt(add(l, 1), hi)) { b := mload(add(data, mul(sub(add(l, 1), lo), 32))) }
                    mstore(0, a)
                    mstore(32, b)
                    mstore(add(data, mul(j, 32)), keccak256(0, 64))
                }
            }
            n = parents;
            lo = base;
        }
        if (used != siblings.length) return (false, bytes32(0));
        return (true, level[0]);
    }

    /// @notice The root of the word tree of `data` (at most 2^20 words; longer data reverts).
    function root(bytes memory data) internal pure returns (bytes32 r) {
        uint256 n = (data.length + 31) / 32;
        if (n == 0) return EMPTY_ROOT;
        require(n <= WORDS, "WordTree: too long");
        // Level by level in a scratch array: words, then pairs hashed in place.
        bytes32[] memory level = new bytes32[](n);
        assembly ("memory-safe") {
            let dst := add(level, 32)
            let src := add(data, 32)
            let len := mload(data)
            // Copy the data; the last word is zero-padded (the scratch array is zeroed).
            mcopy(dst, src, len)
            let z := 0
            for { let depth := 0 } lt(depth, 20) { depth := add(depth, 1) } {
                let pairs := shr(1, add(n, 1))
                for { let i := 0 } lt(i, pairs) { i := add(i, 1) } {
                    let left := mload(add(dst, mul(i, 64)))
                    let right := z
                    if lt(add(mul(i, 2), 1), n) { right := mload(add(dst, add(mul(i, 64), 32))) }
                    mstore(0, left)
                    mstore(32, right)
                    mstore(add(dst, mul(i, 32)), keccak256(0, 64))
                }
                n := pairs
                mstore(0, z)
                mstore(32, z)
                z := keccak256(0, 64)
            }
            r := mload(dst)
        }
    }
}
