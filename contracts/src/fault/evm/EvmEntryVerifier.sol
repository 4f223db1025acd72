// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";
import {AccessList} from "./AccessList.sol";

/// @title EvmEntryVerifier
/// @notice The entry step of docs/evm-steps.md (section 1.1, witness in section 6): from `IN_TX`
///         with the entry marker, a call transaction to a contract moves its value from the caller
///         to the recipient and creates the depth-0 frame. Its own contract because it carries the
///         transaction decoder and the Merkle Patricia trie; `EvmStepVerifier` forwards kind 0 here.
contract EvmEntryVerifier is IEvmStepVerifier {
    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    uint256 internal constant LAST_PRECOMPILE = 0x11;
    /// @dev The precompiles a transaction may call in one step: 0x01..0x04 and BLAKE2F.
    uint256 internal constant LAST_PRICED = 0x04;
    uint256 internal constant BLAKE2F = 0x09;

    /// @notice The L2 chain id (the transaction decodes against it).
    uint64 public immutable CHAIN_ID;

    /// @dev The entry witness: `abi.encode(bytes rawTx, bytes[] callerProof, bytes[] recipientProof,
    ///      bytes code, bytes[][] accessProofs)`.
    struct Entry {
        bytes rawTx;
        bytes[] callerProof;
        bytes[] recipientProof;
        bytes code;
        /// @dev One proof per access-list warming (`AccessList.substate`); empty when no frame
        ///      starts (a one-step precompile call), the list is empty or over the cap.
        bytes[][] accessProofs;
    }

    constructor(uint64 chainId) {
        CHAIN_ID = chainId;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 0) revert UnsupportedStep(MachineState.IN_TX);
        Entry memory w;
        (w.rawTx, w.callerProof, w.recipientProof, w.code, w.accessProofs) =
            abi.decode(body, (bytes, bytes[], bytes[], bytes, bytes[][]));
        bytes32 marker = EvmTypes.entryMarker(keccak256(w.rawTx));
        if (marker != pre.evm) revert EvmStateMismatch(pre.evm, marker);
        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, CHAIN_ID);
        if (!ok) revert InvalidPreState();
        // A call to ECRECOVER, SHA256, RIPEMD160, IDENTITY or BLAKE2F is one step (section 1.1).
        uint256 id = uint160(t.to);
        if (!t.isCreate && t.txType != TxDecoder.EIP7702 && ((id != 0 && id <= LAST_PRICED) || id == BLAKE2F)) {
            return _precompileCall(pre, t, w);
        }
        // Only calls to contracts enter the EVM at depth 0 in stage 1.
        if (t.isCreate || t.txType == TxDecoder.EIP7702 || (uint160(t.to) != 0 && uint160(t.to) <= LAST_PRECOMPILE)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }

        (bytes32 root, bytes32 codeHash) = _moveValue(pre, t, w);
        pre.evm = EvmTypes.hash(_frame(pre, t, w, codeHash));
        pre.stateRoot = root;
        return MachineState.hash(pre);
    }

    /// @dev A transaction calling ECRECOVER (3,000 gas), SHA256 (60 + 12 a word of input),
    ///      RIPEMD160 (600 + 120 a word), IDENTITY (15 + 3 a word) or BLAKE2F (one a round)
    ///      ends in this step (docs/evm-steps.md section 1.1): these fail only when the gas left
    ///      is below their price or (BLAKE2F) the input is not 213 bytes ending in a final-block
    ///      flag of 0 or 1, and their output changes no state. The value moves as for an entry; an empty
    ///      account at the precompile's address (which EIP-161 would delete) is not provable
    ///      here. Success keeps the value's move and charges the price; out of gas keeps the
    ///      state before the value and uses all the gas.
    function _precompileCall(MachineState.State memory pre, TxDecoder.Tx memory t, Entry memory w)
        private
        pure
        returns (bytes32)
    {
        if (w.code.length != 0) revert EvmCodeMismatch(EMPTY_CODE_HASH, keccak256(w.code));
        // No frame starts: nothing is warmed.
        if (w.accessProofs.length != 0) revert UnexpectedProof();
        bytes32 root = _debitCaller(pre, t, w);
        bytes32 recipientKey = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(root, recipientKey, w.recipientProof);
        if (recipient.exists && recipient.nonce == 0 && recipient.balance == 0 && recipient.codeHash == EMPTY_CODE_HASH)
        {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        root = _creditRecipient(root, recipientKey, recipient, t.value, w.recipientProof);
        uint256 words = (t.dataLength + 31) / 32;
        uint256 id = uint160(t.to);
        uint256 price = id == 1 ? 3000 : id == 2 ? 60 + 12 * words : id == 3 ? 600 + 120 * words : 15 + 3 * words;
        bool valid = true;
        if (id == BLAKE2F) {
            bytes memory input = TxDecoder.callData(w.rawTx);
            valid = input.length == 213 && uint8(input[212]) <= 1;
            price = valid ? uint32(bytes4(input)) : 0;
        }
        pre.phase = MachineState.TX_EXECUTED;
        pre.refund = 0;
        pre.evm = bytes32(0);
        pre.success = valid && price <= pre.gasLeft;
        if (pre.success) {
            pre.stateRoot = root;
            // forge-lint: disable-next-line(unsafe-typecast)
            pre.gasLeft -= uint64(price);
        } else {
            pre.gasLeft = 0;
        }
        return MachineState.hash(pre);
    }

    /// @dev The value moves (revm's frame entry): the caller's update first, then the recipient,
    ///      read against the new root (read only when the value is zero). Returns the new root and
    ///      the recipient's code hash, after checking its code.
    function _moveValue(MachineState.State memory pre, TxDecoder.Tx memory t, Entry memory w)
        private
        pure
        returns (bytes32 root, bytes32 codeHash)
    {
        root = _debitCaller(pre, t, w);
        bytes32 recipientKey = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(root, recipientKey, w.recipientProof);
        if (recipient.codeHash == EMPTY_CODE_HASH) revert InvalidPreState();
        codeHash = keccak256(w.code);
        if (codeHash != recipient.codeHash) revert EvmCodeMismatch(recipient.codeHash, codeHash);
        // A delegated recipient (EIP-7702) runs its delegate's code: not entered in stage 1.
        bytes memory code = w.code;
        if (code.length == 23 && code[0] == 0xef && code[1] == 0x01 && code[2] == 0x00) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        root = _creditRecipient(root, recipientKey, recipient, t.value, w.recipientProof);
    }

    /// @dev The root after the caller pays the value (unchanged, and no caller proof, when the
    ///      value is zero).
    function _debitCaller(MachineState.State memory pre, TxDecoder.Tx memory t, Entry memory w)
        private
        pure
        returns (bytes32 root)
    {
        root = pre.stateRoot;
        if (t.value > 0) {
            bytes32 callerKey = keccak256(abi.encodePacked(pre.caller));
            Accounts.Account memory caller = Accounts.read(root, callerKey, w.callerProof);
            if (caller.balance < t.value) revert InvalidPreState();
            caller.balance -= t.value;
            root = MerkleTrie.update(root, callerKey, Accounts.encode(caller), w.callerProof);
        } else if (w.callerProof.length != 0) {
            revert UnexpectedProof();
        }
    }

    /// @dev The root after `recipient` (read under `key` from `root`) receives `value`; an absent
    ///      recipient is created.
    function _creditRecipient(
        bytes32 root,
        bytes32 key,
        Accounts.Account memory recipient,
        uint256 value,
        bytes[] memory proof
    ) private pure returns (bytes32) {
        if (value == 0) return root;
        if (recipient.balance > type(uint256).max - value) revert InvalidPreState();
        recipient.balance += value;
        return MerkleTrie.update(root, key, Accounts.encode(recipient), proof);
    }

    /// @dev The depth-0 frame at its first instruction (docs/evm-steps.md section 1.1).
    function _frame(MachineState.State memory pre, TxDecoder.Tx memory t, Entry memory w, bytes32 codeHash)
        private
        pure
        returns (EvmTypes.EvmState memory e)
    {
        bytes memory data = TxDecoder.callData(w.rawTx);
        e.txHash = t.hash;
        e.txStartRoot = pre.stateRoot;
        e.self = t.to;
        e.caller = pre.caller;
        e.value = t.value;
        e.codeHash = codeHash;
        e.calldataRoot = WordTree.root(data);
        // At most 128 KiB (TxDecoder.MAX_TX_BYTES).
        // forge-lint: disable-next-line(unsafe-typecast)
        e.calldataSize = uint32(data.length);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = pre.gasLeft;
        e.memRoot = WordTree.EMPTY_ROOT;
        // An access list's accounts and keys start warm (section 2): in the substate's tries, or
        // under the access-list marker past `AccessList.MAX_ACCESS_LIST_WARMINGS` entries.
        e.substate = AccessList.substate(w.rawTx, t, w.accessProofs);
    }
}
