// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title AccessList
/// @notice The substate a transaction's depth-0 frame starts with (docs/evm-steps.md section 2),
///         shared by the entry steps of call transactions (kind 0, `EvmEntryVerifier`) and of
///         creation transactions (kind 9, `EvmCreationTxVerifier`): without an access list, 0;
///         with one of at most `MAX_ACCESS_LIST_WARMINGS` entries (addresses plus storage keys,
///         duplicates counted), its entries warmed into the substate's tries, one witness proof per
///         entry; with more, the access-list marker. Mirrored off chain by the Rust step machine.
library AccessList {
    /// @notice Most access-list entries (addresses plus storage keys, duplicates counted) an entry
    ///         step warms; a longer list starts the frame under the access-list marker.
    uint256 internal constant MAX_ACCESS_LIST_WARMINGS = 64;

    /// @notice The depth-0 frame's substate for the transaction `rawTx` (decoded as `t`), with
    ///         `proofs` the witness's `accessProofs`. In the access list's RLP order, each item's
    ///         address and then each of its keys is one warming, each with its proof against the
    ///         trie's root at that moment (as `MerkleTrie.update` takes it):
    ///         `warmAccounts[keccak256(address)] = 0x01`, `warmSlots[keccak256(address ++ key)] = 0x01`,
    ///         both tries starting empty (a duplicate re-sets the same value: its proof is an
    ///         inclusion proof and the root stays). Reverts `UnexpectedProof` when the number of
    ///         proofs is not the number of warmings (none for an empty list or one over the cap),
    ///         and as `MerkleTrie.update` does for a proof that does not open its trie at its key.
    function substate(bytes memory rawTx, TxDecoder.Tx memory t, bytes[][] memory proofs)
        internal
        pure
        returns (bytes32)
    {
        uint256 warmings = t.accessListAddresses + t.accessListKeys;
        if (warmings == 0 || warmings > MAX_ACCESS_LIST_WARMINGS) {
            if (proofs.length != 0) revert IEvmStepVerifier.UnexpectedProof();
            return warmings == 0 ? bytes32(0) : EvmFrame.ACCESS_LIST_SUBSTATE;
        }
        if (proofs.length != warmings) revert IEvmStepVerifier.UnexpectedProof();
        (address[] memory addrs, bytes32[][] memory keys) = TxDecoder.accessList(rawTx);
        // roots[0]: warmAccounts, roots[1]: warmSlots.
        bytes32[2] memory roots = [MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT];
        uint256 n;
        for (uint256 i; i < addrs.length; ++i) {
            bytes32[] memory k = keys[i];
            // j == 0: the address; j >= 1: its key j - 1.
            for (uint256 j; j <= k.length; ++j) {
                uint256 trie = j == 0 ? 0 : 1;
                roots[trie] = MerkleTrie.update(roots[trie], _key(addrs[i], k, j), hex"01", proofs[n++]);
            }
        }
        return EvmFrame.substateHash(roots[1], MerkleTrie.EMPTY_ROOT, roots[0]);
    }

    /// @dev The trie key of warming `j` of the item `(a, k)`: `keccak256(a)` for the address
    ///      (`j == 0`), `keccak256(a ++ k[j - 1])` for a storage key (as `EvmStateVerifier` keys a slot).
    function _key(address a, bytes32[] memory k, uint256 j) private pure returns (bytes32) {
        return j == 0 ? keccak256(abi.encodePacked(a)) : keccak256(abi.encodePacked(a, k[j - 1]));
    }
}
