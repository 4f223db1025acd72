// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmReturnVerifier} from "../../src/fault/evm/EvmReturnVerifier.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";

/// @dev `WordModel` and `RangeModel` (docs/evm-steps.md section 3) for memories of thousands of
///      words: every level of the tree computed once, bottom up, then read (the recursive model
///      allocates at each hash, which outgrows a test's gas over ~100 KB). `test_modelAgreesWithWordModel`
///      checks it against `WordModel` and `RangeModel`.
library PlainTree {
    uint256 internal constant DEPTH = 20;

    function pair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, a)
            mstore(32, b)
            h := keccak256(0, 64)
        }
    }

    /// @dev The roots of all-zero subtrees, by height.
    function zeros() internal pure returns (bytes32[21] memory z) {
        for (uint256 l = 1; l <= DEPTH; ++l) {
            z[l] = pair(z[l - 1], z[l - 1]);
        }
    }

    /// @dev Level `l` holds the nodes `0 .. ceil(words / 2^l) - 1` (one at least); the rest are zero
    ///      subtrees.
    function levels(bytes memory data) internal pure returns (bytes32[][] memory lv) {
        bytes32[21] memory z = zeros();
        lv = new bytes32[][](DEPTH + 1);
        uint256 n = (data.length + 31) / 32;
        bytes32[] memory ws = new bytes32[](n == 0 ? 1 : n);
        uint256 len = data.length;
        assembly ("memory-safe") {
            mcopy(add(ws, 32), add(data, 32), len)
        }
        // The last word is zero-padded: the array was zeroed and exactly `len` bytes are copied.
        lv[0] = ws;
        for (uint256 l; l < DEPTH; ++l) {
            bytes32[] memory below = lv[l];
            bytes32[] memory up = new bytes32[]((below.length + 1) / 2);
            for (uint256 i; i < up.length; ++i) {
                bytes32 right = 2 * i + 1 < below.length ? below[2 * i + 1] : z[l];
                up[i] = pair(below[2 * i], right);
            }
            lv[l + 1] = up;
        }
    }

    function node(bytes32[][] memory lv, uint256 l, uint256 i) internal pure returns (bytes32) {
        if (i < lv[l].length) return lv[l][i];
        bytes32 z;
        for (uint256 h; h < l; ++h) {
            z = pair(z, z);
        }
        return z;
    }

    function root(bytes memory data) internal pure returns (bytes32) {
        return levels(data)[DEPTH][0];
    }

    /// @dev `RangeModel.range` over the tree `lv`: the words `first..last`, then level by level the
    ///      left and the right neighbour of the range.
    function range(bytes32[][] memory lv, uint256 first, uint256 last)
        internal
        pure
        returns (EvmTypes.WordRange memory r)
    {
        // forge-lint: disable-next-line(unsafe-typecast)
        r.first = uint32(first);
        r.words = new bytes32[](last - first + 1);
        for (uint256 i = first; i <= last; ++i) {
            r.words[i - first] = node(lv, 0, i);
        }
        bytes32[] memory siblings = new bytes32[](40);
        uint256 n;
        (uint256 lo, uint256 hi) = (first, last);
        for (uint256 l; l < DEPTH; ++l) {
            if (lo & 1 == 1) siblings[n++] = node(lv, l, lo - 1);
            if (hi & 1 == 0) siblings[n++] = node(lv, l, hi + 1);
            lo >>= 1;
            hi >>= 1;
        }
        r.siblings = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            r.siblings[i] = siblings[i];
        }
    }

    function range(bytes memory data, uint256 first, uint256 last) internal pure returns (EvmTypes.WordRange memory) {
        return range(levels(data), first, last);
    }
}

