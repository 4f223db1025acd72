// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Rollup
/// @notice The L1 record of the L2 chain: an append-only chain of batch commitments, each
///         claiming that executing its L2 blocks from `prevStateRoot` gives `postStateRoot`,
///         backed by the proposer's bond until the challenge period ends.
/// @dev Not a dispute game: the game (set once as `disputeGameFactory`) decides who is right
///      and reports it through `markChallenged`, `dismissChallenge` and `replaceStateRoot`.
///
///      Rules (also in DEVELOPERS.md):
///      1. Only `batcher` stages and submits; a submission carries `msg.value >= bond`, and the
///         whole `msg.value` is the bond (staging pieces, rule 7, needs none).
///      2. Commitments link: a new one's `prevStateRoot` is the `postStateRoot` of the latest
///         valid commitment (the genesis root before the first), and its L2 blocks start right
///         after that commitment's `lastL2Block` (block 1 first: block 0 is the genesis).
///      3. Within `challengePeriod` seconds of its `submittedAt` (the submission, or the latest
///         replacement, rule 5) the dispute game factory may mark a commitment challenged (several
///         games may be open at once); each game ends with `dismissChallenge` (the proposer won)
///         or `replaceStateRoot` (the proposer lost).
///      4. `finalize(index)` (anyone) succeeds once the period is over, no challenge is open and
///         every earlier commitment is final; the bond goes back to the proposer.
///      5. `replaceStateRoot(index, root, newProposer)` (payable, the factory only) is called when
///         a game proved the proposer wrong. A game does not prove the challenger's root right, so
///         the replacement is a new claim, challengeable like a submission: the old bond goes to
///         the factory (slashed); the commitment keeps its index, batch, `prevStateRoot`,
///         `inputsRoot` and L2 blocks and becomes `Pending` again with `postStateRoot = root`,
///         `proposer = newProposer`, `bond = msg.value` (at least `bond`), `submittedAt = now` (a
///         full new challenge period), no open challenge, and `replacements` one higher. Games
///         opened against the old claim are stale: the factory tells them apart by `replacements`
///         (recorded when a game opens) and must not report their outcome. Every LATER commitment
///         that is not already invalidated built on the wrong root: it becomes `Invalidated`, its
///         open challenges are dropped and its bond is credited back to its proposer (see
///         `withdraw`). The chain's head moves back to `index`; the next submission must start
///         from the new root and from L2 block `lastL2Block + 1` of that commitment.
///         Indices are never reused: the next commitment gets the next unused index.
///         Pieces staged for the next batch (rule 7) built on the wrong root too: they are
///         discarded (`StagedPiecesDiscarded`).
///      6. Bonds are paid by a plain call; a recipient that refuses ETH is credited instead and
///         pulls with `withdraw`. The contract's balance always equals `totalBondsHeld()`.
///      7. A batch's data is the concatenation of its pieces, in order, all of one `DataKind`.
///         A calldata piece is one non-empty byte string, its piece hash `keccak256(piece)`; a
///         blob piece is one EIP-4844 blob, its piece hash the blob's versioned hash. A batch may
///         span several L1 transactions: the batcher first stages pieces (`stageBatchData`, one
///         piece per call; `stageBatchBlobs`, every blob of the transaction), then
///         `submitBatch` (one more calldata piece, non-empty) or `submitBatchBlobs` (at least one
///         more blob) adds the final piece(s), records the commitment with ALL pieces and empties
///         the staging list. Staging needs no bond. Mixing kinds reverts (`MixedDataKinds`); a
///         batch has at most `MAX_PIECES` pieces (`TooManyPieces`; staging must leave room for
///         the final call's piece). `discardStaged` empties the list (stale pieces after a
///         restart or an L1 reorg). Whatever the split:
///             batchDataHash = keccak256(abi.encodePacked(pieceHashes))   // all pieces, in order
///         so a one-piece calldata batch has `keccak256(abi.encodePacked(keccak256(batchData)))`.
///         Finding the data from logs alone: every call that carries pieces logs their hashes
///         and positions, in its own transaction: `BatchPiecesStaged` (staging calls) and
///         `BatchPiecesSubmitted` (the final call, next to `BatchSubmitted`), both keyed by the
///         commitment index. Piece `p` of commitment `i` is carried by the transaction of the
///         LAST such log for `i`, up to the `BatchSubmitted` log of `i`, whose range
///         `[firstPiece, firstPiece + pieceHashes.length)` contains `p` (a discarded run is
///         overwritten by the next run, which restarts at position 0). `pieceHashes(i)` gives
///         the same list from state.
///      8. Every submission carries `inputsRoot`, the hash chain of the batch's inputs
///         (docs/fault-proof.md section 2); the dispute game starts from
///         `MachineState.initialHash(prevStateRoot, inputsRoot)`. It must not be zero
///         (`ZeroInputsRoot`): a batch has at least one block, so its inputs are never empty. The
///         contract cannot check it against the batch data (future work, see the doc).
contract Rollup {
    /// @notice Life cycle of a commitment.
    /// @dev `Pending ⇄ Challenged`, `Pending → Finalized`, `Challenged → Pending` also by a
    ///      replacement (rule 5), `Pending | Challenged → Invalidated` (a replacement of an
    ///      earlier commitment). `Finalized` and `Invalidated` are final.
    enum Status {
        None,
        Pending,
        Challenged,
        Finalized,
        Invalidated
    }

    /// @notice Where the batch's data lives on L1.
    enum DataKind {
        Calldata,
        Blobs
    }

    /// @notice One batch commitment. Seven storage slots.
    struct Commitment {
        /// `keccak256(abi.encodePacked(pieceHashes))` over all the batch's pieces, in order (rule 7).
        bytes32 batchDataHash;
        bytes32 prevStateRoot;
        /// The current proposer's claim (the batcher's, or a replacement's, rule 5).
        bytes32 postStateRoot;
        /// Hash chain of the batch's inputs (rule 8, docs/fault-proof.md section 2).
        bytes32 inputsRoot;
        uint64 firstL2Block;
        uint64 lastL2Block;
        /// L1 timestamp of the current claim (submission or latest replacement); the challenge
        /// period starts here.
        uint64 submittedAt;
        /// L1 block of the submission (not changed by a replacement: the batch stays where it was).
        uint64 l1BlockNumber;
        address proposer;
        /// Bond still held for this commitment (zero once paid out, slashed or refunded).
        uint96 bond;
        Status status;
        DataKind dataKind;
        /// Dispute games currently open against this commitment.
        uint32 openChallenges;
        /// Number of pieces of the batch (1 .. MAX_PIECES), see `pieceHashes`.
        uint32 pieceCount;
        /// Times `postStateRoot` was replaced (rule 5); identifies the current claim together
        /// with the index.
        uint32 replacements;
    }

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error ZeroChallengePeriod();
    error ZeroStateRoot();
    error ZeroInputsRoot();
    error BondTooLarge(uint256 amount);
    error NotOwner(address caller);
    error NotBatcher(address caller);
    error NotDisputeGameFactory(address caller);
    error DisputeGameFactoryAlreadySet(address factory);
    error InsufficientBond(uint256 sent, uint256 required);
    error EmptyBatchData();
    error NoBlobs();
    /// The staged pieces are of kind `staged`; a piece of kind `given` cannot join them.
    error MixedDataKinds(DataKind staged, DataKind given);
    /// The batch would have (at least) `pieces` pieces, more than `maxPieces`.
    error TooManyPieces(uint256 pieces, uint256 maxPieces);
    error PrevStateRootMismatch(bytes32 expected, bytes32 given);
    error NonContiguousL2Blocks(uint64 expectedFirst, uint64 givenFirst);
    error InvalidL2BlockRange(uint64 firstL2Block, uint64 lastL2Block);
    error UnknownCommitment(uint256 index);
    error UnexpectedStatus(uint256 index, Status status);
    error ChallengePeriodNotOver(uint256 index, uint256 endsAt);
    error ChallengePeriodOver(uint256 index, uint256 endedAt);
    error PredecessorNotFinal(uint256 index, uint256 firstNotFinal);
    error StateRootUnchanged(uint256 index, bytes32 root);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    /// @notice A batch was committed (rule 7: `batchDataHash` covers all its pieces). Its final
    ///         piece(s) are in this log's transaction (`BatchPiecesSubmitted`, logged just before
    ///         it), earlier ones in the transactions of the `BatchPiecesStaged` logs of the index.
    event BatchSubmitted(
        uint256 indexed index,
        bytes32 indexed batchDataHash,
        bytes32 prevStateRoot,
        bytes32 postStateRoot,
        bytes32 inputsRoot,
        uint64 firstL2Block,
        uint64 lastL2Block
    );
    /// @notice Pieces carried by this transaction were staged for the batch that will get index
    ///         `commitmentIndex`, at positions `firstPiece ..` (in order).
    event BatchPiecesStaged(uint256 indexed commitmentIndex, uint256 firstPiece, bytes32[] pieceHashes, DataKind kind);
    /// @notice The final call's pieces of commitment `index`, carried by this transaction, at
    ///         positions `firstPiece ..` (`firstPiece` is the number of staged pieces before them).
    event BatchPiecesSubmitted(uint256 indexed index, uint256 firstPiece, bytes32[] pieceHashes, DataKind kind);
    /// @notice The `pieceCount` pieces staged for `commitmentIndex` were dropped (`discardStaged`
    ///         or `replaceStateRoot`).
    event StagedPiecesDiscarded(uint256 indexed commitmentIndex, uint256 pieceCount);
    event BatchFinalized(uint256 indexed index, bytes32 postStateRoot, address indexed proposer, uint256 bondReturned);
    event BatchChallenged(uint256 indexed index, uint256 openChallenges);
    event ChallengeDismissed(uint256 indexed index, uint256 openChallenges);
    /// @notice A game proved `index`'s claim `oldStateRoot` wrong: `newStateRoot` is its new
    ///         claim, by `newProposer`, backed by `newBond`, challengeable until
    ///         `block.timestamp + challengePeriod` of this log; `replacements` is the commitment's new
    ///         counter (rule 5).
    event StateRootReplaced(
        uint256 indexed index,
        bytes32 oldStateRoot,
        bytes32 newStateRoot,
        address indexed newProposer,
        uint256 bondSlashed,
        uint256 newBond,
        uint32 replacements
    );
    event BatchInvalidated(uint256 indexed index, uint256 indexed replacedIndex, uint256 bondRefunded);
    event DisputeGameFactorySet(address indexed factory);
    event BondCredited(address indexed account, uint256 amount);
    event BondWithdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- configuration

    /// @notice Deployer; its only power is `setDisputeGameFactory`, once.
    address public immutable owner;
    /// @notice The only account allowed to submit commitments.
    address public immutable batcher;
    /// @notice Minimum bond per commitment, in wei.
    uint256 public immutable bond;
    /// @notice Seconds after submission during which a commitment can be challenged.
    uint256 public immutable challengePeriod;
    /// @notice State root of L2 block 0.
    bytes32 public immutable genesisStateRoot;

    /// @notice Most pieces one batch may have (calldata: ~120 KB each; blobs: 6 per transaction).
    uint256 public constant MAX_PIECES = 64;

    /// @notice Contract allowed to report dispute outcomes; zero until set.
    address public disputeGameFactory;
    /// @dev Kind and number of the staged pieces (kind meaningful while the count is not zero).
    ///      Both share the slot above.
    DataKind internal _stagedKind;
    uint32 internal _stagedCount;

    // ---------------------------------------------------------------- state

    Commitment[] internal _commitments;
    /// @dev Piece hashes of each commitment, by position (`pieceCount` of them). The entry of
    ///      `_commitments.length` (the next index) holds the `_stagedCount` staged pieces: they are
    ///      written where they will stay. Slots past the count are stale and never read.
    mapping(uint256 index => mapping(uint256 position => bytes32 hash)) internal _pieces;

    /// @dev Index + 1 of the latest valid commitment; 0 when the chain is at genesis.
    uint256 internal _headPlusOne;

    /// @notice Lowest index that is not final yet (every index below it is final).
    uint256 public nextFinalization;
    /// @notice Post-state root and last L2 block of the latest final commitment (genesis at first).
    bytes32 public finalizedStateRoot;
    uint64 public finalizedL2Block;

    /// @notice Sum of the `bond` fields of all commitments.
    uint256 public lockedBonds;
    /// @notice Bonds owed to accounts that could not be paid directly, see `withdraw`.
    mapping(address account => uint256 amount) public claimable;
    uint256 public totalClaimable;

    // ---------------------------------------------------------------- setup

    /// @param batcher_ the account allowed to submit commitments
    /// @param bond_ minimum bond per commitment in wei (devnet 0.01 ether; production: enough to pay
    ///        a challenger's full dispute, e.g. 1 ether or more)
    /// @param challengePeriod_ seconds (devnet 300; production 7 days = 604800)
    /// @param genesisStateRoot_ state root of L2 block 0
    constructor(address batcher_, uint256 bond_, uint256 challengePeriod_, bytes32 genesisStateRoot_) {
        if (batcher_ == address(0)) revert ZeroAddress();
        if (challengePeriod_ == 0) revert ZeroChallengePeriod();
        if (genesisStateRoot_ == bytes32(0)) revert ZeroStateRoot();
        if (bond_ > type(uint96).max) revert BondTooLarge(bond_);
        owner = msg.sender;
        batcher = batcher_;
        bond = bond_;
        challengePeriod = challengePeriod_;
        genesisStateRoot = genesisStateRoot_;
        finalizedStateRoot = genesisStateRoot_;
    }

    /// @notice Sets the dispute game factory, once.
    function setDisputeGameFactory(address factory) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (factory == address(0)) revert ZeroAddress();
        if (disputeGameFactory != address(0)) revert DisputeGameFactoryAlreadySet(disputeGameFactory);
        disputeGameFactory = factory;
        emit DisputeGameFactorySet(factory);
    }

    // ---------------------------------------------------------------- batcher

    /// @notice Stages one calldata piece (`piece`, non-empty) of the next batch (rule 7).
    function stageBatchData(bytes calldata piece) external {
        _onlyBatcher();
        if (piece.length == 0) revert EmptyBatchData();
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = keccak256(piece);
        _stage(hashes, DataKind.Calldata);
    }

    /// @notice Stages every blob of this transaction (EIP-4844), in order, as pieces of the next
    ///         batch (rule 7).
    function stageBatchBlobs() external {
        _onlyBatcher();
        _stage(_transactionBlobHashes(), DataKind.Blobs);
    }

    /// @notice Empties the staging list (stale pieces after a restart or an L1 reorg). Does
    ///         nothing when it is empty.
    function discardStaged() external {
        _onlyBatcher();
        _discardStaged();
    }

    /// @notice Commits a batch whose pieces are the staged ones (calldata) followed by this
    ///         call's `batchData` (non-empty), the whole batch when nothing is staged.
    /// @param inputsRoot hash chain of the batch's inputs (rule 8), not zero
    /// @return index the new commitment's index
    function submitBatch(
        bytes32 prevStateRoot,
        bytes32 postStateRoot,
        uint64 firstL2Block,
        uint64 lastL2Block,
        bytes32 inputsRoot,
        bytes calldata batchData
    ) external payable returns (uint256 index) {
        if (batchData.length == 0) revert EmptyBatchData();
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = keccak256(batchData);
        index = _record(prevStateRoot, postStateRoot, firstL2Block, lastL2Block, inputsRoot, hashes, DataKind.Calldata);
    }

    /// @notice Commits a batch whose pieces are the staged ones (blobs) followed by every blob of
    ///         this transaction (EIP-4844, at least one), in order.
    /// @param inputsRoot hash chain of the batch's inputs (rule 8), not zero
    /// @return index the new commitment's index
    function submitBatchBlobs(
        bytes32 prevStateRoot,
        bytes32 postStateRoot,
        uint64 firstL2Block,
        uint64 lastL2Block,
        bytes32 inputsRoot
    ) external payable returns (uint256 index) {
        index = _record(
            prevStateRoot,
            postStateRoot,
            firstL2Block,
            lastL2Block,
            inputsRoot,
            _transactionBlobHashes(),
            DataKind.Blobs
        );
    }

    // ---------------------------------------------------------------- finalization

    /// @notice Makes a commitment final once its challenge period is over and it is unchallenged,
    ///         and returns its bond to the proposer. Anyone may call it.
    function finalize(uint256 index) external {
        Commitment storage c = _get(index);
        if (c.status != Status.Pending) revert UnexpectedStatus(index, c.status);
        uint256 endsAt = uint256(c.submittedAt) + challengePeriod;
        if (block.timestamp < endsAt) revert ChallengePeriodNotOver(index, endsAt);
        uint256 firstNotFinal = _advanceFinalization();
        if (index != firstNotFinal) revert PredecessorNotFinal(index, firstNotFinal);

        uint256 amount = c.bond;
        c.bond = 0;
        c.status = Status.Finalized;
        lockedBonds -= amount;
        finalizedStateRoot = c.postStateRoot;
        finalizedL2Block = c.lastL2Block;
        _advanceFinalization();
        emit BatchFinalized(index, c.postStateRoot, c.proposer, amount);
        _pay(c.proposer, amount);
    }

    /// @notice Pays out bonds that could not be sent directly to the caller.
    function withdraw() external {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        claimable[msg.sender] = 0;
        totalClaimable -= amount;
        emit BondWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- dispute game hooks

    /// @notice A dispute game was opened against `index`. Only within its challenge period.
    function markChallenged(uint256 index) external {
        _onlyFactory();
        Commitment storage c = _get(index);
        if (c.status != Status.Pending && c.status != Status.Challenged) revert UnexpectedStatus(index, c.status);
        uint256 endsAt = uint256(c.submittedAt) + challengePeriod;
        if (block.timestamp >= endsAt) revert ChallengePeriodOver(index, endsAt);
        c.status = Status.Challenged;
        c.openChallenges += 1;
        emit BatchChallenged(index, c.openChallenges);
    }

    /// @notice A dispute game against `index` ended with the proposer right. When no other game
    ///         is open the commitment is `Pending` again (finalizable after its period).
    function dismissChallenge(uint256 index) external {
        _onlyFactory();
        Commitment storage c = _get(index);
        if (c.status != Status.Challenged) revert UnexpectedStatus(index, c.status);
        c.openChallenges -= 1;
        if (c.openChallenges == 0) c.status = Status.Pending;
        emit ChallengeDismissed(index, c.openChallenges);
    }

    /// @notice A dispute game proved `index`'s post-state root wrong; `newStateRoot`, the
    ///         winning challenger's root, becomes the commitment's new claim by `newProposer`,
    ///         backed by `msg.value` (at least `bond`) and challengeable for a full new period. The
    ///         old bond goes to the factory, open challenges are dropped, `replacements` grows by
    ///         one and every later commitment is invalidated (rule 5 above).
    function replaceStateRoot(uint256 index, bytes32 newStateRoot, address newProposer) external payable {
        _onlyFactory();
        Commitment storage c = _get(index);
        if (c.status != Status.Challenged) revert UnexpectedStatus(index, c.status);
        if (newStateRoot == bytes32(0)) revert ZeroStateRoot();
        if (newProposer == address(0)) revert ZeroAddress();
        if (msg.value < bond) revert InsufficientBond(msg.value, bond);
        if (msg.value > type(uint96).max) revert BondTooLarge(msg.value);
        bytes32 oldStateRoot = c.postStateRoot;
        if (newStateRoot == oldStateRoot) revert StateRootUnchanged(index, newStateRoot);

        uint256 slashed = c.bond;
        c.postStateRoot = newStateRoot;
        c.proposer = newProposer;
        c.bond = uint96(msg.value);
        c.submittedAt = uint64(block.timestamp);
        c.status = Status.Pending;
        c.openChallenges = 0;
        uint32 replacements = c.replacements + 1;
        c.replacements = replacements;
        lockedBonds = lockedBonds - slashed + msg.value;

        uint256 count = _commitments.length;
        for (uint256 j = index + 1; j < count; ++j) {
            Commitment storage later = _commitments[j];
            if (later.status == Status.Invalidated) continue;
            later.status = Status.Invalidated;
            later.openChallenges = 0;
            uint256 refund = later.bond;
            later.bond = 0;
            lockedBonds -= refund;
            emit BatchInvalidated(j, index, refund);
            _credit(later.proposer, refund);
        }
        _headPlusOne = index + 1;
        _discardStaged();
        // `index` is not final (it is Pending again), so `nextFinalization` does not move.
        emit StateRootReplaced(index, oldStateRoot, newStateRoot, newProposer, slashed, msg.value, replacements);
        _pay(msg.sender, slashed);
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of commitments ever made (indices `0 .. count-1`, including invalidated ones).
    function commitmentCount() external view returns (uint256) {
        return _commitments.length;
    }

    /// @notice The commitment at `index`.
    function getCommitment(uint256 index) external view returns (Commitment memory) {
        return _get(index);
    }

    /// @notice The piece hashes of commitment `index`, in order: `keccak256` of each calldata
    ///         piece, or the versioned hash of each blob (the kind is the commitment's `dataKind`).
    function pieceHashes(uint256 index) external view returns (bytes32[] memory) {
        return _readPieces(index, _get(index).pieceCount);
    }

    /// @notice Number of pieces staged for the next batch.
    function stagedPieceCount() external view returns (uint256) {
        return _stagedCount;
    }

    /// @notice Hashes of the pieces staged for the next batch, in order.
    function stagedPieces() external view returns (bytes32[] memory) {
        return _readPieces(_commitments.length, _stagedCount);
    }

    /// @notice Kind of the staged pieces; only meaningful while `stagedPieceCount() > 0`.
    function stagedKind() external view returns (DataKind) {
        return _stagedKind;
    }

    /// @notice The latest valid commitment, which the next submission builds on.
    /// @return exists false while the chain is at genesis
    /// @return index its index (0 when `exists` is false)
    function head() external view returns (bool exists, uint256 index) {
        if (_headPlusOne == 0) return (false, 0);
        return (true, _headPlusOne - 1);
    }

    /// @notice The `prevStateRoot` the next submission must carry.
    function latestStateRoot() public view returns (bytes32) {
        if (_headPlusOne == 0) return genesisStateRoot;
        return _commitments[_headPlusOne - 1].postStateRoot;
    }

    /// @notice The `firstL2Block` the next submission must carry.
    function nextL2Block() public view returns (uint64) {
        if (_headPlusOne == 0) return 1;
        return _commitments[_headPlusOne - 1].lastL2Block + 1;
    }

    /// @notice Timestamp from which `index` can be finalized and no longer challenged.
    function challengeDeadline(uint256 index) external view returns (uint256) {
        return uint256(_get(index).submittedAt) + challengePeriod;
    }

    /// @notice All ETH the contract owes: locked bonds plus credited ones. Equals its balance.
    function totalBondsHeld() external view returns (uint256) {
        return lockedBonds + totalClaimable;
    }

    // ---------------------------------------------------------------- internals

    function _record(
        bytes32 prevStateRoot,
        bytes32 postStateRoot,
        uint64 firstL2Block,
        uint64 lastL2Block,
        bytes32 inputsRoot,
        bytes32[] memory finalPieces,
        DataKind dataKind
    ) internal returns (uint256 index) {
        _onlyBatcher();
        if (msg.value < bond) revert InsufficientBond(msg.value, bond);
        if (msg.value > type(uint96).max) revert BondTooLarge(msg.value);
        if (postStateRoot == bytes32(0)) revert ZeroStateRoot();
        if (inputsRoot == bytes32(0)) revert ZeroInputsRoot();
        bytes32 expectedPrev = latestStateRoot();
        if (prevStateRoot != expectedPrev) revert PrevStateRootMismatch(expectedPrev, prevStateRoot);
        uint64 expectedFirst = nextL2Block();
        if (firstL2Block != expectedFirst) revert NonContiguousL2Blocks(expectedFirst, firstL2Block);
        // type(uint64).max is refused so that `nextL2Block()` can never overflow.
        if (lastL2Block < firstL2Block || lastL2Block == type(uint64).max) {
            revert InvalidL2BlockRange(firstL2Block, lastL2Block);
        }

        index = _commitments.length;
        (bytes32 batchDataHash, uint32 pieceCount) = _takePieces(index, finalPieces, dataKind);
        // Field by field (not a struct literal): fewer stack slots.
        Commitment storage c = _commitments.push();
        c.batchDataHash = batchDataHash;
        c.prevStateRoot = prevStateRoot;
        c.postStateRoot = postStateRoot;
        c.inputsRoot = inputsRoot;
        c.firstL2Block = firstL2Block;
        c.lastL2Block = lastL2Block;
        c.submittedAt = uint64(block.timestamp);
        c.l1BlockNumber = uint64(block.number);
        c.proposer = msg.sender;
        c.bond = uint96(msg.value);
        c.status = Status.Pending;
        c.dataKind = dataKind;
        c.pieceCount = pieceCount;
        _headPlusOne = index + 1;
        lockedBonds += msg.value;
        _emitSubmitted(index, c);
    }

    /// @dev Logs `BatchSubmitted` from storage (out of `_record`, whose stack is full).
    function _emitSubmitted(uint256 index, Commitment storage c) internal {
        emit BatchSubmitted(
            index, c.batchDataHash, c.prevStateRoot, c.postStateRoot, c.inputsRoot, c.firstL2Block, c.lastL2Block
        );
    }

    /// @dev Appends the final call's pieces to the staged ones, which are already commitment
    ///      `index`'s first pieces, empties the staging list, and returns the batch data hash of
    ///      all the pieces (rule 7) and their number.
    function _takePieces(uint256 index, bytes32[] memory finalPieces, DataKind dataKind)
        internal
        returns (bytes32 batchDataHash, uint32 pieceCount)
    {
        uint256 firstPiece = _stagedCount;
        if (firstPiece != 0 && _stagedKind != dataKind) revert MixedDataKinds(_stagedKind, dataKind);
        uint256 total = firstPiece + finalPieces.length;
        if (total > MAX_PIECES) revert TooManyPieces(total, MAX_PIECES);
        mapping(uint256 => bytes32) storage slots = _pieces[index];
        bytes32[] memory all = finalPieces;
        if (firstPiece != 0) {
            all = new bytes32[](total);
            for (uint256 i; i < firstPiece; ++i) {
                all[i] = slots[i];
            }
            for (uint256 i; i < finalPieces.length; ++i) {
                all[firstPiece + i] = finalPieces[i];
            }
            _stagedCount = 0;
        }
        for (uint256 i; i < finalPieces.length; ++i) {
            slots[firstPiece + i] = finalPieces[i];
        }
        batchDataHash = keccak256(abi.encodePacked(all));
        // casting to 'uint32' is safe because total <= MAX_PIECES (checked above)
        // forge-lint: disable-next-line(unsafe-typecast)
        pieceCount = uint32(total);
        emit BatchPiecesSubmitted(index, firstPiece, finalPieces, dataKind);
    }

    /// @dev Appends `hashes` to the staging list (rule 7), keeping room for the final piece.
    function _stage(bytes32[] memory hashes, DataKind kind) internal {
        uint256 next = _commitments.length;
        uint256 firstPiece = _stagedCount;
        if (firstPiece != 0 && _stagedKind != kind) revert MixedDataKinds(_stagedKind, kind);
        // The final submission adds at least one more piece.
        uint256 atLeast = firstPiece + hashes.length + 1;
        if (atLeast > MAX_PIECES) revert TooManyPieces(atLeast, MAX_PIECES);
        mapping(uint256 => bytes32) storage slots = _pieces[next];
        for (uint256 i; i < hashes.length; ++i) {
            slots[firstPiece + i] = hashes[i];
        }
        _stagedKind = kind;
        // casting to 'uint32' is safe because it is below MAX_PIECES (checked above)
        // forge-lint: disable-next-line(unsafe-typecast)
        _stagedCount = uint32(firstPiece + hashes.length);
        emit BatchPiecesStaged(next, firstPiece, hashes, kind);
    }

    function _discardStaged() internal {
        uint256 count = _stagedCount;
        if (count == 0) return;
        _stagedCount = 0;
        emit StagedPiecesDiscarded(_commitments.length, count);
    }

    function _readPieces(uint256 index, uint256 count) internal view returns (bytes32[] memory hashes) {
        hashes = new bytes32[](count);
        mapping(uint256 => bytes32) storage slots = _pieces[index];
        for (uint256 i; i < count; ++i) {
            hashes[i] = slots[i];
        }
    }

    /// @dev Every `blobhash(i)` of this transaction, in order; reverts `NoBlobs` when none.
    function _transactionBlobHashes() internal view returns (bytes32[] memory hashes) {
        uint256 count;
        while (blobhash(count) != bytes32(0)) {
            ++count;
        }
        if (count == 0) revert NoBlobs();
        hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = blobhash(i);
        }
    }

    /// @dev Moves `nextFinalization` past final (`Finalized` or `Invalidated`) commitments.
    ///      Returns the new value.
    function _advanceFinalization() internal returns (uint256 next) {
        next = nextFinalization;
        uint256 count = _commitments.length;
        while (next < count) {
            Status s = _commitments[next].status;
            if (s != Status.Finalized && s != Status.Invalidated) break;
            ++next;
        }
        nextFinalization = next;
    }

    function _get(uint256 index) internal view returns (Commitment storage) {
        if (index >= _commitments.length) revert UnknownCommitment(index);
        return _commitments[index];
    }

    function _onlyBatcher() internal view {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
    }

    function _onlyFactory() internal view {
        if (msg.sender != disputeGameFactory) revert NotDisputeGameFactory(msg.sender);
    }

    /// @dev Sends `amount`; a recipient that refuses it is credited instead (see `withdraw`).
    function _pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) _credit(to, amount);
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        claimable[to] += amount;
        totalClaimable += amount;
        emit BondCredited(to, amount);
    }
}
