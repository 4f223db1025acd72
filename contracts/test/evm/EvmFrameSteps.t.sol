// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCallVerifier} from "../../src/fault/evm/EvmCallVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";

/// @notice Frames at depth >= 1 (docs/evm-steps.md section 9), hand-built, through
///         `OneStepVerifier.step`: a frame's end at depth 1 (STOP, RETURN, REVERT, exceptional halts,
///         from the stage-1 and stage-2 verifiers) into the returning state; the return step
///         (kind 6) back to the caller (the output copied into its memory, its return data, the
///         snapshots a failing callee restores) and every way its witness can be wrong; and the
///         call step that starts a frame (kind 4) on a small state trie built by `RefTrie`: the new
///         frame and its `CallerFrame` for each call kind, the value, the caller's own account,
///         the depth limit, the call data's range.
contract EvmFrameStepsTest is EvmStepHelpers {
    uint256 internal constant MAX = type(uint256).max;
    uint256 internal constant FILLER = 0x1111;

    /// @dev The parent and substate of the depth-1 frame that ends.
    bytes32 internal constant PARENT = keccak256("parent");
    bytes32 internal constant FRAME_SUBSTATE = keccak256("frame substate");
    uint64 internal constant REFUND = 4800;

    // ------------------------------------------------------------------------------------------
    // A frame at depth 1 (stage-1 and stage-2 witnesses)

    function deepState(Frame memory f) internal pure returns (EvmTypes.EvmState memory e) {
        e = state(f);
        e.depth = 1;
        e.parent = PARENT;
        e.substate = FRAME_SUBSTATE;
    }

    function deepMachine(Frame memory f) internal pure returns (MachineState.State memory s) {
        s = machine(f);
        s.refund = REFUND;
        s.evm = EvmTypes.hash(deepState(f));
    }

    function deepWitness(Frame memory f, uint256 reads, EvmTypes.WordProof[] memory words)
        internal
        pure
        returns (bytes memory)
    {
        (uint256[] memory top, bytes32 rest) = opening(f, reads);
        return abi.encode(uint8(1), abi.encode(deepState(f), f.code, top, rest, words, blockItem()));
    }

    function deepRangeWitness(Frame memory f, uint256 reads, EvmTypes.WordRange[] memory ranges)
        internal
        pure
        returns (bytes memory)
    {
        (uint256[] memory top, bytes32 rest) = opening(f, reads);
        return abi.encode(uint8(2), abi.encode(deepState(f), f.code, top, rest, ranges));
    }

    function deepStep(Frame memory f, bytes memory proof) internal view returns (bytes32) {
        return verifier.step(abi.encode(deepMachine(f)), proof);
    }

    /// @dev The returning state after the depth-1 frame `f` ends: the machine unchanged but `evm`.
    function returning(
        Frame memory f,
        uint8 outcome,
        uint256 gasLeft,
        bytes32 memRoot,
        uint256 outOffset,
        uint256 outSize
    ) internal pure returns (bytes32) {
        return frameEnded(deepMachine(f), PARENT, FRAME_SUBSTATE, outcome, gasLeft, memRoot, outOffset, outSize);
    }

    /// @notice STOP at depth 1 succeeds with its gas, its substate and no output.
    function test_stopAtDepthOne() public view {
        Frame memory f = frame(op(0x00), one(7));
        assertEq(deepStep(f, deepWitness(f, 0, noWords())), returning(f, 1, f.gas, 0, 0, 0));
        // pc past the code: STOP too.
        f = frame(op(0x01), two(1, 2));
        f.pc = 1;
        assertEq(deepStep(f, deepWitness(f, 0, noWords())), returning(f, 1, f.gas, 0, 0, 0));
    }

    /// @notice RETURN and REVERT at depth 1 keep their output's memory root, offset and size; the
    ///         memory expansion is paid; REVERT keeps its gas but not its substate.
    function test_returnAndRevertAtDepthOne() public view {
        bytes memory mem = pattern(64, 1);
        // offset 40, len 50: the memory grows from 2 to 3 words.
        uint256 cost = memoryCost(3) - memoryCost(2);
        Frame memory f = frame(op(0xf3), two(40, 50));
        f.mem = mem;
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 1, f.gas - cost, WordModel.root(mem), 40, 50));
        f.code = op(0xfd);
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 2, f.gas - cost, WordModel.root(mem), 40, 50));
        // Inside the memory: no expansion.
        f = frame(op(0xf3), two(3, 33));
        f.mem = mem;
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 1, f.gas, WordModel.root(mem), 3, 33));
        // An empty output: no memory root, no offset (not even a huge one).
        f = frame(op(0xf3), two(MAX, 0));
        f.mem = mem;
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 1, f.gas, 0, 0, 0));
        f.code = op(0xfd);
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 2, f.gas, 0, 0, 0));
    }

    /// @notice An exceptional halt at depth 1 (invalid or undefined opcode, out of gas, an operand
    ///         past 64 bits, stack underflow, an invalid jump) leaves no gas, no substate, no output.
    function test_exceptionalHaltAtDepthOne() public view {
        Frame memory f = frame(op(0xfe), one(1));
        assertEq(deepStep(f, deepWitness(f, 0, noWords())), returning(f, 3, 0, 0, 0, 0));
        f.code = op(0x0c);
        assertEq(deepStep(f, deepWitness(f, 0, noWords())), returning(f, 3, 0, 0, 0, 0));
        // RETURN whose memory expansion is above the gas.
        f = frame(op(0xf3), two(0, 1000));
        f.gas = 2;
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 3, 0, 0, 0, 0));
        // REVERT at an offset past 64 bits.
        f = frame(op(0xfd), two(2 ** 64, 1));
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 3, 0, 0, 0, 0));
        // RETURN with one stack item.
        f = frame(op(0xf3), one(1));
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), returning(f, 3, 0, 0, 0, 0));
        // JUMP to a non-JUMPDEST.
        f = frame(hex"5600", one(1));
        assertEq(deepStep(f, deepWitness(f, 1, noWords())), returning(f, 3, 0, 0, 0, 0));
        // A stage-2 instruction (KECCAK256 whose word cost is above the gas), through EvmCopyVerifier.
        f = frame(op(0x20), two(0, 64));
        f.gas = 41;
        assertEq(deepStep(f, deepRangeWitness(f, 2, noRanges())), returning(f, 3, 0, 0, 0, 0));
    }

    /// @notice An instruction that does not end the frame continues it at depth 1 as at depth 0.
    function test_instructionsContinueAtDepthOne() public view {
        Frame memory f = frame(op(0x01), three(2, 3, FILLER));
        Frame memory g = copy(f);
        g.stack = two(5, FILLER);
        g.pc = 1;
        g.gas -= 3;
        MachineState.State memory s = deepMachine(f);
        s.evm = EvmTypes.hash(deepState(g));
        assertEq(deepStep(f, deepWitness(f, 2, noWords())), MachineState.hash(s));
    }

    /// @notice An output whose range ends at or past 2^32 bytes does not fit the returning state
    ///         (its memory costs over 3 * 10^13 gas): a rest-of-transaction step at depth 1.
    function test_outputPast4GiB() public {
        Frame memory f = frame(op(0xf3), two(2 ** 32 - 10, 20));
        f.gas = type(uint64).max;
        bytes memory proof = deepWitness(f, 2, noWords());
        bytes memory pre = abi.encode(deepMachine(f));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(pre, proof);
        f.stack = two(2 ** 32 - 21, 21);
        proof = deepWitness(f, 2, noWords());
        pre = abi.encode(deepMachine(f));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(pre, proof);
        // One byte less fits.
        f.stack = two(2 ** 32 - 21, 20);
        uint256 words = 2 ** 27;
        assertEq(
            deepStep(f, deepWitness(f, 2, noWords())),
            returning(f, 1, f.gas - memoryCost(words), WordModel.root(""), 2 ** 32 - 21, 20)
        );
    }

    // ------------------------------------------------------------------------------------------
    // The return step (kind 6)

    bytes32 internal constant CALLEE_ROOT = keccak256("state root after the callee");
    bytes32 internal constant ROOT_BEFORE = keccak256("state root before the call's value");
    bytes32 internal constant SNAPSHOT = keccak256("caller's substate at the call");
    bytes32 internal constant CALLEE_SUBSTATE = keccak256("callee's substate");
    uint64 internal constant SNAPSHOT_REFUND = 77;
    uint64 internal constant CALLEE_REFUND = 9600;
    uint64 internal constant GAS_LEFT = 1234;

    /// @dev A return step: the callee's memory and end, the caller as it resumes, its saved frame.
    struct Ret {
        bytes calleeMem;
        Frame caller;
        uint256 depth;
        EvmTypes.CallerFrame frame;
        EvmTypes.FrameEnd end;
        EvmTypes.WordRange output;
        EvmTypes.WordRange dest;
    }

    function callerState(Ret memory r) internal pure returns (EvmTypes.EvmState memory e) {
        e = state(r.caller);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.depth = uint16(r.depth);
        if (r.depth != 0) e.parent = keccak256("grandparent");
        e.substate = SNAPSHOT;
        e.returnDataRoot = keccak256("old return data");
    }

    function emptyRange() internal pure returns (EvmTypes.WordRange memory) {}

    /// @dev A callee that ended with `outcome` (gas left `GAS_LEFT`, or 0 after an exceptional halt),
    ///      its output `outSize` bytes at `outOffset` of its memory, to `retLen` bytes at
    ///      `retOffset` of the caller's.
    function ret(uint8 outcome, uint256 outOffset, uint256 outSize, uint256 retOffset, uint256 retLen)
        internal
        pure
        returns (Ret memory r)
    {
        r.calleeMem = pattern(160, 2);
        r.caller = frame(op(0xf1), two(3, FILLER));
        r.caller.pc = 1;
        r.caller.gas = 50_000;
        r.caller.mem = pattern(192, 3);
        r.caller.returnDataSize = 5;
        r.frame.frame = EvmTypes.hash(callerState(r));
        // forge-lint: disable-next-line(unsafe-typecast)
        r.frame.retOffset = uint32(retOffset);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.frame.retLen = uint32(retLen);
        r.frame.stateRoot = ROOT_BEFORE;
        r.frame.substate = SNAPSHOT;
        r.frame.refund = SNAPSHOT_REFUND;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.end.outcome = outcome;
        r.end.gasLeft = outcome == 3 ? 0 : GAS_LEFT;
        r.end.substate = outcome == 1 ? CALLEE_SUBSTATE : bytes32(0);
        if (outSize != 0) {
            r.end.memRoot = WordModel.root(r.calleeMem);
            // forge-lint: disable-next-line(unsafe-typecast)
            r.end.outOffset = uint32(outOffset);
            // forge-lint: disable-next-line(unsafe-typecast)
            r.end.outSize = uint32(outSize);
            r.output = RangeModel.range(r.calleeMem, outOffset / 32, (outOffset + outSize - 1) / 32);
        }
        uint256 n = retLen < outSize ? retLen : outSize;
        if (n != 0) r.dest = RangeModel.range(r.caller.mem, retOffset / 32, (retOffset + n - 1) / 32);
    }

    /// @dev The machine in the returning state of `r`.
    function retMachine(Ret memory r) internal pure returns (MachineState.State memory s) {
        s = machine(r.caller);
        s.stateRoot = CALLEE_ROOT;
        s.refund = CALLEE_REFUND;
        s.evm = keccak256(abi.encode(r.end));
    }

    function retWitness(Ret memory r) internal pure returns (bytes memory) {
        return abi.encode(uint8(6), abi.encode(r.end, r.frame, callerState(r), r.output, r.dest, new bytes[](0)));
    }

    function retStep(Ret memory r) internal view returns (bytes32) {
        return verifier.step(abi.encode(retMachine(r)), retWitness(r));
    }

    function expectRetRevert(Ret memory r, bytes memory reason) internal {
        bytes memory pre = abi.encode(retMachine(r));
        bytes memory proof = retWitness(r);
        vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    function slice(bytes memory data, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = data[start + i];
        }
    }

    /// @dev What the spec says the return step gives (docs/evm-steps.md section 9).
    function returned(Ret memory r) internal pure returns (bytes32) {
        bool success = r.end.outcome == 1;
        bytes memory output = slice(r.calleeMem, r.end.outOffset, r.end.outSize);
        uint256 n = r.frame.retLen < output.length ? r.frame.retLen : output.length;
        Ret memory after_ = abi.decode(abi.encode(r), (Ret));
        Frame memory c = after_.caller;
        bytes memory mem = c.mem;
        for (uint256 i; i < n; ++i) {
            mem[r.frame.retOffset + i] = output[i];
        }
        c.stack = pushed(c.stack, one(success ? 1 : 0));
        c.gas += r.end.gasLeft;
        c.returnDataSize = output.length;
        EvmTypes.EvmState memory e = callerState(after_);
        e.returnDataRoot = WordModel.root(output);
        MachineState.State memory s = retMachine(r);
        if (success) {
            e.substate = r.end.substate;
        } else {
            e.substate = r.frame.substate;
            s.stateRoot = r.frame.stateRoot;
            s.refund = r.frame.refund;
        }
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    /// @notice A successful callee's output is copied into an unaligned destination (as much as
    ///         `retLen` takes), becomes the caller's return data, the caller pushes 1, gets the gas
    ///         left back and the callee's substate; the state root and refund stay.
    function test_returnStepCopiesTheOutput() public view {
        // Output bytes 7..76 (words 0..2) to caller bytes 45..144 (70 written, words 1..3).
        Ret memory r = ret(1, 7, 70, 45, 100);
        bytes32 post = retStep(r);
        assertEq(post, returned(r));
        // A hand check of the model on this case.
        MachineState.State memory s = retMachine(r);
        assertEq(s.stateRoot, CALLEE_ROOT);
        // retLen shorter than the output: 10 bytes written (word 1 only); the return data is whole.
        r = ret(1, 7, 70, 45, 10);
        assertEq(retStep(r), returned(r));
        // retLen 0: nothing written, no destination range.
        r = ret(1, 7, 70, 0, 0);
        assertEq(retStep(r), returned(r));
        // Aligned output and destination.
        r = ret(1, 32, 64, 64, 64);
        assertEq(retStep(r), returned(r));
        // One byte across a word boundary... and into the caller's last byte.
        r = ret(1, 31, 2, 190, 2);
        assertEq(retStep(r), returned(r));
        // No output (STOP): empty return data, nothing written.
        r = ret(1, 0, 0, 10, 20);
        assertEq(retStep(r), returned(r));
    }

    /// @notice A callee that reverted: its output is copied and is the return data, the caller
    ///         pushes 0 and gets its gas back, but the state root, substate and refund counter are
    ///         the caller's snapshots.
    function test_returnStepAfterRevertRestores() public view {
        Ret memory r = ret(2, 7, 70, 45, 100);
        bytes32 post = retStep(r);
        assertEq(post, returned(r));
        r = ret(2, 100, 60, 0, 16);
        assertEq(retStep(r), returned(r));
        r = ret(2, 0, 0, 0, 0);
        assertEq(retStep(r), returned(r));
    }

    /// @notice A callee that halted exceptionally: no gas back, empty return data, push 0, the
    ///         snapshots restored.
    function test_returnStepAfterExceptionalHalt() public view {
        Ret memory r = ret(3, 0, 0, 45, 100);
        assertEq(retStep(r), returned(r));
        MachineState.State memory s = retMachine(r);
        Frame memory c = copy(r.caller);
        c.stack = pushed(c.stack, one(0));
        c.returnDataSize = 0;
        EvmTypes.EvmState memory e = callerState(Ret(r.calleeMem, c, 0, r.frame, r.end, r.output, r.dest));
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        s.stateRoot = ROOT_BEFORE;
        s.refund = SNAPSHOT_REFUND;
        s.evm = EvmTypes.hash(e);
        assertEq(retStep(r), MachineState.hash(s));
    }

    /// @notice The caller can be at any depth.
    function test_returnStepToADeeperCaller() public view {
        Ret memory r = ret(1, 7, 70, 45, 100);
        r.depth = 7;
        r.frame.frame = EvmTypes.hash(callerState(r));
        r.end.parent = keccak256(abi.encode(r.frame));
        assertEq(retStep(r), returned(r));
    }

    /// @notice A `FrameEnd`, `CallerFrame` or caller other than the ones `pre.evm` commits to.
    function test_returnStepWrongHashes() public {
        Ret memory r = ret(1, 7, 70, 45, 100);
        // The returning state: pre.evm is another FrameEnd's hash.
        MachineState.State memory s = retMachine(r);
        s.evm ^= bytes32(uint256(1));
        bytes memory proof = retWitness(r);
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, s.evm, keccak256(abi.encode(r.end)))
        );
        verifier.step(abi.encode(s), proof);
        // A FrameEnd changed in any field.
        for (uint256 field; field < 7; ++field) {
            Ret memory b = ret(1, 7, 70, 45, 100);
            bytes memory pre = abi.encode(retMachine(b));
            if (field == 0) b.end.parent ^= bytes32(uint256(1));
            else if (field == 1) b.end.outcome = 2;
            else if (field == 2) b.end.gasLeft += 1;
            else if (field == 3) b.end.substate ^= bytes32(uint256(1));
            else if (field == 4) b.end.memRoot ^= bytes32(uint256(1));
            else if (field == 5) b.end.outOffset += 1;
            else b.end.outSize -= 1;
            proof = retWitness(b);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEvmStepVerifier.EvmStateMismatch.selector, retMachine(r).evm, keccak256(abi.encode(b.end))
                )
            );
            verifier.step(pre, proof);
        }
        // A CallerFrame changed in any field.
        for (uint256 field; field < 6; ++field) {
            Ret memory b = ret(1, 7, 70, 45, 100);
            if (field == 0) b.frame.frame ^= bytes32(uint256(1));
            else if (field == 1) b.frame.retOffset += 1;
            else if (field == 2) b.frame.retLen -= 1;
            else if (field == 3) b.frame.stateRoot ^= bytes32(uint256(1));
            else if (field == 4) b.frame.substate ^= bytes32(uint256(1));
            else b.frame.refund += 1;
            expectRetRevert(
                b,
                abi.encodeWithSelector(
                    IEvmStepVerifier.EvmStateMismatch.selector, b.end.parent, keccak256(abi.encode(b.frame))
                )
            );
        }
        // Another caller (its gas, its memory, its depth, its stack).
        for (uint256 field; field < 4; ++field) {
            Ret memory b = ret(1, 7, 70, 45, 100);
            if (field == 0) b.caller.gas += 1;
            else if (field == 1) b.caller.mem[0] ^= 0x01;
            else if (field == 2) b.depth = 1;
            else b.caller.stack = one(FILLER);
            expectRetRevert(
                b,
                abi.encodeWithSelector(
                    IEvmStepVerifier.EvmStateMismatch.selector, b.frame.frame, EvmTypes.hash(callerState(b))
                )
            );
        }
    }

    /// @notice A returning state that no instruction makes (outcome 0 or above 3) is no pre-state.
    function test_returnStepInvalidOutcome() public {
        uint8[2] memory outcomes = [0, 4];
        for (uint256 i; i < 2; ++i) {
            Ret memory r = ret(1, 7, 70, 45, 100);
            r.end.outcome = outcomes[i];
            expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
        }
    }

    /// @notice Ranges that are not exactly the output's words in the callee's memory and the
    ///         destination's words in the caller's, opening their roots.
    function test_returnStepTamperedRanges() public {
        bytes memory mismatch0 = abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0);
        bytes memory mismatch1 = abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1);
        bytes memory unexpected = abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector);
        Ret memory r = ret(1, 7, 70, 45, 100);
        // The output: a word, a sibling changed; a sibling too many; shifted; one word more or less;
        // missing; the caller's memory instead.
        r.output.words[1] ^= bytes32(uint256(1));
        expectRetRevert(r, mismatch0);
        r = ret(1, 7, 70, 45, 100);
        r.output.siblings[3] ^= bytes32(uint256(1));
        expectRetRevert(r, mismatch0);
        r = ret(1, 7, 70, 45, 100);
        r.output.siblings = extended(r.output.siblings);
        expectRetRevert(r, mismatch0);
        r = ret(1, 7, 70, 45, 100);
        r.output = RangeModel.range(r.calleeMem, 1, 3);
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.output = RangeModel.range(r.calleeMem, 0, 3);
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.output = RangeModel.range(r.calleeMem, 0, 1);
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.output = emptyRange();
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.output = RangeModel.range(r.caller.mem, 0, 2);
        expectRetRevert(r, mismatch0);
        // No output: the range must be empty (no words, no siblings).
        r = ret(1, 0, 0, 45, 100);
        r.output = RangeModel.range(r.calleeMem, 0, 0);
        expectRetRevert(r, unexpected);
        r = ret(3, 0, 0, 45, 100);
        r.output.siblings = new bytes32[](1);
        expectRetRevert(r, unexpected);
        // The destination: a word, a sibling changed; shifted; spanning retLen instead of
        // min(retLen, outSize); missing; the callee's memory instead; present when nothing is written.
        r = ret(1, 7, 70, 45, 100);
        r.dest.words[0] ^= bytes32(uint256(1));
        expectRetRevert(r, mismatch1);
        r = ret(1, 7, 70, 45, 100);
        r.dest.siblings[0] ^= bytes32(uint256(1));
        expectRetRevert(r, mismatch1);
        r = ret(1, 7, 70, 45, 100);
        r.dest = RangeModel.range(r.caller.mem, 2, 4);
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.dest = RangeModel.range(r.caller.mem, 1, 4);
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.dest = emptyRange();
        expectRetRevert(r, unexpected);
        r = ret(1, 7, 70, 45, 100);
        r.dest = RangeModel.range(r.calleeMem, 1, 3);
        expectRetRevert(r, mismatch1);
        r = ret(1, 7, 70, 0, 0);
        r.dest = RangeModel.range(r.caller.mem, 0, 0);
        expectRetRevert(r, unexpected);
        r = ret(3, 0, 0, 45, 100);
        r.dest = RangeModel.range(r.caller.mem, 1, 3);
        expectRetRevert(r, unexpected);
    }

    function extended(bytes32[] memory a) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](a.length + 1);
        for (uint256 i; i < a.length; ++i) {
            out[i] = a[i];
        }
    }

    /// @notice An output or a destination of more than 1024 words is a rest-of-transaction step.
    function test_returnStepRangesTooLarge() public {
        Ret memory r = ret(1, 7, 70, 45, 100);
        // 1024 words from an unaligned offset span 1025.
        r.end.outOffset = 1;
        r.end.outSize = 1024 * 32;
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        r = ret(1, 7, 70, 45, 100);
        r.end.outSize = 1024 * 32 + 1;
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice The largest return step (1024 words read, 1024 written) and its gas.
    function test_largestReturnStep() public view {
        Ret memory r;
        r.calleeMem = pattern(32 * 1024, 4);
        r.caller = frame(op(0xf1), one(FILLER));
        r.caller.pc = 1;
        r.caller.mem = pattern(32 * 1024, 5);
        r.frame.frame = EvmTypes.hash(callerState(r));
        // The longest output of one return step (32,736 bytes: longer ones are one step a
        // chunk, kind 14), at unaligned offsets: 1024 words read and 1024 written.
        r.frame.retOffset = 16;
        r.frame.retLen = 32_736;
        r.frame.stateRoot = ROOT_BEFORE;
        r.frame.substate = SNAPSHOT;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.end.outcome = 1;
        r.end.memRoot = WordModel.root(r.calleeMem);
        r.end.outOffset = 16;
        r.end.outSize = 32_736;
        r.output = RangeModel.range(r.calleeMem, 0, 1023);
        r.dest = RangeModel.range(r.caller.mem, 0, 1023);
        bytes memory pre = abi.encode(retMachine(r));
        bytes memory proof = retWitness(r);
        (bytes32 post, uint256 used) = this.gasOfStep(pre, proof);
        assertEq(post, returned(r));
        console.log("return step of 1024 words (gas, witness bytes):", used, proof.length);
    }

    /// @dev One `step` call and its gas, from a fresh call frame (the test's own memory does not count).
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (bytes32 post, uint256 used) {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        used = before - gasleft();
    }

    /// @notice `EvmReturnVerifier` called directly refuses other phases and other kinds.
    function test_returnVerifierRefusesOtherPhasesAndKinds() public {
        IEvmStepVerifier returns_ = EvmCallVerifier(address(evm.CALL())).RETURNS();
        Ret memory r = ret(1, 7, 70, 45, 100);
        MachineState.State memory s = retMachine(r);
        bytes memory proof = retWitness(r);
        assertEq(returns_.step(s, proof), returned(r));
        s.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        returns_.step(s, proof);
        s.phase = MachineState.IN_TX;
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        returns_.step(s, abi.encode(uint8(4), body));
        // An instruction witness against a returning state.
        Frame memory f = frame(op(0x00), none());
        bytes memory pre = abi.encode(s);
        proof = witness(f, 0, noWords());
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, s.evm, EvmTypes.hash(state(f)))
        );
        verifier.step(pre, proof);
    }

    // ------------------------------------------------------------------------------------------
    // The call step that starts a frame (kind 4), on a state trie built by RefTrie

    address internal constant CALLEE = address(0xBEEF);
    address internal constant EOA = address(0xE0A);
    bytes internal constant CALLEE_CODE = hex"600160005260206000f3";
    uint256 internal constant SELF_BALANCE = 1000;
    uint64 internal constant CALL_REFUND = 2400;

    /// @dev One call: its opcode and stack items, the caller's depth and gas, and the callee's warmth.
    struct CallCase {
        uint8 op;
        address to;
        uint256 value;
        uint256 gasItem;
        uint256 inOffset;
        uint256 inLen;
        uint256 outOffset;
        uint256 outLen;
        uint16 depth;
        uint256 gas;
        bool warm;
        /// @dev The caller's own value and static flag.
        uint256 callerValue;
        bool isStatic;
    }

    /// @dev A call step's witness and what the spec says about it.
    struct CallStep {
        Frame caller;
        EvmTypes.EvmState e;
        AccountWorld.World world;
        bytes32[] warmBefore;
        EvmCallVerifier.CallWitness w;
        MachineState.State pre;
        bytes proof;
    }

    /// @dev The accounts of the state: the frame's (with the running code), a callee with code, an
    ///      account without code, the transaction's sender.
    function world() internal pure returns (AccountWorld.World memory w) {
        w.who = new address[](4);
        w.accounts = new Accounts.Account[](4);
        (w.who[0], w.who[1], w.who[2], w.who[3]) = (SELF, CALLEE, EOA, CALLER);
        for (uint256 i; i < 4; ++i) {
            w.accounts[i] = Accounts.Account(true, 1, 0, MerkleTrie.EMPTY_ROOT, Accounts.EMPTY_CODE_HASH);
        }
        w.accounts[0].balance = SELF_BALANCE;
        w.accounts[0].codeHash = keccak256(op(0xf1));
        w.accounts[1].balance = 5;
        w.accounts[1].codeHash = keccak256(CALLEE_CODE);
        w.accounts[2].balance = 3;
        w.accounts[3].balance = 10 ** 18;
    }

    /// @dev `w` after `value` moved from the frame's account to `to`.
    function moved(AccountWorld.World memory w, address to, uint256 value)
        internal
        pure
        returns (AccountWorld.World memory out)
    {
        out = AccountWorld.copy(w);
        for (uint256 i; i < out.who.length; ++i) {
            if (out.who[i] == to) out.accounts[i].balance += value;
        }
        for (uint256 i; i < out.who.length; ++i) {
            if (out.who[i] == SELF) out.accounts[i].balance -= value;
        }
    }

    /// @dev `w` with `value` credited to `to` (the root against which a CALL reads the frame's account).
    function credited(AccountWorld.World memory w, address to, uint256 value)
        internal
        pure
        returns (AccountWorld.World memory out)
    {
        out = AccountWorld.copy(w);
        for (uint256 i; i < out.who.length; ++i) {
            if (out.who[i] == to) out.accounts[i].balance += value;
        }
    }

    function hasValue(CallCase memory c) internal pure returns (bool) {
        return c.op == 0xf1 || c.op == 0xf2;
    }

    /// @dev A call of `c.to` with a value of `c.value`, from a depth-`c.depth` frame holding 96
    ///      bytes of memory, a CALL (0xf1) by default.
    function callCase(uint8 opc) internal pure returns (CallCase memory c) {
        c.op = opc;
        c.to = CALLEE;
        c.value = opc == 0xf1 || opc == 0xf2 ? 300 : 0;
        c.gasItem = MAX;
        c.inOffset = 5;
        c.inLen = 40;
        c.outOffset = 80;
        c.outLen = 48;
        c.gas = 100_000;
    }

    /// @dev The witness of the call `c` (with the value moved when `moves`).
    function callStep(CallCase memory c, bool frameStarts) internal pure returns (CallStep memory s) {
        s.world = world();
        s.caller = frame(op(c.op), none());
        s.caller.mem = pattern(96, 6);
        s.caller.gas = c.gas;
        s.caller.value = c.callerValue;
        uint256[] memory items = new uint256[](hasValue(c) ? 8 : 7);
        uint256 k;
        items[k++] = FILLER;
        items[k++] = c.outLen;
        items[k++] = c.outOffset;
        items[k++] = c.inLen;
        items[k++] = c.inOffset;
        if (hasValue(c)) items[k++] = c.value;
        items[k++] = uint160(c.to);
        items[k] = c.gasItem;
        s.caller.stack = items;
        s.e = state(s.caller);
        s.e.depth = c.depth;
        s.e.isStatic = c.isStatic;
        if (c.depth != 0) s.e.parent = keccak256("caller's parent");
        s.warmBefore = new bytes32[](0);
        if (c.warm) s.warmBefore = AccountWorld.plus(s.warmBefore, Accounts.key(c.to));
        s.e.substate = AccountWorld.substateOf(s.warmBefore);
        // The witness.
        s.w.warmSlots = MerkleTrie.EMPTY_ROOT;
        s.w.transientStorage = MerkleTrie.EMPTY_ROOT;
        s.w.warmAccounts = AccountWorld.warmRoot(s.warmBefore);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(c.to));
        s.w.calleeProof = AccountWorld.proofOf(s.world, c.to);
        if (c.value != 0) {
            s.w.selfProof = AccountWorld.proofOf(c.op == 0xf1 ? credited(s.world, c.to, c.value) : s.world, SELF);
        }
        s.w.frameWarmProof = AccountWorld.warmProof(warmAfterAccess(c, s), Accounts.key(SELF));
        s.w.calleeCode = c.to == CALLEE ? CALLEE_CODE : (c.to == SELF ? op(0xf1) : bytes(""));
        if (frameStarts && c.inLen != 0) {
            s.w.args = RangeModel.range(s.caller.mem, c.inOffset / 32, (c.inOffset + c.inLen - 1) / 32);
        }
        s.pre = machine(s.caller);
        s.pre.stateRoot = AccountWorld.rootOf(s.world);
        s.pre.refund = CALL_REFUND;
        s.pre.evm = EvmTypes.hash(s.e);
        s.proof = callWitness(c, s);
    }

    function callWitness(CallCase memory c, CallStep memory s) internal pure returns (bytes memory) {
        (uint256[] memory top, bytes32 rest) = opening(s.caller, hasValue(c) ? 7 : 6);
        return abi.encode(uint8(4), abi.encode(s.e, s.caller.code, top, rest, s.w, blockItem()));
    }

    function warmAfterAccess(CallCase memory c, CallStep memory s) internal pure returns (bytes32[] memory) {
        // SELF, the sender, the beneficiary and the precompiles are warm from the start.
        if (c.to == SELF || c.to == CALLER || c.to == BENEFICIARY) return s.warmBefore;
        return AccountWorld.plus(s.warmBefore, Accounts.key(c.to));
    }

    /// @dev The call's cost up to the forwarded gas, the memory size after it (section 4).
    function callCost(CallCase memory c, CallStep memory s) internal pure returns (uint256 cost, uint256 memSize) {
        cost = 100;
        memSize = s.caller.mem.length;
        uint256[2] memory offsets = [c.inOffset, c.outOffset];
        uint256[2] memory lens = [c.inLen, c.outLen];
        for (uint256 i; i < 2; ++i) {
            if (lens[i] == 0) continue;
            uint256 words = (offsets[i] + lens[i] + 31) / 32;
            if (words * 32 > memSize) {
                cost += memoryCost(words) - memoryCost(memSize / 32);
                memSize = words * 32;
            }
        }
        if (c.value != 0) cost += 9000;
        if (warmAfterAccess(c, s).length != s.warmBefore.length) cost += 2500;
    }

    function forwardedGas(CallCase memory c, uint256 cost) internal pure returns (uint256) {
        uint256 left = c.gas - cost;
        uint256 all = left - left / 64;
        uint256 g = c.gasItem > type(uint64).max ? type(uint64).max : c.gasItem;
        return g < all ? g : all;
    }

    /// @dev The caller after a call that starts no frame (a failure when not `ok`).
    function noFrame(CallCase memory c, CallStep memory s, bool ok, bytes32 stateRoot) internal pure returns (bytes32) {
        (uint256 cost, uint256 memSize) = callCost(c, s);
        if (c.value != 0) cost -= 2300;
        Frame memory f = copy(s.caller);
        f.stack = two(ok ? 1 : 0, FILLER);
        f.pc = 1;
        f.gas -= cost;
        f.mem = grown(f.mem, memSize);
        f.returnDataSize = 0;
        EvmTypes.EvmState memory e = state(f);
        e.depth = s.e.depth;
        e.parent = s.e.parent;
        e.isStatic = c.isStatic;
        e.substate = AccountWorld.substateOf(warmAfterAccess(c, s));
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = stateRoot;
        m.evm = EvmTypes.hash(e);
        return MachineState.hash(m);
    }

    /// @dev The post-state of the call `c` that starts the callee's frame, with the state root
    ///      `stateRoot` after the value moved (docs/evm-steps.md section 9).
    function frameStarted(CallCase memory c, CallStep memory s, bytes32 stateRoot) internal pure returns (bytes32) {
        (uint256 cost, uint256 memSize) = callCost(c, s);
        uint256 f = forwardedGas(c, cost);
        // The caller as it resumes.
        Frame memory r = copy(s.caller);
        r.stack = one(FILLER);
        r.pc = 1;
        r.gas -= cost + f;
        r.mem = grown(r.mem, memSize);
        EvmTypes.EvmState memory resumed = state(r);
        resumed.depth = s.e.depth;
        resumed.parent = s.e.parent;
        resumed.isStatic = c.isStatic;
        bytes32[] memory warm = warmAfterAccess(c, s);
        resumed.substate = AccountWorld.substateOf(warm);
        EvmTypes.CallerFrame memory saved = EvmTypes.CallerFrame(
            EvmTypes.hash(resumed),
            c.outLen == 0 ? 0 : uint32(c.outOffset),
            uint32(c.outLen),
            s.pre.stateRoot,
            AccountWorld.substateOf(warm),
            CALL_REFUND,
            address(0)
        );
        EvmTypes.EvmState memory n = calleeFrame(c, s, warm, f);
        n.parent = keccak256(abi.encode(saved));
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = stateRoot;
        m.evm = EvmTypes.hash(n);
        return MachineState.hash(m);
    }

    /// @dev The callee's frame at its start (but its parent), with `f` forwarded.
    function calleeFrame(CallCase memory c, CallStep memory s, bytes32[] memory warm, uint256 f)
        internal
        pure
        returns (EvmTypes.EvmState memory n)
    {
        n.txHash = TX_HASH;
        n.txStartRoot = START_ROOT;
        n.substate = AccountWorld.substateOf(c.depth == 0 ? AccountWorld.plus(warm, Accounts.key(SELF)) : warm);
        n.depth = c.depth + 1;
        n.self = c.op == 0xf1 || c.op == 0xfa ? c.to : SELF;
        n.caller = c.op == 0xf4 ? CALLER : SELF;
        n.value = c.op == 0xf4 ? s.caller.value : c.value;
        n.isStatic = c.isStatic || c.op == 0xfa;
        n.codeHash = c.to == SELF ? keccak256(op(0xf1)) : keccak256(CALLEE_CODE);
        bytes memory args =
            c.inLen == 0 ? bytes("") : slice(grown(s.caller.mem, c.inOffset + c.inLen), c.inOffset, c.inLen);
        n.calldataRoot = WordModel.root(args);
        n.calldataSize = uint32(c.inLen);
        n.returnDataRoot = WordTree.EMPTY_ROOT;
        // forge-lint: disable-next-line(unsafe-typecast)
        n.gas = uint64(f + (c.value != 0 ? 2300 : 0));
        n.memRoot = WordTree.EMPTY_ROOT;
    }

    function callProve(CallStep memory s) internal view returns (bytes32) {
        return verifier.step(abi.encode(s.pre), s.proof);
    }

    function expectCallRevert(CallStep memory s, bytes memory reason) internal {
        bytes memory pre = abi.encode(s.pre);
        bytes memory proof = s.proof;
        vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @notice A CALL with a value to a cold callee with code, at depth 0: the value moves (the
    ///         callee credited, then the frame debited), the callee's frame starts with the call
    ///         data shifted to offset 0, the forwarded gas and the stipend, the callee and the
    ///         transaction's recipient warm, and the caller saved as it resumes.
    function test_callStartsAFrame() public view {
        CallCase memory c = callCase(0xf1);
        CallStep memory s = callStep(c, true);
        bytes32 root = AccountWorld.rootOf(moved(s.world, CALLEE, 300));
        assertEq(callProve(s), frameStarted(c, s, root));
        // A gas item below 63/64 of what is left; an aligned argument range; no output range.
        c.gasItem = 5000;
        c.inOffset = 32;
        c.inLen = 64;
        c.outLen = 0;
        c.outOffset = MAX;
        s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, root));
        // No arguments: empty call data, no range.
        c.inLen = 0;
        c.inOffset = MAX;
        s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, root));
        // A warm callee: no 2500; at depth 0 the recipient still enters warmAccounts.
        c = callCase(0xf1);
        c.warm = true;
        s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, root));
        // No value: nothing moves, no stipend.
        c = callCase(0xf1);
        c.value = 0;
        s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, s.pre.stateRoot));
    }

    /// @notice CALLCODE, DELEGATECALL and STATICCALL frames: the frame's account, caller, value and
    ///         static flag as each kind says; CALLCODE checks the balance and moves nothing.
    function test_otherCallKindsStartFrames() public view {
        uint8[3] memory ops = [0xf2, 0xf4, 0xfa];
        for (uint256 i; i < 3; ++i) {
            CallCase memory c = callCase(ops[i]);
            CallStep memory s = callStep(c, true);
            assertEq(callProve(s), frameStarted(c, s, s.pre.stateRoot));
            // From depth 1: the recipient is not inserted.
            c.depth = 1;
            s = callStep(c, true);
            assertEq(callProve(s), frameStarted(c, s, s.pre.stateRoot));
        }
        // DELEGATECALL passes on the caller's own caller and value (CALLCODE its own value).
        CallCase memory d = callCase(0xf4);
        d.callerValue = 77;
        CallStep memory t = callStep(d, true);
        assertEq(callProve(t), frameStarted(d, t, t.pre.stateRoot));
        d = callCase(0xf2);
        d.callerValue = 77;
        t = callStep(d, true);
        assertEq(callProve(t), frameStarted(d, t, t.pre.stateRoot));
        // From a static frame: STATICCALL, DELEGATECALL, and CALL without a value start static frames.
        for (uint256 i; i < 3; ++i) {
            d = callCase(i == 0 ? 0xfa : i == 1 ? 0xf4 : 0xf1);
            d.value = 0;
            d.isStatic = true;
            t = callStep(d, true);
            assertEq(callProve(t), frameStarted(d, t, t.pre.stateRoot));
        }
    }

    /// @notice A CALL with a value from a static frame halts (before any frame).
    function test_callWithValueFromAStaticFrameHalts() public view {
        CallCase memory c = callCase(0xf1);
        c.isStatic = true;
        c.depth = 2;
        CallStep memory s = callStep(c, false);
        MachineState.State memory m = copyState(s.pre);
        EvmTypes.FrameEnd memory end;
        end.parent = s.e.parent;
        end.outcome = 3;
        m.evm = keccak256(abi.encode(end));
        assertEq(callProve(s), MachineState.hash(m));
    }

    /// @notice A CALL to the frame's own account: the balance is checked before any credit and
    ///         nothing moves; a value above the balance fails the call (the credit does not count).
    function test_callToItselfMovesNothing() public view {
        CallCase memory c = callCase(0xf1);
        c.to = SELF;
        CallStep memory s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, s.pre.stateRoot));
        // 1500 > 1000, though 1000 + 1500 would cover it.
        c.value = 1500;
        s = callStep(c, false);
        assertEq(callProve(s), noFrame(c, s, false, s.pre.stateRoot));
        // Exactly the balance.
        c.value = SELF_BALANCE;
        s = callStep(c, true);
        assertEq(callProve(s), frameStarted(c, s, s.pre.stateRoot));
    }

    /// @notice A value above the frame's balance, or a caller at depth 1024, fails the call: push
    ///         0, the forwarded gas and the stipend come back, nothing moves, no frame.
    function test_failedCallsStartNoFrame() public view {
        CallCase memory c = callCase(0xf1);
        c.value = SELF_BALANCE + 1;
        CallStep memory s = callStep(c, false);
        assertEq(callProve(s), noFrame(c, s, false, s.pre.stateRoot));
        c = callCase(0xf2);
        c.value = SELF_BALANCE + 1;
        s = callStep(c, false);
        assertEq(callProve(s), noFrame(c, s, false, s.pre.stateRoot));
        uint8[4] memory ops = [0xf1, 0xf2, 0xf4, 0xfa];
        for (uint256 i; i < 4; ++i) {
            c = callCase(ops[i]);
            c.depth = 1024;
            s = callStep(c, false);
            assertEq(callProve(s), noFrame(c, s, false, s.pre.stateRoot));
            // Depth 1023 can still call.
            c.depth = 1023;
            s = callStep(c, true);
            bytes32 root = ops[i] == 0xf1 ? AccountWorld.rootOf(moved(s.world, CALLEE, 300)) : s.pre.stateRoot;
            assertEq(callProve(s), frameStarted(c, s, root));
        }
        // A call without a frame (no code) at depth 1024 fails as well; at depth 1 it moves the value.
        c = callCase(0xf1);
        c.to = EOA;
        c.depth = 1024;
        s = callStep(c, false);
        assertEq(callProve(s), noFrame(c, s, false, s.pre.stateRoot));
        c.depth = 1;
        s = callStep(c, false);
        assertEq(callProve(s), noFrame(c, s, true, AccountWorld.rootOf(moved(s.world, EOA, 300))));
    }

    /// @notice The argument range must be exactly the argument words of the caller's memory when a
    ///         frame starts, and empty otherwise; more than 1024 words is a rest-of-transaction step.
    function test_callArgumentRange() public {
        bytes memory unexpected = abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector);
        CallCase memory c = callCase(0xf1);
        CallStep memory s = callStep(c, true);
        s.w.args.words[0] ^= bytes32(uint256(1));
        s.proof = callWitness(c, s);
        expectCallRevert(s, abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        s = callStep(c, true);
        s.w.args = RangeModel.range(s.caller.mem, 0, 2);
        s.proof = callWitness(c, s);
        expectCallRevert(s, unexpected);
        s = callStep(c, false);
        expectCallRevert(s, unexpected);
        // No arguments: no range.
        c.inLen = 0;
        s = callStep(c, false);
        s.w.args = RangeModel.range(s.caller.mem, 0, 0);
        s.proof = callWitness(c, s);
        expectCallRevert(s, unexpected);
        // A failed call: no range.
        c = callCase(0xf1);
        c.depth = 1024;
        s = callStep(c, false);
        s.w.args = RangeModel.range(s.caller.mem, 0, 1);
        s.proof = callWitness(c, s);
        expectCallRevert(s, unexpected);
        // 1024 words from an unaligned offset span 1025.
        c = callCase(0xf1);
        c.gas = 1_000_000;
        c.inOffset = 1;
        c.inLen = 1024 * 32;
        s = callStep(c, false);
        expectCallRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice The recipient's key is inserted with `frameWarmProof`: a proof against another
    ///         root is refused.
    function test_frameWarmProofChecked() public {
        CallCase memory c = callCase(0xf1);
        CallStep memory s = callStep(c, true);
        s.w.frameWarmProof = AccountWorld.warmProof(new bytes32[](0), Accounts.key(SELF));
        s.proof = callWitness(c, s);
        bytes memory pre = abi.encode(s.pre);
        bytes memory proof = s.proof;
        vm.expectRevert();
        verifier.step(pre, proof);
        // Unused at depth 1.
        c.depth = 1;
        s = callStep(c, true);
        s.w.frameWarmProof = new bytes[](0);
        s.proof = callWitness(c, s);
        assertEq(callProve(s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, CALLEE, 300))));
    }

    /// @notice A gas left too small for the call's cost up to the forwarded gas halts (the frame
    ///         at depth 0 ends the transaction, at depth 1 it returns).
    function test_callOutOfGasBeforeTheFrame() public view {
        CallCase memory c = callCase(0xf1);
        c.gas = 100 + 9000 + 2500 - 1;
        CallStep memory s = callStep(c, false);
        MachineState.State memory m = copyState(s.pre);
        m.phase = MachineState.TX_EXECUTED;
        m.evm = 0;
        m.stateRoot = START_ROOT;
        m.gasLeft = 0;
        m.refund = 0;
        m.success = false;
        assertEq(callProve(s), MachineState.hash(m));
        c.depth = 1;
        s = callStep(c, false);
        m = copyState(s.pre);
        EvmTypes.FrameEnd memory end;
        end.parent = s.e.parent;
        end.outcome = 3;
        m.evm = keccak256(abi.encode(end));
        assertEq(callProve(s), MachineState.hash(m));
    }

    /// @dev The call `c` (without a value) to `CALLEE` whose code is `code` (in the state and the witness).
    function callWithCode(CallCase memory c, bytes memory code) internal pure returns (CallStep memory s) {
        s = callStep(c, true);
        s.world.accounts[1].codeHash = keccak256(code);
        s.pre.stateRoot = AccountWorld.rootOf(s.world);
        s.w.calleeProof = AccountWorld.proofOf(s.world, CALLEE);
        s.w.calleeCode = code;
        s.proof = callWitness(c, s);
    }

    /// @notice Code that is almost an EIP-7702 delegation designator — 23 bytes with another
    ///         prefix, or a 24-byte code starting 0xef0100 — is ordinary code: the frame starts
    ///         running it (delegations themselves: `EvmDelegatedCallSteps.t.sol`).
    function test_almostDesignatorsAreOrdinaryCode() public {
        bytes memory designator = abi.encodePacked(hex"ef0100", address(0xDE1E6A7E));
        CallCase memory c = callCase(0xf1);
        c.value = 0;
        bytes memory other = abi.encodePacked(hex"ef0101", address(0xDE1E6A7E));
        CallStep memory s = callWithCode(c, other);
        bytes32 post = callProve(s);
        assertTrue(post != bytes32(0));
        s = callWithCode(c, abi.encodePacked(designator, hex"00"));
        post = callProve(s);
        assertTrue(post != bytes32(0));
    }

    /// @notice `calleeCode` must hash to the callee's code hash: other code for a callee with code,
    ///         or any code for a callee without (`EOA`, or an absent account), reverts `EvmCodeMismatch`.
    function test_wrongCalleeCode() public {
        CallCase memory c = callCase(0xf1);
        CallStep memory s = callStep(c, true);
        s.w.calleeCode = hex"00";
        s.proof = callWitness(c, s);
        expectCallRevert(
            s,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(CALLEE_CODE), keccak256(hex"00")
            )
        );
        // The callee's code withheld.
        s.w.calleeCode = "";
        s.proof = callWitness(c, s);
        expectCallRevert(
            s,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(CALLEE_CODE), Accounts.EMPTY_CODE_HASH
            )
        );
        // A callee without code.
        address[2] memory empties = [EOA, address(0xAB5E47)];
        for (uint256 i; i < 2; ++i) {
            c = callCase(0xf1);
            c.to = empties[i];
            s = callStep(c, false);
            s.w.calleeCode = CALLEE_CODE;
            s.proof = callWitness(c, s);
            expectCallRevert(
                s,
                abi.encodeWithSelector(
                    IEvmStepVerifier.EvmCodeMismatch.selector, Accounts.EMPTY_CODE_HASH, keccak256(CALLEE_CODE)
                )
            );
        }
    }
}
