// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Rollup} from "../src/Rollup.sol";
import {RollupHandler} from "./handlers/RollupHandler.sol";

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks.
interface VmExtra {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function blobhashes(bytes32[] calldata hashes) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
}

/// @dev Refuses ETH, to exercise the credit-and-withdraw path.
contract RefusingReceiver {
    bool public accept;

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    function withdrawFrom(Rollup rollup) external {
        rollup.withdraw();
    }

    receive() external payable {
        require(accept, "refused");
    }
}

contract RollupTestBase is Test {
    VmExtra internal constant VM_EXTRA = VmExtra(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant BOND = 0.01 ether;
    uint256 internal constant PERIOD = 300;
    bytes32 internal constant GENESIS = keccak256("genesis");
    bytes32 internal constant INPUTS = keccak256("inputs");

    address internal batcher = address(0xBA7C);
    address internal factory = address(0xFAC7);
    address internal stranger = address(0x5742);
    Rollup internal rollup;

    function setUp() public virtual {
        rollup = new Rollup(batcher, BOND, PERIOD, GENESIS);
        rollup.setDisputeGameFactory(factory);
        vm.deal(batcher, 1000 ether);
        vm.warp(1_000_000);
    }

    function root(uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode("root", i));
    }

    /// Submits the next contiguous batch of `blocks` L2 blocks with post root `post`.
    function submit(uint64 blocks, bytes32 post) internal returns (uint256 index) {
        bytes32 prev = rollup.latestStateRoot();
        uint64 first = rollup.nextL2Block();
        vm.prank(batcher);
        index = rollup.submitBatch{value: BOND}(prev, post, first, first + blocks - 1, INPUTS, abi.encode(first, post));
    }

    function submitN(uint256 n) internal {
        for (uint256 i; i < n; ++i) {
            submit(2, root(rollup.commitmentCount()));
        }
    }

    function status(uint256 index) internal view returns (Rollup.Status) {
        return rollup.getCommitment(index).status;
    }

    /// The batch data hash rule: keccak256 of the packed piece hashes, in order.
    function dataHash(bytes32[] memory pieces) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(pieces));
    }

    /// The factory replaces `index`'s root, backing it with the minimum bond.
    function replace(uint256 index, bytes32 newRoot, address newProposer) internal {
        vm.deal(factory, factory.balance + BOND);
        vm.prank(factory);
        rollup.replaceStateRoot{value: BOND}(index, newRoot, newProposer);
    }

    function one(bytes32 h) internal pure returns (bytes32[] memory list) {
        list = new bytes32[](1);
        list[0] = h;
    }
}

