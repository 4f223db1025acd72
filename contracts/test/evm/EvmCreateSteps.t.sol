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
import {EvmCreateVerifier} from "../../src/fault/evm/EvmCreateVerifier.sol";
import {EvmStateVerifier} from "../../src/fault/evm/EvmStateVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks: forge's own
///      (Rust) derivation of creation addresses, independent of `EvmCreateVerifier`'s.
interface VmCreateAddress {
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function computeCreate2Address(bytes32 salt, bytes32 initCodeHash, address deployer) external pure returns (address);
}

/// @notice CREATE and CREATE2 (docs/evm-steps.md section 10, witness kind 8) and the return step of
///         an init frame (kind 6 with `CallerFrame.created`), hand-built on small state tries
///         (`RefTrie`), through `OneStepVerifier.step`: every post-state is compared with one built
///         here from the spec (the init frame, its `CallerFrame`, the nonce bump, the value, the
///         warm address, the code deposit); the addresses against forge's derivation and EIP-1014's
///         vectors; every halt, failure and out-of-gas point; each witness field tampered.
contract EvmCreateStepsTest is EvmStepHelpers {
    VmCreateAddress internal constant VM_CREATE =
        VmCreateAddress(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant MAX = type(uint256).max;
    uint256 internal constant FILLER = 0x1111;
    address internal constant OTHER = address(0xBEEF);
    uint256 internal constant SELF_BALANCE = 1000;
    uint64 internal constant REFUND = 2400;
    bytes32 internal constant OLD_RETURN_DATA = keccak256("old return data");
    uint32 internal constant OLD_RETURN_SIZE = 5;

    /// @dev One creation: its opcode and stack items, the creator's frame and state.
    struct CreateCase {
        uint8 op;
        uint256 value;
        uint256 offset;
        uint256 len;
        bytes32 salt;
        uint16 depth;
        uint256 gas;
        bool isStatic;
        uint256 nonce;
        uint256 selfBalance;
        /// @dev The new address is warm before the step.
        bool warm;
        /// @dev An account at the new address before the step (`exists` false: none).
        Accounts.Account existing;
        bytes mem;
        /// @dev Stack items below the creation's (FILLER).
        bool filler;
        /// @dev Fewer stack items than the instruction reads.
        bool underflow;
    }

    /// @dev A creation step's witness and what it derives.
    struct CreateStep {
        Frame caller;
        EvmTypes.EvmState e;
        AccountWorld.World world;
        bytes32[] warmBefore;
        bytes initCode;
        address created;
        EvmCreateVerifier.CreateWitness w;
        MachineState.State pre;
        bytes proof;
    }

    function slice(bytes memory data, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = data[start + i];
        }
    }

    // ------------------------------------------------------------------------------------------
    // The create step (kind 8)

    function reads(CreateCase memory c) internal pure returns (uint256) {
        return c.op == 0xf5 ? 4 : 3;
    }

    /// @dev A CREATE (0xf0) or CREATE2 (0xf5) of 40 bytes at offset 5 of a 96-byte memory, with a
    ///      value of 300, at depth 0, from an account with nonce 7.
    function createCase(uint8 opc) internal pure returns (CreateCase memory c) {
        c.op = opc;
        c.value = 300;
        c.offset = 5;
        c.len = 40;
        c.salt = keccak256("salt");
        c.gas = 100_000;
        c.nonce = 7;
        c.selfBalance = SELF_BALANCE;
        c.mem = pattern(96, 6);
        c.filler = true;
    }

    /// @dev The creator's frame state (with return data, which a frame start keeps).
    function callerEvm(CreateCase memory c, Frame memory f) internal pure returns (EvmTypes.EvmState memory e) {
        e = state(f);
        e.depth = c.depth;
        e.isStatic = c.isStatic;
        if (c.depth != 0) e.parent = keccak256("creator's parent");
        e.returnDataRoot = OLD_RETURN_DATA;
        e.returnDataSize = OLD_RETURN_SIZE;
    }

    function world(CreateCase memory c) internal pure returns (AccountWorld.World memory w) {
        w.who = new address[](3);
        w.accounts = new Accounts.Account[](3);
        (w.who[0], w.who[1], w.who[2]) = (SELF, CALLER, OTHER);
        w.accounts[0] = AccountWorld.account(c.nonce, c.selfBalance, keccak256(op(c.op)));
        w.accounts[1] = AccountWorld.account(1, 10 ** 18, Accounts.EMPTY_CODE_HASH);
        w.accounts[2] = AccountWorld.account(1, 5, keccak256("other code"));
    }

    function initCodeOf(CreateCase memory c) internal pure returns (bytes memory) {
        // (No init code is read past these: the step halts first.)
        if (c.len == 0 || c.len > 49_152 || c.offset > 2 ** 32) return "";
        return slice(grown(c.mem, c.offset + c.len), c.offset, c.len);
    }

    /// @dev The new address, as forge derives it.
    function createdOf(CreateCase memory c) internal pure returns (address) {
        if (c.op == 0xf0) return VM_CREATE.computeCreateAddress(SELF, c.nonce);
        return VM_CREATE.computeCreate2Address(c.salt, keccak256(initCodeOf(c)), SELF);
    }

    /// @dev `w` after the creator's nonce bump.
    function bumped(CreateCase memory c, AccountWorld.World memory w)
        internal
        pure
        returns (AccountWorld.World memory)
    {
        Accounts.Account memory s = AccountWorld.accountOf(w, SELF);
        s.nonce = c.nonce + 1;
        return AccountWorld.withAccount(w, SELF, s);
    }

    /// @dev The new account as the frame start writes it.
    function newAccount(CreateCase memory c) internal pure returns (Accounts.Account memory n) {
        n = AccountWorld.account(1, c.existing.balance + c.value, Accounts.EMPTY_CODE_HASH);
    }

    /// @dev The witness of `c` (opening the init code when `opens`).
    function createStep(CreateCase memory c, bool opens) internal pure returns (CreateStep memory s) {
        s.caller = frame(op(c.op), none());
        s.caller.mem = c.mem;
        s.caller.gas = c.gas;
        uint256[] memory items = new uint256[](5);
        uint256 k;
        if (c.filler) items[k++] = FILLER;
        if (c.op == 0xf5) items[k++] = uint256(c.salt);
        items[k++] = c.len;
        items[k++] = c.offset;
        items[k++] = c.value;
        if (c.underflow) k = reads(c) - 1;
        s.caller.stack = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            s.caller.stack[i] = items[i];
        }
        s.e = callerEvm(c, s.caller);
        s.world = world(c);
        s.initCode = initCodeOf(c);
        s.created = createdOf(c);
        if (c.existing.exists) s.world = AccountWorld.withAccount(s.world, s.created, c.existing);
        s.warmBefore = new bytes32[](0);
        s.warmBefore = AccountWorld.plus(s.warmBefore, keccak256("some warm account"));
        if (c.warm) s.warmBefore = AccountWorld.plus(s.warmBefore, Accounts.key(s.created));
        s.e.substate = AccountWorld.substateOf(s.warmBefore);
        // The witness.
        s.w.warmSlots = MerkleTrie.EMPTY_ROOT;
        s.w.transientStorage = MerkleTrie.EMPTY_ROOT;
        s.w.warmAccounts = AccountWorld.warmRoot(s.warmBefore);
        s.w.selfProof = AccountWorld.proofOf(s.world, SELF);
        s.w.warmProof = AccountWorld.warmProof(s.warmBefore, Accounts.key(s.created));
        AccountWorld.World memory w1 = bumped(c, s.world);
        s.w.newProof = AccountWorld.proofOf(w1, s.created);
        if (c.value != 0) {
            s.w.selfAfterProof = AccountWorld.proofOf(AccountWorld.withAccount(w1, s.created, newAccount(c)), SELF);
        }
        s.w.frameWarmProof =
            AccountWorld.warmProof(AccountWorld.plus(s.warmBefore, Accounts.key(s.created)), Accounts.key(SELF));
        if (opens && c.len != 0) {
            s.w.initCode = RangeModel.range(c.mem, c.offset / 32, (c.offset + c.len - 1) / 32);
        }
        s.pre = machine(s.caller);
        s.pre.stateRoot = AccountWorld.rootOf(s.world);
        s.pre.refund = REFUND;
        s.pre.evm = EvmTypes.hash(s.e);
        s.proof = createWitness(c, s);
    }

    function createWitness(CreateCase memory c, CreateStep memory s) internal pure returns (bytes memory) {
        uint256 n = s.caller.stack.length;
        uint256 r = reads(c);
        uint256[] memory top = new uint256[](n >= r ? r : 0);
        for (uint256 i; i < top.length; ++i) {
            top[i] = s.caller.stack[n - 1 - i];
        }
        bytes32 rest = stackHash(s.caller.stack, n - top.length);
        return abi.encode(uint8(8), abi.encode(s.e, s.caller.code, top, rest, s.w));
    }

    /// @dev The cost up to and including 32,000 (and CREATE2's hashing), the memory size after it
    ///      (spec section 10), and the forwarded gas.
    function createCost(CreateCase memory c) internal pure returns (uint256 cost, uint256 memSize, uint256 f) {
        memSize = c.mem.length;
        uint256 words = (c.len + 31) / 32;
        if (c.len != 0) {
            cost = 2 * words;
            uint256 memWords = (c.offset + c.len + 31) / 32;
            if (memWords * 32 > memSize) {
                cost += memoryCost(memWords) - memoryCost(memSize / 32);
                memSize = memWords * 32;
            }
        }
        cost += 32_000;
        if (c.op == 0xf5) cost += 6 * words;
        uint256 left = c.gas - cost;
        f = left - left / 64;
    }

    function prove(CreateStep memory s) internal view returns (bytes32) {
        return verifier.step(abi.encode(s.pre), s.proof);
    }

    function expectStepRevert(CreateStep memory s, bytes memory reason) internal {
        bytes memory pre = abi.encode(s.pre);
        bytes memory proof = s.proof;
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The post-state of `c` when the init frame starts (spec section 10, steps 11 to 18).
    function started(CreateCase memory c, CreateStep memory s) internal pure returns (bytes32) {
        (uint256 cost, uint256 memSize, uint256 f) = createCost(c);
        AccountWorld.World memory w1 = bumped(c, s.world);
        AccountWorld.World memory w2 = AccountWorld.withAccount(w1, s.created, newAccount(c));
        Accounts.Account memory self = AccountWorld.accountOf(w2, SELF);
        self.balance -= c.value;
        AccountWorld.World memory w3 = AccountWorld.withAccount(w2, SELF, self);
        bytes32[] memory warm1 = AccountWorld.plus(s.warmBefore, Accounts.key(s.created));
        // The creator as it resumes.
        Frame memory r = copy(s.caller);
        r.stack = c.filler ? one(FILLER) : none();
        r.pc = 1;
        r.gas -= cost + f;
        r.mem = grown(r.mem, memSize);
        EvmTypes.EvmState memory resumed = callerEvm(c, r);
        resumed.substate = AccountWorld.substateOf(warm1);
        EvmTypes.CallerFrame memory saved = EvmTypes.CallerFrame(
            EvmTypes.hash(resumed), 0, 0, AccountWorld.rootOf(w1), AccountWorld.substateOf(warm1), REFUND, s.created
        );
        // The init frame.
        EvmTypes.EvmState memory n;
        n.txHash = TX_HASH;
        n.txStartRoot = START_ROOT;
        n.substate = AccountWorld.substateOf(c.depth == 0 ? AccountWorld.plus(warm1, Accounts.key(SELF)) : warm1);
        n.depth = c.depth + 1;
        n.parent = keccak256(abi.encode(saved));
        n.self = s.created;
        n.caller = SELF;
        n.value = c.value;
        n.codeHash = keccak256(s.initCode);
        n.calldataRoot = WordModel.root("");
        n.returnDataRoot = WordModel.root("");
        n.memRoot = WordModel.root("");
        // forge-lint: disable-next-line(unsafe-typecast)
        n.gas = uint64(f);
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = AccountWorld.rootOf(w3);
        m.evm = EvmTypes.hash(n);
        return MachineState.hash(m);
    }

    /// @dev The post-state of a creation that fails without a frame: 0 pushed, empty return data,
    ///      the forwarded gas back unless `spent`, the state root and substate given.
    function failed(CreateCase memory c, CreateStep memory s, bool spent, bytes32 stateRoot, bytes32 substate)
        internal
        pure
        returns (bytes32)
    {
        (uint256 cost, uint256 memSize, uint256 f) = createCost(c);
        if (spent) cost += f;
        Frame memory r = copy(s.caller);
        r.stack = c.filler ? two(0, FILLER) : one(0);
        r.pc = 1;
        r.gas -= cost;
        r.mem = grown(r.mem, memSize);
        EvmTypes.EvmState memory e = callerEvm(c, r);
        e.returnDataRoot = WordModel.root("");
        e.returnDataSize = 0;
        e.substate = substate;
        MachineState.State memory m = copyState(s.pre);
        m.stateRoot = stateRoot;
        m.evm = EvmTypes.hash(e);
        return MachineState.hash(m);
    }

    /// @dev The post-state of an exceptional halt of the creator (depth 0: the transaction ends;
    ///      deeper: the returning state).
    function halts(CreateCase memory c, CreateStep memory s) internal pure returns (bytes32) {
        MachineState.State memory m = copyState(s.pre);
        if (c.depth == 0) {
            m.phase = MachineState.TX_EXECUTED;
            m.evm = bytes32(0);
            m.success = false;
            m.stateRoot = START_ROOT;
            m.gasLeft = 0;
            m.refund = 0;
        } else {
            EvmTypes.FrameEnd memory end;
            end.parent = s.e.parent;
            end.outcome = 3;
            m.evm = keccak256(abi.encode(end));
        }
        return MachineState.hash(m);
    }

    /// @notice A CREATE with a value, at depth 0, to a cold address: the nonce bumped, the new
    ///         account with nonce 1 and the value, the creator debited, the address and the
    ///         transaction's recipient warm, the init frame with the init code's hash and the
    ///         forwarded gas, the creator saved with `created`.
    function test_createStartsAFrame() public view {
        CreateCase memory c = createCase(0xf0);
        CreateStep memory s = createStep(c, true);
        assertEq(s.created, VM_CREATE.computeCreateAddress(SELF, 7));
        assertEq(prove(s), started(c, s));
        // No value: no debit (no selfAfterProof).
        c.value = 0;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        // An already warm address, at depth 3 (the creator is not inserted into warmAccounts).
        c = createCase(0xf0);
        c.warm = true;
        c.depth = 3;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        // An address holding a balance (no code, nonce 0): the balance stays and grows by the value.
        c = createCase(0xf0);
        c.existing = AccountWorld.account(0, 77, Accounts.EMPTY_CODE_HASH);
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        // Empty init code (no range), an aligned one, a large nonce, no item below.
        c = createCase(0xf0);
        c.len = 0;
        c.offset = MAX;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        c = createCase(0xf0);
        c.offset = 32;
        c.len = 64;
        c.nonce = 0x123456;
        c.filler = false;
        s = createStep(c, true);
        assertEq(s.created, VM_CREATE.computeCreateAddress(SELF, 0x123456));
        assertEq(prove(s), started(c, s));
        // The memory expands over the init code (zero bytes past the old memory).
        c = createCase(0xf0);
        c.offset = 80;
        c.len = 100;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        // Exactly the gas up to the forwarded part: the init frame starts with no gas.
        c = createCase(0xf0);
        (uint256 cost,,) = createCost(c);
        c.gas = cost;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
    }

    /// @notice CREATE2: the address from the salt and the init code's hash, 6 gas a word more.
    function test_create2StartsAFrame() public view {
        CreateCase memory c = createCase(0xf5);
        CreateStep memory s = createStep(c, true);
        assertEq(s.created, VM_CREATE.computeCreate2Address(c.salt, keccak256(s.initCode), SELF));
        assertEq(prove(s), started(c, s));
        c.depth = 1;
        c.value = 0;
        c.len = 0;
        c.offset = MAX;
        s = createStep(c, true);
        assertEq(s.created, VM_CREATE.computeCreate2Address(c.salt, keccak256(""), SELF));
        assertEq(prove(s), started(c, s));
    }

    function addr(bytes memory h) internal pure returns (address) {
        // 20-byte literals.
        // forge-lint: disable-next-line(unsafe-typecast)
        return address(bytes20(h));
    }

    function creates() internal view returns (EvmCreateVerifier) {
        return EvmCreateVerifier(address(EvmCallVerifier(address(evm.CALL())).CREATES()));
    }

    /// @notice CREATE2's address against EIP-1014's example vectors and forge's derivation.
    function test_create2AddressVectors() public view {
        EvmCreateVerifier v = creates();
        assertEq(v.create2Address(address(0), 0, keccak256(hex"00")), 0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38);
        assertEq(
            v.create2Address(addr(hex"deadbeef00000000000000000000000000000000"), 0, keccak256(hex"00")),
            0xB928f69Bb1D91Cd65274e3c79d8986362984fDA3
        );
        assertEq(
            v.create2Address(
                addr(hex"deadbeef00000000000000000000000000000000"),
                0x000000000000000000000000feed000000000000000000000000000000000000,
                keccak256(hex"00")
            ),
            0xD04116cDd17beBE565EB2422F2497E06cC1C9833
        );
        assertEq(v.create2Address(address(0), 0, keccak256("")), 0xE33C0C7F7df4809055C3ebA6c09CFe4BaF1BD9e0);
        assertEq(
            v.create2Address(
                addr(hex"00000000000000000000000000000000deadbeef"),
                0x00000000000000000000000000000000000000000000000000000000cafebabe,
                keccak256(hex"deadbeef")
            ),
            0x60f3f640a8508fC6a86d45DF051962668E1e8AC7
        );
        for (uint256 i; i < 8; ++i) {
            bytes32 salt = keccak256(abi.encode("salt", i));
            bytes32 h = keccak256(abi.encode("code", i));
            address creator = address(uint160(uint256(keccak256(abi.encode("creator", i)))));
            assertEq(v.create2Address(creator, salt, h), VM_CREATE.computeCreate2Address(salt, h, creator));
        }
    }

    /// @notice CREATE's address, `keccak256(rlp([creator, nonce]))`, for nonces of every RLP length
    ///         against forge's derivation and a known vector.
    function test_createAddresses() public view {
        EvmCreateVerifier v = creates();
        address creator = addr(hex"6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0");
        assertEq(v.createAddress(creator, 0), addr(hex"cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"));
        assertEq(v.createAddress(creator, 1), addr(hex"343c43a37d37dff08ae8c4a11544c718abb4fcf8"));
        assertEq(v.createAddress(creator, 2), addr(hex"f778b86fa74e846c4f0a1fbd1335fe81c00a0c91"));
        assertEq(v.createAddress(creator, 3), addr(hex"fffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c"));
        uint64[10] memory nonces =
            [uint64(0), 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32, type(uint64).max - 1];
        for (uint256 i; i < nonces.length; ++i) {
            assertEq(v.createAddress(SELF, nonces[i]), VM_CREATE.computeCreateAddress(SELF, nonces[i]));
            assertEq(v.createAddress(creator, nonces[i]), VM_CREATE.computeCreateAddress(creator, nonces[i]));
        }
        // The CREATE step at nonce 0 and at a large nonce.
        CreateCase memory c = createCase(0xf0);
        c.nonce = 0;
        CreateStep memory s = createStep(c, true);
        assertEq(s.created, v.createAddress(SELF, 0));
        assertEq(prove(s), started(c, s));
        c.nonce = type(uint64).max - 1;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
    }

    /// @notice A static frame halts before anything else; so does a stack underflow.
    function test_staticFrameAndUnderflowHalt() public view {
        uint8[2] memory ops = [0xf0, 0xf5];
        for (uint256 i; i < 2; ++i) {
            CreateCase memory c = createCase(ops[i]);
            c.isStatic = true;
            CreateStep memory s = createStep(c, false);
            assertEq(prove(s), halts(c, s));
            c.depth = 2;
            s = createStep(c, false);
            assertEq(prove(s), halts(c, s));
            c = createCase(ops[i]);
            c.underflow = true;
            c.filler = false;
            s = createStep(c, false);
            assertEq(prove(s), halts(c, s));
        }
    }

    /// @notice A halting step must not open the init code.
    function test_haltOpensNoInitCode() public {
        CreateCase memory c = createCase(0xf0);
        c.isStatic = true;
        CreateStep memory s = createStep(c, true);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        // Nor a step with empty init code.
        c = createCase(0xf0);
        c.len = 0;
        s = createStep(c, false);
        s.w.initCode = RangeModel.range(c.mem, 0, 0);
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        // A starting frame must open it.
        c = createCase(0xf0);
        s = createStep(c, false);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
    }

    /// @notice At depth 1024 the creation fails: 0 pushed, the forwarded gas back, no nonce bump,
    ///         no warm address, return data emptied.
    function test_depthLimitFails() public view {
        uint8[2] memory ops = [0xf0, 0xf5];
        for (uint256 i; i < 2; ++i) {
            CreateCase memory c = createCase(ops[i]);
            c.depth = 1024;
            CreateStep memory s = createStep(c, true);
            assertEq(prove(s), failed(c, s, false, s.pre.stateRoot, s.e.substate));
        }
    }

    /// @notice A balance below the value fails the creation as the depth limit does.
    function test_balanceFails() public view {
        CreateCase memory c = createCase(0xf0);
        c.value = SELF_BALANCE + 1;
        CreateStep memory s = createStep(c, true);
        assertEq(prove(s), failed(c, s, false, s.pre.stateRoot, s.e.substate));
        // Exactly the balance: the frame starts.
        c.value = SELF_BALANCE;
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
    }

    /// @notice A collision (code, or a nonce, at the address) spends the forwarded gas, keeps the
    ///         nonce bump and the warm address; storage alone is not proven.
    function test_collision() public {
        uint8[2] memory ops = [0xf0, 0xf5];
        for (uint256 i; i < 2; ++i) {
            CreateCase memory c = createCase(ops[i]);
            c.existing = AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH);
            CreateStep memory s = createStep(c, true);
            bytes32 root1 = AccountWorld.rootOf(bumped(c, s.world));
            bytes32 substate1 = AccountWorld.substateOf(AccountWorld.plus(s.warmBefore, Accounts.key(s.created)));
            assertEq(prove(s), failed(c, s, true, root1, substate1));
            c.existing = AccountWorld.account(0, 50, keccak256("code"));
            s = createStep(c, true);
            root1 = AccountWorld.rootOf(bumped(c, s.world));
            assertEq(prove(s), failed(c, s, true, root1, substate1));
            // Already warm: the substate stays.
            c.warm = true;
            s = createStep(c, true);
            root1 = AccountWorld.rootOf(bumped(c, s.world));
            assertEq(prove(s), failed(c, s, true, root1, s.e.substate));
            // Storage without code or nonce.
            c = createCase(ops[i]);
            c.existing = AccountWorld.account(0, 50, Accounts.EMPTY_CODE_HASH);
            c.existing.storageRoot = keccak256("storage");
            s = createStep(c, true);
            expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        }
    }

    /// @notice A nonce of 2^64 - 1 is revm's nonce-overflow path: not proven.
    function test_nonceOverflowIsRestOfTransaction() public {
        CreateCase memory c = createCase(0xf0);
        c.nonce = type(uint64).max;
        CreateStep memory s = createStep(c, true);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice Init code over 49,152 bytes halts (EIP-3860), as a length or offset past 64 bits;
    ///         over 1024 words (but within the limit) is one range (`MAX_INITCODE_WORDS`, 1,537
    ///         words: 49,152 bytes at any offset), so it is proven too.
    function test_initCodeLimits() public {
        CreateCase memory c = createCase(0xf0);
        c.len = 49_153;
        CreateStep memory s = createStep(c, false);
        assertEq(prove(s), halts(c, s));
        c.len = 2 ** 64;
        s = createStep(c, false);
        assertEq(prove(s), halts(c, s));
        c.len = 40;
        c.offset = 2 ** 64;
        s = createStep(c, false);
        assertEq(prove(s), halts(c, s));
        // 1025 words, and 1024 words unaligned (1025 opened): proven.
        c = createCase(0xf5);
        c.len = 1024 * 32 + 1;
        c.offset = 0;
        c.gas = 1_000_000;
        c.mem = pattern(1024 * 32 + 1, 5);
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        c = createCase(0xf0);
        c.len = 1024 * 32;
        c.offset = 1;
        c.gas = 1_000_000;
        c.mem = pattern(1024 * 32 + 1, 6);
        s = createStep(c, true);
        assertEq(prove(s), started(c, s));
        // A range one word short of the init code is refused.
        s.w.initCode = RangeModel.range(c.mem, c.offset / 32, (c.offset + c.len - 1) / 32 - 1);
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
    }

    /// @notice The largest init code (EIP-3860's 49,152 bytes, unaligned: 1,537 words opened) and
    ///         the gas of its step.
    function test_largestCreateStep() public view {
        CreateCase memory c = createCase(0xf5);
        c.len = 49_152;
        c.offset = 1;
        c.gas = 1_000_000;
        c.mem = pattern(49_153, 9);
        CreateStep memory s = createStep(c, true);
        (bytes32 post, uint256 used) = this.gasOfStep(abi.encode(s.pre), s.proof);
        assertEq(post, started(c, s));
        console.log("CREATE2 step, 49,152-byte init code, 1,537 words (gas, witness bytes):", used, s.proof.length);
    }

    /// @notice Out of gas at each charge: the init code's words, the memory expansion, 32,000,
    ///         CREATE2's hashing.
    function test_outOfGasAtEachCharge() public view {
        uint8[2] memory ops = [0xf0, 0xf5];
        for (uint256 i; i < 2; ++i) {
            CreateCase memory c = createCase(ops[i]);
            c.offset = 80;
            c.len = 100; // 4 words; the memory grows from 3 to 6 words
            uint256 initWords = 2 * 4;
            uint256 expansion = memoryCost(6) - memoryCost(3);
            uint256 hashing = ops[i] == 0xf5 ? 6 * 4 : 0;
            uint256[4] memory gases = [
                initWords - 1,
                initWords + expansion - 1,
                initWords + expansion + 32_000 - 1,
                initWords + expansion + 32_000 + hashing - 1
            ];
            for (uint256 k; k < 4; ++k) {
                if (k == 3 && hashing == 0) continue;
                c.gas = gases[k];
                CreateStep memory s = createStep(c, false);
                assertEq(prove(s), halts(c, s));
            }
            // Enough for every charge: the frame starts with 0 gas.
            c.gas = initWords + expansion + 32_000 + hashing;
            CreateStep memory s2 = createStep(c, true);
            assertEq(prove(s2), started(c, s2));
        }
    }

    /// @notice Every proof of the witness, tampered, reverts.
    function test_tamperedCreateWitness() public {
        CreateCase memory c = createCase(0xf0);
        CreateStep memory good = createStep(c, true);
        assertEq(prove(good), started(c, good));
        AccountWorld.World memory other =
            AccountWorld.withAccount(good.world, address(0x1234), AccountWorld.account(3, 3, Accounts.EMPTY_CODE_HASH));
        // selfProof: another state.
        CreateStep memory s = createStep(c, true);
        s.w.selfProof = AccountWorld.proofOf(other, SELF);
        s.proof = createWitness(c, s);
        expectStepRevert(s, "");
        // newProof: against the root before the nonce bump.
        s = createStep(c, true);
        s.w.newProof = AccountWorld.proofOf(s.world, s.created);
        s.proof = createWitness(c, s);
        expectStepRevert(s, "");
        // selfAfterProof: against the root after the nonce bump only.
        s = createStep(c, true);
        s.w.selfAfterProof = AccountWorld.proofOf(bumped(c, s.world), SELF);
        s.proof = createWitness(c, s);
        expectStepRevert(s, "");
        // warmProof: from another warm set.
        s = createStep(c, true);
        s.w.warmProof = AccountWorld.warmProof(AccountWorld.plus(s.warmBefore, keccak256("x")), Accounts.key(s.created));
        s.proof = createWitness(c, s);
        expectStepRevert(s, "");
        // frameWarmProof: before the new address's insertion.
        s = createStep(c, true);
        s.w.frameWarmProof = AccountWorld.warmProof(AccountWorld.plus(s.warmBefore, keccak256("y")), Accounts.key(SELF));
        s.proof = createWitness(c, s);
        expectStepRevert(s, "");
        // initCode: a word changed, a word missing, another span.
        s = createStep(c, true);
        s.w.initCode.words[1] = bytes32(uint256(s.w.initCode.words[1]) ^ 1);
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        s = createStep(c, true);
        s.w.initCode = RangeModel.range(c.mem, 0, 0);
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        s = createStep(c, true);
        s.w.initCode.siblings[0] = keccak256("sibling");
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        // The substate's preimage.
        s = createStep(c, true);
        s.w.warmAccounts = AccountWorld.warmRoot(AccountWorld.plus(s.warmBefore, keccak256("z")));
        s.proof = createWitness(c, s);
        expectStepRevert(
            s,
            abi.encodeWithSelector(
                EvmStateVerifier.SubstateMismatch.selector,
                s.e.substate,
                keccak256(abi.encode(MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT, s.w.warmAccounts))
            )
        );
        // The stack opening.
        s = createStep(c, true);
        (, bytes memory body) = abi.decode(s.proof, (uint8, bytes));
        (EvmTypes.EvmState memory e, bytes memory code, uint256[] memory top, bytes32 rest,) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmCreateVerifier.CreateWitness));
        top[0] += 1;
        s.proof = abi.encode(uint8(8), abi.encode(e, code, top, rest, s.w));
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.StackMismatch.selector));
        // Another instruction under a kind-8 witness, and CREATE under another kind.
        c = createCase(0xf0);
        s = createStep(c, true);
        s.caller.code = op(0xf1);
        s.e.codeHash = keccak256(s.caller.code);
        s.pre.evm = EvmTypes.hash(s.e);
        s.proof = createWitness(c, s);
        expectStepRevert(s, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice `EvmCreateVerifier` called directly refuses other phases and kinds.
    function test_createVerifierRefusesOtherPhasesAndKinds() public {
        EvmCreateVerifier v = creates();
        CreateCase memory c = createCase(0xf0);
        CreateStep memory s = createStep(c, true);
        assertEq(v.step(s.pre, s.proof), started(c, s));
        (, bytes memory body) = abi.decode(s.proof, (uint8, bytes));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        v.step(s.pre, abi.encode(uint8(4), body));
        s.pre.phase = MachineState.TX_EXECUTED;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        v.step(s.pre, s.proof);
        // Kind 15 is no kind.
        s = createStep(c, true);
        bytes memory pre = abi.encode(s.pre);
        bytes memory fifteen = abi.encode(uint8(15), body);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(pre, fifteen);
    }

    /// @notice Gas of typical create steps (a frame start with and without a value, CREATE2, a
    ///         failure, a collision) and of the deposit return step (70 bytes; 24,576 bytes in
    ///         `test_returnStepLargestCode`).
    function test_gasOfCreateSteps() public view {
        CreateCase[5] memory cases;
        cases[0] = createCase(0xf0);
        cases[1] = createCase(0xf0);
        cases[1].value = 0;
        cases[2] = createCase(0xf5);
        cases[3] = createCase(0xf0);
        cases[3].value = SELF_BALANCE + 1;
        cases[4] = createCase(0xf5);
        cases[4].existing = AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH);
        for (uint256 i; i < 5; ++i) {
            CreateStep memory s = createStep(cases[i], true);
            (, uint256 used) = this.gasOfStep(abi.encode(s.pre), s.proof);
            console.log("create step case, gas:", i, used);
        }
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        Ret memory r = ret(1, mem, 7, 70, 20_000);
        (bytes32 post, uint256 used2) = this.gasOfStep(abi.encode(retMachine(r)), retWitness(r));
        assertEq(post, deposited(r, slice(mem, 7, 70)));
        console.log("deposit return step (70 bytes), gas:", used2);
        r = ret(2, mem, 7, 70, 1234);
        (, used2) = this.gasOfStep(abi.encode(retMachine(r)), retWitness(r));
        console.log("reverted init frame return step, gas:", used2);
    }

    /// @dev One `step` call and its gas, from a fresh call frame.
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (bytes32 post, uint256 used) {
        uint256 before = gasleft();
        post = verifier.step(pre, proof);
        used = before - gasleft();
    }

    // ------------------------------------------------------------------------------------------
    // The return step of an init frame (kind 6, `created` not 0)

    address internal constant NEW = address(0x4E3);
    bytes32 internal constant ROOT_BEFORE = keccak256("root after the nonce bump");
    bytes32 internal constant SNAPSHOT = keccak256("creator's substate at the creation");
    bytes32 internal constant INIT_SUBSTATE = keccak256("init frame's substate");
    uint64 internal constant SNAPSHOT_REFUND = 77;
    uint64 internal constant INIT_REFUND = 9600;

    struct Ret {
        Frame caller;
        bytes initMem;
        AccountWorld.World world;
        EvmTypes.CallerFrame frame;
        EvmTypes.FrameEnd end;
        EvmTypes.WordRange output;
        bytes[] createdProof;
    }

    function retCallerState(Ret memory r) internal pure returns (EvmTypes.EvmState memory e) {
        e = state(r.caller);
        e.depth = 1;
        e.parent = keccak256("creator's parent");
        e.substate = SNAPSHOT;
        e.returnDataRoot = OLD_RETURN_DATA;
        e.returnDataSize = OLD_RETURN_SIZE;
    }

    /// @dev An init frame that ended with `outcome`, its output `outSize` bytes at `outOffset` of
    ///      its memory `initMem`, `gasLeft` gas left.
    function ret(uint8 outcome, bytes memory initMem, uint256 outOffset, uint256 outSize, uint256 gasLeft)
        internal
        pure
        returns (Ret memory r)
    {
        r.caller = frame(op(0xf0), one(FILLER));
        r.caller.pc = 1;
        r.caller.gas = 50_000;
        r.caller.mem = pattern(64, 3);
        r.initMem = initMem;
        r.world.who = new address[](2);
        r.world.accounts = new Accounts.Account[](2);
        (r.world.who[0], r.world.who[1]) = (SELF, NEW);
        r.world.accounts[0] = AccountWorld.account(8, 700, keccak256(op(0xf0)));
        r.world.accounts[1] = AccountWorld.account(1, 300, Accounts.EMPTY_CODE_HASH);
        r.frame.frame = EvmTypes.hash(retCallerState(r));
        r.frame.stateRoot = ROOT_BEFORE;
        r.frame.substate = SNAPSHOT;
        r.frame.refund = SNAPSHOT_REFUND;
        r.frame.created = NEW;
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
            r.output = RangeModel.range(initMem, outOffset / 32, (outOffset + outSize - 1) / 32);
        }
        r.createdProof = AccountWorld.proofOf(r.world, NEW);
    }

    function retMachine(Ret memory r) internal pure returns (MachineState.State memory s) {
        s = machine(r.caller);
        s.stateRoot = AccountWorld.rootOf(r.world);
        s.refund = INIT_REFUND;
        s.evm = keccak256(abi.encode(r.end));
    }

    function retWitness(Ret memory r) internal pure returns (bytes memory) {
        EvmTypes.WordRange memory dest;
        return abi.encode(uint8(6), abi.encode(r.end, r.frame, retCallerState(r), r.output, dest, r.createdProof));
    }

    function retStep(Ret memory r) internal view returns (bytes32) {
        return verifier.step(abi.encode(retMachine(r)), retWitness(r));
    }

    function expectRetRevert(Ret memory r, bytes memory reason) internal {
        bytes memory pre = abi.encode(retMachine(r));
        bytes memory proof = retWitness(r);
        if (reason.length == 0) vm.expectRevert();
        else vm.expectRevert(reason);
        verifier.step(pre, proof);
    }

    /// @dev The creator after a successful deposit of `code`.
    function deposited(Ret memory r, bytes memory code) internal pure returns (bytes32) {
        Ret memory a = abi.decode(abi.encode(r), (Ret));
        a.caller.stack = pushed(a.caller.stack, one(uint160(NEW)));
        a.caller.gas += r.end.gasLeft - 200 * code.length;
        EvmTypes.EvmState memory e = retCallerState(a);
        e.returnDataRoot = WordModel.root("");
        e.returnDataSize = 0;
        e.substate = INIT_SUBSTATE;
        Accounts.Account memory n = AccountWorld.accountOf(r.world, NEW);
        n.codeHash = keccak256(code);
        MachineState.State memory s = retMachine(r);
        s.stateRoot = AccountWorld.rootOf(AccountWorld.withAccount(r.world, NEW, n));
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    /// @dev The creator after a failed creation: 0 pushed, the snapshots; a revert returns its
    ///      output and its gas.
    function failedCreation(Ret memory r, bool reverted) internal pure returns (bytes32) {
        Ret memory a = abi.decode(abi.encode(r), (Ret));
        a.caller.stack = pushed(a.caller.stack, one(0));
        if (reverted) a.caller.gas += r.end.gasLeft;
        EvmTypes.EvmState memory e = retCallerState(a);
        bytes memory output = reverted ? slice(r.initMem, r.end.outOffset, r.end.outSize) : bytes("");
        e.returnDataRoot = WordModel.root(output);
        e.returnDataSize = uint32(output.length);
        e.substate = SNAPSHOT;
        MachineState.State memory s = retMachine(r);
        s.stateRoot = ROOT_BEFORE;
        s.refund = SNAPSHOT_REFUND;
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    /// @notice A successful init frame: the output's hash becomes the new account's code hash,
    ///         200 gas a byte paid from its gas left, the address pushed, the return data emptied.
    function test_returnStepDepositsTheCode() public view {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60; // the code's first byte (not 0xEF)
        Ret memory r = ret(1, mem, 7, 70, 20_000);
        assertEq(retStep(r), deposited(r, slice(mem, 7, 70)));
        // Exactly the deposit's gas.
        r = ret(1, mem, 7, 70, 200 * 70);
        assertEq(retStep(r), deposited(r, slice(mem, 7, 70)));
        // No output (STOP, or RETURN of nothing): the empty code, nothing charged.
        r = ret(1, mem, 0, 0, 1234);
        assertEq(retStep(r), deposited(r, ""));
        // The createdProof of a call frame's return step is ignored: covered by EvmFrameSteps.
    }

    /// @notice An init frame whose account is gone (its init code ran SELFDESTRUCT, which deletes
    ///         at the step where revm deletes at the transaction's end, after the deposit) cannot
    ///         deposit: the step is not proven (docs/evm-steps.md section 11).
    function test_returnStepRefusesADestroyedAccount() public {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        Ret memory r = ret(1, mem, 7, 70, 20_000);
        r.world.who[1] = OTHER;
        r.createdProof = AccountWorld.proofOf(r.world, NEW);
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
    }

    /// @notice The largest code (24,576 bytes) is deposited.
    function test_returnStepLargestCode() public view {
        bytes memory mem = pattern(24_576, 5);
        mem[0] = 0x00;
        Ret memory r = ret(1, mem, 0, 24_576, 200 * 24_576 + 5);
        bytes memory pre = abi.encode(retMachine(r));
        bytes memory proof = retWitness(r);
        (bytes32 post, uint256 used) = this.gasOfStep(pre, proof);
        assertEq(post, deposited(r, mem));
        console.log("deposit return step, 24,576-byte code (gas, witness bytes):", used, proof.length);
    }

    /// @notice Code over 24,576 bytes, starting with 0xEF, or whose deposit passes the gas left
    ///         fails the creation as an exceptional halt: 0 pushed, no gas back, the snapshots.
    function test_returnStepDepositFailures() public {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        // 0xEF first.
        bytes memory ef = bytes.concat(mem);
        ef[7] = 0xef;
        Ret memory r = ret(1, ef, 7, 70, 20_000);
        assertEq(retStep(r), failedCreation(r, false));
        // 0xEF later is fine.
        ef[7] = 0x60;
        ef[8] = 0xef;
        r = ret(1, ef, 7, 70, 20_000);
        assertEq(retStep(r), deposited(r, slice(ef, 7, 70)));
        // One gas short of the deposit.
        r = ret(1, mem, 7, 70, 200 * 70 - 1);
        assertEq(retStep(r), failedCreation(r, false));
        // 24,577 bytes: nothing is opened.
        r = ret(1, mem, 7, 70, 10_000_000);
        r.end.outSize = 24_577;
        r.end.parent = keccak256(abi.encode(r.frame));
        r.output = RangeModel.range(mem, 0, 0);
        r.output.words = new bytes32[](0);
        r.output.siblings = new bytes32[](0);
        assertEq(retStep(r), failedCreation(r, false));
        // ... and an opened range is refused.
        r.output = RangeModel.range(mem, 0, 2);
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
    }

    /// @notice A reverted init frame returns its output as return data and its gas; a halted one
    ///         nothing; both restore the snapshots (the nonce bump stays in ROOT_BEFORE).
    function test_returnStepRevertAndHalt() public view {
        bytes memory mem = pattern(160, 4);
        Ret memory r = ret(2, mem, 7, 70, 1234);
        assertEq(retStep(r), failedCreation(r, true));
        // 0xEF first does not matter for a revert.
        mem[7] = 0xef;
        r = ret(2, mem, 7, 70, 1234);
        assertEq(retStep(r), failedCreation(r, true));
        r = ret(2, mem, 0, 0, 1234);
        assertEq(retStep(r), failedCreation(r, true));
        r = ret(3, mem, 0, 0, 0);
        assertEq(retStep(r), failedCreation(r, false));
    }

    /// @notice A wrong createdProof or output range reverts; the createdProof of a failure is unused.
    function test_returnStepTamperedWitness() public {
        bytes memory mem = pattern(160, 4);
        mem[7] = 0x60;
        Ret memory r = ret(1, mem, 7, 70, 20_000);
        // createdProof of another state.
        r.createdProof = AccountWorld.proofOf(
            AccountWorld.withAccount(r.world, OTHER, AccountWorld.account(1, 1, Accounts.EMPTY_CODE_HASH)), NEW
        );
        expectRetRevert(r, "");
        r = ret(1, mem, 7, 70, 20_000);
        r.createdProof = new bytes[](0);
        expectRetRevert(r, "");
        // The output's words.
        r = ret(1, mem, 7, 70, 20_000);
        r.output.words[0] = bytes32(uint256(r.output.words[0]) ^ 1);
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        // A destination range: an init frame writes nothing to its caller's memory.
        r = ret(1, mem, 7, 70, 20_000);
        bytes memory pre = abi.encode(retMachine(r));
        bytes memory proof = abi.encode(
            uint8(6),
            abi.encode(
                r.end, r.frame, retCallerState(r), r.output, RangeModel.range(r.caller.mem, 0, 0), r.createdProof
            )
        );
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnexpectedWords.selector));
        verifier.step(pre, proof);
        // A wrong `created` changes the frame's hash.
        r = ret(1, mem, 7, 70, 20_000);
        r.frame.created = OTHER;
        bytes32 expected = r.end.parent;
        bytes32 computed = keccak256(abi.encode(r.frame));
        expectRetRevert(r, abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, expected, computed));
        // A failure does not read the proof.
        r = ret(2, mem, 7, 70, 1234);
        r.createdProof = new bytes[](0);
        assertEq(retStep(r), failedCreation(r, true));
    }
}
