// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmStateVerifier} from "../../src/fault/evm/EvmStateVerifier.sol";
import {EvmSelfDestructVerifier} from "../../src/fault/evm/EvmSelfDestructVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers} from "./EvmStepHelpers.sol";

/// @notice SELFDESTRUCT (docs/evm-steps.md section 11, witness kind 10), hand-built on small state
///         tries (`RefTrie`), through `OneStepVerifier.step`: every post-state is compared with one
///         built here from the spec (the target credited, the frame's account deleted or zeroed,
///         the cold target warm, the transaction's end at depth 0 or the returning state deeper);
///         EIP-6780's two cases (an account created in the transaction, absent or without code at
///         `txStartRoot`, and an older one), a target that is another account (existing, absent),
///         the frame's own account, a zero balance, cold and warm targets, every halt, an existing
///         empty target, and each witness field tampered.
contract EvmSelfDestructStepsTest is EvmStepHelpers {
    address internal constant OTHER = address(0xBEEF);
    address internal constant NOBODY = address(0xDEAD0001);
    address internal constant EMPTY_ONE = address(0xE3E3);
    uint256 internal constant SELF_BALANCE = 7 ether;
    uint64 internal constant REFUND = 2400;
    bytes32 internal constant PARENT = keccak256("selfdestructing frame's parent");

    /// @dev One SELFDESTRUCT: the target, the frame and the state around it.
    /// @dev The access-list marker, which a deleting SELFDESTRUCT leaves as the substate.
    bytes32 internal constant MARKER = bytes32(uint256(1));

    struct SdCase {
        address target;
        uint256 selfBalance;
        /// @dev The frame's account was created in the transaction (absent at `txStartRoot`).
        bool created;
        /// @dev With `created`: at `txStartRoot` the account held a balance but no code.
        bool hadBalance;
        /// @dev The target is in `warmAccounts` before the step.
        bool warm;
        uint16 depth;
        uint256 gas;
        bool isStatic;
        bool underflow;
        /// @dev Only the frame's account and the caller in the state (deletions collapse the root).
        bool small;
    }

    /// @dev A step's witness and what it derives.
    struct Step {
        Frame f;
        EvmTypes.EvmState e;
        AccountWorld.World world;
        AccountWorld.World start;
        bytes32[] warmBefore;
        EvmSelfDestructVerifier.SelfDestructWitness w;
        MachineState.BlockItem blk;
        MachineState.State pre;
        bytes proof;
    }

    // ------------------------------------------------------------------------------------------
    // The step (kind 10)

    function code() internal pure returns (bytes memory) {
        // PUSH1 0 SELFDESTRUCT: the instruction at pc 2.
        return hex"6000ff";
    }

    /// @dev A created account with a balance destroying itself to an existing cold account, at
    ///      depth 1.
    function sdCase(address target) internal pure returns (SdCase memory c) {
        c.target = target;
        c.selfBalance = SELF_BALANCE;
        c.created = true;
        c.depth = 1;
        c.gas = 100_000;
    }

    /// @dev The state before the step: the frame's account (nonce 1, its code), the caller, an
    ///      account with code, an existing EIP-161-empty account and fillers; at `txStartRoot` the
    ///      same without the frame's account (`created`; with `hadBalance` it held 5 wei and no
    ///      code) or with it and its code.
    function worlds(SdCase memory c) internal pure returns (AccountWorld.World memory w, AccountWorld.World memory s) {
        w = AccountWorld.withAccount(w, SELF, AccountWorld.account(1, c.selfBalance, keccak256(code())));
        w = AccountWorld.withAccount(w, CALLER, AccountWorld.account(3, 10 ** 18, Accounts.EMPTY_CODE_HASH));
        if (!c.small) {
            w = AccountWorld.withAccount(w, OTHER, AccountWorld.account(1, 5, keccak256("other code")));
            w = AccountWorld.withAccount(w, EMPTY_ONE, AccountWorld.account(0, 0, Accounts.EMPTY_CODE_HASH));
            for (uint256 i; i < 6; ++i) {
                // forge-lint: disable-next-line(unsafe-typecast)
                address filler = address(uint160(0x1000 + i));
                w = AccountWorld.withAccount(w, filler, AccountWorld.account(i, i * 11, Accounts.EMPTY_CODE_HASH));
            }
        }
        s = w;
        if (c.created) {
            s = AccountWorld.withAccount(
                s, SELF, c.hadBalance ? AccountWorld.account(0, 5, Accounts.EMPTY_CODE_HASH) : AccountWorld.absent()
            );
        } else {
            s = AccountWorld.withAccount(s, SELF, AccountWorld.account(1, 3, keccak256(code())));
        }
        // Something else changed in the transaction too.
        s = AccountWorld.withAccount(s, CALLER, AccountWorld.account(2, 10 ** 18 + 1, Accounts.EMPTY_CODE_HASH));
    }

    function isCold(SdCase memory c) internal pure returns (bool) {
        address t = c.target;
        return !c.warm && t != CALLER && t != SELF && t != BENEFICIARY && !(uint160(t) != 0 && uint160(t) <= 0x11);
    }

    function isEmptyAccount(Accounts.Account memory a) internal pure returns (bool) {
        return a.nonce == 0 && a.balance == 0 && a.codeHash == Accounts.EMPTY_CODE_HASH;
    }

    function costOf(SdCase memory c, Step memory s) internal pure returns (uint256 cost) {
        cost = 5000;
        if (isCold(c)) cost += 2600;
        if (c.selfBalance != 0 && isEmptyAccount(AccountWorld.accountOf(s.world, c.target))) cost += 25_000;
    }

    /// @dev The state after the credit of another target (when the balance is not 0).
    function credited(SdCase memory c, AccountWorld.World memory w) internal pure returns (AccountWorld.World memory) {
        if (c.target == SELF || c.selfBalance == 0) return w;
        Accounts.Account memory t = AccountWorld.accountOf(w, c.target);
        t.exists = true;
        t.balance += c.selfBalance;
        return AccountWorld.withAccount(w, c.target, t);
    }

    /// @dev The state after the step: the balance moved, the frame's account deleted (created)
    ///      or zeroed; a created account that is its own target is deleted, an older one unchanged.
    function after_(SdCase memory c, AccountWorld.World memory w) internal pure returns (AccountWorld.World memory) {
        AccountWorld.World memory w1 = credited(c, w);
        if (c.created) return AccountWorld.withAccount(w1, SELF, AccountWorld.absent());
        if (c.target == SELF) return w1;
        Accounts.Account memory me = AccountWorld.accountOf(w1, SELF);
        me.balance = 0;
        return AccountWorld.withAccount(w1, SELF, me);
    }

    function build(SdCase memory c) internal pure returns (Step memory s) {
        s.f = frame(code(), c.underflow ? none() : two(uint256(uint160(c.target)), 0x5555));
        s.f.pc = 2;
        s.f.gas = c.gas;
        (s.world, s.start) = worlds(c);
        s.e = state(s.f);
        s.e.txStartRoot = AccountWorld.rootOf(s.start);
        s.e.depth = c.depth;
        if (c.depth != 0) s.e.parent = PARENT;
        s.e.isStatic = c.isStatic;
        s.warmBefore = AccountWorld.plus(new bytes32[](0), keccak256("some warm account"));
        if (c.warm) s.warmBefore = AccountWorld.plus(s.warmBefore, Accounts.key(c.target));
        s.e.substate = AccountWorld.substateOf(s.warmBefore);
        s.w.warmSlots = MerkleTrie.EMPTY_ROOT;
        s.w.transientStorage = MerkleTrie.EMPTY_ROOT;
        s.w.warmAccounts = AccountWorld.warmRoot(s.warmBefore);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(c.target));
        s.w.selfProof = AccountWorld.proofOf(s.world, SELF, c.target == SELF && c.created);
        s.w.originalProof = AccountWorld.proofOf(s.start, SELF, false);
        if (c.target != SELF) {
            s.w.targetProof = AccountWorld.proofOf(s.world, c.target, false);
            s.w.selfAfterProof = AccountWorld.proofOf(credited(c, s.world), SELF, c.created);
        }
        s.blk = blockItem();
        s.pre = machine(s.f);
        s.pre.stateRoot = AccountWorld.rootOf(s.world);
        s.pre.refund = REFUND;
        s.pre.evm = EvmTypes.hash(s.e);
        s.proof = encode(s);
    }

    function encode(Step memory s) internal pure returns (bytes memory) {
        uint256 n = s.f.stack.length;
        uint256[] memory top = new uint256[](n >= 1 ? 1 : 0);
        if (n >= 1) top[0] = s.f.stack[n - 1];
        bytes32 rest = stackHash(s.f.stack, n - top.length);
        return abi.encode(uint8(10), abi.encode(s.e, s.f.code, top, rest, s.w, s.blk));
    }

    function prove(Step memory s) internal view returns (bytes32) {
        return verifier.step(abi.encode(s.pre), s.proof);
    }

    function expectStepRevert(Step memory s, bytes memory reason) internal {
        bytes memory pre = abi.encode(s.pre);
        bytes memory proof = encode(s);
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The post-state of a successful SELFDESTRUCT, computed from the spec: at depth 0 the
    ///      transaction ends (success, gas left, the refund capped); deeper the returning state
    ///      with outcome 1, the gas left and the substate after the target's access (the
    ///      access-list marker when the account was created in the transaction and is deleted:
    ///      later state access is refused).
    function succeeded(SdCase memory c, Step memory s) internal pure returns (bytes32) {
        uint256 cost = costOf(c, s);
        bytes32[] memory warm = isCold(c) ? AccountWorld.plus(s.warmBefore, Accounts.key(c.target)) : s.warmBefore;
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = AccountWorld.rootOf(after_(c, s.world));
        if (c.depth == 0) {
            m.phase = MachineState.TX_EXECUTED;
            m.evm = bytes32(0);
            m.success = true;
            // forge-lint: disable-next-line(unsafe-typecast)
            m.gasLeft = uint64(c.gas - cost);
            uint64 cap = (m.txGasLimit - m.gasLeft) / 5;
            if (m.refund > cap) m.refund = cap;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 left = uint64(c.gas - cost);
            bytes32 substate = c.created ? MARKER : AccountWorld.substateOf(warm);
            EvmTypes.FrameEnd memory end = EvmTypes.FrameEnd(PARENT, 1, left, substate, bytes32(0), 0, 0);
            m.evm = keccak256(abi.encode(end));
        }
        return MachineState.hash(m);
    }

    /// @dev The post-state of an exceptional halt (no state change).
    function halts(SdCase memory c, Step memory s) internal pure returns (bytes32) {
        MachineState.State memory m = copyState(s.pre);
        if (c.depth == 0) {
            m.phase = MachineState.TX_EXECUTED;
            m.evm = bytes32(0);
            m.success = false;
            m.stateRoot = s.e.txStartRoot;
            m.gasLeft = 0;
            m.refund = 0;
        } else {
            EvmTypes.FrameEnd memory end;
            end.parent = PARENT;
            end.outcome = 3;
            m.evm = keccak256(abi.encode(end));
        }
        return MachineState.hash(m);
    }

    function check(SdCase memory c) internal view {
        Step memory s = build(c);
        assertEq(prove(s), succeeded(c, s));
    }

    // ------------------------------------------------------------------------------------------
    // Tests

    /// @notice A created account destroyed, its balance to another account: an existing one
    ///      (5000 + 2600 cold), an absent one (+25,000 topup, created with the balance), warm by
    ///      the warm set, by being the caller, the beneficiary or a precompile (no 2600).
    function test_createdAccountIsDestroyedToAnother() public view {
        SdCase memory c = sdCase(OTHER);
        Step memory s = build(c);
        assertEq(costOf(c, s), 7600);
        AccountWorld.World memory post = after_(c, s.world);
        assertEq(AccountWorld.accountOf(post, SELF).exists ? 1 : 0, 0);
        assertEq(AccountWorld.accountOf(post, OTHER).balance, 5 + SELF_BALANCE);
        assertEq(prove(s), succeeded(c, s));
        // An absent target: the topup, the new account holds the balance.
        c.target = NOBODY;
        s = build(c);
        assertEq(costOf(c, s), 32_600);
        assertEq(AccountWorld.accountOf(after_(c, s.world), NOBODY).balance, SELF_BALANCE);
        assertEq(prove(s), succeeded(c, s));
        // Warm targets.
        c.warm = true;
        s = build(c);
        assertEq(costOf(c, s), 30_000);
        assertEq(prove(s), succeeded(c, s));
        c = sdCase(CALLER);
        check(c);
        c = sdCase(BENEFICIARY);
        check(c);
        c = sdCase(address(0x11));
        check(c);
        c = sdCase(address(0x04));
        check(c);
        // address(0) is no precompile: cold.
        c = sdCase(address(0));
        assertEq(isCold(c) ? 1 : 0, 1);
        check(c);
        // At depth 0: the transaction ends with success.
        c = sdCase(OTHER);
        c.depth = 0;
        check(c);
        c.target = NOBODY;
        check(c);
        // An account that held a balance but no code at the transaction's start was created in it.
        c = sdCase(OTHER);
        c.hadBalance = true;
        check(c);
        // Only two accounts: the deletion collapses the root branch (the proof's extra node).
        c = sdCase(CALLER);
        c.small = true;
        check(c);
        c.target = NOBODY;
        check(c);
    }

    /// @notice A created account that is its own target: deleted, the balance burnt (warm, no topup).
    function test_createdAccountToItselfIsBurnt() public view {
        SdCase memory c = sdCase(SELF);
        Step memory s = build(c);
        assertEq(costOf(c, s), 5000);
        assertEq(
            AccountWorld.rootOf(after_(c, s.world)),
            AccountWorld.rootOf(AccountWorld.withAccount(s.world, SELF, AccountWorld.absent()))
        );
        assertEq(prove(s), succeeded(c, s));
        c.depth = 0;
        check(c);
        c.small = true;
        check(c);
        c.selfBalance = 0;
        check(c);
    }

    /// @notice An account that existed at the transaction's start (with code) only moves its
    ///         balance (its nonce, code and storage stay); to itself nothing changes.
    function test_olderAccountOnlyMovesItsBalance() public view {
        SdCase memory c = sdCase(OTHER);
        c.created = false;
        Step memory s = build(c);
        AccountWorld.World memory post = after_(c, s.world);
        assertEq(AccountWorld.accountOf(post, SELF).exists ? 1 : 0, 1);
        assertEq(AccountWorld.accountOf(post, SELF).balance, 0);
        assertEq(AccountWorld.accountOf(post, SELF).codeHash, keccak256(code()));
        assertEq(prove(s), succeeded(c, s));
        c.target = NOBODY;
        check(c);
        c.depth = 0;
        check(c);
        // To itself: the state root stays.
        c = sdCase(SELF);
        c.created = false;
        s = build(c);
        assertEq(AccountWorld.rootOf(after_(c, s.world)), s.pre.stateRoot);
        assertEq(prove(s), succeeded(c, s));
        c.depth = 0;
        check(c);
    }

    /// @notice A zero balance: no topup for an empty target, nothing written to the target; a
    ///         created account is still deleted, an older one unchanged.
    function test_zeroBalance() public view {
        SdCase memory c = sdCase(NOBODY);
        c.selfBalance = 0;
        Step memory s = build(c);
        assertEq(costOf(c, s), 7600);
        assertEq(AccountWorld.accountOf(after_(c, s.world), NOBODY).exists ? 1 : 0, 0);
        assertEq(prove(s), succeeded(c, s));
        c.target = OTHER;
        check(c);
        c.created = false;
        s = build(c);
        assertEq(AccountWorld.rootOf(after_(c, s.world)), s.pre.stateRoot);
        // No selfAfterProof is needed.
        s.w.selfAfterProof = new bytes[](0);
        s.proof = encode(s);
        assertEq(prove(s), succeeded(c, s));
    }

    /// @notice A cold target costs 2600 more and enters `warmAccounts`; a warm one stays.
    function test_coldAndWarmTargets() public view {
        SdCase memory c = sdCase(OTHER);
        Step memory s = build(c);
        // The substate in the returning state holds the target (an older account: a deleted
        // one's returning state carries the marker instead).
        c.created = false;
        s = build(c);
        bytes32[] memory warm = AccountWorld.plus(s.warmBefore, Accounts.key(OTHER));
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = AccountWorld.rootOf(after_(c, s.world));
        EvmTypes.FrameEnd memory end =
            EvmTypes.FrameEnd(PARENT, 1, 100_000 - 7600, AccountWorld.substateOf(warm), bytes32(0), 0, 0);
        m.evm = keccak256(abi.encode(end));
        assertEq(prove(s), MachineState.hash(m));
        c.warm = true;
        s = build(c);
        end = EvmTypes.FrameEnd(PARENT, 1, 100_000 - 5000, AccountWorld.substateOf(s.warmBefore), bytes32(0), 0, 0);
        m.evm = keccak256(abi.encode(end));
        assertEq(prove(s), MachineState.hash(m));
        c.created = true;
        // An empty substate before: the target alone after.
        c.warm = false;
        s = build(c);
        s.warmBefore = new bytes32[](0);
        s.e.substate = 0;
        s.w.warmAccounts = MerkleTrie.EMPTY_ROOT;
        s.w.warmProof = new bytes[](0);
        s.pre.evm = EvmTypes.hash(s.e);
        s.proof = encode(s);
        assertEq(prove(s), succeeded(c, s));
    }

    /// @notice The refund counter stays, capped at a fifth of the gas spent at depth 0.
    function test_refundCappedAtDepthZero() public view {
        SdCase memory c = sdCase(OTHER);
        c.depth = 0;
        Step memory s = build(c);
        s.pre.refund = 1_000_000;
        assertEq(prove(s), succeeded(c, s));
        MachineState.State memory m = copyState(s.pre);
        m.phase = MachineState.TX_EXECUTED;
        m.evm = 0;
        m.success = true;
        m.stateRoot = AccountWorld.rootOf(after_(c, s.world));
        m.gasLeft = 100_000 - 7600;
        m.refund = (200_000 - m.gasLeft) / 5;
        assertEq(prove(s), MachineState.hash(m));
    }

    /// @notice Halts: a static frame, gas below 5000, gas below the whole cost (cold, topup), a
    ///         stack underflow; at depth 0 the transaction fails, deeper the returning state.
    function test_halts() public view {
        SdCase[8] memory cases;
        for (uint256 i; i < cases.length; ++i) {
            cases[i] = sdCase(NOBODY);
        }
        cases[0].isStatic = true;
        cases[1].gas = 4999;
        cases[2].gas = 5000; // the cold target's 2600
        cases[3].gas = 7599; // cold
        cases[4].gas = 32_599; // the topup
        cases[5].underflow = true;
        cases[6].isStatic = true;
        cases[6].depth = 0;
        cases[7].gas = 32_599;
        cases[7].depth = 0;
        for (uint256 i; i < cases.length; ++i) {
            Step memory s = build(cases[i]);
            assertEq(prove(s), halts(cases[i], s));
        }
        // Exactly the cost: success with no gas left.
        SdCase memory c = sdCase(NOBODY);
        c.gas = 32_600;
        check(c);
        c = sdCase(OTHER);
        c.gas = 7600;
        check(c);
        c = sdCase(SELF);
        c.gas = 5000;
        check(c);
    }

    /// @notice An existing EIP-161-empty target is a rest-of-transaction step (revm's touch would
    ///         delete it at the transaction's end), whatever the balance; so is the wrong opcode or kind.
    function test_unsupported() public {
        bytes memory unsupported = abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
        SdCase memory c = sdCase(EMPTY_ONE);
        Step memory s = build(c);
        expectStepRevert(s, unsupported);
        c.selfBalance = 0;
        s = build(c);
        expectStepRevert(s, unsupported);
        // Another opcode at pc.
        c = sdCase(OTHER);
        s = build(c);
        s.f.pc = 0;
        s.e.pc = 0;
        s.pre.evm = EvmTypes.hash(s.e);
        expectStepRevert(s, unsupported);
        // The access-list marker.
        s = build(c);
        s.e.substate = bytes32(uint256(1));
        s.pre.evm = EvmTypes.hash(s.e);
        expectStepRevert(s, unsupported);
        // Another kind's body at kind 10, kind 10's body at kind 4, the verifier called directly.
        s = build(c);
        (, bytes memory body) = abi.decode(s.proof, (uint8, bytes));
        bytes memory pre = abi.encode(s.pre);
        vm.expectRevert();
        verifier.step(pre, abi.encode(uint8(4), body));
        EvmSelfDestructVerifier v = new EvmSelfDestructVerifier();
        assertEq(v.step(s.pre, s.proof), succeeded(c, s));
        vm.expectRevert(unsupported);
        v.step(s.pre, abi.encode(uint8(9), body));
        s.pre.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        v.step(s.pre, s.proof);
    }

    function shorter(bytes[] memory p) internal pure returns (bytes[] memory out) {
        out = new bytes[](p.length - 1);
        for (uint256 i; i < out.length; ++i) {
            out[i] = p[i];
        }
    }

    function flipped(bytes[] memory p) internal pure returns (bytes[] memory out) {
        out = abi.decode(abi.encode(p), (bytes[]));
        bytes memory last = out[out.length - 1];
        last[last.length - 1] ^= 0x01;
    }

    /// @notice Each witness field tampered: the frame, the code, the stack, the substate's
    ///         preimage, the block item, and every proof (shortened, a node changed, another's).
    function test_tampering() public {
        SdCase memory c = sdCase(NOBODY);
        Step memory s;
        // The frame and the code.
        s = build(c);
        s.e.gas += 1;
        expectStepRevert(
            s, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, s.pre.evm, EvmTypes.hash(s.e))
        );
        s = build(c);
        s.f.code = hex"6001ff";
        expectStepRevert(
            s, abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, s.e.codeHash, keccak256(s.f.code))
        );
        // The stack: another target.
        s = build(c);
        s.f.stack[1] = uint256(uint160(OTHER));
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.StackMismatch.selector));
        // The substate's preimage.
        s = build(c);
        s.w.warmAccounts = AccountWorld.warmRoot(AccountWorld.plus(s.warmBefore, Accounts.key(NOBODY)));
        expectStepRevert(
            s,
            abi.encodeWithSelector(
                EvmStateVerifier.SubstateMismatch.selector,
                s.e.substate,
                keccak256(abi.encode(MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT, s.w.warmAccounts))
            )
        );
        // The block item.
        s = build(c);
        s.blk.beneficiary = NOBODY;
        expectStepRevert(
            s,
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, s.pre.blockItem, MachineState.itemHash(s.blk)
            )
        );
        // The warm proof: shortened, changed, another key's (a cold target claimed warm, or not).
        s = build(c);
        s.w.warmProof = flipped(s.w.warmProof);
        expectStepRevert(s, "");
        c.warm = true;
        s = build(c);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, keccak256("some warm account"));
        expectStepRevert(s, "");
        c.warm = false;
        // The frame's account.
        s = build(c);
        s.w.selfProof = flipped(s.w.selfProof);
        expectStepRevert(s, "");
        s = build(c);
        s.w.selfProof = shorter(s.w.selfProof);
        expectStepRevert(s, "");
        s = build(c);
        s.w.selfProof = AccountWorld.proofOf(s.world, OTHER, false);
        expectStepRevert(s, "");
        // ... its deletion when it is its own target (the extra node left off).
        SdCase memory own = sdCase(SELF);
        own.small = true;
        s = build(own);
        s.w.selfProof = AccountWorld.proofOf(s.world, SELF, false);
        expectStepRevert(s, "");
        // The original account: against the state root instead of txStartRoot, changed, shortened.
        s = build(c);
        s.w.originalProof = AccountWorld.proofOf(s.world, SELF, false);
        expectStepRevert(s, "");
        s = build(c);
        s.w.originalProof = flipped(s.w.originalProof);
        expectStepRevert(s, "");
        s = build(c);
        s.w.originalProof = shorter(s.w.originalProof);
        expectStepRevert(s, "");
        // The target.
        s = build(c);
        s.w.targetProof = flipped(s.w.targetProof);
        expectStepRevert(s, "");
        s = build(c);
        s.w.targetProof = shorter(s.w.targetProof);
        expectStepRevert(s, "");
        s = build(c);
        s.w.targetProof = AccountWorld.proofOf(s.world, OTHER, false);
        expectStepRevert(s, "");
        // The frame's account after the credit: against the state root before it, changed,
        // without the deletion's extra node.
        s = build(c);
        s.w.selfAfterProof = AccountWorld.proofOf(s.world, SELF, true);
        expectStepRevert(s, "");
        s = build(c);
        s.w.selfAfterProof = flipped(s.w.selfAfterProof);
        expectStepRevert(s, "");
        SdCase memory small = sdCase(CALLER);
        small.small = true;
        s = build(small);
        assertGt(s.w.selfAfterProof.length, AccountWorld.proofOf(credited(small, s.world), SELF, false).length);
        s.w.selfAfterProof = AccountWorld.proofOf(credited(small, s.world), SELF, false);
        expectStepRevert(s, "");
        // An older account's zeroing.
        SdCase memory older = sdCase(OTHER);
        older.created = false;
        s = build(older);
        s.w.selfAfterProof = AccountWorld.proofOf(s.world, SELF, false);
        expectStepRevert(s, "");
        s = build(older);
        s.w.selfAfterProof = shorter(s.w.selfAfterProof);
        expectStepRevert(s, "");
    }

    /// @notice Gas of SELFDESTRUCT steps through `OneStepVerifier.step`: the typical one (a
    ///         created account to an existing cold account, depth 1), a created account to an
    ///         absent one at depth 0, an older account's balance move (to an existing and to an
    ///         absent account: the worst, three trie updates and the warm insertion) and a created
    ///         account to itself.
    function test_gasOfSelfDestructSteps() public view {
        SdCase[5] memory cases;
        cases[0] = sdCase(OTHER);
        cases[1] = sdCase(NOBODY);
        cases[1].depth = 0;
        cases[2] = sdCase(OTHER);
        cases[2].created = false;
        cases[3] = sdCase(NOBODY);
        cases[3].created = false;
        cases[4] = sdCase(SELF);
        string[5] memory names = ["typical", "created to absent", "older to existing", "older to absent", "to itself"];
        uint256 worst;
        for (uint256 i; i < cases.length; ++i) {
            Step memory s = build(cases[i]);
            bytes memory pre = abi.encode(s.pre);
            uint256 before = gasleft();
            verifier.step(pre, s.proof);
            uint256 used = before - gasleft();
            console.log("selfdestruct step gas", names[i], used);
            if (used > worst) worst = used;
        }
        console.log("selfdestruct step gas worst", worst);
        assertLt(worst, 300_000);
    }
}
