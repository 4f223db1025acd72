// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "../src/Rollup.sol";
import {RollupTestBase, VmExtra} from "./Rollup.t.sol";

/// Batches that span several L1 transactions: staging calldata and blob pieces, the final
/// submission, discarding, the piece cap and the batch data hash rule (Rollup rule 7).
contract RollupPiecesTest is RollupTestBase {
    uint256 internal constant MAX = 64;

    function blobHash(uint256 seed) internal pure returns (bytes32) {
        return bytes32((uint256(0x01) << 248) | (uint256(keccak256(abi.encode("blob", seed))) >> 8));
    }

    function blobs(uint256 from, uint256 count) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = blobHash(from + i);
        }
    }

    function setBlobs(bytes32[] memory hashes) internal {
        VM_EXTRA.blobhashes(hashes);
    }

    function stageData(bytes memory piece) internal {
        vm.prank(batcher);
        rollup.stageBatchData(piece);
    }

    function stageBlobs(bytes32[] memory hashes) internal {
        setBlobs(hashes);
        vm.prank(batcher);
        rollup.stageBatchBlobs();
        setBlobs(new bytes32[](0));
    }

    function concat(bytes32[] memory a, bytes32[] memory b) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](a.length + b.length);
        for (uint256 i; i < a.length; ++i) {
            out[i] = a[i];
        }
        for (uint256 i; i < b.length; ++i) {
            out[a.length + i] = b[i];
        }
    }

    function assertPieces(bytes32[] memory got, bytes32[] memory want) internal pure {
        assertEq(got.length, want.length);
        for (uint256 i; i < want.length; ++i) {
            assertEq(got[i], want[i]);
        }
    }

    function countTopic(VmExtra.Log[] memory logs, bytes32 topic) internal pure returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == topic) ++n;
        }
    }

    // ------------------------------------------------------------ stageBatchData

    function test_stageBatchData_appendsPieceHashesAndEmitsPositions() public {
        bytes32[] memory want = new bytes32[](2);
        want[0] = keccak256(hex"aa01");
        want[1] = keccak256(hex"bb0202");

        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(0, 0, one(want[0]), Rollup.DataKind.Calldata);
        stageData(hex"aa01");
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(0, 1, one(want[1]), Rollup.DataKind.Calldata);
        stageData(hex"bb0202");

        assertEq(rollup.stagedPieceCount(), 2);
        assertPieces(rollup.stagedPieces(), want);
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Calldata);
        // Staging records no commitment and takes no bond.
        assertEq(rollup.commitmentCount(), 0);
        assertEq(address(rollup).balance, 0);
        assertEq(rollup.latestStateRoot(), GENESIS);
    }

    function test_stageBatchData_rejectsNonBatcherAndEmptyPiece() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotBatcher.selector, stranger));
        rollup.stageBatchData(hex"01");
        vm.prank(batcher);
        vm.expectRevert(Rollup.EmptyBatchData.selector);
        rollup.stageBatchData("");
        assertEq(rollup.stagedPieceCount(), 0);
    }

    // ------------------------------------------------------------ stageBatchBlobs

    function test_stageBatchBlobs_appendsEveryBlobOfTheTransaction() public {
        bytes32[] memory first = blobs(0, 3);
        bytes32[] memory second = blobs(3, 6);
        setBlobs(first);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(0, 0, first, Rollup.DataKind.Blobs);
        vm.prank(batcher);
        rollup.stageBatchBlobs();

        setBlobs(second);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(0, 3, second, Rollup.DataKind.Blobs);
        vm.prank(batcher);
        rollup.stageBatchBlobs();

        assertEq(rollup.stagedPieceCount(), 9);
        assertPieces(rollup.stagedPieces(), blobs(0, 9));
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Blobs);
        assertEq(rollup.commitmentCount(), 0);
    }

    function test_stageBatchBlobs_rejectsNonBatcherAndTransactionWithoutBlobs() public {
        vm.prank(batcher);
        vm.expectRevert(Rollup.NoBlobs.selector);
        rollup.stageBatchBlobs();
        setBlobs(blobs(0, 1));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotBatcher.selector, stranger));
        rollup.stageBatchBlobs();
        assertEq(rollup.stagedPieceCount(), 0);
    }

    // ------------------------------------------------------------ final submission

    function test_submitBatch_takesStagedPiecesThenClearsStaging() public {
        stageData(hex"0a");
        stageData(hex"0b0b");
        bytes32[] memory all = new bytes32[](3);
        all[0] = keccak256(hex"0a");
        all[1] = keccak256(hex"0b0b");
        all[2] = keccak256(hex"0c0c0c");
        bytes32 expectedHash = dataHash(all);

        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesSubmitted(0, 2, one(all[2]), Rollup.DataKind.Calldata);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchSubmitted(0, expectedHash, GENESIS, root(1), INPUTS, 1, 7);
        vm.prank(batcher);
        uint256 index = rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 7, INPUTS, hex"0c0c0c");

        assertEq(index, 0);
        Rollup.Commitment memory c = rollup.getCommitment(0);
        assertEq(c.batchDataHash, expectedHash);
        assertTrue(c.dataKind == Rollup.DataKind.Calldata);
        assertEq(uint256(c.pieceCount), 3);
        assertPieces(rollup.pieceHashes(0), all);
        assertEq(rollup.stagedPieceCount(), 0);
        assertEq(rollup.stagedPieces().length, 0);
        assertEq(rollup.lockedBonds(), BOND);

        // The next staging is for the next index and starts at position 0.
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(1, 0, one(keccak256(hex"0d")), Rollup.DataKind.Calldata);
        stageData(hex"0d");
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(root(1), root(2), 8, 8, INPUTS, hex"0e");
        bytes32[] memory second = new bytes32[](2);
        second[0] = keccak256(hex"0d");
        second[1] = keccak256(hex"0e");
        assertPieces(rollup.pieceHashes(1), second);
        assertEq(rollup.getCommitment(1).batchDataHash, dataHash(second));
        assertPieces(rollup.pieceHashes(0), all);
    }

    function test_submitBatchBlobs_takesStagedBlobsThenTheTransactionsBlobs() public {
        stageBlobs(blobs(0, 6));
        stageBlobs(blobs(6, 6));
        bytes32[] memory last = blobs(12, 2);
        setBlobs(last);
        bytes32[] memory all = blobs(0, 14);

        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesSubmitted(0, 12, last, Rollup.DataKind.Blobs);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchSubmitted(0, dataHash(all), GENESIS, root(1), INPUTS, 1, 3);
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 3, INPUTS);

        assertEq(rollup.getCommitment(0).batchDataHash, dataHash(all));
        assertTrue(rollup.getCommitment(0).dataKind == Rollup.DataKind.Blobs);
        assertEq(uint256(rollup.getCommitment(0).pieceCount), 14);
        assertPieces(rollup.pieceHashes(0), all);
        assertEq(rollup.stagedPieceCount(), 0);
    }

    function test_submit_failedSubmissionKeepsStagedPieces() public {
        stageData(hex"01");
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InsufficientBond.selector, BOND - 1, BOND));
        rollup.submitBatch{value: BOND - 1}(GENESIS, root(1), 1, 1, INPUTS, hex"02");
        vm.prank(batcher);
        vm.expectRevert(Rollup.EmptyBatchData.selector);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, "");
        vm.prank(batcher);
        vm.expectRevert(Rollup.NoBlobs.selector);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
        assertEq(rollup.stagedPieceCount(), 1);
        assertEq(rollup.commitmentCount(), 0);
    }

    function test_submit_nonBatcherIsRejectedBeforeThePieceChecks() public {
        stageBlobs(blobs(0, 1));
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotBatcher.selector, stranger));
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
    }

    function test_pieceHashes_unknownIndexReverts() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownCommitment.selector, 0));
        rollup.pieceHashes(0);
        stageData(hex"01");
        // The staging list is not a commitment.
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownCommitment.selector, 0));
        rollup.pieceHashes(0);
    }

    // ------------------------------------------------------------ kinds do not mix

    function test_mixedKinds_calldataStagedRefusesBlobs() public {
        stageData(hex"01");
        setBlobs(blobs(0, 1));
        vm.startPrank(batcher);
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.MixedDataKinds.selector, Rollup.DataKind.Calldata, Rollup.DataKind.Blobs)
        );
        rollup.stageBatchBlobs();
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.MixedDataKinds.selector, Rollup.DataKind.Calldata, Rollup.DataKind.Blobs)
        );
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
        vm.stopPrank();
        assertEq(rollup.stagedPieceCount(), 1);
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Calldata);
    }

    function test_mixedKinds_blobsStagedRefuseCalldata() public {
        stageBlobs(blobs(0, 2));
        vm.startPrank(batcher);
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.MixedDataKinds.selector, Rollup.DataKind.Blobs, Rollup.DataKind.Calldata)
        );
        rollup.stageBatchData(hex"01");
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.MixedDataKinds.selector, Rollup.DataKind.Blobs, Rollup.DataKind.Calldata)
        );
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
        vm.stopPrank();
        assertEq(rollup.stagedPieceCount(), 2);
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Blobs);
    }

    function test_mixedKinds_kindIsFreeAgainAfterSubmitOrDiscard() public {
        stageBlobs(blobs(0, 1));
        vm.prank(batcher);
        rollup.discardStaged();
        stageData(hex"01"); // allowed: the list was empty
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Calldata);
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"02");
        stageBlobs(blobs(1, 1)); // allowed: the submission emptied the list
        assertTrue(rollup.stagedKind() == Rollup.DataKind.Blobs);
        setBlobs(blobs(2, 1));
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(root(1), root(2), 2, 2, INPUTS);
        assertTrue(rollup.getCommitment(0).dataKind == Rollup.DataKind.Calldata);
        assertTrue(rollup.getCommitment(1).dataKind == Rollup.DataKind.Blobs);
    }

    // ------------------------------------------------------------ piece cap

    function test_pieceCap_calldata() public {
        assertEq(rollup.MAX_PIECES(), MAX);
        for (uint256 i; i < MAX - 1; ++i) {
            stageData(abi.encode(i));
        }
        // Staging a 64th piece would leave no room for the final call's piece.
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.TooManyPieces.selector, MAX + 1, MAX));
        rollup.stageBatchData(hex"01");
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
        assertEq(rollup.pieceHashes(0).length, MAX);
    }

    function test_pieceCap_blobs() public {
        for (uint256 i; i < 10; ++i) {
            stageBlobs(blobs(6 * i, 6)); // 60 staged
        }
        setBlobs(blobs(60, 4));
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.TooManyPieces.selector, 65, MAX));
        rollup.stageBatchBlobs();
        stageBlobs(blobs(60, 3)); // 63 staged
        setBlobs(blobs(63, 2));
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(Rollup.TooManyPieces.selector, 65, MAX));
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
        setBlobs(blobs(63, 1));
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
        assertPieces(rollup.pieceHashes(0), blobs(0, MAX));
    }

    // ------------------------------------------------------------ discarding

    function test_discardStaged_emptiesTheListAndEmits() public {
        stageData(hex"01");
        stageData(hex"02");
        stageData(hex"05");
        vm.expectEmit(true, true, true, true);
        emit Rollup.StagedPiecesDiscarded(0, 3);
        vm.prank(batcher);
        rollup.discardStaged();
        assertEq(rollup.stagedPieceCount(), 0);
        assertEq(rollup.stagedPieces().length, 0);

        // A new run starts at position 0; the batch holds only its pieces.
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(0, 0, one(keccak256(hex"03")), Rollup.DataKind.Calldata);
        stageData(hex"03");
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"04");
        bytes32[] memory want = new bytes32[](2);
        want[0] = keccak256(hex"03");
        want[1] = keccak256(hex"04");
        // Nothing of the discarded run leaks into the batch.
        assertPieces(rollup.pieceHashes(0), want);
        assertEq(uint256(rollup.getCommitment(0).pieceCount), 2);
        assertEq(rollup.getCommitment(0).batchDataHash, dataHash(want));
    }

    function test_discardStaged_onEmptyListDoesNothing() public {
        VM_EXTRA.recordLogs();
        vm.prank(batcher);
        rollup.discardStaged();
        assertEq(VM_EXTRA.getRecordedLogs().length, 0);
        assertEq(rollup.stagedPieceCount(), 0);
    }

    function test_discardStaged_rejectsNonBatcher() public {
        stageData(hex"01");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotBatcher.selector, stranger));
        rollup.discardStaged();
        assertEq(rollup.stagedPieceCount(), 1);
    }

    function test_replaceStateRoot_discardsPiecesStagedOnTheWrongRoot() public {
        submitN(3); // indices 0..2, blocks 1..6
        stageData(hex"aa");
        stageData(hex"bb");
        vm.prank(factory);
        rollup.markChallenged(1);

        bytes32 correct = keccak256("correct");
        vm.expectEmit(true, true, true, true);
        emit Rollup.StagedPiecesDiscarded(3, 2);
        vm.expectEmit(true, true, true, true);
        emit Rollup.StateRootReplaced(1, root(1), correct, stranger, BOND, BOND, 1);
        replace(1, correct, stranger);
        assertEq(rollup.stagedPieceCount(), 0);

        // The next batch builds on the new root, at the next unused index, with fresh pieces.
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchPiecesStaged(3, 0, one(keccak256(hex"cc")), Rollup.DataKind.Calldata);
        stageData(hex"cc");
        vm.prank(batcher);
        uint256 index = rollup.submitBatch{value: BOND}(correct, root(9), 5, 5, INPUTS, hex"dd");
        assertEq(index, 3);
        bytes32[] memory want = new bytes32[](2);
        want[0] = keccak256(hex"cc");
        want[1] = keccak256(hex"dd");
        assertPieces(rollup.pieceHashes(3), want);
        assertEq(address(rollup).balance, rollup.totalBondsHeld());
    }

    function test_replaceStateRoot_withNothingStagedLogsNoDiscard() public {
        submitN(2);
        vm.prank(factory);
        rollup.markChallenged(0);
        VM_EXTRA.recordLogs();
        replace(0, keccak256("correct"), stranger);
        VmExtra.Log[] memory logs = VM_EXTRA.getRecordedLogs();
        assertEq(countTopic(logs, Rollup.StagedPiecesDiscarded.selector), 0);
        assertEq(countTopic(logs, Rollup.StateRootReplaced.selector), 1);
    }

    // ------------------------------------------------------------ fuzz

    /// Any split of any data into calldata pieces (staged, then the final one) gives
    /// keccak256(abi.encodePacked(keccak256(piece_0), ..., keccak256(piece_n-1))), and the
    /// pieces concatenate back to the data.
    function testFuzz_calldataSplits_batchDataHashFollowsTheRule(bytes memory data, uint256 seed) public {
        vm.assume(data.length > 0);
        uint256 count = bound(seed % 1000, 1, data.length < MAX ? data.length : MAX);
        bytes32[] memory want = new bytes32[](count);
        bytes memory joined;
        uint256 offset;
        for (uint256 i; i < count; ++i) {
            uint256 left = data.length - offset;
            uint256 piecesLeft = count - i;
            uint256 len =
                piecesLeft == 1 ? left : bound(uint256(keccak256(abi.encode(seed, i))), 1, left - (piecesLeft - 1));
            bytes memory piece = new bytes(len);
            for (uint256 k; k < len; ++k) {
                piece[k] = data[offset + k];
            }
            offset += len;
            want[i] = keccak256(piece);
            joined = bytes.concat(joined, piece);
            vm.prank(batcher);
            if (i + 1 < count) rollup.stageBatchData(piece);
            else rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, piece);
        }
        assertEq(joined, data);
        assertEq(rollup.getCommitment(0).batchDataHash, dataHash(want));
        assertPieces(rollup.pieceHashes(0), want);
        assertEq(rollup.stagedPieceCount(), 0);
        if (count == 1) assertEq(rollup.getCommitment(0).batchDataHash, keccak256(abi.encodePacked(keccak256(data))));
    }

    /// Any split of blobs over staging transactions (up to 6 blobs each) and the final one gives
    /// keccak256 of the packed versioned hashes, in order.
    function testFuzz_blobSplits_batchDataHashFollowsTheRule(uint256 seed, uint8 stagingTxs) public {
        stagingTxs = uint8(bound(stagingTxs, 0, 9));
        uint256 total;
        for (uint256 t; t < stagingTxs; ++t) {
            uint256 n = bound(uint256(keccak256(abi.encode(seed, t))), 1, 6);
            stageBlobs(blobs(seed / 2 + total, n));
            total += n;
        }
        uint256 last = bound(uint256(keccak256(abi.encode(seed, "last"))), 1, 6);
        setBlobs(blobs(seed / 2 + total, last));
        vm.prank(batcher);
        rollup.submitBatchBlobs{value: BOND}(GENESIS, root(1), 1, 1, INPUTS);
        bytes32[] memory want = blobs(seed / 2, total + last);
        assertEq(rollup.getCommitment(0).batchDataHash, dataHash(want));
        assertPieces(rollup.pieceHashes(0), want);
    }

    /// A random sequence of staging calls of random kinds succeeds exactly while every piece is
    /// of the first piece's kind; the staged list is what succeeded.
    function testFuzz_stagingKinds_mixingAlwaysReverts(uint256 kinds, uint8 steps) public {
        steps = uint8(bound(steps, 1, 20));
        bytes32[] memory expected = new bytes32[](steps * 2);
        uint256 n;
        bool firstIsBlobs = kinds & 1 == 1;
        for (uint256 i; i < steps; ++i) {
            bool useBlobs = (kinds >> i) & 1 == 1;
            bool mixes = n > 0 && useBlobs != firstIsBlobs;
            Rollup.DataKind staged = firstIsBlobs ? Rollup.DataKind.Blobs : Rollup.DataKind.Calldata;
            Rollup.DataKind given = useBlobs ? Rollup.DataKind.Blobs : Rollup.DataKind.Calldata;
            if (useBlobs) {
                bytes32[] memory hs = blobs(100 * i, 1 + (i % 2));
                setBlobs(hs);
                if (mixes) vm.expectRevert(abi.encodeWithSelector(Rollup.MixedDataKinds.selector, staged, given));
                vm.prank(batcher);
                rollup.stageBatchBlobs();
                if (!mixes) {
                    for (uint256 k; k < hs.length; ++k) {
                        expected[n++] = hs[k];
                    }
                }
                setBlobs(new bytes32[](0));
            } else {
                if (mixes) vm.expectRevert(abi.encodeWithSelector(Rollup.MixedDataKinds.selector, staged, given));
                vm.prank(batcher);
                rollup.stageBatchData(abi.encode(i));
                if (!mixes) expected[n++] = keccak256(abi.encode(i));
            }
        }
        bytes32[] memory got = rollup.stagedPieces();
        assertEq(got.length, n);
        for (uint256 i; i < n; ++i) {
            assertEq(got[i], expected[i]);
        }
    }
}

