// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {RefTrie} from "../MerkleTrie.t.sol";

/// @notice A hand-built state of a few accounts, its root and account proofs, for the step
///         verifiers' tests: a `World` of addresses and their accounts, the state trie `RefTrie`
///         builds over it (its root, eth_getProof-style account proofs), and beside it the warm
///         accounts of the substate (their trie, root, proofs and the substate's hash).
library AccountWorld {
    /// @dev The accounts of a state: `accounts[i]` is `who[i]`'s.
    struct World {
        address[] who;
        Accounts.Account[] accounts;
    }

    // ------------------------------------------------------------------------------------------
    // Accounts and worlds

    /// @dev An existing account without storage.
    function account(uint256 nonce, uint256 balance, bytes32 codeHash) internal pure returns (Accounts.Account memory) {
        return Accounts.Account(true, nonce, balance, MerkleTrie.EMPTY_ROOT, codeHash);
    }

    /// @dev No account.
    function absent() internal pure returns (Accounts.Account memory) {
        return Accounts.Account(false, 0, 0, MerkleTrie.EMPTY_ROOT, Accounts.EMPTY_CODE_HASH);
    }

    /// @dev A deep copy of `w`.
    function copy(World memory w) internal pure returns (World memory) {
        return abi.decode(abi.encode(w), (World));
    }

    /// @dev A copy of `w` with `a`'s account set to `acct`: in place when `a` is in `w`, added last
    ///      when absent, removed when `acct.exists` is false.
    function withAccount(World memory w, address a, Accounts.Account memory acct)
        internal
        pure
        returns (World memory out)
    {
        World memory src = copy(w);
        bool found;
        for (uint256 i; i < src.who.length; ++i) {
            if (src.who[i] == a) found = true;
        }
        uint256 n = src.who.length + (found ? 0 : 1) - (acct.exists ? 0 : 1);
        out.who = new address[](n);
        out.accounts = new Accounts.Account[](n);
        uint256 k;
        for (uint256 i; i < src.who.length; ++i) {
            if (src.who[i] == a) {
                if (!acct.exists) continue;
                out.who[k] = a;
                out.accounts[k++] = acct;
            } else {
                out.who[k] = src.who[i];
                out.accounts[k++] = src.accounts[i];
            }
        }
        if (!found && acct.exists) {
            out.who[k] = a;
            out.accounts[k] = acct;
        }
    }

    /// @dev A copy of `a`'s account in `w` (the caller may change it), `absent()` when none.
    function accountOf(World memory w, address a) internal pure returns (Accounts.Account memory) {
        for (uint256 i; i < w.who.length; ++i) {
            if (w.who[i] == a) return abi.decode(abi.encode(w.accounts[i]), (Accounts.Account));
        }
        return absent();
    }

    // ------------------------------------------------------------------------------------------
    // The state trie

    /// @dev Sorts `keys` and `values` together by key (`RefTrie` builds from sorted keys).
    function sortedTrie(bytes32[] memory keys, bytes[] memory values) internal pure {
        for (uint256 i = 1; i < keys.length; ++i) {
            for (uint256 j = i; j > 0 && keys[j - 1] > keys[j]; --j) {
                (keys[j - 1], keys[j]) = (keys[j], keys[j - 1]);
                (values[j - 1], values[j]) = (values[j], values[j - 1]);
            }
        }
    }

    function worldTrie(World memory w) internal pure returns (bytes32[] memory keys, bytes[] memory values) {
        keys = new bytes32[](w.who.length);
        values = new bytes[](w.who.length);
        for (uint256 i; i < keys.length; ++i) {
            keys[i] = Accounts.key(w.who[i]);
            values[i] = Accounts.encode(w.accounts[i]);
        }
        sortedTrie(keys, values);
    }

    function rootOf(World memory w) internal pure returns (bytes32) {
        (bytes32[] memory keys, bytes[] memory values) = worldTrie(w);
        return RefTrie.root(keys, values);
    }

    /// @dev The proof of `a`'s account in `w`.
    function proofOf(World memory w, address a) internal pure returns (bytes[] memory) {
        return proofOf(w, a, false);
    }

    /// @dev The proof of `a`'s account in `w`, with the nodes a deletion of it needs when `deleting`.
    function proofOf(World memory w, address a, bool deleting) internal pure returns (bytes[] memory) {
        (bytes32[] memory keys, bytes[] memory values) = worldTrie(w);
        return RefTrie.proof(keys, values, Accounts.key(a), deleting);
    }

    // ------------------------------------------------------------------------------------------
    // Warm accounts

    /// @dev The warm-account trie of `keys` (each mapped to 0x01).
    function warmTrie(bytes32[] memory keys) internal pure returns (bytes32[] memory sorted, bytes[] memory values) {
        sorted = new bytes32[](keys.length);
        values = new bytes[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            sorted[i] = keys[i];
            values[i] = hex"01";
        }
        sortedTrie(sorted, values);
    }

    function warmRoot(bytes32[] memory keys) internal pure returns (bytes32) {
        (bytes32[] memory sorted, bytes[] memory values) = warmTrie(keys);
        return RefTrie.root(sorted, values);
    }

    function warmProof(bytes32[] memory keys, bytes32 target) internal pure returns (bytes[] memory) {
        (bytes32[] memory sorted, bytes[] memory values) = warmTrie(keys);
        return RefTrie.proof(sorted, values, target, false);
    }

    /// @dev The substate with the warm accounts `warm` and no warm slots or transient storage
    ///      (0 when nothing is warm).
    function substateOf(bytes32[] memory warm) internal pure returns (bytes32) {
        if (warm.length == 0) return 0;
        return keccak256(abi.encode(MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT, warmRoot(warm)));
    }

    /// @dev `keys` with `key` added last (`keys` itself when it holds `key`).
    function plus(bytes32[] memory keys, bytes32 key) internal pure returns (bytes32[] memory out) {
        for (uint256 i; i < keys.length; ++i) {
            if (keys[i] == key) return keys;
        }
        out = new bytes32[](keys.length + 1);
        for (uint256 i; i < keys.length; ++i) {
            out[i] = keys[i];
        }
        out[keys.length] = key;
    }

    // ------------------------------------------------------------------------------------------
    // Access lists (EIP-2930) warmed at a transaction's entry

    /// @dev An access list: `addrs[i]` with its storage keys `keys[i]`, in RLP order.
    struct AccessList {
        address[] addrs;
        bytes32[][] keys;
    }

    /// @dev rlp([[address, [key, ...]], ...]).
    function accessListRlp(AccessList memory al) internal pure returns (bytes memory) {
        bytes[] memory items = new bytes[](al.addrs.length);
        for (uint256 i; i < items.length; ++i) {
            bytes[] memory ks = new bytes[](al.keys[i].length);
            for (uint256 j; j < ks.length; ++j) {
                ks[j] = RLPWriter.writeBytes32(al.keys[i][j]);
            }
            bytes[] memory item = new bytes[](2);
            item[0] = RLPWriter.writeAddress(al.addrs[i]);
            item[1] = RLPWriter.writeList(ks);
            items[i] = RLPWriter.writeList(item);
        }
        return RLPWriter.writeList(items);
    }

    /// @dev The substate after warming `al` at a transaction's entry, built from scratch (each
    ///      trie's root from its final set of keys), and the witness's `accessProofs`: per
    ///      warming, in RLP order (an address, then its keys), the proof of its key in its trie
    ///      as it stands before it (an exclusion proof, or an inclusion proof for a duplicate).
    function warmAccessList(AccessList memory al) internal pure returns (bytes32 substate, bytes[][] memory proofs) {
        uint256 n;
        for (uint256 i; i < al.addrs.length; ++i) {
            n += 1 + al.keys[i].length;
        }
        proofs = new bytes[][](n);
        bytes32[] memory accounts = new bytes32[](0);
        bytes32[] memory slots = new bytes32[](0);
        n = 0;
        for (uint256 i; i < al.addrs.length; ++i) {
            bytes32 key = keccak256(abi.encodePacked(al.addrs[i]));
            proofs[n++] = warmProof(accounts, key);
            accounts = plus(accounts, key);
            for (uint256 j; j < al.keys[i].length; ++j) {
                key = keccak256(abi.encodePacked(al.addrs[i], al.keys[i][j]));
                proofs[n++] = warmProof(slots, key);
                slots = plus(slots, key);
            }
        }
        substate = keccak256(abi.encode(warmRoot(slots), MerkleTrie.EMPTY_ROOT, warmRoot(accounts)));
    }
}
