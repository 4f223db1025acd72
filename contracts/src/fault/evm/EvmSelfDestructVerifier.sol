// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {EvmStateVerifier} from "./EvmStateVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";

/// @title EvmSelfDestructVerifier
/// @notice SELFDESTRUCT at any depth (docs/evm-steps.md section 11; witness kind 10), in revm 43's
///         order (`selfdestruct`, `selfdestruct_cost`, `JournaledState::selfdestruct`): 5000 gas,
///         a static frame or a stack underflow halts, 2600 more for a cold target (then warm),
///         25,000 more when the frame's account has a balance and the target is empty (absent, or
///         EIP-161 empty). The balance goes to the target; under EIP-6780 only an account created
///         in the transaction (no code at `txStartRoot`) is destroyed: its leaf is deleted at the
///         step (revm deletes it at the transaction's end; a later touch is left unproven off
///         chain), and its balance is burnt when it is its own target. Otherwise only the balance
///         moves. The frame ends with success and no output. An existing EIP-161-empty target
///         (which revm's touch would delete at the transaction's end) makes the step a
///         rest-of-transaction step. `EvmCallVerifier` forwards kind 10 here.
///         Mirrored off chain by `core/src/fault/evm.rs` and `core/src/fault/step.rs`.
contract EvmSelfDestructVerifier is IEvmStepVerifier {
    uint256 internal constant SELFDESTRUCT = 0xff;
    uint256 internal constant BASE_GAS = 5000;
    /// @notice EIP-2929's cold account access (2500 + 100): SELFDESTRUCT charges no warm read.
    uint256 internal constant COLD_TARGET = 2600;
    /// @notice The "topup" of a balance sent to an empty account (EIP-150, EIP-161).
    uint256 internal constant NEW_ACCOUNT = 25_000;
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    /// @notice The selfdestruct witness (docs/evm-steps.md sections 6 and 11, kind 10).
    struct SelfDestructWitness {
        /// @dev The substate's preimage (all `MerkleTrie.EMPTY_ROOT` when `substate` is 0).
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        /// @dev The target's key in `warmAccounts` (read, then inserted when cold).
        bytes[] warmProof;
        /// @dev The frame's account against the state root (its balance; deleted when it is its
        ///      own target and was created in the transaction).
        bytes[] selfProof;
        /// @dev The frame's account against `txStartRoot` (created in the transaction: no code then).
        bytes[] originalProof;
        /// @dev Another target: against the state root (read, then credited).
        bytes[] targetProof;
        /// @dev Another target: the frame's account against the root after the target's credit
        ///      (then deleted, or its balance zeroed).
        bytes[] selfAfterProof;
    }

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        SelfDestructWitness w;
        MachineState.BlockItem blk;
        uint256 cost;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 10) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.w, r.blk) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, SelfDestructWitness, MachineState.BlockItem)
        );
        if (EvmFrame.open(pre, r.e, r.code, true) != SELFDESTRUCT) revert UnsupportedStep(MachineState.IN_TX);
        bytes32 computed = _substate(r.w);
        if (computed != r.e.substate) revert EvmStateVerifier.SubstateMismatch(r.e.substate, computed);
        computed = MachineState.itemHash(r.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
        bool items = EvmFrame.openStack(r.e, r.top, r.rest, 1);
        uint256 outcome = _selfDestruct(pre, r, items);
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.e.memSize);
    }

    /// @dev The instruction in revm's order: its halts and gas, then its effect (the frame ends).
    function _selfDestruct(MachineState.State memory pre, Run memory r, bool items) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        SelfDestructWitness memory w = r.w;
        r.cost = BASE_GAS;
        if (r.cost > e.gas || e.isStatic || !items) return EvmFrame.EXCEPTION;
        // forge-lint: disable-next-line(unsafe-typecast)
        address target = address(uint160(r.top[0]));
        bytes32 warmKey = keccak256(abi.encodePacked(target));
        bool cold =
            !(target == pre.caller || target == e.self || target == r.blk.beneficiary
                || (uint160(target) != 0 && uint160(target) <= LAST_PRECOMPILE));
        if (cold) {
            (bool warm,) = MerkleTrie.get(w.warmAccounts, warmKey, w.warmProof);
            cold = !warm;
        }
        if (cold) r.cost += COLD_TARGET;
        bool toSelf = target == e.self;
        Accounts.Account memory self = Accounts.read(pre.stateRoot, Accounts.key(e.self), w.selfProof);
        uint256 b = self.balance;
        Accounts.Account memory to = toSelf ? self : Accounts.read(pre.stateRoot, Accounts.key(target), w.targetProof);
        bool empty = Accounts.isEmpty(to);
        // An existing empty target: revm's touch deletes it at the transaction's end.
        if (to.exists && empty) revert UnsupportedStep(MachineState.IN_TX);
        if (b != 0 && empty) r.cost += NEW_ACCOUNT;
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        // EIP-6780: an account without code when the transaction started was created in it.
        bool created =
            Accounts.read(e.txStartRoot, Accounts.key(e.self), w.originalProof).codeHash == Accounts.EMPTY_CODE_HASH;
        if (cold) w.warmAccounts = MerkleTrie.update(w.warmAccounts, warmKey, hex"01", w.warmProof);
        // The account is deleted at this step where revm deletes it at the transaction's end (its
        // code still runs until then): every later state access of the transaction is refused, as
        // under the access-list marker, unless a failing caller restores its snapshot
        // (docs/evm-steps.md section 11).
        e.substate = created ? EvmFrame.ACCESS_LIST_SUBSTATE : _substate(w);
        if (toSelf) {
            // The balance is burnt with the account; an older account keeps it.
            if (created) pre.stateRoot = MerkleTrie.update(pre.stateRoot, Accounts.key(e.self), "", w.selfProof);
            return EvmFrame.SUCCESS;
        }
        pre.stateRoot = _move(pre.stateRoot, r, target, to, created, b);
        return EvmFrame.SUCCESS;
    }

    /// @dev Another target: credited the balance `b` (nothing written when 0), then the frame's
    ///      account, read against the root after the credit, deleted (`created`) or zeroed.
    function _move(bytes32 root, Run memory r, address target, Accounts.Account memory to, bool created, uint256 b)
        private
        pure
        returns (bytes32)
    {
        SelfDestructWitness memory w = r.w;
        bytes32 selfKey = Accounts.key(r.e.self);
        if (b != 0) {
            // Balances above 2^256 together: no state holds them.
            if (to.balance > type(uint256).max - b) revert InvalidPreState();
            // An absent target reads as {0, 0, EMPTY_ROOT, EMPTY_CODE_HASH}: created with the balance.
            to.balance += b;
            root = MerkleTrie.update(root, Accounts.key(target), Accounts.encode(to), w.targetProof);
        }
        if (created) return MerkleTrie.update(root, selfKey, "", w.selfAfterProof);
        if (b == 0) return root;
        Accounts.Account memory self = Accounts.read(root, selfKey, w.selfAfterProof);
        self.balance = 0;
        return MerkleTrie.update(root, selfKey, Accounts.encode(self), w.selfAfterProof);
    }

    function _substate(SelfDestructWitness memory w) private pure returns (bytes32) {
        return EvmFrame.substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
    }
}
