// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmEntryBase} from "./EvmEntryBase.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {AccessList} from "./AccessList.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title EvmDelegatedEntryVerifier
/// @notice The entry step (kind 11) of a call transaction (type 0, 1 or 2, not EIP-7702) whose
///         recipient's code is an EIP-7702 delegation designator (`0xef0100 ‖ delegate`): as kind
///         0's entry (docs/evm-steps.md section 1.1, witness in section 6) the value moves from the
///         caller to the recipient, then, as revm 43 (Prague) does in `create_init_frame`, the
///         delegate is loaded with no gas charge but made warm (section 2), and the depth-0 frame
///         runs the delegate's code with `target` the recipient; a delegate without code ends the
///         transaction at once, successful with all its gas (revm's `make_call_frame` on empty
///         bytecode). `EvmStepVerifier` forwards kind 11 here.
contract EvmDelegatedEntryVerifier is EvmEntryBase {
    /// @dev The kind-11 witness: `abi.encode(bytes rawTx, bytes[] callerProof, bytes[] recipientProof,
    ///      bytes recipientCode, bytes[][] accessProofs, bytes[] delegateProof, bytes[] delegateWarmProof,
    ///      MachineState.BlockItem blk)`, the first five as kind 0's `Entry`.
    struct DelegatedEntry {
        bytes rawTx;
        bytes[] callerProof;
        bytes[] recipientProof;
        /// @dev The recipient's code: a delegation designator.
        bytes recipientCode;
        /// @dev One proof per access-list warming (`AccessList.warm`).
        bytes[][] accessProofs;
        /// @dev The delegate's account against `pre.stateRoot` (before the value moved).
        bytes[] delegateProof;
        /// @dev `keccak256(delegate)` in `warmAccounts` after the access list's warmings; empty when
        ///      the delegate is warm from the start or the list is over the cap.
        bytes[] delegateWarmProof;
        /// @dev The block item (its beneficiary is warm from the start).
        MachineState.BlockItem blk;
    }

    /// @param chainId The L2 chain id.
    constructor(uint64 chainId) EvmEntryBase(chainId) {}

    /// @inheritdoc IEvmStepVerifier
    /// @dev In order: the entry marker, the transaction and the block item (section 6, "Entry");
    ///      a creation, an EIP-7702 transaction or a precompile recipient is refused; the value
    ///      moves; the delegate is read against the root before the value moved; the substate is
    ///      the access list's warmings plus the delegate (section 2); then the frame, or, for a
    ///      delegate without code, `TX_EXECUTED` (section 1.1).
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 11) revert UnsupportedStep(MachineState.IN_TX);
        // The witness is the tuple of `DelegatedEntry`'s fields: decoded as the struct behind its
        // offset (eight values at once are too deep for the legacy code generator's stack).
        DelegatedEntry memory w = abi.decode(bytes.concat(bytes32(uint256(32)), body), (DelegatedEntry));
        bytes32 computed = EvmTypes.entryMarker(keccak256(w.rawTx));
        if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, CHAIN_ID);
        if (!ok) revert InvalidPreState();
        computed = MachineState.itemHash(w.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
        // Only a call (not EIP-7702) to an account that is not a precompile (section 1.1).
        if (t.isCreate || t.txType == TxDecoder.EIP7702 || _isPrecompile(t.to)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        return _enter(pre, t, w);
    }

    /// @dev The value moves, the delegate is read and warmed, then the frame starts or, for a
    ///      delegate without code, the transaction ends (section 1.1). Returns the post-state's hash.
    function _enter(MachineState.State memory pre, TxDecoder.Tx memory t, DelegatedEntry memory w)
        private
        pure
        returns (bytes32)
    {
        (bytes32 root, address delegate) = _moveValue(pre, t, w);
        // revm loads the delegate with the recipient, before the value moves.
        Accounts.Account memory d = Accounts.read(pre.stateRoot, keccak256(abi.encodePacked(delegate)), w.delegateProof);
        bytes32 substate = _substate(pre, t, w, delegate);

        if (d.codeHash == EMPTY_CODE_HASH) {
            // Empty bytecode: the call ends at once, successful, with all its gas (section 1.1).
            pre.phase = MachineState.TX_EXECUTED;
            pre.success = true;
            pre.refund = 0;
            pre.evm = bytes32(0);
        } else {
            pre.evm = EvmTypes.hash(_frame(pre, t, w.rawTx, d.codeHash, substate));
        }
        pre.stateRoot = root;
        return MachineState.hash(pre);
    }

    /// @dev The value moves as in kind 0's entry (section 6, "Entry"): the caller's update, then
    ///      the recipient read against the root it left, its code checked against its code hash
    ///      (`EvmCodeMismatch`) and required to be a delegation designator (otherwise kind 0's
    ///      case: `UnsupportedStep(2)`), then credited. Returns the root after the value moved and the
    ///      designator's delegate.
    function _moveValue(MachineState.State memory pre, TxDecoder.Tx memory t, DelegatedEntry memory w)
        private
        pure
        returns (bytes32 root, address delegate)
    {
        root = _debitCaller(pre, t, w.callerProof);
        bytes32 recipientKey = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(root, recipientKey, w.recipientProof);
        bytes32 codeHash = keccak256(w.recipientCode);
        if (codeHash != recipient.codeHash) revert EvmCodeMismatch(recipient.codeHash, codeHash);
        bool delegated;
        (delegated, delegate) = EvmFrame.delegation(w.recipientCode);
        if (!delegated) revert UnsupportedStep(MachineState.IN_TX);
        root = _creditRecipient(root, recipientKey, recipient, t.value, w.recipientProof);
    }

    /// @dev The frame's substate (section 2): the access list's warmings (`AccessList.warm`), then
    ///      `warmAccounts[keccak256(delegate)] = 0x01` with `delegateWarmProof` (an inclusion proof
    ///      when the list named it), unless the list is over the cap (the access-list marker) or
    ///      the delegate is warm from the start (the sender, the recipient, the block's beneficiary,
    ///      a precompile), when `delegateWarmProof` must be empty (`UnexpectedProof`).
    function _substate(MachineState.State memory pre, TxDecoder.Tx memory t, DelegatedEntry memory w, address delegate)
        private
        pure
        returns (bytes32)
    {
        (bool marker, bytes32 warmSlots, bytes32 warmAccounts) = AccessList.warm(w.rawTx, t, w.accessProofs);
        bool warmFromStart =
            delegate == pre.caller || delegate == t.to || delegate == w.blk.beneficiary || _isPrecompile(delegate);
        if (marker || warmFromStart) {
            if (w.delegateWarmProof.length != 0) revert UnexpectedProof();
            if (marker) return EvmFrame.ACCESS_LIST_SUBSTATE;
        } else {
            warmAccounts =
                MerkleTrie.update(warmAccounts, keccak256(abi.encodePacked(delegate)), hex"01", w.delegateWarmProof);
        }
        return EvmFrame.substateHash(warmSlots, MerkleTrie.EMPTY_ROOT, warmAccounts);
    }
}
