// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RLPWriter} from "./RLPWriter.sol";

/// @title MerkleTrie
/// @notice Proofs of inclusion and exclusion, and root updates, for Ethereum's secure Merkle Patricia
///         trie with 32-byte keys (the account trie: key keccak256(address); a storage trie: key
///         keccak256(slot)). docs/fault-proof.md section 6; `core/src/fault/mpt.rs` produces the proofs.
///
///         Proof format (as `eth_getProof`): the RLP of the nodes on the path from the root towards
///         `key`, root node first. A node whose RLP is shorter than 32 bytes is inlined in its parent
///         (as Ethereum stores it) and is not listed; every node referenced by hash is listed. The path
///         ends at the key's leaf (inclusion), or where the key's absence shows (exclusion): an empty
///         branch slot, a leaf with another key, or an extension that diverges from the key. The empty
///         trie (`EMPTY_ROOT`) has the empty proof.
///
///         Deletion rule: when deleting `key` leaves its branch with a single child and that child is
///         referenced by hash (its RLP is 32 bytes or longer), the proof carries that child's node
///         LAST, after the path nodes (the branch collapses into it). In every other case (insert,
///         replace, a delete where the branch keeps two or more children, a remaining child that is
///         inlined, deleting the last key, deleting an absent key) the proof is exactly the path.
///
///         `get` accepts and ignores nodes after the path (so a deletion proof also serves `get`);
///         `update` requires the proof to be exactly the path plus the node the deletion rule asks for.
/// @dev A trie path is a bytes32 of nibbles, left-aligned, with its length in nibbles (0..64).
///      Nodes and leaf values longer than 65535 bytes are refused (`UnexpectedNode`); trie nodes are
///      at most 532 bytes and account leaves about 110.
library MerkleTrie {
    /// @notice Root of the empty trie, keccak256(rlp("")).
    bytes32 internal constant EMPTY_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice `proof[index]` does not hash to the reference its parent (or the root) gives.
    error InvalidProofNodeHash(uint256 index, bytes32 expected, bytes32 actual);
    /// @notice The path needs a node at `proof[index]`, and the proof has only `index` nodes.
    error ProofTooShort(uint256 index);
    /// @notice `update` used `used` nodes of a proof of `length` nodes (extra nodes are refused).
    error ProofTooLong(uint256 used, uint256 length);
    /// @notice A node at nibble depth `depth` is malformed or cannot be there: not a 2- or 17-item
    ///         list, a bad path encoding, a leaf that does not end at the key's length, an extension
    ///         reaching the key's length or followed by a non-branch, a branch with a value, a child
    ///         reference that is neither a 32-byte hash nor an inlined node shorter than 32 bytes, a
    ///         branch with fewer than two children.
    error UnexpectedNode(uint256 depth);
    /// @notice Deleting the key collapses the branch at nibble depth `depth` into its one remaining
    ///         child, which is referenced by hash, and the proof does not end with that child's node.
    error MissingSibling(uint256 depth);

    uint256 private constant BRANCH = 0;
    uint256 private constant EXTENSION = 1;
    uint256 private constant LEAF = 2;

    // How the path towards the key ends.
    uint256 private constant END_EMPTY_TRIE = 0;
    uint256 private constant END_LEAF_MATCH = 1; // the key's leaf
    uint256 private constant END_LEAF_OTHER = 2; // a leaf with another key
    uint256 private constant END_EXTENSION_OTHER = 3; // an extension diverging from the key
    uint256 private constant END_EMPTY_SLOT = 4; // a branch whose slot for the key is empty
    uint256 private constant CONTINUE = 5; // the path goes on to a child

    /// @dev A position on the path: the node, the proof nodes used so far, the node's nibble depth,
    ///      and the node decoded (see `_decode`).
    struct Cursor {
        bytes node;
        uint256 used;
        uint256 depth;
        bool afterExtension;
        uint256 kind;
        bytes32 path;
        uint256 pathLen;
        uint256 a;
        uint256 b;
    }

    /// @dev The nodes on the path. metas[i] packs kind | depth << 8 | pathLen << 16 | a << 32 | b << 64
    ///      where (a, b) is, for a branch, the offset and length of the key's slot and, for a leaf or an
    ///      extension, the offset and length of its second item (value or child reference).
    struct Path {
        bytes[] nodes;
        uint256[] metas;
        bytes32[] paths;
        uint256 length;
        uint256 used;
        uint256 end;
    }

    /// @dev The node that replaces a subtree while the update moves up the path. A branch is kept
    ///      encoded (`node`); a leaf or an extension as its parts, so that a parent extension can
    ///      absorb its path.
    struct Replacement {
        bool deleted;
        uint256 kind;
        bytes node;
        bytes32 path;
        uint256 pathLen;
        bytes second;
    }

    /// @notice Looks `key` up in the trie with root `root`.
    /// @return found Whether the key is in the trie.
    /// @return value Its value (the payload of the leaf's value string), empty when not found.
    function get(bytes32 root, bytes32 key, bytes[] memory proof)
        internal
        pure
        returns (bool found, bytes memory value)
    {
        if (root == EMPTY_ROOT) return (false, value);
        Cursor memory c = _start(root, proof);
        while (true) {
            uint256 end = _decode(c, key);
            if (end == CONTINUE) {
                _advance(c, proof);
            } else if (end == END_LEAF_MATCH) {
                return (true, _stringPayload(c.node, c.a));
            } else {
                return (false, value);
            }
        }
    }

    /// @notice The root after setting `key` to `value` (insert or replace), or deleting `key` when
    ///         `value` is empty, in the trie with root `root`; exactly the root Ethereum's trie has.
    ///         Deleting an absent key returns `root`. See the contract's NatSpec for the proof format.
    function update(bytes32 root, bytes32 key, bytes memory value, bytes[] memory proof)
        internal
        pure
        returns (bytes32 newRoot)
    {
        Path memory p = _walk(root, key, proof);
        Replacement memory r;
        if (value.length == 0) {
            if (p.end != END_LEAF_MATCH) {
                // Deleting an absent key changes nothing.
                if (p.used != proof.length) revert ProofTooLong(p.used, proof.length);
                return root;
            }
            r.deleted = true;
        } else {
            r = _insert(p, key, RLPWriter.writeBytes(value));
        }
        for (uint256 i = p.length - (p.length == 0 ? 0 : 1); i > 0;) {
            unchecked {
                --i;
            }
            _absorb(p, i, r, key, proof);
        }
        if (p.used != proof.length) revert ProofTooLong(p.used, proof.length);
        if (r.deleted) return EMPTY_ROOT;
        return keccak256(_encode(r));
    }

    // ------------------------------------------------------------------------------------------
    // Walking the path

    function _walk(bytes32 root, bytes32 key, bytes[] memory proof) private pure returns (Path memory p) {
        if (root == EMPTY_ROOT) return p; // END_EMPTY_TRIE, no nodes
        // Each listed node is one entry; inlined nodes add at most three (extension, branch, leaf:
        // an inlined branch cannot hold another inlined branch or extension within 32 bytes).
        uint256 cap = proof.length + 3;
        p.nodes = new bytes[](cap);
        p.metas = new uint256[](cap);
        p.paths = new bytes32[](cap);
        Cursor memory c = _start(root, proof);
        while (true) {
            uint256 end = _decode(c, key);
            uint256 i = p.length++;
            p.nodes[i] = c.node;
            p.metas[i] = c.kind | (c.depth << 8) | (c.pathLen << 16) | (c.a << 32) | (c.b << 64);
            p.paths[i] = c.path;
            if (end != CONTINUE) {
                p.end = end;
                p.used = c.used;
                return p;
            }
            _advance(c, proof);
        }
    }

    function _start(bytes32 root, bytes[] memory proof) private pure returns (Cursor memory c) {
        c.node = _rootNode(root, proof);
        c.used = 1;
    }

    /// @dev Decodes the cursor's node; returns how the path ends there, or CONTINUE. Sets (a, b) to
    ///      the key's slot of a branch, or the second item of a leaf or an extension.
    function _decode(Cursor memory c, bytes32 key) private pure returns (uint256) {
        uint256 depth = c.depth;
        (uint256 kind, bytes32 path, uint256 pathLen, uint256 a, uint256 b) =
            _decodeNode(c.node, depth, depth < 64 ? _nibble(key, depth) : 0);
        // The node after an extension must be a branch.
        if (c.afterExtension && kind != BRANCH) revert UnexpectedNode(depth);
        c.kind = kind;
        c.path = path;
        c.pathLen = pathLen;
        c.a = a;
        c.b = b;
        // A branch slot of one byte is the empty string.
        if (kind == BRANCH) return b == 1 ? END_EMPTY_SLOT : CONTINUE;
        if (kind == LEAF) return path == key << (4 * depth) ? END_LEAF_MATCH : END_LEAF_OTHER;
        return path == _keyPath(key, depth, pathLen) ? CONTINUE : END_EXTENSION_OTHER;
    }

    /// @dev Moves the cursor to the child at (a, b).
    function _advance(Cursor memory c, bytes[] memory proof) private pure {
        (c.node, c.used) = _resolve(c.node, c.a, c.b, proof, c.used, c.depth);
        if (c.kind == BRANCH) {
            c.depth += 1;
            c.afterExtension = false;
        } else {
            c.depth += c.pathLen;
            c.afterExtension = true;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Updating

    /// @dev The node replacing the last node of the path (or the whole empty trie) once `key` is set
    ///      to the value whose RLP string is `valueItem`.
    function _insert(Path memory p, bytes32 key, bytes memory valueItem) private pure returns (Replacement memory r) {
        if (p.end == END_EMPTY_TRIE) return Replacement(false, LEAF, "", key, 64, valueItem);
        uint256 last = p.length - 1;
        uint256 meta = p.metas[last];
        uint256 depth = (meta >> 8) & 0xff;
        if (p.end == END_LEAF_MATCH) return Replacement(false, LEAF, "", p.paths[last], 64 - depth, valueItem);
        bytes memory node = p.nodes[last];
        if (p.end == END_EMPTY_SLOT) {
            bytes memory leaf = _encodeShort(true, key << (4 * (depth + 1)), 63 - depth, valueItem);
            r.kind = BRANCH;
            r.node = _splice(node, (meta >> 32) & 0xffffffff, meta >> 64, _ref(leaf));
            return r;
        }
        bytes memory second = _slice(node, (meta >> 32) & 0xffffffff, meta >> 64);
        return _split(p.end == END_LEAF_OTHER, p.paths[last], meta, second, key << (4 * depth), valueItem);
    }

    /// @dev Inserts the key whose remaining nibbles are `keyRest` at a leaf (`isLeaf`) or an extension
    ///      whose path diverges from it: a new branch where the paths part, under an extension for
    ///      their common nibbles if any. `second` is the old node's value or child reference.
    function _split(
        bool isLeaf,
        bytes32 path,
        uint256 meta,
        bytes memory second,
        bytes32 keyRest,
        bytes memory valueItem
    ) private pure returns (Replacement memory r) {
        uint256 pathLen = (meta >> 16) & 0xff;
        uint256 common = _commonPrefix(path, keyRest, pathLen);
        bytes memory oldChild = second; // an extension's child reference, when no nibble of it is left
        if (isLeaf || common + 1 < pathLen) {
            oldChild = _ref(_encodeShort(isLeaf, path << (4 * (common + 1)), pathLen - common - 1, second));
        }
        uint256 newLeafLen = 63 - ((meta >> 8) & 0xff) - common;
        bytes memory newLeaf = _encodeShort(true, keyRest << (4 * (common + 1)), newLeafLen, valueItem);
        bytes memory branch = _branch2(_nibble(path, common), oldChild, _nibble(keyRest, common), _ref(newLeaf));
        if (common == 0) {
            r.kind = BRANCH;
            r.node = branch;
        } else {
            r.kind = EXTENSION;
            r.path = path & _mask(common);
            r.pathLen = common;
            r.second = _ref(branch);
        }
    }

    /// @dev Makes `r` (the new subtree below path entry `i`) the replacement of entry `i`.
    function _absorb(Path memory p, uint256 i, Replacement memory r, bytes32 key, bytes[] memory proof) private pure {
        uint256 meta = p.metas[i];
        if (meta & 0xff == EXTENSION) {
            if (r.deleted) revert UnexpectedNode((meta >> 8) & 0xff);
            uint256 extLen = (meta >> 16) & 0xff;
            if (r.kind == BRANCH) {
                r.kind = EXTENSION;
                r.second = _ref(r.node);
                r.path = p.paths[i];
                r.pathLen = extLen;
            } else {
                // A collapsed child (leaf or extension) absorbs the extension's path.
                r.path = p.paths[i] | (r.path >> (4 * extLen));
                r.pathLen += extLen;
            }
        } else if (!r.deleted) {
            // A branch (a leaf never has a child on the path): the key's slot takes the new child.
            r.node = _splice(p.nodes[i], (meta >> 32) & 0xffffffff, meta >> 64, _ref(_encode(r)));
            r.kind = BRANCH;
        } else {
            _removeFromBranch(p, i, r, key, proof);
        }
    }

    /// @dev The key's child of branch entry `i` is gone: empty its slot, or collapse the branch into
    ///      its one remaining child.
    function _removeFromBranch(Path memory p, uint256 i, Replacement memory r, bytes32 key, bytes[] memory proof)
        private
        pure
    {
        uint256 meta = p.metas[i];
        uint256 depth = (meta >> 8) & 0xff;
        (uint256 m, bytes memory childRef) = _onlyOtherChild(p.nodes[i], _nibble(key, depth), depth);
        r.deleted = false;
        if (childRef.length == 0) {
            // Two or more children left: the slot empties.
            r.kind = BRANCH;
            r.node = _splice(p.nodes[i], (meta >> 32) & 0xffffffff, meta >> 64, hex"80");
            return;
        }
        // One child left, at nibble m: the branch collapses into it.
        if (childRef.length == 33 && p.used >= proof.length) revert MissingSibling(depth);
        _collapseInto(r, _take(p, childRef, proof, depth), m, depth + 1, childRef);
    }

    /// @dev The node `ref` designates, taking it from the proof if it is a hash.
    function _take(Path memory p, bytes memory ref, bytes[] memory proof, uint256 depth)
        private
        pure
        returns (bytes memory child)
    {
        (child, p.used) = _resolve(ref, 0, ref.length, proof, p.used, depth);
    }

    /// @dev The nibble and reference of the only child of branch `node` other than slot `nibble`;
    ///      an empty reference when two or more others remain.
    function _onlyOtherChild(bytes memory node, uint256 nibble, uint256 depth)
        private
        pure
        returns (uint256 m, bytes memory ref)
    {
        uint256 mask = _branchMask(node) & ~(uint256(1) << nibble);
        if (mask == 0) revert UnexpectedNode(depth);
        if (mask & (mask - 1) != 0) return (0, ref);
        while ((mask >> m) & 1 == 0) {
            ++m;
        }
        (,,, uint256 slot, uint256 slotLen) = _decodeNode(node, depth, m);
        ref = _slice(node, slot, slotLen);
    }

    /// @dev The node replacing a branch whose only child, at nibble `m`, is `child` (reference `childRef`).
    function _collapseInto(
        Replacement memory r,
        bytes memory child,
        uint256 m,
        uint256 childDepth,
        bytes memory childRef
    ) private pure {
        (uint256 kind, bytes32 childPath, uint256 childLen, uint256 a, uint256 b) = _decodeNode(child, childDepth, 0);
        if (kind == BRANCH) {
            // An extension of the one nibble.
            r.kind = EXTENSION;
            r.path = bytes32(m << 252);
            r.pathLen = 1;
            r.second = childRef;
        } else {
            // The leaf or extension absorbs the nibble.
            r.kind = kind;
            r.path = bytes32(m << 252) | (childPath >> 4);
            r.pathLen = childLen + 1;
            r.second = _slice(child, a, b);
        }
    }

    /// @dev The RLP of the replacement node.
    function _encode(Replacement memory r) private pure returns (bytes memory) {
        if (r.kind == BRANCH) return r.node;
        return _encodeShort(r.kind == LEAF, r.path, r.pathLen, r.second);
    }

    // ------------------------------------------------------------------------------------------
    // Decoding nodes

    function _rootNode(bytes32 root, bytes[] memory proof) private pure returns (bytes memory node) {
        if (proof.length == 0) revert ProofTooShort(0);
        node = proof[0];
        bytes32 actual = keccak256(node);
        if (actual != root) revert InvalidProofNodeHash(0, root, actual);
    }

    /// @dev The node a child reference `parent[off : off + len]` designates: the next proof node
    ///      (checked against the hash) or the inlined node.
    function _resolve(bytes memory parent, uint256 off, uint256 len, bytes[] memory proof, uint256 used, uint256 depth)
        private
        pure
        returns (bytes memory child, uint256 newUsed)
    {
        uint256 prefix;
        bytes32 h;
        assembly ("memory-safe") {
            let ptr := add(add(parent, 0x20), off)
            prefix := byte(0, mload(ptr))
            h := mload(add(ptr, 1))
        }
        if (prefix == 0xa0 && len == 33) {
            if (used >= proof.length) revert ProofTooShort(used);
            child = proof[used];
            bytes32 actual = keccak256(child);
            if (actual != h) revert InvalidProofNodeHash(used, h, actual);
            return (child, used + 1);
        }
        if (prefix >= 0xc0 && len < 32) return (_slice(parent, off, len), used);
        revert UnexpectedNode(depth);
    }

    /// @dev Decodes a node at nibble depth `depth`. Branch: (BRANCH, 0, 0, offset and length of the
    ///      slot of `nibble`). Leaf or extension: (kind, path, path length, offset and length of the
    ///      second item: the value string or the child reference).
    function _decodeNode(bytes memory node, uint256 depth, uint256 nibble)
        private
        pure
        returns (uint256 kind, bytes32 path, uint256 pathLen, uint256 a, uint256 b)
    {
        uint256 first;
        bool bad;
        assembly ("memory-safe") {
            // Total length of the item at `ptr`, in the forms trie nodes use; `err` for a long list
            // or a length that is non-canonical or needs more than two bytes.
            function itemLength(ptr) -> l, err {
                let p := byte(0, mload(ptr))
                switch lt(p, 0xb8)
                case 1 { l := add(1, mul(gt(p, 0x7f), sub(p, 0x80))) }
                default {
                    switch lt(p, 0xc0)
                    case 1 {
                        let ll := sub(p, 0xb7)
                        let w := mload(add(ptr, 1))
                        let pl := shr(sub(256, mul(8, ll)), w)
                        l := add(add(1, ll), pl)
                        err := or(or(gt(ll, 2), iszero(byte(0, w))), lt(pl, 56))
                    }
                    default {
                        l := sub(p, 0xbf)
                        err := gt(p, 0xf7)
                    }
                }
            }
            let len := mload(node)
            let base := add(node, 0x20)
            // The list header, spanning the whole node.
            let p0 := byte(0, mload(base))
            switch lt(p0, 0xf8)
            case 1 {
                first := 1
                bad := or(lt(p0, 0xc0), iszero(eq(sub(p0, 0xbf), len)))
            }
            default {
                let ll := sub(p0, 0xf7)
                let w := mload(add(base, 1))
                let pl := shr(sub(256, mul(8, ll)), w)
                first := add(1, ll)
                bad := or(or(gt(ll, 2), iszero(byte(0, w))), or(lt(pl, 56), iszero(eq(add(first, pl), len))))
            }
            if iszero(bad) {
                let l1, e1 := itemLength(add(base, first))
                a := add(first, l1)
                bad := or(e1, iszero(lt(a, len)))
            }
            if iszero(bad) {
                let l2, e2 := itemLength(add(base, a))
                b := l2
                bad := or(e2, gt(add(a, b), len))
                kind := 3 // two items: leaf or extension, told apart below
                if and(iszero(bad), lt(add(a, b), len)) {
                    // More items: a branch. Children are the empty string, a 32-byte hash or an
                    // inlined node (a list shorter than 32 bytes); the value is empty.
                    kind := 0
                    let ptr := add(base, first)
                    for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                        if eq(i, nibble) { a := sub(ptr, base) }
                        let p := byte(0, mload(ptr))
                        switch p
                        case 0x80 { ptr := add(ptr, 1) }
                        case 0xa0 { ptr := add(ptr, 33) }
                        default {
                            ptr := add(ptr, sub(p, 0xbf))
                            if or(lt(p, 0xc1), gt(p, 0xde)) {
                                bad := 1
                                break
                            }
                        }
                    }
                    let q := byte(0, mload(add(base, a)))
                    b := 1
                    if eq(q, 0xa0) { b := 33 }
                    if gt(q, 0xbf) { b := sub(q, 0xbf) }
                    bad := or(bad, or(iszero(eq(byte(0, mload(ptr)), 0x80)), iszero(eq(sub(ptr, base), sub(len, 1)))))
                }
            }
        }
        if (bad) revert UnexpectedNode(depth);
        if (kind == BRANCH) {
            if (depth >= 64) revert UnexpectedNode(depth);
            return (kind, path, pathLen, a, b);
        }
        (kind, path, pathLen) = _decodePath(node, first, depth);
        if (kind == LEAF) {
            // The value is a string and the path reaches the key's length.
            if (uint8(node[a]) >= 0xc0 || depth + pathLen != 64) revert UnexpectedNode(depth);
        } else if (pathLen == 0 || depth + pathLen >= 64) {
            revert UnexpectedNode(depth);
        }
    }

    /// @dev Decodes the hex-prefix (compact) path string at `offset`: LEAF or EXTENSION, the path.
    function _decodePath(bytes memory node, uint256 offset, uint256 depth)
        private
        pure
        returns (uint256 kind, bytes32 path, uint256 pathLen)
    {
        uint256 first;
        bytes32 rest;
        uint256 len;
        assembly ("memory-safe") {
            let ptr := add(add(node, 0x20), offset)
            let p := byte(0, mload(ptr))
            len := 1 // a single byte below 0x80 is its own encoding
            if gt(p, 0x7f) {
                len := sub(p, 0x80) // a short string (other forms fail the length check below)
                ptr := add(ptr, 1)
            }
            first := byte(0, mload(ptr))
            rest := mload(add(ptr, 1))
        }
        uint256 flag = first >> 4;
        if (len == 0 || len > 33 || flag > 3) revert UnexpectedNode(depth);
        kind = flag >= 2 ? LEAF : EXTENSION;
        if (flag & 1 == 1) {
            pathLen = 2 * len - 1;
            if (pathLen > 64) revert UnexpectedNode(depth);
            path = bytes32((first & 0xf) << 252) | (rest >> 4);
        } else {
            if (first & 0xf != 0) revert UnexpectedNode(depth);
            pathLen = 2 * len - 2;
            path = rest;
        }
        path &= _mask(pathLen);
    }

    /// @dev Mask of the non-empty slots of a (decoded, hence well-formed) branch.
    function _branchMask(bytes memory node) private pure returns (uint256 mask) {
        assembly ("memory-safe") {
            let base := add(node, 0x20)
            let p0 := byte(0, mload(base))
            let ptr := add(base, 1)
            if gt(p0, 0xf7) { ptr := add(ptr, sub(p0, 0xf7)) }
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                let p := byte(0, mload(ptr))
                let l := 1
                if iszero(eq(p, 0x80)) {
                    mask := or(mask, shl(i, 1))
                    l := 33
                    if gt(p, 0xbf) { l := sub(p, 0xbf) }
                }
                ptr := add(ptr, l)
            }
        }
    }

    /// @dev A copy of the payload of the (validated) string at `offset`.
    function _stringPayload(bytes memory node, uint256 offset) private pure returns (bytes memory out) {
        uint256 p = uint8(node[offset]);
        if (p < 0x80) return _slice(node, offset, 1);
        if (p < 0xb8) return _slice(node, offset + 1, p - 0x80);
        uint256 ll = p - 0xb7;
        uint256 len;
        assembly ("memory-safe") {
            len := shr(sub(256, mul(8, ll)), mload(add(add(node, 0x21), offset)))
        }
        return _slice(node, offset + 1 + ll, len);
    }

    /// @dev A list header for a payload of `len` bytes, left-aligned in a word, and its length.
    function _listHeader(uint256 len) private pure returns (uint256 word, uint256 headerLen) {
        if (len < 56) return ((0xc0 + len) << 248, 1);
        uint256 n = 1;
        while (len >> (8 * n) != 0) {
            ++n;
        }
        return (((0xf7 + n) << 248) | (len << (248 - 8 * n)), 1 + n);
    }

    // ------------------------------------------------------------------------------------------
    // Encoding nodes

    /// @dev A leaf (`second` = the value's RLP string) or an extension (`second` = the child reference).
    function _encodeShort(bool leaf, bytes32 path, uint256 pathLen, bytes memory second)
        private
        pure
        returns (bytes memory out)
    {
        uint256 compactLen = pathLen / 2 + 1;
        uint256 first;
        bytes32 rest;
        if (pathLen & 1 == 1) {
            first = ((leaf ? 3 : 1) << 4) | uint256(path >> 252);
            rest = path << 4;
        } else {
            first = leaf ? 0x20 : 0;
            rest = path;
        }
        // A one-byte compact path (at most 0x3f) is its own encoding.
        uint256 itemLen = compactLen == 1 ? 1 : compactLen + 1;
        (uint256 header, uint256 headerLen) = _listHeader(itemLen + second.length);
        out = new bytes(headerLen + itemLen + second.length);
        assembly ("memory-safe") {
            let dst := add(out, 0x20)
            mstore(dst, header)
            dst := add(dst, headerLen)
            switch eq(compactLen, 1)
            case 1 { mstore8(dst, first) }
            default {
                mstore8(dst, add(0x80, compactLen))
                mstore8(add(dst, 1), first)
                // Nibbles past the path are zero; `second` overwrites what lies beyond the item.
                mstore(add(dst, 2), rest)
            }
            mcopy(add(dst, itemLen), add(second, 0x20), mload(second))
        }
    }

    /// @dev A branch with two children.
    function _branch2(uint256 n1, bytes memory ref1, uint256 n2, bytes memory ref2)
        private
        pure
        returns (bytes memory out)
    {
        uint256 payload = 15 + ref1.length + ref2.length;
        (uint256 header, uint256 headerLen) = _listHeader(payload);
        out = new bytes(headerLen + payload);
        assembly ("memory-safe") {
            let dst := add(out, 0x20)
            mstore(dst, header)
            dst := add(dst, headerLen)
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                let item := 0
                if eq(i, n1) { item := ref1 }
                if eq(i, n2) { item := ref2 }
                switch item
                case 0 {
                    mstore8(dst, 0x80)
                    dst := add(dst, 1)
                }
                default {
                    mcopy(dst, add(item, 0x20), mload(item))
                    dst := add(dst, mload(item))
                }
            }
            mstore8(dst, 0x80) // the value
        }
    }

    /// @dev The (decoded, hence well-formed) node with the bytes at [off, off + len) replaced by `item`.
    function _splice(bytes memory node, uint256 off, uint256 len, bytes memory item)
        private
        pure
        returns (bytes memory out)
    {
        uint256 end = node.length;
        uint256 p0 = uint8(node[0]);
        uint256 payload = p0 < 0xf8 ? 1 : p0 - 0xf6;
        (uint256 header, uint256 headerLen) = _listHeader(end - payload - len + item.length);
        out = new bytes(headerLen + end - payload - len + item.length);
        assembly ("memory-safe") {
            let dst := add(out, 0x20)
            let src := add(node, 0x20)
            mstore(dst, header)
            dst := add(dst, headerLen)
            mcopy(dst, add(src, payload), sub(off, payload))
            dst := add(dst, sub(off, payload))
            mcopy(dst, add(item, 0x20), mload(item))
            dst := add(dst, mload(item))
            mcopy(dst, add(src, add(off, len)), sub(end, add(off, len)))
        }
    }

    /// @dev How a parent refers to `node`: the node itself when shorter than 32 bytes, else its hash.
    function _ref(bytes memory node) private pure returns (bytes memory) {
        if (node.length < 32) return node;
        return RLPWriter.writeBytes32(keccak256(node));
    }

    // ------------------------------------------------------------------------------------------
    // Nibbles

    function _slice(bytes memory data, uint256 off, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(data, 0x20), off), len)
        }
    }

    function _nibble(bytes32 path, uint256 i) private pure returns (uint256) {
        return (uint256(path) >> (252 - 4 * i)) & 0xf;
    }

    /// @dev The `len` nibbles of `key` from nibble `depth` on, left-aligned.
    function _keyPath(bytes32 key, uint256 depth, uint256 len) private pure returns (bytes32) {
        return (key << (4 * depth)) & _mask(len);
    }

    function _mask(uint256 len) private pure returns (bytes32) {
        return bytes32(type(uint256).max << (256 - 4 * len));
    }

    /// @dev Number of leading nibbles `a` and `b` share, at most `max`.
    function _commonPrefix(bytes32 a, bytes32 b, uint256 max) private pure returns (uint256 n) {
        uint256 x = uint256(a ^ b);
        if (x == 0) return max;
        // Leading zero nibbles of x, by halving.
        if (x >> 128 == 0) {
            n += 32;
            x <<= 128;
        }
        if (x >> 192 == 0) {
            n += 16;
            x <<= 64;
        }
        if (x >> 224 == 0) {
            n += 8;
            x <<= 32;
        }
        if (x >> 240 == 0) {
            n += 4;
            x <<= 16;
        }
        if (x >> 248 == 0) {
            n += 2;
            x <<= 8;
        }
        if (x >> 252 == 0) n += 1;
        if (n > max) n = max;
    }
}
