// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MerkleTrie} from "../src/fault/MerkleTrie.sol";
import {RLPReader} from "../src/fault/RLPReader.sol";
import {RLPWriter} from "../src/fault/RLPWriter.sol";

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks.
interface VmFixtures {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonTypeArray(string calldata json, string calldata key, string calldata typeDescription)
        external
        pure
        returns (bytes memory);
}

/// @dev External entry points, so that reverts can be caught and gas measured per call.
contract MerkleTrieHarness {
    function get(bytes32 root, bytes32 key, bytes[] memory proof) external pure returns (bool, bytes memory) {
        return MerkleTrie.get(root, key, proof);
    }

    function update(bytes32 root, bytes32 key, bytes memory value, bytes[] memory proof)
        external
        pure
        returns (bytes32)
    {
        return MerkleTrie.update(root, key, value, proof);
    }

    /// @dev Gas of the library call alone (arguments already decoded into memory).
    function getGas(bytes32 root, bytes32 key, bytes[] memory proof) external view returns (uint256 gas) {
        gas = gasleft();
        MerkleTrie.get(root, key, proof);
        gas -= gasleft();
    }

    function updateGas(bytes32 root, bytes32 key, bytes memory value, bytes[] memory proof)
        external
        view
        returns (uint256 gas)
    {
        gas = gasleft();
        MerkleTrie.update(root, key, value, proof);
        gas -= gasleft();
    }
}

contract RLPHarness {
    function readHeader(bytes memory data, uint256 offset) external pure returns (bool, uint256, uint256) {
        return RLPReader.readHeader(data, offset);
    }

    function readBytes(bytes memory data, uint256 offset) external pure returns (bytes memory) {
        return RLPReader.readBytes(data, offset);
    }

    function readUint(bytes memory data, uint256 offset) external pure returns (uint256) {
        return RLPReader.readUint(data, offset);
    }

    function readAddress(bytes memory data, uint256 offset) external pure returns (address) {
        return RLPReader.readAddress(data, offset);
    }

    function readBytes32(bytes memory data, uint256 offset) external pure returns (bytes32) {
        return RLPReader.readBytes32(data, offset);
    }

    function readList(bytes memory data) external pure returns (uint256[] memory, uint256[] memory) {
        return RLPReader.readList(data);
    }

    function listLength(bytes memory data, uint256 offset) external pure returns (uint256) {
        return RLPReader.listLength(data, offset);
    }
}

