// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTrie} from "./MerkleTrie.sol";
import {RLPReader} from "./RLPReader.sol";
import {RLPWriter} from "./RLPWriter.sol";

/// @title Accounts
/// @notice An account of the state trie, `rlp([nonce, balance, storageRoot, codeHash])` under
///         `keccak256(address)` (docs/fault-proof.md section 6): read through a Merkle Patricia
///         proof, encoded back for an update.
library Accounts {
    bytes32 internal constant EMPTY_CODE_HASH = keccak256("");

    /// @notice The state trie holds a value under `key` that is not an account.
    error MalformedAccount(bytes32 key);

    struct Account {
        bool exists;
        uint256 nonce;
        uint256 balance;
        bytes32 storageRoot;
        bytes32 codeHash;
    }

    /// @notice The key of `account` in the state trie.
    function key(address account) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(account));
    }

    /// @notice The account under `accountKey` in the state with root `root` (an empty one,
    ///         `exists` false, when absent).
    function read(bytes32 root, bytes32 accountKey, bytes[] memory proof) internal pure returns (Account memory a) {
        (bool found, bytes memory value) = MerkleTrie.get(root, accountKey, proof);
        if (!found) {
            a.storageRoot = MerkleTrie.EMPTY_ROOT;
            a.codeHash = EMPTY_CODE_HASH;
            return a;
        }
        (uint256[] memory offsets,) = RLPReader.readList(value);
        if (offsets.length != 4) revert MalformedAccount(accountKey);
        a.exists = true;
        a.nonce = RLPReader.readUint(value, offsets[0]);
        if (a.nonce > type(uint64).max) revert MalformedAccount(accountKey);
        a.balance = RLPReader.readUint(value, offsets[1]);
        a.storageRoot = RLPReader.readBytes32(value, offsets[2]);
        a.codeHash = RLPReader.readBytes32(value, offsets[3]);
    }

    /// @notice `rlp([nonce, balance, storageRoot, codeHash])`.
    function encode(Account memory a) internal pure returns (bytes memory) {
        bytes[] memory items = new bytes[](4);
        items[0] = RLPWriter.writeUint(a.nonce);
        items[1] = RLPWriter.writeUint(a.balance);
        items[2] = RLPWriter.writeBytes32(a.storageRoot);
        items[3] = RLPWriter.writeBytes32(a.codeHash);
        return RLPWriter.writeList(items);
    }

    /// @notice EIP-161's empty account: no nonce, no balance, no code.
    function isEmpty(Account memory a) internal pure returns (bool) {
        return a.nonce == 0 && a.balance == 0 && a.codeHash == EMPTY_CODE_HASH;
    }
}
