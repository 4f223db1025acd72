// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {StateMutation} from "../StateMutation.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmPrecompileCallVerifier} from "../../src/fault/evm/EvmPrecompileCallVerifier.sol";

/// @dev CALL and CALLCODE with a value to the Prague precompiles (kind 5; docs/evm-steps.md
///      section 4, "Calls to precompiles"), as revm 43 runs them: 100, the memory expansion, 9000
///      for the value, 25,000 for a CALL to an absent precompile account, the forwarded gas plus
///      the 2300 stipend for the precompile; a depth of 1024 or a balance below the value fails
///      the call before the precompile runs (the forwarded gas and the stipend come back); a CALL
///      credits the precompile and debits the frame, a move kept only when the precompile
///      succeeds. Every expected post-state is built here from scratch: the accounts after the
///      move (`AccountWorld`), the memory after the write, the gas by hand.
contract EvmPrecompileValueStepsTest is EvmStepHelpers {
    EvmPrecompileCallVerifier internal calls;

    uint8 internal constant CALL = 0xf1;
    uint8 internal constant CALLCODE = 0xf2;
    uint256 internal constant IDENTITY = 4;
    uint256 internal constant SHA256 = 2;
    uint256 internal constant ECADD = 6;
    uint256 internal constant ECMUL = 7;
    uint256 internal constant ECPAIRING = 8;
    /// @dev The stack item below the call's seven.
    uint256 internal constant BELOW = 0xBEEF;
    uint256 internal constant VALUE = 1000;
    uint256 internal constant RICH = 1 ether;
    uint256 internal constant FRAME_GAS = 200_000;

    /// @dev One call: CALL or CALLCODE of precompile `id` with `value`, the input at memory 0 and
    ///      `outLen` bytes of output right after it, over the accounts `world`.
    struct ValueCall {
        uint8 op;
        uint256 id;
        uint256 value;
        uint256 gasArg;
        bytes input;
        uint256 outLen;
        uint16 depth;
        bool isStatic;
        uint256 gas;
        AccountWorld.World world;
    }

    /// @dev A case's pre-state and witness.
    struct Built {
        Frame f;
        EvmTypes.EvmState e;
        MachineState.State s;
        uint256[] top;
        bytes32 rest;
        EvmPrecompileCallVerifier.PrecompileCallWitness w;
    }

    function setUp() public override {
        super.setUp();
        calls = new EvmPrecompileCallVerifier();
    }

    // ------------------------------------------------------------------------------------------
    // Builders

    /// @dev The address of precompile `id` (at most 0x11).
    function precompile(uint256 id) internal pure returns (address) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return address(uint160(id));
    }

    /// @dev The frame's account (its code is the call instruction) with `balance`, the caller's, and
    ///      the precompile `id`'s account `callee` (none when it does not exist).
    function worldOf(uint8 opcode, uint256 balance, uint256 id, Accounts.Account memory callee)
        internal
        pure
        returns (AccountWorld.World memory w)
    {
        w = AccountWorld.withAccount(w, SELF, AccountWorld.account(1, balance, keccak256(op(opcode))));
        w = AccountWorld.withAccount(w, CALLER, AccountWorld.account(5, 3 ether, Accounts.EMPTY_CODE_HASH));
        if (callee.exists) w = AccountWorld.withAccount(w, precompile(id), callee);
    }

    function newCase(uint8 opcode, uint256 id, uint256 value, bytes memory input, uint256 outLen)
        internal
        pure
        returns (ValueCall memory c)
    {
        c.op = opcode;
        c.id = id;
        c.value = value;
        c.gasArg = 50_000;
        c.input = input;
        c.outLen = outLen;
        c.gas = FRAME_GAS;
        c.world = worldOf(opcode, RICH, id, AccountWorld.absent());
    }

    /// @dev `w` with `v` credited to `a` (created when absent; the balance saturated at 2^256 - 1).
    function credited(AccountWorld.World memory w, address a, uint256 v)
        internal
        pure
        returns (AccountWorld.World memory)
    {
        Accounts.Account memory acct = AccountWorld.accountOf(w, a);
        acct.exists = true;
        // Saturated, as the verifier credits before it reads the frame's balance.
        acct.balance = acct.balance > type(uint256).max - v ? type(uint256).max : acct.balance + v;
        return AccountWorld.withAccount(w, a, acct);
    }

    /// @dev `w` after a CALL's move of `v` from the frame to precompile `id`.
    function moved(AccountWorld.World memory w, uint256 id, uint256 v)
        internal
        pure
        returns (AccountWorld.World memory)
    {
        AccountWorld.World memory out = credited(w, precompile(id), v);
        Accounts.Account memory self = AccountWorld.accountOf(out, SELF);
        self.balance -= v;
        return AccountWorld.withAccount(out, SELF, self);
    }

    /// @dev The pre-state and the honest witness of `c`; `written` bytes of output are written.
    function build(ValueCall memory c, uint256 written) internal pure returns (Built memory b) {
        uint256 inWords = (c.input.length + 31) / 32;
        uint256[] memory stack = new uint256[](8);
        (stack[0], stack[1], stack[2], stack[3], stack[4], stack[5], stack[6], stack[7]) =
        (BELOW, c.outLen, inWords * 32, c.input.length, 0, c.value, c.id, c.gasArg);
        b.f = frame(op(c.op), stack);
        b.f.gas = c.gas;
        b.f.mem = bytes.concat(c.input, new bytes(inWords * 32 - c.input.length));
        b.e = state(b.f);
        b.e.depth = c.depth;
        if (c.depth != 0) b.e.parent = keccak256("the caller frame");
        b.e.isStatic = c.isStatic;
        // The return data of an earlier call, which this one replaces.
        b.e.returnDataRoot = WordModel.root(hex"1234");
        b.e.returnDataSize = 2;
        b.s = machine(b.f);
        b.s.stateRoot = AccountWorld.rootOf(c.world);
        b.s.evm = EvmTypes.hash(b.e);
        (b.top, b.rest) = opening(b.f, 7);
        b.w.calleeProof = AccountWorld.proofOf(c.world, precompile(c.id));
        if (inWords != 0) b.w.input = RangeModel.range(b.f.mem, 0, inWords - 1);
        if (written != 0) b.w.output = RangeModel.range(b.f.mem, inWords, inWords + (written - 1) / 32);
        if (c.value != 0) {
            // CALL: against the root after the callee's credit; CALLCODE: the state root.
            b.w.selfProof = c.op == CALL
                ? AccountWorld.proofOf(credited(c.world, precompile(c.id), c.value), SELF)
                : AccountWorld.proofOf(c.world, SELF);
        } else {
            b.w.selfProof = new bytes[](0);
        }
    }

    function encoded(Built memory b) internal pure returns (bytes memory) {
        return abi.encode(uint8(5), abi.encode(b.e, b.f.code, b.top, b.rest, b.w));
    }

    /// @dev The post-state of `b` when the call continues: pushes `ok`, the memory grown for the
    ///      output range with `output` (its first `outLen` bytes) written, the return data
    ///      `output`, `cost` gas used and the accounts `after_`.
    function expected(
        Built memory b,
        ValueCall memory c,
        bool ok,
        bytes memory output,
        uint256 cost,
        AccountWorld.World memory after_
    ) internal pure returns (MachineState.State memory post, EvmTypes.EvmState memory e) {
        e = abi.decode(abi.encode(b.e), (EvmTypes.EvmState));
        uint256 oldWords = b.f.mem.length / 32;
        uint256 newWords = c.outLen == 0 ? oldWords : oldWords + (c.outLen + 31) / 32;
        bytes memory mem = grown(b.f.mem, newWords * 32);
        for (uint256 i; i < c.outLen && i < output.length; ++i) {
            mem[oldWords * 32 + i] = output[i];
        }
        e.pc = 1;
        e.stackSize = 2;
        e.stack = stackHash(two(ok ? 1 : 0, BELOW), 2);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(mem.length);
        e.memRoot = WordModel.root(mem);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas = uint64(c.gas - cost);
        e.returnDataRoot = WordModel.root(output);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.returnDataSize = uint32(output.length);
        post = copyState(b.s);
        post.stateRoot = AccountWorld.rootOf(after_);
        post.evm = EvmTypes.hash(e);
    }

    function expectedHash(
        Built memory b,
        ValueCall memory c,
        bool ok,
        bytes memory output,
        uint256 cost,
        AccountWorld.World memory after_
    ) internal pure returns (bytes32) {
        (MachineState.State memory post,) = expected(b, c, ok, output, cost, after_);
        return MachineState.hash(post);
    }

    /// @dev The post-state of a halt at depth 0: the transaction ends, nothing kept.
    function haltedHash(Built memory b) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(b.s);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.stateRoot = START_ROOT;
        s.gasLeft = 0;
        s.refund = 0;
        s.success = false;
        return MachineState.hash(s);
    }

    function isTrieError(bytes memory reason) internal pure returns (bool) {
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 sel = bytes4(reason);
        return sel == MerkleTrie.InvalidProofNodeHash.selector || sel == MerkleTrie.ProofTooShort.selector
            || sel == MerkleTrie.ProofTooLong.selector || sel == MerkleTrie.UnexpectedNode.selector
            || sel == MerkleTrie.MissingSibling.selector;
    }

    function assertTrieRejects(Built memory b, string memory what) internal view {
        try calls.step(b.s, encoded(b)) returns (bytes32) {
            assertTrue(false, string.concat(what, " is accepted"));
        } catch (bytes memory reason) {
            assertTrue(isTrieError(reason), string.concat(what, " reverts with another error"));
        }
    }

    function unsupported() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
    }

    // ------------------------------------------------------------------------------------------
    // Successes

    /// @dev IDENTITY, absent: 100 + 3 (memory 1 -> 2 words) + 9000 + 25,000 + 18 (its price) - 2300
    ///      = 31,821; the precompile's account is created with the value, the frame pays it.
    function test_callWithValueToAbsentIdentity() public {
        bytes memory input = pattern(32, 1);
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, input, 32);
        Built memory b = build(c, 32);
        bytes32 want = expectedHash(b, c, true, input, 31_821, moved(c.world, IDENTITY, VALUE));
        uint256 before = gasleft();
        bytes32 got = calls.step(b.s, encoded(b));
        emit log_named_uint("L1 gas of a CALL with a value to IDENTITY (verifier)", before - gasleft());
        assertEq(got, want);
        // Through the whole verifier (OneStepVerifier -> EvmStepVerifier -> EvmCallVerifier).
        before = gasleft();
        got = verifier.step(abi.encode(b.s), encoded(b));
        emit log_named_uint("L1 gas of a CALL with a value to IDENTITY (OneStepVerifier)", before - gasleft());
        assertEq(got, want);
        // The account is created with the value, nonce 0, no code.
        Accounts.Account memory created = AccountWorld.accountOf(moved(c.world, IDENTITY, VALUE), address(4));
        assertTrue(created.exists);
        assertEq(created.balance, VALUE);
        assertEq(AccountWorld.accountOf(moved(c.world, IDENTITY, VALUE), SELF).balance, RICH - VALUE);
    }

    /// @dev IDENTITY existing with a balance (not empty): no new account, 31,821 - 25,000 = 6821.
    function test_callWithValueToExistingIdentity() public view {
        bytes memory input = pattern(32, 2);
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, input, 32);
        c.world = worldOf(CALL, RICH, IDENTITY, AccountWorld.account(0, 7, Accounts.EMPTY_CODE_HASH));
        Built memory b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, input, 6821, moved(c.world, IDENTITY, VALUE)));
        assertEq(AccountWorld.accountOf(moved(c.world, IDENTITY, VALUE), address(4)).balance, 1007);
    }

    /// @dev A whole balance moves (the frame's balance equal to the value).
    function test_callWithTheWholeBalance() public view {
        bytes memory input = pattern(32, 3);
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, input, 32);
        c.world = worldOf(CALL, VALUE, IDENTITY, AccountWorld.absent());
        Built memory b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, input, 31_821, moved(c.world, IDENTITY, VALUE)));
    }

    /// @dev SHA256 of 64 bytes costs 84, above the 50 forwarded but within 50 + 2300: it succeeds
    ///      (without a value the same call fails). 100 + 3 (2 -> 3 words) + 9000 + 25,000 + 84 - 2300.
    function test_priceWithinTheStipendSucceeds() public view {
        bytes memory input = pattern(64, 4);
        ValueCall memory c = newCase(CALL, SHA256, VALUE, input, 32);
        c.gasArg = 50;
        Built memory b = build(c, 32);
        bytes memory digest = abi.encodePacked(sha256(input));
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, digest, 31_887, moved(c.world, SHA256, VALUE)));
        // Without a value: 100 + 3, then the forwarded 50 all used (84 > 50).
        c.value = 0;
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 153, c.world));
    }

    /// @dev ECMUL costs 6000: 3700 forwarded + 2300 pays it exactly, 3699 + 2300 does not (the
    ///      move undone, the 3699 used). 100 + 6 (3 -> 5 words) + 9000 + 25,000.
    function test_priceAtTheStipendsEdge() public view {
        bytes memory input = abi.encode(uint256(1), uint256(2), uint256(2));
        ValueCall memory c = newCase(CALL, ECMUL, VALUE, input, 64);
        c.gasArg = 3700;
        Built memory b = build(c, 64);
        (bool called, bytes memory out) = address(7).staticcall(input);
        assertTrue(called);
        assertEq(out.length, 64);
        assertEq(
            calls.step(b.s, encoded(b)),
            expectedHash(b, c, true, out, 34_106 + 6000 - 2300, moved(c.world, ECMUL, VALUE))
        );
        c.gasArg = 3699;
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 34_106 + 3699, c.world));
    }

    // ------------------------------------------------------------------------------------------
    // Failures

    /// @dev ECADD of (1, 1), off the curve: the L1 precompile refuses it, the call fails, all of
    ///      the forwarded 50,000 is used (the stipend lost with it) and the move is undone.
    ///      100 + 6 (4 -> 6 words) + 9000 + 25,000 + 50,000.
    function test_refusedInputUndoesTheMove() public view {
        bytes memory input = abi.encode(uint256(1), uint256(1), uint256(1), uint256(2));
        ValueCall memory c = newCase(CALL, ECADD, VALUE, input, 64);
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 84_106, c.world));
        // The forwarded gas capped by all but a 64th: 200,000 - 34,106 = 165,894 left, 163,302 forwarded.
        c.gasArg = type(uint256).max;
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 34_106 + 163_302, c.world));
    }

    /// @dev ECPAIRING of nothing costs 45,000, above 1000 + 2300: the call fails, the move undone.
    ///      100 + 3 (0 -> 1 word) + 9000 + 25,000 + 1000.
    function test_priceAboveTheStipendFails() public view {
        ValueCall memory c = newCase(CALL, ECPAIRING, VALUE, "", 32);
        c.gasArg = 1000;
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 35_103, c.world));
    }

    /// @dev A balance one below the value: nothing moves, the precompile does not run, the forwarded
    ///      gas and the stipend come back: 100 + 3 + 9000 + 25,000 - 2300 = 31,803.
    function test_balanceBelowTheValueFails() public view {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 5), 32);
        c.world = worldOf(CALL, VALUE - 1, IDENTITY, AccountWorld.absent());
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 31_803, c.world));
        // A frame's balance is not read against the state root but after the credit: the pre-credit
        // proof does not open it.
        b.w.selfProof = AccountWorld.proofOf(c.world, SELF);
        assertTrieRejects(b, "a self proof against the root before the credit");
    }

    /// @dev At depth 1024 the call fails before anything moves: 31,803 as for a low balance.
    function test_depth1024Fails() public view {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 6), 32);
        c.depth = 1024;
        Built memory b = build(c, 0);
        b.w.selfProof = new bytes[](0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 31_803, c.world));
        // At depth 1023 it succeeds.
        c.depth = 1023;
        b = build(c, 32);
        assertEq(
            calls.step(b.s, encoded(b)), expectedHash(b, c, true, c.input, 31_821, moved(c.world, IDENTITY, VALUE))
        );
    }

    /// @dev The precompile's balance plus the value past 2^256: no state holds it.
    function test_overflowingCreditIsRefused() public {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 7), 32);
        c.world =
            worldOf(CALL, RICH, IDENTITY, AccountWorld.account(0, type(uint256).max - 10, Accounts.EMPTY_CODE_HASH));
        Built memory b = build(c, 32);
        vm.expectRevert(IEvmStepVerifier.InvalidPreState.selector);
        calls.step(b.s, encoded(b));
    }

    // ------------------------------------------------------------------------------------------
    // CALLCODE

    /// @dev CALLCODE with a value: the target is the frame itself, nothing moves, no new account's
    ///      25,000: 100 + 3 + 9000 + 18 - 2300 = 6821; a balance below the value fails (6803).
    function test_callCodeWithValueMovesNothing() public view {
        bytes memory input = pattern(32, 8);
        ValueCall memory c = newCase(CALLCODE, IDENTITY, VALUE, input, 32);
        Built memory b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, input, 6821, c.world));
        // The whole balance is enough.
        c.world = worldOf(CALLCODE, VALUE, IDENTITY, AccountWorld.absent());
        b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, input, 6821, c.world));
        // One less is not.
        c.world = worldOf(CALLCODE, VALUE - 1, IDENTITY, AccountWorld.absent());
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 6803, c.world));
        // The balance is read against the state root: a proof against another root is refused.
        b.w.selfProof = AccountWorld.proofOf(credited(c.world, address(4), VALUE), SELF);
        assertTrieRejects(b, "a CALLCODE self proof against another root");
    }

    /// @dev A CALLCODE whose precompile fails: nothing to undo, the forwarded gas used.
    ///      100 + 6 (4 -> 6 words) + 9000 + 50,000.
    function test_failingCallCodeWithValue() public view {
        bytes memory input = abi.encode(uint256(1), uint256(1), uint256(1), uint256(2));
        ValueCall memory c = newCase(CALLCODE, ECADD, VALUE, input, 64);
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, false, "", 59_106, c.world));
    }

    // ------------------------------------------------------------------------------------------
    // Static frames

    /// @dev A CALL with a value in a static frame halts (at depth 0 the transaction ends).
    function test_callWithValueInAStaticFrameHalts() public view {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 9), 32);
        c.isStatic = true;
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), haltedHash(b));
        // Without a value it does not.
        c.value = 0;
        b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, c.input, 121, c.world));
    }

    /// @dev A CALLCODE with a value in a static frame does not halt (revm checks only CALL).
    function test_callCodeWithValueInAStaticFrameRuns() public view {
        bytes memory input = pattern(32, 10);
        ValueCall memory c = newCase(CALLCODE, IDENTITY, VALUE, input, 32);
        c.isStatic = true;
        Built memory b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, input, 6821, c.world));
    }

    // ------------------------------------------------------------------------------------------
    // Gas running out

    /// @dev The 9000 and the 25,000 each halt when the gas does not cover them; the last gas that
    ///      does proves the call.
    function test_outOfGasAtTheValueAndTheNewAccount() public view {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 11), 32);
        c.gas = 9102; // 100 + 3 + 9000 - 1
        Built memory b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), haltedHash(b));
        c.gas = 34_102; // ... + 25,000 - 1
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), haltedHash(b));
        // 34,103 covers them; 0 forwarded, the 2300 stipend pays IDENTITY's 18.
        c.gas = 34_103;
        b = build(c, 32);
        assertEq(
            calls.step(b.s, encoded(b)), expectedHash(b, c, true, c.input, 31_821, moved(c.world, IDENTITY, VALUE))
        );
        // CALLCODE pays no 25,000.
        c.op = CALLCODE;
        c.world = worldOf(CALLCODE, RICH, IDENTITY, AccountWorld.absent());
        c.gas = 9103;
        b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, c.input, 6821, c.world));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @dev An existing empty precompile account (EIP-161 would delete it) stays unprovable, with
    ///      or without a value, CALL or CALLCODE; a CALL with a value out of gas at its 25,000 halts.
    function test_existingEmptyPrecompileAccountIsRefused() public {
        Accounts.Account memory empty = AccountWorld.account(0, 0, Accounts.EMPTY_CODE_HASH);
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 12), 32);
        c.world = worldOf(CALL, RICH, IDENTITY, empty);
        Built memory b = build(c, 32);
        vm.expectRevert(unsupported());
        calls.step(b.s, encoded(b));
        c.value = 0;
        b = build(c, 32);
        vm.expectRevert(unsupported());
        calls.step(b.s, encoded(b));
        c.op = CALLCODE;
        c.value = VALUE;
        c.world = worldOf(CALLCODE, RICH, IDENTITY, empty);
        b = build(c, 32);
        vm.expectRevert(unsupported());
        calls.step(b.s, encoded(b));
        // Out of gas at the new account's 25,000 (charged before the account is looked at).
        c.op = CALL;
        c.world = worldOf(CALL, RICH, IDENTITY, empty);
        c.gas = 34_102;
        b = build(c, 0);
        assertEq(calls.step(b.s, encoded(b)), haltedHash(b));
    }

    /// @dev Wrong account proofs are refused by the trie.
    function test_wrongProofsAreRefused() public view {
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, pattern(32, 13), 32);
        Built memory b = build(c, 32);
        // The frame's account against the state root instead of the root after the credit.
        b.w.selfProof = AccountWorld.proofOf(c.world, SELF);
        assertTrieRejects(b, "a self proof against the state root");
        // The frame's account in another state.
        b = build(c, 32);
        AccountWorld.World memory other = worldOf(CALL, RICH + 1, IDENTITY, AccountWorld.absent());
        b.w.selfProof = AccountWorld.proofOf(credited(other, address(4), VALUE), SELF);
        assertTrieRejects(b, "a self proof of another state");
        // No self proof at all.
        b.w.selfProof = new bytes[](0);
        assertTrieRejects(b, "a missing self proof");
        // The callee in another state (existing there).
        b = build(c, 32);
        other = worldOf(CALL, RICH, IDENTITY, AccountWorld.account(0, 7, Accounts.EMPTY_CODE_HASH));
        b.w.calleeProof = AccountWorld.proofOf(other, address(4));
        assertTrieRejects(b, "a callee proof of another state");
        // The proof of another account as the callee's.
        b.w.calleeProof = AccountWorld.proofOf(c.world, CALLER);
        assertTrieRejects(b, "another account's proof as the callee's");
    }

    /// @dev Without a value the witness carries no self proof.
    function test_selfProofWithoutAValueIsRefused() public {
        ValueCall memory c = newCase(CALL, IDENTITY, 0, pattern(32, 14), 32);
        Built memory b = build(c, 32);
        assertEq(calls.step(b.s, encoded(b)), expectedHash(b, c, true, c.input, 121, c.world));
        b.w.selfProof = AccountWorld.proofOf(c.world, SELF);
        vm.expectRevert(IEvmStepVerifier.UnexpectedProof.selector);
        calls.step(b.s, encoded(b));
        // A STATICCALL (no value item) neither.
        uint256[] memory stack = new uint256[](7);
        (stack[0], stack[1], stack[2], stack[3], stack[4], stack[5], stack[6]) =
        (BELOW, 32, 32, 32, 0, IDENTITY, 50_000);
        b.f = frame(hex"fa", stack);
        b.f.gas = FRAME_GAS;
        b.f.mem = c.input;
        b.e = state(b.f);
        b.s = machine(b.f);
        b.s.stateRoot = AccountWorld.rootOf(c.world);
        (b.top, b.rest) = opening(b.f, 6);
        vm.expectRevert(IEvmStepVerifier.UnexpectedProof.selector);
        calls.step(b.s, encoded(b));
    }

    // ------------------------------------------------------------------------------------------
    // Wrong post-state claims

    function mutateFrame(EvmTypes.EvmState memory e, uint256 field) internal pure {
        if (field == 0) e.txHash ^= bytes32(uint256(1));
        else if (field == 1) e.txStartRoot ^= bytes32(uint256(1));
        else if (field == 2) e.substate ^= bytes32(uint256(1));
        else if (field == 3) e.depth ^= 1;
        else if (field == 4) e.parent ^= bytes32(uint256(1));
        else if (field == 5) e.self = address(uint160(e.self) ^ 1);
        else if (field == 6) e.caller = address(uint160(e.caller) ^ 1);
        else if (field == 7) e.value ^= 1;
        else if (field == 8) e.isStatic = !e.isStatic;
        else if (field == 9) e.codeHash ^= bytes32(uint256(1));
        else if (field == 10) e.calldataRoot ^= bytes32(uint256(1));
        else if (field == 11) e.calldataSize ^= 1;
        else if (field == 12) e.returnDataRoot ^= bytes32(uint256(1));
        else if (field == 13) e.returnDataSize ^= 1;
        else if (field == 14) e.pc ^= 1;
        else if (field == 15) e.gas ^= 1;
        else if (field == 16) e.stackSize ^= 1;
        else if (field == 17) e.stack ^= bytes32(uint256(1));
        else if (field == 18) e.memSize ^= 32;
        else e.memRoot ^= bytes32(uint256(1));
    }

    /// @dev A claim differing from the proven post-state in any one component (the machine's 15
    ///      fields, the frame's 20) has another hash; so do the claims of a dishonest proposer that
    ///      forgets the move, the stipend, the new account or the value's 9000.
    function test_wrongClaimsAreRejected() public view {
        bytes memory input = pattern(32, 15);
        ValueCall memory c = newCase(CALL, IDENTITY, VALUE, input, 32);
        Built memory b = build(c, 32);
        bytes32 proven = calls.step(b.s, encoded(b));
        AccountWorld.World memory after_ = moved(c.world, IDENTITY, VALUE);
        (MachineState.State memory post, EvmTypes.EvmState memory e) = expected(b, c, true, input, 31_821, after_);
        assertEq(proven, MachineState.hash(post));
        for (uint256 field; field < 15; ++field) {
            MachineState.State memory claim = copyState(post);
            StateMutation.mutate(claim, field);
            assertTrue(MachineState.hash(claim) != proven, "a machine field");
        }
        for (uint256 field; field < 20; ++field) {
            EvmTypes.EvmState memory f = abi.decode(abi.encode(e), (EvmTypes.EvmState));
            mutateFrame(f, field);
            MachineState.State memory claim = copyState(post);
            claim.evm = EvmTypes.hash(f);
            assertTrue(MachineState.hash(claim) != proven, "a frame field");
        }
        assertTrue(expectedHash(b, c, true, input, 31_821, c.world) != proven, "the move forgotten");
        assertTrue(expectedHash(b, c, true, input, 31_821, credited(c.world, address(4), VALUE)) != proven, "no debit");
        assertTrue(expectedHash(b, c, true, input, 34_121, after_) != proven, "the stipend kept");
        assertTrue(expectedHash(b, c, true, input, 6821, after_) != proven, "no new account");
        assertTrue(expectedHash(b, c, true, input, 22_821, after_) != proven, "no 9000");
        assertTrue(expectedHash(b, c, false, "", 31_803, c.world) != proven, "a failure");
    }
}
