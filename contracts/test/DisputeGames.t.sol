// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Rollup} from "../src/Rollup.sol";
import {DisputeGames} from "../src/DisputeGames.sol";
import {IStepVerifier} from "../src/fault/IStepVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {TraceVerifier, ScriptedVerifier} from "./MockStepVerifiers.sol";
import {DisputeGamesHandler} from "./handlers/DisputeGamesHandler.sol";

/// @dev Refuses ETH until told otherwise; plays as a challenger or proposer through `exec`.
contract Player {
    bool public accept;

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    function exec(address target, uint256 value, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        require(accept, "refused");
    }
}

contract DisputeGamesTestBase is Test {
    uint256 internal constant BOND = 0.01 ether;
    uint256 internal constant PERIOD = 300;
    uint256 internal constant CHALLENGE_BOND = 0.05 ether;
    uint256 internal constant MOVE_BASE = 0.001 ether;
    uint64 internal constant CLOCK = 3600;
    uint256 internal constant DEPTH = 40;
    uint64 internal constant LENGTH = uint64(1) << 40;
    bytes32 internal constant GENESIS = keccak256("genesis");
    bytes32 internal constant INPUTS = keccak256("inputs");
    bytes32 internal constant TRUE_POST = keccak256("true post");
    bytes32 internal constant WRONG_POST = keccak256("wrong post");

    address internal batcher = address(0xBA7C);
    address internal challenger = address(0xC1);
    address internal challenger2 = address(0xC2);
    address internal delegate = address(0xDE1E);
    address internal stranger = address(0x5742);

    Rollup internal rollup;
    DisputeGames internal games;
    TraceVerifier internal trace;

    function setUp() public virtual {
        vm.warp(1_000_000);
        rollup = new Rollup(batcher, BOND, PERIOD, GENESIS);
        trace = new TraceVerifier();
        trace.configure(keccak256("seed"), GENESIS, INPUTS, TRUE_POST);
        games = new DisputeGames(rollup, trace, CHALLENGE_BOND, MOVE_BASE, CLOCK);
        rollup.setDisputeGameFactory(address(games));
        vm.deal(batcher, 1000 ether);
        vm.deal(challenger, 1000 ether);
        vm.deal(challenger2, 1000 ether);
        vm.deal(delegate, 1000 ether);
        vm.deal(stranger, 1000 ether);
    }

    // ------------------------------------------------------------ helpers

    function submit(bytes32 post) internal returns (uint256 index) {
        bytes32 prev = rollup.latestStateRoot();
        uint64 first = rollup.nextL2Block();
        vm.prank(batcher);
        index = rollup.submitBatch{value: BOND}(prev, post, first, first, INPUTS, abi.encode(first, post));
    }

    function openAs(address who, uint256 index, bytes32 claimed) internal returns (uint256 id) {
        vm.prank(who);
        id = games.open{value: CHALLENGE_BOND}(index, claimed);
    }

    function game(uint256 id) internal view returns (DisputeGames.Game memory) {
        return games.getGame(id);
    }

    function mid(uint256 id) internal view returns (uint64) {
        DisputeGames.Game memory g = game(id);
        return (g.lo + g.hi) / 2;
    }

    function bisectAs(address who, uint256 id, bytes32 h) internal {
        uint256 b = games.moveBond(game(id).depth);
        vm.prank(who);
        games.bisect{value: b}(id, h);
    }

    function chooseAs(address who, uint256 id, bool agree) internal {
        uint256 b = games.moveBond(game(id).depth);
        vm.prank(who);
        games.choose{value: b}(id, agree);
    }

    /// The honest defender names the true hash at mid.
    function bisectHonest(uint256 id) internal {
        bisectAs(game(id).defender, id, trace.hashAt(mid(id)));
    }

    /// The honest challenger agrees exactly when the defender's hash is the true one.
    function chooseHonest(uint256 id) internal {
        DisputeGames.Game memory g = game(id);
        chooseAs(g.challenger, id, g.midHash == trace.hashAt((g.lo + g.hi) / 2));
    }

    /// Plays honest moves on both sides until the step is due.
    function playToLeaf(uint256 id) internal {
        while (game(id).turn != DisputeGames.Turn.Step) {
            bisectHonest(id);
            chooseHonest(id);
        }
    }

    /// Sum of the move bonds of `moves` moves at depths 0 .. moves-1.
    function moveBonds(uint256 moves) internal view returns (uint256 total) {
        for (uint256 d; d < moves; ++d) {
            total += games.moveBond(d);
        }
    }

    function snapshotOf(uint256 id) internal view returns (bytes32) {
        return keccak256(abi.encode(games.getGame(id)));
    }

    function assertBalances() internal view {
        assertEq(address(games).balance, games.totalBondsHeld(), "games balance != bonds held");
        assertEq(address(rollup).balance, rollup.totalBondsHeld(), "rollup balance != bonds held");
    }
}

