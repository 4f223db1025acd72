// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {TxDecoder} from "../../src/fault/TxDecoder.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {AccessList} from "../../src/fault/evm/AccessList.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {VmCreateAddress} from "./EvmCreateSteps.t.sol";
import {EvmStepHelpers, WordModel} from "./EvmStepHelpers.sol";
import {AccessListModel} from "./AccessListModel.sol";

/// @dev Exposes `TxDecoder.accessList`.
contract AccessListHarness {
    function accessList(bytes memory raw) external pure returns (address[] memory, bytes32[][] memory) {
        return TxDecoder.accessList(raw);
    }
}

/// @notice EIP-2930 access lists warmed at a transaction's entry (docs/evm-steps.md section 2):
///         signed type-1 and type-2 transactions with access lists, entered through
///         `OneStepVerifier.step` (kind 0 for calls, kind 9 for creations) on small state tries
///         (`AccountWorld`), the expected substate built here from scratch (`warmAccessList`: each
///         trie's root from its final set of keys, one proof per warming in RLP order); up to 64
///         entries warmed, 65 under the access-list marker; and the witnesses refused.
contract EvmAccessListStepsTest is EvmStepHelpers, AccessListModel {
    VmCreateAddress internal constant VM_CREATE =
        VmCreateAddress(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant SENDER_KEY = 0xA11CE;
    address internal constant TO = address(0xC0DE);
    address internal constant OTHER = address(0xBEEF);
    address internal constant IDENTITY = address(0x04);
    uint64 internal constant NONCE = 3;
    uint64 internal constant GAS_LIMIT = 1_000_000;
    uint64 internal constant GAS_LEFT = 600_000;
    bytes internal constant CODE = hex"6001600201600035f3";
    bytes internal constant DATA = hex"a9059cbb0102030405";

    /// @dev A transaction with an access list and the state it is entered in.
    struct Tx {
        uint8 txType;
        bool create;
        address to;
        uint256 value;
        bytes data;
        AccountWorld.AccessList al;
        address sender;
        bytes rawTx;
        AccountWorld.World world;
        MachineState.State pre;
        bytes[] callerProof;
        bytes[] recipientProof;
        bytes[][] accessProofs;
    }

    // ------------------------------------------------------------------------------------------
    // Access lists

    function keys2(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory ks) {
        ks = new bytes32[](2);
        (ks[0], ks[1]) = (a, b);
    }

    /// @dev `addresses` addresses with `perAddress` keys each (distinct).
    function bigList(uint256 addresses, uint256 perAddress) internal pure returns (AccountWorld.AccessList memory al) {
        al = emptyList();
        for (uint256 i; i < addresses; ++i) {
            bytes32[] memory ks = new bytes32[](perAddress);
            for (uint256 j; j < perAddress; ++j) {
                ks[j] = bytes32(i * 1000 + j);
            }
            // forge-lint: disable-next-line(unsafe-typecast)
            al = with(al, address(uint160(0x1000 + i)), ks);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Transactions and their entry

    function txOf(uint8 txType, AccountWorld.AccessList memory al) internal returns (Tx memory t) {
        t.txType = txType;
        t.to = TO;
        t.data = DATA;
        t.al = al;
        t.sender = vm.addr(SENDER_KEY);
    }

    /// @dev The signed transaction: type 1 (gas price 9) or type 2 (fees 2 and 9).
    function signed(Tx memory t) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](t.txType == 1 ? 8 : 9);
        uint256 i;
        f[i++] = RLPWriter.writeUint(CHAIN_ID);
        f[i++] = RLPWriter.writeUint(NONCE);
        if (t.txType == 2) f[i++] = RLPWriter.writeUint(2);
        f[i++] = RLPWriter.writeUint(9);
        f[i++] = RLPWriter.writeUint(GAS_LIMIT);
        f[i++] = t.create ? bytes(hex"80") : RLPWriter.writeAddress(t.to);
        f[i++] = RLPWriter.writeUint(t.value);
        f[i++] = RLPWriter.writeBytes(t.data);
        f[i++] = AccountWorld.accessListRlp(t.al);
        return signedTyped(t.txType == 2 ? bytes1(0x02) : bytes1(0x01), SENDER_KEY, f);
    }

    /// @dev `t`'s raw transaction, world (the sender, TO with code, OTHER), pre-state and witness.
    function build(Tx memory t) internal returns (Tx memory) {
        t.rawTx = signed(t);
        t.world.who = new address[](3);
        t.world.accounts = new Accounts.Account[](3);
        (t.world.who[0], t.world.who[1], t.world.who[2]) = (t.sender, TO, OTHER);
        t.world.accounts[0] = AccountWorld.account(NONCE + 1, 10 ether, Accounts.EMPTY_CODE_HASH);
        t.world.accounts[1] = AccountWorld.account(1, 5, keccak256(CODE));
        t.world.accounts[2] = AccountWorld.account(0, 1, Accounts.EMPTY_CODE_HASH);
        t.pre = entryPre(t.sender, AccountWorld.rootOf(t.world), t.rawTx, GAS_LIMIT, GAS_LEFT);
        t.callerProof = new bytes[](0);
        t.recipientProof = AccountWorld.proofOf(t.world, t.to);
        if (t.value != 0) {
            t.callerProof = AccountWorld.proofOf(t.world, t.sender);
            t.recipientProof = AccountWorld.proofOf(debited(t), t.to);
        }
        t.accessProofs = new bytes[][](0);
        if (warmings(t.al) <= 64) (,, t.accessProofs) = warmed(t.al);
        return t;
    }

    function debited(Tx memory t) internal pure returns (AccountWorld.World memory w) {
        Accounts.Account memory s = AccountWorld.accountOf(t.world, t.sender);
        s.balance -= t.value;
        w = AccountWorld.withAccount(t.world, t.sender, s);
    }

    function witness(Tx memory t) internal pure returns (bytes memory) {
        return abi.encode(uint8(0), abi.encode(t.rawTx, t.callerProof, t.recipientProof, codeOf(t), t.accessProofs));
    }

    /// @dev The code the entry witness carries: TO's, none for a precompile.
    function codeOf(Tx memory t) internal pure returns (bytes memory) {
        return t.to == TO ? CODE : bytes("");
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

    /// @dev The post-state of `t`'s entry with the depth-0 frame's substate `substate`.
    function entered(Tx memory t, bytes32 substate) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        AccountWorld.World memory w = debited(t);
        Accounts.Account memory r = AccountWorld.accountOf(w, t.to);
        r.balance += t.value;
        s.stateRoot = AccountWorld.rootOf(AccountWorld.withAccount(w, t.to, r));
        EvmTypes.EvmState memory e;
        e.txHash = keccak256(t.rawTx);
        e.txStartRoot = t.pre.stateRoot;
        e.substate = substate;
        e.self = t.to;
        e.caller = t.sender;
        e.value = t.value;
        e.codeHash = keccak256(CODE);
        e.calldataRoot = WordModel.root(t.data);
        e.calldataSize = uint32(t.data.length);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = GAS_LEFT;
        e.memRoot = WordTree.EMPTY_ROOT;
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    /// @dev The substate of `al` warmed, built from scratch: the tries of the distinct keys.
    function substateOf(AccountWorld.AccessList memory al) internal view returns (bytes32 substate) {
        (bytes32[] memory accounts, bytes32[] memory slots,) = warmed(al);
        substate = keccak256(abi.encode(this.warmRoot(slots), MerkleTrie.EMPTY_ROOT, this.warmRoot(accounts)));
    }

    /// @dev Enters `t` and checks the post-state against its access list warmed.
    function checkWarmed(Tx memory t) internal view {
        assertEq(enter(t), entered(t, substateOf(t.al)));
    }

    // ------------------------------------------------------------------------------------------
    // The decoder

    /// @notice `TxDecoder.accessList` returns the list in its RLP order, duplicates kept; the
    ///         counts of `decode` are its addresses and keys.
    function test_decoderReadsTheAccessList() public {
        AccessListHarness h = new AccessListHarness();
        AccountWorld.AccessList memory al = with(with(emptyList(), OTHER, keys2("a", "b")), TO, noKeys());
        al = with(al, OTHER, keys2("b", "b"));
        for (uint8 txType = 1; txType <= 2; ++txType) {
            Tx memory t = build(txOf(txType, al));
            (address[] memory addrs, bytes32[][] memory ks) = h.accessList(t.rawTx);
            assertEq(keccak256(abi.encode(addrs, ks)), keccak256(abi.encode(al.addrs, al.keys)));
            (bool ok, TxDecoder.Tx memory d) = TxDecoder.decode(t.rawTx, CHAIN_ID);
            assertTrue(ok);
            assertEq(d.accessListAddresses, 3);
            assertEq(d.accessListKeys, 4);
        }
        Tx memory empty = build(txOf(2, emptyList()));
        (address[] memory a0, bytes32[][] memory k0) = h.accessList(empty.rawTx);
        assertEq(a0.length, 0);
        assertEq(k0.length, 0);
    }

    // ------------------------------------------------------------------------------------------
    // Warmed at the entry

    /// @notice One address without keys (type 2): one warming into `warmAccounts`.
    function test_oneAddressWithoutKeys() public {
        Tx memory t = build(txOf(2, with(emptyList(), OTHER, noKeys())));
        assertEq(t.accessProofs.length, 1);
        checkWarmed(t);
        // By hand: warmAccounts = {keccak256(OTHER)}, no warm slots.
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(OTHER));
        assertEq(enter(t), entered(t, AccountWorld.substateOf(warm)));
    }

    /// @notice An address with two keys (type 1): its account, then both slots.
    function test_addressWithTwoKeys() public {
        Tx memory t = build(txOf(1, with(emptyList(), OTHER, keys2(bytes32(uint256(1)), keccak256("slot")))));
        assertEq(t.accessProofs.length, 3);
        checkWarmed(t);
        // By hand: the slot keys are those of SLOAD/SSTORE (keccak256(address ++ key)).
        bytes32[] memory slots = new bytes32[](2);
        slots[0] = keccak256(abi.encodePacked(OTHER, bytes32(uint256(1))));
        slots[1] = keccak256(abi.encodePacked(OTHER, keccak256("slot")));
        bytes32[] memory warm = new bytes32[](1);
        warm[0] = keccak256(abi.encodePacked(OTHER));
        bytes32 substate =
            keccak256(abi.encode(AccountWorld.warmRoot(slots), MerkleTrie.EMPTY_ROOT, AccountWorld.warmRoot(warm)));
        assertEq(enter(t), entered(t, substate));
    }

    /// @notice The sender and the recipient listed (with a value moving), both type 1 and type 2:
    ///         warmed like any address.
    function test_senderAndRecipientListed() public {
        for (uint8 txType = 1; txType <= 2; ++txType) {
            Tx memory t = txOf(txType, emptyList());
            t.al = with(with(t.al, t.sender, noKeys()), TO, keys2(bytes32(0), bytes32(uint256(7))));
            t.value = 1000;
            t = build(t);
            assertEq(t.accessProofs.length, 4);
            checkWarmed(t);
        }
    }

    /// @notice A duplicated address and key: the second warming is an update to the same value
    ///         with an inclusion proof; the substate is that of the list without duplicates.
    function test_duplicatedAddressAndKey() public {
        bytes32 k = keccak256("k");
        AccountWorld.AccessList memory al = with(with(emptyList(), OTHER, keys2(k, k)), OTHER, keys2(k, bytes32(0)));
        Tx memory t = build(txOf(2, al));
        assertEq(t.accessProofs.length, 6);
        // The duplicates' proofs are inclusion proofs: not empty.
        assertGt(t.accessProofs[2].length, 0);
        assertGt(t.accessProofs[3].length, 0);
        checkWarmed(t);
        AccountWorld.AccessList memory distinct = with(emptyList(), OTHER, keys2(k, bytes32(0)));
        assertEq(enter(t), entered(t, substateOf(distinct)));
    }

    /// @notice Exactly 64 entries (16 addresses with 3 keys each) are warmed; 65 start under the
    ///         access-list marker and take no proof.
    function test_sixtyFourWarmedSixtyFiveMarker() public {
        Tx memory t = build(txOf(2, bigList(16, 3)));
        assertEq(t.accessProofs.length, AccessList.MAX_ACCESS_LIST_WARMINGS);
        uint256 before = gasleft();
        bytes32 post = enter(t);
        emit log_named_uint("entry step warming 64 entries, gas", before - gasleft());
        assertEq(post, entered(t, substateOf(t.al)));

        AccountWorld.AccessList memory al = with(bigList(16, 3), OTHER, noKeys());
        t = build(txOf(2, al));
        assertEq(warmings(al), 65);
        assertEq(t.accessProofs.length, 0);
        assertEq(enter(t), entered(t, bytes32(uint256(1))));
        // Proofs for the 65 warmings are refused.
        (,, t.accessProofs) = warmed(al);
        expectRefused(t, unexpectedProof());

        // 65 as 1 address with 64 keys, type 1.
        t = build(txOf(1, bigList(1, 64)));
        assertEq(enter(t), entered(t, bytes32(uint256(1))));
        t = build(txOf(1, bigList(1, 63)));
        checkWarmed(t);
    }

    // ------------------------------------------------------------------------------------------
    // A creation transaction

    /// @notice A creation transaction (kind 9) with an access list: its init frame starts with the
    ///         list warmed (the new address not among them); a collision takes no proof.
    function test_creationWithAccessList() public {
        Tx memory t = txOf(2, emptyList());
        t.create = true;
        t.to = VM_CREATE.computeCreateAddress(t.sender, NONCE);
        t.data = hex"60036000f3";
        t.al = with(with(t.al, OTHER, keys2("x", "y")), t.sender, noKeys());
        t = build(t);
        bytes[] memory newProof = AccountWorld.proofOf(t.world, t.to);
        bytes memory w = abi.encode(uint8(9), abi.encode(t.rawTx, newProof, new bytes[](0), t.accessProofs));
        assertEq(verifier.step(abi.encode(t.pre), w), createdState(t));

        // Without the proofs, or with one missing.
        bytes memory pre = abi.encode(t.pre);
        w = abi.encode(uint8(9), abi.encode(t.rawTx, newProof, new bytes[](0), new bytes[][](0)));
        vm.expectRevert(unexpectedProof());
        verifier.step(pre, w);
        bytes[][] memory fewer = new bytes[][](3);
        for (uint256 i; i < 3; ++i) {
            fewer[i] = t.accessProofs[i];
        }
        w = abi.encode(uint8(9), abi.encode(t.rawTx, newProof, new bytes[](0), fewer));
        vm.expectRevert(unexpectedProof());
        verifier.step(pre, w);

        // A collision (a nonce at the new address): no frame, so no proof.
        t.world = AccountWorld.withAccount(t.world, t.to, AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH));
        t.pre.stateRoot = AccountWorld.rootOf(t.world);
        newProof = AccountWorld.proofOf(t.world, t.to);
        pre = abi.encode(t.pre);
        w = abi.encode(uint8(9), abi.encode(t.rawTx, newProof, new bytes[](0), t.accessProofs));
        vm.expectRevert(unexpectedProof());
        verifier.step(pre, w);
        w = abi.encode(uint8(9), abi.encode(t.rawTx, newProof, new bytes[](0), new bytes[][](0)));
        MachineState.State memory s = copyState(t.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.gasLeft = 0;
        assertEq(verifier.step(pre, w), MachineState.hash(s));
    }

    /// @dev The post-state of a creation entry without value: the new account, the init frame.
    function createdState(Tx memory t) internal view returns (bytes32) {
        MachineState.State memory s = copyState(t.pre);
        s.stateRoot = AccountWorld.rootOf(
            AccountWorld.withAccount(t.world, t.to, AccountWorld.account(1, 0, Accounts.EMPTY_CODE_HASH))
        );
        EvmTypes.CallerFrame memory c;
        c.stateRoot = t.pre.stateRoot;
        c.created = t.to;
        EvmTypes.EvmState memory e;
        e.txHash = keccak256(t.rawTx);
        e.txStartRoot = t.pre.stateRoot;
        e.substate = substateOf(t.al);
        e.parent = keccak256(abi.encode(c));
        e.self = t.to;
        e.caller = t.sender;
        e.codeHash = keccak256(t.data);
        e.calldataRoot = WordTree.EMPTY_ROOT;
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.gas = GAS_LEFT;
        e.memRoot = WordTree.EMPTY_ROOT;
        s.evm = EvmTypes.hash(e);
        return MachineState.hash(s);
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @dev Three addresses, the first with three keys and the second with one, so that the last
    ///      address's and the last key's proofs open non-trivial tries.
    function refusalList() internal pure returns (AccountWorld.AccessList memory al) {
        bytes32[] memory three = new bytes32[](3);
        (three[0], three[1], three[2]) = (bytes32(uint256(1)), bytes32(uint256(2)), bytes32(uint256(3)));
        bytes32[] memory one = new bytes32[](1);
        one[0] = bytes32(uint256(4));
        al = with(with(with(emptyList(), OTHER, three), TO, one), address(0xAAAA), noKeys());
    }

    /// @notice A missing proof and an extra proof: `UnexpectedProof`.
    function test_missingOrExtraProof() public {
        Tx memory t = build(txOf(2, refusalList()));
        assertEq(t.accessProofs.length, 7);
        checkWarmed(t);
        bytes[][] memory all = t.accessProofs;
        t.accessProofs = new bytes[][](6);
        for (uint256 i; i < 6; ++i) {
            t.accessProofs[i] = all[i];
        }
        expectRefused(t, unexpectedProof());
        t.accessProofs = new bytes[][](8);
        for (uint256 i; i < 7; ++i) {
            t.accessProofs[i] = all[i];
        }
        t.accessProofs[7] = all[6];
        expectRefused(t, unexpectedProof());
        t.accessProofs = new bytes[][](0);
        expectRefused(t, unexpectedProof());
    }

    /// @notice A proof from the wrong trie, or for another key of the right trie, reverts.
    function test_proofForTheWrongTrieOrKey() public {
        Tx memory t = build(txOf(1, refusalList()));
        checkWarmed(t);
        // Warmings: OTHER (0), its keys 1..3 (1..3), TO (4), its key 4 (5), 0xAAAA (6).
        bytes32[] memory accounts = new bytes32[](2);
        accounts[0] = keccak256(abi.encodePacked(OTHER));
        accounts[1] = keccak256(abi.encodePacked(TO));
        bytes32[] memory slots = new bytes32[](3);
        for (uint256 i; i < 3; ++i) {
            slots[i] = keccak256(abi.encodePacked(OTHER, bytes32(i + 1)));
        }
        // The honest proofs are those of these tries.
        bytes32 last = keccak256(abi.encodePacked(address(0xAAAA)));
        bytes32 slot4 = keccak256(abi.encodePacked(TO, bytes32(uint256(4))));
        assertEq(
            keccak256(abi.encode(t.accessProofs[6])), keccak256(abi.encode(AccountWorld.warmProof(accounts, last)))
        );
        assertEq(keccak256(abi.encode(t.accessProofs[5])), keccak256(abi.encode(AccountWorld.warmProof(slots, slot4))));

        bytes[][] memory honest = t.accessProofs;
        bytes[][] memory bad = new bytes[][](5);
        // The wrong trie: the slot's key opened in warmAccounts, the address's in warmSlots.
        bad[0] = AccountWorld.warmProof(accounts, slot4);
        bad[1] = AccountWorld.warmProof(slots, last);
        // The wrong key in the right trie: another address, another slot, a present key.
        bad[2] = AccountWorld.warmProof(accounts, keccak256(abi.encodePacked(address(0xBBBB))));
        bad[3] = AccountWorld.warmProof(slots, keccak256(abi.encodePacked(TO, bytes32(uint256(5)))));
        bad[4] = AccountWorld.warmProof(accounts, accounts[0]);
        uint256[5] memory at = [uint256(5), 6, 6, 5, 6];
        uint256 tried;
        for (uint256 i; i < 5; ++i) {
            // The same proof (a key on the same path) proves nothing wrong.
            if (keccak256(abi.encode(bad[i])) == keccak256(abi.encode(honest[at[i]]))) continue;
            t.accessProofs = abi.decode(abi.encode(honest), (bytes[][]));
            t.accessProofs[at[i]] = bad[i];
            expectRefused(t, "");
            ++tried;
        }
        assertGe(tried, 3);
        // A tampered node.
        t.accessProofs = abi.decode(abi.encode(honest), (bytes[][]));
        bytes memory node = t.accessProofs[6][0];
        node[node.length - 1] ^= 0x01;
        expectRefused(t, "");
        // Two proofs swapped.
        t.accessProofs = abi.decode(abi.encode(honest), (bytes[][]));
        (t.accessProofs[5], t.accessProofs[6]) = (honest[6], honest[5]);
        expectRefused(t, "");
    }

    /// @notice Proofs given for an empty access list (type 1 and type 2) are refused.
    function test_proofsForAnEmptyList() public {
        for (uint8 txType = 1; txType <= 2; ++txType) {
            Tx memory t = build(txOf(txType, emptyList()));
            assertEq(t.accessProofs.length, 0);
            assertEq(enter(t), entered(t, bytes32(0)));
            t.accessProofs = new bytes[][](1);
            expectRefused(t, unexpectedProof());
        }
    }

    /// @notice A transaction calling IDENTITY ends in one step: no frame starts, so proofs for its
    ///         access list are refused, and without them the call is proven.
    function test_proofsForAPrecompileCall() public {
        Tx memory t = txOf(2, emptyList());
        t.to = IDENTITY;
        t.al = with(with(t.al, IDENTITY, noKeys()), OTHER, keys2("p", "q"));
        t = build(t);
        assertEq(t.accessProofs.length, 4);
        expectRefused(t, unexpectedProof());
        t.accessProofs = new bytes[][](0);
        MachineState.State memory s = copyState(t.pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.success = true;
        s.gasLeft -= uint64(15 + 3 * ((t.data.length + 31) / 32));
        assertEq(enter(t), MachineState.hash(s));
    }
}