/// Gas of the batcher's calls, one L1 transaction each: run one test at a time with
/// `forge test --match-test test_gas_1KB_threePieces --isolate --gas-report`. With 100 KB pieces
/// the EIP-7623 calldata floor (40 gas per non-zero byte) hides the execution cost; the 1 KB
/// pieces show it.
contract RollupGasTest is RollupTestBase {
    bytes internal small;
    bytes internal large;

    function setUp() public override {
        super.setUp();
        small = randomBytes(1024);
        large = randomBytes(100_000);
        // A first batch, so that storage of later ones is laid out like in steady state.
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(GENESIS, root(1), 1, 1, INPUTS, hex"01");
    }

    /// Incompressible bytes, like a compressed batch.
    function randomBytes(uint256 length) internal pure returns (bytes memory data) {
        data = new bytes(length);
        for (uint256 i; i < length / 32; ++i) {
            bytes32 word = keccak256(abi.encode(length, i));
            assembly {
                mstore(add(add(data, 32), mul(i, 32)), word)
            }
        }
    }

    function batch(bytes memory piece, uint256 pieces) internal {
        for (uint256 i = 1; i < pieces; ++i) {
            vm.prank(batcher);
            rollup.stageBatchData(piece);
        }
        vm.prank(batcher);
        rollup.submitBatch{value: BOND}(root(1), root(2), 2, 10, INPUTS, piece);
    }

    function test_gas_1KB_onePiece() public {
        batch(small, 1);
    }

    function test_gas_1KB_threePieces() public {
        batch(small, 3);
    }

    function test_gas_100KB_onePiece() public {
        batch(large, 1);
    }

    function test_gas_100KB_threePieces() public {
        batch(large, 3);
    }
}