contract DisputeGamesUnitTest is DisputeGamesTestBase {
    // ------------------------------------------------------------ constructor

    function test_constructor_setsConfiguration() public view {
        assertEq(address(games.rollup()), address(rollup));
        assertEq(address(games.verifier()), address(trace));
        assertEq(games.challengeBond(), CHALLENGE_BOND);
        assertEq(games.moveBondBase(), MOVE_BASE);
        assertEq(uint256(games.maxClockSeconds()), CLOCK);
        assertEq(games.replacementBond(), BOND);
        assertEq(games.DEPTH(), 40);
        assertEq(games.gameCount(), 0);
        assertEq(games.totalBondsHeld(), 0);
    }

    function test_constructor_rejectsBadParameters() public {
        IStepVerifier v = trace;
        vm.expectRevert(DisputeGames.ZeroAddress.selector);
        new DisputeGames(Rollup(payable(address(0))), v, CHALLENGE_BOND, MOVE_BASE, CLOCK);
        vm.expectRevert(DisputeGames.ZeroAddress.selector);
        new DisputeGames(rollup, IStepVerifier(address(0)), CHALLENGE_BOND, MOVE_BASE, CLOCK);
        vm.expectRevert(DisputeGames.ZeroClock.selector);
        new DisputeGames(rollup, v, CHALLENGE_BOND, MOVE_BASE, 0);
        uint256 tooLarge = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.BondTooLarge.selector, tooLarge));
        new DisputeGames(rollup, v, tooLarge, MOVE_BASE, CLOCK);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.BondTooLarge.selector, tooLarge));
        new DisputeGames(rollup, v, CHALLENGE_BOND, tooLarge, CLOCK);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ChallengeBondTooLow.selector, BOND - 1, BOND));
        new DisputeGames(rollup, v, BOND - 1, MOVE_BASE, CLOCK);
        // Exactly the Rollup bond and free moves are fine.
        new DisputeGames(rollup, v, BOND, 0, 1);
    }

    function test_moveBond_growsWithDepth() public view {
        assertEq(games.moveBond(0), MOVE_BASE);
        assertEq(games.moveBond(1), MOVE_BASE + MOVE_BASE / 8);
        assertEq(games.moveBond(8), 2 * MOVE_BASE);
        assertEq(games.moveBond(39), MOVE_BASE + MOVE_BASE * 39 / 8);
        // One side's 40 moves: 137.5 x the base.
        assertEq(moveBonds(40), MOVE_BASE * 1375 / 10);
    }

    // ------------------------------------------------------------ open

    function test_open_recordsGameWithMachineStateHashes() public {
        uint256 index = submit(WRONG_POST);
        bytes32 hashLo = MachineState.initialHash(GENESIS, INPUTS);
        bytes32 hashHi = MachineState.finalHash(WRONG_POST);
        vm.expectEmit(true, true, true, true);
        emit Rollup.BatchChallenged(index, 1);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameOpened(0, index, challenger, batcher, WRONG_POST, TRUE_POST, hashLo, hashHi, 0);
        uint256 id = openAs(challenger, index, TRUE_POST);

        assertEq(id, 0);
        assertEq(games.gameCount(), 1);
        DisputeGames.Game memory g = game(id);
        assertEq(g.challenger, challenger);
        assertEq(g.defender, batcher);
        assertEq(uint256(g.commitmentIndex), index);
        assertEq(uint256(g.replacements), 0);
        assertEq(g.claimedRoot, TRUE_POST);
        assertEq(uint256(g.lo), 0);
        assertEq(uint256(g.hi), uint256(1) << 40);
        assertEq(g.hashLo, hashLo);
        assertEq(g.hashHi, hashHi);
        // The real machine state encodings: the state with prev root and inputs, the final one.
        MachineState.State memory s;
        s.stateRoot = GENESIS;
        s.inputs = INPUTS;
        assertEq(g.hashLo, keccak256(abi.encode(s)));
        assertEq(g.hashLo, trace.hashAt(0));
        assertEq(uint256(g.depth), 0);
        assertTrue(g.turn == DisputeGames.Turn.Defender);
        assertTrue(g.status == DisputeGames.GameStatus.InProgress);
        assertEq(uint256(g.defenderClock), CLOCK);
        assertEq(uint256(g.challengerClock), CLOCK);
        assertEq(uint256(g.lastMoveAt), block.timestamp);
        assertEq(uint256(g.defenderBonds), 0);
        assertEq(uint256(g.challengerBonds), CHALLENGE_BOND);
        assertEq(games.deadline(id), block.timestamp + CLOCK);
        assertTrue(!games.isStale(id));

        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertTrue(c.status == Rollup.Status.Challenged);
        assertEq(uint256(c.openChallenges), 1);
        assertEq(address(games).balance, CHALLENGE_BOND);
        assertEq(games.lockedBonds(), CHALLENGE_BOND);
        assertBalances();
    }

    function test_open_finalHashOfTheProposersRootMatchesTheTrueTraceWhenRight() public {
        uint256 index = submit(TRUE_POST);
        uint256 id = openAs(challenger, index, WRONG_POST);
        assertEq(game(id).hashHi, trace.hashAt(LENGTH));
        assertEq(game(id).hashHi, MachineState.finalHash(TRUE_POST));
    }

    function test_open_rejectsBadCalls() public {
        uint256 index = submit(WRONG_POST);
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongBond.selector, CHALLENGE_BOND - 1, CHALLENGE_BOND));
        games.open{value: CHALLENGE_BOND - 1}(index, TRUE_POST);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongBond.selector, CHALLENGE_BOND + 1, CHALLENGE_BOND));
        games.open{value: CHALLENGE_BOND + 1}(index, TRUE_POST);
        vm.expectRevert(DisputeGames.ZeroClaimedRoot.selector);
        games.open{value: CHALLENGE_BOND}(index, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClaimMatchesProposal.selector, index, WRONG_POST));
        games.open{value: CHALLENGE_BOND}(index, WRONG_POST);
        // The Rollup's own checks come through unchanged.
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownCommitment.selector, 7));
        games.open{value: CHALLENGE_BOND}(7, TRUE_POST);
        uint256 deadline = rollup.challengeDeadline(index);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChallengePeriodOver.selector, index, deadline));
        games.open{value: CHALLENGE_BOND}(index, TRUE_POST);
        vm.stopPrank();
        rollup.finalize(index);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedStatus.selector, index, Rollup.Status.Finalized));
        games.open{value: CHALLENGE_BOND}(index, TRUE_POST);
        assertEq(games.gameCount(), 0);
        assertEq(address(games).balance, 0);
    }

    function test_open_severalGamesOnOneCommitment() public {
        uint256 index = submit(WRONG_POST);
        uint256 a = openAs(challenger, index, TRUE_POST);
        uint256 b = openAs(challenger2, index, keccak256("other"));
        uint256 c = openAs(challenger, index, TRUE_POST);
        assertEq(a, 0);
        assertEq(b, 1);
        assertEq(c, 2);
        assertEq(uint256(rollup.getCommitment(index).openChallenges), 3);
        assertEq(address(games).balance, 3 * CHALLENGE_BOND);
        assertBalances();
    }

    // ------------------------------------------------------------ bisect

    function test_bisect_namesMidAndPassesTheTurn() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        vm.warp(block.timestamp + 100);
        bytes32 h = trace.hashAt(LENGTH / 2);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.Bisected(id, batcher, LENGTH / 2, h, 0, CLOCK - 100);
        bisectAs(batcher, id, h);
        DisputeGames.Game memory g = game(id);
        assertEq(g.midHash, h);
        assertTrue(g.turn == DisputeGames.Turn.Challenger);
        assertEq(uint256(g.defenderClock), CLOCK - 100);
        assertEq(uint256(g.challengerClock), CLOCK);
        assertEq(uint256(g.lastMoveAt), block.timestamp);
        assertEq(uint256(g.defenderBonds), MOVE_BASE);
        assertEq(uint256(g.lo), 0);
        assertEq(uint256(g.hi), LENGTH);
        assertEq(games.deadline(id), block.timestamp + CLOCK);
        assertBalances();
    }

    function test_bisect_rejectsIllegalMovesAndChangesNothing() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        bytes32 before = snapshotOf(id);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 1));
        games.bisect{value: MOVE_BASE}(1, bytes32(0));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NotDefender.selector, id, challenger));
        games.bisect{value: MOVE_BASE}(id, bytes32(uint256(1)));
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongBond.selector, MOVE_BASE - 1, MOVE_BASE));
        games.bisect{value: MOVE_BASE - 1}(id, bytes32(uint256(1)));
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongBond.selector, 0, MOVE_BASE));
        games.bisect(id, bytes32(uint256(1)));
        assertEq(snapshotOf(id), before);

        bisectAs(batcher, id, bytes32(uint256(1)));
        before = snapshotOf(id);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongTurn.selector, id, DisputeGames.Turn.Challenger));
        games.bisect{value: MOVE_BASE}(id, bytes32(uint256(2)));
        assertEq(snapshotOf(id), before);
        assertBalances();
    }

    function test_bisect_afterTheDeadlineRevertsClockExpired() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        uint256 deadline = block.timestamp + CLOCK;
        bytes32 before = snapshotOf(id);
        vm.warp(deadline);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockExpired.selector, id, deadline));
        games.bisect{value: MOVE_BASE}(id, bytes32(uint256(1)));
        assertEq(snapshotOf(id), before);
    }

    function test_setDefender_delegatePlaysAndRevokes() public {
        uint256 id = openAs(challenger, submit(TRUE_POST), WRONG_POST);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.DefenderSet(batcher, delegate);
        vm.prank(batcher);
        games.setDefender(delegate);
        assertEq(games.defenderDelegate(batcher), delegate);

        // The delegate plays the defender's moves, posting the bonds.
        uint256 delegateBefore = delegate.balance;
        bytes32 h = trace.hashAt(mid(id));
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.Bisected(id, delegate, LENGTH / 2, h, 0, CLOCK);
        bisectAs(delegate, id, h);
        chooseHonest(id);
        // The proposer itself still may.
        bisectHonest(id);
        chooseHonest(id);
        vm.prank(batcher);
        games.setDefender(address(0));
        uint256 b2 = games.moveBond(2);
        vm.prank(delegate);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NotDefender.selector, id, delegate));
        games.bisect{value: b2}(id, h);

        // A delegate's bonds are the defender's side: they go to the proposer, not the delegate.
        vm.prank(batcher);
        games.setDefender(delegate);
        while (game(id).turn != DisputeGames.Turn.Step) {
            bisectAs(delegate, id, trace.hashAt(mid(id)));
            chooseHonest(id);
        }
        uint256 batcherBefore = batcher.balance;
        uint64 lo = game(id).lo;
        games.step(id, trace.preimage(lo), abi.encode(uint256(lo)));
        assertTrue(game(id).status == DisputeGames.GameStatus.DefenderWon);
        uint256 delegatePaid = delegateBefore - delegate.balance;
        assertEq(batcher.balance - batcherBefore, CHALLENGE_BOND + moveBonds(40) + moveBonds(40));
        assertEq(delegatePaid, moveBonds(40) - games.moveBond(1));
        assertBalances();
    }

    // ------------------------------------------------------------ choose

    function test_choose_agreeMovesLoAndDisagreeMovesHi() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        bytes32 h1 = keccak256("h1");
        bisectAs(batcher, id, h1);
        vm.warp(block.timestamp + 50);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.Chosen(id, true, LENGTH / 2, LENGTH, h1, MachineState.finalHash(WRONG_POST), 1, CLOCK - 50);
        chooseAs(challenger, id, true);
        DisputeGames.Game memory g = game(id);
        assertEq(uint256(g.lo), LENGTH / 2);
        assertEq(uint256(g.hi), LENGTH);
        assertEq(g.hashLo, h1);
        assertEq(uint256(g.depth), 1);
        assertTrue(g.turn == DisputeGames.Turn.Defender);
        assertEq(uint256(g.challengerClock), CLOCK - 50);
        assertEq(uint256(g.challengerBonds), CHALLENGE_BOND + MOVE_BASE);

        bytes32 h2 = keccak256("h2");
        bisectAs(batcher, id, h2);
        chooseAs(challenger, id, false);
        g = game(id);
        assertEq(uint256(g.lo), LENGTH / 2);
        assertEq(uint256(g.hi), LENGTH / 2 + LENGTH / 4);
        assertEq(g.hashLo, h1);
        assertEq(g.hashHi, h2);
        assertEq(uint256(g.depth), 2);
        assertEq(uint256(g.defenderBonds), MOVE_BASE + games.moveBond(1));
        assertEq(uint256(g.challengerBonds), CHALLENGE_BOND + MOVE_BASE + games.moveBond(1));
        assertBalances();
    }

    function test_choose_rejectsIllegalMovesAndChangesNothing() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongTurn.selector, id, DisputeGames.Turn.Defender));
        games.choose{value: MOVE_BASE}(id, true);
        bisectAs(batcher, id, keccak256("h"));
        bytes32 before = snapshotOf(id);
        vm.prank(batcher);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NotChallenger.selector, id, batcher));
        games.choose{value: MOVE_BASE}(id, true);
        vm.prank(challenger2);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NotChallenger.selector, id, challenger2));
        games.choose{value: MOVE_BASE}(id, true);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.WrongBond.selector, 2 * MOVE_BASE, MOVE_BASE));
        games.choose{value: 2 * MOVE_BASE}(id, true);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 5));
        games.choose{value: MOVE_BASE}(5, true);
        uint256 deadline = block.timestamp + CLOCK;
        vm.warp(deadline);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockExpired.selector, id, deadline));
        games.choose{value: MOVE_BASE}(id, true);
        assertEq(snapshotOf(id), before);
        assertBalances();
    }

    // ------------------------------------------------------------ clocks and timeout

    function test_clocks_eachSideSpendsItsOwnTime() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        vm.warp(block.timestamp + 1000);
        bisectAs(batcher, id, keccak256("a"));
        vm.warp(block.timestamp + 2000);
        chooseAs(challenger, id, true);
        vm.warp(block.timestamp + 2500);
        // The defender has 2600 left: still fine at 2500.
        bisectAs(batcher, id, keccak256("b"));
        DisputeGames.Game memory g = game(id);
        assertEq(uint256(g.defenderClock), CLOCK - 3500);
        assertEq(uint256(g.challengerClock), CLOCK - 2000);
        assertEq(games.deadline(id), block.timestamp + CLOCK - 2000);
        // The challenger has 1600 left.
        vm.warp(block.timestamp + 1600);
        uint256 b1 = games.moveBond(1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockExpired.selector, id, block.timestamp));
        games.choose{value: b1}(id, true);
    }

    function test_timeout_defenderOutOfTimeLosesAndTheClaimIsReplaced() public {
        uint256 index = submit(WRONG_POST);
        uint256 id = openAs(challenger, index, TRUE_POST);
        bisectAs(batcher, id, keccak256("a"));
        chooseAs(challenger, id, false);
        uint256 deadline = games.deadline(id);
        assertEq(deadline, block.timestamp + CLOCK);
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockNotExpired.selector, id, deadline));
        games.timeout(id);

        vm.warp(deadline);
        uint256 challengerBefore = challenger.balance;
        // Pot: opening bond + both sides' move at depth 0; the challenger's root is backed by
        // BOND out of it, and the proposer's slashed BOND comes on top.
        uint256 payout = CHALLENGE_BOND + 2 * MOVE_BASE - BOND + BOND;
        vm.expectEmit(true, true, true, true);
        emit Rollup.StateRootReplaced(index, WRONG_POST, TRUE_POST, challenger, BOND, BOND, 1);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(
            id, index, challenger, DisputeGames.GameStatus.ChallengerWon, payout, false, true
        );
        vm.prank(stranger);
        games.timeout(id);

        assertEq(challenger.balance, challengerBefore + payout);
        DisputeGames.Game memory g = game(id);
        assertTrue(g.status == DisputeGames.GameStatus.ChallengerWon);
        assertEq(uint256(g.defenderClock), 0);
        assertEq(uint256(g.defenderBonds) + g.challengerBonds, 0);
        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertEq(c.postStateRoot, TRUE_POST);
        assertEq(c.proposer, challenger);
        assertEq(uint256(c.bond), BOND);
        assertTrue(c.status == Rollup.Status.Pending);
        assertEq(uint256(c.replacements), 1);
        assertEq(address(games).balance, 0);
        assertBalances();
    }

    function test_timeout_challengerOutOfTimeAtTheLeafLoses() public {
        uint256 index = submit(TRUE_POST);
        uint256 id = openAs(challenger, index, WRONG_POST);
        playToLeaf(id);
        assertTrue(game(id).turn == DisputeGames.Turn.Step);
        uint256 deadline = games.deadline(id);
        assertEq(deadline, block.timestamp + CLOCK);
        vm.warp(deadline);
        // Too late to step now, even with the right pre-state.
        uint64 lo = game(id).lo;
        bytes memory pre = trace.preimage(lo);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockExpired.selector, id, deadline));
        games.step(id, pre, abi.encode(uint256(lo)));

        uint256 batcherBefore = batcher.balance;
        uint256 payout = CHALLENGE_BOND + 2 * moveBonds(40);
        vm.expectEmit(true, true, true, true);
        emit Rollup.ChallengeDismissed(index, 0);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(id, index, batcher, DisputeGames.GameStatus.DefenderWon, payout, false, true);
        games.timeout(id);
        assertEq(batcher.balance, batcherBefore + payout);
        assertEq(uint256(game(id).challengerClock), 0);
        assertTrue(rollup.getCommitment(index).status == Rollup.Status.Pending);
        assertBalances();
    }

    function test_timeout_unknownGame() public {
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 0));
        games.timeout(0);
    }

    // ------------------------------------------------------------ step

    function test_step_rejectsIllegalCallsAndChangesNothing() public {
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        bytes memory pre0 = trace.preimage(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NotAtLeaf.selector, id, uint64(0), LENGTH));
        games.step(id, pre0, abi.encode(uint256(0)));
        playToLeaf(id);
        DisputeGames.Game memory g = game(id);
        assertEq(uint256(g.hi), uint256(g.lo) + 1);
        assertEq(uint256(g.depth), 40);
        bytes32 before = snapshotOf(id);
        bytes memory wrongPre = trace.preimage(uint256(g.lo) + 7);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.BadPreState.selector, id, g.hashLo, keccak256(wrongPre)));
        games.step(id, wrongPre, abi.encode(uint256(g.lo)));
        // A witness the verifier refuses reverts with the verifier's error.
        bytes memory pre = trace.preimage(g.lo);
        vm.expectRevert(bytes("TraceVerifier: not the trace's state"));
        games.step(id, pre, abi.encode(uint256(g.lo) + 1));
        assertEq(snapshotOf(id), before);
        assertBalances();
    }

    function test_step_honestProposerWinsAndTheChallengeIsDismissed() public {
        uint256 index = submit(TRUE_POST);
        uint256 id = openAs(challenger, index, WRONG_POST);
        playToLeaf(id);
        uint64 lo = game(id).lo;
        bytes memory pre = trace.preimage(lo);
        bytes32 post = trace.hashAt(uint256(lo) + 1);
        uint256 batcherBefore = batcher.balance;
        uint256 payout = CHALLENGE_BOND + 2 * moveBonds(40);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.Stepped(id, stranger, lo, post, true);
        vm.expectEmit(true, true, true, true);
        emit Rollup.ChallengeDismissed(index, 0);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(id, index, batcher, DisputeGames.GameStatus.DefenderWon, payout, false, false);
        vm.prank(stranger);
        games.step(id, pre, abi.encode(uint256(lo)));
        assertEq(batcher.balance, batcherBefore + payout);
        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertTrue(c.status == Rollup.Status.Pending);
        assertEq(c.postStateRoot, TRUE_POST);
        vm.warp(rollup.challengeDeadline(index));
        rollup.finalize(index);
        assertEq(rollup.finalizedStateRoot(), TRUE_POST);
        assertBalances();
    }

    function test_step_wrongProposerLosesAndTheChallengersRootIsChallengeable() public {
        uint256 index = submit(WRONG_POST);
        uint256 later = submit(keccak256("built on the wrong root"));
        uint256 id = openAs(challenger, index, TRUE_POST);
        playToLeaf(id);
        DisputeGames.Game memory g = game(id);
        // The honest challenger agreed with every true hash: the last step is the wrong one.
        assertEq(uint256(g.lo), LENGTH - 1);
        assertEq(g.hashHi, MachineState.finalHash(WRONG_POST));
        uint256 challengerBefore = challenger.balance;
        uint256 payout = CHALLENGE_BOND + 2 * moveBonds(40) - BOND + BOND;
        bytes memory pre = trace.preimage(g.lo);
        bytes32 post = trace.hashAt(LENGTH);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.Stepped(id, challenger, g.lo, post, false);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(
            id, index, challenger, DisputeGames.GameStatus.ChallengerWon, payout, false, false
        );
        vm.prank(challenger);
        games.step(id, pre, abi.encode(uint256(g.lo)));
        assertEq(challenger.balance, challengerBefore + payout);
        assertTrue(rollup.getCommitment(later).status == Rollup.Status.Invalidated);

        // The replacement is the challenger's claim, open to a new game with the challenger as
        // defender, for a full period.
        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertEq(c.proposer, challenger);
        assertEq(c.postStateRoot, TRUE_POST);
        uint256 id2 = openAs(challenger2, index, keccak256("yet another root"));
        DisputeGames.Game memory g2 = game(id2);
        assertEq(g2.defender, challenger);
        assertEq(uint256(g2.replacements), 1);
        assertEq(g2.hashHi, MachineState.finalHash(TRUE_POST));
        assertEq(g2.hashLo, MachineState.initialHash(GENESIS, INPUTS));
        // Game over for the first game: every move reverts.
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGames.GameOver.selector, id, DisputeGames.GameStatus.ChallengerWon)
        );
        games.step(id, pre, abi.encode(uint256(g.lo)));
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGames.GameOver.selector, id, DisputeGames.GameStatus.ChallengerWon)
        );
        games.timeout(id);
        vm.prank(batcher);
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGames.GameOver.selector, id, DisputeGames.GameStatus.ChallengerWon)
        );
        games.bisect{value: MOVE_BASE}(id, bytes32(0));
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(DisputeGames.GameOver.selector, id, DisputeGames.GameStatus.ChallengerWon)
        );
        games.choose{value: MOVE_BASE}(id, true);
        assertBalances();
    }

    // ------------------------------------------------------------ stale games

    function test_stale_gameOnAReplacedClaimSettlesBondsOnly() public {
        uint256 index = submit(WRONG_POST);
        uint256 a = openAs(challenger, index, TRUE_POST);
        uint256 b = openAs(challenger2, index, keccak256("b's root"));
        uint256 b2 = openAs(challenger2, index, keccak256("b's root"));
        bisectAs(batcher, b, trace.hashAt(mid(b)));
        vm.warp(block.timestamp + CLOCK);
        games.timeout(a); // the defender never moved in game a
        assertTrue(games.isStale(b));
        assertTrue(games.isStale(b2));
        assertEq(rollup.getCommitment(index).proposer, challenger);

        // A game on the new claim, to see that stale games do not touch its count.
        uint256 c = openAs(challenger2, index, keccak256("c's root"));
        assertTrue(!games.isStale(c));
        assertEq(uint256(rollup.getCommitment(index).openChallenges), 1);

        // Game b: the challenger ran out of time; the old proposer wins the bonds only.
        uint256 batcherBefore = batcher.balance;
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(
            b, index, batcher, DisputeGames.GameStatus.DefenderWon, CHALLENGE_BOND + MOVE_BASE, true, true
        );
        games.timeout(b);
        assertEq(batcher.balance, batcherBefore + CHALLENGE_BOND + MOVE_BASE);
        // Game b2: the old proposer ran out of time; its challenger gets its whole bond back and
        // the claim is not replaced again.
        uint256 c2Before = challenger2.balance;
        games.timeout(b2);
        assertEq(challenger2.balance, c2Before + CHALLENGE_BOND);
        Rollup.Commitment memory cm = rollup.getCommitment(index);
        assertEq(cm.postStateRoot, TRUE_POST);
        assertEq(uint256(cm.replacements), 1);
        assertTrue(cm.status == Rollup.Status.Challenged);
        assertEq(uint256(cm.openChallenges), 1);
        assertBalances();
    }

    function test_stale_gameOnAnInvalidatedCommitmentSettlesBondsOnly() public {
        uint256 first = submit(WRONG_POST);
        uint256 second = submit(keccak256("second"));
        uint256 onSecond = openAs(challenger2, second, keccak256("other second"));
        uint256 onFirst = openAs(challenger, first, TRUE_POST);
        vm.warp(block.timestamp + CLOCK);
        games.timeout(onFirst);
        assertTrue(rollup.getCommitment(second).status == Rollup.Status.Invalidated);
        assertTrue(games.isStale(onSecond));
        uint256 c2Before = challenger2.balance;
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.GameResolved(
            onSecond, second, challenger2, DisputeGames.GameStatus.ChallengerWon, CHALLENGE_BOND, true, true
        );
        games.timeout(onSecond);
        assertEq(challenger2.balance, c2Before + CHALLENGE_BOND);
        assertTrue(rollup.getCommitment(second).status == Rollup.Status.Invalidated);
        assertBalances();
    }

    // ------------------------------------------------------------ payments

    function test_payout_refusingWinnerIsCreditedAndWithdraws() public {
        Player player = new Player();
        vm.deal(address(player), 10 ether);
        uint256 index = submit(WRONG_POST);
        uint256 id = abi.decode(
            player.exec(address(games), CHALLENGE_BOND, abi.encodeCall(DisputeGames.open, (index, TRUE_POST))),
            (uint256)
        );
        vm.warp(block.timestamp + CLOCK);
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.BondCredited(address(player), CHALLENGE_BOND);
        games.timeout(id);
        assertEq(games.claimable(address(player)), CHALLENGE_BOND);
        assertEq(games.totalClaimable(), CHALLENGE_BOND);
        assertBalances();

        vm.expectRevert(abi.encodeWithSelector(DisputeGames.TransferFailed.selector, address(player), CHALLENGE_BOND));
        player.exec(address(games), 0, abi.encodeCall(DisputeGames.withdraw, ()));
        player.setAccept(true);
        uint256 before = address(player).balance;
        vm.expectEmit(true, true, true, true);
        emit DisputeGames.BondWithdrawn(address(player), CHALLENGE_BOND);
        player.exec(address(games), 0, abi.encodeCall(DisputeGames.withdraw, ()));
        assertEq(address(player).balance, before + CHALLENGE_BOND);
        assertEq(address(games).balance, 0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.NothingToWithdraw.selector, address(player)));
        player.exec(address(games), 0, abi.encodeCall(DisputeGames.withdraw, ()));
    }

    function test_receive_acceptsEtherFromTheRollupOnly() public {
        vm.prank(stranger);
        (bool ok, bytes memory ret) = address(games).call{value: 1}("");
        assertTrue(!ok);
        assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(DisputeGames.UnexpectedEther.selector, stranger)));
        assertEq(address(games).balance, 0);
    }

    function test_views_unknownGame() public {
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 0));
        games.getGame(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 0));
        games.deadline(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 0));
        games.isStale(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGames.UnknownGame.selector, 0));
        games.step(0, "", "");
    }
}

