// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmDelegatedEntryVerifier} from "../../src/fault/evm/EvmDelegatedEntryVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel} from "./EvmStepHelpers.sol";
import {AccessListModel} from "./AccessListModel.sol";

/// @notice The entry step of a call transaction to an EIP-7702 delegated recipient (kind 11,
///         `EvmDelegatedEntryVerifier`, docs/evm-steps.md sections 1.1, 2 and 6): signed legacy,
///         type-1 and type-2 transactions entered through `OneStepVerifier.step` (and
///         `EvmStepVerifier.step`) on small state tries (`AccountWorld`). The expected post-states
///         are built here from scratch: the world after the value moved, the frame running the
///         delegate's code at the recipient, the substate's tries from their final sets of keys
///         (the access list plus the delegate unless it is warm from the start), or `TX_EXECUTED`
///         for a delegate without code. Then the refusals and the tampered witnesses.
contract EvmDelegatedEntryStepsTest is EvmStepHelpers, AccessListModel {
    uint256 internal constant SENDER_KEY = 0xA11CE;
    address internal constant TO = address(0xC0DE);
    address internal constant DELEGATE = address(0xDE1E);
    address internal constant OTHER = address(0xBEEF);
    address internal constant ABSENT = address(0xDEAD);
    uint64 internal constant NONCE = 3;
    uint64 internal constant GAS_LIMIT = 1_000_000;
    uint64 internal constant GAS_LEFT = 600_000;
    bytes internal constant CODE = hex"6001600201600035f3";
    bytes internal constant BENEFICIARY_CODE = hex"600160005500";
    bytes internal constant DATA = hex"a9059cbb0102030405";

    /// @dev A transaction to a delegated recipient and the state it is entered in.
    struct Tx {
        uint8 txType;
        bool create;
        address to;
        uint256 value;
        AccountWorld.AccessList al;
        address delegate;
        /// @dev The recipient's code (by default the designator of `delegate`).
        bytes toCode;
        /// @dev The sender's code (empty, or a designator: a delegated sender).
        bytes senderCode;
        address sender;
        bytes rawTx;
        AccountWorld.World world;
        MachineState.State pre;
        bytes[] callerProof;
        bytes[] recipientProof;
        bytes recipientCode;
        bytes[][] accessProofs;
        bytes[] delegateProof;
        bytes[] delegateWarmProof;
        MachineState.BlockItem blk;
    }

    // ------------------------------------------------------------------------------------------
    // Access lists

    function oneKey(bytes32 k) internal pure returns (bytes32[] memory ks) {
        ks = new bytes32[](1);
        ks[0] = k;
    }

    // ------------------------------------------------------------------------------------------
    // Transactions and their entry

    function designator(address a) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"ef0100", a);
    }

    function txOf(uint8 txType, address delegate, uint256 value) internal returns (Tx memory t) {
        t.txType = txType;
        t.to = TO;
        t.value = value;
        t.al = emptyList();
        t.delegate = delegate;
        t.toCode = designator(delegate);
        t.sender = vm.addr(SENDER_KEY);
    }

    /// @dev The signed transaction: legacy (EIP-155), type 1, type 2 or type 4 (one authorization).
    function signed(Tx memory t) internal returns (bytes memory) {
        bytes memory to = t.create ? bytes(hex"80") : RLPWriter.writeAddress(t.to);
        if (t.txType == 0) return signedLegacy(to, t.value);
        bytes[] memory f = new bytes[](t.txType == 1 ? 8 : t.txType == 2 ? 9 : 10);
        uint256 i;
        f[i++] = RLPWriter.writeUint(CHAIN_ID);
        f[i++] = RLPWriter.writeUint(NONCE);
        if (t.txType != 1) f[i++] = RLPWriter.writeUint(2);
        f[i++] = RLPWriter.writeUint(9);
        f[i++] = RLPWriter.writeUint(GAS_LIMIT);
        f[i++] = to;
        f[i++] = RLPWriter.writeUint(t.value);
        f[i++] = RLPWriter.writeBytes(DATA);
        f[i++] = AccountWorld.accessListRlp(t.al);
        if (t.txType == 4) {
            bytes[] memory auth = new bytes[](6);
            auth[0] = RLPWriter.writeUint(CHAIN_ID);
            auth[1] = RLPWriter.writeAddress(DELEGATE);
            auth[2] = RLPWriter.writeUint(NONCE + 1);
            auth[3] = RLPWriter.writeUint(0);
            auth[4] = RLPWriter.writeUint(1);
            auth[5] = RLPWriter.writeUint(1);
            bytes[] memory auths = new bytes[](1);
            auths[0] = RLPWriter.writeList(auth);
            f[i++] = RLPWriter.writeList(auths);
        }
        return signedTyped(bytes1(t.txType), SENDER_KEY, f);
    }

    /// @dev A legacy transaction signed under EIP-155 (gas price 9).
    function signedLegacy(bytes memory to, uint256 value) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](9);
        f[0] = RLPWriter.writeUint(NONCE);
        f[1] = RLPWriter.writeUint(9);
        f[2] = RLPWriter.writeUint(GAS_LIMIT);
        f[3] = to;
        f[4] = RLPWriter.writeUint(value);
        f[5] = RLPWriter.writeBytes(DATA);
        f[6] = RLPWriter.writeUint(CHAIN_ID);
        f[7] = hex"80";
        f[8] = hex"80";
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SENDER_KEY, keccak256(RLPWriter.writeList(f)));
        f[6] = RLPWriter.writeUint(uint256(CHAIN_ID) * 2 + 35 + (v - 27));
        f[7] = RLPWriter.writeUint(uint256(r));
        f[8] = RLPWriter.writeUint(uint256(s));
        return RLPWriter.writeList(f);
    }

    /// @dev The delegate is warm from the start (section 2): the sender, the recipient, the
    ///      block's beneficiary or a precompile.
    function warmFromStart(Tx memory t) internal pure returns (bool) {
        uint160 d = uint160(t.delegate);
        return t.delegate == t.sender || t.delegate == t.to || t.delegate == BENEFICIARY || (d >= 1 && d <= 0x11);
    }

    /// @dev `t`'s raw transaction, world (the sender, TO delegated, DELEGATE and BENEFICIARY with
    ///      code, OTHER without), pre-state and witness.
    function build(Tx memory t) internal returns (Tx memory) {
        t.rawTx = signed(t);
        t.world.who = new address[](5);
        t.world.accounts = new Accounts.Account[](5);
        (t.world.who[0], t.world.who[1], t.world.who[2], t.world.who[3], t.world.who[4]) =
        (t.sender, TO, DELEGATE, OTHER, BENEFICIARY);
        t.world.accounts[0] = AccountWorld.account(NONCE + 1, 10 ether, keccak256(t.senderCode));
        t.world.accounts[1] = AccountWorld.account(1, 5, keccak256(t.toCode));
        t.world.accounts[2] = AccountWorld.account(1, 0, keccak256(CODE));
        t.world.accounts[3] = AccountWorld.account(0, 1, Accounts.EMPTY_CODE_HASH);
        t.world.accounts[4] = AccountWorld.account(1, 0, keccak256(BENEFICIARY_CODE));
        t.pre = entryPre(t.sender, AccountWorld.rootOf(t.world), t.rawTx, GAS_LIMIT, GAS_LEFT);
        t.callerProof = new bytes[](0);
        t.recipientProof = AccountWorld.proofOf(t.world, t.to);
        if (t.value != 0) {
            t.callerProof = AccountWorld.proofOf(t.world, t.sender);
            t.recipientProof = AccountWorld.proofOf(debited(t), t.to);
        }
        t.recipientCode = t.toCode;
        t.accessProofs = new bytes[][](0);
        bytes32[] memory accounts = new bytes32[](0);
        if (warmings(t.al) <= 64) (accounts,, t.accessProofs) = warmed(t.al);
        t.delegateProof = AccountWorld.proofOf(t.world, t.delegate);
        t.delegateWarmProof = new bytes[](0);
        if (warmings(t.al) <= 64 && !warmFromStart(t)) {
            t.delegateWarmProof = this.warmProof(accounts, keccak256(abi.encodePacked(t.delegate)));
        }
        t.blk = blockItem();
        return t;
    }

    function debited(Tx memory t) internal pure returns (AccountWorld.World memory w) {
        Accounts.Account memory s = AccountWorld.accountOf(t.world, t.sender);
        s.balance -= t.value;
        w = AccountWorld.withAccount(t.world, t.sender, s);
    }

    /// @dev The root after the value moved, from scratch.
    function movedRoot(Tx memory t) internal pure returns (bytes32) {
        AccountWorld.World memory w = debited(t);
        Accounts.Account memory r = AccountWorld.accountOf(w, t.to);
        r.balance += t.value;
        return AccountWorld.rootOf(AccountWorld.withAccount(w, t.to, r));
    }

    function witness(Tx memory t) internal pure returns (bytes memory) {
        return abi.encode(
            uint8(11),
            abi.encode(
                t.rawTx,
                t.callerProof,
                t.recipientProof,
                t.recipientCode,
                t.accessProofs,
                t.delegateProof,
                t.delegateWarmProof,
                t.blk
            )
        );
    }

    function enter(Tx memory t) internal view returns (bytes32) {
        return verifier.step(abi.encode(t.pre), witness(t));
    }

    function expectRefused(Tx memory t, bytes memory reason) internal {
        bytes memory pre = abi.encode(t.pre);
        bytes memory proof = witness(t);
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    function unexpectedProof() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector);
    }

    function unsupported() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
    }

    /// @dev The substate the frame starts with, from scratch: the access list's distinct keys,
    ///      plus the delegate's unless it is warm from the start; the marker past 64 entries.
    function expectedSubstate(Tx memory t) internal view returns (bytes32) {
        if (warmings(t.al) > 64) return bytes32(uint256(1));
        (bytes32[] memory accounts, bytes32[] memory slots,) = warmed(t.al);
        if (!warmFromStart(t)) accounts = AccountWorld.plus(accounts, keccak256(abi.encodePacked(t.delegate)));
        if (accounts.length == 0 && slots.length == 0) return 0;
        return keccak256(abi.encode(this.warmRoot(slots), MerkleTrie.EMPTY_ROOT, this.warmRoot(accounts)));
    }

    /// @dev The depth-0 frame running code of hash `codeHash` at TO with `substate`.
    function frameOf(Tx memory t, bytes32 codeHash, bytes32 substate)
        internal
        pure
        returns (EvmTypes.EvmState memory e)
    {
        e.txHash = keccak256(t.rawTx);
        e.txStartRoot = t.pre.stateRoot;
        e.substate = substate;
        e.self = t.to;
        e.caller = t.sender;
        e.value = t.value;
        e.codeHash = codeHash;
        e.calldataRoot = WordModel.root(DATA);
        e.calldataSize = uint32(DATA.length);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = GAS_LEFT;
        e.memRoot = WordTree.EMPTY_ROOT;
    }

    /// @dev The post-state: the frame running the code of hash `codeHash` with `substate`.
    function framed(Tx memory t, bytes32 codeHash, bytes32 substate) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.evm = EvmTypes.hash(frameOf(t, codeHash, substate));
        return MachineState.hash(s);
    }

    /// @dev The post-state of a delegate without code: the value moved, the transaction ended
    ///      successful with all its gas.
    function ended(Tx memory t) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.phase = MachineState.TX_EXECUTED;
        s.success = true;
        s.refund = 0;
        s.evm = bytes32(0);
        return MachineState.hash(s);
    }

    /// @dev Enters `t` and checks the frame with the delegate's code and the expected substate.
    function checkFramed(Tx memory t, bytes32 delegateCodeHash) internal view {
        assertEq(enter(t), framed(t, delegateCodeHash, expectedSubstate(t)));
    }

    // ------------------------------------------------------------------------------------------
    // The frame

    /// @notice A type-2 transaction with a value to a delegated EOA whose delegate has code: the
    ///         value moves, the frame runs the delegate's code at the recipient (`self = TO`,
    ///         `txStartRoot` before the value), the cold delegate inserted into `warmAccounts`;
    ///         its first instruction runs; `EvmStepVerifier` routes kind 11 the same way.
    function test_valueToDelegatedEoa() public {
        Tx memory t = build(txOf(2, DELEGATE, 1000));
        // By hand: warmAccounts = {keccak256(DELEGATE)}, the frame runs CODE.
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(DELEGATE));
        bytes32 substate = AccountWorld.substateOf(warm);
        assertTrue(substate != 0);
        bytes32 post = framed(t, keccak256(CODE), substate);
        assertEq(enter(t), post);
        assertEq(evm.step(t.pre, witness(t)), post);
        // The recipient's account (not the delegate's) got the value.
        assertTrue(movedRoot(t) != t.pre.stateRoot);

        // The frame's first instruction (PUSH1 1) runs the delegate's code.
        EvmTypes.EvmState memory e = frameOf(t, keccak256(CODE), substate);
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.evm = EvmTypes.hash(e);
        bytes memory step1 = abi.encode(uint8(1), abi.encode(e, CODE, none(), bytes32(0), noWords(), blockItem()));
        EvmTypes.EvmState memory e2 = abi.decode(abi.encode(e), (EvmTypes.EvmState));
        e2.pc = 2;
        e2.gas -= 3;
        e2.stackSize = 1;
        e2.stack = keccak256(abi.encodePacked(uint256(1), bytes32(0)));
        MachineState.State memory s2 = copyState(s);
        s2.evm = EvmTypes.hash(e2);
        assertEq(verifier.step(abi.encode(s), step1), MachineState.hash(s2));
    }

    /// @notice Without a value (legacy, type 1 and type 2): no caller proof, the recipient read
    ///         only; the frame as above.
    function test_withoutValueAllTypes() public {
        for (uint8 txType; txType <= 2; ++txType) {
            Tx memory t = build(txOf(txType, DELEGATE, 0));
            assertEq(t.callerProof.length, 0);
            checkFramed(t, keccak256(CODE));
            assertEq(movedRoot(t), t.pre.stateRoot);
        }
        // A legacy transaction with a value.
        checkFramed(build(txOf(0, DELEGATE, 7)), keccak256(CODE));
    }

    /// @notice The delegate is the sender (itself delegated: its code is a designator, which the
    ///         frame runs as code): warm from the start, nothing inserted (substate 0); a warm
    ///         proof is refused.
    function test_delegateIsSender() public {
        Tx memory t = txOf(2, vm.addr(SENDER_KEY), 1000);
        t.senderCode = designator(OTHER);
        t = build(t);
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), framed(t, keccak256(designator(OTHER)), 0));
        t.delegateWarmProof = this.warmProof(one32(OTHER), keccak256(abi.encodePacked(t.delegate)));
        expectRefused(t, unexpectedProof());
    }

    /// @notice The delegate is the block's beneficiary (a contract): warm from the start,
    ///         nothing inserted, even after an access list; a warm proof is refused.
    function test_delegateIsBeneficiary() public {
        Tx memory t = build(txOf(2, BENEFICIARY, 5));
        assertEq(enter(t), framed(t, keccak256(BENEFICIARY_CODE), 0));
        t.delegateWarmProof = this.warmProof(one32(OTHER), keccak256(abi.encodePacked(BENEFICIARY)));
        expectRefused(t, unexpectedProof());

        // With an access list naming OTHER: the substate is the list's alone.
        t = txOf(1, BENEFICIARY, 0);
        t.al = with(emptyList(), OTHER, noKeys());
        t = build(t);
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(OTHER));
        assertEq(enter(t), framed(t, keccak256(BENEFICIARY_CODE), AccountWorld.substateOf(warm)));
    }

    /// @notice The recipient delegates to itself: warm from the start; the frame runs its own
    ///         designator as code.
    function test_delegateIsRecipient() public {
        Tx memory t = build(txOf(2, TO, 1));
        assertEq(enter(t), framed(t, keccak256(designator(TO)), 0));
    }

    /// @notice The delegate named in the access list: its warming is an inclusion proof and the
    ///         root stays (the substate is the list's); an exclusion proof is refused.
    function test_delegateInAccessList() public {
        Tx memory t = txOf(2, DELEGATE, 1000);
        bytes32 k = keccak256("k");
        t.al = with(with(emptyList(), OTHER, oneKey(k)), DELEGATE, noKeys());
        t = build(t);
        checkFramed(t, keccak256(CODE));
        // By hand: warmAccounts = {OTHER, DELEGATE}, warmSlots = {OTHER ++ k}.
        bytes32[] memory accounts = new bytes32[](2);
        accounts[0] = keccak256(abi.encodePacked(OTHER));
        accounts[1] = keccak256(abi.encodePacked(DELEGATE));
        bytes32[] memory slots = new bytes32[](1);
        slots[0] = keccak256(abi.encodePacked(OTHER, k));
        bytes32 substate =
            keccak256(abi.encode(AccountWorld.warmRoot(slots), MerkleTrie.EMPTY_ROOT, AccountWorld.warmRoot(accounts)));
        assertEq(enter(t), framed(t, keccak256(CODE), substate));

        // The delegate's proof against the trie without it (an exclusion proof) does not open it.
        bytes32[] memory before = new bytes32[](1);
        before[0] = keccak256(abi.encodePacked(OTHER));
        t.delegateWarmProof = this.warmProof(before, keccak256(abi.encodePacked(DELEGATE)));
        expectRefused(t, "");
    }

    /// @notice A cold delegate after an access list not naming it: inserted beside the list's.
    function test_coldDelegateAfterAccessList() public {
        Tx memory t = txOf(1, DELEGATE, 0);
        t.al = with(with(emptyList(), OTHER, noKeys()), TO, oneKey(bytes32(uint256(3))));
        t = build(t);
        checkFramed(t, keccak256(CODE));
        // Without the delegate's insertion the proof is missing: an empty proof does not open a
        // non-empty trie.
        t.delegateWarmProof = new bytes[](0);
        expectRefused(t, "");
    }

    /// @notice An access list over 64 entries: the access-list marker, nothing warmed; a
    ///         delegate warm proof is refused.
    function test_accessListOverCap() public {
        Tx memory t = txOf(2, DELEGATE, 1000);
        for (uint256 i; i < 65; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            t.al = with(t.al, address(uint160(0x1000 + i)), noKeys());
        }
        t = build(t);
        assertEq(t.accessProofs.length, 0);
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), framed(t, keccak256(CODE), bytes32(uint256(1))));
        t.delegateWarmProof = this.warmProof(one32(OTHER), keccak256(abi.encodePacked(DELEGATE)));
        expectRefused(t, unexpectedProof());
    }

    // ------------------------------------------------------------------------------------------
    // No frame

    /// @notice A delegate without code (an EOA, an absent account): `TX_EXECUTED`, successful,
    ///         `gasLeft` unchanged, the value moved; the delegate's proofs are still checked.
    function test_delegateWithoutCode() public {
        Tx memory t = build(txOf(2, OTHER, 1000));
        bytes32 post = ended(t);
        assertEq(enter(t), post);
        // By hand: only these fields change.
        MachineState.State memory s = copyState(t.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.success = true;
        s.evm = 0;
        s.stateRoot = movedRoot(t);
        assertEq(s.gasLeft, GAS_LEFT);
        assertEq(MachineState.hash(s), post);

        // An absent delegate (exclusion proof), type 1 with an access list.
        Tx memory a = txOf(1, ABSENT, 3);
        a.al = with(emptyList(), OTHER, oneKey(bytes32(uint256(1))));
        a = build(a);
        assertEq(enter(a), ended(a));

        // The warm proof is checked though the substate is dropped.
        a.delegateWarmProof = new bytes[](0);
        expectRefused(a, "");
        // So is the delegate's account proof.
        Tx memory b = build(txOf(2, OTHER, 1000));
        b.delegateProof[b.delegateProof.length - 1][5] ^= 0x01;
        expectRefused(b, "");
    }

    /// @notice A delegate at a precompile's address (no account): no frame; warm from the start,
    ///         so a warm proof is refused. 0x12 is not a precompile: it needs its proof.
    function test_delegatePrecompile() public {
        Tx memory t = txOf(2, address(0x04), 1000);
        t.al = with(emptyList(), OTHER, noKeys());
        t = build(t);
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), ended(t));
        t.delegateWarmProof = this.warmProof(one32(OTHER), delegateKey(t));
        expectRefused(t, unexpectedProof());

        Tx memory last = txOf(2, address(0x11), 0);
        last.al = with(emptyList(), OTHER, noKeys());
        last = build(last);
        assertEq(enter(last), ended(last));
        last.delegateWarmProof = this.warmProof(one32(OTHER), delegateKey(last));
        expectRefused(last, unexpectedProof());

        Tx memory past = txOf(2, address(0x12), 0);
        past.al = with(emptyList(), OTHER, noKeys());
        past = build(past);
        assertGt(past.delegateWarmProof.length, 0);
        assertEq(enter(past), ended(past));
        past.delegateWarmProof = new bytes[](0);
        expectRefused(past, "");
    }

    function one32(address a) internal pure returns (bytes32[] memory k) {
        k = new bytes32[](1);
        k[0] = keccak256(abi.encodePacked(a));
    }

    function delegateKey(Tx memory t) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(t.delegate));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @notice An EIP-7702 transaction, a recipient that is not delegated (a contract, an EOA), a
    ///         creation and a precompile recipient are refused (`UnsupportedStep(2)`).
    function test_refusals() public {
        expectRefused(build(txOf(4, DELEGATE, 0)), unsupported());

        Tx memory c = txOf(2, DELEGATE, 1000);
        c.toCode = CODE;
        expectRefused(build(c), unsupported());

        Tx memory e = txOf(2, DELEGATE, 1000);
        e.toCode = "";
        expectRefused(build(e), unsupported());

        Tx memory cr = txOf(2, DELEGATE, 0);
        cr.create = true;
        expectRefused(build(cr), unsupported());

        Tx memory p = txOf(2, DELEGATE, 0);
        p.to = address(0x04);
        expectRefused(build(p), unsupported());
        p = txOf(1, DELEGATE, 0);
        p.to = address(0x11);
        expectRefused(build(p), unsupported());
    }

    /// @notice The entry marker, the phase and the kind are checked.
    function test_markerPhaseAndKind() public {
        Tx memory t = build(txOf(2, DELEGATE, 1000));
        MachineState.State memory other = copyState(t.pre);
        other.evm = keccak256("x");
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, other.evm, t.pre.evm));
        verifier.step(abi.encode(other), witness(t));

        IEvmStepVerifier d = evm.DELEGATED_ENTRY();
        assertEq(EvmDelegatedEntryVerifier(address(d)).CHAIN_ID(), CHAIN_ID);
        MachineState.State memory done = copyState(t.pre);
        done.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        d.step(done, witness(t));
        // The same body under kind 0 is the kind-0 entry's (which refuses it), and the delegated
        // verifier refuses any other kind.
        bytes memory body = abi.encode(
            t.rawTx,
            t.callerProof,
            t.recipientProof,
            t.recipientCode,
            t.accessProofs,
            t.delegateProof,
            t.delegateWarmProof,
            t.blk
        );
        vm.expectRevert(unsupported());
        d.step(t.pre, abi.encode(uint8(0), body));
        vm.expectRevert(unsupported());
        d.step(t.pre, abi.encode(uint8(12), body));
        assertEq(d.step(t.pre, abi.encode(uint8(11), body)), enter(t));
    }

    // ------------------------------------------------------------------------------------------
    // Tampered witnesses

    /// @notice The delegate's proof of another key or with a modified node, or against the root
    ///         after the value moved; the recipient's code of another delegation; the block item
    ///         of another block (its beneficiary the delegate, to skip the insertion).
    function test_tampered() public {
        Tx memory t = build(txOf(2, DELEGATE, 1000));
        bytes32 post = enter(t);
        assertEq(post, framed(t, keccak256(CODE), expectedSubstate(t)));

        Tx memory x = build(txOf(2, DELEGATE, 1000));
        x.delegateProof = AccountWorld.proofOf(x.world, OTHER);
        expectRefused(x, "");

        x = build(txOf(2, DELEGATE, 1000));
        bytes memory leaf = x.delegateProof[x.delegateProof.length - 1];
        leaf[leaf.length - 1] ^= 0x01;
        expectRefused(x, "");

        x = build(txOf(2, DELEGATE, 1000));
        x.delegateProof[0][7] ^= 0x01;
        expectRefused(x, "");

        // No delegate proof at all.
        x = build(txOf(2, DELEGATE, 1000));
        x.delegateProof = new bytes[](0);
        expectRefused(x, "");

        // Read against the root after the value moved: not the pre-state's.
        x = build(txOf(2, DELEGATE, 1000));
        Accounts.Account memory r = AccountWorld.accountOf(debited(x), TO);
        r.balance += x.value;
        x.delegateProof = AccountWorld.proofOf(AccountWorld.withAccount(debited(x), TO, r), DELEGATE);
        expectRefused(x, "");

        x = build(txOf(2, DELEGATE, 1000));
        x.recipientCode = designator(OTHER);
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(designator(DELEGATE)), keccak256(designator(OTHER))
            )
        );

        x = build(txOf(2, DELEGATE, 1000));
        x.blk.beneficiary = DELEGATE;
        x.delegateWarmProof = new bytes[](0);
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, x.pre.blockItem, MachineState.itemHash(x.blk)
            )
        );

        // A delegate warm proof with a modified node (in a one-leaf trie every key's proof is
        // that leaf).
        x = txOf(2, DELEGATE, 0);
        x.al = with(emptyList(), OTHER, noKeys());
        x = build(x);
        assertEq(x.delegateWarmProof.length, 1);
        x.delegateWarmProof[0][3] ^= 0x01;
        expectRefused(x, "");
    }
}