/// @notice Long outputs (docs/evm-steps.md section 9, "Long outputs"; witness kind 14), hand-built,
///         through `OneStepVerifier.step`: an output over 32,736 bytes returned to a caller moves in
///         `ceil(outSize / 32,736)` steps, each a chunk read from the ended frame's memory and
///         written into the return data's tree and (below `min(retLen, outSize)`) the caller's
///         memory; the last step resumes the caller as the one-step return (kind 6) would. The
///         expected states come from a plain model: the memories and the output as bytes, their
///         roots and ranges with `PlainTree` (checked against `WordModel`), not the verifier's code.
contract EvmLongOutputStepsTest is EvmStepHelpers {
    uint256 internal constant C = 32_736;
    uint256 internal constant FILLER = 0x1111;

    bytes32 internal constant CALLEE_ROOT = keccak256("state root after the callee");
    bytes32 internal constant ROOT_BEFORE = keccak256("state root before the call's value");
    bytes32 internal constant SNAPSHOT = keccak256("caller's substate at the call");
    bytes32 internal constant CALLEE_SUBSTATE = keccak256("callee's substate");
    bytes32 internal constant OLD_RETURN_DATA = keccak256("old return data");
    uint64 internal constant SNAPSHOT_REFUND = 77;
    uint64 internal constant CALLEE_REFUND = 9600;
    uint64 internal constant GAS_LEFT = 1234;
    address internal constant CREATED = address(0xC4EA7ED);

    /// @dev A returning state: the callee's memory, the caller as it resumes, its saved frame, the end.
    struct Out {
        bytes calleeMem;
        Frame caller;
        EvmTypes.CallerFrame frame;
        EvmTypes.FrameEnd end;
    }

    /// @dev The model of a long output's steps: the output, the chunks `n`, the bytes `m` that go to
    ///      the caller's memory, the return data's and the caller's memory roots after `j = 0..n`
    ///      chunks, and the honest witness of each chunk.
    struct Sim {
        Out o;
        bytes out;
        uint256 n;
        uint256 m;
        bytes32 endHash;
        EvmTypes.EvmState callerE;
        MachineState.State base;
        bytes32[] rd;
        bytes32[] cm;
        bytes finalMem;
        EvmReturnVerifier.LongOutput[] ws;
    }

    // ------------------------------------------------------------------------------------------
    // The model

    /// @dev `len` pseudo-random bytes from `seed` (a hash a word).
    function fill(uint256 len, uint256 seed) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; i += 32) {
            bytes32 w = keccak256(abi.encode(seed, i));
            assembly ("memory-safe") {
                mstore(add(add(out, 32), i), w)
            }
        }
        // The last word's bytes past `len` back to zero.
        for (uint256 i = len; i % 32 != 0; ++i) {
            assembly ("memory-safe") {
                mstore8(add(add(out, 32), i), 0)
            }
        }
    }

    function roundUp(uint256 n) internal pure returns (uint256) {
        return (n + 31) / 32 * 32;
    }

    function minOf(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev `l` bytes of `b` from `from`.
    function cut(bytes memory b, uint256 from, uint256 l) internal pure returns (bytes memory out) {
        require(from + l <= b.length, "cut: out of range");
        out = new bytes(l);
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(b, 32), from), l)
        }
    }

    function emptyRange() internal pure returns (EvmTypes.WordRange memory) {}

    function isEmptyRange(EvmTypes.WordRange memory r) internal pure returns (bool) {
        return r.words.length == 0 && r.siblings.length == 0;
    }

    /// @dev The caller as it resumes (depth 0, its snapshot substate, some older return data): the
    ///      helpers' `state` with the memory root from `PlainTree`.
    function callerState(Frame memory c) internal pure returns (EvmTypes.EvmState memory e) {
        e.txHash = TX_HASH;
        e.txStartRoot = START_ROOT;
        e.substate = SNAPSHOT;
        e.self = SELF;
        e.caller = CALLER;
        e.value = c.value;
        e.codeHash = keccak256(c.code);
        e.calldataRoot = PlainTree.root(c.data);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.calldataSize = uint32(c.data.length);
        e.returnDataRoot = OLD_RETURN_DATA;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.returnDataSize = uint32(c.returnDataSize);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.pc = uint32(c.pc);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas = uint64(c.gas);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize = uint16(c.stack.length);
        e.stack = stackHash(c.stack, c.stack.length);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(c.mem.length);
        e.memRoot = PlainTree.root(c.mem);
    }

    /// @dev Recomputes the hashes that chain the returning state to its caller.
    function seal(Out memory o) internal pure {
        o.frame.frame = EvmTypes.hash(callerState(o.caller));
        o.end.parent = keccak256(abi.encode(o.frame));
    }

    /// @dev `o` without a caller (a depth-0 frame's `CallerFrame`: `frame` 0).
    function noCaller(Out memory o) internal pure {
        o.frame.frame = 0;
        o.end.parent = keccak256(abi.encode(o.frame));
    }

    /// @dev A depth-1 callee that ended with `outcome` (1 RETURN, 2 REVERT), its output `outSize`
    ///      bytes at `outOffset` of its memory, to `retLen` bytes at `retOffset` of the caller's
    ///      (which the call expanded over them).
    function longOut(uint8 outcome, uint256 outOffset, uint256 outSize, uint256 retOffset, uint256 retLen)
        internal
        pure
        returns (Out memory o)
    {
        o.calleeMem = fill(roundUp(outOffset + outSize + 40), 2);
        o.caller = frame(op(0xf1), two(3, FILLER));
        o.caller.pc = 1;
        o.caller.gas = 50_000;
        o.caller.mem = fill(roundUp(retOffset + retLen + 70), 3);
        o.caller.returnDataSize = 5;
        // forge-lint: disable-next-line(unsafe-typecast)
        o.frame.retOffset = uint32(retOffset);
        // forge-lint: disable-next-line(unsafe-typecast)
        o.frame.retLen = uint32(retLen);
        o.frame.stateRoot = ROOT_BEFORE;
        o.frame.substate = SNAPSHOT;
        o.frame.refund = SNAPSHOT_REFUND;
        o.end.outcome = outcome;
        o.end.gasLeft = GAS_LEFT;
        o.end.substate = outcome == 1 ? CALLEE_SUBSTATE : bytes32(0);
        o.end.memRoot = PlainTree.root(o.calleeMem);
        // forge-lint: disable-next-line(unsafe-typecast)
        o.end.outOffset = uint32(outOffset);
        // forge-lint: disable-next-line(unsafe-typecast)
        o.end.outSize = uint32(outSize);
        seal(o);
    }

    /// @dev An init frame (a CREATE at depth 0 made it) that ended with `outcome` and `outSize`
    ///      bytes at `outOffset`; its caller frame has `retLen` (0 for a real one).
    function initOut(uint8 outcome, uint256 outOffset, uint256 outSize, uint256 retLen)
        internal
        pure
        returns (Out memory o)
    {
        o = longOut(outcome, outOffset, outSize, 0, retLen);
        o.caller.code = op(0xf0);
        o.caller.stack = one(FILLER);
        o.frame.created = CREATED;
        seal(o);
    }

    /// @dev The machine in a returning state (but `evm`): the callee's state root and refund.
    function baseMachine() internal pure returns (MachineState.State memory s) {
        s = machine(frame(op(0x00), none()));
        s.stateRoot = CALLEE_ROOT;
        s.refund = CALLEE_REFUND;
    }

    /// @dev The model: the output's bytes moved chunk by chunk into a return-data buffer and a copy
    ///      of the caller's memory, every root and range taken from those bytes.
    function simulate(Out memory o) internal pure returns (Sim memory x) {
        x.o = o;
        uint256 size = o.end.outSize;
        x.out = cut(o.calleeMem, o.end.outOffset, size);
        x.n = (size + C - 1) / C;
        x.m = o.frame.created != address(0) ? 0 : minOf(o.frame.retLen, size);
        x.endHash = keccak256(abi.encode(o.end));
        x.callerE = callerState(o.caller);
        x.base = baseMachine();
        x.base.evm = x.endHash;
        x.rd = new bytes32[](x.n + 1);
        x.cm = new bytes32[](x.n + 1);
        x.ws = new EvmReturnVerifier.LongOutput[](x.n);
        bytes32[][] memory callee = PlainTree.levels(o.calleeMem);
        bytes memory mem = bytes.concat(o.caller.mem);
        for (uint256 k; k <= x.n; ++k) {
            uint256 off = k * C;
            bytes32[][] memory data = PlainTree.levels(cut(x.out, 0, minOf(off, size)));
            bytes32[][] memory callerMem = PlainTree.levels(mem);
            x.rd[k] = data[20][0];
            x.cm[k] = callerMem[20][0];
            if (k == x.n) break;
            EvmReturnVerifier.LongOutput memory w = x.ws[k];
            w.k = k;
            if (k != 0) (w.returnData, w.callerMem) = (x.rd[k], x.cm[k]);
            uint256 l = minOf(C, size - off);
            uint256 at = o.end.outOffset + off;
            w.output = PlainTree.range(callee, at / 32, (at + l - 1) / 32);
            w.returnRange = PlainTree.range(data, off / 32, (off + l - 1) / 32);
            if (off < x.m) {
                uint256 d = o.frame.retOffset + off;
                uint256 moved = minOf(l, x.m - off);
                w.dest = PlainTree.range(callerMem, d / 32, (d + moved - 1) / 32);
                for (uint256 i; i < moved; ++i) {
                    mem[d + i] = x.out[off + i];
                }
            }
        }
        x.finalMem = mem;
    }

    /// @dev `evm` after `j >= 1` chunks.
    function progress(Sim memory x, uint256 j) internal pure returns (bytes32) {
        return keccak256(abi.encode(x.endHash, j, x.rd[j], x.cm[j]));
    }

    /// @dev The machine after `j` chunks (the returning state itself for `j = 0`).
    function machineAfter(Sim memory x, uint256 j) internal pure returns (MachineState.State memory s) {
        s = copyState(x.base);
        if (j != 0) s.evm = progress(x, j);
    }

    function preOf(Sim memory x, uint256 j) internal pure returns (bytes memory) {
        return abi.encode(machineAfter(x, j));
    }

    /// @dev What the spec says the caller resumes with once the whole output has moved (the one-step
    ///      return's post-state): its memory with the output's first `m` bytes at `retOffset`, the
    ///      output as its return data, 1 pushed on success (0 otherwise), the gas left back, the
    ///      callee's substate on success, else the snapshots (state root, substate, refund).
    function resumed(Sim memory x) internal pure returns (bytes32) {
        Out memory o = x.o;
        bool success = o.end.outcome == 1;
        EvmTypes.EvmState memory e = abi.decode(abi.encode(x.callerE), (EvmTypes.EvmState));
        e.memRoot = PlainTree.root(x.finalMem);
        e.returnDataRoot = PlainTree.root(x.out);
        e.returnDataSize = o.end.outSize;
        uint256[] memory stack = pushed(o.caller.stack, one(success ? 1 : 0));
        e.stack = stackHash(stack, stack.length);
        e.stackSize += 1;
        e.gas += o.end.gasLeft;
        MachineState.State memory s = copyState(x.base);
        if (success) {
            e.substate = o.end.substate;
        } else {
            e.substate = o.frame.substate;
            s.stateRoot = o.frame.stateRoot;
            s.refund = o.frame.refund;
        }
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    /// @dev The expected post-state's hash of chunk `k`'s step.
    function expectedAfter(Sim memory x, uint256 k) internal pure returns (bytes32) {
        return k + 1 < x.n ? MachineState.hash(machineAfter(x, k + 1)) : resumed(x);
    }

    function encodeLong(Sim memory x, EvmReturnVerifier.LongOutput memory w) internal pure returns (bytes memory) {
        return abi.encode(uint8(14), abi.encode(x.o.end, x.o.frame, x.callerE, w));
    }

    /// @dev The one-step return's witness (kind 6), with the whole output's ranges or empty ones.
    function kind6Witness(Out memory o, bool ranges) internal pure returns (bytes memory) {
        EvmTypes.WordRange memory output;
        EvmTypes.WordRange memory dest;
        uint256 size = o.end.outSize;
        if (ranges && size != 0) {
            uint256 at = o.end.outOffset;
            output = PlainTree.range(o.calleeMem, at / 32, (at + size - 1) / 32);
            uint256 m = o.frame.created != address(0) ? 0 : minOf(o.frame.retLen, size);
            uint256 d = o.frame.retOffset;
            if (m != 0) dest = PlainTree.range(o.caller.mem, d / 32, (d + m - 1) / 32);
        }
        return abi.encode(uint8(6), abi.encode(o.end, o.frame, callerState(o.caller), output, dest, new bytes[](0)));
    }

    function stepOf(bytes memory pre, bytes memory proof) internal view returns (bytes32) {
        return verifier.step(pre, proof);
    }

    /// @dev Every step of `x`'s long output, each post-state against the model; the number of steps.
    function runAll(Sim memory x) internal view returns (uint256) {
        EvmReturnVerifier returns_ = EvmReturnVerifier(address(evm.RETURNS()));
        for (uint256 k; k < x.n; ++k) {
            bytes32 post = stepOf(preOf(x, k), encodeLong(x, x.ws[k]));
            assertEq(post, expectedAfter(x, k), k + 1 < x.n ? "intermediate state" : "final state");
            // The verifier's own progress hash agrees with the model's.
            if (k + 1 < x.n) {
                assertEq(returns_.progressHash(x.endHash, k + 1, x.rd[k + 1], x.cm[k + 1]), progress(x, k + 1));
            }
        }
        return x.n;
    }

    function expectLongRevert(Sim memory x, uint256 j, EvmReturnVerifier.LongOutput memory w, bytes memory reason)
        internal
    {
        bytes memory pre = preOf(x, j);
        bytes memory proof = encodeLong(x, w);
        vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    function unsupported() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
    }

    function mismatch(uint256 i) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, i);
    }

    function unexpected() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector);
    }

    function stateMismatch(bytes32 expected, bytes32 computed) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, expected, computed);
    }

    /// @dev A copy of `w` (its ranges shared) with range `which` (0 output, 1 returnRange, 2 dest)
    ///      replaced by `r`.
    function replaced(EvmReturnVerifier.LongOutput memory w, uint256 which, EvmTypes.WordRange memory r)
        internal
        pure
        returns (EvmReturnVerifier.LongOutput memory v)
    {
        v = EvmReturnVerifier.LongOutput(w.k, w.returnData, w.callerMem, w.output, w.returnRange, w.dest);
        if (which == 0) v.output = r;
        else if (which == 1) v.returnRange = r;
        else v.dest = r;
    }

    function rangeOf(EvmReturnVerifier.LongOutput memory w, uint256 which)
        internal
        pure
        returns (EvmTypes.WordRange memory)
    {
        return which == 0 ? w.output : which == 1 ? w.returnRange : w.dest;
    }

    /// @dev A copy of `r` with word `i` (or sibling `i`) flipped.
    function flipped(EvmTypes.WordRange memory r, bool sibling, uint256 i)
        internal
        pure
        returns (EvmTypes.WordRange memory t)
    {
        t = abi.decode(abi.encode(r), (EvmTypes.WordRange));
        if (sibling) t.siblings[i] ^= bytes32(uint256(1));
        else t.words[i] ^= bytes32(uint256(1));
    }

    // ------------------------------------------------------------------------------------------
    // The model itself

    /// @notice `PlainTree` gives `WordModel`'s roots and `RangeModel`'s ranges; `callerState` is the
    ///         helpers' `state` with the caller's substate and return data.
    function test_modelAgreesWithWordModel() public pure {
        bytes memory data = fill(3000, 9);
        bytes memory odd = cut(data, 0, 2989);
        assertEq(PlainTree.root(data), WordModel.root(data));
        assertEq(PlainTree.root(odd), WordModel.root(odd));
        assertEq(PlainTree.root(""), WordModel.root(""));
        assertEq(PlainTree.root(""), WordTree.EMPTY_ROOT);
        uint256[2][6] memory spans = [
            [uint256(0), 0],
            [uint256(3), 17],
            [uint256(1), 93],
            [uint256(50), 93],
            [uint256(94), 94],
            [uint256(64), 127]
        ];
        for (uint256 i; i < spans.length; ++i) {
            assertEq(
                keccak256(abi.encode(PlainTree.range(odd, spans[i][0], spans[i][1]))),
                keccak256(abi.encode(RangeModel.range(odd, spans[i][0], spans[i][1])))
            );
        }
        bytes memory big = fill(40_000, 10);
        assertEq(PlainTree.root(big), WordModel.root(big));
        assertEq(PlainTree.root(big), WordTree.root(big));
        assertEq(
            keccak256(abi.encode(PlainTree.range(big, 1, 1023))), keccak256(abi.encode(RangeModel.range(big, 1, 1023)))
        );
        Frame memory c = frame(op(0xf1), two(3, FILLER));
        c.mem = fill(192, 3);
        c.data = fill(37, 4);
        c.returnDataSize = 5;
        EvmTypes.EvmState memory e = state(c);
        e.substate = SNAPSHOT;
        e.returnDataRoot = OLD_RETURN_DATA;
        assertEq(EvmTypes.hash(callerState(c)), EvmTypes.hash(e));
    }

    // ------------------------------------------------------------------------------------------
    // Whole long outputs

    /// @notice RETURN of 32,737 bytes at offset 31 into a caller's 40,000 bytes at offset 5: two
    ///         steps (32,736 bytes, then 1); the state between them and the caller's are the model's.
    function test_returnOfOneByteOverAChunk() public view {
        Sim memory x = simulate(longOut(1, 31, 32_737, 5, 40_000));
        assertEq(runAll(x), 2);
        // Hand checks of the model: the return data is the whole output, the caller's memory has it
        // at offset 5 and is unchanged elsewhere.
        Out memory o = x.o;
        bytes memory out = x.out;
        assertEq(x.rd[2], WordTree.root(out));
        assertEq(x.rd[2], WordModel.root(out));
        bytes memory mem = x.finalMem;
        assertEq(mem.length, o.caller.mem.length);
        assertEq(keccak256(cut(mem, 5, 32_737)), keccak256(out));
        assertEq(keccak256(cut(mem, 0, 5)), keccak256(cut(o.caller.mem, 0, 5)));
        uint256 rest = mem.length - 32_742;
        assertEq(keccak256(cut(mem, 32_742, rest)), keccak256(cut(o.caller.mem, 32_742, rest)));
        // The first step's post-state: only `evm` moved, to the progress over both roots.
        MachineState.State memory s = baseMachine();
        s.evm = keccak256(
            abi.encode(
                keccak256(abi.encode(o.end)),
                uint256(1),
                WordTree.root(cut(out, 0, C)),
                PlainTree.root(
                    bytes.concat(cut(o.caller.mem, 0, 5), cut(out, 0, C), cut(o.caller.mem, 5 + C, mem.length - 5 - C))
                )
            )
        );
        assertEq(stepOf(abi.encode(x.base), encodeLong(x, x.ws[0])), MachineState.hash(s));
        // The last step: the caller resumes as the one-step return's model (`returned` in
        // EvmFrameSteps.t.sol) says, with the return data's root WordTree's root of the output.
        Frame memory c = copy(o.caller);
        c.mem = mem;
        c.stack = pushed(c.stack, one(1));
        c.gas += GAS_LEFT;
        c.returnDataSize = 32_737;
        EvmTypes.EvmState memory e = callerState(c);
        e.returnDataRoot = WordTree.root(out);
        e.substate = CALLEE_SUBSTATE;
        MachineState.State memory f = baseMachine();
        f.evm = EvmTypes.hash(e);
        assertEq(stepOf(preOf(x, 1), encodeLong(x, x.ws[1])), MachineState.hash(f));
        // The second chunk is the output's last byte: one word of each range.
        assertEq(x.ws[1].output.words.length, 1);
        assertEq(x.ws[1].returnRange.words.length, 1);
        assertEq(x.ws[1].dest.words.length, 1);
    }

    /// @notice REVERT of three whole chunks with `retLen` 10: only chunk 0 writes the caller's memory
    ///         (dest empty for chunks 1 and 2); the caller pushes 0, gets its gas back and its
    ///         snapshots (state root, refund, substate).
    function test_revertOfThreeChunks() public view {
        Sim memory x = simulate(longOut(2, 0, 3 * C, 60, 10));
        assertEq(runAll(x), 3);
        assertEq(x.ws[0].dest.words.length, 2);
        assertTrue(isEmptyRange(x.ws[1].dest));
        assertTrue(isEmptyRange(x.ws[2].dest));
        // The caller's memory changed by chunk 0 only.
        assertTrue(x.cm[1] != x.cm[0]);
        assertEq(x.cm[2], x.cm[1]);
        assertEq(x.cm[3], x.cm[1]);
        // A hand-built final state: the snapshots, 0 pushed, the gas back.
        Out memory o = x.o;
        Frame memory c = copy(o.caller);
        c.mem = x.finalMem;
        c.stack = pushed(c.stack, one(0));
        c.gas += GAS_LEFT;
        c.returnDataSize = 3 * C;
        EvmTypes.EvmState memory e = callerState(c);
        e.returnDataRoot = WordTree.root(x.out);
        e.substate = SNAPSHOT;
        MachineState.State memory s = baseMachine();
        s.stateRoot = ROOT_BEFORE;
        s.refund = SNAPSHOT_REFUND;
        s.evm = EvmTypes.hash(e);
        assertEq(stepOf(preOf(x, 2), encodeLong(x, x.ws[2])), MachineState.hash(s));
        // Not the post-state of a success.
        o.end.outcome = 1;
        o.end.substate = CALLEE_SUBSTATE;
        x.endHash = keccak256(abi.encode(o.end));
        assertTrue(resumed(x) != MachineState.hash(s));
    }

    /// @notice An unaligned REVERT of three chunks and 3 bytes into an unaligned 10 bytes: 4 steps.
    function test_revertOfThreeChunksAndABit() public view {
        Sim memory x = simulate(longOut(2, 17, 3 * C + 3, 21, 10));
        assertEq(runAll(x), 4);
    }

    /// @notice `retLen` 0: no step writes the caller's memory (dest empty in each).
    function test_retLenZeroWritesNothing() public view {
        Sim memory x = simulate(longOut(1, 7, 2 * C + 100, 0, 0));
        bytes32 before = PlainTree.root(x.o.caller.mem);
        for (uint256 k; k < 3; ++k) {
            assertTrue(isEmptyRange(x.ws[k].dest));
            assertEq(x.cm[k + 1], before);
        }
        assertEq(runAll(x), 3);
        // And after a revert.
        x = simulate(longOut(2, 7, 2 * C + 100, 0, 0));
        assertEq(runAll(x), 3);
    }

    /// @notice An init frame (CREATE) that reverts with 40,000 bytes: two steps; the output is the
    ///         return data, the caller's memory unchanged (even with a `retLen` in the caller frame),
    ///         0 pushed, the gas back, the snapshots.
    function test_initFrameRevert() public {
        Sim memory x = simulate(initOut(2, 3, 40_000, 0));
        assertEq(runAll(x), 2);
        assertEq(x.cm[2], x.cm[0]);
        assertTrue(isEmptyRange(x.ws[0].dest));
        // The caller frame's retLen is not looked at for an init frame: nothing written.
        x = simulate(initOut(2, 3, 40_000, 40_000));
        assertEq(runAll(x), 2);
        assertEq(x.cm[2], x.cm[0]);
        // A dest for it is refused, at either step.
        bytes32[][] memory mem = PlainTree.levels(x.o.caller.mem);
        for (uint256 k; k < 2; ++k) {
            EvmTypes.WordRange memory d = PlainTree.range(mem, k * C / 32, (k * C + 99) / 32);
            expectLongRevert(x, k, replaced(x.ws[k], 2, d), unexpected());
        }
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @notice The one-step return refuses a long output, even one of 32,737 bytes that fits 1024
    ///         words (at offset 0: words 0..1023, its ranges given whole); it takes exactly 32,736 bytes.
    function test_kind6RefusesLongOutputs() public {
        uint256[3] memory offsets = [uint256(0), 1, 9];
        uint256[3] memory sizes = [uint256(32_737), 32_737, 100_000];
        for (uint256 i; i < 3; ++i) {
            Out memory o = longOut(1, offsets[i], sizes[i], 0, sizes[i]);
            bytes memory pre = abi.encode(baseWith(o));
            bytes memory proof = kind6Witness(o, true);
            vm.expectRevert(unsupported());
            verifier.step(pre, proof);
            o = longOut(2, offsets[i], sizes[i], 3, 100);
            pre = abi.encode(baseWith(o));
            proof = kind6Witness(o, true);
            vm.expectRevert(unsupported());
            verifier.step(pre, proof);
        }
        // Exactly 32,736 bytes: one step, with the same post-state as the model.
        Sim memory x = simulate(longOut(1, 16, C, 16, C));
        assertEq(stepOf(abi.encode(x.base), kind6Witness(x.o, true)), resumed(x));
        x = simulate(longOut(2, 0, C, 5, 50_000));
        assertEq(stepOf(abi.encode(x.base), kind6Witness(x.o, true)), resumed(x));
    }

    function baseWith(Out memory o) internal pure returns (MachineState.State memory s) {
        s = baseMachine();
        s.evm = keccak256(abi.encode(o.end));
    }

    /// @notice The one-step return of a long output that goes to no caller: a creation
    ///         transaction's init frame that reverts (its output unread) and an EIP-7702
    ///         transaction's depth-0 frame end the transaction in one step.
    function test_kind6TakesLongOutputsWithoutACaller() public view {
        Out memory o = initOut(2, 3, 40_000, 0);
        noCaller(o);
        MachineState.State memory s = baseWith(o);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = 0;
        s.success = false;
        s.stateRoot = ROOT_BEFORE;
        s.gasLeft = GAS_LEFT;
        s.refund = 0;
        assertEq(stepOf(abi.encode(baseWith(o)), kind6Witness(o, false)), MachineState.hash(s));
        // EIP-7702: no caller, nothing created; success keeps the root and the refund (under its cap).
        o = longOut(1, 3, 40_000, 0, 0);
        noCaller(o);
        s = baseWith(o);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = 0;
        s.success = true;
        s.gasLeft = GAS_LEFT;
        assertEq(stepOf(abi.encode(baseWith(o)), kind6Witness(o, false)), MachineState.hash(s));
    }

    /// @notice A kind-14 step on an output that is not long (32,736 bytes; no caller; an init
    ///         frame's success), or on a chunk past the last, is refused.
    function test_kind14Refusals() public {
        // 32,736 bytes.
        Sim memory x = simulate(longOut(1, 16, C, 16, C));
        expectLongRevert(x, 0, x.ws[0], unsupported());
        x = simulate(longOut(2, 0, C, 0, 100));
        expectLongRevert(x, 0, x.ws[0], unsupported());
        // A creation transaction's init frame (no caller) that reverted with 40,000 bytes.
        Out memory o = initOut(2, 3, 40_000, 0);
        noCaller(o);
        x = simulate(o);
        expectLongRevert(x, 0, x.ws[0], unsupported());
        // An EIP-7702 transaction's depth-0 frame (no caller, nothing created).
        o = longOut(1, 3, 40_000, 0, 0);
        noCaller(o);
        x = simulate(o);
        expectLongRevert(x, 0, x.ws[0], unsupported());
        // An init frame's success with 40,000 bytes (a code over EIP-170's limit, unread).
        x = simulate(initOut(1, 3, 40_000, 0));
        expectLongRevert(x, 0, x.ws[0], unsupported());
        // Past the last chunk, from a consistent progress state (k = n).
        x = simulate(longOut(1, 31, 32_737, 5, 40_000));
        pastTheEnd(x);
        x = simulate(longOut(2, 0, 3 * C, 60, 10));
        pastTheEnd(x);
    }

    /// @dev Chunk `n` of `x` from the state after its `n` chunks: refused.
    function pastTheEnd(Sim memory x) internal {
        EvmReturnVerifier.LongOutput memory w;
        w.k = x.n;
        w.returnData = x.rd[x.n];
        w.callerMem = x.cm[x.n];
        expectLongRevert(x, x.n, w, unsupported());
        // With the last chunk's ranges.
        w = replaced(x.ws[x.n - 1], 0, x.ws[x.n - 1].output);
        w.k = x.n;
        w.returnData = x.rd[x.n];
        w.callerMem = x.cm[x.n];
        expectLongRevert(x, x.n, w, unsupported());
    }

    // ------------------------------------------------------------------------------------------
    // Witness errors

    /// @dev Tampered or misplaced ranges of chunk `k` of a three-chunk output that writes both.
    function rangeErrors(uint256 k) internal {
        Sim memory x = simulate(longOut(1, 31, 2 * C + 100, 5, 80_000));
        EvmReturnVerifier.LongOutput memory w = x.ws[k];
        assertTrue(!isEmptyRange(w.dest));
        for (uint256 which; which < 3; ++which) {
            EvmTypes.WordRange memory r = rangeOf(w, which);
            // A word, a sibling changed.
            expectLongRevert(x, k, replaced(w, which, flipped(r, false, 7)), mismatch(which));
            expectLongRevert(x, k, replaced(w, which, flipped(r, true, 0)), mismatch(which));
            expectLongRevert(x, k, replaced(w, which, flipped(r, true, r.siblings.length - 1)), mismatch(which));
            // A wrong first word (the range of the same length one word on, of the same tree).
            EvmTypes.WordRange memory s = abi.decode(abi.encode(r), (EvmTypes.WordRange));
            s.first += 1;
            expectLongRevert(x, k, replaced(w, which, s), unexpected());
            // One word less; missing.
            s = abi.decode(abi.encode(r), (EvmTypes.WordRange));
            assembly ("memory-safe") {
                let words := mload(add(s, 32))
                mstore(words, sub(mload(words), 1))
            }
            expectLongRevert(x, k, replaced(w, which, s), unexpected());
            expectLongRevert(x, k, replaced(w, which, emptyRange()), unexpected());
        }
        // Each range shifted one word on, opened against its own tree.
        uint256 off = k * C;
        bytes memory data = cut(x.out, 0, off);
        bytes memory mem = bytes.concat(x.o.caller.mem);
        for (uint256 i; i < off; ++i) {
            mem[5 + i] = x.out[i];
        }
        assertEq(PlainTree.root(mem), x.cm[k]);
        expectLongRevert(x, k, replaced(w, 0, shifted(x.o.calleeMem, w.output)), unexpected());
        expectLongRevert(x, k, replaced(w, 1, shifted(data, w.returnRange)), unexpected());
        expectLongRevert(x, k, replaced(w, 2, shifted(mem, w.dest)), unexpected());
        if (k == 1) {
            // The return-data range against the whole output's tree, not the tree so far.
            EvmTypes.WordRange memory r = PlainTree.range(x.out, w.returnRange.first, w.returnRange.first + 1022);
            expectLongRevert(x, k, replaced(w, 1, r), mismatch(1));
            // The destination against the caller's memory before any chunk.
            r = PlainTree.range(x.o.caller.mem, w.dest.first, w.dest.first + w.dest.words.length - 1);
            expectLongRevert(x, k, replaced(w, 2, r), mismatch(2));
        }
        // The output against the caller's memory.
        EvmTypes.WordRange memory t =
            PlainTree.range(x.o.caller.mem, w.output.first, w.output.first + w.output.words.length - 1);
        expectLongRevert(x, k, replaced(w, 0, t), mismatch(0));
    }

    function shifted(bytes memory data, EvmTypes.WordRange memory r) internal pure returns (EvmTypes.WordRange memory) {
        return PlainTree.range(data, r.first + 1, r.first + r.words.length);
    }

    /// @notice Tampered or misplaced ranges at k = 0.
    function test_witnessRangeErrorsAtFirstChunk() public {
        rangeErrors(0);
    }

    /// @notice Tampered or misplaced ranges at k = 1.
    function test_witnessRangeErrorsAtSecondChunk() public {
        rangeErrors(1);
    }

    /// @notice A dest when nothing is written: `retLen` 0 (k = 0, 1), or chunks past `min(retLen,
    ///         outSize)`; even an empty range with a sibling.
    function test_destWhenNothingIsWritten() public {
        Sim memory x = simulate(longOut(1, 7, 2 * C + 100, 0, 0));
        bytes32[][] memory mem = PlainTree.levels(x.o.caller.mem);
        for (uint256 k; k < 2; ++k) {
            expectLongRevert(x, k, replaced(x.ws[k], 2, PlainTree.range(mem, 0, 0)), unexpected());
            EvmTypes.WordRange memory d;
            d.siblings = new bytes32[](1);
            expectLongRevert(x, k, replaced(x.ws[k], 2, d), unexpected());
        }
        x = simulate(longOut(2, 0, 3 * C, 60, 10));
        bytes memory written = x.finalMem;
        for (uint256 k = 1; k < 3; ++k) {
            expectLongRevert(x, k, replaced(x.ws[k], 2, PlainTree.range(written, 1, 2)), unexpected());
            expectLongRevert(
                x, k, replaced(x.ws[k], 2, PlainTree.range(written, (60 + k * C) / 32, (60 + k * C) / 32)), unexpected()
            );
        }
    }

    /// @notice At k = 1 the witness's roots and chunk must be the ones the progress commits to.
    function test_witnessProgressErrors() public {
        Sim memory x = simulate(longOut(1, 31, 2 * C + 100, 5, 80_000));
        bytes32 pre = progress(x, 1);
        bytes32 endHash = x.endHash;
        // Another caller memory: the one before the first chunk, after the second.
        bytes32[2] memory others = [x.cm[0], x.cm[2]];
        for (uint256 i; i < 2; ++i) {
            EvmReturnVerifier.LongOutput memory w = replaced(x.ws[1], 0, x.ws[1].output);
            w.callerMem = others[i];
            expectLongRevert(
                x, 1, w, stateMismatch(pre, keccak256(abi.encode(endHash, uint256(1), x.rd[1], others[i])))
            );
        }
        // Another return data: empty, after two chunks, the whole output's.
        bytes32[3] memory data = [WordTree.EMPTY_ROOT, x.rd[2], x.rd[3]];
        for (uint256 i; i < 3; ++i) {
            EvmReturnVerifier.LongOutput memory w = replaced(x.ws[1], 0, x.ws[1].output);
            w.returnData = data[i];
            expectLongRevert(x, 1, w, stateMismatch(pre, keccak256(abi.encode(endHash, uint256(1), data[i], x.cm[1]))));
        }
        // Another chunk (k = 2 with the roots after 1).
        EvmReturnVerifier.LongOutput memory v = replaced(x.ws[1], 0, x.ws[1].output);
        v.k = 2;
        expectLongRevert(x, 1, v, stateMismatch(pre, keccak256(abi.encode(endHash, uint256(2), x.rd[1], x.cm[1]))));
        // k = 0 against a progress state: its computed hash is the FrameEnd's.
        expectLongRevert(x, 1, x.ws[0], stateMismatch(pre, endHash));
        // k = 1 against the returning state itself.
        expectLongRevert(x, 0, x.ws[1], stateMismatch(endHash, pre));
        // k = 2's witness against the state after 1.
        expectLongRevert(x, 1, x.ws[2], stateMismatch(pre, progress(x, 2)));
    }

    /// @notice At k = 0 the witness's return data and caller memory are not read: garbage there
    ///         proves the honest post-state.
    function test_firstStepIgnoresWitnessRoots() public view {
        Sim memory x = simulate(longOut(1, 31, 2 * C + 100, 5, 80_000));
        bytes32 honest = expectedAfter(x, 0);
        EvmReturnVerifier.LongOutput memory w = replaced(x.ws[0], 0, x.ws[0].output);
        w.returnData = keccak256("garbage return data");
        w.callerMem = keccak256("garbage caller memory");
        assertEq(stepOf(preOf(x, 0), encodeLong(x, w)), honest);
        // Even the roots after the last chunk.
        w.returnData = x.rd[3];
        w.callerMem = x.cm[3];
        assertEq(stepOf(preOf(x, 0), encodeLong(x, w)), honest);
        // So does an init frame's.
        x = simulate(initOut(2, 3, 40_000, 0));
        w = replaced(x.ws[0], 0, x.ws[0].output);
        w.returnData = bytes32(uint256(1));
        w.callerMem = bytes32(uint256(2));
        assertEq(stepOf(preOf(x, 0), encodeLong(x, w)), expectedAfter(x, 0));
    }

    // ------------------------------------------------------------------------------------------
    // Gas

    /// @notice The costliest step: a whole unaligned chunk (1024 output words read, 1023 return-data
    ///         words written, 1024 caller words written).
    function test_gasOfWholeOutputChunk() public view {
        Sim memory x = simulate(longOut(1, 31, 2 * C + 100, 5, 80_000));
        EvmReturnVerifier.LongOutput memory w = x.ws[0];
        assertEq(w.output.words.length, 1024);
        assertEq(w.returnRange.words.length, 1023);
        assertEq(w.dest.words.length, 1024);
        bytes memory pre = preOf(x, 0);
        bytes memory proof = encodeLong(x, w);
        (bytes32 post, uint256 used) = this.gasOfStep(pre, proof);
        assertEq(post, expectedAfter(x, 0));
        console2.log("long output chunk step, gas:", used);
        console2.log("long output chunk step, witness bytes:", proof.length);
    }

    /// @dev One `step` call and its gas, from a fresh call frame (the test's own memory does not count).
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (bytes32 post, uint256 used) {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        used = before - gasleft();
    }
}
