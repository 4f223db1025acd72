// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmAuthorizedEntryVerifier} from "../../src/fault/evm/EvmAuthorizedEntryVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel} from "./EvmStepHelpers.sol";
import {AccessListModel} from "./AccessListModel.sol";

/// @notice The entry step of an EIP-7702 transaction (kind 13, `EvmAuthorizedEntryVerifier`,
///         docs/evm-steps.md section 1.2) from the authorization marker its authorization steps
///         leave: signed type-4 transactions on small state tries (`AccountWorld`), the marker over
///         warm tries built here (the access list's keys and an authority), a nonzero refund (the
///         authorizations'). The expected post-states are built here from scratch: the world after
///         the value moved, the depth-0 frame (its `parent` a `CallerFrame` without a caller holding
///         the root after the authorizations and their refund) running the recipient's or its
///         delegate's code, the substate from its final sets of keys, or `TX_EXECUTED` with the
///         refund capped when there is no code to run. Then the refusals and the tampered witnesses.
contract EvmAuthorizedEntryStepsTest is EvmStepHelpers, AccessListModel {
    uint256 internal constant SENDER_KEY = 0xA11CE;
    uint256 internal constant AUTHORITY_KEY = 0xB0B;
    address internal constant TO = address(0xC0DE);
    address internal constant DELEGATE = address(0xDE1E);
    address internal constant OTHER = address(0xBEEF);
    address internal constant ABSENT = address(0xDEAD);
    address internal constant EMPTY = address(0xE0);
    uint64 internal constant NONCE = 3;
    uint64 internal constant GAS_LIMIT = 1_000_000;
    uint64 internal constant GAS_LEFT = 600_000;
    /// @dev Two authorities that existed: 2 * 12,500.
    uint64 internal constant AUTH_REFUND = 25_000;
    bytes internal constant CODE = hex"6001600201600035f3";
    bytes internal constant BENEFICIARY_CODE = hex"600160005500";
    bytes internal constant DATA = hex"a9059cbb0102030405";

    EvmAuthorizedEntryVerifier internal entry;

    /// @dev An EIP-7702 transaction after its authorizations, and its entry's witness.
    struct Tx {
        address to;
        uint256 value;
        AccountWorld.AccessList al;
        /// @dev The authorization list's targets (one tuple each).
        address[] targets;
        /// @dev The recipient's code (TO's; the sender's when it is the recipient).
        bytes toCode;
        bytes senderCode;
        /// @dev Warm accounts the authorizations added (beside the access list's).
        address[] authorities;
        address sender;
        address authority;
        bytes rawTx;
        AccountWorld.World world;
        MachineState.State pre;
        /// @dev The marker's tries (the witness's unless tampered).
        bytes32 warmSlots;
        bytes32 warmAccounts;
        bytes32[] warmAccountKeys;
        bytes32[] warmSlotKeys;
        bytes[] callerProof;
        bytes[] recipientProof;
        bytes recipientCode;
        bytes[] delegateProof;
        bytes[] delegateWarmProof;
        MachineState.BlockItem blk;
    }

    function setUp() public override {
        super.setUp();
        entry = new EvmAuthorizedEntryVerifier(CHAIN_ID);
    }

    // ------------------------------------------------------------------------------------------
    // Transactions, worlds and witnesses

    function designator(address a) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"ef0100", a);
    }

    function txOf(bytes memory toCode, uint256 value) internal returns (Tx memory t) {
        t.to = TO;
        t.value = value;
        t.al = emptyList();
        t.targets = new address[](2);
        (t.targets[0], t.targets[1]) = (DELEGATE, OTHER);
        t.toCode = toCode;
        t.sender = vm.addr(SENDER_KEY);
        t.authority = vm.addr(AUTHORITY_KEY);
        t.authorities = new address[](1);
        t.authorities[0] = t.authority;
    }

    /// @dev The signed type-4 transaction: one authorization tuple per target (their signatures are
    ///      the authorization steps' concern, not this step's).
    function signed(Tx memory t) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](10);
        f[0] = RLPWriter.writeUint(CHAIN_ID);
        f[1] = RLPWriter.writeUint(NONCE);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = RLPWriter.writeAddress(t.to);
        f[6] = RLPWriter.writeUint(t.value);
        f[7] = RLPWriter.writeBytes(DATA);
        f[8] = AccountWorld.accessListRlp(t.al);
        bytes[] memory auths = new bytes[](t.targets.length);
        for (uint256 i; i < auths.length; ++i) {
            bytes[] memory a = new bytes[](6);
            a[0] = RLPWriter.writeUint(CHAIN_ID);
            a[1] = RLPWriter.writeAddress(t.targets[i]);
            a[2] = RLPWriter.writeUint(i);
            a[3] = RLPWriter.writeUint(0);
            a[4] = RLPWriter.writeUint(1);
            a[5] = RLPWriter.writeUint(1);
            auths[i] = RLPWriter.writeList(a);
        }
        f[9] = RLPWriter.writeList(auths);
        return signedTyped(0x04, SENDER_KEY, f);
    }

    /// @dev The world after the authorizations: the sender (nonce bumped by the start step), TO,
    ///      DELEGATE and BENEFICIARY with code, OTHER without, the authority delegated to DELEGATE,
    ///      EMPTY an existing empty account.
    function worldOf(Tx memory t) internal pure returns (AccountWorld.World memory w) {
        w.who = new address[](7);
        w.accounts = new Accounts.Account[](7);
        (w.who[0], w.who[1], w.who[2], w.who[3], w.who[4], w.who[5], w.who[6]) =
        (t.sender, TO, DELEGATE, OTHER, BENEFICIARY, t.authority, EMPTY);
        w.accounts[0] = AccountWorld.account(NONCE + 1, 10 ether, keccak256(t.senderCode));
        w.accounts[1] = AccountWorld.account(1, 5, keccak256(t.toCode));
        w.accounts[2] = AccountWorld.account(1, 0, keccak256(CODE));
        w.accounts[3] = AccountWorld.account(0, 1, Accounts.EMPTY_CODE_HASH);
        w.accounts[4] = AccountWorld.account(1, 0, keccak256(BENEFICIARY_CODE));
        w.accounts[5] = AccountWorld.account(1, 0, keccak256(designator(DELEGATE)));
        w.accounts[6] = AccountWorld.account(0, 0, Accounts.EMPTY_CODE_HASH);
    }

    /// @dev The recipient's code in `t`'s world.
    function codeOfRecipient(Tx memory t) internal pure returns (bytes memory) {
        if (t.to == t.sender) return t.senderCode;
        if (t.to == TO) return t.toCode;
        if (t.to == DELEGATE) return CODE;
        if (t.to == BENEFICIARY) return BENEFICIARY_CODE;
        if (t.to == t.authority) return designator(DELEGATE);
        return "";
    }

    function isWarmFromStart(Tx memory t, address a) internal pure returns (bool) {
        return a == t.sender || a == t.to || a == BENEFICIARY || (uint160(a) >= 1 && uint160(a) <= 0x11);
    }

    /// @dev `t`'s raw transaction, world, marker tries, pre-state and witness.
    function build(Tx memory t) internal returns (Tx memory) {
        t.rawTx = signed(t);
        t.world = worldOf(t);
        t.blk = blockItem();
        if (warmings(t.al) > 64) {
            t.warmSlots = bytes32(uint256(1));
            t.warmAccounts = 0;
            t.warmAccountKeys = new bytes32[](0);
            t.warmSlotKeys = new bytes32[](0);
        } else {
            (t.warmAccountKeys, t.warmSlotKeys,) = warmed(t.al);
            for (uint256 i; i < t.authorities.length; ++i) {
                if (!isWarmFromStart(t, t.authorities[i])) {
                    t.warmAccountKeys =
                        AccountWorld.plus(t.warmAccountKeys, keccak256(abi.encodePacked(t.authorities[i])));
                }
            }
            t.warmSlots = this.warmRoot(t.warmSlotKeys);
            t.warmAccounts = this.warmRoot(t.warmAccountKeys);
        }
        t.pre = entryPre(t.sender, AccountWorld.rootOf(t.world), t.rawTx, GAS_LIMIT, GAS_LEFT);
        t.pre.refund = AUTH_REFUND;
        // The marker by hand: keccak256(abi.encode(txHash, authorizations, warmSlots, warmAccounts)).
        t.pre.evm = keccak256(abi.encode(keccak256(t.rawTx), t.targets.length, t.warmSlots, t.warmAccounts));
        t.callerProof = new bytes[](0);
        t.recipientProof = AccountWorld.proofOf(t.world, t.to);
        if (t.value != 0) {
            t.callerProof = AccountWorld.proofOf(t.world, t.sender);
            t.recipientProof = AccountWorld.proofOf(debited(t), t.to);
        }
        t.recipientCode = codeOfRecipient(t);
        t.delegateProof = new bytes[](0);
        t.delegateWarmProof = new bytes[](0);
        (bool delegated, address d) = delegateOf(t);
        if (delegated) {
            t.delegateProof = AccountWorld.proofOf(t.world, d);
            if (warmings(t.al) <= 64 && !isWarmFromStart(t, d)) {
                t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(d)));
            }
        }
        return t;
    }

    /// @dev The recipient's delegate, read off its code by hand.
    function delegateOf(Tx memory t) internal pure returns (bool, address) {
        bytes memory c = codeOfRecipient(t);
        if (c.length != 23 || c[0] != 0xef || c[1] != 0x01 || c[2] != 0x00) return (false, address(0));
        uint160 a;
        for (uint256 i = 3; i < 23; ++i) {
            a = (a << 8) | uint8(c[i]);
        }
        return (true, address(a));
    }

    function debited(Tx memory t) internal pure returns (AccountWorld.World memory w) {
        Accounts.Account memory s = AccountWorld.accountOf(t.world, t.sender);
        s.balance -= t.value;
        w = AccountWorld.withAccount(t.world, t.sender, s);
    }

    /// @dev The world after the value moved, from scratch (an absent recipient created).
    function moved(Tx memory t) internal pure returns (AccountWorld.World memory) {
        AccountWorld.World memory w = debited(t);
        if (t.value == 0) return w;
        Accounts.Account memory r = AccountWorld.accountOf(w, t.to);
        r.exists = true;
        r.balance += t.value;
        return AccountWorld.withAccount(w, t.to, r);
    }

    function movedRoot(Tx memory t) internal pure returns (bytes32) {
        return AccountWorld.rootOf(moved(t));
    }

    function body(Tx memory t) internal pure returns (bytes memory) {
        return abi.encode(
            t.rawTx,
            t.warmSlots,
            t.warmAccounts,
            t.callerProof,
            t.recipientProof,
            t.recipientCode,
            t.delegateProof,
            t.delegateWarmProof,
            t.blk
        );
    }

    function witness(Tx memory t) internal pure returns (bytes memory) {
        return abi.encode(uint8(13), body(t));
    }

    function enter(Tx memory t) internal view returns (bytes32) {
        return entry.step(t.pre, witness(t));
    }

    function expectRefused(Tx memory t, bytes memory reason) internal {
        bytes memory proof = witness(t);
        vm.expectRevert(reason);
        entry.step(t.pre, proof);
    }

    function unexpectedProof() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector);
    }

    function unsupported() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
    }

    /// @dev The proof's root node does not hash to `root`.
    function badRootNode(bytes32 root, bytes memory node) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(MerkleTrie.InvalidProofNodeHash.selector, 0, root, keccak256(node));
    }

    // ------------------------------------------------------------------------------------------
    // Expected post-states

    /// @dev The substate the frame starts with: the marker's keys plus `extra` (a cold delegate),
    ///      0 when nothing is warm, the access-list marker past 64 entries.
    function substateWith(Tx memory t, address extra) internal view returns (bytes32) {
        if (warmings(t.al) > 64) return bytes32(uint256(1));
        bytes32[] memory accounts = t.warmAccountKeys;
        if (extra != address(0)) accounts = AccountWorld.plus(accounts, keccak256(abi.encodePacked(extra)));
        if (accounts.length == 0 && t.warmSlotKeys.length == 0) return 0;
        return keccak256(abi.encode(this.warmRoot(t.warmSlotKeys), MerkleTrie.EMPTY_ROOT, this.warmRoot(accounts)));
    }

    /// @dev The `CallerFrame` without a caller the depth-0 frame's `parent` commits to.
    function parentOf(Tx memory t) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                EvmTypes.CallerFrame({
                    frame: bytes32(0),
                    retOffset: 0,
                    retLen: 0,
                    stateRoot: t.pre.stateRoot,
                    substate: bytes32(0),
                    refund: AUTH_REFUND,
                    created: address(0)
                })
            )
        );
    }

    /// @dev The depth-0 frame running the code of hash `codeHash` at the recipient.
    function frameOf(Tx memory t, bytes32 codeHash, bytes32 substate)
        internal
        pure
        returns (EvmTypes.EvmState memory e)
    {
        e.txHash = keccak256(t.rawTx);
        e.txStartRoot = t.pre.stateRoot;
        e.substate = substate;
        e.depth = 0;
        e.parent = parentOf(t);
        e.self = t.to;
        e.caller = t.sender;
        e.value = t.value;
        e.codeHash = codeHash;
        e.calldataRoot = WordModel.root(DATA);
        e.calldataSize = uint32(DATA.length);
        e.returnDataRoot = WordModel.root("");
        e.gas = t.pre.gasLeft;
        e.memRoot = WordModel.root("");
    }

    /// @dev The post-state: the value moved, the frame running the code of hash `codeHash`.
    function framed(Tx memory t, bytes32 codeHash, bytes32 substate) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.evm = keccak256(abi.encode(frameOf(t, codeHash, substate)));
        return MachineState.hash(s);
    }

    /// @dev The post-state without code to run: the value moved, `TX_EXECUTED`, successful, the gas
    ///      left unchanged, the authorizations' refund capped at a fifth of the gas spent.
    function ended(Tx memory t) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.phase = MachineState.TX_EXECUTED;
        s.success = true;
        s.evm = bytes32(0);
        uint64 cap = (t.pre.txGasLimit - t.pre.gasLeft) / 5;
        s.refund = AUTH_REFUND < cap ? AUTH_REFUND : cap;
        return MachineState.hash(s);
    }

    // ------------------------------------------------------------------------------------------
    // A recipient with plain code

    /// @notice A value to a contract: the value moves, the frame runs its code with every field as
    ///         section 1.2 says (parent the `CallerFrame` without a caller, `txStartRoot` the root
    ///         after the authorizations, the authority warm); the refund is not touched.
    function test_plainCodeWithValue() public {
        Tx memory t = build(txOf(CODE, 1000));
        assertGt(t.callerProof.length, 0);
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(t.authority));
        bytes32 substate = AccountWorld.substateOf(warm);
        assertTrue(substate != 0);
        assertEq(enter(t), framed(t, keccak256(CODE), substate));
        assertTrue(movedRoot(t) != t.pre.stateRoot);
        // Field by field: only stateRoot and evm change.
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        EvmTypes.EvmState memory e = frameOf(t, keccak256(CODE), substate);
        assertEq(
            e.parent,
            keccak256(
                abi.encode(bytes32(0), uint32(0), uint32(0), t.pre.stateRoot, bytes32(0), AUTH_REFUND, address(0))
            )
        );
        s.evm = keccak256(abi.encode(e));
        assertEq(s.refund, AUTH_REFUND);
        assertEq(enter(t), MachineState.hash(s));
    }

    /// @notice Without a value: no caller proof, the recipient only read, the root unchanged; a
    ///         caller proof is refused.
    function test_plainCodeWithoutValue() public {
        Tx memory t = build(txOf(CODE, 0));
        assertEq(t.callerProof.length, 0);
        assertEq(movedRoot(t), t.pre.stateRoot);
        assertEq(enter(t), framed(t, keccak256(CODE), substateWith(t, address(0))));
        t.callerProof = AccountWorld.proofOf(t.world, t.sender);
        expectRefused(t, unexpectedProof());
    }

    /// @notice A plain recipient takes no delegate proofs (`UnexpectedProof`).
    function test_plainRecipientRefusesDelegateProofs() public {
        Tx memory t = build(txOf(CODE, 1000));
        t.delegateProof = AccountWorld.proofOf(t.world, DELEGATE);
        expectRefused(t, unexpectedProof());
        t = build(txOf(CODE, 1000));
        t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(DELEGATE)));
        expectRefused(t, unexpectedProof());
    }

    // ------------------------------------------------------------------------------------------
    // A delegated recipient

    /// @notice A recipient delegated to a contract: the frame runs the delegate's code at the
    ///         recipient; the cold delegate is inserted after the authority.
    function test_delegatedRecipient() public {
        Tx memory t = build(txOf(designator(DELEGATE), 1000));
        bytes32[] memory warm = new bytes32[](2);
        warm[0] = keccak256(abi.encodePacked(t.authority));
        warm[1] = keccak256(abi.encodePacked(DELEGATE));
        bytes32 substate = AccountWorld.substateOf(warm);
        assertEq(substate, substateWith(t, DELEGATE));
        assertEq(enter(t), framed(t, keccak256(CODE), substate));
        // Without a value.
        t = build(txOf(designator(DELEGATE), 0));
        assertEq(enter(t), framed(t, keccak256(CODE), substate));
        // The insertion needs its proof.
        t.delegateWarmProof = new bytes[](0);
        vm.expectRevert(abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
        entry.step(t.pre, witness(t));
    }

    /// @notice The delegate is the sender (itself delegated, so its designator runs as code):
    ///         warm from the start, nothing inserted; a warm proof is refused.
    function test_delegateIsSender() public {
        Tx memory t = txOf(designator(vm.addr(SENDER_KEY)), 1000);
        t.senderCode = designator(OTHER);
        t = build(t);
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), framed(t, keccak256(designator(OTHER)), substateWith(t, address(0))));
        t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(t.sender)));
        expectRefused(t, unexpectedProof());
    }

    /// @notice The recipient delegates to itself: warm from the start (nothing inserted, a warm proof
    ///         refused); the frame runs its own designator as code.
    function test_delegateIsRecipient() public {
        Tx memory t = build(txOf(designator(TO), 1));
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), framed(t, keccak256(designator(TO)), substateWith(t, address(0))));
        t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(TO)));
        expectRefused(t, unexpectedProof());
    }

    /// @notice The delegate is the block's beneficiary: warm from the start; a warm proof is refused.
    function test_delegateIsBeneficiary() public {
        Tx memory t = build(txOf(designator(BENEFICIARY), 5));
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), framed(t, keccak256(BENEFICIARY_CODE), substateWith(t, address(0))));
        t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(BENEFICIARY)));
        expectRefused(t, unexpectedProof());
    }

    /// @notice A delegate at a precompile's address (0x01, 0x11): no code, the transaction ends; warm
    ///         from the start, so a warm proof is refused. 0x12 is not a precompile: inserted.
    function test_delegatePrecompile() public {
        Tx memory t = build(txOf(designator(address(0x01)), 1000));
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(enter(t), ended(t));
        t.delegateWarmProof = this.warmProof(t.warmAccountKeys, keccak256(abi.encodePacked(address(0x01))));
        expectRefused(t, unexpectedProof());

        t = build(txOf(designator(address(0x11)), 0));
        assertEq(enter(t), ended(t));

        t = build(txOf(designator(address(0x12)), 0));
        assertGt(t.delegateWarmProof.length, 0);
        assertEq(enter(t), ended(t));
        t.delegateWarmProof = new bytes[](0);
        expectRefused(t, abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
    }

    /// @notice The common case: the sender delegated itself (its authorization, warm from the start,
    ///         added nothing to the tries) and sends to itself: the value moves from it to it (the
    ///         root stays), the frame runs the delegate's code at the sender, the delegate inserted.
    function test_senderToItselfAfterDelegating() public {
        Tx memory t = txOf("", 1000);
        t.to = vm.addr(SENDER_KEY);
        t.senderCode = designator(DELEGATE);
        t.authorities[0] = t.to;
        t = build(t);
        // Nothing warm from the authorizations: the marker's warm accounts are the empty trie.
        assertEq(t.warmAccounts, MerkleTrie.EMPTY_ROOT);
        assertEq(movedRoot(t), t.pre.stateRoot);
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(DELEGATE));
        bytes32 post = framed(t, keccak256(CODE), AccountWorld.substateOf(warm));
        assertEq(enter(t), post);
        // The frame is the sender's own.
        EvmTypes.EvmState memory e = frameOf(t, keccak256(CODE), AccountWorld.substateOf(warm));
        assertEq(e.self, t.sender);
        assertEq(e.caller, t.sender);
        // Without a value.
        t = txOf("", 0);
        t.to = vm.addr(SENDER_KEY);
        t.senderCode = designator(DELEGATE);
        t.authorities[0] = t.to;
        t = build(t);
        assertEq(enter(t), framed(t, keccak256(CODE), AccountWorld.substateOf(warm)));
    }

    // ------------------------------------------------------------------------------------------
    // No code to run

    /// @notice A recipient without code: the value moves and the transaction ends, successful with
    ///         all its gas; the authorizations' refund is kept below a fifth of the gas spent and
    ///         capped above it.
    function test_recipientWithoutCode() public {
        Tx memory t = txOf("", 1000);
        t.to = OTHER;
        t = build(t);
        assertEq(enter(t), ended(t));
        // By hand: 400,000 gas spent, a cap of 80,000 above the refund.
        MachineState.State memory s = copyState(t.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.success = true;
        s.evm = 0;
        s.stateRoot = movedRoot(t);
        assertEq(s.refund, AUTH_REFUND);
        assertEq(enter(t), MachineState.hash(s));

        // 50,000 gas spent: the refund is capped at 10,000.
        t.pre.gasLeft = 950_000;
        s.gasLeft = 950_000;
        s.refund = 10_000;
        assertEq(enter(t), MachineState.hash(s));
        assertEq(enter(t), ended(t));
        // Nothing spent: no refund.
        t.pre.gasLeft = GAS_LIMIT;
        s.gasLeft = GAS_LIMIT;
        s.refund = 0;
        assertEq(enter(t), MachineState.hash(s));
    }

    /// @notice A pre-state with more gas left than the transaction's limit is refused at the end
    ///         without code (`InvalidPreState`), not a panic.
    function test_gasLeftOverLimitOnNoCodeEnd() public {
        Tx memory t = txOf("", 1000);
        t.to = OTHER;
        t = build(t);
        t.pre.gasLeft = GAS_LIMIT + 1;
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
    }

    /// @notice A delegate without code (an EOA, an absent account): the transaction ends; the
    ///         delegate's proofs are still checked.
    function test_delegateWithoutCode() public {
        Tx memory t = build(txOf(designator(OTHER), 1000));
        assertGt(t.delegateWarmProof.length, 0);
        assertEq(enter(t), ended(t));
        t = build(txOf(designator(ABSENT), 0));
        assertEq(enter(t), ended(t));
        // The warm proof is checked though the substate is dropped.
        bytes memory node = t.delegateWarmProof[0];
        node[node.length - 1] ^= 0x01;
        expectRefused(t, badRootNode(t.warmAccounts, node));
        // So is the delegate's account proof.
        t = build(txOf(designator(OTHER), 1000));
        node = t.delegateProof[0];
        node[5] ^= 0x01;
        expectRefused(t, badRootNode(t.pre.stateRoot, node));
    }

    /// @notice An absent recipient with a value is created with it, then the transaction ends; an
    ///         existing empty recipient is credited (no longer empty); without a value it is refused.
    function test_absentOrEmptyRecipient() public {
        Tx memory t = txOf("", 7);
        t.to = ABSENT;
        t = build(t);
        Accounts.Account memory created = AccountWorld.accountOf(moved(t), ABSENT);
        assertTrue(created.exists);
        assertEq(created.balance, 7);
        assertEq(enter(t), ended(t));

        t = txOf("", 7);
        t.to = EMPTY;
        t = build(t);
        assertEq(enter(t), ended(t));
        t = txOf("", 0);
        t.to = EMPTY;
        t = build(t);
        expectRefused(t, unsupported());
        // An absent recipient without a value: nothing moves, nothing to delete.
        t = txOf("", 0);
        t.to = ABSENT;
        t = build(t);
        assertEq(movedRoot(t), t.pre.stateRoot);
        assertEq(enter(t), ended(t));
    }

    // ------------------------------------------------------------------------------------------
    // Access lists

    /// @notice An access list naming OTHER (and a slot) and the delegate: the marker's tries hold
    ///         them and the authority; the delegate's insertion is an inclusion proof.
    function test_accessListAndAuthorityWarm() public {
        Tx memory t = txOf(designator(DELEGATE), 1000);
        bytes32[] memory ks = new bytes32[](1);
        ks[0] = keccak256("k");
        t.al = with(with(emptyList(), OTHER, ks), DELEGATE, noKeys());
        t = build(t);
        bytes32[] memory accounts = new bytes32[](3);
        accounts[0] = keccak256(abi.encodePacked(OTHER));
        accounts[1] = keccak256(abi.encodePacked(DELEGATE));
        accounts[2] = keccak256(abi.encodePacked(t.authority));
        bytes32[] memory slots = new bytes32[](1);
        slots[0] = keccak256(abi.encodePacked(OTHER, ks[0]));
        bytes32 substate =
            keccak256(abi.encode(AccountWorld.warmRoot(slots), MerkleTrie.EMPTY_ROOT, AccountWorld.warmRoot(accounts)));
        assertEq(enter(t), framed(t, keccak256(CODE), substate));

        // Not naming the delegate: inserted beside the others.
        t = txOf(designator(DELEGATE), 0);
        t.al = with(emptyList(), OTHER, ks);
        t = build(t);
        assertEq(enter(t), framed(t, keccak256(CODE), substate));
    }

    /// @notice An access list over 64 entries: the marker's tries are (1, 0), the frame starts under
    ///         the access-list marker, nothing is warmed; a delegate warm proof is refused.
    function test_accessListOverCap() public {
        Tx memory t = txOf(designator(DELEGATE), 1000);
        for (uint256 i; i < 65; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            t.al = with(t.al, address(uint160(0x1000 + i)), noKeys());
        }
        t = build(t);
        assertEq(t.delegateWarmProof.length, 0);
        assertEq(t.warmSlots, bytes32(uint256(1)));
        assertEq(t.warmAccounts, bytes32(0));
        assertEq(enter(t), framed(t, keccak256(CODE), bytes32(uint256(1))));
        t.delegateWarmProof = this.warmProof(one32(OTHER), keccak256(abi.encodePacked(DELEGATE)));
        expectRefused(t, unexpectedProof());
        // A plain recipient: the same marker.
        t = txOf(CODE, 0);
        for (uint256 i; i < 65; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            t.al = with(t.al, address(uint160(0x1000 + i)), noKeys());
        }
        t = build(t);
        assertEq(enter(t), framed(t, keccak256(CODE), bytes32(uint256(1))));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @notice The marker must be the one after all the authorizations over the witness's tries:
    ///         a wrong count, other tries, the entry marker are refused (`EvmStateMismatch`).
    function test_wrongMarker() public {
        Tx memory t = build(txOf(CODE, 1000));
        bytes32 txHash = keccak256(t.rawTx);
        bytes32 right = keccak256(abi.encode(txHash, uint256(2), t.warmSlots, t.warmAccounts));
        assertEq(right, t.pre.evm);
        // One authorization short, one too many.
        for (uint256 n = 1; n <= 3; n += 2) {
            t.pre.evm = keccak256(abi.encode(txHash, n, t.warmSlots, t.warmAccounts));
            expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, t.pre.evm, right));
        }
        // The entry marker (no authorization stepped).
        t.pre.evm = keccak256(abi.encodePacked(txHash));
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, t.pre.evm, right));
        // Tries other than the marker's in the witness.
        t.pre.evm = right;
        t.warmAccounts = MerkleTrie.EMPTY_ROOT;
        bytes32 computed = keccak256(abi.encode(txHash, uint256(2), t.warmSlots, t.warmAccounts));
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, right, computed));
        t = build(txOf(CODE, 1000));
        t.warmSlots = bytes32(uint256(1));
        computed = keccak256(abi.encode(txHash, uint256(2), t.warmSlots, t.warmAccounts));
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, right, computed));
        // Three authorizations: the marker counts three.
        t = txOf(CODE, 1000);
        t.targets = new address[](3);
        (t.targets[0], t.targets[1], t.targets[2]) = (DELEGATE, OTHER, address(0));
        t = build(t);
        txHash = keccak256(t.rawTx);
        right = keccak256(abi.encode(txHash, uint256(3), t.warmSlots, t.warmAccounts));
        assertEq(t.pre.evm, right);
        assertEq(enter(t), framed(t, keccak256(CODE), substateWith(t, address(0))));
        t.pre.evm = keccak256(abi.encode(txHash, uint256(2), t.warmSlots, t.warmAccounts));
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, t.pre.evm, right));
    }

    /// @notice A transaction that is not EIP-7702 (kind 11's or kind 0's) is refused, even with a
    ///         marker over it; so is an EIP-7702 transaction to a precompile; 0x12 is not one.
    function test_notEip7702OrPrecompile() public {
        Tx memory t = build(txOf(CODE, 1000));
        bytes[] memory f = new bytes[](9);
        f[0] = RLPWriter.writeUint(CHAIN_ID);
        f[1] = RLPWriter.writeUint(NONCE);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = RLPWriter.writeAddress(TO);
        f[6] = RLPWriter.writeUint(1000);
        f[7] = RLPWriter.writeBytes(DATA);
        f[8] = RLPWriter.writeList(new bytes[](0));
        t.rawTx = signedTyped(0x02, SENDER_KEY, f);
        t.pre.evm = keccak256(abi.encode(keccak256(t.rawTx), uint256(0), t.warmSlots, t.warmAccounts));
        expectRefused(t, unsupported());

        for (uint160 p = 1; p <= 0x11; p += 0x10) {
            t = txOf("", 0);
            t.to = address(p);
            t = build(t);
            expectRefused(t, unsupported());
        }
        t = txOf("", 3);
        t.to = address(0x12);
        t = build(t);
        assertEq(enter(t), ended(t));
    }

    /// @notice A transaction that does not decode (signed for another chain) is `InvalidPreState`.
    function test_undecodableTransaction() public {
        Tx memory t = build(txOf(CODE, 1000));
        bytes[] memory f = new bytes[](10);
        f[0] = RLPWriter.writeUint(CHAIN_ID + 1);
        f[1] = RLPWriter.writeUint(NONCE);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = RLPWriter.writeAddress(TO);
        f[6] = RLPWriter.writeUint(0);
        f[7] = RLPWriter.writeBytes(DATA);
        f[8] = RLPWriter.writeList(new bytes[](0));
        bytes[] memory a = new bytes[](6);
        a[0] = RLPWriter.writeUint(CHAIN_ID);
        a[1] = RLPWriter.writeAddress(DELEGATE);
        a[2] = RLPWriter.writeUint(0);
        a[3] = RLPWriter.writeUint(0);
        a[4] = RLPWriter.writeUint(1);
        a[5] = RLPWriter.writeUint(1);
        bytes[] memory auths = new bytes[](1);
        auths[0] = RLPWriter.writeList(a);
        f[9] = RLPWriter.writeList(auths);
        t.rawTx = signedTyped(0x04, SENDER_KEY, f);
        expectRefused(t, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
    }

    /// @notice The block item must be the state's (`BlockItemMismatch`), here one whose beneficiary
    ///         would make the delegate warm from the start.
    function test_wrongBlockItem() public {
        Tx memory t = build(txOf(designator(DELEGATE), 1000));
        t.blk.beneficiary = DELEGATE;
        t.delegateWarmProof = new bytes[](0);
        expectRefused(
            t,
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, t.pre.blockItem, MachineState.itemHash(t.blk)
            )
        );
    }

    /// @notice The phase and the kind are checked; kind 11's verifier does not take kind 13.
    function test_phaseAndKind() public {
        Tx memory t = build(txOf(CODE, 1000));
        MachineState.State memory done = copyState(t.pre);
        done.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        entry.step(done, witness(t));
        bytes memory b = body(t);
        vm.expectRevert(unsupported());
        entry.step(t.pre, abi.encode(uint8(11), b));
        vm.expectRevert(unsupported());
        entry.step(t.pre, abi.encode(uint8(12), b));
        vm.expectRevert(unsupported());
        entry.step(t.pre, abi.encode(uint8(15), b));
        assertEq(entry.CHAIN_ID(), CHAIN_ID);
        assertEq(entry.step(t.pre, abi.encode(uint8(13), b)), framed(t, keccak256(CODE), substateWith(t, address(0))));
    }

    // ------------------------------------------------------------------------------------------
    // Tampered witnesses

    /// @notice Proofs with a modified root node or of another state, and code that is not the
    ///         recipient's, are refused with the exact error.
    function test_tampered() public {
        // The caller's proof.
        Tx memory t = build(txOf(CODE, 1000));
        bytes memory node = t.callerProof[0];
        node[3] ^= 0x01;
        expectRefused(t, badRootNode(t.pre.stateRoot, node));
        // The recipient's proof against the pre-state's root (not the debited one).
        t = build(txOf(CODE, 1000));
        t.recipientProof = AccountWorld.proofOf(t.world, TO);
        expectRefused(t, badRootNode(AccountWorld.rootOf(debited(t)), t.recipientProof[0]));
        // The recipient's code: another code, no code for a contract, code for an EOA.
        t = build(txOf(CODE, 1000));
        t.recipientCode = BENEFICIARY_CODE;
        expectRefused(
            t,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(CODE), keccak256(BENEFICIARY_CODE)
            )
        );
        t.recipientCode = "";
        expectRefused(
            t, abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(CODE), keccak256(""))
        );
        t = txOf("", 1000);
        t.to = OTHER;
        t = build(t);
        t.recipientCode = CODE;
        expectRefused(
            t,
            abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, Accounts.EMPTY_CODE_HASH, keccak256(CODE))
        );
        // Another delegation than the recipient's.
        t = build(txOf(designator(DELEGATE), 1000));
        t.recipientCode = designator(OTHER);
        expectRefused(
            t,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(designator(DELEGATE)), keccak256(designator(OTHER))
            )
        );
        // The delegate's proof: against the root after the value moved, with a modified node.
        t = build(txOf(designator(DELEGATE), 1000));
        t.delegateProof = AccountWorld.proofOf(moved(t), DELEGATE);
        expectRefused(t, badRootNode(t.pre.stateRoot, t.delegateProof[0]));
        t = build(txOf(designator(DELEGATE), 1000));
        node = t.delegateProof[0];
        node[7] ^= 0x01;
        expectRefused(t, badRootNode(t.pre.stateRoot, node));
        // The delegate's warm proof with a modified node, or of the trie without the authority.
        t = build(txOf(designator(DELEGATE), 1000));
        node = t.delegateWarmProof[0];
        node[2] ^= 0x01;
        expectRefused(t, badRootNode(t.warmAccounts, node));
        t = build(txOf(designator(DELEGATE), 1000));
        t.delegateWarmProof = this.warmProof(one32(OTHER), keccak256(abi.encodePacked(DELEGATE)));
        expectRefused(t, badRootNode(t.warmAccounts, t.delegateWarmProof[0]));
    }

    function one32(address a) internal pure returns (bytes32[] memory k) {
        k = new bytes32[](1);
        k[0] = keccak256(abi.encodePacked(a));
    }

    // ------------------------------------------------------------------------------------------
    // Through the verifier tree, and gas

    /// @notice `EvmStepVerifier` (and `OneStepVerifier`) route kind 13 to this step; the frame's first
    ///         instruction (PUSH1 1) then runs as any depth-0 instruction.
    function test_routedAndFirstInstruction() public {
        Tx memory t = build(txOf(designator(DELEGATE), 1000));
        bytes32 post = framed(t, keccak256(CODE), substateWith(t, DELEGATE));
        assertEq(evm.step(t.pre, witness(t)), post);
        assertEq(verifier.step(abi.encode(t.pre), witness(t)), post);

        EvmTypes.EvmState memory e = frameOf(t, keccak256(CODE), substateWith(t, DELEGATE));
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = movedRoot(t);
        s.evm = keccak256(abi.encode(e));
        bytes memory step1 = abi.encode(uint8(1), abi.encode(e, CODE, none(), bytes32(0), noWords(), blockItem()));
        EvmTypes.EvmState memory e2 = abi.decode(abi.encode(e), (EvmTypes.EvmState));
        e2.pc = 2;
        e2.gas -= 3;
        e2.stackSize = 1;
        e2.stack = keccak256(abi.encodePacked(uint256(1), bytes32(0)));
        MachineState.State memory s2 = copyState(s);
        s2.evm = keccak256(abi.encode(e2));
        assertEq(verifier.step(abi.encode(s), step1), MachineState.hash(s2));
    }

    /// @notice The whole transaction's end: the entry, the frame's one instruction (STOP; INVALID),
    ///         which leaves the returning state (depth 0 with a parent), and the return step (kind 6),
    ///         which ends the transaction: success keeps the moved value and the refund; the halt
    ///         restores the root after the authorizations (the value back) and keeps their refund.
    function test_endToEnd() public {
        for (uint8 outcome = 1; outcome <= 3; outcome += 2) {
            bytes memory code = outcome == 1 ? bytes(hex"00") : bytes(hex"fe");
            Tx memory t = build(txOf(code, 1000));
            EvmTypes.EvmState memory e = frameOf(t, keccak256(code), substateWith(t, address(0)));
            MachineState.State memory s = copyState(t.pre);
            s.stateRoot = movedRoot(t);
            s.evm = keccak256(abi.encode(e));
            assertEq(verifier.step(abi.encode(t.pre), witness(t)), MachineState.hash(s));
            // The instruction: the returning state.
            EvmTypes.FrameEnd memory end;
            end.parent = parentOf(t);
            end.outcome = outcome;
            end.gasLeft = outcome == 1 ? GAS_LEFT : 0;
            end.substate = outcome == 1 ? e.substate : bytes32(0);
            bytes memory step1 = abi.encode(uint8(1), abi.encode(e, code, none(), bytes32(0), noWords(), blockItem()));
            MachineState.State memory s2 = copyState(s);
            s2.evm = keccak256(abi.encode(end));
            assertEq(verifier.step(abi.encode(s), step1), MachineState.hash(s2));
            // The return step.
            EvmTypes.CallerFrame memory frame =
                EvmTypes.CallerFrame(bytes32(0), 0, 0, t.pre.stateRoot, bytes32(0), AUTH_REFUND, address(0));
            EvmTypes.EvmState memory nobody;
            EvmTypes.WordRange memory none_;
            bytes memory ret = abi.encode(uint8(6), abi.encode(end, frame, nobody, none_, none_, new bytes[](0)));
            MachineState.State memory x = copyState(s2);
            x.phase = MachineState.TX_EXECUTED;
            x.evm = bytes32(0);
            x.success = outcome == 1;
            x.stateRoot = outcome == 1 ? movedRoot(t) : t.pre.stateRoot;
            x.gasLeft = outcome == 1 ? GAS_LEFT : 0;
            x.refund = AUTH_REFUND;
            assertEq(verifier.step(abi.encode(s2), ret), MachineState.hash(x));
        }
    }

    /// @notice Gas of one kind-13 step: a delegated recipient with a value (the delegate inserted),
    ///         and a plain recipient without a value.
    function test_gasOfAuthorizedEntry() public {
        Tx memory t = build(txOf(designator(DELEGATE), 1000));
        assertEq(
            this.gasOfStep(t.pre, witness(t), "kind 13, delegated recipient, value, gas:"),
            framed(t, keccak256(CODE), substateWith(t, DELEGATE))
        );
        t = build(txOf(CODE, 0));
        assertEq(
            this.gasOfStep(t.pre, witness(t), "kind 13, plain recipient, no value, gas:"),
            framed(t, keccak256(CODE), substateWith(t, address(0)))
        );
    }

    /// @dev One `step` call, its gas logged.
    function gasOfStep(MachineState.State calldata pre, bytes calldata proof, string calldata what)
        external
        view
        returns (bytes32 post)
    {
        uint256 before = gasleft();
        post = entry.step(pre, proof);
        console.log(what, before - gasleft());
    }
}