/// Random bisection paths against the true-trace model (`TraceVerifier`): the honest side wins
/// whatever the other side does, and the bonds end where the rules say.
contract DisputeGamesFuzzTest is DisputeGamesTestBase {
    /// A dishonest proposer (wrong root) names true or false hashes at random, stops at a random
    /// point (and then loses on time), waits random times; the honest challenger wins.
    function testFuzz_honestChallengerAlwaysWins(uint256 seed, uint8 quitAt, bool stepByDefender) public {
        quitAt = uint8(bound(quitAt, 0, 45)); // >= 40: plays to the leaf
        uint256 index = submit(WRONG_POST);
        uint256 id = openAs(challenger, index, TRUE_POST);
        uint256 challengerBefore = challenger.balance + CHALLENGE_BOND;
        uint256 defenderBonds;
        uint256 challengerBonds;
        uint256 moves;
        while (game(id).turn != DisputeGames.Turn.Step && moves < quitAt) {
            uint256 r = uint256(keccak256(abi.encode(seed, moves)));
            DisputeGames.Game memory g = game(id);
            // The proposer's move: a lie or the truth, after a random wait within its clock.
            vm.warp(block.timestamp + (r >> 8) % (g.defenderClock / 8 + 1));
            uint64 m = (g.lo + g.hi) / 2;
            bytes32 h = r % 3 == 0 ? keccak256(abi.encode("lie", r)) : trace.hashAt(m);
            defenderBonds += games.moveBond(g.depth);
            bisectAs(batcher, id, h);
            // The honest challenger answers at once.
            challengerBonds += games.moveBond(g.depth);
            chooseHonest(id);
            // Invariant of honest play: the agreed hash is true, the disputed one false.
            g = game(id);
            assertEq(g.hashLo, trace.hashAt(g.lo));
            assertTrue(g.hashHi != trace.hashAt(g.hi));
            ++moves;
        }
        DisputeGames.Game memory end = game(id);
        if (end.turn == DisputeGames.Turn.Step) {
            // The challenger proves the step (or the proposer tries to, with the only pre-state
            // that hashes right: same outcome).
            address caller = stepByDefender ? batcher : challenger;
            bytes memory pre = trace.preimage(end.lo);
            vm.prank(caller);
            games.step(id, pre, abi.encode(uint256(end.lo)));
        } else {
            vm.warp(games.deadline(id));
            games.timeout(id);
        }
        assertTrue(game(id).status == DisputeGames.GameStatus.ChallengerWon);
        // The challenger got everything back plus the proposer's moves; BOND of it backs its
        // root on the Rollup, the proposer's slashed BOND came on top.
        assertEq(challenger.balance, challengerBefore + defenderBonds);
        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertEq(c.postStateRoot, TRUE_POST);
        assertEq(c.proposer, challenger);
        assertEq(uint256(c.bond), BOND);
        assertEq(address(games).balance, 0);
        assertBalances();
    }

    /// An honest proposer against a challenger who agrees and disagrees at random, stops at a
    /// random point, or tries to prove the step with a wrong pre-state: the proposer wins.
    function testFuzz_honestProposerAlwaysWins(uint256 seed, uint8 quitAt, bool proposerSteps) public {
        quitAt = uint8(bound(quitAt, 0, 45));
        uint256 index = submit(TRUE_POST);
        uint256 id = openAs(challenger, index, WRONG_POST);
        uint256 batcherBefore = batcher.balance;
        uint256 challengerBonds = CHALLENGE_BOND;
        uint256 moves;
        while (game(id).turn != DisputeGames.Turn.Step) {
            uint256 r = uint256(keccak256(abi.encode(seed, moves)));
            bisectHonest(id);
            if (moves == quitAt) break; // the challenger stops answering
            DisputeGames.Game memory g = game(id);
            vm.warp(block.timestamp + (r >> 8) % (g.challengerClock / 8 + 1));
            challengerBonds += games.moveBond(g.depth);
            chooseAs(challenger, id, r % 2 == 0);
            g = game(id);
            // Invariant of honest defence: both ends are true hashes.
            assertEq(g.hashLo, trace.hashAt(g.lo));
            assertEq(g.hashHi, trace.hashAt(g.hi));
            ++moves;
        }
        DisputeGames.Game memory end = game(id);
        if (end.turn == DisputeGames.Turn.Step) {
            // A challenger can't make the step come out wrong: a wrong pre-state is refused.
            bytes memory wrongPre = abi.encode("not the state", seed);
            vm.prank(challenger);
            vm.expectRevert(
                abi.encodeWithSelector(DisputeGames.BadPreState.selector, id, end.hashLo, keccak256(wrongPre))
            );
            games.step(id, wrongPre, abi.encode(uint256(end.lo)));
            if (proposerSteps) {
                bytes memory pre = trace.preimage(end.lo);
                vm.prank(batcher);
                games.step(id, pre, abi.encode(uint256(end.lo)));
            } else {
                vm.warp(games.deadline(id));
                games.timeout(id);
            }
        } else {
            vm.warp(games.deadline(id));
            games.timeout(id);
        }
        assertTrue(game(id).status == DisputeGames.GameStatus.DefenderWon);
        // The proposer's own move bonds come back, with all the challenger's.
        assertEq(batcher.balance, batcherBefore + challengerBonds);
        Rollup.Commitment memory c = rollup.getCommitment(index);
        assertTrue(c.status == Rollup.Status.Pending);
        assertEq(c.postStateRoot, TRUE_POST);
        assertEq(c.proposer, batcher);
        assertBalances();
    }

    /// A move succeeds exactly while the mover's clock has time left; `timeout` exactly after.
    function testFuzz_clockBoundary(uint256 wait, bool defenderSide) public {
        wait = bound(wait, 0, 2 * uint256(CLOCK));
        uint256 id = openAs(challenger, submit(WRONG_POST), TRUE_POST);
        if (!defenderSide) bisectAs(batcher, id, keccak256("x"));
        uint256 start = block.timestamp;
        vm.warp(start + wait);
        bytes32 before = snapshotOf(id);
        if (wait < CLOCK) {
            vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockNotExpired.selector, id, start + CLOCK));
            games.timeout(id);
            if (defenderSide) bisectAs(batcher, id, keccak256("y"));
            else chooseAs(challenger, id, true);
            DisputeGames.Game memory g = game(id);
            assertEq(uint256(defenderSide ? g.defenderClock : g.challengerClock), CLOCK - wait);
        } else {
            vm.prank(defenderSide ? batcher : challenger);
            vm.expectRevert(abi.encodeWithSelector(DisputeGames.ClockExpired.selector, id, start + CLOCK));
            if (defenderSide) games.bisect{value: MOVE_BASE}(id, keccak256("y"));
            else games.choose{value: MOVE_BASE}(id, true);
            assertEq(snapshotOf(id), before);
            games.timeout(id);
            assertTrue(
                game(id).status
                    == (defenderSide ? DisputeGames.GameStatus.ChallengerWon : DisputeGames.GameStatus.DefenderWon)
            );
        }
        assertBalances();
    }

    function testFuzz_moveBond_formula(uint8 depth) public {
        uint256 d = bound(depth, 0, 39);
        assertEq(games.moveBond(d), MOVE_BASE + MOVE_BASE * d / 8);
        if (d > 0) assertGe(games.moveBond(d), games.moveBond(d - 1));
    }
}