contract RollupUnitTest is RollupTestBase {
    // ------------------------------------------------------------ constructor and owner

    function test_constructor_setsConfiguration() public view {
        assertEq(rollup.owner(), address(this));
        assertEq(rollup.batcher(), batcher);
        assertEq(rollup.bond(), BOND);
        assertEq(rollup.challengePeriod(), PERIOD);
        assertEq(rollup.genesisStateRoot(), GENESIS);
        assertEq(rollup.latestStateRoot(), GENESIS);
        assertEq(rollup.finalizedStateRoot(), GENESIS);
        assertEq(uint256(rollup.nextL2Block()), 1);
        assertEq(rollup.commitmentCount(), 0);
        (bool exists,) = rollup.head();
        assertTrue(!exists);
    }

    function test_constructor_rejectsBadParameters() public {
        vm.expectRevert(Rollup.ZeroAddress.selector);
        new Rollup(address(0), BOND, PERIOD, GENESIS);
        vm.expectRevert(Rollup.ZeroChallengePeriod.selector);
        new Rollup(batcher, BOND, 0, GENESIS);
        vm.expectRevert(Rollup.ZeroStateRoot.selector);
        new Rollup(batcher, BOND, PERIOD, bytes32(0));
        uint256 tooLarge = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLarge.selector, tooLarge));
        new Rollup(batcher, tooLarge, PERIOD, GENESIS);
    }

    function test_setDisputeGameFactory_onlyOwnerOnce() public {
        Rollup fresh = new Rollup(batcher, BOND, PERIOD, GENESIS);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotOwner.selector, stranger));
        fresh.setDisputeGameFactory(factory);
        vm.expectRevert(Rollup.ZeroAddress.selector);
        fresh.setDisputeGameFactory(address(0));
        vm.expectEmit(true, true, true, true);
        emit Rollup.DisputeGameFactorySet(factory);
        fresh.setDisputeGameFactory(factory);
        assertEq(fresh.disputeGameFactory(), factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.DisputeGameFactoryAlreadySet.selector, factory));
        fresh.setDisputeGameFactory(stranger);
    }

    // ------------------------------------------------------------ submission

    function test_submitBatch_recordsCommitmentAndEmits() public {
        bytes memory data = hex"c0ffee";
        bytes32 expectedHash = keccak256(abi.encodePacked(keccak256(data)));
        // The value core/src/l1.rs checks its `batch_data_hash` against.
        assertEq(expectedHash, 0x5f5e9281b746d3ee778a8e8840dd054ab9227d8e383a67e10d5acf054f3b8b38);
        vm.roll(77);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesSubmitted(0, 0, one(keccak256(data)), Rollup.DataKind.Calldata);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchSubmitted(0, expectedHash, GENESIS, root(1), INPUTS, 1, 10);
        vm.prank(batcher);
        uint256 index = rollup.submitBatch{value: BOND + 1}(GENESIS, root(1), 1, 10, INPUTS, data);

        assertEq(index, 0);
        Rollup.Commitment memory c = rollup.getCommitment(0);
        assertEq(c.batchDataHash, expectedHash);
        assertEq(c.prevStateRoot, GENESIS);
        assertEq(c.postStateRoot, root(1));
        assertEq(c.inputsRoot, INPUTS);
        assertEq(uint256(c.firstL2Block), 1);
        assertEq(uint256(c.lastL2Block), 10);
        assertEq(uint256(c.submittedAt), block.timestamp);
        assertEq(uint256(c.l1BlockNumber), 77);
        assertEq(c.proposer, batcher);
        assertEq(uint256(c.bond), BOND + 1);
        assertTrue(c.status == Rollup.Status.Pending);
        assertTrue(c.dataKind == Rollup.DataKind.Calldata);
        assertEq(uint256(c.pieceCount), 1);
        assertEq(uint256(c.replacements), 0);
        assertEq(uint256(c.openChallenges), 0);
        assertEq(rollup.latestStateRoot(), root(1));
        assertEq(uint256(rollup.nextL2Block()), 11);
        assertEq(rollup.lockedBonds(), BOND + 1);
        assertEq(address(rollup).balance, BOND + 1);
        assertEq(rollup.challengeDeadline(0), block.timestamp + PERIOD);
        bytes32[] memory pieces = rollup.pieceHashes(0);
        assertEq(pieces.length, 1);
        assertEq(pieces[0], keccak256(data));
        assertEq(rollup.stagedPieceCount(), 0);
    }

    function test_submitBatch_rejectsNonBatcher() public {
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotBatcher.selector, stranger));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
    }

    function test_submitBatch_rejectsLowBond() public {
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InsufficientBond.selector, BOND - 1, BOND));
        rollup.submitBatch{value: BOND - 1}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
    }

    function test_submitBatch_rejectsBadLinksAndRanges() public {
        vm.startPrank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PrevStateRootMismatch.selector, GENESIS, root(9)));
        rollup.submitBatch{value: BOND}(root(9), root(1), 1, 1, INPUTS, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NonContiguousL2Blocks.selector, uint64(1), uint64(0)));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 0, 1, INPUTS, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NonContiguousL2Blocks.selector, uint64(1), uint64(2)));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 2, 3, INPUTS, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidL2BlockRange.selector, uint64(1), uint64(0)));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 0, INPUTS, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidL2BlockRange.selector, uint64(1), type(uint64).max));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, type(uint64).max, INPUTS, hex"01");
        vm.expectRevert(Rollup.ZeroStateRoot.selector);
        rollup.submitBatch{value: BOND}(GENESIS, bytes32(0), 1, 1, INPUTS, hex"01");
        vm.expectRevert(Rollup.ZeroInputsRoot.selector);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, bytes32(0), hex"01");
        vm.expectRevert(Rollup.EmptyBatchData.selector);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, "");
        vm.stopPrank();
        assertEq(rollup.commitmentCount(), 0);
        assertEq(address(rollup).balance, 0);
    }

    function test_submitBatch_chainsOnPreviousCommitment() public {
        submit(5, root(1));
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PrevStateRootMismatch.selector, root(1), GENESIS));
        rollup.submitBatch{value: BOND}(GENESIS, root(2), 6, 6, INPUTS, hex"01");
        vm.prank(batcher);
        uint256 index = rollup.submitBatch{value: BOND}(root(1), root(2), 6, 6, INPUTS, hex"01");
        assertEq(index, 1);
        (bool exists, uint256 h) = rollup.head();
        assertTrue(exists);
        assertEq(h, 1);
    }

    function test_submitBatchBlobs_recordsVersionedHashes() public {
        bytes32[] memory hashes = new bytes32[](2);
        hashes[0] = bytes32(uint256(0x01) << 248 | 0xaa);
        hashes[1] = bytes32(uint256(0x01) << 248 | 0xbb);
        VM_EXTRA.blobhashes(hashes);
        bytes32 expectedHash = keccak256(abi.encodePacked(hashes));

        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesSubmitted(0, 0, hashes, Rollup.DataKind.Blobs);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchSubmitted(0, expectedHash, GENESIS, root(1), INPUTS, 1, 4);
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 4, INPUTS);

        Rollup.Commitment memory c = rollup.getCommitment(0);
        assertEq(c.batchDataHash, expectedHash);
        assertTrue(c.dataKind == Rollup.DataKind.Blobs);
        bytes32[] memory stored = rollup.pieceHashes(0);
        assertEq(stored.length, 2);
        assertEq(stored[0], hashes[0]);
        assertEq(stored[1], hashes[1]);
    }

    function test_submitBatchBlobs_rejectsTransactionWithoutBlobs() public {
        vm.prank(batcher);
        vm.expectRevert(Rollup.NoBlobs.selector);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
    }

    function test_submitBatchBlobs_recordsInputsRootAndRejectsZero() public {
        VM_EXTRA.blobhashes(one(bytes32(uint256(0x01) << 248 | 0xcc)));
        vm.prank(batcher);
        vm.expectRevert(Rollup.ZeroInputsRoot.selector);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, bytes32(0));
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, keccak256("blob inputs"));
        assertEq(rollup.getCommitment(0).inputsRoot, keccak256("blob inputs"));
    }

    // ------------------------------------------------------------ finalization

    function test_finalize_afterPeriodReturnsBond() public {
        submit(3, root(1));
        uint256 deadline = rollup.challengeDeadline(0);
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengePeriodNotOver.selector, 0, deadline));
        rollup.finalize(0);

        vm.warp(deadline);
        uint256 before = batcher.balance;
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchFinalized(0, root(1), batcher, BOND);
        vm.prank(stranger);
        rollup.finalize(0);
        assertEq(batcher.balance, before + BOND);
        assertTrue(status(0) == Rollup.Status.Finalized);
        assertEq(rollup.finalizedStateRoot(), root(1));
        assertEq(uint256(rollup.finalizedL2Block()), 3);
        assertEq(rollup.nextFinalization(), 1);
        assertEq(address(rollup).balance, 0);

        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 0, Rollup.Status.Finalized));
        rollup.finalize(0);
    }

    function test_finalize_unknownIndexReverts() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownCommitment.selector, 0));
        rollup.finalize(0);
    }

    function test_finalize_inOrderOnly() public {
        submitN(2);
        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PredecessorNotFinal.selector, 1, 0));
        rollup.finalize(1);
        rollup.finalize(0);
        rollup.finalize(1);
        assertEq(rollup.nextFinalization(), 2);
    }

    function test_finalize_refusingProposerIsCreditedAndWithdraws() public {
        RefusingReceiver receiver = new RefusingReceiver();
        Rollup r = new Rollup(address(receiver), BOND, PERIOD, GENESIS);
        vm.deal(address(receiver), 1 ether);
        vm.prank(address(receiver));
        r.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
        vm.warp(block.timestamp + PERIOD);

        vm.expectEmit(true, true, true, true);
        emit Rollup.BondCredited(address(receiver), BOND);
        r.finalize(0);
        assertEq(r.claimable(address(receiver)), BOND);
        assertEq(r.totalBondsHeld(), BOND);
        assertEq(address(r).balance, BOND);

        vm.expectRevert(abi.encodeWithSelector(Rollup.TransferFailed.selector, address(receiver), BOND));
        receiver.withdrawFrom(r);
        receiver.setAccept(true);
        receiver.withdrawFrom(r);
        assertEq(r.claimable(address(receiver)), 0);
        assertEq(address(r).balance, 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NothingToWithdraw.selector, address(receiver)));
        receiver.withdrawFrom(r);
    }

    // ------------------------------------------------------------ disputes

    function test_markChallenged_onlyFactoryWithinPeriod() public {
        submit(1, root(1));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGameFactory.selector, stranger));
        rollup.markChallenged(0);

        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchChallenged(0, 1);
        vm.prank(factory);
        rollup.markChallenged(0);
        assertTrue(status(0) == Rollup.Status.Challenged);

        uint256 deadline = rollup.challengeDeadline(0);
        vm.warp(deadline);
        vm.prank(factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengePeriodOver.selector, 0, deadline));
        rollup.markChallenged(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 0, Rollup.Status.Challenged));
        rollup.finalize(0);
    }

    function test_hooks_revertWithoutFactory() public {
        Rollup fresh = new Rollup(batcher, BOND, PERIOD, GENESIS);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGameFactory.selector, address(this)));
        fresh.markChallenged(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGameFactory.selector, address(this)));
        fresh.dismissChallenge(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotDisputeGameFactory.selector, address(this)));
        fresh.replaceStateRoot{value: BOND}(0, root(1), stranger);
    }

    function test_dismissChallenge_allChallengesMustCloseBeforeFinalize() public {
        submit(1, root(1));
        vm.startPrank(factory);
        rollup.markChallenged(0);
        rollup.markChallenged(0);
        assertEq(uint256(rollup.getCommitment(0).openChallenges), 2);
        vm.expectEmit(true, true, true, true);
        emit Rollup.ChallengeDismissed(0, 1);
        rollup.dismissChallenge(0);
        vm.stopPrank();

        vm.warp(rollup.challengeDeadline(0));
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 0, Rollup.Status.Challenged));
        rollup.finalize(0);
        vm.prank(factory);
        rollup.dismissChallenge(0);
        assertTrue(status(0) == Rollup.Status.Pending);
        rollup.finalize(0);
        assertTrue(status(0) == Rollup.Status.Finalized);

        vm.prank(factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 0, Rollup.Status.Finalized));
        rollup.dismissChallenge(0);
    }

    function test_replaceStateRoot_slashesAndInvalidatesLaterCommitments() public {
        submitN(4); // indices 0..3, blocks 1..8
        vm.prank(factory);
        rollup.markChallenged(1);
        vm.prank(factory);
        rollup.markChallenged(2);
        vm.warp(block.timestamp + 100);

        bytes32 replacement = keccak256("replacement");
        address challenger = address(0xC4A1);
        vm.deal(factory, 2 * BOND);
        uint256 factoryBefore = factory.balance;
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchInvalidated(2, 1, BOND);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchInvalidated(3, 1, BOND);
        vm.expectEmit(true, true, true, true);
        emit Rollup.StateRootReplaced(1, root(1), replacement, challenger, BOND, 2 * BOND, 1);
        vm.prank(factory);
        rollup.replaceStateRoot{value: 2 * BOND}(1, replacement, challenger);

        // The factory paid the new bond and got the slashed one.
        assertEq(factory.balance, factoryBefore - 2 * BOND + BOND);
        assertTrue(status(0) == Rollup.Status.Pending);
        assertTrue(status(2) == Rollup.Status.Invalidated);
        assertTrue(status(3) == Rollup.Status.Invalidated);
        // The replaced commitment is a new claim: Pending, new proposer, bond and period.
        Rollup.Commitment memory c = rollup.getCommitment(1);
        assertTrue(c.status == Rollup.Status.Pending);
        assertEq(c.postStateRoot, replacement);
        assertEq(c.prevStateRoot, root(0));
        assertEq(c.inputsRoot, INPUTS);
        assertEq(c.proposer, challenger);
        assertEq(uint256(c.bond), 2 * BOND);
        assertEq(uint256(c.submittedAt), block.timestamp);
        assertEq(uint256(c.openChallenges), 0);
        assertEq(uint256(c.replacements), 1);
        assertEq(rollup.challengeDeadline(1), block.timestamp + PERIOD);
        assertEq(uint256(rollup.getCommitment(2).openChallenges), 0);
        assertEq(rollup.claimable(batcher), 2 * BOND);
        assertEq(rollup.lockedBonds(), BOND + 2 * BOND);
        assertEq(address(rollup).balance, rollup.totalBondsHeld());

        // The chain continues from the replaced commitment, at the next unused index.
        assertEq(rollup.latestStateRoot(), replacement);
        assertEq(uint256(rollup.nextL2Block()), 5);
        (bool exists, uint256 h) = rollup.head();
        assertTrue(exists);
        assertEq(h, 1);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PrevStateRootMismatch.selector, replacement, root(3)));
        rollup.submitBatch{value: BOND}(root(3), root(9), 9, 9, INPUTS, hex"01");
        vm.prank(batcher);
        uint256 next = rollup.submitBatch{value: BOND}(replacement, root(9), 5, 6, INPUTS, hex"01");
        assertEq(next, 4);

        // Later games against an invalidated commitment fail; finalization skips it, in order.
        vm.prank(factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 2, Rollup.Status.Invalidated));
        rollup.dismissChallenge(2);
        vm.warp(block.timestamp + PERIOD);
        rollup.finalize(0);
        assertEq(rollup.nextFinalization(), 1);
        uint256 challengerBefore = challenger.balance;
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchFinalized(1, replacement, challenger, 2 * BOND);
        rollup.finalize(1);
        // The replacement's bond goes back to its proposer.
        assertEq(challenger.balance, challengerBefore + 2 * BOND);
        assertEq(rollup.nextFinalization(), 4);
        assertEq(rollup.finalizedStateRoot(), replacement);
        assertEq(uint256(rollup.finalizedL2Block()), 4);
        rollup.finalize(4);
        assertEq(rollup.finalizedStateRoot(), root(9));

        vm.prank(batcher);
        rollup.withdraw();
        assertEq(address(rollup).balance, 0);
    }

    function test_replaceStateRoot_rejectsBadCalls() public {
        submit(1, root(1));
        vm.deal(factory, 10 ether);
        vm.startPrank(factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, 0, Rollup.Status.Pending));
        rollup.replaceStateRoot{value: BOND}(0, root(2), stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownCommitment.selector, 1));
        rollup.replaceStateRoot{value: BOND}(1, root(2), stranger);
        rollup.markChallenged(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.StateRootUnchanged.selector, 0, root(1)));
        rollup.replaceStateRoot{value: BOND}(0, root(1), stranger);
        vm.expectRevert(Rollup.ZeroStateRoot.selector);
        rollup.replaceStateRoot{value: BOND}(0, bytes32(0), stranger);
        vm.expectRevert(Rollup.ZeroAddress.selector);
        rollup.replaceStateRoot{value: BOND}(0, root(2), address(0));
        vm.expectRevert(abi.encodeWithSelector(Rollup.InsufficientBond.selector, BOND - 1, BOND));
        rollup.replaceStateRoot{value: BOND - 1}(0, root(2), stranger);
        uint256 tooLarge = uint256(type(uint96).max) + 1;
        vm.deal(factory, tooLarge);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BondTooLarge.selector, tooLarge));
        rollup.replaceStateRoot{value: tooLarge}(0, root(2), stranger);
        vm.stopPrank();
        assertTrue(status(0) == Rollup.Status.Challenged);
        assertEq(address(rollup).balance, BOND);
    }

    function test_replaceStateRoot_replacementIsChallengeableAgain() public {
        submitN(2);
        vm.prank(factory);
        rollup.markChallenged(0);
        vm.prank(factory);
        rollup.markChallenged(0);
        uint256 firstDeadline = rollup.challengeDeadline(0);
        vm.warp(firstDeadline + 10); // past the original period: the games are still open
        replace(0, keccak256("second"), stranger);
        assertEq(rollup.challengeDeadline(0), block.timestamp + PERIOD);
        // The other game on the old claim was dropped with it: nothing is open, not finalizable yet.
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengePeriodNotOver.selector, 0, block.timestamp + PERIOD));
        rollup.finalize(0);

        // A new game against the replacement, won by its challenger: replaced again.
        vm.prank(factory);
        rollup.markChallenged(0);
        replace(0, keccak256("third"), address(0xC3));
        Rollup.Commitment memory c = rollup.getCommitment(0);
        assertEq(c.postStateRoot, keccak256("third"));
        assertEq(c.proposer, address(0xC3));
        assertEq(uint256(c.replacements), 2);
        // A game against the third claim that the proposer wins.
        vm.prank(factory);
        rollup.markChallenged(0);
        vm.prank(factory);
        rollup.dismissChallenge(0);
        vm.warp(block.timestamp + PERIOD);
        rollup.finalize(0);
        assertEq(rollup.finalizedStateRoot(), keccak256("third"));
        assertEq(address(0xC3).balance, BOND);
        assertEq(address(rollup).balance, rollup.totalBondsHeld());
    }

    function test_replaceStateRoot_withinItsNewPeriodOnly() public {
        submit(1, root(1));
        vm.prank(factory);
        rollup.markChallenged(0);
        replace(0, root(2), stranger);
        uint256 deadline = rollup.challengeDeadline(0);
        vm.warp(deadline);
        vm.prank(factory);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengePeriodOver.selector, 0, deadline));
        rollup.markChallenged(0);
        rollup.finalize(0);
        assertTrue(status(0) == Rollup.Status.Finalized);
    }

    function test_replaceStateRoot_earlierReplacementInvalidatesLaterReplacement() public {
        submitN(3);
        vm.startPrank(factory);
        rollup.markChallenged(0);
        rollup.markChallenged(2);
        vm.stopPrank();
        replace(2, keccak256("late"), stranger);
        replace(0, keccak256("early"), stranger);
        assertTrue(status(0) == Rollup.Status.Pending);
        assertTrue(status(1) == Rollup.Status.Invalidated);
        assertTrue(status(2) == Rollup.Status.Invalidated);
        // The later replacement's bond goes back to its proposer.
        assertEq(rollup.claimable(stranger), BOND);
        assertEq(rollup.nextFinalization(), 0);
        assertEq(rollup.latestStateRoot(), keccak256("early"));
        assertEq(address(rollup).balance, rollup.totalBondsHeld());
        vm.warp(block.timestamp + PERIOD);
        rollup.finalize(0);
        assertEq(rollup.nextFinalization(), 3);
        assertEq(rollup.finalizedStateRoot(), keccak256("early"));
        assertEq(uint256(rollup.finalizedL2Block()), 2);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_submit_chainOfBatchesLinks(uint8 count, uint64 seed) public {
        count = uint8(bound(count, 1, 24));
        uint64 expectedFirst = 1;
        for (uint256 i; i < count; ++i) {
            uint64 blocks = uint64(bound(uint256(keccak256(abi.encode(seed, i))), 1, 1000));
            uint256 index = submit(blocks, root(i + 1));
            Rollup.Commitment memory c = rollup.getCommitment(index);
            assertEq(uint256(c.firstL2Block), uint256(expectedFirst));
            assertEq(c.prevStateRoot, i == 0 ? GENESIS : root(i));
            expectedFirst = c.lastL2Block + 1;
        }
        assertEq(rollup.commitmentCount(), count);
        assertEq(address(rollup).balance, uint256(count) * BOND);
    }

    function testFuzz_submit_rejectsAnyOtherPrevRoot(bytes32 prev) public {
        vm.assume(prev != GENESIS);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.PrevStateRootMismatch.selector, GENESIS, prev));
        rollup.submitBatch{value: BOND}(prev, root(1), 1, 1, INPUTS, hex"01");
    }

    function testFuzz_submit_bondBelowMinimumReverts(uint256 value) public {
        value = bound(value, 0, BOND - 1);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InsufficientBond.selector, value, BOND));
        rollup.submitBatch{value: value}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
    }

    function testFuzz_submit_anyBondAboveMinimumIsHeld(uint96 value) public {
        vm.assume(value >= BOND);
        vm.deal(batcher, value);
        vm.prank(batcher);
        rollup.submitBatch{value: value}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
        assertEq(uint256(rollup.getCommitment(0).bond), value);
        assertEq(address(rollup).balance, value);
    }

    function testFuzz_finalize_onlyAfterPeriod(uint256 wait) public {
        wait = bound(wait, 0, 2 * PERIOD);
        submit(1, root(1));
        vm.warp(block.timestamp + wait);
        if (wait < PERIOD) {
            vm.expectRevert(
                abi.encodeWithSelector(Rollup.ChallengePeriodNotOver.selector, 0, rollup.challengeDeadline(0))
            );
        }
        rollup.finalize(0);
    }

    function testFuzz_replaceStateRoot_invalidatesExactlyTheLaterOnes(uint8 count, uint8 target, bytes32 correct)
        public
    {
        count = uint8(bound(count, 1, 16));
        target = uint8(bound(target, 0, count - 1));
        vm.assume(correct != bytes32(0) && correct != root(target));
        submitN(count);
        vm.prank(factory);
        rollup.markChallenged(target);
        replace(target, correct, stranger);
        for (uint256 i; i < count; ++i) {
            Rollup.Status s = status(i);
            if (i <= target) assertTrue(s == Rollup.Status.Pending);
            else assertTrue(s == Rollup.Status.Invalidated);
            assertEq(uint256(rollup.getCommitment(i).replacements), i == target ? 1 : 0);
        }
        assertEq(rollup.latestStateRoot(), correct);
        assertEq(rollup.claimable(batcher), uint256(count - 1 - target) * BOND);
        assertEq(address(rollup).balance, rollup.totalBondsHeld());
    }
}

