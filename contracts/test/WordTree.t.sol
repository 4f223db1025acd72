// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../src/fault/evm/WordTree.sol";
import {StackHash} from "../src/fault/evm/StackHash.sol";
import {WordModel} from "./evm/EvmStepHelpers.sol";

/// @dev Exposes the library (calldata-free, memory arguments) to the tests.
contract WordTreeHarness {
    function root(bytes memory data) external pure returns (bytes32) {
        return WordTree.root(data);
    }

    function verify(bytes32 r, EvmTypes.WordProof memory p) external pure returns (bool) {
        return WordTree.verify(r, p);
    }

    function update(bytes32 r, EvmTypes.WordProof memory p, bytes32 w) external pure returns (bool, bytes32) {
        return WordTree.update(r, p, w);
    }
}

/// @notice Word trees (docs/evm-steps.md section 3) and stack hashes (section 2).
contract WordTreeTest is Test {
    WordTreeHarness internal h;

    function setUp() public {
        h = new WordTreeHarness();
    }

    function test_zeroHashes() public pure {
        assertEq(WordTree.zero(0), bytes32(0));
        assertEq(WordTree.zero(1), keccak256(abi.encodePacked(bytes32(0), bytes32(0))));
        assertEq(WordTree.zero(20), WordTree.EMPTY_ROOT);
        assertEq(WordTree.zero(2), keccak256(abi.encodePacked(WordTree.zero(1), WordTree.zero(1))));
    }

    function test_rootOfSmallArrays() public view {
        assertEq(h.root(""), WordTree.EMPTY_ROOT);
        // Zero bytes do not change the root: it does not depend on the length.
        assertEq(h.root(new bytes(100)), WordTree.EMPTY_ROOT);
        // One word: the leaf hashed up with zero siblings.
        bytes memory one = hex"01";
        bytes32 node = bytes32(uint256(1) << 248);
        for (uint256 l; l < 20; ++l) {
            node = keccak256(abi.encodePacked(node, WordTree.zero(l)));
        }
        assertEq(h.root(one), node);
        assertEq(h.root(bytes.concat(one, new bytes(31))), node);
        // Three words by hand.
        bytes32 a = keccak256("a");
        bytes32 b = keccak256("b");
        bytes32 c = keccak256("c");
        node =
            keccak256(abi.encodePacked(keccak256(abi.encodePacked(a, b)), keccak256(abi.encodePacked(c, bytes32(0)))));
        for (uint256 l = 2; l < 20; ++l) {
            node = keccak256(abi.encodePacked(node, WordTree.zero(l)));
        }
        assertEq(h.root(abi.encodePacked(a, b, c)), node);
        assertEq(WordModel.root(abi.encodePacked(a, b, c)), node);
        // 17 bytes past a word boundary, against the model.
        bytes memory odd = bytes.concat(abi.encodePacked(a, b, c), hex"0102030405060708090a0b0c0d0e0f1011");
        assertEq(h.root(odd), WordModel.root(odd));
    }

    function test_update() public view {
        bytes memory data = abi.encodePacked(keccak256("a"), keccak256("b"), keccak256("c"));
        bytes32 r = h.root(data);
        EvmTypes.WordProof memory p = WordModel.proof(data, 1);
        assertTrue(h.verify(r, p));
        (bool ok, bytes32 next) = h.update(r, p, bytes32(uint256(7)));
        assertTrue(ok);
        bytes memory changed = abi.encodePacked(keccak256("a"), bytes32(uint256(7)), keccak256("c"));
        assertEq(next, h.root(changed));
        // A word past the array (zero) grows it.
        p = WordModel.proof(data, 1000);
        assertEq(p.word, bytes32(0));
        (ok, next) = h.update(r, p, bytes32(uint256(9)));
        assertTrue(ok);
        bytes memory longer = bytes.concat(data, new bytes(32 * 997), abi.encode(uint256(9)));
        assertEq(next, h.root(longer));
        // Index outside the tree.
        p.index = uint32(WordTree.WORDS);
        assertTrue(!h.verify(r, p));
        (ok,) = h.update(r, p, 0);
        assertTrue(!ok);
    }

    /// @notice A random write then read round-trips; a tampered sibling or word fails.
    function testFuzz_writeThenRead(bytes32[4] memory ws, uint256 index, bytes32 value, uint8 tamper) public view {
        bytes memory data = abi.encodePacked(ws[0], ws[1], ws[2], ws[3]);
        index %= 64;
        bytes32 r = h.root(data);
        EvmTypes.WordProof memory p = WordModel.proof(data, index);
        (bool ok, bytes32 next) = h.update(r, p, value);
        assertTrue(ok);
        bytes memory after_ = bytes.concat(data, new bytes(index >= 4 ? (index - 3) * 32 : 0));
        assembly {
            mstore(add(add(after_, 32), mul(index, 32)), value)
        }
        assertEq(next, h.root(after_));
        EvmTypes.WordProof memory q = WordModel.proof(after_, index);
        assertEq(q.word, value);
        assertTrue(h.verify(next, q));
        // Another word of the new tree reads back too.
        uint256 other = (index + 1) % 64;
        assertTrue(h.verify(next, WordModel.proof(after_, other)));
        // Tampering.
        uint256 level = tamper % 20;
        q.siblings[level] ^= bytes32(uint256(1) << (tamper % 256));
        assertTrue(!h.verify(next, q));
        (ok,) = h.update(next, q, value);
        assertTrue(!ok);
        q = WordModel.proof(after_, index);
        q.word ^= bytes32(uint256(1));
        assertTrue(!h.verify(next, q));
        q = WordModel.proof(after_, index);
        q.index ^= uint32(1) << (tamper % 20);
        assertTrue(!h.verify(next, q));
    }

    function test_stackHash() public pure {
        assertEq(StackHash.push(bytes32(0), 5), keccak256(abi.encodePacked(uint256(5), bytes32(0))));
        uint256[] memory top = new uint256[](2);
        top[0] = 9; // top
        top[1] = 8;
        bytes32 rest = StackHash.push(bytes32(0), 7);
        assertEq(StackHash.build(top, rest), StackHash.push(StackHash.push(rest, 8), 9));
    }
}