/// Gas of each action with a verifier that costs next to nothing (`ScriptedVerifier`); run with
/// `forge test --mc DisputeGamesGasTest -vv` to print the figures.
contract DisputeGamesGasTest is DisputeGamesTestBase {
    ScriptedVerifier internal scripted;

    function setUp() public override {
        super.setUp();
        scripted = new ScriptedVerifier();
        rollup = new Rollup(batcher, BOND, PERIOD, GENESIS);
        games = new DisputeGames(rollup, scripted, CHALLENGE_BOND, MOVE_BASE, CLOCK);
        rollup.setDisputeGameFactory(address(games));
    }

    function measuredGame(bytes32 post, uint256 later)
        internal
        returns (uint256 id, uint256 maxBisect, uint256 maxChoose)
    {
        uint256 index = submit(post);
        for (uint256 i; i < later; ++i) {
            submit(keccak256(abi.encode("later", i)));
        }
        uint256 g0 = gasleft();
        id = openAs(challenger, index, TRUE_POST);
        emit log_named_uint("open (first game)", g0 - gasleft());
        g0 = gasleft();
        openAs(challenger2, index, TRUE_POST);
        emit log_named_uint("open (second game on the commitment)", g0 - gasleft());
        uint256 totalBisect;
        uint256 totalChoose;
        for (uint256 d; d < DEPTH; ++d) {
            uint256 b = games.moveBond(d);
            vm.prank(batcher);
            g0 = gasleft();
            games.bisect{value: b}(id, keccak256(abi.encode(d)));
            uint256 used = g0 - gasleft();
            totalBisect += used;
            if (used > maxBisect) maxBisect = used;
            vm.prank(challenger);
            g0 = gasleft();
            games.choose{value: b}(id, d % 2 == 0);
            used = g0 - gasleft();
            totalChoose += used;
            if (used > maxChoose) maxChoose = used;
        }
        emit log_named_uint("bisect (mean of 40)", totalBisect / DEPTH);
        emit log_named_uint("bisect (max)", maxBisect);
        emit log_named_uint("choose (mean of 40)", totalChoose / DEPTH);
        emit log_named_uint("choose (max)", maxChoose);
    }

    /// Plays a game whose agreed hashes are all keccak256(pre) preimages we know.
    function playKnown(uint256 id) internal returns (bytes memory pre) {
        pre = abi.encode("pre");
        bytes32 h = keccak256(pre);
        for (uint256 d; d < DEPTH; ++d) {
            bisectAs(batcher, id, h);
            chooseAs(challenger, id, true);
        }
    }

    function test_gas_stepChallengerWinsReplaces() public {
        uint256 index = submit(WRONG_POST);
        uint256 id = openAs(challenger, index, TRUE_POST);
        bytes memory pre = playKnown(id);
        bytes memory proof = abi.encode(keccak256("not the claimed hash"));
        uint256 g0 = gasleft();
        scripted.step(pre, proof);
        uint256 verifierGas = g0 - gasleft();
        g0 = gasleft();
        games.step(id, pre, proof);
        uint256 used = g0 - gasleft();
        emit log_named_uint("step + resolution, challenger wins, replaces (no later commitments)", used);
        emit log_named_uint("  of which the scripted verifier call", verifierGas);
        assertTrue(game(id).status == DisputeGames.GameStatus.ChallengerWon);
    }

    function test_gas_stepChallengerWinsInvalidatesTenLater() public {
        uint256 index = submit(WRONG_POST);
        for (uint256 i; i < 10; ++i) {
            submit(keccak256(abi.encode("later", i)));
        }
        uint256 id = openAs(challenger, index, TRUE_POST);
        bytes memory pre = playKnown(id);
        uint256 g0 = gasleft();
        games.step(id, pre, abi.encode(keccak256("not the claimed hash")));
        emit log_named_uint("step + resolution, challenger wins, 10 later commitments invalidated", g0 - gasleft());
    }

    function test_gas_stepDefenderWinsDismisses() public {
        uint256 index = submit(WRONG_POST);
        uint256 id = openAs(challenger, index, TRUE_POST);
        bytes memory pre = playKnown(id);
        bytes memory proof = abi.encode(game(id).hashHi);
        uint256 g0 = gasleft();
        games.step(id, pre, proof);
        emit log_named_uint("step + resolution, defender wins, dismisses", g0 - gasleft());
        assertTrue(game(id).status == DisputeGames.GameStatus.DefenderWon);
    }

    function test_gas_movesAndTimeout() public {
        (uint256 id,,) = measuredGame(WRONG_POST, 0);
        vm.warp(block.timestamp + CLOCK);
        uint256 g0 = gasleft();
        games.timeout(id);
        emit log_named_uint("timeout + resolution, defender wins at the leaf, dismisses", g0 - gasleft());
        // The second game is now stale? No: same claim, still open; the defender times out.
        g0 = gasleft();
        games.timeout(1);
        emit log_named_uint("timeout + resolution, challenger wins at depth 0, replaces", g0 - gasleft());
    }
}