/// @dev A reference trie, rebuilt from scratch from sorted keys (no incremental logic), with proofs
///      in the format MerkleTrie takes (docs/fault-proof.md section 6).
library RefTrie {
    function nibble(bytes32 key, uint256 i) internal pure returns (uint256) {
        return (uint256(key) >> (252 - 4 * i)) & 0xf;
    }

    function commonPrefix(bytes32 a, bytes32 b) internal pure returns (uint256 n) {
        while (n < 64 && nibble(a, n) == nibble(b, n)) {
            ++n;
        }
    }

    /// @dev Hex-prefix encoding of nibbles [from, to) of `key`, written nibble by nibble.
    function compact(bytes32 key, uint256 from, uint256 to, bool isLeaf) internal pure returns (bytes memory out) {
        uint256 n = to - from;
        out = new bytes(n / 2 + 1);
        uint256 flag = isLeaf ? 2 : 0;
        uint256 j = from;
        if (n % 2 == 1) {
            out[0] = bytes1(uint8(((flag + 1) << 4) | nibble(key, j)));
            ++j;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            out[0] = bytes1(uint8(flag << 4)); // at most 0x20
        }
        for (uint256 b = 1; b < out.length; ++b) {
            out[b] = bytes1(uint8((nibble(key, j) << 4) | nibble(key, j + 1)));
            j += 2;
        }
    }

    function ref(bytes memory n) internal pure returns (bytes memory) {
        return n.length < 32 ? n : RLPWriter.writeBytes32(keccak256(n));
    }

    function leaf(bytes32 key, uint256 depth, bytes memory value) internal pure returns (bytes memory) {
        return RLPWriter.writeList(
            bytes.concat(RLPWriter.writeBytes(compact(key, depth, 64, true)), RLPWriter.writeBytes(value))
        );
    }

    /// @dev The node of keys[lo, hi), which share their first `depth` nibbles.
    function node(bytes32[] memory keys, bytes[] memory values, uint256 lo, uint256 hi, uint256 depth)
        internal
        pure
        returns (bytes memory)
    {
        if (hi - lo == 1) return leaf(keys[lo], depth, values[lo]);
        uint256 c = commonPrefix(keys[lo], keys[hi - 1]);
        if (c > depth) {
            bytes memory path = RLPWriter.writeBytes(compact(keys[lo], depth, c, false));
            return RLPWriter.writeList(bytes.concat(path, ref(branch(keys, values, lo, hi, c))));
        }
        return branch(keys, values, lo, hi, depth);
    }

    function branch(bytes32[] memory keys, bytes[] memory values, uint256 lo, uint256 hi, uint256 depth)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory payload;
        uint256 i = lo;
        for (uint256 n; n < 16; ++n) {
            uint256 j = i;
            while (j < hi && nibble(keys[j], depth) == n) {
                ++j;
            }
            payload = bytes.concat(payload, j > i ? ref(node(keys, values, i, j, depth + 1)) : bytes(hex"80"));
            i = j;
        }
        return RLPWriter.writeList(bytes.concat(payload, hex"80"));
    }

    function root(bytes32[] memory keys, bytes[] memory values) internal pure returns (bytes32) {
        if (keys.length == 0) return MerkleTrie.EMPTY_ROOT;
        return keccak256(node(keys, values, 0, keys.length, 0));
    }

    /// @dev keys[a, b): the keys of [lo, hi) whose nibble `depth` is `n`.
    function subrange(bytes32[] memory keys, uint256 lo, uint256 hi, uint256 depth, uint256 n)
        internal
        pure
        returns (uint256 a, uint256 b)
    {
        a = lo;
        while (a < hi && nibble(keys[a], depth) < n) {
            ++a;
        }
        b = a;
        while (b < hi && nibble(keys[b], depth) == n) {
            ++b;
        }
    }

    struct Walk {
        bytes[] out;
        uint256 count;
        bytes sibling;
    }

    function push(Walk memory w, bytes memory n) internal pure {
        w.out[w.count++] = n;
    }

    /// @dev The proof for `target`: path nodes (root, then those of 32 bytes or more); when
    ///      `deleting` a present key whose branch is left with one child of 32 bytes or more, that
    ///      child last.
    function proof(bytes32[] memory keys, bytes[] memory values, bytes32 target, bool deleting)
        internal
        pure
        returns (bytes[] memory)
    {
        Walk memory w = Walk(new bytes[](140), 0, "");
        if (keys.length != 0) _walk(w, keys, values, target, deleting);
        if (w.sibling.length != 0) push(w, w.sibling);
        bytes[] memory out = w.out;
        uint256 count = w.count;
        assembly ("memory-safe") {
            mstore(out, count)
        }
        return out;
    }

    function _walk(Walk memory w, bytes32[] memory keys, bytes[] memory values, bytes32 target, bool deleting)
        private
        pure
    {
        uint256 lo;
        uint256 hi = keys.length;
        uint256 depth;
        while (true) {
            bytes memory n = node(keys, values, lo, hi, depth);
            if (w.count == 0 || n.length >= 32) push(w, n);
            if (hi - lo == 1) return;
            uint256 c = commonPrefix(keys[lo], keys[hi - 1]);
            if (c > depth) {
                if (commonPrefix(keys[lo], target) < c) return;
                depth = c;
                bytes memory br = branch(keys, values, lo, hi, depth);
                if (br.length >= 32) push(w, br);
            }
            (uint256 a, uint256 b) = subrange(keys, lo, hi, depth, nibble(target, depth));
            if (a == b) return;
            if (deleting && b - a == 1 && keys[a] == target) _sibling(w, keys, values, lo, hi, depth, a);
            (lo, hi) = (a, b);
            depth += 1;
        }
    }

    /// @dev Records the other child of the branch keys[lo, hi) at `depth` if the leaf keys[k] is one
    ///      of exactly two children.
    function _sibling(
        Walk memory w,
        bytes32[] memory keys,
        bytes[] memory values,
        uint256 lo,
        uint256 hi,
        uint256 depth,
        uint256 k
    ) private pure {
        uint256 first = nibble(keys[lo], depth);
        uint256 last = nibble(keys[hi - 1], depth);
        uint256 other = nibble(keys[k], depth) == first ? last : first;
        (uint256 a, uint256 b) = subrange(keys, lo, hi, depth, other);
        // Exactly two children: the key's leaf and the keys [a, b).
        if (b - a + 1 != hi - lo) return;
        bytes memory s = node(keys, values, a, b, depth + 1);
        if (s.length >= 32) w.sibling = s;
    }
}

