// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title EvmEntryBase
/// @notice What the entry steps of call transactions share (docs/evm-steps.md section 1.1, witness
///         in section 6): the chain id the transaction decodes against, the value's move from the
///         caller to the recipient (revm's frame entry) and the depth-0 frame at its first
///         instruction. Inherited by `EvmEntryVerifier` (kind 0), `EvmDelegatedEntryVerifier`
///         (kind 11, a recipient with an EIP-7702 delegation), `EvmAuthorizedEntryVerifier` (kind 13)
///         and, for its chain id and constants, `EvmAuthorizationVerifier` (kind 12).
abstract contract EvmEntryBase is IEvmStepVerifier {
    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    /// @dev The precompiles of Prague are `0x01..LAST_PRECOMPILE`.
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    /// @notice The L2 chain id (the transaction decodes against it).
    uint64 public immutable CHAIN_ID;

    /// @param chainId The L2 chain id.
    constructor(uint64 chainId) {
        CHAIN_ID = chainId;
    }

    /// @dev The root after the caller pays the value (unchanged, and no caller proof, when the
    ///      value is zero): `callerProof` is the caller's account against `pre.stateRoot`
    ///      (docs/evm-steps.md section 6, "Entry").
    function _debitCaller(MachineState.State memory pre, TxDecoder.Tx memory t, bytes[] memory callerProof)
        internal
        pure
        returns (bytes32 root)
    {
        root = pre.stateRoot;
        if (t.value > 0) {
            bytes32 callerKey = keccak256(abi.encodePacked(pre.caller));
            Accounts.Account memory caller = Accounts.read(root, callerKey, callerProof);
            if (caller.balance < t.value) revert InvalidPreState();
            caller.balance -= t.value;
            root = MerkleTrie.update(root, callerKey, Accounts.encode(caller), callerProof);
        } else if (callerProof.length != 0) {
            revert UnexpectedProof();
        }
    }

    /// @dev The root after `recipient` (read under `key` from `root`) receives `value`; an absent
    ///      recipient is created (docs/evm-steps.md section 1.1).
    function _creditRecipient(
        bytes32 root,
        bytes32 key,
        Accounts.Account memory recipient,
        uint256 value,
        bytes[] memory proof
    ) internal pure returns (bytes32) {
        if (value == 0) return root;
        if (recipient.balance > type(uint256).max - value) revert InvalidPreState();
        recipient.balance += value;
        return MerkleTrie.update(root, key, Accounts.encode(recipient), proof);
    }

    /// @dev The depth-0 frame at its first instruction (docs/evm-steps.md section 1.1): the
    ///      transaction's call data, `self` the recipient, running the code of hash `codeHash`
    ///      with the substate `substate` (section 2), `txStartRoot` the root before the value moved.
    function _frame(
        MachineState.State memory pre,
        TxDecoder.Tx memory t,
        bytes memory rawTx,
        bytes32 codeHash,
        bytes32 substate
    ) internal pure returns (EvmTypes.EvmState memory e) {
        bytes memory data = TxDecoder.callData(rawTx);
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
        e.substate = substate;
    }

    /// @dev A precompile of Prague (`0x01..LAST_PRECOMPILE`), warm from the start (section 2).
    function _isPrecompile(address a) internal pure returns (bool) {
        return uint160(a) != 0 && uint160(a) <= LAST_PRECOMPILE;
    }
}
