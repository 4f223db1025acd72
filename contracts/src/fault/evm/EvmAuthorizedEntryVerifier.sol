// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmEntryBase} from "./EvmEntryBase.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title EvmAuthorizedEntryVerifier
/// @notice The entry step (kind 13) of an EIP-7702 transaction once its authorizations have been
///         stepped (kind 12; docs/evm-steps.md section 1.2, witness in section 6): from the
///         authorization marker, as revm 43 (Prague) makes the first call frame, the value moves
///         from the caller to the recipient, a recipient whose code is a delegation designator
///         runs its delegate's code (the delegate loaded with no gas charge but made warm, section
///         2), and the depth-0 frame starts with a `CallerFrame` without a caller (`frame` 0,
///         `created` 0) holding the snapshots of a failure: the root after the authorizations and
///         their refund, which revm keeps whatever the outcome. Its end is the return step's
///         (`EvmReturnVerifier`). A recipient without code to run ends the transaction at once,
///         successful with all its gas (revm's `make_call_frame` on empty bytecode).
///         `EvmStepVerifier` forwards kind 13 here.
contract EvmAuthorizedEntryVerifier is EvmEntryBase {
    /// @dev The kind-13 witness: `abi.encode(bytes rawTx, bytes32 warmSlots, bytes32 warmAccounts,
    ///      bytes[] callerProof, bytes[] recipientProof, bytes recipientCode, bytes[] delegateProof,
    ///      bytes[] delegateWarmProof, MachineState.BlockItem blk)`.
    struct AuthorizedEntry {
        bytes rawTx;
        /// @dev The substate's tries after the access list and the authorities (the preimage of the
        ///      authorization marker); `ACCESS_LIST_SUBSTATE` and 0 for a list over the cap.
        bytes32 warmSlots;
        bytes32 warmAccounts;
        /// @dev The caller against `pre.stateRoot` (with a value; empty without one).
        bytes[] callerProof;
        /// @dev The recipient against the root after the caller's debit.
        bytes[] recipientProof;
        /// @dev The recipient's code (empty when it has none).
        bytes recipientCode;
        /// @dev A delegated recipient: the delegate's account against `pre.stateRoot` (before the
        ///      value moved); empty otherwise.
        bytes[] delegateProof;
        /// @dev A delegated recipient: `keccak256(delegate)` in `warmAccounts`; empty when the
        ///      delegate is warm from the start, the list is over the cap, or there is no delegate.
        bytes[] delegateWarmProof;
        /// @dev The block item (its beneficiary is warm from the start).
        MachineState.BlockItem blk;
    }

    /// @param chainId The L2 chain id.
    constructor(uint64 chainId) EvmEntryBase(chainId) {}

    /// @inheritdoc IEvmStepVerifier
    /// @dev In order: the transaction (an EIP-7702 one, not to a precompile, which the sequencer
    ///      refuses), the authorization marker over the witness's tries after all its
    ///      authorizations, the block item; then the value moves, the delegate is followed, and the
    ///      frame starts or the transaction ends (section 1.2).
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 13) revert UnsupportedStep(MachineState.IN_TX);
        // Nine values at once are too deep for the legacy code generator's stack: decoded as the
        // struct behind its offset.
        AuthorizedEntry memory w = abi.decode(bytes.concat(bytes32(uint256(32)), body), (AuthorizedEntry));
        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, CHAIN_ID);
        if (!ok) revert InvalidPreState();
        if (t.txType != TxDecoder.EIP7702 || _isPrecompile(t.to)) revert UnsupportedStep(MachineState.IN_TX);
        bytes32 computed =
            EvmTypes.authorizationMarker(t.hash, TxDecoder.authorizationCount(w.rawTx), w.warmSlots, w.warmAccounts);
        if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
        computed = MachineState.itemHash(w.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
        return _enter(pre, t, w);
    }

    /// @dev The value moves, the code to run is found (the recipient's, or its delegate's), then
    ///      the frame starts or, without code, the transaction ends. Returns the post-state's hash.
    function _enter(MachineState.State memory pre, TxDecoder.Tx memory t, AuthorizedEntry memory w)
        private
        pure
        returns (bytes32)
    {
        (bytes32 root, bytes32 codeHash) = _moveValue(pre, t, w);
        (bool delegated, address delegate) = EvmFrame.delegation(w.recipientCode);
        bytes32 warmAccounts = w.warmAccounts;
        if (delegated) {
            // revm loads the delegate with the recipient, before the value moves.
            codeHash = Accounts.read(pre.stateRoot, keccak256(abi.encodePacked(delegate)), w.delegateProof).codeHash;
            warmAccounts = _warmDelegate(pre, t, w, delegate);
        } else if (w.delegateProof.length != 0 || w.delegateWarmProof.length != 0) {
            revert UnexpectedProof();
        }

        if (codeHash == EMPTY_CODE_HASH) {
            // Empty bytecode: the call ends at once, successful, with all its gas; the
            // authorizations' refund stays, capped as revm reports it (EIP-3529).
            if (pre.gasLeft > pre.txGasLimit) revert InvalidPreState();
            uint64 cap = (pre.txGasLimit - pre.gasLeft) / 5;
            if (pre.refund > cap) pre.refund = cap;
            pre.phase = MachineState.TX_EXECUTED;
            pre.success = true;
            pre.evm = bytes32(0);
        } else {
            bytes32 substate = w.warmSlots == EvmFrame.ACCESS_LIST_SUBSTATE
                ? EvmFrame.ACCESS_LIST_SUBSTATE
                : EvmFrame.substateHash(w.warmSlots, MerkleTrie.EMPTY_ROOT, warmAccounts);
            EvmTypes.EvmState memory e = _frame(pre, t, w.rawTx, codeHash, substate);
            // No caller to resume: a failure restores the root after the authorizations and keeps
            // their refund (revm adds it after execution, whatever the outcome).
            e.parent = EvmTypes.hash(
                EvmTypes.CallerFrame({
                    frame: 0,
                    retOffset: 0,
                    retLen: 0,
                    stateRoot: pre.stateRoot,
                    substate: 0,
                    refund: pre.refund,
                    created: address(0)
                })
            );
            pre.evm = EvmTypes.hash(e);
        }
        pre.stateRoot = root;
        return MachineState.hash(pre);
    }

    /// @dev The value moves as in kind 0's entry (section 6, "Entry"): the caller's update, then
    ///      the recipient read against the root it left, its code checked against its code hash
    ///      (`EvmCodeMismatch`), then credited (an absent recipient is created). Returns the root
    ///      after the value moved and the recipient's code hash.
    function _moveValue(MachineState.State memory pre, TxDecoder.Tx memory t, AuthorizedEntry memory w)
        private
        pure
        returns (bytes32 root, bytes32 codeHash)
    {
        root = _debitCaller(pre, t, w.callerProof);
        bytes32 key = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(root, key, w.recipientProof);
        codeHash = keccak256(w.recipientCode);
        if (codeHash != recipient.codeHash) revert EvmCodeMismatch(recipient.codeHash, codeHash);
        // An existing empty account touched without a value: EIP-161 deletes it at the transaction's
        // end, which no step proves (only a genesis holds one).
        if (
            t.value == 0 && recipient.exists && recipient.nonce == 0 && recipient.balance == 0
                && codeHash == EMPTY_CODE_HASH
        ) revert UnsupportedStep(MachineState.IN_TX);
        root = _creditRecipient(root, key, recipient, t.value, w.recipientProof);
    }

    /// @dev `warmAccounts` after the delegate's access (section 2): `keccak256(delegate)` set to
    ///      0x01 with `delegateWarmProof`, unless the list is over the cap (the access-list marker)
    ///      or the delegate is warm from the start (the sender, the recipient, the block's
    ///      beneficiary, a precompile), when `delegateWarmProof` must be empty (`UnexpectedProof`).
    function _warmDelegate(
        MachineState.State memory pre,
        TxDecoder.Tx memory t,
        AuthorizedEntry memory w,
        address delegate
    ) private pure returns (bytes32) {
        if (
            w.warmSlots == EvmFrame.ACCESS_LIST_SUBSTATE || delegate == pre.caller || delegate == t.to
                || delegate == w.blk.beneficiary || _isPrecompile(delegate)
        ) {
            if (w.delegateWarmProof.length != 0) revert UnexpectedProof();
            return w.warmAccounts;
        }
        return MerkleTrie.update(w.warmAccounts, keccak256(abi.encodePacked(delegate)), hex"01", w.delegateWarmProof);
    }
}