/// Invariants over random sequences of staging (calldata and blobs), discards, submissions,
/// challenges, dismissals, corrections, finalizations, withdrawals and time jumps (see
/// handlers/RollupHandler.sol).
contract RollupInvariantTest is RollupTestBase {
    RollupHandler internal handler;

    function setUp() public override {
        handler = new RollupHandler();
        rollup = new Rollup(address(handler), BOND, PERIOD, GENESIS);
        rollup.setDisputeGameFactory(address(handler));
        handler.init(rollup);
        vm.deal(address(handler), 1_000_000 ether);
    }

    /// @dev Shape that forge's invariant runner reads (forge-std's StdInvariant, which the npm
    ///      forge-std@1.1.2 lacks).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @dev Read by forge's invariant runner: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Read by forge's invariant runner: only the handler's actions are called.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = RollupHandler.submit.selector;
        selectors[1] = RollupHandler.challenge.selector;
        selectors[2] = RollupHandler.dismiss.selector;
        selectors[3] = RollupHandler.replace.selector;
        selectors[4] = RollupHandler.finalizeNext.selector;
        selectors[5] = RollupHandler.withdraw.selector;
        selectors[6] = RollupHandler.setAcceptEth.selector;
        selectors[7] = RollupHandler.passTime.selector;
        selectors[8] = RollupHandler.stageData.selector;
        selectors[9] = RollupHandler.stageBlobs.selector;
        selectors[10] = RollupHandler.discard.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// Every valid (not invalidated) commitment starts from the previous valid one's post-state
    /// root and the next L2 block; the head is the last valid one.
    function invariant_commitmentChainIsLinked() public view {
        bytes32 prev = GENESIS;
        uint64 nextBlock = 1;
        bool any;
        uint256 last;
        uint256 count = rollup.commitmentCount();
        for (uint256 i; i < count; ++i) {
            Rollup.Commitment memory c = rollup.getCommitment(i);
            if (c.status == Rollup.Status.Invalidated) continue;
            assertEq(c.prevStateRoot, prev, "prevStateRoot does not link");
            assertEq(uint256(c.firstL2Block), uint256(nextBlock), "L2 blocks not contiguous");
            assertLe(uint256(c.firstL2Block), uint256(c.lastL2Block), "empty L2 block range");
            prev = c.postStateRoot;
            nextBlock = c.lastL2Block + 1;
            any = true;
            last = i;
        }
        assertEq(rollup.latestStateRoot(), prev, "latestStateRoot is not the last valid root");
        assertEq(uint256(rollup.nextL2Block()), uint256(nextBlock), "nextL2Block is off");
        (bool exists, uint256 h) = rollup.head();
        assertTrue(exists == any, "head existence");
        if (any) assertEq(h, last, "head is not the last valid commitment");
    }

    /// The contract holds exactly the bonds it owes: locked ones plus credited ones.
    function invariant_bondsHeldEqualBalance() public view {
        uint256 locked;
        uint256 count = rollup.commitmentCount();
        for (uint256 i; i < count; ++i) {
            Rollup.Commitment memory c = rollup.getCommitment(i);
            locked += c.bond;
            if (c.status != Rollup.Status.Pending && c.status != Rollup.Status.Challenged) {
                assertEq(uint256(c.bond), 0, "a settled commitment still holds a bond");
            }
        }
        assertEq(rollup.lockedBonds(), locked, "lockedBonds != sum of bonds");
        assertEq(address(rollup).balance, rollup.totalBondsHeld(), "balance != bonds held");
        assertEq(rollup.totalClaimable(), rollup.claimable(address(handler)), "claimable sum");
    }

    /// Everything below nextFinalization is final; the entry at it is not.
    function invariant_finalizationPointerIsExact() public view {
        uint256 next = rollup.nextFinalization();
        uint256 count = rollup.commitmentCount();
        assertLe(next, count, "pointer past the end");
        for (uint256 i; i < next; ++i) {
            Rollup.Status s = rollup.getCommitment(i).status;
            assertTrue(
                s == Rollup.Status.Finalized || s == Rollup.Status.Invalidated, "non-final commitment below the pointer"
            );
        }
        if (next < count) {
            Rollup.Status s = rollup.getCommitment(next).status;
            assertTrue(s == Rollup.Status.Pending || s == Rollup.Status.Challenged, "pointer not at first open");
        }
    }

    /// Every commitment holds the pieces it was sent, one to MAX_PIECES of them, and its
    /// batchDataHash is keccak256 of their packed hashes (rule 7).
    function invariant_batchDataHashCoversAllPieces() public view {
        uint256 count = rollup.commitmentCount();
        for (uint256 i; i < count; ++i) {
            bytes32[] memory pieces = rollup.pieceHashes(i);
            assertTrue(pieces.length >= 1 && pieces.length <= rollup.MAX_PIECES(), "piece count");
            assertEq(pieces.length, uint256(rollup.getCommitment(i).pieceCount), "pieceCount");
            assertEq(rollup.getCommitment(i).batchDataHash, keccak256(abi.encodePacked(pieces)), "hash rule");
            assertEq(keccak256(abi.encode(pieces)), keccak256(abi.encode(handler.ghostPieces(i))), "pieces");
        }
    }

    /// The staging list is exactly what was staged since the last submit, discard or correction,
    /// all of one kind, with room left for a final piece.
    function invariant_stagingMatchesGhost() public view {
        bytes32[] memory staged = rollup.stagedPieces();
        assertEq(staged.length, rollup.stagedPieceCount(), "count view");
        assertLt(staged.length, rollup.MAX_PIECES(), "no room for the final piece");
        assertEq(keccak256(abi.encode(staged)), keccak256(abi.encode(handler.ghostStaged())), "staged pieces");
        if (staged.length > 0) assertTrue(rollup.stagedKind() == handler.ghostStagedKind(), "staged kind");
    }

    /// Every replacement is counted on its commitment (rule 5), and a replaced commitment that is
    /// still valid is a claim by its new proposer (the handler) with a bond, or final.
    function invariant_replacementsAreCounted() public view {
        uint256 total;
        uint256 count = rollup.commitmentCount();
        for (uint256 i; i < count; ++i) {
            total += rollup.getCommitment(i).replacements;
        }
        assertEq(total, handler.replaced(), "replacements != successful replaceStateRoot calls");
    }

    /// The handler did something: guards against a suite that only reverts.
    function invariant_handlerMakesProgress() public view {
        assertEq(handler.submitted(), rollup.commitmentCount(), "ghost count");
    }
}
