// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCopyVerifier} from "../../src/fault/evm/EvmCopyVerifier.sol";
import {EvmCallVerifier} from "../../src/fault/evm/EvmCallVerifier.sol";
import {EvmStepHelpers, RangeModel, WordModel} from "./EvmStepHelpers.sol";
import {AccountWorld} from "./AccountWorld.sol";

/// @title ArgsModel
/// @notice A plain model of a call's argument steps (docs/evm-steps.md section 9, "Long arguments";
///         witness kind 2): the frame, its memory and the call's argument bytes as bytes; for each
///         step the witness and the expected post-state. The tree after `k` chunks is
///         `WordTree.root` of the first `min(k * CHUNK, inLen)` argument bytes, not the verifier's
///         write path; the stack hash is built item by item from the bottom.
library ArgsModel {
    uint256 internal constant CHUNK = 32_736;

    /// @dev A frame at a call (or between its argument steps), its memory as bytes.
    struct Sim {
        MachineState.State s;
        EvmTypes.EvmState e;
        bytes code;
        /// @dev The call's items, top first (7 for CALL and CALLCODE, 6 for DELEGATECALL and
        ///      STATICCALL), and the hash of the stack below them.
        uint256[] items;
        bytes32 rest;
        /// @dev `e.memSize` bytes (the argument steps never change the memory).
        bytes mem;
    }

    function inOffset(Sim memory x) internal pure returns (uint256) {
        return x.items[x.items.length - 4];
    }

    function inLen(Sim memory x) internal pure returns (uint256) {
        return x.items[x.items.length - 3];
    }

    /// @dev The next argument step (the `k` of the pc).
    function k(Sim memory x) internal pure returns (uint256) {
        return x.e.pc >> 16;
    }

    /// @dev The argument steps of `len` bytes.
    function steps(uint256 len) internal pure returns (uint256) {
        return (len + CHUNK - 1) / CHUNK;
    }

    /// @dev `l` bytes of `b` from `from`, zero past its end.
    function slice(bytes memory b, uint256 from, uint256 l) internal pure returns (bytes memory out) {
        out = new bytes(l);
        if (from >= b.length) return out;
        uint256 n = b.length - from < l ? b.length - from : l;
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(b, 32), from), n)
        }
    }

    /// @dev The call's argument bytes (memory past its size is zero).
    function args(Sim memory x) internal pure returns (bytes memory) {
        return slice(x.mem, inOffset(x), inLen(x));
    }

    /// @dev The first `min(k * CHUNK, inLen)` argument bytes: what the tree holds after `k` chunks.
    function prefix(bytes memory a, uint256 chunks) internal pure returns (bytes memory) {
        uint256 n = chunks * CHUNK;
        return slice(a, 0, n < a.length ? n : a.length);
    }

    /// @dev The call-data tree after `chunks` chunks.
    function treeRoot(bytes memory a, uint256 chunks) internal pure returns (bytes32) {
        return WordTree.root(prefix(a, chunks));
    }

    /// @dev The hash of `rest` with `t` (top first) pushed, from the bottom.
    function build(uint256[] memory t, bytes32 rest) internal pure returns (bytes32 h) {
        h = rest;
        for (uint256 i = t.length; i > 0; --i) {
            h = keccak256(abi.encodePacked(t[i - 1], h));
        }
    }

    /// @dev The items a step opens, top first: the call's, under the tree so far when `k >= 1`.
    function top(Sim memory x) internal pure returns (uint256[] memory t) {
        uint256 c = k(x);
        if (c == 0) return x.items;
        t = new uint256[](x.items.length + 1);
        t[0] = uint256(treeRoot(args(x), c));
        for (uint256 i; i < x.items.length; ++i) {
            t[i + 1] = x.items[i];
        }
    }

    /// @dev Chunk `c`'s offset in the arguments and length.
    function chunk(Sim memory x, uint256 c) internal pure returns (uint256 off, uint256 l) {
        off = c * CHUNK;
        l = inLen(x) - off < CHUNK ? inLen(x) - off : CHUNK;
    }

    /// @dev The ranges of step `k`: the memory words of the chunk, then the tree's words it goes to
    ///      (none past the last chunk, a state no trace has).
    function ranges(Sim memory x) internal pure returns (EvmTypes.WordRange[] memory r) {
        uint256 c = k(x);
        if (c * CHUNK >= inLen(x)) return new EvmTypes.WordRange[](0);
        (uint256 off, uint256 l) = chunk(x, c);
        uint256 a = inOffset(x) + off;
        r = new EvmTypes.WordRange[](2);
        r[0] = RangeModel.range(x.mem, a / 32, (a + l - 1) / 32);
        r[1] = RangeModel.range(prefix(args(x), c), off / 32, (off + l - 1) / 32);
    }

    /// @dev The pre-state's encoding (`x.s` with `evm` the frame's hash).
    function pre(Sim memory x) internal pure returns (bytes memory) {
        x.s.evm = EvmTypes.hash(x.e);
        return abi.encode(x.s);
    }

    /// @dev The kind-2 witness of `x` opening `t` with `r`.
    function witness(Sim memory x, uint256[] memory t, EvmTypes.WordRange[] memory r)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(uint8(2), abi.encode(x.e, x.code, t, x.rest, r));
    }

    /// @dev The pre-state, the witness and the expected post-state hash of `x`'s next argument
    ///      step; `x` becomes the post-state.
    function next(Sim memory x) internal pure returns (bytes memory p, bytes memory proof, bytes32 expected) {
        p = pre(x);
        proof = witness(x, top(x), ranges(x));
        uint256 c = k(x);
        EvmTypes.EvmState memory post = abi.decode(abi.encode(x.e), (EvmTypes.EvmState));
        post.stack = keccak256(abi.encodePacked(treeRoot(args(x), c + 1), build(x.items, x.rest)));
        if (c == 0) post.stackSize += 1;
        post.pc += uint32(1 << 16);
        x.e = post;
        x.s.evm = EvmTypes.hash(post);
        expected = MachineState.hash(x.s);
    }

    function clone(Sim memory x) internal pure returns (Sim memory) {
        return abi.decode(abi.encode(x), (Sim));
    }
}

