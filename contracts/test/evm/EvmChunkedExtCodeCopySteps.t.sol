// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmStateVerifier} from "../../src/fault/evm/EvmStateVerifier.sol";
import {EvmStepHelpers, RangeModel, WordModel} from "./EvmStepHelpers.sol";
import {ChunkModel} from "./EvmChunkedCopySteps.t.sol";
import {AccountWorld} from "./AccountWorld.sol";

/// @notice EXTCODECOPY of more than `CHUNK_BYTES` (32,736) bytes, chunked (docs/evm-steps.md section
///         4, "Chunked copies" and "EXTCODECOPY"): its first step (kind 7, `EvmStateVerifier`)
///         charges the whole instruction, reads the account and copies chunk 0, leaving `pc = p + (1
///         << 16)` and the four items; its continuations (kind 2, `EvmCopyVerifier`) write zeros (the
///         first step refuses a code longer than a chunk) with the destination's range only, then pop
///         the four items. Every step goes through `OneStepVerifier` against a plain model built here
///         from bytes: a hand-built state trie (`AccountWorld`), the memory as bytes (`WordModel`),
///         the gas and the warm accounts computed from revm 43's rules.
contract EvmChunkedExtCodeCopyStepsTest is EvmStepHelpers {
    uint256 internal constant CHUNK = 32_736;
    uint256 internal constant MAX_U64 = type(uint64).max;
    /// @dev The account whose code is copied, and one more warm account (the warm trie is not empty).
    address internal constant OTHER = address(0xB0B0);
    address internal constant STRANGER = address(0x5757);
    /// @dev The running code: a JUMPDEST then EXTCODECOPY at pc 1 (so `p != 0`).
    uint256 internal constant P = 1;

    /// @dev One EXTCODECOPY `address dst src len` in progress, as plain values and bytes.
    struct Copy {
        MachineState.State s;
        EvmTypes.EvmState e;
        bytes code;
        /// @dev The four items, top first, and the hash of the two items below them.
        uint256[] top;
        bytes32 rest;
        /// @dev `e.memSize` bytes of memory.
        bytes mem;
        address account;
        /// @dev The account's code (empty when absent) and whether it exists.
        bytes extCode;
        bool exists;
        AccountWorld.World world;
        /// @dev The warm accounts' keys before the instruction.
        bytes32[] warm;
    }

    // ------------------------------------------------------------------------------------------
    // The model

    /// @dev A frame at EXTCODECOPY `account dst src len` (pc `P`), two items below, memory `mem`,
    ///      1,000,000 gas; `account` with `extCode` (absent when not `exists`), warm or cold.
    function start(
        address account,
        bytes memory extCode,
        bool exists,
        bool warm,
        uint256 dst,
        uint256 src,
        uint256 len,
        bytes memory mem
    ) internal pure returns (Copy memory c) {
        Frame memory f = frame(hex"5b3c", none());
        f.pc = P;
        f.gas = 1_000_000;
        f.mem = mem;
        uint256[] memory items = new uint256[](6);
        (items[0], items[1], items[2], items[3], items[4], items[5]) =
        (0xAAAA, 0xBBBB, len, src, dst, uint256(uint160(account)));
        f.stack = items;
        c.code = f.code;
        (c.top, c.rest) = opening(f, 4);
        c.e = state(f);
        c.mem = mem;
        c.account = account;
        c.extCode = extCode;
        c.exists = exists;
        c.world.who = new address[](2);
        c.world.accounts = new Accounts.Account[](2);
        c.world.who[0] = SELF;
        c.world.accounts[0] = AccountWorld.account(1, 7, keccak256(f.code));
        c.world.who[1] = CALLER;
        c.world.accounts[1] = AccountWorld.account(3, 1 ether, Accounts.EMPTY_CODE_HASH);
        if (exists) {
            c.world = AccountWorld.withAccount(c.world, account, AccountWorld.account(1, 0, keccak256(extCode)));
        }
        c.warm = new bytes32[](0);
        c.warm = AccountWorld.plus(c.warm, Accounts.key(STRANGER));
        if (warm) c.warm = AccountWorld.plus(c.warm, Accounts.key(account));
        c.e.substate = AccountWorld.substateOf(c.warm);
        c.s = machine(f);
        c.s.stateRoot = AccountWorld.rootOf(c.world);
        c.s.evm = EvmTypes.hash(c.e);
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev The kind-7 witness of the first step, with the destination range `dest`.
    function witness7(Copy memory c, EvmTypes.WordRange memory dest) internal pure returns (bytes memory) {
        EvmStateVerifier.StateWitness memory w;
        w.warmSlots = MerkleTrie.EMPTY_ROOT;
        w.transientStorage = MerkleTrie.EMPTY_ROOT;
        w.warmAccounts = AccountWorld.warmRoot(c.warm);
        w.warmProof = AccountWorld.warmProof(c.warm, Accounts.key(c.account));
        w.accountProof = AccountWorld.proofOf(c.world, c.account);
        w.extCode = c.extCode;
        return abi.encode(uint8(7), abi.encode(c.e, c.code, c.top, c.rest, w, blockItem(), dest));
    }

    /// @dev The kind-2 witness of a continuation with `ranges`.
    function witness2(Copy memory c, EvmTypes.WordRange[] memory ranges) internal pure returns (bytes memory) {
        return abi.encode(uint8(2), abi.encode(c.e, c.code, c.top, c.rest, ranges));
    }

    /// @dev The destination range of chunk `k` against the current memory `c.mem` (grown: words past
    ///      it are zero in it).
    function destOf(Copy memory c, uint256 k) internal pure returns (EvmTypes.WordRange memory) {
        uint256 off = k * CHUNK;
        uint256 l = min(CHUNK, c.top[3] - off);
        uint256 d = c.top[1] + off;
        return RangeModel.range(c.mem, d / 32, (d + l - 1) / 32);
    }

    /// @dev The whole instruction's gas (revm 43: 100, 3 per word, memory expansion, + 2500 cold).
    function firstCost(Copy memory c, bool cold) internal pure returns (uint256 cost, uint256 words) {
        uint256 len = c.top[3];
        words = (c.top[1] + len + 31) / 32;
        cost = 100 + 3 * ((len + 31) / 32) + (cold ? 2500 : 0);
        uint256 old = c.mem.length / 32;
        if (words > old) cost += memoryCost(words) - memoryCost(old);
        else words = old;
    }

    /// @dev The first step of `c` (its pre-state, its witness, the expected post-state hash); `c`
    ///      becomes the post-state. `len > 0`, the instruction does not halt.
    function first(Copy memory c) internal pure returns (bytes memory pre, bytes memory proof, bytes32 expected) {
        pre = abi.encode(c.s);
        bool cold = !inWarm(c.warm, Accounts.key(c.account));
        (uint256 cost, uint256 words) = firstCost(c, cold);
        bytes memory mem = grown(c.mem, words * 32);
        c.mem = mem;
        proof = witness7(c, destOf(c, 0));
        uint256 len = c.top[3];
        uint256 l = min(CHUNK, len);
        bytes memory copied = ChunkModel.slice(c.exists ? c.extCode : bytes(""), min(c.top[2], MAX_U64), l);
        for (uint256 i; i < l; ++i) {
            mem[c.top[1] + i] = copied[i];
        }
        EvmTypes.EvmState memory e = c.e;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas -= uint64(cost);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(mem.length);
        e.memRoot = WordModel.root(mem);
        if (cold) c.warm = AccountWorld.plus(c.warm, Accounts.key(c.account));
        e.substate = AccountWorld.substateOf(c.warm);
        if (len > CHUNK) {
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32(P + (1 << 16));
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32(P + 1);
            e.stack = c.rest;
            e.stackSize -= 4;
        }
        c.s.evm = EvmTypes.hash(e);
        expected = MachineState.hash(c.s);
    }

    /// @dev The continuation `c` is at (chunk `k = pc >> 16`): zeros written over the chunk's
    ///      destination; `c` becomes the post-state.
    function next(Copy memory c) internal pure returns (bytes memory pre, bytes memory proof, bytes32 expected) {
        pre = abi.encode(c.s);
        uint256 k = c.e.pc >> 16;
        proof = witness2(c, ranges1(destOf(c, k)));
        uint256 off = k * CHUNK;
        uint256 l = min(CHUNK, c.top[3] - off);
        bytes memory mem = bytes.concat(c.mem);
        for (uint256 i; i < l; ++i) {
            mem[c.top[1] + off + i] = 0;
        }
        c.mem = mem;
        EvmTypes.EvmState memory e = c.e;
        e.memRoot = WordModel.root(mem);
        if (off + l >= c.top[3]) {
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32(P + 1);
            e.stack = c.rest;
            e.stackSize -= 4;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32(P + ((k + 1) << 16));
        }
        c.s.evm = EvmTypes.hash(e);
        expected = MachineState.hash(c.s);
    }

    function inWarm(bytes32[] memory keys, bytes32 key) internal pure returns (bool) {
        for (uint256 i; i < keys.length; ++i) {
            if (keys[i] == key) return true;
        }
        return false;
    }

    /// @dev Runs the whole copy, every step checked against the model; returns the steps taken.
    function run(Copy memory c) internal view returns (uint256 count) {
        (bytes memory pre, bytes memory proof, bytes32 expected) = first(c);
        assertEq(verifier.step(pre, proof), expected, "first step");
        count = 1;
        while (c.e.pc != P + 1) {
            assertEq(c.e.pc, P + (count << 16), "chunk pc");
            (pre, proof, expected) = next(c);
            assertEq(verifier.step(pre, proof), expected, "continuation");
            ++count;
        }
        assertEq(count, c.top[3] <= CHUNK ? 1 : (c.top[3] + CHUNK - 1) / CHUNK, "steps");
    }

    /// @dev `mem` grown to cover `dst + data.length` with `data` written at `dst` (revm's memory).
    function writtenAt(bytes memory mem, uint256 dst, bytes memory data) internal pure returns (bytes memory out) {
        out = grown(mem, (dst + data.length + 31) / 32 * 32);
        for (uint256 i; i < data.length; ++i) {
            out[dst + i] = data[i];
        }
    }

    function stepExternal(bytes memory pre, bytes memory proof) external view returns (bytes32) {
        return verifier.step(pre, proof);
    }

    function expectUnsupported() internal {
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    // ------------------------------------------------------------------------------------------
    // Honest copies

    /// @notice 32,836 bytes of a warm account's 100-byte code from 0 into memory at 5 (over 64
    ///         nonzero bytes): two steps, the memory revm holds (the code then zeros), the whole gas
    ///         at the first step only, the four items popped at the end.
    function test_twoChunksOfAShortCode() public {
        bytes memory extCode = pattern(100, 1);
        uint256 len = CHUNK + 100;
        bytes memory mem = pattern(64, 2);
        Copy memory c = start(OTHER, extCode, true, true, 5, 0, len, mem);
        uint64 gas0 = c.e.gas;
        bytes32 substate0 = c.e.substate;

        (bytes memory pre, bytes memory proof, bytes32 expected) = first(c);
        assertEq(verifier.step(pre, proof), expected, "first step");
        // The first step: pc + (1 << 16), the stack kept, the whole instruction's gas.
        assertEq(c.e.pc, P + (1 << 16));
        assertEq(c.e.stackSize, 6);
        uint256 words = (5 + len + 31) / 32;
        uint256 cost = 100 + 3 * ((len + 31) / 32) + memoryCost(words) - memoryCost(2);
        assertEq(c.e.gas, gas0 - cost);
        assertEq(c.e.memSize, words * 32);
        assertEq(c.e.substate, substate0, "warm: nothing inserted");

        (pre, proof, expected) = next(c);
        assertEq(verifier.step(pre, proof), expected, "continuation");
        assertEq(c.e.pc, P + 1);
        assertEq(c.e.stackSize, 2);
        assertEq(
            c.e.stack,
            keccak256(abi.encodePacked(uint256(0xBBBB), keccak256(abi.encodePacked(uint256(0xAAAA), bytes32(0)))))
        );
        assertEq(c.e.gas, gas0 - cost, "no gas after the first step");
        assertEq(c.e.memSize, words * 32);
        // revm's memory: the code, then zeros to the copy's end.
        bytes memory revm = writtenAt(mem, 5, bytes.concat(extCode, new bytes(len - 100)));
        assertEq(c.mem, revm);
        assertEq(c.e.memRoot, WordModel.root(revm));
    }

    /// @notice 3 chunks from 1000, past the 100-byte code's end (all zeros over nonzero memory, then
    ///         over new memory), of a
    ///         cold account: the first step inserts it into the warm accounts and pays 2600; the
    ///         continuations keep the substate.
    function test_threeChunksPastTheCodeColdAccount() public {
        bytes memory extCode = pattern(100, 3);
        uint256 len = 2 * CHUNK + 20_000;
        bytes memory mem = pattern(70_016, 4);
        Copy memory c = start(OTHER, extCode, true, false, 33, 1000, len, mem);
        uint64 gas0 = c.e.gas;
        bytes32 substate0 = c.e.substate;
        bytes32 warmAfter = AccountWorld.substateOf(
            AccountWorld.plus(AccountWorld.plus(new bytes32[](0), Accounts.key(STRANGER)), Accounts.key(OTHER))
        );
        assertTrue(warmAfter != substate0);

        (bytes memory pre, bytes memory proof, bytes32 expected) = first(c);
        assertEq(verifier.step(pre, proof), expected, "first step");
        assertEq(c.e.substate, warmAfter, "the account inserted");
        uint256 words = (33 + len + 31) / 32;
        uint256 cost = 100 + 3 * ((len + 31) / 32) + memoryCost(words) - memoryCost(70_016 / 32) + 2500;
        assertEq(c.e.gas, gas0 - cost);
        for (uint256 k = 1; k < 3; ++k) {
            (pre, proof, expected) = next(c);
            assertEq(verifier.step(pre, proof), expected, "continuation");
            assertEq(c.e.substate, warmAfter, "substate kept");
            assertEq(c.e.gas, gas0 - cost, "no gas");
        }
        assertEq(c.e.pc, P + 1);
        assertEq(c.e.stackSize, 2);
        assertEq(c.mem, writtenAt(grown(mem, 70_016), 33, new bytes(len)));
    }

    /// @notice The same copy from src 2^64 + 5 (saturated to 2^64 - 1) and from an absent account:
    ///         all zeros too.
    function test_threeChunksSaturatedSourceAndAbsentAccount() public {
        bytes memory extCode = pattern(100, 3);
        uint256 len = 2 * CHUNK + 20_000;
        bytes memory mem = pattern(70_016, 4);
        Copy memory c = start(OTHER, extCode, true, false, 33, (1 << 64) + 5, len, mem);
        assertEq(run(c), 3);
        assertEq(c.mem, writtenAt(grown(mem, 70_016), 33, new bytes(len)));
        c = start(address(0xAB5E17), "", false, false, 33, 0, len, mem);
        assertEq(run(c), 3);
        assertEq(c.mem, writtenAt(grown(mem, 70_016), 33, new bytes(len)));
    }

    /// @notice `CHUNK_BYTES` bytes are one step (pc + 1, popped, as before chunking); one byte more,
    ///         two steps. A code of exactly `CHUNK_BYTES` bytes may be chunked.
    function test_chunkBoundary() public {
        bytes memory extCode = pattern(300, 5);
        bytes memory mem = pattern(96, 6);
        Copy memory c = start(OTHER, extCode, true, true, 7, 3, CHUNK, mem);
        assertEq(run(c), 1);
        assertEq(c.mem, writtenAt(mem, 7, ChunkModel.slice(extCode, 3, CHUNK)));
        c = start(OTHER, extCode, true, true, 7, 3, CHUNK + 1, mem);
        assertEq(run(c), 2);
        assertEq(c.mem, writtenAt(mem, 7, ChunkModel.slice(extCode, 3, CHUNK + 1)));

        extCode = pattern(CHUNK, 7);
        c = start(OTHER, extCode, true, false, 0, 0, CHUNK + 1, "");
        assertEq(run(c), 2);
        assertEq(c.mem, writtenAt("", 0, bytes.concat(extCode, hex"00")));
    }

    /// @notice A code longer than `CHUNK_BYTES` (only a genesis holds one): copied in one step when
    ///         `len <= CHUNK_BYTES`; with a longer `len` the step is a rest-of-transaction step.
    function test_longCode() public {
        bytes memory extCode = pattern(CHUNK + 1, 8);
        Copy memory c = start(OTHER, extCode, true, false, 31, 1, CHUNK, "");
        assertEq(run(c), 1);
        assertEq(c.mem, writtenAt("", 31, ChunkModel.slice(extCode, 1, CHUNK)));

        c = start(OTHER, extCode, true, false, 31, 1, CHUNK + 1, "");
        (bytes memory pre, bytes memory proof,) = first(c);
        expectUnsupported();
        this.stepExternal(pre, proof);
        // Even from past the code's end (its chunks would be zeros).
        c = start(OTHER, extCode, true, true, 0, CHUNK + 5, 3 * CHUNK, "");
        (pre, proof,) = first(c);
        expectUnsupported();
        this.stepExternal(pre, proof);
    }

    // ------------------------------------------------------------------------------------------
    // Wrong steps

    /// @dev The frame of chunk 1 of a 2-chunk copy (`len = CHUNK + 64` at 64 from 0, a 100-byte
    ///      code, over nonzero memory) and the witness of its honest continuation.
    function midCopy() internal pure returns (Copy memory c, bytes memory pre, bytes memory proof) {
        c = start(OTHER, pattern(100, 9), true, true, 64, 0, CHUNK + 64, pattern(CHUNK + 128, 10));
        first(c);
        Copy memory d = abi.decode(abi.encode(c), (Copy));
        (pre, proof,) = next(d);
    }

    /// @notice A continuation's one range is the destination's: a source range added (before or
    ///         after), a changed word, no range, another span are refused.
    function test_continuationRanges() public {
        (Copy memory c, bytes memory pre, bytes memory proof) = midCopy();
        assertTrue(this.stepExternal(pre, proof) != bytes32(0));
        EvmTypes.WordRange memory dest = destOf(c, 1);
        uint256 at = CHUNK / 32 + 2;
        assertEq(dest.first, at);
        assertEq(dest.words.length, 2);
        // A source range, as a memory-to-memory copy's chunk 1 would open (src + CHUNK), after or
        // before the destination's; the destination's twice.
        EvmTypes.WordRange memory src = RangeModel.range(c.mem, CHUNK / 32, CHUNK / 32 + 1);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges2(dest, src)));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges2(src, dest)));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges2(dest, dest)));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, noRanges()));

        EvmTypes.WordRange memory bad = abi.decode(abi.encode(dest), (EvmTypes.WordRange));
        bad.words[1] ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, witness2(c, ranges1(bad)));
        // Words of another memory.
        bad = RangeModel.range(pattern(CHUNK + 128, 11), at, at + 1);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        this.stepExternal(pre, witness2(c, ranges1(bad)));
        // Another span: the whole copy, one word more, one word shifted.
        bad = RangeModel.range(c.mem, 2, at + 1);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges1(bad)));
        bad = RangeModel.range(c.mem, at, at + 2);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges1(bad)));
        bad = RangeModel.range(c.mem, at + 1, at + 2);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, witness2(c, ranges1(bad)));
    }

    /// @dev `c` with its frame changed by the caller: the pre-state and the witness over the range of
    ///      chunk `k` of `len` (the honest destination's span).
    function reframed(Copy memory c) internal pure returns (bytes memory pre, bytes memory proof) {
        c.e.stack = keccak256(
            abi.encodePacked(
                c.top[0],
                keccak256(
                    abi.encodePacked(
                        c.top[1], keccak256(abi.encodePacked(c.top[2], keccak256(abi.encodePacked(c.top[3], c.rest))))
                    )
                )
            )
        );
        c.s.evm = EvmTypes.hash(c.e);
        pre = abi.encode(c.s);
        uint256 k = c.e.pc >> 16;
        uint256 len = c.top[3];
        uint256 off = k * CHUNK;
        uint256 l = off < len ? min(CHUNK, len - off) : 32;
        uint256 d = c.top[1] + off;
        proof = witness2(c, ranges1(RangeModel.range(c.mem, d / 32, (d + l - 1) / 32)));
    }

    /// @notice Continuations no trace has: a chunk past the last, `len <= CHUNK_BYTES` at a chunk pc,
    ///         EXTCODECOPY at k = 0 under kind 2, a continuation
    ///         under kind 7.
    function test_wrongContinuations() public {
        (Copy memory c,,) = midCopy();
        // k = n = 2 (past the last chunk).
        Copy memory y = abi.decode(abi.encode(c), (Copy));
        // forge-lint: disable-next-line(unsafe-typecast)
        y.e.pc = uint32(P + (2 << 16));
        (bytes memory pre, bytes memory proof) = reframed(y);
        expectUnsupported();
        this.stepExternal(pre, proof);
        // len = CHUNK_BYTES, and 100, at chunk 1.
        uint256[2] memory lens = [CHUNK, 100];
        for (uint256 i; i < 2; ++i) {
            y = abi.decode(abi.encode(c), (Copy));
            y.top[3] = lens[i];
            (pre, proof) = reframed(y);
            expectUnsupported();
            this.stepExternal(pre, proof);
        }
        // The honest frame re-encoded the same way is proven (the refusals above are theirs).
        y = abi.decode(abi.encode(c), (Copy));
        (pre, proof) = reframed(y);
        assertTrue(this.stepExternal(pre, proof) != bytes32(0));
        // EXTCODECOPY at k = 0 under kind 2: kind 7's.
        Copy memory f = start(OTHER, pattern(100, 9), true, true, 0, 0, CHUNK + 64, "");
        expectUnsupported();
        this.stepExternal(abi.encode(f.s), witness2(f, ranges1(destOf(f, 0))));
        f = start(OTHER, pattern(100, 9), true, true, 0, 0, 64, "");
        expectUnsupported();
        this.stepExternal(abi.encode(f.s), witness2(f, ranges1(destOf(f, 0))));
        // A continuation under kind 7 (the state verifier takes no chunk pc).
        y = abi.decode(abi.encode(c), (Copy));
        expectUnsupported();
        this.stepExternal(abi.encode(y.s), witness7(y, destOf(y, 1)));
    }

    /// @notice A continuation's four items: a stack of three (its items cannot be opened: no trace
    ///         has it), three items opened as a three-item copy's.
    function test_continuationStack() public {
        (Copy memory c,,) = midCopy();
        // Three items on the stack: the four given are refused as any wrong opening, none given is a
        // continuation whose items cannot be opened.
        Copy memory y = abi.decode(abi.encode(c), (Copy));
        y.e.stackSize = 3;
        y.s.evm = EvmTypes.hash(y.e);
        EvmTypes.WordRange memory dest = destOf(y, 1);
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(abi.encode(y.s), witness2(y, ranges1(dest)));
        y.top = new uint256[](0);
        expectUnsupported();
        this.stepExternal(abi.encode(y.s), witness2(y, ranges1(dest)));
        // Three items opened (as a three-item copy's continuation).
        y = abi.decode(abi.encode(c), (Copy));
        uint256[] memory items = new uint256[](3);
        (items[0], items[1], items[2]) = (y.top[0], y.top[1], y.top[2]);
        bytes32 rest = keccak256(abi.encodePacked(y.top[3], y.rest));
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        this.stepExternal(
            abi.encode(y.s), abi.encode(uint8(2), abi.encode(y.e, y.code, items, rest, ranges1(destOf(y, 1))))
        );
    }

    /// @notice The first step's post-state is exactly the model's: the claims of a step that popped
    ///         the items, moved to `p + 1`, kept the old `pc`, or charged only chunk 0's gas differ.
    function test_firstStepClaims() public {
        Copy memory c = start(OTHER, pattern(100, 12), true, false, 0, 0, CHUNK + 64, "");
        Copy memory before = abi.decode(abi.encode(c), (Copy));
        (bytes memory pre, bytes memory proof, bytes32 expected) = first(c);
        bytes32 post = verifier.step(pre, proof);
        assertEq(post, expected);
        EvmTypes.EvmState memory claim;
        // Popped, pc + 1 (a one-step copy's end).
        claim = abi.decode(abi.encode(c.e), (EvmTypes.EvmState));
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.pc = uint32(P + 1);
        claim.stack = c.rest;
        claim.stackSize -= 4;
        assertTrue(post != claimed(c, claim));
        // Popped at pc + (1 << 16).
        claim = abi.decode(abi.encode(c.e), (EvmTypes.EvmState));
        claim.stack = c.rest;
        claim.stackSize -= 4;
        assertTrue(post != claimed(c, claim));
        // Kept at pc + 1, and at pc + (2 << 16).
        claim = abi.decode(abi.encode(c.e), (EvmTypes.EvmState));
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.pc = uint32(P + 1);
        assertTrue(post != claimed(c, claim));
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.pc = uint32(P + (2 << 16));
        assertTrue(post != claimed(c, claim));
        // Chunk 0's gas and memory only.
        claim = abi.decode(abi.encode(c.e), (EvmTypes.EvmState));
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.gas = before.e.gas - uint64(100 + 3 * (CHUNK / 32) + memoryCost(CHUNK / 32) + 2500);
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.memSize = uint32(CHUNK);
        assertTrue(post != claimed(c, claim));
        // Not inserted into the warm accounts.
        claim = abi.decode(abi.encode(c.e), (EvmTypes.EvmState));
        claim.substate = before.e.substate;
        assertTrue(post != claimed(c, claim));

        // The first step's destination range must be chunk 0's, not the whole copy's.
        proof = witness7(before, RangeModel.range(new bytes(CHUNK + 64), 0, (CHUNK + 63) / 32));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
        proof = witness7(before, RangeModel.range(new bytes(CHUNK + 64), 0, CHUNK / 32));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        this.stepExternal(pre, proof);
    }

    function claimed(Copy memory c, EvmTypes.EvmState memory e) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(c.s);
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }
}
