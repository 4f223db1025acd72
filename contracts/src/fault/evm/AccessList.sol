// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title AccessList
/// @notice The substate a transaction's depth-0 frame starts with (docs/evm-steps.md section 2),
///         shared by the entry steps of call transactions (kind 0, `EvmEntryVerifier`; kind 11,
///         `EvmDelegatedEntryVerifier`, which adds the delegate to `warm`'s tries) and of
///         creation transactions (kind 9, `EvmCreationTxVerifier`): without an access list, 0;
///         with one of at most `MAX_ACCESS_LIST_WARMINGS` entries (addresses plus storage keys,
///         duplicates counted), its entries warmed into the substate's tries, one witness proof per
///         entry; with more, the access-list marker. Mirrored off chain by the Rust step machine.
library AccessList {
    /// @notice Most access-list entries (addresses plus storage keys, duplicates counted) an entry
    ///         step warms; a longer list starts the frame under the access-list marker.
    uint256 internal constant MAX_ACCESS_LIST_WARMINGS = 64;

    /// @notice The depth-0 frame's substate for the transaction `rawTx` (decoded as `t`), with
    ///         `proofs` the witness's `accessProofs`: the access-list marker when the list is over
    ///         the cap, else `EvmFrame.substateHash` of the tries `warm` fills (0 for an empty list).
    function substate(bytes memory rawTx, TxDecoder.Tx memory t, bytes[][] memory proofs)
        internal
        pure
        returns (bytes32)
    {
        (bool marker, bytes32 warmSlots, bytes32 warmAccounts) = warm(rawTx, t, proofs);
        if (marker) return EvmFrame.ACCESS_LIST_SUBSTATE;
        // `EvmFrame.substateHash` of the tries, without its test of the three roots: every item
        // of a list puts its address in `warmAccounts`, so only an empty list leaves it empty.
        if (warmAccounts == MerkleTrie.EMPTY_ROOT) return 0;
        return keccak256(abi.encode(warmSlots, MerkleTrie.EMPTY_ROOT, warmAccounts));
    }

    /// @notice The access list's warmings (docs/evm-steps.md section 2) for the transaction `rawTx`
    ///         (decoded as `t`), with `proofs` the witness's `accessProofs`. In the access list's
    ///         RLP order, each item's address and then each of its keys is one warming, each with
    ///         its proof against the trie's root at that moment (as `MerkleTrie.update` takes it):
    ///         `warmAccounts[keccak256(address)] = 0x01`, `warmSlots[keccak256(address ++ key)] = 0x01`,
    ///         both tries starting empty (a duplicate re-sets the same value: its proof is an
    ///         inclusion proof and the root stays). `marker` is true (and both roots empty) when the
    ///         list has more than `MAX_ACCESS_LIST_WARMINGS` entries: nothing is warmed, the frame
    ///         starts under the access-list marker. Reverts `UnexpectedProof` when the number of
    ///         proofs is not the number of warmings (none for an empty list or one over the cap),
    ///         and as `MerkleTrie.update` does for a proof that does not open its trie at its key.
    /// @return marker The list is over the cap.
    /// @return warmSlots The root of the warm slots' trie.
    /// @return warmAccounts The root of the warm accounts' trie.
    function warm(bytes memory rawTx, TxDecoder.Tx memory t, bytes[][] memory proofs)
        internal
        pure
        returns (bool marker, bytes32 warmSlots, bytes32 warmAccounts)
    {
        warmSlots = MerkleTrie.EMPTY_ROOT;
        warmAccounts = MerkleTrie.EMPTY_ROOT;
        {
            uint256 warmings = t.accessListAddresses + t.accessListKeys;
            if (warmings == 0 || warmings > MAX_ACCESS_LIST_WARMINGS) {
                if (proofs.length != 0) revert IEvmStepVerifier.UnexpectedProof();
                return (warmings != 0, warmSlots, warmAccounts);
            }
            if (proofs.length != warmings) revert IEvmStepVerifier.UnexpectedProof();
        }
        (address[] memory addrs, bytes32[][] memory keys) = TxDecoder.accessList(rawTx);
        uint256 n;
        for (uint256 i; i < addrs.length; ++i) {
            bytes32[] memory k = keys[i];
            // j == 0: the address; j >= 1: its key j - 1.
            for (uint256 j; j <= k.length; ++j) {
                if (j == 0) {
                    warmAccounts = MerkleTrie.update(warmAccounts, _key(addrs[i], k, 0), hex"01", proofs[n++]);
                } else {
                    warmSlots = MerkleTrie.update(warmSlots, _key(addrs[i], k, j), hex"01", proofs[n++]);
                }
            }
        }
    }

    /// @dev The trie key of warming `j` of the item `(a, k)`: `keccak256(a)` for the address
    ///      (`j == 0`), `keccak256(a ++ k[j - 1])` for a storage key (as `EvmStateVerifier` keys a slot).
    function _key(address a, bytes32[] memory k, uint256 j) private pure returns (bytes32) {
        return j == 0 ? keccak256(abi.encodePacked(a)) : keccak256(abi.encodePacked(a, k[j - 1]));
    }
}