/// @title EvmCallArgsStepsTest
/// @notice A call whose arguments are over `CHUNK_BYTES` bytes puts them in its callee's call-data
///         tree first, one step per chunk (kind 2, `EvmCopyVerifier`), then steps the call (kind 4,
///         `EvmCallVerifier`) with the tree from the top of the stack: every argument step against
///         the plain model, the final tree against `WordTree.root` of the arguments, the states no
///         trace has refused, the ranges checked, the call verifier's side, and a full step's gas.
contract EvmCallArgsStepsTest is EvmStepHelpers {
    uint256 internal constant CHUNK = 32_736;
    uint256 internal constant BELOW = 0xdead;
    address internal constant CALLEE = address(0xBEEF);
    bytes internal constant CALLEE_CODE = hex"600160005260206000f3";

    EvmCopyVerifier internal copier;
    EvmCallVerifier internal calls;

    function setUp() public override {
        super.setUp();
        copier = EvmCopyVerifier(address(evm.COPY()));
        calls = EvmCallVerifier(address(evm.CALL()));
    }

    // ------------------------------------------------------------------------------------------
    // Builders

    /// @dev `len` (a multiple of 32) pseudo-random bytes from `seed`, none of them zero.
    function nonzero(uint256 len, uint256 seed) internal pure returns (bytes memory out) {
        require(len % 32 == 0, "whole words");
        out = new bytes(len);
        assembly ("memory-safe") {
            let p := add(out, 32)
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                mstore(0, seed)
                mstore(32, i)
                mstore(
                    add(p, i),
                    or(keccak256(0, 64), 0x0101010101010101010101010101010101010101010101010101010101010101)
                )
            }
        }
    }

    /// @dev CALL and CALLCODE items, top first.
    function items7(uint256 g, uint256 to, uint256 value, uint256 inOff, uint256 inLen, uint256 outOff, uint256 outLen)
        internal
        pure
        returns (uint256[] memory t)
    {
        t = new uint256[](7);
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6]) = (g, to, value, inOff, inLen, outOff, outLen);
    }

    /// @dev DELEGATECALL and STATICCALL items, top first.
    function items6(uint256 g, uint256 to, uint256 inOff, uint256 inLen, uint256 outOff, uint256 outLen)
        internal
        pure
        returns (uint256[] memory t)
    {
        t = new uint256[](6);
        (t[0], t[1], t[2], t[3], t[4], t[5]) = (g, to, inOff, inLen, outOff, outLen);
    }

    /// @dev A frame at depth 0 (substate 0) at the call `opc` at pc `p` (after `p` JUMPDESTs), its
    ///      `items` (top first) over the item `BELOW`, memory `mem`, gas `gas`.
    function sim(uint8 opc, uint256 p, uint256[] memory items, bytes memory mem, uint256 gas)
        internal
        pure
        returns (ArgsModel.Sim memory x)
    {
        bytes memory code = new bytes(p + 1);
        for (uint256 i; i < p; ++i) {
            code[i] = 0x5b;
        }
        code[p] = bytes1(opc);
        uint256[] memory stack = new uint256[](items.length + 1);
        stack[0] = BELOW;
        for (uint256 i; i < items.length; ++i) {
            stack[i + 1] = items[items.length - 1 - i];
        }
        Frame memory f = frame(code, stack);
        f.pc = p;
        f.mem = mem;
        f.gas = gas;
        x.s = machine(f);
        x.e = state(f);
        x.code = code;
        x.items = items;
        x.rest = keccak256(abi.encodePacked(BELOW, bytes32(0)));
        x.mem = mem;
        assertEq(x.e.stack, ArgsModel.build(items, x.rest), "stack of the sim");
    }

    /// @dev `x` with the call's items replaced by `items`.
    function withItems(ArgsModel.Sim memory x, uint256[] memory items) internal pure returns (ArgsModel.Sim memory y) {
        y = ArgsModel.clone(x);
        y.items = items;
        y.e.stack = ArgsModel.build(items, y.rest);
    }

    /// @dev The expected stack hash with the tree `root` on top of `x`'s call items.
    function withRoot(ArgsModel.Sim memory x, bytes32 root) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(root, ArgsModel.build(x.items, x.rest)));
    }

    /// @dev Runs all of `x`'s argument steps, every step checked against the model; returns their count.
    function run(ArgsModel.Sim memory x) internal view returns (uint256 count) {
        uint256 p = x.e.pc;
        uint256 size = x.e.stackSize;
        uint256 n = ArgsModel.steps(ArgsModel.inLen(x));
        EvmTypes.EvmState memory before = x.e;
        for (uint256 c; c < n; ++c) {
            (bytes memory pre, bytes memory proof, bytes32 expected) = ArgsModel.next(x);
            assertEq(verifier.step(pre, proof), expected, "argument step");
            ++count;
            assertEq(x.e.pc, p + ((c + 1) << 16), "argument step pc");
            assertEq(x.e.stackSize, size + 1, "the tree over the call's items");
        }
        // No gas, no memory change.
        assertEq(x.e.gas, before.gas, "no gas");
        assertEq(x.e.memSize, before.memSize, "no memory expansion");
        assertEq(x.e.memRoot, before.memRoot, "memory unchanged");
    }

    /// @dev The final stack must hold the tree of all the arguments: `WordTree.root` and the plain
    ///      recursive `WordModel.root` of the bytes.
    function assertTree(ArgsModel.Sim memory x) internal pure {
        bytes memory a = ArgsModel.args(x);
        assertEq(x.e.stack, withRoot(x, WordTree.root(a)), "the arguments' tree on top");
        assertEq(WordTree.root(a), WordModel.root(a), "two models of the tree");
    }

    function stepExternal(bytes memory pre, bytes memory proof) external view returns (bytes32) {
        return verifier.step(pre, proof);
    }

    /// @dev Gas of one `EvmCopyVerifier.step` call, from a fresh call frame.
    function gasOfCopyStep(MachineState.State memory s, bytes calldata proof)
        external
        view
        returns (bytes32 post, uint256 used)
    {
        uint256 before = gasleft();
        post = copier.step(s, proof);
        used = before - gasleft();
    }

    function expectUnsupported() internal {
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @dev `x`'s next step, expected to be refused (`UnsupportedStep(2)`).
    function assertRefused(ArgsModel.Sim memory x) internal {
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        (bytes memory pre, bytes memory proof,) = ArgsModel.next(y);
        expectUnsupported();
        this.stepExternal(pre, proof);
    }

    /// @dev `x`'s next step, expected to give the model's post-state.
    function assertAccepted(ArgsModel.Sim memory x) internal view {
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        (bytes memory pre, bytes memory proof, bytes32 expected) = ArgsModel.next(y);
        assertEq(this.stepExternal(pre, proof), expected, "accepted");
    }

    /// @dev `x`'s pre-state and its next step's witness with `r` instead of its ranges.
    function withRanges(ArgsModel.Sim memory x, EvmTypes.WordRange[] memory r)
        internal
        pure
        returns (bytes memory pre, bytes memory proof)
    {
        pre = ArgsModel.pre(x);
        proof = ArgsModel.witness(x, ArgsModel.top(x), r);
    }

    function cloneRange(EvmTypes.WordRange memory r) internal pure returns (EvmTypes.WordRange memory) {
        return abi.decode(abi.encode(r), (EvmTypes.WordRange));
    }

    /// @dev A CALL of 32,737 bytes at 31 in 40,000 bytes of non-zero memory (no expansion).
    function test1Sim() internal pure returns (ArgsModel.Sim memory) {
        return sim(0xf1, 0, items7(50_000, uint160(CALLEE), 0, 31, CHUNK + 1, 64, 32), nonzero(40_000, 1), 1_000_000);
    }

    /// @dev A CALL of 32,737 bytes at 31 of a 1024-byte memory, its output at 40,000: both ranges
    ///      grow the memory; the gas just covers them.
    function expandingSim() internal pure returns (ArgsModel.Sim memory x, uint256 inCost, uint256 total) {
        uint256[] memory items = items7(50_000, uint160(CALLEE), 0, 31, CHUNK + 1, 40_000, 32);
        // The arguments end at byte 32,768 (1024 words), the output at 40,032 (1251 words).
        inCost = 100 + memoryCost(1024) - memoryCost(32);
        total = 100 + memoryCost(1251) - memoryCost(32);
        x = sim(0xf1, 0, items, nonzero(1024, 2), total);
    }

    // ------------------------------------------------------------------------------------------
    // 1-3: argument steps against the model

    /// @notice CALL of 32,737 bytes at 31 inside 40 KB of non-zero memory: two steps (a full chunk,
    ///         then one byte), each the model's post-state; the tree is the arguments'.
    function test_callTwoArgumentSteps() public view {
        ArgsModel.Sim memory x = test1Sim();
        uint256 size = x.e.stackSize;
        assertEq(run(x), 2);
        assertTree(x);
        assertEq(x.e.pc, 2 << 16);
        assertEq(x.e.stackSize, size + 1);
        // The last byte came from memory (non-zero), not from the zero padding.
        bytes memory a = ArgsModel.args(x);
        assertTrue(uint8(a[CHUNK]) != 0);
        assertEq(uint8(a[CHUNK]), uint8(x.mem[31 + CHUNK]));
    }

    /// @notice DELEGATECALL (6 items) of 2 * 32,736 + 1 bytes at 1, past the memory's 40,000 bytes
    ///         (zeros there, the memory not grown): three steps.
    function test_delegatecallThreeStepsPastMemSize() public view {
        uint256 len = 2 * CHUNK + 1;
        ArgsModel.Sim memory x =
            sim(0xf4, 0, items6(50_000, uint160(CALLEE), 1, len, 0, 0), nonzero(40_000, 3), 1_000_000);
        assertEq(run(x), 3);
        assertTree(x);
        bytes memory a = ArgsModel.args(x);
        assertTrue(uint8(a[39_998]) != 0);
        assertEq(uint8(a[39_999]), 0);
        assertEq(uint8(a[len - 1]), 0);
        assertEq(x.e.memSize, 40_000);
        assertEq(x.e.pc, 3 << 16);
    }

    /// @notice Exactly four chunks (4 * 32,736 bytes), CALLCODE with a value from a non-static
    ///         frame, at pc 2: four steps, the pc keeps the call's own pc in its low 16 bits.
    function test_callcodeFourFullChunks() public {
        uint256 len = 4 * CHUNK;
        ArgsModel.Sim memory x =
            sim(0xf2, 2, items7(50_000, uint160(CALLEE), 7, 64, len, 0, 0), nonzero(131_072, 4), 1_000_000);
        assertEq(run(x), 4);
        assertTree(x);
        assertEq(x.e.pc, 2 + (4 << 16));
        // A fifth step: no chunk left.
        assertRefused(x);
    }

    /// @notice STATICCALL in a static frame: accepted.
    function test_staticcallInStaticFrame() public view {
        ArgsModel.Sim memory x =
            sim(0xfa, 0, items6(50_000, uint160(CALLEE), 0, CHUNK + 100, 0, 0), nonzero(40_000, 5), 1_000_000);
        x.e.isStatic = true;
        assertEq(run(x), 2);
        assertTree(x);
    }

    // ------------------------------------------------------------------------------------------
    // 4-5: refusals

    /// @notice The first argument step is refused when the call is not one that builds a tree
    ///         first: arguments of one chunk, a precompile callee, the access-list marker, too little
    ///         gas, a value in a static frame, a memory expansion the gas does not cover, a stack
    ///         underflow. Callee 0 and 0x12 are not precompiles: accepted.
    function test_firstStepRefusals() public {
        ArgsModel.Sim memory x = test1Sim();
        assertAccepted(x);

        // inLen == CHUNK_BYTES: one range, the call step's own.
        assertRefused(withItems(x, items7(50_000, uint160(CALLEE), 0, 31, CHUNK, 64, 32)));
        // Precompiles 0x04 and 0x11 (also with bits above the address's 160).
        assertRefused(withItems(x, items7(50_000, 0x04, 0, 31, CHUNK + 1, 64, 32)));
        assertRefused(withItems(x, items7(50_000, 0x11, 0, 31, CHUNK + 1, 64, 32)));
        assertRefused(withItems(x, items7(50_000, (1 << 160) | 0x04, 0, 31, CHUNK + 1, 64, 32)));
        assertRefused(withItems(x, items7(50_000, 0x01, 0, 31, CHUNK + 1, 64, 32)));
        // Callee 0, 0x12 and an address whose low 160 bits are 0: not precompiles.
        assertAccepted(withItems(x, items7(50_000, 0, 0, 31, CHUNK + 1, 64, 32)));
        assertAccepted(withItems(x, items7(50_000, 0x12, 0, 31, CHUNK + 1, 64, 32)));
        assertAccepted(withItems(x, items7(50_000, 1 << 160, 0, 31, CHUNK + 1, 64, 32)));

        // The access-list marker.
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        y.e.substate = bytes32(uint256(1));
        assertRefused(y);

        // 99 gas; 100 is enough (no expansion).
        y = ArgsModel.clone(x);
        y.e.gas = 99;
        assertRefused(y);
        y.e.gas = 100;
        assertAccepted(y);

        // A CALL with a value in a static frame; without a value, or not static, accepted.
        y = withItems(x, items7(50_000, uint160(CALLEE), 1, 31, CHUNK + 1, 64, 32));
        assertAccepted(y);
        y.e.isStatic = true;
        assertRefused(y);
        y = ArgsModel.clone(x);
        y.e.isStatic = true;
        assertAccepted(y);
        // CALLCODE with a value in a static frame is not CALL: its first step is accepted.
        y = withItems(x, items7(50_000, uint160(CALLEE), 1, 31, CHUNK + 1, 64, 32));
        y.code = op(0xf2);
        y.e.codeHash = keccak256(y.code);
        y.e.isStatic = true;
        assertAccepted(y);

        // The stack underflows: six items for a CALL.
        y = ArgsModel.clone(x);
        uint256[] memory six = new uint256[](6);
        for (uint256 i; i < 6; ++i) {
            six[i] = x.items[i + 1];
        }
        y.e.stackSize = 6;
        y.e.stack = ArgsModel.build(six, bytes32(0));
        y.rest = y.e.stack;
        bytes memory pre = ArgsModel.pre(y);
        bytes memory proof = ArgsModel.witness(y, new uint256[](0), ArgsModel.ranges(x));
        expectUnsupported();
        this.stepExternal(pre, proof);
    }

    /// @notice The memory expansion of the argument range, then of the output range, from 100 gas:
    ///         one gas short of both refuses the first step, exactly both is accepted.
    function test_firstStepGasForTheMemoryExpansion() public {
        (ArgsModel.Sim memory x, uint256 inCost, uint256 total) = expandingSim();
        assertAccepted(x);
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        // forge-lint: disable-next-line(unsafe-typecast)
        y.e.gas = uint64(total - 1);
        assertRefused(y);
        // forge-lint: disable-next-line(unsafe-typecast)
        y.e.gas = uint64(inCost);
        assertRefused(y);
        // A length past 64 bits halts: refused.
        assertRefused(withItems(x, items7(50_000, uint160(CALLEE), 0, 31, CHUNK + 1, 1 << 64, 32)));
        // The steps with exactly the gas: no gas charged, the memory not grown.
        assertEq(run(x), 2);
        assertEq(x.e.gas, total);
        assertEq(x.e.memSize, 1024);
        assertTree(x);
    }

    /// @notice Continuations no trace has: `k = n` (no chunk left), `k = 1` of a call whose
    ///         arguments fit one chunk or are short.
    function test_continuationRefusals() public {
        ArgsModel.Sim memory x = test1Sim();
        run(x);
        // k = n = 2, the tree of all the arguments on top: the call step's state.
        bytes memory pre = ArgsModel.pre(x);
        bytes memory proof = ArgsModel.witness(x, ArgsModel.top(x), noRanges());
        expectUnsupported();
        this.stepExternal(pre, proof);
        // Past n.
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        y.e.pc = 7 << 16;
        (pre, proof) = withRanges(y, noRanges());
        expectUnsupported();
        this.stepExternal(pre, proof);

        // k = 1 with inLen = CHUNK_BYTES and 100: a tree on top of a call that built none.
        uint256[2] memory lens = [CHUNK, uint256(100)];
        for (uint256 i; i < 2; ++i) {
            y = withItems(test1Sim(), items7(50_000, uint160(CALLEE), 0, 31, lens[i], 64, 32));
            bytes memory a = ArgsModel.args(y);
            y.e.stack = withRoot(y, WordTree.root(a));
            y.e.stackSize += 1;
            y.e.pc = 1 << 16;
            assertEq(ArgsModel.top(y)[0], uint256(WordTree.root(a)));
            (pre, proof) = withRanges(y, noRanges());
            expectUnsupported();
            this.stepExternal(pre, proof);
        }

        // k = 1 with the tree missing (only the call's seven items opened): a stack mismatch.
        y = ArgsModel.clone(test1Sim());
        y.e.pc = 1 << 16;
        pre = ArgsModel.pre(y);
        proof = ArgsModel.witness(y, y.items, noRanges());
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(pre, proof);
    }

    // ------------------------------------------------------------------------------------------
    // 6-7: ranges and the tree on the stack

    /// @notice The two ranges are checked: their spans, their count, their words.
    function test_rangesChecked() public {
        ArgsModel.Sim memory x = test1Sim();
        // At k = 0 and k = 1.
        for (uint256 c; c < 2; ++c) {
            if (c == 1) ArgsModel.next(x);
            EvmTypes.WordRange[] memory r = ArgsModel.ranges(x);
            (bytes memory pre, bytes memory proof) = withRanges(x, r);
            assertTrue(this.stepExternal(pre, proof) != bytes32(0));

            // A wrong first index, in either range.
            for (uint256 i; i < 2; ++i) {
                EvmTypes.WordRange[] memory bad = ranges2(cloneRange(r[0]), cloneRange(r[1]));
                bad[i].first += 1;
                (pre, proof) = withRanges(x, bad);
                vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
                this.stepExternal(pre, proof);
            }
            // A memory range of one word too many.
            {
                EvmTypes.WordRange memory longer = RangeModel.range(x.mem, r[0].first, r[0].first + r[0].words.length);
                (pre, proof) = withRanges(x, ranges2(longer, r[1]));
                vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
                this.stepExternal(pre, proof);
            }
            // One range missing, none, a third.
            (pre, proof) = withRanges(x, ranges1(r[0]));
            vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            this.stepExternal(pre, proof);
            (pre, proof) = withRanges(x, noRanges());
            vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            this.stepExternal(pre, proof);
            EvmTypes.WordRange[] memory extra = new EvmTypes.WordRange[](3);
            (extra[0], extra[1], extra[2]) = (r[0], r[1], r[1]);
            (pre, proof) = withRanges(x, extra);
            vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            this.stepExternal(pre, proof);
            // The ranges swapped: other spans at k = 0; at k = 1 both are word 1023, and the tree's
            // word does not open the memory.
            (pre, proof) = withRanges(x, ranges2(r[1], r[0]));
            if (c == 0) {
                vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            } else {
                vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
            }
            this.stepExternal(pre, proof);

            // A memory word changed.
            EvmTypes.WordRange memory m = cloneRange(r[0]);
            m.words[m.words.length / 2] ^= bytes32(uint256(1));
            (pre, proof) = withRanges(x, ranges2(m, r[1]));
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
            this.stepExternal(pre, proof);
            // A memory sibling changed.
            m = cloneRange(r[0]);
            m.siblings[0] ^= bytes32(uint256(1));
            (pre, proof) = withRanges(x, ranges2(m, r[1]));
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
            this.stepExternal(pre, proof);
            // A tree word changed (the tree's words there are zero, a non-zero one is another
            // tree), and a tree sibling.
            EvmTypes.WordRange memory t = cloneRange(r[1]);
            t.words[0] = bytes32(uint256(1));
            (pre, proof) = withRanges(x, ranges2(r[0], t));
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1));
            this.stepExternal(pre, proof);
            if (t.siblings.length != 0) {
                t = cloneRange(r[1]);
                t.siblings[t.siblings.length - 1] ^= bytes32(uint256(1));
                (pre, proof) = withRanges(x, ranges2(r[0], t));
                vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1));
                this.stepExternal(pre, proof);
            }
            // The tree's range opened against the memory instead (k = 0: not the empty tree).
            if (c == 0) {
                t = RangeModel.range(x.mem, r[1].first, r[1].first + r[1].words.length - 1);
                (pre, proof) = withRanges(x, ranges2(r[0], t));
                vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1));
                this.stepExternal(pre, proof);
            }
        }
    }

    /// @notice A wrong tree on the stack at k = 1 (its chunk 0 differs from the memory's bytes),
    ///         opened consistently: the step is accepted but proves another post-state than the
    ///         honest one (the tree of the wrong chunk 0 and the right chunk 1).
    function test_wrongTreeOnTheStackGivesAnotherPostState() public view {
        ArgsModel.Sim memory x = test1Sim();
        ArgsModel.next(x);
        ArgsModel.Sim memory honest = ArgsModel.clone(x);
        (,, bytes32 expected) = ArgsModel.next(honest);

        bytes memory a = ArgsModel.args(x);
        bytes memory wrong = ArgsModel.prefix(a, 1);
        wrong[0] ^= bytes1(0xff);
        wrong[CHUNK - 1] ^= bytes1(0x01);
        bytes32 wrongRoot = WordTree.root(wrong);
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        uint256[] memory t = ArgsModel.top(x);
        assertTrue(bytes32(t[0]) != wrongRoot);
        t[0] = uint256(wrongRoot);
        y.e.stack = ArgsModel.build(t, y.rest);
        EvmTypes.WordRange[] memory r = ArgsModel.ranges(x);
        r[1] = RangeModel.range(wrong, r[1].first, r[1].first + r[1].words.length - 1);
        bytes memory pre = ArgsModel.pre(y);
        bytes32 got = this.stepExternal(pre, ArgsModel.witness(y, t, r));
        assertTrue(got != expected, "another tree, another post-state");

        // It is the post-state of the wrong tree with chunk 1 written: a deterministic step.
        EvmTypes.EvmState memory post = abi.decode(abi.encode(y.e), (EvmTypes.EvmState));
        post.stack = withRoot(x, WordTree.root(bytes.concat(wrong, ArgsModel.slice(a, CHUNK, 1))));
        post.pc += 1 << 16;
        MachineState.State memory s = copyState(y.s);
        s.evm = EvmTypes.hash(post);
        assertEq(got, MachineState.hash(s));
    }

    // ------------------------------------------------------------------------------------------
    // 8: the call step (kind 4)

    /// @dev A call witness for a frame of substate 0 (the callee's proofs empty).
    function emptyCallWitness() internal pure returns (EvmCallVerifier.CallWitness memory w) {
        w.warmSlots = MerkleTrie.EMPTY_ROOT;
        w.transientStorage = MerkleTrie.EMPTY_ROOT;
        w.warmAccounts = MerkleTrie.EMPTY_ROOT;
    }

    function callProof(ArgsModel.Sim memory x, uint256[] memory t, EvmCallVerifier.CallWitness memory w)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(uint8(4), abi.encode(x.e, x.code, t, x.rest, w, blockItem()));
    }

    /// @dev The post-state of `x`'s frame halting exceptionally at depth 0: the transaction executed,
    ///      failed.
    function haltedAtDepth0(ArgsModel.Sim memory x) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(x.s);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = false;
        s.stateRoot = x.e.txStartRoot;
        s.gasLeft = 0;
        s.refund = 0;
        return MachineState.hash(s);
    }

    /// @notice The call verifier on a long-arguments call: at k = 0 past its memory expansion it
    ///         refuses (the argument steps come first); a call that halts in its prefix (the memory
    ///         expansion, a value in a static frame) is its exceptional halt in one step, which the
    ///         copy verifier refuses; at k = 1 < n it refuses.
    function test_callVerifierOnLongArguments() public {
        (ArgsModel.Sim memory x,, uint256 total) = expandingSim();
        EvmCallVerifier.CallWitness memory w = emptyCallWitness();
        bytes memory pre = ArgsModel.pre(x);
        // k = 0, the prefix passes: refused, directly and through the tree.
        expectUnsupported();
        this.stepExternal(pre, callProof(x, x.items, w));
        expectUnsupported();
        calls.step(x.s, callProof(x, x.items, w));

        // One gas short of the memory expansion: the call verifier's exceptional halt.
        ArgsModel.Sim memory y = ArgsModel.clone(x);
        // forge-lint: disable-next-line(unsafe-typecast)
        y.e.gas = uint64(total - 1);
        pre = ArgsModel.pre(y);
        bytes32 got = this.stepExternal(pre, callProof(y, y.items, w));
        assertEq(got, haltedAtDepth0(y));
        assertRefused(y);

        // A CALL with a value in a static frame: the same.
        y = withItems(x, items7(50_000, uint160(CALLEE), 1, 31, CHUNK + 1, 40_000, 32));
        y.e.isStatic = true;
        pre = ArgsModel.pre(y);
        assertEq(this.stepExternal(pre, callProof(y, y.items, w)), haltedAtDepth0(y));
        assertRefused(y);

        // k = 1 < n = 2: the tree of chunk 0 on top; the call verifier refuses it.
        ArgsModel.next(x);
        assertEq(x.e.pc, 1 << 16);
        pre = ArgsModel.pre(x);
        expectUnsupported();
        this.stepExternal(pre, callProof(x, ArgsModel.top(x), w));
        // And k = 3 > n, the tree of all the arguments on top.
        ArgsModel.next(x);
        y = ArgsModel.clone(x);
        y.e.pc = 3 << 16;
        pre = ArgsModel.pre(y);
        expectUnsupported();
        this.stepExternal(pre, callProof(y, ArgsModel.top(y), w));
    }

    /// @notice After the argument steps (k = n), the call step takes the tree off the stack and
    ///         starts the callee's frame with it as its call data: the caller resumes at p + 1
    ///         with its items and the tree popped.
    function test_callStepTakesTheTree() public {
        ArgsModel.Sim memory x = test1Sim();
        // The accounts: the frame's, the callee with code, the sender.
        AccountWorld.World memory world;
        world.who = new address[](3);
        world.accounts = new Accounts.Account[](3);
        (world.who[0], world.who[1], world.who[2]) = (SELF, CALLEE, CALLER);
        world.accounts[0] = AccountWorld.account(1, 1000, keccak256(x.code));
        world.accounts[1] = AccountWorld.account(1, 5, keccak256(CALLEE_CODE));
        world.accounts[2] = AccountWorld.account(1, 10 ** 18, Accounts.EMPTY_CODE_HASH);
        x.s.stateRoot = AccountWorld.rootOf(world);
        assertEq(run(x), 2);

        EvmCallVerifier.CallWitness memory w = emptyCallWitness();
        bytes32[] memory warm = new bytes32[](0);
        w.warmProof = AccountWorld.warmProof(warm, Accounts.key(CALLEE));
        w.calleeProof = AccountWorld.proofOf(world, CALLEE);
        warm = AccountWorld.plus(warm, Accounts.key(CALLEE));
        w.frameWarmProof = AccountWorld.warmProof(warm, Accounts.key(SELF));
        w.calleeCode = CALLEE_CODE;
        bytes memory pre = ArgsModel.pre(x);
        bytes32 got = this.stepExternal(pre, callProof(x, ArgsModel.top(x), w));
        assertEq(got, frameStarted(x, warm));
        // The tree came from the stack: a range of the arguments in the witness is refused.
        w.args = RangeModel.range(x.mem, 0, 0);
        bytes memory proof = callProof(x, ArgsModel.top(x), w);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        this.stepExternal(pre, proof);
    }

    /// @dev The post-state of test_callStepTakesTheTree's call: the cold callee (2500), no
    ///      expansion, 50,000 gas forwarded; the callee's call data the arguments' tree.
    function frameStarted(ArgsModel.Sim memory x, bytes32[] memory warm) internal pure returns (bytes32) {
        uint256 cost = 100 + 2500;
        EvmTypes.EvmState memory r = abi.decode(abi.encode(x.e), (EvmTypes.EvmState));
        r.pc = 1;
        r.stack = x.rest;
        r.stackSize = 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.gas -= uint64(cost + 50_000);
        r.substate = AccountWorld.substateOf(warm);
        EvmTypes.CallerFrame memory saved =
            EvmTypes.CallerFrame(EvmTypes.hash(r), 64, 32, x.s.stateRoot, r.substate, x.s.refund, address(0));
        EvmTypes.EvmState memory n;
        n.txHash = TX_HASH;
        n.txStartRoot = START_ROOT;
        n.substate = AccountWorld.substateOf(AccountWorld.plus(warm, Accounts.key(SELF)));
        n.depth = 1;
        n.parent = keccak256(abi.encode(saved));
        n.self = CALLEE;
        n.caller = SELF;
        n.codeHash = keccak256(CALLEE_CODE);
        n.calldataRoot = WordModel.root(ArgsModel.args(x));
        n.calldataSize = uint32(CHUNK + 1);
        n.returnDataRoot = WordTree.EMPTY_ROOT;
        n.gas = 50_000;
        n.memRoot = WordTree.EMPTY_ROOT;
        MachineState.State memory m = copyState(x.s);
        m.evm = EvmTypes.hash(n);
        return MachineState.hash(m);
    }

    // ------------------------------------------------------------------------------------------
    // 9: the instruction verifier

    /// @notice `EvmStepVerifier` (kind 1) refuses a frame between argument steps (pc >= 2^16),
    ///         where a STOP would be if the pc were read whole; its five forwarded verifiers are
    ///         the call verifier's.
    function test_stepVerifierRefusesAndForwards() public {
        ArgsModel.Sim memory x = test1Sim();
        ArgsModel.next(x);
        assertEq(x.e.pc, 1 << 16);
        bytes memory pre = ArgsModel.pre(x);
        bytes memory proof =
            abi.encode(uint8(1), abi.encode(x.e, x.code, ArgsModel.top(x), x.rest, noWords(), blockItem()));
        expectUnsupported();
        this.stepExternal(pre, proof);
        proof = abi.encode(uint8(1), abi.encode(x.e, x.code, new uint256[](0), x.e.stack, noWords(), blockItem()));
        expectUnsupported();
        this.stepExternal(pre, proof);

        assertEq(address(evm.PRECOMPILES()), address(calls.PRECOMPILES()));
        assertEq(address(evm.RETURNS()), address(calls.RETURNS()));
        assertEq(address(evm.CREATES()), address(calls.CREATES()));
        assertEq(address(evm.CREATION_TXS()), address(calls.CREATION_TXS()));
        assertEq(address(evm.SELFDESTRUCTS()), address(calls.SELFDESTRUCTS()));
        address[5] memory all = [
            address(evm.PRECOMPILES()),
            address(evm.RETURNS()),
            address(evm.CREATES()),
            address(evm.CREATION_TXS()),
            address(evm.SELFDESTRUCTS())
        ];
        for (uint256 i; i < 5; ++i) {
            assertTrue(all[i] != address(0));
            assertTrue(all[i].code.length != 0);
            for (uint256 j; j < i; ++j) {
                assertTrue(all[i] != all[j]);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // 10: gas

    /// @notice One full unaligned argument step: 32,736 bytes at 31 + 32,736 (1024 memory words
    ///         read, 1023 tree words written), k = 1, measured around `EvmCopyVerifier.step`.
    function test_gasOfFullArgumentStep() public view {
        ArgsModel.Sim memory x =
            sim(0xf1, 0, items7(50_000, uint160(CALLEE), 0, 31, 2 * CHUNK, 0, 0), nonzero(65_536, 6), 1_000_000);
        ArgsModel.next(x);
        EvmTypes.WordRange[] memory r = ArgsModel.ranges(x);
        assertEq(r[0].words.length, 1024);
        assertEq(r[1].words.length, 1023);
        bytes memory pre = ArgsModel.pre(x);
        MachineState.State memory s = copyState(x.s);
        (, bytes memory proof, bytes32 expected) = ArgsModel.next(x);
        (bytes32 post, uint256 used) = this.gasOfCopyStep(s, proof);
        assertEq(post, expected);
        assertTree(x);
        console2.log("full argument step (k = 1, 32,736 bytes at offset 31): gas of EvmCopyVerifier.step", used);
        console2.log("its calldata (bytes)", pre.length + proof.length);
    }
}
