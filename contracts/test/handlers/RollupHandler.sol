// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "../../src/Rollup.sol";

interface HandlerVm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function blobhashes(bytes32[] calldata hashes) external;
}

/// @notice Drives a Rollup through random but mostly valid actions for the invariant tests.
///         It is both the rollup's batcher and its dispute game factory, and it may refuse ETH
///         so that bonds get credited instead of paid. It stages calldata and blob pieces,
///         discards them, and keeps a ghost copy of the staging list and of each batch's pieces.
contract RollupHandler {
    HandlerVm internal constant VM = HandlerVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    Rollup public rollup;
    bool public acceptEth = true;
    /// Ghosts: successful actions of each kind.
    uint256 public submitted;
    uint256 public challenged;
    uint256 public dismissed;
    uint256 public replaced;
    uint256 public finalized;
    uint256 public stagedCalls;
    uint256 public discarded;
    /// Ghost of the rollup's staging list and its kind.
    bytes32[] internal _ghostStaged;
    Rollup.DataKind public ghostStagedKind;
    /// Ghost of each commitment's piece hashes, as the handler sent them.
    mapping(uint256 index => bytes32[] hashes) internal _ghostPieces;
    uint256 internal _now = 1_000_000;
    uint256 internal _block = 100;

    function init(Rollup rollup_) external {
        rollup = rollup_;
        VM.warp(_now);
        VM.roll(_block);
    }

    receive() external payable {
        require(acceptEth, "handler refuses ETH");
    }

    /// Submits the next batch: the staged pieces plus this call's final piece(s). With pieces
    /// staged, their kind wins over `useBlobs`.
    function submit(uint256 blocksSeed, bytes32 post, uint256 extraBond, bool useBlobs) external {
        if (post == bytes32(0)) post = keccak256(abi.encode(submitted, blocksSeed));
        uint64 blocks = uint64(1 + (blocksSeed % 50));
        uint256 value = rollup.bond() + (extraBond % 1 ether);
        bytes32 prev = rollup.latestStateRoot();
        uint64 first = rollup.nextL2Block();
        if (_ghostStaged.length > 0) useBlobs = ghostStagedKind == Rollup.DataKind.Blobs;
        uint256 index = rollup.commitmentCount();
        if (useBlobs) {
            uint256 room = rollup.MAX_PIECES() - _ghostStaged.length;
            uint256 count = 1 + (blocksSeed % 3);
            if (count > room) count = room;
            bytes32[] memory hashes = _blobHashes(post, count);
            VM.blobhashes(hashes);
            rollup.submitBatchBlobs{value: value}(
                prev, post, first, first + blocks - 1, keccak256(abi.encode("inputs", index))
            );
            VM.blobhashes(new bytes32[](0));
            _takeGhost(index, hashes);
        } else {
            bytes memory data = abi.encode(post);
            rollup.submitBatch{value: value}(
                prev, post, first, first + blocks - 1, keccak256(abi.encode("inputs", index)), data
            );
            bytes32[] memory hashes = new bytes32[](1);
            hashes[0] = keccak256(data);
            _takeGhost(index, hashes);
        }
        Rollup.Commitment memory c = rollup.getCommitment(index);
        require(c.batchDataHash == keccak256(abi.encodePacked(_ghostPieces[index])), "batchDataHash rule");
        require(c.dataKind == (useBlobs ? Rollup.DataKind.Blobs : Rollup.DataKind.Calldata), "data kind");
        submitted++;
    }

    /// Stages one calldata piece, unless blobs are staged or the list is full.
    function stageData(uint256 seed) external {
        if (_ghostStaged.length > 0 && ghostStagedKind != Rollup.DataKind.Calldata) return;
        if (_ghostStaged.length + 2 > rollup.MAX_PIECES()) return;
        bytes memory piece = abi.encode(seed, _ghostStaged.length, submitted);
        rollup.stageBatchData(piece);
        _ghostStaged.push(keccak256(piece));
        ghostStagedKind = Rollup.DataKind.Calldata;
        stagedCalls++;
    }

    /// Stages one to six blobs, unless calldata is staged or the list is full.
    function stageBlobs(uint256 seed) external {
        if (_ghostStaged.length > 0 && ghostStagedKind != Rollup.DataKind.Blobs) return;
        uint256 room = rollup.MAX_PIECES() - 1 - _ghostStaged.length;
        uint256 count = 1 + (seed % 6);
        if (count > room) count = room;
        if (count == 0) return;
        bytes32[] memory hashes = _blobHashes(keccak256(abi.encode(seed, _ghostStaged.length)), count);
        VM.blobhashes(hashes);
        rollup.stageBatchBlobs();
        VM.blobhashes(new bytes32[](0));
        for (uint256 i; i < count; ++i) {
            _ghostStaged.push(hashes[i]);
        }
        ghostStagedKind = Rollup.DataKind.Blobs;
        stagedCalls++;
    }

    function discard() external {
        rollup.discardStaged();
        if (_ghostStaged.length > 0) discarded++;
        delete _ghostStaged;
    }

    function ghostStaged() external view returns (bytes32[] memory) {
        return _ghostStaged;
    }

    function ghostPieces(uint256 index) external view returns (bytes32[] memory) {
        return _ghostPieces[index];
    }

    function challenge(uint256 indexSeed) external {
        uint256 count = rollup.commitmentCount();
        if (count == 0) return;
        uint256 index = indexSeed % count;
        Rollup.Status s = rollup.getCommitment(index).status;
        if (s != Rollup.Status.Pending && s != Rollup.Status.Challenged) return;
        if (block.timestamp >= rollup.challengeDeadline(index)) return;
        rollup.markChallenged(index);
        challenged++;
    }

    function dismiss(uint256 indexSeed) external {
        (bool found, uint256 index) = _findChallenged(indexSeed);
        if (!found) return;
        rollup.dismissChallenge(index);
        dismissed++;
    }

    function replace(uint256 indexSeed, bytes32 correct) external {
        (bool found, uint256 index) = _findChallenged(indexSeed);
        if (!found) return;
        if (correct == bytes32(0) || correct == rollup.getCommitment(index).postStateRoot) {
            correct = keccak256(abi.encode("correct", index, correct));
        }
        Rollup.Commitment memory before = rollup.getCommitment(index);
        // The factory backs the new claim with a bond (the handler is its proposer, so that every
        // credit stays the handler's) and receives the slashed one.
        uint256 newBond = rollup.bond() + (uint256(correct) % 1 ether);
        rollup.replaceStateRoot{value: newBond}(index, correct, address(this));
        Rollup.Commitment memory c = rollup.getCommitment(index);
        require(c.status == Rollup.Status.Pending && c.openChallenges == 0, "replacement is a pending claim");
        require(c.postStateRoot == correct && c.proposer == address(this), "replacement claim");
        require(c.bond == newBond && c.submittedAt == block.timestamp, "replacement bond and period");
        require(c.replacements == before.replacements + 1, "replacements counter");
        require(c.prevStateRoot == before.prevStateRoot && c.inputsRoot == before.inputsRoot, "batch kept");
        // Pieces staged on the wrong root are dropped with it.
        require(rollup.stagedPieceCount() == 0, "staging survived replaceStateRoot");
        delete _ghostStaged;
        replaced++;
    }

    function finalizeNext() external {
        uint256 index = rollup.nextFinalization();
        if (index >= rollup.commitmentCount()) return;
        Rollup.Commitment memory c = rollup.getCommitment(index);
        if (c.status != Rollup.Status.Pending) return;
        if (block.timestamp < rollup.challengeDeadline(index)) return;
        rollup.finalize(index);
        finalized++;
    }

    function withdraw() external {
        if (!acceptEth || rollup.claimable(address(this)) == 0) return;
        rollup.withdraw();
    }

    function setAcceptEth(bool accept) external {
        acceptEth = accept;
    }

    function passTime(uint256 secondsSeed) external {
        _now += secondsSeed % (2 * rollup.challengePeriod());
        _block += 1;
        VM.warp(_now);
        VM.roll(_block);
    }

    function _blobHashes(bytes32 seed, uint256 count) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = bytes32((uint256(1) << 248) | uint256(keccak256(abi.encode(seed, i))) >> 8);
        }
    }

    /// The commitment `index` took the staged pieces and `finalPieces`; staging is empty again.
    function _takeGhost(uint256 index, bytes32[] memory finalPieces) internal {
        bytes32[] storage pieces = _ghostPieces[index];
        for (uint256 i; i < _ghostStaged.length; ++i) {
            pieces.push(_ghostStaged[i]);
        }
        for (uint256 i; i < finalPieces.length; ++i) {
            pieces.push(finalPieces[i]);
        }
        delete _ghostStaged;
    }

    function _findChallenged(uint256 seed) internal view returns (bool, uint256) {
        uint256 count = rollup.commitmentCount();
        for (uint256 k; k < count; ++k) {
            uint256 index = (seed % count + k) % count;
            if (rollup.getCommitment(index).status == Rollup.Status.Challenged) return (true, index);
        }
        return (false, 0);
    }
}
