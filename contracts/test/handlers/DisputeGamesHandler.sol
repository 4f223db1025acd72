// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "../../src/Rollup.sol";
import {DisputeGames} from "../../src/DisputeGames.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {ScriptedVerifier} from "../MockStepVerifiers.sol";

interface GamesHandlerVm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function deal(address account, uint256 balance) external;
}

/// @notice Drives a Rollup and its DisputeGames through random but mostly legal actions for the
///         invariant tests. The handler deploys both (it is the Rollup's owner and batcher, so
///         the proposer of every submitted commitment) and plays every side: itself and three
///         actors open games, defend (directly or through a delegate), choose, step (with a
///         `ScriptedVerifier`, so either side can win a step), time out, finalize, and it may
///         refuse ETH so that payouts get credited. `illegalMove` tries a move that breaks a
///         rule and checks that it reverts and changes nothing. Every action is guarded: the
///         suite runs with `fail_on_revert`.
contract DisputeGamesHandler {
    GamesHandlerVm internal constant VM = GamesHandlerVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant BOND = 0.01 ether;
    uint256 internal constant PERIOD = 600;
    uint256 internal constant CHALLENGE_BOND = 0.05 ether;
    uint256 internal constant MOVE_BASE = 0.001 ether;
    uint64 internal constant CLOCK = 1000;
    bytes32 internal constant GENESIS = keccak256("genesis");

    enum Want {
        DefenderToMove,
        ChallengerToMove,
        StepDue,
        Expired,
        InProgress
    }

    Rollup public rollup;
    DisputeGames public games;
    ScriptedVerifier public verifier;
    address[3] internal _actors = [address(0xA1), address(0xA2), address(0xA3)];
    bool public acceptEth = true;

    /// Ghosts.
    uint256 public opened;
    uint256 public moves;
    uint256 public steps;
    uint256 public timeouts;
    uint256 public illegalTried;
    mapping(uint256 gameId => DisputeGames.GameStatus status) public seenStatus;
    mapping(bytes32 hash => bytes state) internal _preimages;
    uint256 internal _now = 1_000_000;
    uint256 internal _block = 100;

    function init() external {
        VM.warp(_now);
        VM.roll(_block);
        rollup = new Rollup(address(this), BOND, PERIOD, GENESIS);
        verifier = new ScriptedVerifier();
        games = new DisputeGames(rollup, verifier, CHALLENGE_BOND, MOVE_BASE, CLOCK);
        rollup.setDisputeGameFactory(address(games));
        for (uint256 i; i < _actors.length; ++i) {
            VM.deal(_actors[i], 1_000_000 ether);
        }
    }

    receive() external payable {
        require(acceptEth, "handler refuses ETH");
    }

    // ------------------------------------------------------------ actions

    function submit(uint256 seed) external {
        uint256 index = rollup.commitmentCount();
        bytes32 post = keccak256(abi.encode("post", index, seed));
        bytes32 inputs = keccak256(abi.encode("inputs", index, seed));
        bytes32 prev = rollup.latestStateRoot();
        uint64 first = rollup.nextL2Block();
        // casting to 'uint64' is safe because the value is below 5
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 last = first + uint64(seed % 5);
        rollup.submitBatch{value: BOND}(prev, post, first, last, inputs, abi.encode(seed));
        MachineState.State memory s;
        s.stateRoot = prev;
        s.inputs = inputs;
        bytes memory pre = abi.encode(s);
        _preimages[keccak256(pre)] = pre;
        _observe();
    }

    function open(uint256 actorSeed, uint256 indexSeed, bytes32 claimed) external {
        uint256 count = rollup.commitmentCount();
        if (count == 0) return;
        uint256 index = indexSeed % count;
        Rollup.Commitment memory c = rollup.getCommitment(index);
        if (c.status != Rollup.Status.Pending && c.status != Rollup.Status.Challenged) return;
        if (block.timestamp >= rollup.challengeDeadline(index)) return;
        if (claimed == bytes32(0) || claimed == c.postStateRoot) claimed = keccak256(abi.encode(claimed, index));
        _as(_player(actorSeed));
        games.open{value: CHALLENGE_BOND}(index, claimed);
        opened++;
        _observe();
    }

    function bisect(uint256 gameSeed, uint256 hashSeed, bool viaDelegate) external {
        (bool found, uint256 id) = _find(gameSeed, Want.DefenderToMove);
        if (!found) return;
        _bisect(id, hashSeed, viaDelegate);
        _observe();
    }

    function choose(uint256 gameSeed, bool agree) external {
        (bool found, uint256 id) = _find(gameSeed, Want.ChallengerToMove);
        if (!found) return;
        _choose(id, agree);
        _observe();
    }

    /// Plays up to `count % 90` moves of one game at once (80 moves reach the leaf), so that
    /// steps happen within the run's depth.
    function play(uint256 gameSeed, uint256 count, uint256 bits) external {
        (bool found, uint256 id) = _find(gameSeed, Want.InProgress);
        if (!found) return;
        count %= 90;
        for (uint256 k; k < count; ++k) {
            DisputeGames.Game memory g = games.getGame(id);
            if (g.turn == DisputeGames.Turn.Step || block.timestamp >= games.deadline(id)) break;
            if (g.turn == DisputeGames.Turn.Defender) _bisect(id, uint256(keccak256(abi.encode(bits, k))), k % 3 == 0);
            else _choose(id, (bits >> (k % 256)) & 1 == 1);
        }
        _observe();
    }

    function step(uint256 gameSeed, bool defenderWins, uint256 callerSeed) external {
        (bool found, uint256 id) = _find(gameSeed, Want.StepDue);
        if (!found) return;
        DisputeGames.Game memory g = games.getGame(id);
        bytes memory pre = _preimages[g.hashLo];
        if (pre.length == 0) return;
        bytes32 post = defenderWins ? g.hashHi : keccak256(abi.encode("other", g.hashHi));
        _as(_player(callerSeed));
        games.step(id, pre, abi.encode(post));
        require(
            games.getGame(id).status
                == (defenderWins ? DisputeGames.GameStatus.DefenderWon : DisputeGames.GameStatus.ChallengerWon),
            "step outcome"
        );
        steps++;
        _observe();
    }

    function timeout(uint256 gameSeed) external {
        (bool found, uint256 id) = _find(gameSeed, Want.Expired);
        if (!found) return;
        DisputeGames.Turn turn = games.getGame(id).turn;
        games.timeout(id);
        DisputeGames.GameStatus expected = turn == DisputeGames.Turn.Defender
            ? DisputeGames.GameStatus.ChallengerWon
            : DisputeGames.GameStatus.DefenderWon;
        require(games.getGame(id).status == expected, "timeout outcome");
        timeouts++;
        _observe();
    }

    /// Tries one illegal move on a game; it must revert and leave the game and the balances as
    /// they were.
    function illegalMove(uint256 gameSeed, uint256 kind) external {
        uint256 count = games.gameCount();
        if (count == 0) return;
        uint256 id = gameSeed % count;
        DisputeGames.Game memory g = games.getGame(id);
        bytes32 before = keccak256(abi.encode(g));
        uint256 balance = address(games).balance;
        uint256 bond = games.moveBond(g.depth);
        address outsider = address(0x0DD);
        VM.deal(outsider, 10 ether);
        bool accepted;
        kind %= 6;
        if (kind == 0) {
            // An outsider plays the defender's move.
            VM.prank(outsider);
            try games.bisect{value: bond}(id, bytes32(kind)) {
                accepted = true;
            } catch {}
        } else if (kind == 1) {
            // An outsider plays the challenger's move.
            VM.prank(outsider);
            try games.choose{value: bond}(id, true) {
                accepted = true;
            } catch {}
        } else if (kind == 2) {
            // The defender pays the wrong bond.
            VM.prank(g.defender);
            try games.bisect{value: bond + 1}(id, bytes32(kind)) {
                accepted = true;
            } catch {}
        } else if (kind == 3) {
            // A move out of turn.
            if (g.turn == DisputeGames.Turn.Defender) {
                VM.prank(g.challenger);
                try games.choose{value: bond}(id, true) {
                    accepted = true;
                } catch {}
            } else {
                VM.prank(g.defender);
                try games.bisect{value: bond}(id, bytes32(kind)) {
                    accepted = true;
                } catch {}
            }
        } else if (kind == 4) {
            // A step with a pre-state that does not hash to hashLo, or before the leaf.
            try games.step(id, abi.encode("not a state", id), abi.encode(g.hashHi)) {
                accepted = true;
            } catch {}
        } else {
            // A timeout before the clock ran out, or of a finished game.
            if (g.status == DisputeGames.GameStatus.InProgress && block.timestamp >= games.deadline(id)) return;
            try games.timeout(id) {
                accepted = true;
            } catch {}
        }
        require(!accepted, "illegal move accepted");
        require(keccak256(abi.encode(games.getGame(id))) == before, "illegal move changed the game");
        require(address(games).balance == balance, "illegal move moved ETH");
        illegalTried++;
    }

    function finalizeNext() external {
        uint256 index = rollup.nextFinalization();
        if (index >= rollup.commitmentCount()) return;
        if (rollup.getCommitment(index).status != Rollup.Status.Pending) return;
        if (block.timestamp < rollup.challengeDeadline(index)) return;
        rollup.finalize(index);
        _observe();
    }

    /// The handler (every batch's proposer) or an actor (a replacement's proposer) picks a
    /// delegate or revokes it.
    function setDelegate(uint256 whoSeed, uint256 delegateSeed) external {
        address delegate = delegateSeed % 4 == 3 ? address(0) : _actors[delegateSeed % 3];
        _as(_player(whoSeed));
        games.setDefender(delegate);
    }

    function setAcceptEth(bool accept) external {
        acceptEth = accept;
    }

    function withdraw() external {
        if (!acceptEth) return;
        if (games.claimable(address(this)) > 0) games.withdraw();
        if (rollup.claimable(address(this)) > 0) rollup.withdraw();
    }

    function passTime(uint256 secondsSeed) external {
        _now += secondsSeed % 1500;
        _block += 1;
        VM.warp(_now);
        VM.roll(_block);
    }

    // ------------------------------------------------------------ internals

    function _bisect(uint256 id, uint256 hashSeed, bool viaDelegate) internal {
        DisputeGames.Game memory g = games.getGame(id);
        address mover = g.defender;
        address delegate = games.defenderDelegate(mover);
        if (viaDelegate && delegate != address(0)) mover = delegate;
        bytes memory pre = abi.encode("state", id, hashSeed);
        bytes32 h = keccak256(pre);
        _preimages[h] = pre;
        uint256 bond = games.moveBond(g.depth);
        _as(mover);
        games.bisect{value: bond}(id, h);
        moves++;
    }

    function _choose(uint256 id, bool agree) internal {
        DisputeGames.Game memory g = games.getGame(id);
        uint256 bond = games.moveBond(g.depth);
        _as(g.challenger);
        games.choose{value: bond}(id, agree);
        moves++;
    }

    /// The next call comes from `who` (no prank when it is the handler itself).
    function _as(address who) internal {
        if (who != address(this)) VM.prank(who);
    }

    function _player(uint256 seed) internal view returns (address) {
        uint256 k = seed % 4;
        return k == 3 ? address(this) : _actors[k];
    }

    function _find(uint256 seed, Want want) internal view returns (bool, uint256) {
        uint256 count = games.gameCount();
        for (uint256 k; k < count; ++k) {
            uint256 id = (seed % count + k) % count;
            DisputeGames.Game memory g = games.getGame(id);
            if (g.status != DisputeGames.GameStatus.InProgress) continue;
            bool expired = block.timestamp >= games.deadline(id);
            if (want == Want.InProgress) return (true, id);
            if (want == Want.Expired) {
                if (expired) return (true, id);
                continue;
            }
            if (expired) continue;
            if (want == Want.DefenderToMove && g.turn == DisputeGames.Turn.Defender) return (true, id);
            if (want == Want.ChallengerToMove && g.turn == DisputeGames.Turn.Challenger) return (true, id);
            if (want == Want.StepDue && g.turn == DisputeGames.Turn.Step) return (true, id);
        }
        return (false, 0);
    }

    /// Records games seen resolved (the invariant checks that they stay as seen).
    function _observe() internal {
        uint256 count = games.gameCount();
        for (uint256 id; id < count; ++id) {
            if (seenStatus[id] != DisputeGames.GameStatus.InProgress) continue;
            DisputeGames.GameStatus s = games.getGame(id).status;
            if (s != DisputeGames.GameStatus.InProgress) seenStatus[id] = s;
        }
    }
}