/// Invariants over random games: openings, moves by the right and the wrong party, steps,
/// timeouts, replacements, finalizations, delegations, refused payments and time jumps (see
/// handlers/DisputeGamesHandler.sol).
contract DisputeGamesInvariantTest is Test {
    DisputeGamesHandler internal handler;
    Rollup internal rollup;
    DisputeGames internal games;

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    function setUp() public {
        handler = new DisputeGamesHandler();
        vm.deal(address(handler), 1_000_000 ether);
        handler.init();
        rollup = handler.rollup();
        games = handler.games();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = DisputeGamesHandler.submit.selector;
        selectors[1] = DisputeGamesHandler.open.selector;
        selectors[2] = DisputeGamesHandler.bisect.selector;
        selectors[3] = DisputeGamesHandler.choose.selector;
        selectors[4] = DisputeGamesHandler.play.selector;
        selectors[5] = DisputeGamesHandler.step.selector;
        selectors[6] = DisputeGamesHandler.timeout.selector;
        selectors[7] = DisputeGamesHandler.illegalMove.selector;
        selectors[8] = DisputeGamesHandler.finalizeNext.selector;
        selectors[9] = DisputeGamesHandler.setDelegate.selector;
        selectors[10] = DisputeGamesHandler.setAcceptEth.selector;
        selectors[11] = DisputeGamesHandler.withdraw.selector;
        selectors[12] = DisputeGamesHandler.passTime.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// The factory holds exactly the bonds of unresolved games plus its credits.
    function invariant_gamesBalanceEqualsBondsHeld() public view {
        uint256 locked;
        uint256 count = games.gameCount();
        for (uint256 i; i < count; ++i) {
            DisputeGames.Game memory g = games.getGame(i);
            locked += uint256(g.defenderBonds) + g.challengerBonds;
        }
        assertEq(games.lockedBonds(), locked, "lockedBonds != sum of game bonds");
        assertEq(address(games).balance, games.totalBondsHeld(), "games balance != bonds held");
        assertEq(games.totalClaimable(), games.claimable(address(handler)), "credits are the handler's");
    }

    /// The Rollup keeps its own rule 6 under the game.
    function invariant_rollupBalanceEqualsBondsHeld() public view {
        uint256 locked;
        uint256 count = rollup.commitmentCount();
        for (uint256 i; i < count; ++i) {
            locked += rollup.getCommitment(i).bond;
        }
        assertEq(rollup.lockedBonds(), locked, "rollup lockedBonds");
        assertEq(address(rollup).balance, rollup.totalBondsHeld(), "rollup balance != bonds held");
    }

    /// Every game's interval is a non-empty aligned range of 2^(40 - depth) steps; the step is
    /// due exactly at the leaf; clocks never grow.
    function invariant_gameShape() public view {
        uint256 count = games.gameCount();
        for (uint256 i; i < count; ++i) {
            DisputeGames.Game memory g = games.getGame(i);
            assertLt(uint256(g.lo), uint256(g.hi), "hi <= lo");
            assertLe(uint256(g.hi), uint256(1) << 40, "hi past the trace");
            assertLe(uint256(g.depth), 40, "depth");
            assertEq(uint256(g.hi) - g.lo, uint256(1) << (40 - g.depth), "interval size");
            assertEq(uint256(g.lo) % (uint256(1) << (40 - g.depth)), 0, "interval alignment");
            if (g.status == DisputeGames.GameStatus.InProgress) {
                assertTrue((g.turn == DisputeGames.Turn.Step) == (g.hi - g.lo == 1), "step iff leaf");
            }
            assertLe(uint256(g.defenderClock), uint256(games.maxClockSeconds()), "defender clock");
            assertLe(uint256(g.challengerClock), uint256(games.maxClockSeconds()), "challenger clock");
        }
    }

    /// A resolved game stays resolved, with the same result, and holds no bond.
    function invariant_resolvedGamesStayResolved() public view {
        uint256 count = games.gameCount();
        for (uint256 i; i < count; ++i) {
            DisputeGames.Game memory g = games.getGame(i);
            DisputeGames.GameStatus seen = handler.seenStatus(i);
            if (seen != DisputeGames.GameStatus.InProgress) {
                assertTrue(g.status == seen, "a resolved game changed");
            }
            if (g.status != DisputeGames.GameStatus.InProgress) {
                assertEq(uint256(g.defenderBonds) + g.challengerBonds, 0, "resolved game holds bonds");
            }
        }
    }

    /// The Rollup's open challenges on each commitment are exactly the unresolved games that are
    /// not stale (rule 7): stale games never reach the Rollup.
    function invariant_openChallengesMatchLiveGames() public view {
        uint256 commitments = rollup.commitmentCount();
        uint256[] memory live = new uint256[](commitments);
        uint256 count = games.gameCount();
        for (uint256 i; i < count; ++i) {
            DisputeGames.Game memory g = games.getGame(i);
            if (g.status == DisputeGames.GameStatus.InProgress && !games.isStale(i)) live[g.commitmentIndex] += 1;
        }
        for (uint256 k; k < commitments; ++k) {
            Rollup.Commitment memory c = rollup.getCommitment(k);
            assertEq(uint256(c.openChallenges), live[k], "openChallenges != live games");
            if (c.status == Rollup.Status.Pending || c.status == Rollup.Status.Challenged) {
                assertTrue((c.status == Rollup.Status.Challenged) == (live[k] > 0), "status vs live games");
            }
        }
    }

    /// The handler did something (guards against a suite that only reverts).
    function invariant_handlerMakesProgress() public view {
        assertEq(handler.opened(), games.gameCount(), "ghost game count");
    }
}
