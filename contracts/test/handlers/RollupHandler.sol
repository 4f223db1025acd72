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
///         so that bonds get credited instead of paid.
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

    function submit(uint256 blocksSeed, bytes32 post, uint256 extraBond, bool useBlobs) external {
        if (post == bytes32(0)) post = keccak256(abi.encode(submitted, blocksSeed));
        uint64 blocks = uint64(1 + (blocksSeed % 50));
        uint256 value = rollup.bond() + (extraBond % 1 ether);
        bytes32 prev = rollup.latestStateRoot();
        uint64 first = rollup.nextL2Block();
        if (useBlobs) {
            bytes32[] memory hashes = new bytes32[](1 + (blocksSeed % 3));
            for (uint256 i; i < hashes.length; ++i) {
                hashes[i] = bytes32((uint256(1) << 248) | uint256(keccak256(abi.encode(post, i))) >> 8);
            }
            VM.blobhashes(hashes);
            rollup.submitBatchBlobs{value: value}(prev, post, first, first + blocks - 1);
            VM.blobhashes(new bytes32[](0));
        } else {
            rollup.submitBatch{value: value}(prev, post, first, first + blocks - 1, abi.encode(post));
        }
        submitted++;
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
        rollup.replaceStateRoot(index, correct);
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

    function _findChallenged(uint256 seed) internal view returns (bool, uint256) {
        uint256 count = rollup.commitmentCount();
        for (uint256 k; k < count; ++k) {
            uint256 index = (seed % count + k) % count;
            if (rollup.getCommitment(index).status == Rollup.Status.Challenged) return (true, index);
        }
        return (false, 0);
    }
}
