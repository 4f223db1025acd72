// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";

/// @notice The end of an EIP-7702 transaction (docs/evm-steps.md section 1.2): its depth-0 frame's
///         `CallerFrame` has neither a caller nor a created account, and its return step (kind 6,
///         `EvmReturnVerifier`, through `OneStepVerifier.step`) ends the transaction: success keeps
///         the state root and the running refund, a revert or a halt restores the root after the
///         authorizations and keeps their refund (the frame's snapshots), a halt spends all the
///         gas, and the refund is capped at a fifth of the gas spent. The output is not committed:
///         no word range, no created account's proof. Every post-state is built here from the spec;
///         a creation transaction's end beside it is unchanged.
contract EvmAuthorizedTxEndStepsTest is EvmStepHelpers {
    uint64 internal constant GAS_LIMIT = 300_000;
    /// @dev The root after the authorizations (the frame's snapshot) and the root the frame left.
    bytes32 internal constant AUTH_ROOT = keccak256("root after the authorizations");
    bytes32 internal constant RUN_ROOT = keccak256("root the frame left");
    /// @dev The authorizations' refund (the snapshot) and the refund counter when the frame ended
    ///      (theirs plus SSTORE's).
    uint64 internal constant AUTH_REFUND = 12_500;
    uint64 internal constant RUN_REFUND = 12_500 + 19_900;
    bytes32 internal constant FRAME_SUBSTATE = keccak256("the frame's substate");
    address internal constant NEW = address(0x4E3);

    /// @dev A returning state of the depth-0 frame and its return witness.
    struct End {
        EvmTypes.CallerFrame frame;
        EvmTypes.FrameEnd end;
        EvmTypes.EvmState caller;
        EvmTypes.WordRange output;
        EvmTypes.WordRange dest;
        bytes[] createdProof;
        MachineState.State pre;
        bytes mem;
    }

    /// @dev The frame ended with `outcome` and `gasLeft` (0 after a halt), an output of 40 bytes at
    ///      offset 5 of its memory after a RETURN or a REVERT.
    function ended(uint8 outcome, uint64 gasLeft) internal pure returns (End memory r) {
        r.frame = EvmTypes.CallerFrame(bytes32(0), 0, 0, AUTH_ROOT, bytes32(0), AUTH_REFUND, address(0));
        r.mem = pattern(64, 7);
        // Deployable as code (a creation transaction's end, below): not 0xEF first.
        r.mem[5] = 0x60;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.end.outcome = outcome;
        r.end.gasLeft = outcome == 3 ? 0 : gasLeft;
        r.end.substate = outcome == 1 ? FRAME_SUBSTATE : bytes32(0);
        if (outcome != 3) {
            r.end.memRoot = WordModel.root(r.mem);
            r.end.outOffset = 5;
            r.end.outSize = 40;
        }
        r.createdProof = new bytes[](0);
        r.pre.phase = MachineState.IN_TX;
        r.pre.stateRoot = RUN_ROOT;
        r.pre.inputs = keccak256("inputs");
        r.pre.blockItem = MachineState.itemHash(blockItem());
        r.pre.blockGasUsed = 21_000;
        r.pre.txsLeft = 2;
        r.pre.caller = CALLER;
        r.pre.txGasLimit = GAS_LIMIT;
        r.pre.effectiveGasPrice = 9;
        r.pre.priorityFee = 2;
        r.pre.gasLeft = 77;
        r.pre.refund = RUN_REFUND;
        r.pre.floorGas = 21_000;
        r.pre.evm = keccak256(abi.encode(r.end));
    }

    function witness(End memory r) internal pure returns (bytes memory) {
        return abi.encode(uint8(6), abi.encode(r.end, r.frame, r.caller, r.output, r.dest, r.createdProof));
    }

    function returned(End memory r) internal view returns (bytes32) {
        return verifier.step(abi.encode(r.pre), witness(r));
    }

    function expectRefused(End memory r, bytes memory reason) internal {
        bytes memory pre = abi.encode(r.pre);
        bytes memory proof = witness(r);
        vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The transaction's end, by the spec: `stateRoot`, `gasLeft` and the refund before its cap.
    function txEnd(End memory r, bool success, bytes32 root, uint64 gasLeft, uint64 refund)
        internal
        pure
        returns (bytes32)
    {
        MachineState.State memory s = copyState(r.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = success;
        s.stateRoot = root;
        s.gasLeft = gasLeft;
        uint64 cap = (GAS_LIMIT - gasLeft) / 5;
        s.refund = refund < cap ? refund : cap;
        return MachineState.hash(s);
    }

    // ------------------------------------------------------------------------------------------
    // The three outcomes

    /// @notice Success: the root the frame left, its gas left, the running refund (the
    ///         authorizations' plus SSTORE's), below its cap and capped.
    function test_successKeepsTheRunningRefund() public view {
        // 200,000 spent: a cap of 40,000 above the refund.
        End memory r = ended(1, 100_000);
        assertEq(returned(r), txEnd(r, true, RUN_ROOT, 100_000, RUN_REFUND));
        // By hand.
        MachineState.State memory s = copyState(r.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = 0;
        s.success = true;
        s.gasLeft = 100_000;
        assertEq(returned(r), MachineState.hash(s));
        // 100,000 spent: capped at 20,000.
        r = ended(1, 200_000);
        s.gasLeft = 200_000;
        s.refund = 20_000;
        assertEq(returned(r), MachineState.hash(s));
        assertEq(returned(r), txEnd(r, true, RUN_ROOT, 200_000, RUN_REFUND));
        // STOP: no output.
        r = ended(1, 100_000);
        r.end.memRoot = 0;
        r.end.outOffset = 0;
        r.end.outSize = 0;
        r.pre.evm = keccak256(abi.encode(r.end));
        assertEq(returned(r), txEnd(r, true, RUN_ROOT, 100_000, RUN_REFUND));
    }

    /// @notice A revert: the root after the authorizations (the value and the frame's changes
    ///         dropped), its gas left, the authorizations' refund (the frame's dropped), capped.
    function test_revertRestoresTheAuthorizationsRoot() public view {
        End memory r = ended(2, 100_000);
        assertEq(returned(r), txEnd(r, false, AUTH_ROOT, 100_000, AUTH_REFUND));
        MachineState.State memory s = copyState(r.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = 0;
        s.stateRoot = AUTH_ROOT;
        s.gasLeft = 100_000;
        s.refund = AUTH_REFUND;
        assertEq(returned(r), MachineState.hash(s));
        // 50,000 spent: capped at 10,000.
        r = ended(2, 250_000);
        s.gasLeft = 250_000;
        s.refund = 10_000;
        assertEq(returned(r), MachineState.hash(s));
    }

    /// @notice An exceptional halt: the root after the authorizations, no gas left, their refund
    ///         (a cap of 60,000 above it).
    function test_haltSpendsAllTheGas() public view {
        End memory r = ended(3, 0);
        assertEq(returned(r), txEnd(r, false, AUTH_ROOT, 0, AUTH_REFUND));
        MachineState.State memory s = copyState(r.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = 0;
        s.stateRoot = AUTH_ROOT;
        s.gasLeft = 0;
        s.refund = AUTH_REFUND;
        assertEq(returned(r), MachineState.hash(s));
        // A refund over a fifth of the whole limit is capped there.
        r.frame.refund = 70_000;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.pre.evm = keccak256(abi.encode(r.end));
        s.refund = 60_000;
        assertEq(returned(r), MachineState.hash(s));
        // A halt leaves no gas, whatever the returning state says.
        r = ended(3, 0);
        r.end.gasLeft = 5000;
        r.pre.evm = keccak256(abi.encode(r.end));
        s.refund = AUTH_REFUND;
        assertEq(returned(r), MachineState.hash(s));
    }

    /// @notice The witness's caller is not looked at.
    function test_callerNotLookedAt() public view {
        End memory r = ended(1, 100_000);
        bytes32 post = returned(r);
        r.caller = state(frame(op(0x00), one(1)));
        assertEq(returned(r), post);
        assertEq(post, txEnd(r, true, RUN_ROOT, 100_000, RUN_REFUND));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @notice The output is not committed: a word range over it, or a destination range, is
    ///         refused (`UnexpectedWords`), on success and on revert.
    function test_outputRangesRefused() public {
        for (uint8 outcome = 1; outcome <= 2; ++outcome) {
            End memory r = ended(outcome, 100_000);
            r.output = RangeModel.range(r.mem, 0, 1);
            expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
            r = ended(outcome, 100_000);
            r.dest = RangeModel.range(r.mem, 0, 0);
            expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
            // Siblings alone make a range non-empty.
            r = ended(outcome, 100_000);
            r.dest.siblings = new bytes32[](1);
            expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        }
    }

    /// @notice No account is created: a `createdProof` is refused (`UnexpectedProof`).
    function test_createdProofRefused() public {
        End memory r = ended(1, 100_000);
        r.createdProof = new bytes[](1);
        r.createdProof[0] = hex"c0";
        expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
        r = ended(3, 0);
        r.createdProof = new bytes[](1);
        expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice More gas left than the transaction's limit: `InvalidPreState`, not a panic.
    function test_gasLeftOverLimitRefused() public {
        End memory r = ended(1, GAS_LIMIT + 1);
        expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
        r = ended(2, GAS_LIMIT + 1);
        expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
        // Exactly the limit: nothing spent, no refund.
        r = ended(1, GAS_LIMIT);
        assertEq(returned(r), txEnd(r, true, RUN_ROOT, GAS_LIMIT, 0));
    }

    /// @notice The returning state and the frame are still opened, and the outcome checked.
    function test_openingChecked() public {
        End memory r = ended(1, 100_000);
        r.frame.refund = AUTH_REFUND + 1;
        expectRefused(
            r,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmStateMismatch.selector, r.end.parent, keccak256(abi.encode(r.frame))
            )
        );
        r = ended(1, 100_000);
        bytes32 claimed = r.pre.evm;
        r.end.gasLeft += 1;
        expectRefused(
            r, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, claimed, keccak256(abi.encode(r.end)))
        );
        for (uint8 outcome; outcome <= 4; outcome += 4) {
            r = ended(1, 100_000);
            r.end.outcome = outcome;
            r.pre.evm = keccak256(abi.encode(r.end));
            expectRefused(r, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
        }
    }

    // ------------------------------------------------------------------------------------------
    // A creation transaction's end beside it

    /// @notice The same returning state under a `CallerFrame` with a created account is a creation
    ///         transaction's: a revert restores its snapshot and drops every refund (no
    ///         authorizations), a success deposits the output as code (an account proof).
    function test_creationTxEndUnchanged() public view {
        End memory r = ended(2, 100_000);
        r.frame.created = NEW;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.pre.evm = keccak256(abi.encode(r.end));
        // Its output goes to no caller: not opened.
        assertEq(returned(r), txEnd(r, false, AUTH_ROOT, 100_000, 0));

        // Success: the 40 bytes deposited (8,000 gas).
        AccountWorld.World memory w;
        w.who = new address[](2);
        w.accounts = new Accounts.Account[](2);
        (w.who[0], w.who[1]) = (CALLER, NEW);
        w.accounts[0] = AccountWorld.account(2, 700, Accounts.EMPTY_CODE_HASH);
        w.accounts[1] = AccountWorld.account(1, 300, Accounts.EMPTY_CODE_HASH);
        r = ended(1, 100_000);
        r.frame.created = NEW;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.pre.evm = keccak256(abi.encode(r.end));
        r.pre.stateRoot = AccountWorld.rootOf(w);
        r.output = RangeModel.range(r.mem, 0, 1);
        r.createdProof = AccountWorld.proofOf(w, NEW);
        bytes memory code = new bytes(40);
        for (uint256 i; i < 40; ++i) {
            code[i] = r.mem[5 + i];
        }
        Accounts.Account memory n = AccountWorld.accountOf(w, NEW);
        n.codeHash = keccak256(code);
        assertEq(
            returned(r), txEnd(r, true, AccountWorld.rootOf(AccountWorld.withAccount(w, NEW, n)), 92_000, RUN_REFUND)
        );
    }
}
