// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmCallVerifier} from "../../src/fault/evm/EvmCallVerifier.sol";
import {EvmCreationTxVerifier} from "../../src/fault/evm/EvmCreationTxVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {VmCreateAddress} from "./EvmCreateSteps.t.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";

/// @notice Creation transactions (docs/evm-steps.md section 10): the creation entry (witness kind
///         9) on small state tries (`RefTrie`) with a signed EIP-1559 transaction without `to`, the
///         depth-0 init frame's end into the returning state, and its return step (kind 6 with a
///         `CallerFrame` whose `frame` is 0) that deposits the code and ends the transaction; all
///         through `OneStepVerifier.step`, every post-state built here from the spec (the new
///         address from forge's derivation, the new account, the debit, the frame and its
///         `parent`, the deposit, the refund cap).
contract EvmCreationTxStepsTest is EvmStepHelpers {
    VmCreateAddress internal constant VM_CREATE =
        VmCreateAddress(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant SENDER_KEY = 0xA11CE;
    address internal constant OTHER = address(0xBEEF);
    /// @dev The transaction's nonce (the start step left the sender at NONCE + 1).
    uint64 internal constant NONCE = 5;
    uint64 internal constant GAS_LIMIT = 200_000;
    uint64 internal constant GAS_LEFT = 140_000;
    uint256 internal constant SENDER_BALANCE = 10 ether;
    /// @dev PUSH1 3, PUSH1 0, RETURN: three zero bytes of code.
    bytes internal constant INIT_CODE = hex"60036000f3";

    /// @dev A creation transaction and the state it is entered in.
    struct Creation {
        address sender;
        uint256 value;
        bytes data;
        bool accessList;
        /// @dev A call to OTHER instead of a creation.
        bool call;
        bytes rawTx;
        address created;
        /// @dev An account at the new address before the entry (`exists` false: none).
        Accounts.Account existing;
        AccountWorld.World world;
        MachineState.State pre;
        bytes[] newProof;
        bytes[] callerProof;
        /// @dev With `accessList`: the proofs warming OTHER (`AccountWorld.warmAccessList`).
        bytes[][] accessProofs;
    }

    // ------------------------------------------------------------------------------------------
    // The creation entry (kind 9)

    /// @dev A signed EIP-1559 transaction from the sender: a creation of `c.data` (or a call to OTHER).
    function signed(Creation memory c) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](9);
        f[0] = RLPWriter.writeUint(CHAIN_ID);
        f[1] = RLPWriter.writeUint(NONCE);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = c.call ? RLPWriter.writeAddress(OTHER) : bytes(hex"80");
        f[6] = RLPWriter.writeUint(c.value);
        f[7] = RLPWriter.writeBytes(c.data);
        f[8] = hex"c0";
        if (c.accessList) f[8] = AccountWorld.accessListRlp(otherListed());
        return signedTx(SENDER_KEY, f);
    }

    /// @dev The access list of `c.accessList`: OTHER without keys.
    function otherListed() internal pure returns (AccountWorld.AccessList memory al) {
        al.addrs = new address[](1);
        al.addrs[0] = OTHER;
        al.keys = new bytes32[][](1);
    }

    function creation(uint256 value) internal returns (Creation memory c) {
        c.sender = vm.addr(SENDER_KEY);
        c.value = value;
        c.data = INIT_CODE;
        c.created = VM_CREATE.computeCreateAddress(c.sender, NONCE);
    }

    /// @dev `c`'s transaction, world, pre-state and witness (as the entry step proves it).
    function build(Creation memory c) internal returns (Creation memory) {
        c.rawTx = signed(c);
        c.world.who = new address[](2);
        c.world.accounts = new Accounts.Account[](2);
        (c.world.who[0], c.world.who[1]) = (c.sender, OTHER);
        c.world.accounts[0] = AccountWorld.account(NONCE + 1, SENDER_BALANCE, Accounts.EMPTY_CODE_HASH);
        c.world.accounts[1] = AccountWorld.account(1, 5, keccak256("other code"));
        if (c.existing.exists) c.world = AccountWorld.withAccount(c.world, c.created, c.existing);
        c.pre = entryPre(c.sender, AccountWorld.rootOf(c.world), c.rawTx, GAS_LIMIT, GAS_LEFT);
        c.newProof = AccountWorld.proofOf(c.world, c.created);
        c.callerProof = new bytes[](0);
        c.accessProofs = new bytes[][](0);
        if (c.accessList) (, c.accessProofs) = AccountWorld.warmAccessList(otherListed());
        if (c.value != 0) {
            c.callerProof = AccountWorld.proofOf(AccountWorld.withAccount(c.world, c.created, newAccount(c)), c.sender);
        }
        return c;
    }

    function newAccount(Creation memory c) internal pure returns (Accounts.Account memory) {
        return AccountWorld.account(1, c.existing.balance + c.value, Accounts.EMPTY_CODE_HASH);
    }

    function entryWitness(Creation memory c) internal pure returns (bytes memory) {
        return abi.encode(uint8(9), abi.encode(c.rawTx, c.newProof, c.callerProof, c.accessProofs));
    }

    function enter(Creation memory c) internal view returns (bytes32) {
        return verifier.step(abi.encode(c.pre), entryWitness(c));
    }

    function expectEntryRevert(Creation memory c, bytes memory reason) internal {
        bytes memory pre = abi.encode(c.pre);
        bytes memory proof = entryWitness(c);
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The state after the entry: the new account, the sender debited.
    function entered(Creation memory c) internal pure returns (AccountWorld.World memory w) {
        w = AccountWorld.withAccount(c.world, c.created, newAccount(c));
        Accounts.Account memory s = AccountWorld.accountOf(w, c.sender);
        s.balance -= c.value;
        w = AccountWorld.withAccount(w, c.sender, s);
    }

    /// @dev The init frame at its first instruction (spec section 4, step 5).
    function initFrame(Creation memory c) internal pure returns (EvmTypes.EvmState memory e) {
        bytes32 startRoot = AccountWorld.rootOf(c.world);
        EvmTypes.CallerFrame memory none_ = EvmTypes.CallerFrame(0, 0, 0, startRoot, 0, 0, c.created);
        e.txHash = keccak256(c.rawTx);
        e.txStartRoot = startRoot;
        if (c.accessList) (e.substate,) = AccountWorld.warmAccessList(otherListed());
        e.depth = 0;
        e.parent = keccak256(abi.encode(none_));
        e.self = c.created;
        e.caller = c.sender;
        e.value = c.value;
        e.isStatic = false;
        e.codeHash = keccak256(c.data);
        e.calldataRoot = WordModel.root("");
        e.calldataSize = 0;
        e.returnDataRoot = WordModel.root("");
        e.returnDataSize = 0;
        e.pc = 0;
        e.gas = GAS_LEFT;
        e.stackSize = 0;
        e.stack = 0;
        e.memSize = 0;
        e.memRoot = WordModel.root("");
    }

    /// @dev The post-state of `c`'s entry when the init frame starts.
    function started(Creation memory c) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(c.pre);
        s.stateRoot = AccountWorld.rootOf(entered(c));
        s.evm = EvmTypes.hash(initFrame(c));
        return MachineState.hash(s);
    }

    /// @dev The post-state of a collision: the transaction ends failed with all its gas.
    function collided(Creation memory c) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(c.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = false;
        s.gasLeft = 0;
        s.refund = 0;
        return MachineState.hash(s);
    }

    /// @notice A creation with a value: the new account (nonce 1, the value) and the sender's
    ///         debit in the state root, the init frame at depth 0 with its parent.
    function test_creationEntryWithValue() public {
        Creation memory c = build(creation(300));
        assertEq(c.created, creationTxs().createAddress(c.sender, NONCE));
        assertEq(enter(c), started(c));
        // The new account and the debit, read back from the post-state's trie.
        AccountWorld.World memory w = entered(c);
        Accounts.Account memory n =
            Accounts.read(AccountWorld.rootOf(w), Accounts.key(c.created), AccountWorld.proofOf(w, c.created));
        assertEq(n.nonce, 1);
        assertEq(n.balance, 300);
        Accounts.Account memory s =
            Accounts.read(AccountWorld.rootOf(w), Accounts.key(c.sender), AccountWorld.proofOf(w, c.sender));
        assertEq(s.balance, SENDER_BALANCE - 300);
        assertEq(s.nonce, NONCE + 1);
    }

    /// @notice Without a value: only the new account, no caller proof (one given is refused).
    function test_creationEntryWithoutValue() public {
        Creation memory c = build(creation(0));
        assertEq(enter(c), started(c));
        c.callerProof = AccountWorld.proofOf(c.world, c.sender);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice An account with only a balance at the new address is no collision: it keeps its
    ///         balance (plus the value) and gets nonce 1.
    function test_creationEntryOverABalance() public {
        Creation memory c = creation(300);
        c.existing = AccountWorld.account(0, 77, Accounts.EMPTY_CODE_HASH);
        c = build(c);
        assertEq(enter(c), started(c));
        c = creation(0);
        c.existing = AccountWorld.account(0, 77, Accounts.EMPTY_CODE_HASH);
        c = build(c);
        assertEq(enter(c), started(c));
    }

    /// @notice A transaction with an access list: the frame's substate holds OTHER warm (one proof);
    ///         without the proof, or with one more, the entry reverts.
    function test_creationEntryWithAccessList() public {
        Creation memory c = creation(300);
        c.accessList = true;
        c = build(c);
        assertEq(enter(c), started(c));
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = Accounts.key(OTHER);
        assertEq(initFrame(c).substate, AccountWorld.substateOf(warm));
        c.accessProofs = new bytes[][](0);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
        c.accessProofs = new bytes[][](2);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice A nonce or code at the new address: the transaction ends failed with all its gas
    ///         (the nonce bump and the prepaid gas stay in the state root).
    function test_creationEntryCollision() public {
        Creation memory c = creation(300);
        c.existing = AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH);
        c = build(c);
        c.callerProof = new bytes[](0);
        assertEq(enter(c), collided(c));
        c = creation(0);
        c.existing = AccountWorld.account(0, 0, keccak256("code"));
        c = build(c);
        assertEq(enter(c), collided(c));
        // A collision reads no caller proof.
        c.callerProof = AccountWorld.proofOf(c.world, c.sender);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice An account with storage (no code, nonce 0) at the new address: the rest of the
    ///         transaction.
    function test_creationEntryOverStorage() public {
        Creation memory c = creation(300);
        c.existing = AccountWorld.account(0, 7, Accounts.EMPTY_CODE_HASH);
        c.existing.storageRoot = keccak256("storage");
        c = build(c);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice A call transaction given as kind 9, a wrong entry marker, a transaction that does
    ///         not decode.
    function test_creationEntryRefusals() public {
        Creation memory c = creation(0);
        c.call = true;
        c = build(c);
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));

        c = build(creation(0));
        bytes32 marker = c.pre.evm;
        c.pre.evm = keccak256("another marker");
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, c.pre.evm, marker));
        // The init frame's state is no entry marker.
        c.pre.evm = EvmTypes.hash(initFrame(c));
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, c.pre.evm, marker));

        c = build(creation(0));
        c.rawTx = hex"02c0";
        c.pre.evm = EvmTypes.entryMarker(keccak256(c.rawTx));
        expectEntryRevert(c, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
    }

    /// @notice Tampered account proofs revert.
    function test_creationEntryTamperedProofs() public {
        Creation memory c = build(creation(300));
        // newProof of another state.
        c.newProof = AccountWorld.proofOf(
            AccountWorld.withAccount(c.world, address(0x1234), AccountWorld.account(1, 1, Accounts.EMPTY_CODE_HASH)),
            c.created
        );
        expectEntryRevert(c, "");
        c = build(creation(300));
        c.newProof = new bytes[](0);
        expectEntryRevert(c, "");
        c = build(creation(300));
        bytes memory node = bytes.concat(c.newProof[c.newProof.length - 1]);
        node[node.length - 1] ^= 0x01;
        c.newProof[c.newProof.length - 1] = node;
        expectEntryRevert(c, "");
        // callerProof against the root before the new account was written.
        c = build(creation(300));
        c.callerProof = AccountWorld.proofOf(c.world, c.sender);
        expectEntryRevert(c, "");
        c = build(creation(300));
        c.callerProof = new bytes[](0);
        expectEntryRevert(c, "");
    }

    /// @notice `EvmCreationTxVerifier` called directly refuses other phases and kinds; the entry
    ///         verifier (kind 0) still refuses a creation.
    function test_creationTxVerifierRefusesOtherPhasesAndKinds() public {
        EvmCreationTxVerifier v = creationTxs();
        Creation memory c = build(creation(300));
        bytes memory proof = entryWitness(c);
        assertEq(v.step(c.pre, proof), started(c));
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        v.step(c.pre, abi.encode(uint8(0), body));
        c.pre.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        v.step(c.pre, proof);
        c.pre.phase = MachineState.IN_TX;
        bytes memory pre = abi.encode(c.pre);
        bytes memory asEntry =
            abi.encode(uint8(0), abi.encode(c.rawTx, new bytes[](0), c.newProof, c.data, new bytes[][](0)));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(pre, asEntry);
    }

    /// @notice Gas of the creation entry: with a value, without, a collision.
    function test_gasOfCreationEntries() public {
        Creation memory c = build(creation(300));
        assertEq(this.gasOfStep(abi.encode(c.pre), entryWitness(c), "creation entry, value, gas:"), started(c));
        c = build(creation(0));
        assertEq(this.gasOfStep(abi.encode(c.pre), entryWitness(c), "creation entry, no value, gas:"), started(c));
        c = creation(300);
        c.existing = AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH);
        c = build(c);
        c.callerProof = new bytes[](0);
        assertEq(this.gasOfStep(abi.encode(c.pre), entryWitness(c), "creation entry, collision, gas:"), collided(c));
    }

    function creationTxs() internal view returns (EvmCreationTxVerifier) {
        return EvmCreationTxVerifier(address(EvmCallVerifier(address(evm.CALL())).CREATION_TXS()));
    }

    // ------------------------------------------------------------------------------------------
    // The whole transaction: entry, the init code's instructions, the end, the return step

    /// @notice PUSH1 3, PUSH1 0, RETURN: the init frame's RETURN leaves the returning state, whose
    ///         return step deposits three zero bytes of code (600 gas) and ends the transaction.
    function test_creationTransactionEndToEnd() public {
        Creation memory c = build(creation(300));
        bytes32 post = this.gasOfStep(abi.encode(c.pre), entryWitness(c), "creation entry step (kind 9), gas:");
        assertEq(post, started(c));
        MachineState.State memory m = copyState(c.pre);
        m.stateRoot = AccountWorld.rootOf(entered(c));
        EvmTypes.EvmState memory e = initFrame(c);
        m.evm = EvmTypes.hash(e);
        // PUSH1 3.
        EvmTypes.EvmState memory e1 = abi.decode(abi.encode(e), (EvmTypes.EvmState));
        e1.pc = 2;
        e1.gas -= 3;
        e1.stackSize = 1;
        e1.stack = keccak256(abi.encodePacked(uint256(3), bytes32(0)));
        m = instruction(m, e, new uint256[](0), bytes32(0), EvmTypes.hash(e1));
        // PUSH1 0.
        EvmTypes.EvmState memory e2 = abi.decode(abi.encode(e1), (EvmTypes.EvmState));
        e2.pc = 4;
        e2.gas -= 3;
        e2.stackSize = 2;
        e2.stack = keccak256(abi.encodePacked(uint256(0), e1.stack));
        m = instruction(m, e1, new uint256[](0), e1.stack, EvmTypes.hash(e2));
        // RETURN of 3 bytes at 0: one word of memory (3 gas); the returning state.
        uint256[] memory top = new uint256[](2);
        (top[0], top[1]) = (0, 3);
        EvmTypes.FrameEnd memory end =
            EvmTypes.FrameEnd(e.parent, 1, e2.gas - 3, e.substate, WordModel.root(new bytes(32)), 0, 3);
        m = instruction(m, e2, top, bytes32(0), keccak256(abi.encode(end)));
        returnAndEnd(c, m, end);
    }

    /// @dev The end-to-end transaction's return step: no caller, the code deposited, the
    ///      transaction ends.
    function returnAndEnd(Creation memory c, MachineState.State memory m, EvmTypes.FrameEnd memory end) internal view {
        EvmTypes.CallerFrame memory frame = EvmTypes.CallerFrame(0, 0, 0, AccountWorld.rootOf(c.world), 0, 0, c.created);
        EvmTypes.EvmState memory nobody;
        EvmTypes.WordRange memory dest;
        AccountWorld.World memory w = entered(c);
        bytes memory body = abi.encode(
            end, frame, nobody, RangeModel.range(new bytes(32), 0, 0), dest, AccountWorld.proofOf(w, c.created)
        );
        bytes32 post = this.gasOfStep(
            abi.encode(m), abi.encode(uint8(6), body), "creation transaction's return step (3 bytes), gas:"
        );
        Accounts.Account memory n = AccountWorld.accountOf(w, c.created);
        n.codeHash = keccak256(new bytes(3));
        MachineState.State memory x = copyState(m);
        x.phase = MachineState.TX_EXECUTED;
        x.evm = bytes32(0);
        x.success = true;
        x.stateRoot = AccountWorld.rootOf(AccountWorld.withAccount(w, c.created, n));
        x.gasLeft = GAS_LEFT - 9 - 600;
        x.refund = 0;
        assertEq(post, MachineState.hash(x));
    }

    /// @dev The machine after the stage-1 instruction of `e` (code INIT_CODE), which must leave
    ///      `evm` = `expected` and nothing else changed.
    function instruction(
        MachineState.State memory m,
        EvmTypes.EvmState memory e,
        uint256[] memory top,
        bytes32 rest,
        bytes32 expected
    ) internal view returns (MachineState.State memory next) {
        bytes memory proof = abi.encode(uint8(1), abi.encode(e, INIT_CODE, top, rest, noWords(), blockItem()));
        next = copyState(m);
        next.evm = expected;
        assertEq(verifier.step(abi.encode(m), proof), MachineState.hash(next));
    }

    // ------------------------------------------------------------------------------------------
    // The init frame's end at depth 0 (EvmFrame.post)

    bytes32 internal constant INIT_PARENT = keccak256("creation transaction's CallerFrame");
    bytes32 internal constant INIT_SUBSTATE = keccak256("init frame's substate");

    /// @dev `f` as a creation transaction's init frame (depth 0, a parent).
    function initState(Frame memory f) internal pure returns (EvmTypes.EvmState memory e) {
        e = state(f);
        e.parent = INIT_PARENT;
        e.substate = INIT_SUBSTATE;
    }

    function initStep(Frame memory f, uint256 reads) internal view returns (bytes32) {
        (uint256[] memory top, bytes32 rest) = opening(f, reads);
        MachineState.State memory m = machine(f);
        m.evm = EvmTypes.hash(initState(f));
        bytes memory proof = abi.encode(uint8(1), abi.encode(initState(f), f.code, top, rest, noWords(), blockItem()));
        return verifier.step(abi.encode(m), proof);
    }

    /// @dev The returning state after the init frame `f` ends.
    function initEnded(
        Frame memory f,
        uint8 outcome,
        uint256 gasLeft,
        bytes32 memRoot,
        uint256 outOffset,
        uint256 outSize
    ) internal pure returns (bytes32) {
        return frameEnded(machine(f), INIT_PARENT, INIT_SUBSTATE, outcome, gasLeft, memRoot, outOffset, outSize);
    }

    /// @notice STOP, RETURN, REVERT and an exceptional halt at depth 0 with a parent leave the
    ///         returning state (`FrameEnd`), as at depth >= 1; an instruction that continues is
    ///         unchanged.
    function test_initFrameEndsIntoTheReturningState() public view {
        Frame memory f = frame(op(0x00), one(7));
        assertEq(initStep(f, 0), initEnded(f, 1, f.gas, 0, 0, 0));
        bytes memory mem = pattern(64, 1);
        f = frame(op(0xf3), two(7, 40));
        f.mem = mem;
        assertEq(initStep(f, 2), initEnded(f, 1, f.gas, WordModel.root(mem), 7, 40));
        f.code = op(0xfd);
        assertEq(initStep(f, 2), initEnded(f, 2, f.gas, WordModel.root(mem), 7, 40));
        // Past the memory: the expansion is paid.
        f = frame(op(0xf3), two(40, 50));
        f.mem = mem;
        uint256 cost = memoryCost(3) - memoryCost(2);
        assertEq(initStep(f, 2), initEnded(f, 1, f.gas - cost, WordModel.root(mem), 40, 50));
        // Exceptional halts: INVALID, out of gas.
        f = frame(op(0xfe), one(1));
        assertEq(initStep(f, 0), initEnded(f, 3, 0, 0, 0, 0));
        f = frame(op(0xf3), two(0, 1000));
        f.gas = 2;
        assertEq(initStep(f, 2), initEnded(f, 3, 0, 0, 0, 0));
        // ADD continues.
        f = frame(op(0x01), two(1, 2));
        Frame memory g = copy(f);
        g.stack = one(3);
        g.pc = 1;
        g.gas -= 3;
        MachineState.State memory m = machine(f);
        m.evm = EvmTypes.hash(initState(g));
        assertEq(initStep(f, 2), MachineState.hash(m));
    }

    /// @notice With parent 0 (a call transaction's frame) the same ends still end the transaction.
    function test_depthZeroWithoutParentEndsTheTransaction() public view {
        Frame memory f = frame(op(0x00), one(7));
        assertEq(step(f, witness(f, 0, noWords())), halted(f, 1, 0));
        bytes memory mem = pattern(64, 1);
        f = frame(op(0xf3), two(7, 40));
        f.mem = mem;
        assertEq(step(f, witness(f, 2, noWords())), halted(f, 1, 0));
        f.code = op(0xfd);
        assertEq(step(f, witness(f, 2, noWords())), halted(f, 2, 0));
        f = frame(op(0xfe), one(1));
        assertEq(step(f, witness(f, 0, noWords())), halted(f, 3, 0));
    }

    // ------------------------------------------------------------------------------------------
    // The return step of a creation transaction's init frame (kind 6, `frame` 0)

    address internal constant NEW = address(0x4E3);
    bytes32 internal constant TX_START = keccak256("the transaction's start root");
    uint64 internal constant INIT_REFUND = 9600;

    struct TxRet {
        bytes initMem;
        AccountWorld.World world;
        EvmTypes.CallerFrame frame;
        EvmTypes.FrameEnd end;
        EvmTypes.WordRange output;
        EvmTypes.WordRange dest;
        EvmTypes.EvmState caller;
        bytes[] createdProof;
        uint64 gasLeftBefore;
    }

    /// @dev A creation transaction's init frame that ended with `outcome`, its output `outSize`
    ///      bytes at `outOffset` of its memory `initMem`, `gasLeft` gas left.
    function txRet(uint8 outcome, bytes memory initMem, uint256 outOffset, uint256 outSize, uint256 gasLeft)
        internal
        pure
        returns (TxRet memory r)
    {
        r.initMem = initMem;
        r.world.who = new address[](2);
        r.world.accounts = new Accounts.Account[](2);
        (r.world.who[0], r.world.who[1]) = (CALLER, NEW);
        r.world.accounts[0] = AccountWorld.account(NONCE + 1, 700, Accounts.EMPTY_CODE_HASH);
        r.world.accounts[1] = AccountWorld.account(1, 300, Accounts.EMPTY_CODE_HASH);
        r.frame = EvmTypes.CallerFrame(0, 0, 0, TX_START, 0, 0, NEW);
        r.end.parent = keccak256(abi.encode(r.frame));
        r.end.outcome = outcome;
        // forge-lint: disable-next-line(unsafe-typecast)
        r.end.gasLeft = outcome == 3 ? 0 : uint64(gasLeft);
        r.end.substate = outcome == 1 ? INIT_SUBSTATE : bytes32(0);
        if (outSize != 0) {
            r.end.memRoot = WordModel.root(initMem);
            // forge-lint: disable-next-line(unsafe-typecast)
            r.end.outOffset = uint32(outOffset);
            // forge-lint: disable-next-line(unsafe-typecast)
            r.end.outSize = uint32(outSize);
            // A failed creation transaction's output goes to no caller: not opened.
            if (outcome == 1) r.output = RangeModel.range(initMem, outOffset / 32, (outOffset + outSize - 1) / 32);
        }
        r.createdProof = AccountWorld.proofOf(r.world, NEW);
        r.gasLeftBefore = 190_000;
    }

    function txRetMachine(TxRet memory r) internal pure returns (MachineState.State memory s) {
        s.phase = MachineState.IN_TX;
        s.stateRoot = AccountWorld.rootOf(r.world);
        s.inputs = keccak256("inputs");
        s.blockItem = MachineState.itemHash(blockItem());
        s.blockGasUsed = 21_000;
        s.txsLeft = 2;
        s.caller = CALLER;
        s.txGasLimit = GAS_LIMIT;
        s.effectiveGasPrice = 9;
        s.priorityFee = 2;
        s.gasLeft = r.gasLeftBefore;
        s.refund = INIT_REFUND;
        s.floorGas = 21_000;
        s.evm = keccak256(abi.encode(r.end));
    }

    function txRetWitness(TxRet memory r) internal pure returns (bytes memory) {
        return abi.encode(uint8(6), abi.encode(r.end, r.frame, r.caller, r.output, r.dest, r.createdProof));
    }

    function txRetStep(TxRet memory r) internal view returns (bytes32) {
        return verifier.step(abi.encode(txRetMachine(r)), txRetWitness(r));
    }

    function expectTxRetRevert(TxRet memory r, bytes memory reason) internal {
        bytes memory pre = abi.encode(txRetMachine(r));
        bytes memory proof = txRetWitness(r);
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The transaction's end after `code` is deposited: the code hash written, the gas left
    ///      less 200 a byte, the refund capped at a fifth of the gas spent.
    function txDeposited(TxRet memory r, bytes memory code) internal pure returns (bytes32) {
        Accounts.Account memory n = AccountWorld.accountOf(r.world, NEW);
        n.codeHash = keccak256(code);
        MachineState.State memory s = txRetMachine(r);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = true;
        s.stateRoot = AccountWorld.rootOf(AccountWorld.withAccount(r.world, NEW, n));
        // forge-lint: disable-next-line(unsafe-typecast)
        s.gasLeft = uint64(r.end.gasLeft - 200 * code.length);
        uint64 cap = (GAS_LIMIT - s.gasLeft) / 5;
        s.refund = INIT_REFUND < cap ? INIT_REFUND : cap;
        return MachineState.hash(s);
    }

    /// @dev The transaction's end after a failed creation: the start root, no refund; a revert
    ///      keeps its gas, anything else spends it all.
    function txFailed(TxRet memory r, bool reverted) internal pure returns (bytes32) {
        MachineState.State memory s = txRetMachine(r);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = false;
        s.stateRoot = TX_START;
        s.gasLeft = reverted ? r.end.gasLeft : 0;
        s.refund = 0;
        return MachineState.hash(s);
    }

    /// @notice A successful init frame's output becomes the code: success, the gas left less the
    ///         deposit, the refund capped, the code hash in the state root; the witness's caller
    ///         is not looked at.
    function test_txReturnStepDepositsTheCode() public view {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        TxRet memory r = txRet(1, mem, 7, 70, 150_000);
        assertEq(txRetStep(r), txDeposited(r, slice(mem, 7, 70)));
        // The refund is not capped here (INIT_REFUND below a fifth of the gas spent)...
        assertLt(INIT_REFUND, (GAS_LIMIT - (150_000 - 14_000)) / 5);
        // ... and is capped here.
        r = txRet(1, mem, 7, 70, 190_000);
        assertGt(INIT_REFUND, (GAS_LIMIT - (190_000 - 14_000)) / 5);
        assertEq(txRetStep(r), txDeposited(r, slice(mem, 7, 70)));
        // Exactly the deposit's gas.
        r = txRet(1, mem, 7, 70, 200 * 70);
        assertEq(txRetStep(r), txDeposited(r, slice(mem, 7, 70)));
        // No output: the empty code.
        r = txRet(1, mem, 0, 0, 1234);
        assertEq(txRetStep(r), txDeposited(r, ""));
        // Any caller in the witness.
        r = txRet(1, mem, 7, 70, 150_000);
        r.caller = state(frame(op(0x00), one(1)));
        assertEq(txRetStep(r), txDeposited(r, slice(mem, 7, 70)));
        // The gas of the step.
        this.gasOfStep(abi.encode(txRetMachine(r)), txRetWitness(r), "creation tx return step (70 bytes), gas:");
        bytes memory big = pattern(24_576, 5);
        big[0] = 0x00;
        r = txRet(1, big, 0, 24_576, 200 * 24_576 + 5);
        bytes32 post = this.gasOfStep(
            abi.encode(txRetMachine(r)), txRetWitness(r), "creation tx return step (24,576 bytes), gas:"
        );
        assertEq(post, txDeposited(r, big));
    }

    /// @notice A reverted init frame: the start root, its gas left, no refund; a halt: no gas.
    function test_txReturnStepRevertAndHalt() public view {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0xef;
        TxRet memory r = txRet(2, mem, 7, 70, 1234);
        assertEq(txRetStep(r), txFailed(r, true));
        r = txRet(2, mem, 0, 0, 1234);
        assertEq(txRetStep(r), txFailed(r, true));
        r = txRet(3, mem, 0, 0, 0);
        assertEq(txRetStep(r), txFailed(r, false));
        // A failure reads no createdProof.
        r = txRet(2, mem, 7, 70, 1234);
        r.createdProof = new bytes[](0);
        assertEq(txRetStep(r), txFailed(r, true));
    }

    /// @notice A refused deposit (0xEF first, over 24,576 bytes, one gas short) ends the
    ///         transaction as an exceptional halt: the start root, no gas, no refund.
    function test_txReturnStepFailedDeposits() public {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0xef;
        TxRet memory r = txRet(1, mem, 7, 70, 150_000);
        assertEq(txRetStep(r), txFailed(r, false));
        mem[7] = 0x60;
        r = txRet(1, mem, 7, 70, 200 * 70 - 1);
        assertEq(txRetStep(r), txFailed(r, false));
        // 24,577 bytes: nothing is opened.
        r = txRet(1, mem, 7, 70, 10_000_000);
        r.end.outSize = 24_577;
        r.output = RangeModel.range(mem, 0, 0);
        r.output.words = new bytes32[](0);
        r.output.siblings = new bytes32[](0);
        assertEq(txRetStep(r), txFailed(r, false));
        r.output = RangeModel.range(mem, 0, 2);
        expectTxRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
    }

    /// @notice Wrong witnesses: a createdProof of another state, the output's words, a destination
    ///         range, a `CallerFrame` without a caller nor a created account.
    function test_txReturnStepTamperedWitness() public {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        TxRet memory r = txRet(1, mem, 7, 70, 150_000);
        r.createdProof = AccountWorld.proofOf(
            AccountWorld.withAccount(r.world, OTHER, AccountWorld.account(1, 1, Accounts.EMPTY_CODE_HASH)), NEW
        );
        expectTxRetRevert(r, "");
        r = txRet(1, mem, 7, 70, 150_000);
        r.createdProof = new bytes[](0);
        expectTxRetRevert(r, "");
        r = txRet(1, mem, 7, 70, 150_000);
        r.output.words[0] = bytes32(uint256(r.output.words[0]) ^ 1);
        expectTxRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        r = txRet(1, mem, 7, 70, 150_000);
        r.dest = RangeModel.range(mem, 0, 0);
        expectTxRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        // A wrong stateRoot snapshot changes the frame's hash.
        r = txRet(2, mem, 7, 70, 1234);
        r.frame.stateRoot = keccak256("another root");
        expectTxRetRevert(
            r,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmStateMismatch.selector, r.end.parent, keccak256(abi.encode(r.frame))
            )
        );
        // No caller and no created account: an EIP-7702 transaction's frame (kind 13), whose end
        // reads no output (EvmAuthorizedTxEndSteps): this witness's output range is refused.
        r = txRet(2, mem, 7, 70, 1234);
        r.output = RangeModel.range(mem, 0, 2);
        r.frame.created = address(0);
        r.end.parent = keccak256(abi.encode(r.frame));
        expectTxRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        // Nor does a failed creation transaction's end.
        r = txRet(2, mem, 7, 70, 1234);
        r.output = RangeModel.range(mem, 0, 2);
        expectTxRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
    }

    function slice(bytes memory data, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = data[start + i];
        }
    }

    /// @dev One `step` call, its gas logged, from a fresh call frame.
    function gasOfStep(bytes calldata pre, bytes calldata proof, string calldata what)
        external
        view
        returns (bytes32 post)
    {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        console.log(what, before - gasleft());
    }
}
