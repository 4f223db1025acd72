// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "./Rollup.sol";
import {IStepVerifier} from "./fault/IStepVerifier.sol";
import {MachineState} from "./fault/MachineState.sol";

/// @title DisputeGames
/// @notice Every dispute game over `Rollup` commitments (the Rollup's `disputeGameFactory`): a
///         bisection over the commitment's step trace (docs/fault-proof.md section 7) down to one
///         step, which `IStepVerifier` executes on chain.
/// @dev Rules (also in DEVELOPERS.md):
///      1. Opening. Anyone (the challenger) calls `open(index, claimedRoot)` with
///         `msg.value == challengeBond` against a commitment in its challenge window
///         (`Rollup.markChallenged` enforces the window and the status). `claimedRoot` is the
///         challenger's post-state root: not zero, not the commitment's current `postStateRoot`.
///         Several games may be open against one commitment, by the same or different
///         challengers. The game records the commitment's proposer as the defender and its
///         `replacements` counter, and starts with `lo = 0`, `hi = 2^DEPTH` (`DEPTH = 40`),
///         `hashLo = MachineState.initialHash(prevStateRoot, inputsRoot)`,
///         `hashHi = MachineState.finalHash(postStateRoot)`; the defender moves first.
///      2. Bisection. Turns alternate. The defender's move `bisect(id, midHash)` names the hash of
///         the state at `mid = (lo + hi) / 2`. The challenger's move `choose(id, agree)`:
///         `agree` sets `lo = mid, hashLo = midHash`, otherwise `hi = mid, hashHi = midHash`;
///         `depth` (the number of `choose` moves) grows by one. Defender moves are accepted from
///         the defender or the address it authorized with `setDefender(delegate)` (one delegate per
///         proposer for all its games, looked up at each move; `address(0)` revokes); challenger
///         moves only from the challenger.
///      3. Step. Once `hi == lo + 1` (after the 40th `choose`) the turn is `Step`: anyone calls
///         `step(id, preState, proof)` with `keccak256(preState) == hashLo`; the verifier's post
///         hash equal to `hashHi` means the defender wins, anything else the challenger wins (a
///         verifier revert changes nothing). The step is the challenger's move: its clock runs.
///      4. Chess clocks. Each side has `maxClockSeconds` in total. The clock of the side to move
///         (defender on `Defender`, challenger on `Challenger` and `Step`) runs from `lastMoveAt`;
///         a move deducts the elapsed time from the mover's clock. The side to move has until
///         `deadline(id) = lastMoveAt + its remaining clock` (exclusive): at or after it, every
///         move reverts `ClockExpired` and `timeout(id)` (anyone) ends the game against that side.
///         A game thus lasts at most `2 * maxClockSeconds`.
///      5. Bonds. Opening posts `challengeBond`. Each `bisect` and `choose` at depth `d` (0 .. 39,
///         the depth before the move) posts exactly
///             moveBond(d) = moveBondBase + moveBondBase * d / 8
///         (the 40 moves of one side total 137.5 x moveBondBase). A delegate's move bonds belong
///         to the defender's side. `step` and `timeout` post nothing.
///      6. Resolution. Challenger wins: it gets all the game's bonds (its own and the defender's)
///         plus the commitment's slashed bond, minus `replacementBond` (= `Rollup.bond()`, taken
///         from its opening bond; `challengeBond >= Rollup.bond()`), which the game sends with
///         `Rollup.replaceStateRoot(index, claimedRoot, challenger)`: the challenger's root
///         becomes the commitment's claim, proposed by the challenger, challengeable for a full
///         period, and the challenger gets that bond back from the Rollup when it finalizes.
///         Defender wins: the defender (the proposer, never the delegate) gets all the game's
///         bonds and the game calls `Rollup.dismissChallenge(index)`.
///      7. Stale games. A game is stale when its commitment's `replacements` differs from the
///         value recorded at opening (another game replaced the claim it disputes) or the
///         commitment is `Invalidated` (an earlier commitment was replaced). A stale game is
///         played to its end as usual but settles bonds only: no Rollup call, no slashed bond, and
///         a winning challenger gets its whole opening bond back (nothing backs a replacement).
///      8. Payments. Payouts are plain calls; a recipient that refuses ETH is credited and pulls
///         with `withdraw()`. The contract accepts ETH from the Rollup only (slashed bonds). Its
///         balance always equals `totalBondsHeld()`: the bonds of unresolved games plus credits.
///      Illegal moves revert with a custom error and change nothing. A resolved game stays
///      resolved.
contract DisputeGames {
    /// @notice Whose move it is.
    enum Turn {
        Defender,
        Challenger,
        Step
    }

    enum GameStatus {
        InProgress,
        ChallengerWon,
        DefenderWon
    }

    /// @notice One game. Eight storage slots.
    struct Game {
        address challenger;
        /// Index of the disputed commitment on the Rollup.
        uint64 commitmentIndex;
        /// The commitment's `replacements` when the game opened (rule 7).
        uint32 replacements;
        /// The commitment's proposer when the game opened; it gets the defender's payout.
        address defender;
        /// Agreed step index.
        uint64 lo;
        /// Number of `choose` moves so far (0 .. DEPTH).
        uint8 depth;
        Turn turn;
        GameStatus status;
        /// Disputed step index (`lo < hi`, `hi - lo == 2^(DEPTH - depth)`).
        uint64 hi;
        /// Seconds left on each side's clock as of `lastMoveAt`.
        uint64 defenderClock;
        uint64 challengerClock;
        /// Time of the last move (the opening at first); the side to move's clock runs from here.
        uint64 lastMoveAt;
        /// The challenger's post-state root.
        bytes32 claimedRoot;
        /// Hash of the agreed state at `lo`.
        bytes32 hashLo;
        /// Hash of the disputed state at `hi`.
        bytes32 hashHi;
        /// The defender's hash at `(lo + hi) / 2` named by the last `bisect`; meaningful while the
        /// turn is `Challenger`.
        bytes32 midHash;
        /// Bonds posted by the defender's side (move bonds) and the challenger (opening and move
        /// bonds), held until resolution (zero afterwards).
        uint128 defenderBonds;
        uint128 challengerBonds;
    }

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error ZeroClock();
    error BondTooLarge(uint256 amount);
    /// The challenge bond must cover the Rollup bond that backs a replacement (rule 6).
    error ChallengeBondTooLow(uint256 challengeBond, uint256 rollupBond);
    error UnknownGame(uint256 gameId);
    error GameOver(uint256 gameId, GameStatus status);
    error WrongTurn(uint256 gameId, Turn turn);
    error NotDefender(uint256 gameId, address caller);
    error NotChallenger(uint256 gameId, address caller);
    error WrongBond(uint256 sent, uint256 required);
    /// The side to move ran out of time at `deadline`; only `timeout` is left.
    error ClockExpired(uint256 gameId, uint256 deadline);
    error ClockNotExpired(uint256 gameId, uint256 deadline);
    error NotAtLeaf(uint256 gameId, uint64 lo, uint64 hi);
    error BadPreState(uint256 gameId, bytes32 expected, bytes32 given);
    error ZeroClaimedRoot();
    error ClaimMatchesProposal(uint256 commitmentIndex, bytes32 root);
    error UnexpectedEther(address sender);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    /// @notice `challenger` disputes `defender`'s claim `disputedRoot` (the commitment's
    ///         `postStateRoot`, claim number `replacements`) with `claimedRoot`. The bisection
    ///         starts at `lo = 0` (`hashLo`) and `hi = 2^DEPTH` (`hashHi`); both clocks are full
    ///         and the defender's runs from this log's block timestamp.
    event GameOpened(
        uint256 indexed gameId,
        uint256 indexed commitmentIndex,
        address indexed challenger,
        address defender,
        bytes32 disputedRoot,
        bytes32 claimedRoot,
        bytes32 hashLo,
        bytes32 hashHi,
        uint32 replacements
    );
    /// @notice The defender's side (`mover`) named `midHash` at `mid`, at `depth`, with
    ///         `defenderClock` seconds left; the challenger's clock runs.
    event Bisected(
        uint256 indexed gameId, address indexed mover, uint64 mid, bytes32 midHash, uint8 depth, uint64 defenderClock
    );
    /// @notice The challenger agreed (or not) with the last `midHash`; the new interval, the new
    ///         `depth` and the challenger's clock. `hi == lo + 1`: the step is due (challenger's
    ///         clock), otherwise the defender's turn.
    event Chosen(
        uint256 indexed gameId,
        bool agree,
        uint64 lo,
        uint64 hi,
        bytes32 hashLo,
        bytes32 hashHi,
        uint8 depth,
        uint64 challengerClock
    );
    /// @notice `caller` executed step `lo -> lo + 1`: the verifier returned `postHash`.
    event Stepped(uint256 indexed gameId, address indexed caller, uint64 lo, bytes32 postHash, bool defenderWins);
    /// @notice The game ended (`timedOut`: by `timeout`, else by `step`); `winner` was paid (or
    ///         credited) `payout`. `stale`: the Rollup was not told (rule 7).
    event GameResolved(
        uint256 indexed gameId,
        uint256 indexed commitmentIndex,
        address indexed winner,
        GameStatus status,
        uint256 payout,
        bool stale,
        bool timedOut
    );
    event DefenderSet(address indexed proposer, address indexed delegate);
    event BondCredited(address indexed account, uint256 amount);
    event BondWithdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- configuration

    /// @notice The trace has `2^DEPTH` steps (states `0 ..= 2^DEPTH`).
    uint256 public constant DEPTH = 40;
    uint64 internal constant TRACE_LENGTH = uint64(1) << 40;

    Rollup public immutable rollup;
    IStepVerifier public immutable verifier;
    /// @notice Exact `msg.value` of `open`.
    uint256 public immutable challengeBond;
    /// @notice Move bond at depth 0 (rule 5).
    uint256 public immutable moveBondBase;
    /// @notice Each side's total thinking time, in seconds.
    uint64 public immutable maxClockSeconds;
    /// @notice Part of a winning challenger's opening bond sent to back its root on the Rollup
    ///         (`Rollup.bond()`).
    uint256 public immutable replacementBond;

    // ---------------------------------------------------------------- state

    Game[] internal _games;
    /// @notice The address each proposer authorized to play its defender moves (zero: none).
    mapping(address proposer => address delegate) public defenderDelegate;
    /// @notice Sum of the bonds of unresolved games.
    uint256 public lockedBonds;
    /// @notice Payouts owed to accounts that could not be paid directly, see `withdraw`.
    mapping(address account => uint256 amount) public claimable;
    uint256 public totalClaimable;

    // ---------------------------------------------------------------- setup

    /// @param rollup_ the Rollup whose commitments are disputed (set this contract as its
    ///        `disputeGameFactory`)
    /// @param verifier_ the one-step verifier
    /// @param challengeBond_ `open`'s bond; at least `rollup_.bond()` (rule 6)
    /// @param moveBondBase_ move bond at depth 0 (rule 5; zero makes moves free)
    /// @param maxClockSeconds_ each side's total time (production: days, e.g. 3.5 days)
    constructor(
        Rollup rollup_,
        IStepVerifier verifier_,
        uint256 challengeBond_,
        uint256 moveBondBase_,
        uint64 maxClockSeconds_
    ) {
        if (address(rollup_) == address(0) || address(verifier_) == address(0)) {
            revert ZeroAddress();
        }
        if (maxClockSeconds_ == 0) revert ZeroClock();
        // Bounds keep every per-game sum far below 2^128.
        if (challengeBond_ > type(uint96).max) revert BondTooLarge(challengeBond_);
        if (moveBondBase_ > type(uint96).max) revert BondTooLarge(moveBondBase_);
        uint256 rollupBond = rollup_.bond();
        if (challengeBond_ < rollupBond) revert ChallengeBondTooLow(challengeBond_, rollupBond);
        rollup = rollup_;
        verifier = verifier_;
        challengeBond = challengeBond_;
        moveBondBase = moveBondBase_;
        maxClockSeconds = maxClockSeconds_;
        replacementBond = rollupBond;
    }

    /// @dev Slashed bonds come from the Rollup (`replaceStateRoot` pays the factory).
    receive() external payable {
        if (msg.sender != address(rollup)) revert UnexpectedEther(msg.sender);
    }

    // ---------------------------------------------------------------- players

    /// @notice Authorizes `delegate` to play the defender moves of all the caller's games
    ///         (`address(0)` revokes). Payouts still go to the caller.
    function setDefender(address delegate) external {
        defenderDelegate[msg.sender] = delegate;
        emit DefenderSet(msg.sender, delegate);
    }

    /// @notice Opens a game against commitment `commitmentIndex` (rule 1).
    /// @param claimedRoot the challenger's post-state root for the commitment
    /// @return gameId the new game's id (`gameCount() - 1`)
    function open(uint256 commitmentIndex, bytes32 claimedRoot) external payable returns (uint256 gameId) {
        if (msg.value != challengeBond) revert WrongBond(msg.value, challengeBond);
        if (claimedRoot == bytes32(0)) revert ZeroClaimedRoot();
        Rollup.Commitment memory c = rollup.getCommitment(commitmentIndex);
        if (claimedRoot == c.postStateRoot) revert ClaimMatchesProposal(commitmentIndex, claimedRoot);
        rollup.markChallenged(commitmentIndex);

        gameId = _games.length;
        Game storage g = _games.push();
        g.challenger = msg.sender;
        // casting to 'uint64' is safe because the index exists on the Rollup (far below 2^64)
        // forge-lint: disable-next-line(unsafe-typecast)
        g.commitmentIndex = uint64(commitmentIndex);
        g.replacements = c.replacements;
        g.defender = c.proposer;
        g.hi = TRACE_LENGTH;
        g.defenderClock = maxClockSeconds;
        g.challengerClock = maxClockSeconds;
        g.lastMoveAt = uint64(block.timestamp);
        g.claimedRoot = claimedRoot;
        bytes32 hashLo = MachineState.initialHash(c.prevStateRoot, c.inputsRoot);
        bytes32 hashHi = MachineState.finalHash(c.postStateRoot);
        g.hashLo = hashLo;
        g.hashHi = hashHi;
        // casting to 'uint128' is safe because challengeBond < 2^96 (constructor)
        // forge-lint: disable-next-line(unsafe-typecast)
        g.challengerBonds = uint128(msg.value);
        lockedBonds += msg.value;
        emit GameOpened(
            gameId,
            commitmentIndex,
            msg.sender,
            c.proposer,
            c.postStateRoot,
            claimedRoot,
            hashLo,
            hashHi,
            c.replacements
        );
    }

    /// @notice Defender move: `midHash` is the hash of the state at `(lo + hi) / 2` (rule 2).
    ///         `msg.value == moveBond(depth)`.
    function bisect(uint256 gameId, bytes32 midHash) external payable {
        Game storage g = _inProgress(gameId);
        if (g.turn != Turn.Defender) revert WrongTurn(gameId, g.turn);
        address defender = g.defender;
        if (msg.sender != defender && msg.sender != defenderDelegate[defender]) revert NotDefender(gameId, msg.sender);
        uint8 depth = g.depth;
        _checkBond(depth);
        uint64 left = _tick(gameId, g, g.defenderClock);
        g.defenderClock = left;
        g.midHash = midHash;
        g.turn = Turn.Challenger;
        // casting to 'uint128' is safe because a move bond is below 2^100 (constructor bounds)
        // forge-lint: disable-next-line(unsafe-typecast)
        g.defenderBonds += uint128(msg.value);
        lockedBonds += msg.value;
        emit Bisected(gameId, msg.sender, (g.lo + g.hi) / 2, midHash, depth, left);
    }

    /// @notice Challenger move: agree or not with the defender's last `midHash` (rule 2).
    ///         `msg.value == moveBond(depth)`.
    function choose(uint256 gameId, bool agree) external payable {
        Game storage g = _inProgress(gameId);
        if (g.turn != Turn.Challenger) revert WrongTurn(gameId, g.turn);
        if (msg.sender != g.challenger) revert NotChallenger(gameId, msg.sender);
        uint8 depth = g.depth;
        _checkBond(depth);
        uint64 left = _tick(gameId, g, g.challengerClock);
        g.challengerClock = left;
        uint64 lo = g.lo;
        uint64 hi = g.hi;
        uint64 mid = (lo + hi) / 2;
        if (agree) {
            g.lo = lo = mid;
            g.hashLo = g.midHash;
        } else {
            g.hi = hi = mid;
            g.hashHi = g.midHash;
        }
        depth += 1;
        g.depth = depth;
        g.turn = hi - lo == 1 ? Turn.Step : Turn.Defender;
        // casting to 'uint128' is safe because a move bond is below 2^100 (constructor bounds)
        // forge-lint: disable-next-line(unsafe-typecast)
        g.challengerBonds += uint128(msg.value);
        lockedBonds += msg.value;
        emit Chosen(gameId, agree, lo, hi, g.hashLo, g.hashHi, depth, left);
    }

    /// @notice Executes the disputed step `lo -> lo + 1` (rule 3) and ends the game. Anyone may
    ///         call it while the challenger's clock runs.
    /// @param preState `abi.encode(MachineState.State)` of the state at `lo` (hashes to `hashLo`)
    /// @param proof the step's witness (docs/fault-proof.md section 5)
    function step(uint256 gameId, bytes calldata preState, bytes calldata proof) external {
        Game storage g = _inProgress(gameId);
        if (g.turn != Turn.Step) revert NotAtLeaf(gameId, g.lo, g.hi);
        uint256 due = uint256(g.lastMoveAt) + g.challengerClock;
        if (block.timestamp >= due) revert ClockExpired(gameId, due);
        bytes32 preHash = keccak256(preState);
        if (preHash != g.hashLo) revert BadPreState(gameId, g.hashLo, preHash);
        bytes32 postHash = verifier.step(preState, proof);
        bool defenderWins = postHash == g.hashHi;
        emit Stepped(gameId, msg.sender, g.lo, postHash, defenderWins);
        _resolve(gameId, g, defenderWins ? GameStatus.DefenderWon : GameStatus.ChallengerWon, false);
    }

    /// @notice Ends the game against the side to move once its clock ran out (rule 4). Anyone.
    function timeout(uint256 gameId) external {
        Game storage g = _inProgress(gameId);
        bool defenderToMove = g.turn == Turn.Defender;
        uint256 due = uint256(g.lastMoveAt) + (defenderToMove ? g.defenderClock : g.challengerClock);
        if (block.timestamp < due) revert ClockNotExpired(gameId, due);
        if (defenderToMove) g.defenderClock = 0;
        else g.challengerClock = 0;
        _resolve(gameId, g, defenderToMove ? GameStatus.ChallengerWon : GameStatus.DefenderWon, true);
    }

    /// @notice Pays out what could not be sent directly to the caller.
    function withdraw() external {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        claimable[msg.sender] = 0;
        totalClaimable -= amount;
        emit BondWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of games ever opened (ids `0 .. count-1`).
    function gameCount() external view returns (uint256) {
        return _games.length;
    }

    /// @notice The game `gameId` (clocks as of `lastMoveAt`; see `deadline` for the live one).
    function getGame(uint256 gameId) external view returns (Game memory) {
        return _get(gameId);
    }

    /// @notice Exact bond of a `bisect` or `choose` made at `depth` (rule 5).
    function moveBond(uint256 depth) public view returns (uint256) {
        return moveBondBase + moveBondBase * depth / 8;
    }

    /// @notice Time at which the side to move runs out of clock (rule 4); a move must come
    ///         strictly before it, `timeout` at or after it. Meaningless once resolved.
    function deadline(uint256 gameId) external view returns (uint256) {
        Game storage g = _get(gameId);
        return uint256(g.lastMoveAt) + (g.turn == Turn.Defender ? g.defenderClock : g.challengerClock);
    }

    /// @notice Whether the game's outcome would no longer be reported to the Rollup (rule 7).
    function isStale(uint256 gameId) external view returns (bool stale) {
        stale = _isStale(_get(gameId));
    }

    /// @notice All ETH the contract owes: bonds of unresolved games plus credits. Equals its
    ///         balance.
    function totalBondsHeld() external view returns (uint256) {
        return lockedBonds + totalClaimable;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Settles the game (rule 6, 7) and pays the winner.
    function _resolve(uint256 gameId, Game storage g, GameStatus result, bool timedOut) internal {
        g.status = result;
        uint256 payout = uint256(g.defenderBonds) + g.challengerBonds;
        g.defenderBonds = 0;
        g.challengerBonds = 0;
        lockedBonds -= payout;
        uint256 index = g.commitmentIndex;
        bool stale = _isStale(g);
        address winner;
        if (result == GameStatus.ChallengerWon) {
            winner = g.challenger;
            if (!stale) {
                // The Rollup takes `replacementBond` and pays the slashed bond back in the same
                // call: the balance difference is what the challenger gains on top of the pot.
                uint256 before = address(this).balance;
                rollup.replaceStateRoot{value: replacementBond}(index, g.claimedRoot, winner);
                payout = payout + address(this).balance - before;
            }
        } else {
            winner = g.defender;
            if (!stale) rollup.dismissChallenge(index);
        }
        emit GameResolved(gameId, index, winner, result, payout, stale, timedOut);
        _pay(winner, payout);
    }

    /// @dev Rule 7.
    function _isStale(Game storage g) internal view returns (bool) {
        Rollup.Commitment memory c = rollup.getCommitment(g.commitmentIndex);
        return c.status == Rollup.Status.Invalidated || c.replacements != g.replacements;
    }

    /// @dev Deducts the time since the last move from the mover's `clock`; reverts `ClockExpired`
    ///      at or after the deadline. Returns the clock left and restarts the other side's.
    function _tick(uint256 gameId, Game storage g, uint64 clock) internal returns (uint64 left) {
        uint256 elapsed = block.timestamp - g.lastMoveAt;
        if (elapsed >= clock) revert ClockExpired(gameId, uint256(g.lastMoveAt) + clock);
        // casting to 'uint64' is safe because elapsed < clock <= type(uint64).max
        // forge-lint: disable-next-line(unsafe-typecast)
        left = clock - uint64(elapsed);
        g.lastMoveAt = uint64(block.timestamp);
    }

    function _checkBond(uint256 depth) internal view {
        uint256 required = moveBond(depth);
        if (msg.value != required) revert WrongBond(msg.value, required);
    }

    function _inProgress(uint256 gameId) internal view returns (Game storage g) {
        g = _get(gameId);
        if (g.status != GameStatus.InProgress) revert GameOver(gameId, g.status);
    }

    function _get(uint256 gameId) internal view returns (Game storage) {
        if (gameId >= _games.length) revert UnknownGame(gameId);
        return _games[gameId];
    }

    /// @dev Sends `amount`; a recipient that refuses it is credited instead (see `withdraw`).
    function _pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) _credit(to, amount);
    }

    function _credit(address to, uint256 amount) internal {
        claimable[to] += amount;
        totalClaimable += amount;
        emit BondCredited(to, amount);
    }
}
