// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmEntryBase} from "./EvmEntryBase.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {TxDecoder} from "../TxDecoder.sol";
import {AccessList} from "./AccessList.sol";
import {PrecompilePrices} from "./PrecompilePrices.sol";

/// @title EvmEntryVerifier
/// @notice The entry step of docs/evm-steps.md (section 1.1, witness in section 6): from `IN_TX`
///         with the entry marker, a call transaction to a contract moves its value from the caller
///         to the recipient and creates the depth-0 frame. Its own contract because it carries the
///         transaction decoder and the Merkle Patricia trie; `EvmStepVerifier` forwards kind 0 here.
///         The value's move and the frame are `EvmEntryBase`'s, shared with kind 11.
contract EvmEntryVerifier is EvmEntryBase {
    /// @dev The precompiles a transaction may call in one step: 0x01..0x04 and BLAKE2F.
    uint256 internal constant LAST_PRICED = 0x04;
    uint256 internal constant BLAKE2F = 0x09;

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

    /// @param chainId The L2 chain id.
    constructor(uint64 chainId) EvmEntryBase(chainId) {}

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
        if (t.isCreate || t.txType == TxDecoder.EIP7702 || _isPrecompile(t.to)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }

        (bytes32 root, bytes32 codeHash) = _moveValue(pre, t, w);
        // An access list's accounts and keys start warm (section 2): in the substate's tries, or
        // under the access-list marker past `AccessList.MAX_ACCESS_LIST_WARMINGS` entries.
        pre.evm = EvmTypes.hash(_frame(pre, t, w.rawTx, codeHash, AccessList.substate(w.rawTx, t, w.accessProofs)));
        pre.stateRoot = root;
        return MachineState.hash(pre);
    }

    /// @dev A transaction calling ECRECOVER (3,000 gas), SHA256 (60 + 12 a word of input),
    ///      RIPEMD160 (600 + 120 a word), IDENTITY (15 + 3 a word) or BLAKE2F (one a round)
    ///      ends in this step (docs/evm-steps.md section 1.1): these fail only when the gas left
    ///      is below their price, the input is over the chain's 32,736 bytes
    ///      (core/src/precompiles.rs) or (BLAKE2F) it is not 213 bytes ending in a final-block
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
        bytes32 root = _debitCaller(pre, t, w.callerProof);
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
        // An input over the chain's bound (core/src/precompiles.rs) fails the call.
        bool valid = t.dataLength <= PrecompilePrices.MAX_INPUT;
        if (id == BLAKE2F) {
            bytes memory input = TxDecoder.callData(w.rawTx);
            valid = input.length == 213 && uint8(input[212]) <= 1;
            // forge-lint: disable-next-line(unsafe-typecast)
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
        root = _debitCaller(pre, t, w.callerProof);
        bytes32 recipientKey = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(root, recipientKey, w.recipientProof);
        if (recipient.codeHash == EMPTY_CODE_HASH) revert InvalidPreState();
        codeHash = keccak256(w.code);
        if (codeHash != recipient.codeHash) revert EvmCodeMismatch(recipient.codeHash, codeHash);
        // A delegated recipient (EIP-7702) runs its delegate's code: not entered in stage 1.
        (bool delegated,) = EvmFrame.delegation(w.code);
        if (delegated) revert UnsupportedStep(MachineState.IN_TX);
        root = _creditRecipient(root, recipientKey, recipient, t.value, w.recipientProof);
    }
}
