// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {RLPWriter} from "../RLPWriter.sol";
import {TxDecoder} from "../TxDecoder.sol";
import {AccessList} from "./AccessList.sol";

/// @title EvmCreationTxVerifier
/// @notice The entry step of a creation transaction (one without `to`; docs/evm-steps.md section
///         10, witness kind 9), as revm 43's `make_create_frame` and `create_account_checkpoint`
///         start its frame: from `IN_TX` with the entry marker (the transaction start step has
///         bumped the sender's nonce and charged the gas), the new address is
///         `keccak256(rlp([sender, tx.nonce]))[12:]`; an account there with code or a nonce
///         (a collision) ends the transaction failed with all its gas; otherwise the new account
///         gets nonce 1 and the value (the sender debited) and the init code's frame starts at
///         depth 0 under a `CallerFrame` with no caller (`frame` 0) that holds the state root to
///         restore and the new address: its end leaves the returning state, and the return step
///         (kind 6, `EvmReturnVerifier`) deposits the code and ends the transaction. An account
///         with storage but no code nor nonce at the new address is a rest-of-transaction step.
///         Its own contract because it carries the transaction decoder; `EvmCallVerifier` forwards
///         kind 9 here. Mirrored off chain by `core/src/fault/step.rs`.
contract EvmCreationTxVerifier is IEvmStepVerifier {
    /// @notice The L2 chain id (the transaction decodes against it).
    uint64 public immutable CHAIN_ID;

    /// @dev The creation entry witness:
    ///      `abi.encode(bytes rawTx, bytes[] newProof, bytes[] callerProof, bytes[][] accessProofs)`.
    struct CreationEntry {
        bytes rawTx;
        /// @dev The new address against the state root (read, then written when no collision).
        bytes[] newProof;
        /// @dev With a value and no collision: the sender against the root after the new account
        ///      is written (debited by the value); otherwise empty.
        bytes[] callerProof;
        /// @dev One proof per access-list warming (`AccessList.substate`); empty on a collision
        ///      (no frame starts) or when the list is empty or over the cap.
        bytes[][] accessProofs;
    }

    constructor(uint64 chainId) {
        CHAIN_ID = chainId;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 9) revert UnsupportedStep(MachineState.IN_TX);
        CreationEntry memory w;
        (w.rawTx, w.newProof, w.callerProof, w.accessProofs) = abi.decode(body, (bytes, bytes[], bytes[], bytes[][]));
        bytes32 marker = EvmTypes.entryMarker(keccak256(w.rawTx));
        if (marker != pre.evm) revert EvmStateMismatch(pre.evm, marker);
        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, CHAIN_ID);
        if (!ok) revert InvalidPreState();
        // A call transaction is entered by kind 0.
        if (!t.isCreate) revert UnsupportedStep(MachineState.IN_TX);
        return _enter(pre, t, w);
    }

    /// @dev The new account collides (the transaction ends) or its init frame starts.
    function _enter(MachineState.State memory pre, TxDecoder.Tx memory t, CreationEntry memory w)
        private
        pure
        returns (bytes32)
    {
        address created = createAddress(pre.caller, t.nonce);
        bytes32 key = Accounts.key(created);
        Accounts.Account memory acct = Accounts.read(pre.stateRoot, key, w.newProof);
        if (acct.codeHash != Accounts.EMPTY_CODE_HASH || acct.nonce != 0) {
            // A collision: revm's frame creation fails (`CreateCollision`), a halt at depth 0 with
            // all the gas spent; the sender's nonce bump and prepaid gas stay.
            if (w.callerProof.length != 0 || w.accessProofs.length != 0) revert UnexpectedProof();
            pre.phase = MachineState.TX_EXECUTED;
            pre.evm = bytes32(0);
            pre.success = false;
            pre.gasLeft = 0;
            pre.refund = 0;
            return MachineState.hash(pre);
        }
        // An account with storage but no code nor nonce: revm would keep its storage unseen.
        if (acct.storageRoot != MerkleTrie.EMPTY_ROOT) revert UnsupportedStep(MachineState.IN_TX);

        bytes32 rootBefore = pre.stateRoot;
        pre.stateRoot = _start(rootBefore, pre.caller, key, acct, t.value, w);
        pre.evm = EvmTypes.hash(_frame(pre, t, w, rootBefore, created));
        return MachineState.hash(pre);
    }

    /// @dev revm's `create_account_checkpoint`: the new account gets nonce 1, the value and an
    ///      empty storage (written with `newProof`), then (a value) the sender is debited (read
    ///      with `callerProof` against the root after the new account). Returns the last root.
    function _start(
        bytes32 root,
        address sender,
        bytes32 key,
        Accounts.Account memory acct,
        uint256 value,
        CreationEntry memory w
    ) private pure returns (bytes32) {
        // Balances above 2^256 together: no state holds them.
        if (acct.balance > type(uint256).max - value) revert InvalidPreState();
        acct.nonce = 1;
        acct.balance += value;
        acct.storageRoot = MerkleTrie.EMPTY_ROOT;
        acct.codeHash = Accounts.EMPTY_CODE_HASH;
        root = MerkleTrie.update(root, key, Accounts.encode(acct), w.newProof);
        if (value == 0) {
            if (w.callerProof.length != 0) revert UnexpectedProof();
            return root;
        }
        bytes32 senderKey = Accounts.key(sender);
        Accounts.Account memory paying = Accounts.read(root, senderKey, w.callerProof);
        // The transaction start step checked the sender's balance against the value.
        if (paying.balance < value) revert InvalidPreState();
        paying.balance -= value;
        return MerkleTrie.update(root, senderKey, Accounts.encode(paying), w.callerProof);
    }

    /// @dev The init code's frame at depth 0, at its first instruction (docs/evm-steps.md section
    ///      10): its `parent` is a `CallerFrame` without a caller (`frame` 0) holding the root a
    ///      failed creation restores (`rootBefore`, the transaction's start) and the new address.
    function _frame(
        MachineState.State memory pre,
        TxDecoder.Tx memory t,
        CreationEntry memory w,
        bytes32 rootBefore,
        address created
    ) private pure returns (EvmTypes.EvmState memory e) {
        EvmTypes.CallerFrame memory c;
        c.stateRoot = rootBefore;
        c.created = created;
        e.txHash = t.hash;
        e.txStartRoot = rootBefore;
        // An access list's accounts and keys start warm (section 2): in the substate's tries, or
        // under the access-list marker past `AccessList.MAX_ACCESS_LIST_WARMINGS` entries.
        e.substate = AccessList.substate(w.rawTx, t, w.accessProofs);
        e.parent = EvmTypes.hash(c);
        e.self = created;
        e.caller = pre.caller;
        e.value = t.value;
        e.codeHash = keccak256(TxDecoder.callData(w.rawTx));
        e.calldataRoot = WordTree.EMPTY_ROOT;
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = pre.gasLeft;
        e.memRoot = WordTree.EMPTY_ROOT;
    }

    /// @notice A creation transaction's address: `keccak256(rlp([sender, nonce]))[12:]`.
    function createAddress(address sender, uint256 nonce) public pure returns (address) {
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.writeAddress(sender);
        items[1] = RLPWriter.writeUint(nonce);
        return address(uint160(uint256(keccak256(RLPWriter.writeList(items)))));
    }
}
