// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCallVerifier} from "../../src/fault/evm/EvmCallVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";
import {EvmWitnessTest} from "./EvmWitnessTest.sol";
import {OneStepVerifier} from "../../src/fault/OneStepVerifier.sol";
import {VerifierTree} from "../../script/VerifierTree.sol";

/// @notice Calls to an EIP-7702 delegated callee (kind 4, `EvmCallVerifier`; docs/evm-steps.md
///         section 9, "Delegations", and revm 43's `load_account_delegated`): the callee's code is a
///         designator (`0xef0100 ‖ delegate`, exactly 23 bytes), so the call pays 100 and the
///         delegate's EIP-2929 access (2500 when cold, the delegate's key then inserted into
///         `warmAccounts`) and runs the delegate's code (its code hash read against the state root
///         before the value moves) in the callee's frame. Every expected post-state is built here
///         from scratch on a hand-built state trie (`AccountWorld`): the warm accounts after both
///         accesses, the gas by hand, the new frame and its `CallerFrame`.
contract EvmDelegatedCallStepsTest is EvmStepHelpers {
    uint256 internal constant MAX = type(uint256).max;
    uint256 internal constant FILLER = 0x1111;
    uint256 internal constant SELF_BALANCE = 1000;
    uint64 internal constant CALL_REFUND = 2400;

    uint8 internal constant CALL = 0xf1;
    uint8 internal constant CALLCODE = 0xf2;
    uint8 internal constant DELEGATECALL = 0xf4;
    uint8 internal constant STATICCALL = 0xfa;

    /// @dev The delegated EOA (the callee), a delegate with code, an EOA without code, an absent
    ///      account, and a delegate whose own code is a designator.
    address internal constant AUTH = address(0xA17);
    address internal constant DELEGATE = address(0xDE1E6A7E);
    address internal constant PLAIN = address(0xE0A);
    address internal constant ABSENT = address(0xAB5E47);
    address internal constant NESTED = address(0x2E57ED);
    bytes internal constant DELEGATE_CODE = hex"600160005260206000f3";

    /// @dev One call of `AUTH` whose code is `calleeCode` (a designator of `delegate` by default).
    struct DelegatedCase {
        uint8 op;
        address delegate;
        bytes calleeCode;
        uint256 value;
        uint256 gasItem;
        uint256 inOffset;
        uint256 inLen;
        uint256 outOffset;
        uint256 outLen;
        uint16 depth;
        uint256 gas;
        bool calleeWarm;
        bool delegateWarm;
        uint256 callerValue;
        bool isStatic;
    }

    /// @dev A call step's pre-state, world and honest witness.
    struct Step {
        Frame caller;
        EvmTypes.EvmState e;
        AccountWorld.World world;
        bytes32[] warmBefore;
        EvmCallVerifier.CallWitness w;
        MachineState.State pre;
    }

    // ------------------------------------------------------------------------------------------
    // Builders

    function designator(address to) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"ef0100", to);
    }

    function callCase(uint8 opc, address delegate) internal pure returns (DelegatedCase memory c) {
        c.op = opc;
        c.delegate = delegate;
        c.calleeCode = designator(delegate);
        c.value = opc == CALL || opc == CALLCODE ? 300 : 0;
        c.gasItem = MAX;
        c.inOffset = 5;
        c.inLen = 40;
        c.outOffset = 80;
        c.outLen = 48;
        c.gas = 100_000;
    }

    function hasValueItem(DelegatedCase memory c) internal pure returns (bool) {
        return c.op == CALL || c.op == CALLCODE;
    }

    /// @dev The state: the frame's account, the sender, the delegated callee (its code `calleeCode`),
    ///      a delegate with code, an EOA, and a delegate whose code is a designator of `DELEGATE`.
    function worldOf(DelegatedCase memory c) internal pure returns (AccountWorld.World memory w) {
        w = AccountWorld.withAccount(w, SELF, AccountWorld.account(1, SELF_BALANCE, keccak256(op(CALL))));
        w = AccountWorld.withAccount(w, CALLER, AccountWorld.account(5, 1 ether, Accounts.EMPTY_CODE_HASH));
        w = AccountWorld.withAccount(w, AUTH, AccountWorld.account(1, 5, keccak256(c.calleeCode)));
        w = AccountWorld.withAccount(w, DELEGATE, AccountWorld.account(1, 0, keccak256(DELEGATE_CODE)));
        w = AccountWorld.withAccount(w, PLAIN, AccountWorld.account(1, 3, Accounts.EMPTY_CODE_HASH));
        w = AccountWorld.withAccount(w, NESTED, AccountWorld.account(1, 0, keccak256(designator(DELEGATE))));
    }

    function isDesignator(bytes memory code) internal pure returns (bool) {
        return code.length == 23 && code[0] == 0xef && code[1] == 0x01 && code[2] == 0x00;
    }

    /// @dev Warm from the transaction's start (never in `warmAccounts`): the sender, the frame's own
    ///      account, the beneficiary, the precompiles.
    function warmFromStart(address a) internal pure returns (bool) {
        return a == CALLER || a == SELF || a == BENEFICIARY || (uint160(a) >= 1 && uint160(a) <= 0x11);
    }

    function contains(bytes32[] memory keys, bytes32 key) internal pure returns (bool) {
        for (uint256 i; i < keys.length; ++i) {
            if (keys[i] == key) return true;
        }
        return false;
    }

    /// @dev The warm accounts after the callee's access (`AUTH` is never warm from the start).
    function warmAfterCallee(DelegatedCase memory, Step memory s) internal pure returns (bytes32[] memory) {
        return AccountWorld.plus(s.warmBefore, Accounts.key(AUTH));
    }

    function delegateCold(DelegatedCase memory c, Step memory s) internal pure returns (bool) {
        return isDesignator(c.calleeCode) && !warmFromStart(c.delegate)
            && !contains(warmAfterCallee(c, s), Accounts.key(c.delegate));
    }

    /// @dev The warm accounts after the callee's and the delegate's accesses.
    function warmAfter(DelegatedCase memory c, Step memory s) internal pure returns (bytes32[] memory) {
        bytes32[] memory w = warmAfterCallee(c, s);
        return delegateCold(c, s) ? AccountWorld.plus(w, Accounts.key(c.delegate)) : w;
    }

    /// @dev The code hash the call runs: the delegate's for a designator, else the callee's code's.
    function runHash(DelegatedCase memory c, Step memory s) internal pure returns (bytes32) {
        if (!isDesignator(c.calleeCode)) return keccak256(c.calleeCode);
        return AccountWorld.accountOf(s.world, c.delegate).codeHash;
    }

    function credited(AccountWorld.World memory w, address to, uint256 value)
        internal
        pure
        returns (AccountWorld.World memory)
    {
        Accounts.Account memory a = AccountWorld.accountOf(w, to);
        a.balance += value;
        return AccountWorld.withAccount(w, to, a);
    }

    function moved(AccountWorld.World memory w, address to, uint256 value)
        internal
        pure
        returns (AccountWorld.World memory out)
    {
        out = credited(w, to, value);
        Accounts.Account memory a = AccountWorld.accountOf(out, SELF);
        a.balance -= value;
        out = AccountWorld.withAccount(out, SELF, a);
    }

    /// @dev The pre-state and honest witness of `c` (`frameStarts`: the argument range is opened).
    function build(DelegatedCase memory c, bool frameStarts) internal pure returns (Step memory s) {
        s.world = worldOf(c);
        s.caller = frame(op(c.op), none());
        s.caller.mem = pattern(96, 6);
        s.caller.gas = c.gas;
        s.caller.value = c.callerValue;
        uint256[] memory items = new uint256[](hasValueItem(c) ? 8 : 7);
        uint256 k;
        items[k++] = FILLER;
        items[k++] = c.outLen;
        items[k++] = c.outOffset;
        items[k++] = c.inLen;
        items[k++] = c.inOffset;
        if (hasValueItem(c)) items[k++] = c.value;
        items[k++] = uint160(AUTH);
        items[k] = c.gasItem;
        s.caller.stack = items;
        s.e = state(s.caller);
        s.e.depth = c.depth;
        s.e.isStatic = c.isStatic;
        if (c.depth != 0) s.e.parent = keccak256("caller's parent");
        s.warmBefore = new bytes32[](0);
        if (c.calleeWarm) s.warmBefore = AccountWorld.plus(s.warmBefore, Accounts.key(AUTH));
        if (c.delegateWarm) s.warmBefore = AccountWorld.plus(s.warmBefore, Accounts.key(c.delegate));
        s.e.substate = AccountWorld.substateOf(s.warmBefore);
        s.w.warmSlots = MerkleTrie.EMPTY_ROOT;
        s.w.transientStorage = MerkleTrie.EMPTY_ROOT;
        s.w.warmAccounts = AccountWorld.warmRoot(s.warmBefore);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(AUTH));
        s.w.calleeProof = AccountWorld.proofOf(s.world, AUTH);
        if (c.value != 0) {
            s.w.selfProof = AccountWorld.proofOf(c.op == CALL ? credited(s.world, AUTH, c.value) : s.world, SELF);
        }
        s.w.frameWarmProof = AccountWorld.warmProof(warmAfter(c, s), Accounts.key(SELF));
        s.w.calleeCode = c.calleeCode;
        if (frameStarts && c.inLen != 0) {
            s.w.args = RangeModel.range(s.caller.mem, c.inOffset / 32, (c.inOffset + c.inLen - 1) / 32);
        }
        if (isDesignator(c.calleeCode)) {
            s.w.delegateWarmProof = AccountWorld.warmProof(warmAfterCallee(c, s), Accounts.key(c.delegate));
            s.w.delegateProof = AccountWorld.proofOf(s.world, c.delegate);
        }
        s.pre = machine(s.caller);
        s.pre.stateRoot = AccountWorld.rootOf(s.world);
        s.pre.refund = CALL_REFUND;
        s.pre.evm = EvmTypes.hash(s.e);
    }

    function encoded(DelegatedCase memory c, Step memory s) internal pure returns (bytes memory) {
        (uint256[] memory top, bytes32 rest) = opening(s.caller, hasValueItem(c) ? 7 : 6);
        return abi.encode(uint8(4), abi.encode(s.e, s.caller.code, top, rest, s.w, blockItem()));
    }

    function prove(DelegatedCase memory c, Step memory s) internal view returns (bytes32) {
        return verifier.step(abi.encode(s.pre), encoded(c, s));
    }

    /// @dev The call's cost before the forwarded gas (section 4, then "Delegations"), the memory
    ///      size after it.
    function callCost(DelegatedCase memory c, Step memory s) internal pure returns (uint256 cost, uint256 memSize) {
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
        if (!c.calleeWarm) cost += 2500;
        if (isDesignator(c.calleeCode)) cost += 100;
        if (delegateCold(c, s)) cost += 2500;
    }

    function forwardedGas(DelegatedCase memory c, uint256 cost) internal pure returns (uint256) {
        uint256 left = c.gas - cost;
        uint256 all = left - left / 64;
        uint256 g = c.gasItem > type(uint64).max ? type(uint64).max : c.gasItem;
        return g < all ? g : all;
    }

    function slice(bytes memory data, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = data[start + i];
        }
    }

    /// @dev The post-state of a call that starts a frame running `codeHash`, with the state root
    ///      `stateRoot` after the value moved, the warm accounts `warm` after both accesses and the
    ///      cost `cost` before the forwarded gas (docs/evm-steps.md section 9).
    function started(
        DelegatedCase memory c,
        Step memory s,
        bytes32 stateRoot,
        bytes32[] memory warm,
        uint256 cost,
        bytes32 codeHash
    ) internal pure returns (bytes32) {
        uint256 memSize;
        (, memSize) = callCost(c, s);
        uint256 f = forwardedGas(c, cost);
        Frame memory r = copy(s.caller);
        r.stack = one(FILLER);
        r.pc = 1;
        r.gas -= cost + f;
        r.mem = grown(r.mem, memSize);
        EvmTypes.EvmState memory resumed = state(r);
        resumed.depth = s.e.depth;
        resumed.parent = s.e.parent;
        resumed.isStatic = c.isStatic;
        resumed.substate = AccountWorld.substateOf(warm);
        EvmTypes.CallerFrame memory saved = EvmTypes.CallerFrame(
            EvmTypes.hash(resumed),
            // forge-lint: disable-next-line(unsafe-typecast)
            c.outLen == 0 ? 0 : uint32(c.outOffset),
            // forge-lint: disable-next-line(unsafe-typecast)
            uint32(c.outLen),
            s.pre.stateRoot,
            AccountWorld.substateOf(warm),
            CALL_REFUND,
            address(0)
        );
        EvmTypes.EvmState memory n = newFrame(c, s, warm, f, codeHash);
        n.parent = keccak256(abi.encode(saved));
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = stateRoot;
        m.evm = EvmTypes.hash(n);
        return MachineState.hash(m);
    }

    /// @dev The callee's frame at its start (but its parent), running `codeHash` with `f` forwarded.
    function newFrame(DelegatedCase memory c, Step memory s, bytes32[] memory warm, uint256 f, bytes32 codeHash)
        internal
        pure
        returns (EvmTypes.EvmState memory n)
    {
        n.txHash = TX_HASH;
        n.txStartRoot = START_ROOT;
        n.substate = AccountWorld.substateOf(c.depth == 0 ? AccountWorld.plus(warm, Accounts.key(SELF)) : warm);
        n.depth = c.depth + 1;
        n.self = c.op == CALL || c.op == STATICCALL ? AUTH : SELF;
        n.caller = c.op == DELEGATECALL ? CALLER : SELF;
        n.value = c.op == DELEGATECALL ? c.callerValue : c.value;
        n.isStatic = c.isStatic || c.op == STATICCALL;
        n.codeHash = codeHash;
        bytes memory args =
            c.inLen == 0 ? bytes("") : slice(grown(s.caller.mem, c.inOffset + c.inLen), c.inOffset, c.inLen);
        n.calldataRoot = WordModel.root(args);
        // forge-lint: disable-next-line(unsafe-typecast)
        n.calldataSize = uint32(c.inLen);
        n.returnDataRoot = WordTree.EMPTY_ROOT;
        n.memRoot = WordTree.EMPTY_ROOT;
        // forge-lint: disable-next-line(unsafe-typecast)
        n.gas = uint64(f + (c.value != 0 ? 2300 : 0));
    }

    /// @dev `started` with everything as the spec says.
    function frameStarted(DelegatedCase memory c, Step memory s, bytes32 stateRoot) internal pure returns (bytes32) {
        (uint256 cost,) = callCost(c, s);
        return started(c, s, stateRoot, warmAfter(c, s), cost, runHash(c, s));
    }

    /// @dev The caller after a call that starts no frame (pushes `ok`; the forwarded gas and the
    ///      stipend back), with the state root `stateRoot` and the warm accounts `warm`.
    function noFrameWith(DelegatedCase memory c, Step memory s, bool ok, bytes32 stateRoot, bytes32[] memory warm)
        internal
        pure
        returns (bytes32)
    {
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
        e.substate = AccountWorld.substateOf(warm);
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = stateRoot;
        m.evm = EvmTypes.hash(e);
        return MachineState.hash(m);
    }

    function noFrame(DelegatedCase memory c, Step memory s, bool ok, bytes32 stateRoot)
        internal
        pure
        returns (bytes32)
    {
        return noFrameWith(c, s, ok, stateRoot, warmAfter(c, s));
    }

    /// @dev An exceptional halt: at depth 0 the transaction ends, deeper the frame returns.
    function haltedCall(Step memory s) internal pure returns (bytes32) {
        MachineState.State memory m = copyState(s.pre);
        if (s.e.depth == 0) {
            m.phase = MachineState.TX_EXECUTED;
            m.evm = 0;
            m.stateRoot = START_ROOT;
            m.gasLeft = 0;
            m.refund = 0;
            m.success = false;
        } else {
            EvmTypes.FrameEnd memory end;
            end.parent = s.e.parent;
            end.outcome = 3;
            m.evm = keccak256(abi.encode(end));
        }
        return MachineState.hash(m);
    }

    function isTrieError(bytes memory reason) internal pure returns (bool) {
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 sel = bytes4(reason);
        return sel == MerkleTrie.InvalidProofNodeHash.selector || sel == MerkleTrie.ProofTooShort.selector
            || sel == MerkleTrie.ProofTooLong.selector || sel == MerkleTrie.UnexpectedNode.selector
            || sel == MerkleTrie.MissingSibling.selector;
    }

    function assertTrieRejects(DelegatedCase memory c, Step memory s, string memory what) internal view {
        try verifier.step(abi.encode(s.pre), encoded(c, s)) returns (bytes32) {
            assertTrue(false, string.concat(what, " is accepted"));
        } catch (bytes memory reason) {
            assertTrue(isTrieError(reason), string.concat(what, " reverts with another error"));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Frames running the delegate's code

    /// @notice A CALL with a value to a delegated EOA whose delegate has code, both cold, at depth
    ///         0: 100 + 3 (memory 3 -> 4 words) + 9000 + 2500 (callee) + 100 + 2500 (delegate); the
    ///         delegate's key enters warmAccounts (with the callee's, before the snapshot); the frame
    ///         runs the delegate's code hash as the callee (`self`), which gets the value.
    function test_callToDelegatedEoaRunsTheDelegate() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        Step memory s = build(c, true);
        (uint256 cost,) = callCost(c, s);
        assertEq(cost, 14_203);
        bytes32[] memory warm = warmAfter(c, s);
        assertEq(warm.length, 2);
        assertEq(warm[1], Accounts.key(DELEGATE));
        bytes32 root = AccountWorld.rootOf(moved(s.world, AUTH, 300));
        // The value goes to the callee, not the delegate.
        assertEq(AccountWorld.accountOf(moved(s.world, AUTH, 300), AUTH).balance, 305);
        assertEq(AccountWorld.accountOf(moved(s.world, AUTH, 300), DELEGATE).balance, 0);
        bytes32 post = prove(c, s);
        assertEq(post, frameStarted(c, s, root));
        // By hand: the frame's code hash is the delegate's, its account the callee.
        assertEq(post, started(c, s, root, warm, 14_203, keccak256(DELEGATE_CODE)));
        // Without a value: nothing moves, no 9000, no stipend.
        c.value = 0;
        s = build(c, true);
        assertEq(prove(c, s), started(c, s, s.pre.stateRoot, warm, 5203, keccak256(DELEGATE_CODE)));
        // At depth 1 the recipient does not enter warmAccounts.
        c.depth = 1;
        s = build(c, true);
        assertEq(prove(c, s), frameStarted(c, s, s.pre.stateRoot));
    }

    /// @notice A warm delegate pays no 2500 and is not inserted again: already in warmAccounts, the
    ///         transaction's sender, the frame's own account, the beneficiary. A warm callee too.
    function test_warmDelegates() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        c.delegateWarm = true;
        Step memory s = build(c, true);
        (uint256 cost,) = callCost(c, s);
        assertEq(cost, 14_203 - 2500);
        assertEq(warmAfter(c, s).length, 2);
        assertEq(prove(c, s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
        // Warm callee and warm delegate: 100 + 3 + 9000 + 100.
        c.calleeWarm = true;
        s = build(c, true);
        (cost,) = callCost(c, s);
        assertEq(cost, 9203);
        assertEq(prove(c, s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
        // Delegates warm from the start: the sender (an EOA: no code, no frame), the frame's own
        // account (code: a frame), the beneficiary (absent: no frame).
        address[3] memory starts = [CALLER, SELF, BENEFICIARY];
        for (uint256 i; i < 3; ++i) {
            c = callCase(CALL, starts[i]);
            c.value = 0;
            s = build(c, starts[i] == SELF);
            (cost,) = callCost(c, s);
            assertEq(cost, 100 + 3 + 2500 + 100);
            assertEq(warmAfter(c, s).length, 1);
            if (starts[i] == SELF) {
                assertEq(prove(c, s), frameStarted(c, s, s.pre.stateRoot));
            } else {
                assertEq(prove(c, s), noFrame(c, s, true, s.pre.stateRoot));
            }
        }
    }

    /// @notice DELEGATECALL, CALLCODE and STATICCALL to a delegated callee: the delegate's code runs
    ///         with each kind's `self`, `caller`, `value` and static flag; the delegate's access is
    ///         paid alike.
    function test_otherCallKindsToADelegatedCallee() public view {
        uint8[3] memory ops = [DELEGATECALL, CALLCODE, STATICCALL];
        for (uint256 i; i < 3; ++i) {
            DelegatedCase memory c = callCase(ops[i], DELEGATE);
            c.callerValue = 77;
            Step memory s = build(c, true);
            (uint256 cost,) = callCost(c, s);
            assertEq(cost, ops[i] == CALLCODE ? 14_203 : 5203);
            bytes32 post = prove(c, s);
            assertEq(post, frameStarted(c, s, s.pre.stateRoot));
            assertEq(post, started(c, s, s.pre.stateRoot, warmAfter(c, s), cost, keccak256(DELEGATE_CODE)));
            c.depth = 3;
            s = build(c, true);
            assertEq(prove(c, s), frameStarted(c, s, s.pre.stateRoot));
        }
        // From a static frame.
        DelegatedCase memory d = callCase(STATICCALL, DELEGATE);
        d.isStatic = true;
        Step memory t = build(d, true);
        assertEq(prove(d, t), frameStarted(d, t, t.pre.stateRoot));
    }

    /// @notice A delegate whose own code is a designator starts a frame with that 23-byte code
    ///         (its first instruction, 0xEF, halts in the next step); the designator is not followed
    ///         twice.
    function test_delegateWithADesignatorStartsAFrame() public view {
        DelegatedCase memory c = callCase(CALL, NESTED);
        Step memory s = build(c, true);
        (uint256 cost,) = callCost(c, s);
        assertEq(cost, 14_203);
        assertEq(
            prove(c, s),
            started(
                c,
                s,
                AccountWorld.rootOf(moved(s.world, AUTH, 300)),
                warmAfter(c, s),
                cost,
                keccak256(designator(DELEGATE))
            )
        );
    }

    /// @notice A delegated callee delegating to itself: its key is already warm (its own access),
    ///         and its code is the designator, which its frame runs.
    function test_selfDelegation() public view {
        DelegatedCase memory c = callCase(CALL, AUTH);
        Step memory s = build(c, true);
        (uint256 cost,) = callCost(c, s);
        assertEq(cost, 100 + 3 + 9000 + 2500 + 100);
        assertEq(prove(c, s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
    }

    // ------------------------------------------------------------------------------------------
    // Delegates without code

    /// @notice A delegate without code (absent, or an EOA) runs no code: the call succeeds as a call
    ///         without a frame (push 1, the forwarded gas and the stipend back, the value moved to
    ///         the callee), the delegate's access paid and its key inserted.
    function test_delegateWithoutCodeStartsNoFrame() public view {
        address[2] memory empties = [ABSENT, PLAIN];
        for (uint256 i; i < 2; ++i) {
            DelegatedCase memory c = callCase(CALL, empties[i]);
            Step memory s = build(c, false);
            (uint256 cost,) = callCost(c, s);
            assertEq(cost, 14_203);
            bytes32 root = AccountWorld.rootOf(moved(s.world, AUTH, 300));
            assertEq(prove(c, s), noFrame(c, s, true, root));
            // By hand: 14,203 - 2300, the delegate inserted.
            assertEq(
                prove(c, s),
                noFrameWith(
                    c,
                    s,
                    true,
                    root,
                    AccountWorld.plus(AccountWorld.plus(s.warmBefore, Accounts.key(AUTH)), Accounts.key(empties[i]))
                )
            );
            // Without a value.
            c.value = 0;
            s = build(c, false);
            assertEq(prove(c, s), noFrame(c, s, true, s.pre.stateRoot));
            c.op = STATICCALL;
            s = build(c, false);
            assertEq(prove(c, s), noFrame(c, s, true, s.pre.stateRoot));
        }
    }

    /// @notice A delegate at a precompile's address: warm (no 2500, not inserted) and no code, so
    ///         no frame (the precompile does not run: the call's bytecode address is the callee).
    function test_delegateIsAPrecompile() public view {
        address[2] memory ids = [address(4), address(0x11)];
        for (uint256 i; i < 2; ++i) {
            DelegatedCase memory c = callCase(CALL, ids[i]);
            Step memory s = build(c, false);
            (uint256 cost,) = callCost(c, s);
            assertEq(cost, 100 + 3 + 9000 + 2500 + 100);
            assertEq(warmAfter(c, s).length, 1);
            assertEq(prove(c, s), noFrame(c, s, true, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
        }
    }

    /// @notice At depth 1024 (or with a value above the balance) the call fails after the delegate's
    ///         access is paid: push 0, the forwarded gas back, the delegate warm, nothing moves.
    function test_failedDelegatedCallKeepsTheAccess() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        c.depth = 1024;
        Step memory s = build(c, false);
        assertEq(prove(c, s), noFrame(c, s, false, s.pre.stateRoot));
        c.depth = 0;
        c.value = SELF_BALANCE + 1;
        s = build(c, false);
        assertEq(prove(c, s), noFrame(c, s, false, s.pre.stateRoot));
    }

    // ------------------------------------------------------------------------------------------
    // Gas running out

    /// @notice The delegate's 100: a gas one short of it halts; exactly enough continues (a warm
    ///         delegate, the frame starting with 0 forwarded). At depth 0 and 1.
    function test_outOfGasAtTheDelegatesWarmRead() public view {
        for (uint16 depth; depth < 2; ++depth) {
            DelegatedCase memory c = callCase(CALL, DELEGATE);
            c.value = 0;
            c.delegateWarm = true;
            c.depth = depth;
            c.gas = 100 + 3 + 2500 + 100 - 1;
            Step memory s = build(c, false);
            assertEq(prove(c, s), haltedCall(s));
            c.gas += 1;
            s = build(c, true);
            assertEq(forwardedGas(c, c.gas), 0);
            assertEq(prove(c, s), frameStarted(c, s, s.pre.stateRoot));
        }
        // A delegate without code: exactly enough succeeds without a frame.
        DelegatedCase memory d = callCase(CALL, CALLER);
        d.value = 0;
        d.gas = 100 + 3 + 2500 + 100;
        Step memory t = build(d, false);
        assertEq(prove(d, t), noFrame(d, t, true, t.pre.stateRoot));
        d.gas -= 1;
        t = build(d, false);
        assertEq(prove(d, t), haltedCall(t));
    }

    /// @notice The delegate's cold 2500: one gas short halts, exactly enough continues.
    function test_outOfGasAtTheDelegatesColdAccess() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        c.depth = 2;
        c.gas = 14_203 - 1;
        Step memory s = build(c, false);
        assertEq(prove(c, s), haltedCall(s));
        c.gas = 14_203;
        s = build(c, true);
        assertEq(prove(c, s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
        // A DELEGATECALL at depth 0.
        c = callCase(DELEGATECALL, DELEGATE);
        c.gas = 5203 - 1;
        s = build(c, false);
        assertEq(prove(c, s), haltedCall(s));
        c.gas = 5203;
        s = build(c, true);
        assertEq(prove(c, s), frameStarted(c, s, s.pre.stateRoot));
    }

    // ------------------------------------------------------------------------------------------
    // Not designators

    /// @notice A 22- or 24-byte code starting 0xef0100 is ordinary code (the rule is exactly 23
    ///         bytes): the frame runs the callee's own code hash, no 100, no delegate access, and
    ///         the delegate proofs are not read.
    function test_notExactly23BytesIsNotADesignator() public view {
        bytes memory d = designator(DELEGATE);
        bytes[2] memory codes = [slice(d, 0, 22), bytes.concat(d, hex"00")];
        for (uint256 i; i < 2; ++i) {
            DelegatedCase memory c = callCase(CALL, DELEGATE);
            c.calleeCode = codes[i];
            Step memory s = build(c, true);
            (uint256 cost,) = callCost(c, s);
            assertEq(cost, 100 + 3 + 9000 + 2500);
            bytes32 root = AccountWorld.rootOf(moved(s.world, AUTH, 300));
            assertEq(prove(c, s), started(c, s, root, warmAfterCallee(c, s), cost, keccak256(codes[i])));
            // Delegate proofs, even wrong ones, are not looked at.
            s.w.delegateProof = AccountWorld.proofOf(s.world, CALLER);
            s.w.delegateWarmProof = new bytes[](0);
            assertEq(prove(c, s), frameStarted(c, s, root));
        }
        // 23 bytes with another prefix.
        DelegatedCase memory e = callCase(CALL, DELEGATE);
        e.calleeCode = abi.encodePacked(hex"ef0101", DELEGATE);
        Step memory t = build(e, true);
        assertEq(prove(e, t), frameStarted(e, t, AccountWorld.rootOf(moved(t.world, AUTH, 300))));
    }

    // ------------------------------------------------------------------------------------------
    // Tampering

    /// @notice A wrong `delegateProof`: another account's, a modified node, one against the root
    ///         after the value's credit, or none, is refused by the trie.
    function test_wrongDelegateProofIsRefused() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        Step memory s = build(c, true);
        s.w.delegateProof = AccountWorld.proofOf(s.world, CALLER);
        assertTrieRejects(c, s, "another account's proof");
        s = build(c, true);
        bytes memory node = s.w.delegateProof[s.w.delegateProof.length - 1];
        node[node.length - 1] ^= 0x01;
        assertTrieRejects(c, s, "a modified leaf");
        s = build(c, true);
        s.w.delegateProof[0][5] ^= 0x01;
        assertTrieRejects(c, s, "a modified root node");
        s = build(c, true);
        s.w.delegateProof = AccountWorld.proofOf(credited(s.world, AUTH, 300), DELEGATE);
        assertTrieRejects(c, s, "a proof against the root after the credit");
        s = build(c, true);
        s.w.delegateProof = new bytes[](0);
        assertTrieRejects(c, s, "no proof");
        // A state where the delegate has no code: its proof does not open this root.
        s = build(c, true);
        AccountWorld.World memory other =
            AccountWorld.withAccount(s.world, DELEGATE, AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH));
        s.w.delegateProof = AccountWorld.proofOf(other, DELEGATE);
        assertTrieRejects(c, s, "the delegate of another state");
    }

    /// @notice A `delegateWarmProof` claiming the cold delegate warm (a proof from a trie holding
    ///         it) does not open warmAccounts; nor does the proof against the trie before the
    ///         callee's insertion, or none.
    function test_wrongDelegateWarmProofIsRefused() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        Step memory s = build(c, true);
        bytes32[] memory claimed = AccountWorld.plus(warmAfterCallee(c, s), Accounts.key(DELEGATE));
        s.w.delegateWarmProof = AccountWorld.warmProof(claimed, Accounts.key(DELEGATE));
        assertTrieRejects(c, s, "a warm claim");
        // The callee warm before: the trie after its access is the trie before.
        c.calleeWarm = true;
        s = build(c, true);
        s.w.delegateWarmProof = AccountWorld.warmProof(claimed, Accounts.key(DELEGATE));
        assertTrieRejects(c, s, "a warm claim over a warm callee");
        // Against warmAccounts before the callee's insertion (here: the callee cold, the trie had one key).
        c = callCase(CALL, DELEGATE);
        c.delegateWarm = false;
        s = build(c, true);
        s.warmBefore = AccountWorld.plus(new bytes32[](0), Accounts.key(PLAIN));
        s.e.substate = AccountWorld.substateOf(s.warmBefore);
        s.w.warmAccounts = AccountWorld.warmRoot(s.warmBefore);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(AUTH));
        s.pre.evm = EvmTypes.hash(s.e);
        s.w.frameWarmProof = AccountWorld.warmProof(warmAfter(c, s), Accounts.key(SELF));
        s.w.delegateWarmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(DELEGATE));
        assertTrieRejects(c, s, "a proof against the trie before the callee's access");
        // The honest one proves it.
        s.w.delegateWarmProof = AccountWorld.warmProof(warmAfterCallee(c, s), Accounts.key(DELEGATE));
        assertEq(prove(c, s), frameStarted(c, s, AccountWorld.rootOf(moved(s.world, AUTH, 300))));
        s.w.delegateWarmProof = new bytes[](0);
        assertTrieRejects(c, s, "no proof");
    }

    /// @notice A delegated callee's witness without delegate proofs (as a non-delegated callee's) is
    ///         refused: the verifier must open the delegate.
    function test_delegateProofsAreRequired() public view {
        DelegatedCase memory c = callCase(STATICCALL, DELEGATE);
        Step memory s = build(c, true);
        s.w.delegateWarmProof = new bytes[](0);
        s.w.delegateProof = new bytes[](0);
        assertTrieRejects(c, s, "no delegate proofs");
    }

    /// @notice The proven post-state is not one that forgets a delegation rule: the callee's code
    ///         hash run, no 100, no 2500, the delegate not inserted (in the frame or the snapshot),
    ///         the value to the delegate.
    function test_wrongClaimsAreRejected() public view {
        DelegatedCase memory c = callCase(CALL, DELEGATE);
        Step memory s = build(c, true);
        bytes32 proven = prove(c, s);
        bytes32 root = AccountWorld.rootOf(moved(s.world, AUTH, 300));
        bytes32[] memory warm = warmAfter(c, s);
        assertEq(proven, started(c, s, root, warm, 14_203, keccak256(DELEGATE_CODE)));
        assertTrue(started(c, s, root, warm, 14_203, keccak256(designator(DELEGATE))) != proven, "callee's code hash");
        assertTrue(started(c, s, root, warm, 14_203 - 100, keccak256(DELEGATE_CODE)) != proven, "no 100");
        assertTrue(started(c, s, root, warm, 14_203 - 2500, keccak256(DELEGATE_CODE)) != proven, "no 2500");
        assertTrue(
            started(c, s, root, warmAfterCallee(c, s), 14_203, keccak256(DELEGATE_CODE)) != proven, "delegate not warm"
        );
        bytes32 toDelegate = AccountWorld.rootOf(moved(s.world, DELEGATE, 300));
        assertTrue(started(c, s, toDelegate, warm, 14_203, keccak256(DELEGATE_CODE)) != proven, "value to the delegate");
    }

    /// @notice The CallerFrame's substate snapshot holds the delegate's key: a frame that fails
    ///         restores warmAccounts with the delegate warm (revm warms both before the checkpoint).
    ///         Checked by rebuilding the post-state with the snapshot before the delegate's access.
    function test_snapshotHoldsTheDelegate() public view {
        DelegatedCase memory c = callCase(DELEGATECALL, DELEGATE);
        c.depth = 1;
        Step memory s = build(c, true);
        bytes32 proven = prove(c, s);
        (uint256 cost,) = callCost(c, s);
        assertEq(proven, started(c, s, s.pre.stateRoot, warmAfter(c, s), cost, keccak256(DELEGATE_CODE)));
        assertTrue(
            proven != started(c, s, s.pre.stateRoot, warmAfterCallee(c, s), cost, keccak256(DELEGATE_CODE)),
            "snapshot without the delegate"
        );
    }
}

/// @notice Non-delegated calls are unchanged: every kind-4 step of the Rust fixtures
///         (test/fixtures/evm_steps.json) whose callee is not delegated, its witness read with the
///         `CallWitness` layout before the delegate fields (which a newer witness also decodes to:
///         its two extra head words are not read) and re-encoded with empty delegate proofs, proves
///         the recorded post-state byte for byte.
contract EvmDelegatedCallFixturesTest is EvmWitnessTest {
    /// @dev `EvmCallVerifier.CallWitness` without `delegateWarmProof` and `delegateProof`.
    struct LegacyCallWitness {
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        bytes[] warmProof;
        bytes[] calleeProof;
        bytes[] selfProof;
        bytes[] frameWarmProof;
        EvmTypes.WordRange args;
        bytes calleeCode;
    }

    /// @dev One kind-4 witness's body, opened.
    struct Body {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        LegacyCallWitness l;
        MachineState.BlockItem blk;
    }

    function reencoded(bytes memory proof) internal pure returns (bool delegated, bytes memory out) {
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        Body memory b;
        (b.e, b.code, b.top, b.rest, b.l, b.blk) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, LegacyCallWitness, MachineState.BlockItem));
        bytes memory cc = b.l.calleeCode;
        delegated = cc.length == 23 && cc[0] == 0xef && cc[1] == 0x01 && cc[2] == 0x00;
        EvmCallVerifier.CallWitness memory w = EvmCallVerifier.CallWitness(
            b.l.warmSlots,
            b.l.transientStorage,
            b.l.warmAccounts,
            b.l.warmProof,
            b.l.calleeProof,
            b.l.selfProof,
            b.l.frameWarmProof,
            b.l.args,
            cc,
            new bytes[](0),
            new bytes[](0)
        );
        out = abi.encode(uint8(4), abi.encode(b.e, b.code, b.top, b.rest, w, b.blk));
    }

    function test_nonDelegatedFixtureCallsAreUnchanged() public {
        (bool found, Fixtures memory f) = fixtures();
        if (!found) return;
        OneStepVerifier verifier = VerifierTree.oneStepVerifier(f.chainId);
        uint256 checked;
        for (uint256 i; i < f.proofs.length; ++i) {
            if (kindOf(f.proofs[i]) != 4) continue;
            (bool delegated, bytes memory proof) = reencoded(f.proofs[i]);
            if (delegated) continue;
            string memory what = string.concat("evm step ", VM_X.toString(i), " opcode ", VM_X.toString(f.opcodes[i]));
            assertEq(verifier.step(f.pres[i], proof), keccak256(f.posts[i]), what);
            ++checked;
        }
        emit log_named_uint("non-delegated kind-4 fixture steps replayed", checked);
        assertGt(checked, 0);
    }
}
