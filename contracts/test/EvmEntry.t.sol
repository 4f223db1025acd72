// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../src/fault/MachineState.sol";
import {MerkleTrie} from "../src/fault/MerkleTrie.sol";
import {RLPWriter} from "../src/fault/RLPWriter.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {EvmStepHelpers, WordModel} from "./evm/EvmStepHelpers.sol";

/// @notice The entry step of docs/evm-steps.md (section 1.1): a hand-built two-account trie, a
///         signed EIP-1559 call, the value moving and the depth-0 frame; then the frame's first
///         instruction.
contract EvmEntryTest is EvmStepHelpers {
    bytes32 internal constant EMPTY_CODE_HASH = keccak256("");
    uint256 internal constant CALLER_KEY = 0xA11CE;
    uint64 internal constant GAS_LIMIT = 100_000;

    struct Account {
        uint256 nonce;
        uint256 balance;
        bytes32 codeHash;
    }

    struct Setup {
        address caller;
        address to;
        Account callerAccount;
        Account recipient;
        bytes code;
        bytes data;
        uint256 value;
        bytes rawTx;
    }

    // ------------------------------------------------------------------------------------------
    // A trie of two accounts whose keys differ in their first nibble: a branch over two leaves.

    function accountRlp(Account memory a) internal pure returns (bytes memory) {
        bytes[] memory items = new bytes[](4);
        items[0] = RLPWriter.writeUint(a.nonce);
        items[1] = RLPWriter.writeUint(a.balance);
        items[2] = RLPWriter.writeBytes32(MerkleTrie.EMPTY_ROOT);
        items[3] = RLPWriter.writeBytes32(a.codeHash);
        return RLPWriter.writeList(items);
    }

    /// @dev A leaf under a branch: the key's 63 remaining nibbles (odd: flag 3).
    function leaf(address account, Account memory a) internal pure returns (bytes memory) {
        bytes32 key = keccak256(abi.encodePacked(account));
        bytes memory path = new bytes(32);
        path[0] = bytes1(0x30 | (uint8(key[0]) & 0x0f));
        for (uint256 i = 1; i < 32; ++i) {
            path[i] = key[i];
        }
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.writeBytes(path);
        items[1] = RLPWriter.writeBytes(accountRlp(a));
        return RLPWriter.writeList(items);
    }

    function branch(address a, bytes memory leafA, address b, bytes memory leafB) internal pure returns (bytes memory) {
        bytes[] memory items = new bytes[](17);
        for (uint256 i; i < 17; ++i) {
            items[i] = hex"80";
        }
        items[nibble(a)] = RLPWriter.writeBytes32(keccak256(leafA));
        items[nibble(b)] = RLPWriter.writeBytes32(keccak256(leafB));
        return RLPWriter.writeList(items);
    }

    function nibble(address a) internal pure returns (uint256) {
        return uint8(keccak256(abi.encodePacked(a))[0]) >> 4;
    }

    function trie(Setup memory s)
        internal
        pure
        returns (bytes memory root, bytes memory callerLeaf, bytes memory toLeaf)
    {
        callerLeaf = leaf(s.caller, s.callerAccount);
        toLeaf = leaf(s.to, s.recipient);
        root = branch(s.caller, callerLeaf, s.to, toLeaf);
    }

    function proof2(bytes memory a, bytes memory b) internal pure returns (bytes[] memory p) {
        p = new bytes[](2);
        p[0] = a;
        p[1] = b;
    }

    // ------------------------------------------------------------------------------------------
    // The transaction

    function signed(Setup memory s, bool create) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](9);
        f[0] = RLPWriter.writeUint(CHAIN_ID);
        f[1] = RLPWriter.writeUint(s.callerAccount.nonce - 1);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = create ? bytes(hex"80") : RLPWriter.writeAddress(s.to);
        f[6] = RLPWriter.writeUint(s.value);
        f[7] = RLPWriter.writeBytes(s.data);
        f[8] = hex"c0";
        return signedTx(CALLER_KEY, f);
    }

    function setup(uint256 value) internal returns (Setup memory s) {
        s.caller = vm.addr(CALLER_KEY);
        // A recipient whose key's first nibble differs from the caller's.
        s.to = address(0xC0DE);
        while (nibble(s.to) == nibble(s.caller)) {
            s.to = address(uint160(s.to) + 1);
        }
        s.code = hex"6001600201600035f3";
        s.data = hex"a9059cbb00000000000000000000000000000000000000000000000000000000000000420102030405";
        s.value = value;
        s.callerAccount = Account(1, 10 ether, EMPTY_CODE_HASH);
        s.recipient = Account(1, 5, keccak256(s.code));
        s.rawTx = signed(s, false);
    }

    function preState(Setup memory s, bytes32 root) internal pure returns (MachineState.State memory pre) {
        pre.phase = MachineState.IN_TX;
        pre.stateRoot = root;
        pre.inputs = keccak256("inputs");
        pre.blockItem = MachineState.itemHash(blockItem());
        pre.txsLeft = 1;
        pre.caller = s.caller;
        pre.txGasLimit = GAS_LIMIT;
        pre.effectiveGasPrice = 9;
        pre.priorityFee = 2;
        pre.gasLeft = 70_000;
        pre.floorGas = 21_000;
        pre.evm = EvmTypes.entryMarker(keccak256(s.rawTx));
    }

    function entryProof(
        bytes memory rawTx,
        bytes[] memory callerProof,
        bytes[] memory recipientProof,
        bytes memory code
    ) internal pure returns (bytes memory) {
        return abi.encode(uint8(0), abi.encode(rawTx, callerProof, recipientProof, code, new bytes[][](0)));
    }

    function frameAtEntry(Setup memory s, bytes32 startRoot, uint64 gas)
        internal
        pure
        returns (EvmTypes.EvmState memory e)
    {
        e.txHash = keccak256(s.rawTx);
        e.txStartRoot = startRoot;
        e.self = s.to;
        e.caller = s.caller;
        e.value = s.value;
        e.codeHash = keccak256(s.code);
        e.calldataRoot = WordModel.root(s.data);
        e.calldataSize = uint32(s.data.length);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = gas;
        e.memRoot = WordTree.EMPTY_ROOT;
    }

    // ------------------------------------------------------------------------------------------
    // Tests

    function test_entryWithValue() public {
        Setup memory s = setup(1000);
        (bytes memory root, bytes memory callerLeaf, bytes memory toLeaf) = trie(s);
        MachineState.State memory pre = preState(s, keccak256(root));

        // The trie after the value moved, built independently.
        Setup memory moved = abi.decode(abi.encode(s), (Setup));
        moved.callerAccount.balance -= 1000;
        moved.recipient.balance += 1000;
        (bytes memory root2, bytes memory callerLeaf2,) = trie(moved);
        bytes memory rootAfterCaller = branch(s.caller, callerLeaf2, s.to, toLeaf);

        bytes memory proof = entryProof(s.rawTx, proof2(root, callerLeaf), proof2(rootAfterCaller, toLeaf), s.code);
        MachineState.State memory post = abi.decode(abi.encode(pre), (MachineState.State));
        post.stateRoot = keccak256(root2);
        EvmTypes.EvmState memory e = frameAtEntry(s, keccak256(root), pre.gasLeft);
        post.evm = EvmTypes.hash(e);
        assertEq(verifier.step(abi.encode(pre), proof), MachineState.hash(post));

        // The frame's first instruction: PUSH1 1.
        uint256[] memory top = new uint256[](0);
        bytes memory step1 = abi.encode(uint8(1), abi.encode(e, s.code, top, bytes32(0), noWords(), blockItem()));
        MachineState.State memory post2 = abi.decode(abi.encode(post), (MachineState.State));
        EvmTypes.EvmState memory e2 = abi.decode(abi.encode(e), (EvmTypes.EvmState));
        e2.pc = 2;
        e2.gas -= 3;
        e2.stackSize = 1;
        e2.stack = keccak256(abi.encodePacked(uint256(1), bytes32(0)));
        post2.evm = EvmTypes.hash(e2);
        assertEq(verifier.step(abi.encode(post), step1), MachineState.hash(post2));

        // A REVERT later in this frame restores the root before the value moved.
        assertEq(e.txStartRoot, pre.stateRoot);
    }

    function test_entryWithoutValue() public {
        Setup memory s = setup(0);
        (bytes memory root,, bytes memory toLeaf) = trie(s);
        MachineState.State memory pre = preState(s, keccak256(root));
        bytes memory proof = entryProof(s.rawTx, new bytes[](0), proof2(root, toLeaf), s.code);
        MachineState.State memory post = abi.decode(abi.encode(pre), (MachineState.State));
        post.evm = EvmTypes.hash(frameAtEntry(s, keccak256(root), pre.gasLeft));
        assertEq(verifier.step(abi.encode(pre), proof), MachineState.hash(post));

        // A caller proof for a transaction without value is refused.
        vm.expectRevert(IEvmStepVerifier.UnexpectedProof.selector);
        verifier.step(abi.encode(pre), entryProof(s.rawTx, proof2(root, toLeaf), proof2(root, toLeaf), s.code));
    }

    struct Ctx {
        Setup s;
        bytes root;
        bytes toLeaf;
        MachineState.State pre;
        bytes[] none;
    }

    function ctx() internal returns (Ctx memory c) {
        c.s = setup(0);
        (c.root,, c.toLeaf) = trie(c.s);
        c.pre = preState(c.s, keccak256(c.root));
        c.none = new bytes[](0);
    }

    function test_entryWrongMarkerOrCode() public {
        Ctx memory c = ctx();
        MachineState.State memory other = abi.decode(abi.encode(c.pre), (MachineState.State));
        other.evm = keccak256("x");
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, other.evm, c.pre.evm));
        verifier.step(abi.encode(other), entryProof(c.s.rawTx, c.none, proof2(c.root, c.toLeaf), c.s.code));

        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(c.s.code), keccak256(hex"00"))
        );
        verifier.step(abi.encode(c.pre), entryProof(c.s.rawTx, c.none, proof2(c.root, c.toLeaf), hex"00"));

        // A tampered recipient proof.
        bytes memory badLeaf = bytes.concat(c.toLeaf);
        badLeaf[badLeaf.length - 1] ^= 0x01;
        vm.expectRevert();
        verifier.step(abi.encode(c.pre), entryProof(c.s.rawTx, c.none, proof2(c.root, badLeaf), c.s.code));
    }

    /// @notice A recipient without code: the start step made that a transfer.
    function test_entryRecipientWithoutCode() public {
        Ctx memory c = ctx();
        c.s.recipient.codeHash = EMPTY_CODE_HASH;
        (c.root,, c.toLeaf) = trie(c.s);
        c.pre = preState(c.s, keccak256(c.root));
        vm.expectRevert(IEvmStepVerifier.InvalidPreState.selector);
        verifier.step(abi.encode(c.pre), entryProof(c.s.rawTx, c.none, proof2(c.root, c.toLeaf), ""));
    }

    /// @notice A delegated recipient (EIP-7702) is not entered in stage 1.
    function test_entryDelegatedRecipient() public {
        Ctx memory c = ctx();
        c.s.code = abi.encodePacked(hex"ef0100", address(0xBEEF));
        c.s.recipient.codeHash = keccak256(c.s.code);
        (c.root,, c.toLeaf) = trie(c.s);
        c.pre = preState(c.s, keccak256(c.root));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(abi.encode(c.pre), entryProof(c.s.rawTx, c.none, proof2(c.root, c.toLeaf), c.s.code));
    }

    /// @notice A CREATE is not entered in stage 1; a transaction that does not decode is no pre-state.
    function test_entryCreateAndJunk() public {
        Ctx memory c = ctx();
        c.s.rawTx = signed(c.s, true);
        c.pre = preState(c.s, keccak256(c.root));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(abi.encode(c.pre), entryProof(c.s.rawTx, c.none, proof2(c.root, c.toLeaf), c.s.code));

        bytes memory junk = hex"02c0";
        c.pre.evm = EvmTypes.entryMarker(keccak256(junk));
        vm.expectRevert(IEvmStepVerifier.InvalidPreState.selector);
        verifier.step(abi.encode(c.pre), entryProof(junk, c.none, proof2(c.root, c.toLeaf), c.s.code));
    }
}