contract MerkleTrieTest is Test {
    VmFixtures internal constant VM_FIXTURES = VmFixtures(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Case {
        string name;
        bytes32 root;
        bytes32 key;
        bytes[] proof;
        uint256 pathLength;
        bool found;
        bytes value;
        bytes newValue;
        bytes32 newRoot;
    }

    string internal constant CASE_TYPE =
        "Case(string name,bytes32 root,bytes32 key,bytes[] proof,uint256 pathLength,bool found,bytes value,bytes newValue,bytes32 newRoot)";

    MerkleTrieHarness internal trie;
    RLPHarness internal rlp;

    function setUp() public {
        trie = new MerkleTrieHarness();
        rlp = new RLPHarness();
    }

    function _cases(string memory key) internal view returns (Case[] memory) {
        string memory json = VM_FIXTURES.readFile("test/fixtures/mpt.json");
        return abi.decode(VM_FIXTURES.parseJsonTypeArray(json, key, CASE_TYPE), (Case[]));
    }

    // ------------------------------------------------------------------------------------------
    // Fixtures from core/tests/it/mpt_fixtures.rs

    function test_fixtures() public view {
        Case[] memory cases = _cases(".cases");
        assertGt(cases.length, 500);
        for (uint256 i; i < cases.length; ++i) {
            uint256 freeMemory;
            assembly ("memory-safe") {
                freeMemory := mload(0x40)
            }
            _checkCase(cases[i], i);
            // Nothing allocated while checking a case is used later.
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    function _checkCase(Case memory c, uint256 i) internal view {
        (bool found, bytes memory value) = trie.get(c.root, c.key, c.proof);
        assertTrue(found == c.found, c.name);
        assertEq0(value, c.value, c.name);
        assertEq(trie.update(c.root, c.key, c.newValue, c.proof), c.newRoot, c.name);

        bytes[] memory path = _prefix(c.proof, c.pathLength);
        (found, value) = trie.get(c.root, c.key, path);
        assertTrue(found == c.found, c.name);
        assertEq0(value, c.value, c.name);

        // Another value gives another root (a delete's proof minus its sibling serves an insert).
        bytes memory other = c.newValue.length == 0 ? bytes(hex"01") : bytes.concat(c.newValue, hex"00");
        assertTrue(trie.update(c.root, c.key, other, path) != c.newRoot, c.name);

        _checkTampering(c, i);
    }

    function _checkTampering(Case memory c, uint256 i) internal view {
        // An extra node: refused by update, ignored by get.
        bytes[] memory longer = _prefix(c.proof, c.proof.length + 1);
        longer[c.proof.length] = hex"c0";
        _expectError(
            _tryUpdate(c, c.newValue, longer),
            abi.encodeWithSelector(MerkleTrie.ProofTooLong.selector, c.proof.length, c.proof.length + 1),
            c.name
        );
        (bool found,) = trie.get(c.root, c.key, longer);
        assertTrue(found == c.found, c.name);

        // A wrong root.
        bytes memory err = _tryUpdateRoot(c, c.root ^ bytes32(uint256(1)));
        assertTrue(err.length >= 4, c.name);

        if (c.proof.length == 0) return;
        // Any listed node altered: the update fails at that node.
        uint256 j = i % c.proof.length;
        bytes[] memory bad = _prefix(c.proof, c.proof.length);
        bad[j] = _flipLastByte(bad[j]);
        err = _tryUpdate(c, c.newValue, bad);
        assertEq(_selector(err), MerkleTrie.InvalidProofNodeHash.selector, c.name);
        (uint256 index,,) = abi.decode(_args(err), (uint256, bytes32, bytes32));
        assertEq(index, j, c.name);

        // The root node altered: get fails too.
        bad = _prefix(c.proof, c.proof.length);
        bad[0] = _flipLastByte(bad[0]);
        try trie.get(c.root, c.key, bad) {
            revert(string.concat(c.name, ": get accepted a tampered root node"));
        } catch (bytes memory reason) {
            assertEq(_selector(reason), MerkleTrie.InvalidProofNodeHash.selector, c.name);
        }

        // The last node missing.
        err = _tryUpdate(c, c.newValue, _prefix(c.proof, c.proof.length - 1));
        bytes4 selector =
            c.proof.length > c.pathLength ? MerkleTrie.MissingSibling.selector : MerkleTrie.ProofTooShort.selector;
        assertEq(_selector(err), selector, c.name);
    }

    function _tryUpdate(Case memory c, bytes memory value, bytes[] memory proof) internal view returns (bytes memory) {
        try trie.update(c.root, c.key, value, proof) returns (bytes32) {
            revert(string.concat(c.name, ": update accepted a bad proof"));
        } catch (bytes memory reason) {
            return reason;
        }
    }

    function _tryUpdateRoot(Case memory c, bytes32 root) internal view returns (bytes memory) {
        try trie.update(root, c.key, c.newValue, c.proof) returns (bytes32) {
            revert(string.concat(c.name, ": update accepted a wrong root"));
        } catch (bytes memory reason) {
            return reason;
        }
    }

    function _expectError(bytes memory actual, bytes memory expected, string memory name) internal pure {
        assertEq0(actual, expected, name);
    }

    function _selector(bytes memory reason) internal pure returns (bytes4 s) {
        if (reason.length < 4) return s;
        assembly ("memory-safe") {
            s := and(mload(add(reason, 0x20)), shl(224, 0xffffffff))
        }
    }

    function _args(bytes memory reason) internal pure returns (bytes memory args) {
        args = new bytes(reason.length - 4);
        for (uint256 k; k < args.length; ++k) {
            args[k] = reason[k + 4];
        }
    }

    function _prefix(bytes[] memory proof, uint256 n) internal pure returns (bytes[] memory out) {
        out = new bytes[](n);
        for (uint256 k; k < n && k < proof.length; ++k) {
            out[k] = proof[k];
        }
    }

    function _flipLastByte(bytes memory node) internal pure returns (bytes memory out) {
        out = bytes.concat(node);
        out[out.length - 1] ^= 0x01;
    }

    // ------------------------------------------------------------------------------------------
    // Gas: account tries of 100 and 10,000 leaves (keys keccak256(i)), from the fixture file

    function test_gas() public {
        Case[] memory cases = _cases(".gas");
        assertEq(cases.length, 6);
        for (uint256 i; i < cases.length; ++i) {
            Case memory c = cases[i];
            assertEq(trie.update(c.root, c.key, c.newValue, c.proof), c.newRoot, c.name);
            uint256 gasGet = trie.getGas(c.root, c.key, c.proof);
            uint256 gasUpdate = trie.updateGas(c.root, c.key, c.newValue, c.proof);
            uint256 before = gasleft();
            trie.update(c.root, c.key, c.newValue, c.proof);
            uint256 gasCall = before - gasleft();
            emit log_named_uint(string.concat(c.name, ": get (library)"), gasGet);
            emit log_named_uint(string.concat(c.name, ": update (library)"), gasUpdate);
            emit log_named_uint(string.concat(c.name, ": update (external call, proof decoded)"), gasCall);
            emit log_named_uint(string.concat(c.name, ": proof nodes"), c.proof.length);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Unit cases of the proof format

    function test_emptyTrie() public view {
        bytes[] memory none = new bytes[](0);
        (bool found, bytes memory value) = trie.get(MerkleTrie.EMPTY_ROOT, bytes32(uint256(1)), none);
        assertTrue(!found);
        assertEq(value.length, 0);
        assertEq(trie.update(MerkleTrie.EMPTY_ROOT, bytes32(uint256(1)), "", none), MerkleTrie.EMPTY_ROOT);
        assertEq(MerkleTrie.EMPTY_ROOT, keccak256(hex"80"));
    }

    function test_singleLeaf() public view {
        bytes32 key = keccak256("key");
        bytes memory value = hex"c0ffee";
        bytes[] memory none = new bytes[](0);
        bytes32 root = trie.update(MerkleTrie.EMPTY_ROOT, key, value, none);
        bytes memory leaf = RefTrie.leaf(key, 0, value);
        assertEq(root, keccak256(leaf));
        bytes[] memory proof = new bytes[](1);
        proof[0] = leaf;
        (bool found, bytes memory got) = trie.get(root, key, proof);
        assertTrue(found);
        assertEq0(got, value);
        assertEq(trie.update(root, key, "", proof), MerkleTrie.EMPTY_ROOT);
        (found,) = trie.get(root, keccak256("other"), proof);
        assertTrue(!found);
    }

    function test_revertsWithoutProof() public {
        bytes[] memory none = new bytes[](0);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
        trie.get(keccak256("root"), bytes32(0), none);
    }

    function test_revertsOnMalformedNode() public {
        // A one-item list hashed as the root.
        bytes[] memory proof = new bytes[](1);
        proof[0] = hex"c180";
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.UnexpectedNode.selector, 0));
        trie.get(keccak256(proof[0]), bytes32(0), proof);
        // A leaf that does not reach the key's length.
        proof[0] = hex"c482301201";
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.UnexpectedNode.selector, 0));
        trie.get(keccak256(proof[0]), bytes32(0), proof);
    }

    function test_missingSibling() public {
        // Two keys that part at nibble 0, with values long enough that both leaves are hashed.
        bytes32[] memory keys = new bytes32[](2);
        bytes[] memory values = new bytes[](2);
        keys[0] = bytes32(uint256(0x1) << 252);
        keys[1] = bytes32(uint256(0x2) << 252);
        values[0] = new bytes(40);
        values[1] = new bytes(40);
        bytes32 root = RefTrie.root(keys, values);
        bytes[] memory proof = RefTrie.proof(keys, values, keys[0], true);
        assertEq(proof.length, 3); // branch, leaf, sibling leaf
        bytes[] memory oneLeaf = new bytes[](1);
        oneLeaf[0] = RefTrie.leaf(keys[1], 0, values[1]);
        assertEq(trie.update(root, keys[0], "", proof), keccak256(oneLeaf[0]));
        assertEq(keccak256(proof[2]), keccak256(RefTrie.leaf(keys[1], 1, values[1])));
        bytes[] memory path = _prefix(proof, 2);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.MissingSibling.selector, 0));
        trie.update(root, keys[0], "", path);
    }

    // ------------------------------------------------------------------------------------------
    // MPT fuzz: update against a trie rebuilt from scratch

    struct Set {
        bytes32[] keys;
        bytes[] values;
    }

    function _rand(uint256 seed, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    /// @dev A key sharing a random number of leading nibbles (often 58 or more) with `base`.
    function _key(bytes32 base, uint256 r) internal pure returns (bytes32) {
        uint256 keep = r % 2 == 0 ? 56 + ((r >> 8) % 9) : (r >> 8) % 65;
        bytes32 mask = keep == 0 ? bytes32(0) : bytes32(type(uint256).max << (256 - 4 * keep));
        return (base & mask) | (keccak256(abi.encode(r)) & ~mask);
    }

    function _value(uint256 r) internal pure returns (bytes memory v) {
        uint256 kind = r % 3;
        uint256 len = kind == 0 ? 1 : kind == 1 ? 1 + (r >> 8) % 40 : 70 + (r >> 8) % 40;
        v = new bytes(len);
        for (uint256 k; k < len; ++k) {
            v[k] = bytes1(uint8(uint256(keccak256(abi.encode(r, k))) % 0x7f) + 1);
        }
    }

    /// @dev `s` with `key` set to `value` (removed when empty), kept sorted.
    function _with(Set memory s, bytes32 key, bytes memory value) internal pure returns (Set memory out) {
        uint256 n = s.keys.length;
        bool present;
        for (uint256 k; k < n; ++k) {
            if (s.keys[k] == key) present = true;
        }
        uint256 m = value.length == 0 ? (present ? n - 1 : n) : (present ? n : n + 1);
        out.keys = new bytes32[](m);
        out.values = new bytes[](m);
        uint256 j;
        bool placed = value.length == 0;
        for (uint256 k; k < n; ++k) {
            if (!placed && key < s.keys[k]) {
                (out.keys[j], out.values[j]) = (key, value);
                (j, placed) = (j + 1, true);
            }
            if (s.keys[k] == key) {
                if (value.length != 0) {
                    (out.keys[j], out.values[j]) = (key, value);
                    (j, placed) = (j + 1, true);
                }
                continue;
            }
            (out.keys[j], out.values[j]) = (s.keys[k], s.values[k]);
            ++j;
        }
        if (!placed) (out.keys[j], out.values[j]) = (key, value);
    }

    function _update(Set memory s, bytes32 key, bytes memory value) internal pure returns (Set memory next) {
        bool present;
        for (uint256 k; k < s.keys.length; ++k) {
            if (s.keys[k] == key) present = true;
        }
        bytes32 root = RefTrie.root(s.keys, s.values);
        bytes[] memory proof = RefTrie.proof(s.keys, s.values, key, value.length == 0 && present);
        next = _with(s, key, value);
        assertEq(MerkleTrie.update(root, key, value, proof), RefTrie.root(next.keys, next.values));
        (bool found,) = MerkleTrie.get(root, key, proof);
        assertTrue(found == present);
    }

    /// @dev Builds a trie of up to 8 clustered keys from empty by updates, replaces one, then deletes
    ///      them all (in another order) down to the empty trie; every root is checked against the
    ///      reference rebuilt from scratch.
    function testFuzz_buildAndDestroy(uint256 seed) public pure {
        uint256 n = 1 + seed % 8;
        bytes32 base = keccak256(abi.encode(seed));
        Set memory s;
        s.keys = new bytes32[](0);
        s.values = new bytes[](0);
        bytes32[] memory inserted = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            inserted[i] = _key(base, _rand(seed, i));
            s = _update(s, inserted[i], _value(_rand(seed, 100 + i)));
        }
        s = _update(s, inserted[seed % n], _value(_rand(seed, 200)));
        for (uint256 i; i < n; ++i) {
            s = _update(s, inserted[(i * 5 + seed % n) % n], "");
        }
        // Keys may repeat, so some deletes above hit absent keys; finish the job.
        for (uint256 i; i < n; ++i) {
            s = _update(s, inserted[i], "");
        }
        assertEq(s.keys.length, 0);
        assertEq(RefTrie.root(s.keys, s.values), MerkleTrie.EMPTY_ROOT);
    }

    /// @dev One update (insert near, insert far, replace or delete) on a random trie of up to 12 keys.
    function testFuzz_updateMatchesRebuild(uint256 seed, uint8 op) public pure {
        uint256 n = seed % 13;
        bytes32 base = keccak256(abi.encode(seed));
        Set memory s;
        s.keys = new bytes32[](0);
        s.values = new bytes[](0);
        for (uint256 i; i < n; ++i) {
            s = _with(s, _key(base, _rand(seed, i)), _value(_rand(seed, 100 + i)));
        }
        bytes32 key;
        if (op % 3 == 0 && s.keys.length != 0) key = s.keys[_rand(seed, 300) % s.keys.length];
        else if (op % 3 == 1) key = _key(base, _rand(seed, 301));
        else key = keccak256(abi.encode(seed, "far"));
        bytes memory value = (op / 3) % 2 == 0 ? bytes("") : _value(_rand(seed, 302));
        _update(s, key, value);
    }

    // ------------------------------------------------------------------------------------------
    // RLP

    function test_rlpKnownVectors() public pure {
        assertEq0(RLPWriter.writeBytes("dog"), hex"83646f67");
        assertEq0(RLPWriter.writeBytes(""), hex"80");
        assertEq0(RLPWriter.writeBytes(hex"00"), hex"00");
        assertEq0(RLPWriter.writeBytes(hex"7f"), hex"7f");
        assertEq0(RLPWriter.writeBytes(hex"80"), hex"8180");
        assertEq0(RLPWriter.writeUint(0), hex"80");
        assertEq0(RLPWriter.writeUint(15), hex"0f");
        assertEq0(RLPWriter.writeUint(0x80), hex"8180");
        assertEq0(RLPWriter.writeUint(1024), hex"820400");
        assertEq0(
            RLPWriter.writeUint(type(uint256).max),
            hex"a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        );
        assertEq0(RLPWriter.writeBool(true), hex"01");
        assertEq0(RLPWriter.writeBool(false), hex"80");
        assertEq0(RLPWriter.writeAddress(address(0x1234)), hex"940000000000000000000000000000000000001234");
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.writeBytes("cat");
        items[1] = RLPWriter.writeBytes("dog");
        assertEq0(RLPWriter.writeList(items), hex"c88363617483646f67");
        assertEq0(RLPWriter.writeList(new bytes[](0)), hex"c0");
        bytes memory lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
        assertEq0(RLPWriter.writeBytes(lorem), bytes.concat(hex"b838", lorem));
        assertEq0(RLPWriter.writeHeader(56, true), hex"f838");
        assertEq0(RLPWriter.writeHeader(1024, false), hex"b90400");
        assertEq0(RLPWriter.writeHeader(3, true), hex"c3");
    }

    function test_rlpRejectsNonCanonical() public view {
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"8105", 0)), RLPReader.RLPNonCanonical.selector);
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"b801ff", 0)), RLPReader.RLPNonCanonical.selector);
        _expectRlpError(
            abi.encodeCall(rlp.readBytes, (bytes.concat(hex"b90038", new bytes(56)), 0)),
            RLPReader.RLPNonCanonical.selector
        );
        _expectRlpError(abi.encodeCall(rlp.listLength, (hex"f80180", 0)), RLPReader.RLPNonCanonical.selector);
        _expectRlpError(abi.encodeCall(rlp.readUint, (hex"820001", 0)), RLPReader.RLPInvalidUint.selector);
        _expectRlpError(abi.encodeCall(rlp.readUint, (hex"00", 0)), RLPReader.RLPInvalidUint.selector);
        _expectRlpError(
            abi.encodeCall(rlp.readUint, (bytes.concat(hex"a1", new bytes(33)), 0)), RLPReader.RLPInvalidUint.selector
        );
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"83aabb", 0)), RLPReader.RLPOutOfBounds.selector);
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"", 0)), RLPReader.RLPOutOfBounds.selector);
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"b8", 0)), RLPReader.RLPOutOfBounds.selector);
        _expectRlpError(abi.encodeCall(rlp.readList, (hex"c2838081")), RLPReader.RLPOutOfBounds.selector);
        _expectRlpError(abi.encodeCall(rlp.readList, (hex"c18080")), RLPReader.RLPTrailingBytes.selector);
        _expectRlpError(abi.encodeCall(rlp.readList, (hex"80")), RLPReader.RLPNotAList.selector);
        _expectRlpError(abi.encodeCall(rlp.readBytes, (hex"c0", 0)), RLPReader.RLPNotAString.selector);
        _expectRlpError(abi.encodeCall(rlp.readAddress, (hex"8101", 0)), RLPReader.RLPNonCanonical.selector);
        _expectRlpError(abi.encodeCall(rlp.readAddress, (hex"820101", 0)), RLPReader.RLPInvalidLength.selector);
        _expectRlpError(abi.encodeCall(rlp.readBytes32, (hex"820101", 0)), RLPReader.RLPInvalidLength.selector);
    }

    function _expectRlpError(bytes memory call, bytes4 selector) internal view {
        (bool ok, bytes memory reason) = address(rlp).staticcall(call);
        assertTrue(!ok, "accepted");
        assertEq(_selector(reason), selector);
    }

    function testFuzz_rlpBytesRoundTrip(bytes memory data) public view {
        bytes memory enc = RLPWriter.writeBytes(data);
        (bool isList, uint256 p, uint256 len) = rlp.readHeader(enc, 0);
        assertTrue(!isList);
        assertEq(p + len, enc.length);
        assertEq0(rlp.readBytes(enc, 0), data);
        uint256 headerLen =
            data.length == 1 && uint8(data[0]) < 0x80 ? 0 : data.length < 56 ? 1 : data.length < 256 ? 2 : 3;
        assertEq(enc.length, headerLen + data.length);
    }

    function testFuzz_rlpUintRoundTrip(uint256 value) public view {
        bytes memory enc = RLPWriter.writeUint(value);
        assertEq(rlp.readUint(enc, 0), value);
        uint256 bytesLen;
        for (uint256 v = value; v != 0; v >>= 8) {
            ++bytesLen;
        }
        assertEq(enc.length, value != 0 && value < 0x80 ? 1 : 1 + bytesLen);
    }

    function testFuzz_rlpListRoundTrip(bytes memory a, uint256 b, address c, bytes32 d, bytes memory e) public view {
        bytes[] memory inner = new bytes[](1);
        inner[0] = RLPWriter.writeBytes(e);
        bytes[] memory items = new bytes[](5);
        items[0] = RLPWriter.writeBytes(a);
        items[1] = RLPWriter.writeUint(b);
        items[2] = RLPWriter.writeAddress(c);
        items[3] = RLPWriter.writeBytes32(d);
        items[4] = RLPWriter.writeList(inner);
        bytes memory list = RLPWriter.writeList(items);
        assertEq0(list, RLPWriter.writeList(bytes.concat(items[0], items[1], items[2], items[3], items[4])));
        (uint256[] memory offsets, uint256[] memory lengths) = rlp.readList(list);
        assertEq(offsets.length, 5);
        for (uint256 i; i < 5; ++i) {
            assertEq(lengths[i], items[i].length);
        }
        assertEq0(rlp.readBytes(list, offsets[0]), a);
        assertEq(rlp.readUint(list, offsets[1]), b);
        assertEq(rlp.readAddress(list, offsets[2]), c);
        assertEq(rlp.readBytes32(list, offsets[3]), d);
        assertEq(rlp.listLength(list, offsets[4]), 1);
        assertEq0(rlp.readBytes(list, offsets[4] + (items[4].length - inner[0].length)), e);
    }

    /// @dev The same payload under every header form: only the canonical one decodes (to it).
    function testFuzz_rlpOnlyCanonicalHeadersDecode(bytes memory payload, uint8 form, bool isList) public view {
        uint256 len = payload.length;
        bytes memory header;
        uint8 base = isList ? 0xc0 : 0x80;
        uint256 f = form % 3;
        if (f == 0) {
            header = RLPWriter.writeHeader(len, isList); // canonical
        } else if (f == 1) {
            // forge-lint: disable-next-line(unsafe-typecast)
            header = abi.encodePacked(base + 56, uint8(len)); // long form, one length byte (len <= 255)
            if (len > 255) return;
        } else {
            if (len > type(uint16).max) return;
            // forge-lint: disable-next-line(unsafe-typecast)
            header = abi.encodePacked(base + 57, uint16(len)); // long form, two length bytes (len <= 65535)
        }
        bytes memory data = bytes.concat(header, payload);
        bool canonical = keccak256(header) == keccak256(RLPWriter.writeHeader(len, isList));
        // A one-byte string below 0x80 is canonical only as itself.
        if (!isList && len == 1 && uint8(payload[0]) < 0x80) canonical = false;
        try rlp.readHeader(data, 0) returns (bool l, uint256 p, uint256 plen) {
            assertTrue(canonical, "non-canonical header accepted");
            assertTrue(l == isList);
            assertEq(p, header.length);
            assertEq(plen, len);
        } catch (bytes memory reason) {
            assertTrue(!canonical, "canonical header refused");
            assertEq(_selector(reason), RLPReader.RLPNonCanonical.selector);
        }
    }
}
