//! Bindings of the L1 contracts: the Rollup contract's functions, events, errors and types, through alloy's sol! macro.
//!
//! `Rollup` mirrors `contracts/src/Rollup.sol` exactly (the tests below pin every selector,
//! topic and output type to what `forge inspect Rollup abi` prints). Calls are built with
//! [`SolCall::abi_encode`](alloy_sol_types::SolCall::abi_encode) (e.g.
//! `Rollup::submitBatchCall { .. }.abi_encode()`), logs decoded with
//! [`SolEvent::decode_log`](alloy_sol_types::SolEvent::decode_log) or
//! [`Rollup::RollupEvents`], reverts with [`decode_rollup_error`].
//!
//! A batch's data is the concatenation of its pieces (rule 7 of the contract): calldata byte
//! strings (piece hash `keccak256(piece)`) or blobs (piece hash: the versioned hash), staged with
//! `stageBatchData` / `stageBatchBlobs` and closed by `submitBatch` / `submitBatchBlobs`. Its
//! `batchDataHash` is [`batch_data_hash`] of all piece hashes, in order.

use alloy_primitives::{B256, keccak256};
use alloy_sol_types::{GenericContractError, SolInterface};

/// The game contract's bindings (its events carry more fields than clippy likes in a function).
#[allow(clippy::too_many_arguments)]
mod dispute_games {
    alloy_sol_types::sol! {
        /// Every dispute game over the Rollup's commitments (`contracts/src/DisputeGames.sol`, rules
        /// in its NatSpec; trace and step definition in docs/fault-proof.md).
        #[sol(all_derives, abi)]
        contract DisputeGames {
            /// Whose move it is.
            enum Turn {
                /// The defender names the midpoint hash.
                Defender,
                /// The challenger agrees or disagrees with it.
                Challenger,
                /// One step is left to prove.
                Step
            }
            /// How a game stands.
            enum GameStatus {
                /// Being played.
                InProgress,
                /// The claim was proven wrong.
                ChallengerWon,
                /// The claim stood.
                DefenderWon
            }

            /// One game.
            struct Game {
                address challenger;
                uint64 commitmentIndex;
                uint32 replacements;
                address defender;
                uint64 lo;
                uint8 depth;
                Turn turn;
                GameStatus status;
                uint64 hi;
                uint64 defenderClock;
                uint64 challengerClock;
                uint64 lastMoveAt;
                bytes32 claimedRoot;
                bytes32 hashLo;
                bytes32 hashHi;
                bytes32 midHash;
                uint128 defenderBonds;
                uint128 challengerBonds;
            }

            error ZeroAddress();
            error ZeroClock();
            error BondTooLarge(uint256 amount);
            error ChallengeBondTooLow(uint256 challengeBond, uint256 rollupBond);
            error UnknownGame(uint256 gameId);
            error GameOver(uint256 gameId, GameStatus status);
            error WrongTurn(uint256 gameId, Turn turn);
            error NotDefender(uint256 gameId, address caller);
            error NotChallenger(uint256 gameId, address caller);
            error WrongBond(uint256 sent, uint256 required);
            error ClockExpired(uint256 gameId, uint256 deadline);
            error ClockNotExpired(uint256 gameId, uint256 deadline);
            error NotAtLeaf(uint256 gameId, uint64 lo, uint64 hi);
            error BadPreState(uint256 gameId, bytes32 expected, bytes32 given);
            error ZeroClaimedRoot();
            error ClaimMatchesProposal(uint256 commitmentIndex, bytes32 root);
            error UnexpectedEther(address sender);
            error NothingToWithdraw(address account);
            error TransferFailed(address to, uint256 amount);

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
            event Bisected(
                uint256 indexed gameId, address indexed mover, uint64 mid, bytes32 midHash, uint8 depth, uint64 defenderClock
            );
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
            event Stepped(uint256 indexed gameId, address indexed caller, uint64 lo, bytes32 postHash, bool defenderWins);
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

            constructor(address rollup_, address verifier_, uint256 challengeBond_, uint256 moveBondBase_, uint64 maxClockSeconds_);

            function DEPTH() external view returns (uint256);
            function rollup() external view returns (address);
            function verifier() external view returns (address);
            function challengeBond() external view returns (uint256);
            function moveBondBase() external view returns (uint256);
            function maxClockSeconds() external view returns (uint64);
            function replacementBond() external view returns (uint256);
            function defenderDelegate(address proposer) external view returns (address);
            function lockedBonds() external view returns (uint256);
            function claimable(address account) external view returns (uint256);
            function totalClaimable() external view returns (uint256);

            function setDefender(address delegate) external;
            function open(uint256 commitmentIndex, bytes32 claimedRoot) external payable returns (uint256 gameId);
            function bisect(uint256 gameId, bytes32 midHash) external payable;
            function choose(uint256 gameId, bool agree) external payable;
            function step(uint256 gameId, bytes calldata preState, bytes calldata proof) external;
            function timeout(uint256 gameId) external;
            function withdraw() external;

            function gameCount() external view returns (uint256);
            function getGame(uint256 gameId) external view returns (Game memory);
            function moveBond(uint256 depth) external view returns (uint256);
            function deadline(uint256 gameId) external view returns (uint256);
            function isStale(uint256 gameId) external view returns (bool stale);
            function totalBondsHeld() external view returns (uint256);
        }
    }
}
pub use dispute_games::DisputeGames;

alloy_sol_types::sol! {
    /// The L1 record of the L2 chain: batch commitments, bonds, challenge hooks.
    #[sol(all_derives, abi)]
    contract Rollup {
        /// Life cycle of a commitment.
        enum Status {
            /// No such commitment.
            None,
            /// Submitted, unchallenged; finalizable once its period is over.
            Pending,
            /// At least one dispute game is open against it.
            Challenged,
            /// Final; its bond went back to the proposer.
            Finalized,
            /// Built on a commitment whose root was replaced; dropped.
            Invalidated
        }

        /// Where a batch's data lives on L1.
        enum DataKind {
            /// Calldata pieces (`stageBatchData`, `submitBatch`).
            Calldata,
            /// EIP-4844 blob pieces (`stageBatchBlobs`, `submitBatchBlobs`).
            Blobs
        }

        /// One batch commitment.
        struct Commitment {
            /// `keccak256(abi.encodePacked(pieceHashes))` over all pieces, in order.
            bytes32 batchDataHash;
            /// State root the batch starts from.
            bytes32 prevStateRoot;
            /// The proposer's claim (the winning challenger's after a replacement).
            bytes32 postStateRoot;
            /// Hash chain over the batch's decoded inputs (docs/fault-proof.md section 2).
            bytes32 inputsRoot;
            /// First L2 block of the batch.
            uint64 firstL2Block;
            /// Last L2 block of the batch.
            uint64 lastL2Block;
            /// L1 timestamp of the submission; the challenge period starts here.
            uint64 submittedAt;
            /// L1 block of the submission.
            uint64 l1BlockNumber;
            /// The batcher that submitted it.
            address proposer;
            /// Bond still held for this commitment.
            uint96 bond;
            /// Life cycle state.
            Status status;
            /// Calldata or blobs.
            DataKind dataKind;
            /// Dispute games currently open against it.
            uint32 openChallenges;
            /// Number of pieces of the batch.
            uint32 pieceCount;
            /// How many times a dispute game replaced its root.
            uint32 replacements;
        }

        /// A zero address was given.
        error ZeroAddress();
        /// The challenge period must not be zero.
        error ZeroChallengePeriod();
        /// A state root must not be zero.
        error ZeroStateRoot();
        /// A batch's inputs root cannot be zero.
        error ZeroInputsRoot();
        /// A bond does not fit in 96 bits.
        error BondTooLarge(uint256 amount);
        /// Only the owner may do this.
        error NotOwner(address caller);
        /// Only the batcher may do this.
        error NotBatcher(address caller);
        /// Only the dispute game factory may do this.
        error NotDisputeGameFactory(address caller);
        /// The dispute game factory is set already.
        error DisputeGameFactoryAlreadySet(address factory);
        /// The bond sent is below the minimum.
        error InsufficientBond(uint256 sent, uint256 required);
        /// A calldata piece must not be empty.
        error EmptyBatchData();
        /// The transaction carries no blob.
        error NoBlobs();
        /// The staged pieces are of kind `staged`; a piece of kind `given` cannot join them.
        error MixedDataKinds(DataKind staged, DataKind given);
        /// The batch would have (at least) `pieces` pieces, more than `maxPieces`.
        error TooManyPieces(uint256 pieces, uint256 maxPieces);
        /// `prevStateRoot` is not the latest valid root.
        error PrevStateRootMismatch(bytes32 expected, bytes32 given);
        /// `firstL2Block` does not follow the latest valid commitment.
        error NonContiguousL2Blocks(uint64 expectedFirst, uint64 givenFirst);
        /// Empty or overflowing L2 block range.
        error InvalidL2BlockRange(uint64 firstL2Block, uint64 lastL2Block);
        /// No commitment has this index.
        error UnknownCommitment(uint256 index);
        /// The commitment's status does not allow this.
        error UnexpectedStatus(uint256 index, Status status);
        /// The challenge period of `index` ends at `endsAt`.
        error ChallengePeriodNotOver(uint256 index, uint256 endsAt);
        /// The challenge period of `index` ended at `endedAt`.
        error ChallengePeriodOver(uint256 index, uint256 endedAt);
        /// An earlier commitment is not final yet.
        error PredecessorNotFinal(uint256 index, uint256 firstNotFinal);
        /// The replacement root equals the current one.
        error StateRootUnchanged(uint256 index, bytes32 root);
        /// Nothing is credited to `account`.
        error NothingToWithdraw(address account);
        /// Sending ETH failed.
        error TransferFailed(address to, uint256 amount);

        /// A batch was committed; its final piece(s) are in this log's transaction.
        event BatchSubmitted(
            uint256 indexed index,
            bytes32 indexed batchDataHash,
            bytes32 prevStateRoot,
            bytes32 postStateRoot,
            bytes32 inputsRoot,
            uint64 firstL2Block,
            uint64 lastL2Block
        );
        /// Pieces carried by this transaction were staged for commitment `commitmentIndex`, at
        /// positions `firstPiece ..`.
        event BatchPiecesStaged(uint256 indexed commitmentIndex, uint256 firstPiece, bytes32[] pieceHashes, DataKind kind);
        /// The final call's pieces of commitment `index`, carried by this transaction, at
        /// positions `firstPiece ..`.
        event BatchPiecesSubmitted(uint256 indexed index, uint256 firstPiece, bytes32[] pieceHashes, DataKind kind);
        /// The `pieceCount` pieces staged for `commitmentIndex` were dropped.
        event StagedPiecesDiscarded(uint256 indexed commitmentIndex, uint256 pieceCount);
        /// A commitment became final; its bond went back to the proposer.
        event BatchFinalized(uint256 indexed index, bytes32 postStateRoot, address indexed proposer, uint256 bondReturned);
        /// A dispute game was opened against a commitment.
        event BatchChallenged(uint256 indexed index, uint256 openChallenges);
        /// A dispute game against a commitment ended with the proposer right.
        event ChallengeDismissed(uint256 indexed index, uint256 openChallenges);
        /// A dispute game proved a commitment's root wrong and replaced it.
        event StateRootReplaced(
            uint256 indexed index,
            bytes32 oldStateRoot,
            bytes32 newStateRoot,
            address indexed newProposer,
            uint256 bondSlashed,
            uint256 newBond,
            uint32 replacements
        );
        /// A commitment built on a replaced one was invalidated.
        event BatchInvalidated(uint256 indexed index, uint256 indexed replacedIndex, uint256 bondRefunded);
        /// The dispute game factory was set.
        event DisputeGameFactorySet(address indexed factory);
        /// A bond was credited to an account that refused ETH.
        event BondCredited(address indexed account, uint256 amount);
        /// A credited bond was withdrawn.
        event BondWithdrawn(address indexed account, uint256 amount);

        /// Deploys the rollup.
        constructor(address batcher_, uint256 bond_, uint256 challengePeriod_, bytes32 genesisStateRoot_);

        /// Sets the dispute game factory, once (owner only).
        function setDisputeGameFactory(address factory) external;
        /// Stages one calldata piece of the next batch (batcher only).
        function stageBatchData(bytes calldata piece) external;
        /// Stages every blob of the transaction as pieces of the next batch (batcher only).
        function stageBatchBlobs() external;
        /// Empties the staging list (batcher only).
        function discardStaged() external;
        /// Commits a batch: the staged calldata pieces plus `batchData`.
        function submitBatch(
            bytes32 prevStateRoot,
            bytes32 postStateRoot,
            uint64 firstL2Block,
            uint64 lastL2Block,
            bytes32 inputsRoot,
            bytes calldata batchData
        ) external payable returns (uint256 index);
        /// Commits a batch: the staged blobs plus the transaction's blobs.
        function submitBatchBlobs(
            bytes32 prevStateRoot,
            bytes32 postStateRoot,
            uint64 firstL2Block,
            uint64 lastL2Block,
            bytes32 inputsRoot
        )
            external
            payable
            returns (uint256 index);
        /// Makes a commitment final and returns its bond.
        function finalize(uint256 index) external;
        /// Pays out credited bonds to the caller.
        function withdraw() external;
        /// Dispute game hook: a game was opened against `index`.
        function markChallenged(uint256 index) external;
        /// Dispute game hook: a game against `index` ended with the proposer right.
        function dismissChallenge(uint256 index) external;
        /// Dispute game hook: `index`'s root was proven wrong; `newStateRoot` (the winning
        /// challenger's, backed by `msg.value`) replaces it for a new challenge period.
        function replaceStateRoot(uint256 index, bytes32 newStateRoot, address newProposer) external payable;

        /// Number of commitments ever made.
        function commitmentCount() external view returns (uint256);
        /// The commitment at `index`.
        function getCommitment(uint256 index) external view returns (Commitment memory);
        /// The piece hashes of commitment `index`, in order.
        function pieceHashes(uint256 index) external view returns (bytes32[] memory);
        /// Number of pieces staged for the next batch.
        function stagedPieceCount() external view returns (uint256);
        /// Hashes of the pieces staged for the next batch, in order.
        function stagedPieces() external view returns (bytes32[] memory);
        /// Kind of the staged pieces (meaningful while some are staged).
        function stagedKind() external view returns (DataKind);
        /// The latest valid commitment.
        function head() external view returns (bool exists, uint256 index);
        /// The `prevStateRoot` the next submission must carry.
        function latestStateRoot() external view returns (bytes32);
        /// The `firstL2Block` the next submission must carry.
        function nextL2Block() external view returns (uint64);
        /// Timestamp from which `index` can be finalized.
        function challengeDeadline(uint256 index) external view returns (uint256);
        /// Locked plus credited bonds; equals the contract's balance.
        function totalBondsHeld() external view returns (uint256);

        /// Most pieces one batch may have.
        function MAX_PIECES() external view returns (uint256);
        /// The deployer.
        function owner() external view returns (address);
        /// The only account allowed to stage and submit.
        function batcher() external view returns (address);
        /// Minimum bond per commitment, in wei.
        function bond() external view returns (uint256);
        /// Seconds during which a commitment can be challenged.
        function challengePeriod() external view returns (uint256);
        /// State root of L2 block 0.
        function genesisStateRoot() external view returns (bytes32);
        /// The dispute game factory (zero until set).
        function disputeGameFactory() external view returns (address);
        /// Lowest index that is not final yet.
        function nextFinalization() external view returns (uint256);
        /// Post-state root of the latest final commitment.
        function finalizedStateRoot() external view returns (bytes32);
        /// Last L2 block of the latest final commitment.
        function finalizedL2Block() external view returns (uint64);
        /// Sum of the bonds of all commitments.
        function lockedBonds() external view returns (uint256);
        /// Bonds credited to `account`.
        function claimable(address account) external view returns (uint256);
        /// Sum of all credited bonds.
        function totalClaimable() external view returns (uint256);
    }
}

/// The batch data hash of a batch with these piece hashes, in order:
/// `keccak256(abi.encodePacked(pieceHashes))`, as `Rollup` computes it (a one-piece calldata
/// batch has `keccak256(keccak256(batchData))`).
pub fn batch_data_hash(piece_hashes: &[B256]) -> B256 {
    keccak256(piece_hashes.concat())
}

/// Names a revert of either L1 contract: a `Rollup` or `DisputeGames` custom error, or a
/// standard `Error(string)` / `Panic(uint256)`. `None` when the data is none of these.
pub fn decode_l1_error(data: &[u8]) -> Option<String> {
    if Rollup::RollupErrors::abi_decode_validate(data).is_err()
        && let Ok(error) = DisputeGames::DisputeGamesErrors::abi_decode_validate(data)
    {
        return Some(format!("{error:?}"));
    }
    decode_rollup_error(data)
}

/// A readable form of revert data from the Rollup contract: one of its custom errors with its
/// values (e.g. `PrevStateRootMismatch { expected: 0x…, given: 0x… }`), or a plain
/// `Error(string)` / `Panic(uint256)` reason. `None` when the data is none of these.
pub fn decode_rollup_error(data: &[u8]) -> Option<String> {
    use Rollup::RollupErrors as E;
    let Ok(error) = E::abi_decode_validate(data) else {
        return GenericContractError::abi_decode_validate(data)
            .ok()
            .map(|e| e.to_string());
    };
    Some(match error {
        E::ZeroAddress(e) => format!("{e:?}"),
        E::ZeroChallengePeriod(e) => format!("{e:?}"),
        E::ZeroStateRoot(e) => format!("{e:?}"),
        E::ZeroInputsRoot(e) => format!("{e:?}"),
        E::BondTooLarge(e) => format!("{e:?}"),
        E::NotOwner(e) => format!("{e:?}"),
        E::NotBatcher(e) => format!("{e:?}"),
        E::NotDisputeGameFactory(e) => format!("{e:?}"),
        E::DisputeGameFactoryAlreadySet(e) => format!("{e:?}"),
        E::InsufficientBond(e) => format!("{e:?}"),
        E::EmptyBatchData(e) => format!("{e:?}"),
        E::NoBlobs(e) => format!("{e:?}"),
        E::MixedDataKinds(e) => format!("{e:?}"),
        E::TooManyPieces(e) => format!("{e:?}"),
        E::PrevStateRootMismatch(e) => format!("{e:?}"),
        E::NonContiguousL2Blocks(e) => format!("{e:?}"),
        E::InvalidL2BlockRange(e) => format!("{e:?}"),
        E::UnknownCommitment(e) => format!("{e:?}"),
        E::UnexpectedStatus(e) => format!("{e:?}"),
        E::ChallengePeriodNotOver(e) => format!("{e:?}"),
        E::ChallengePeriodOver(e) => format!("{e:?}"),
        E::PredecessorNotFinal(e) => format!("{e:?}"),
        E::StateRootUnchanged(e) => format!("{e:?}"),
        E::NothingToWithdraw(e) => format!("{e:?}"),
        E::TransferFailed(e) => format!("{e:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::Rollup::{self, DataKind};
    use super::*;
    use alloy_primitives::{Address, Bytes, U256, b256, hex};
    use alloy_sol_types::{SolCall, SolError, SolEvent, SolEventInterface};

    /// `forge inspect Rollup abi --json` in canonical form: every constructor, function (inputs,
    /// outputs, mutability), event (with `indexed`) and error of contracts/src/Rollup.sol.
    const FORGE_ABI: &[&str] = &[
        "constructor(address,uint256,uint256,bytes32) nonpayable",
        "error BondTooLarge(uint256)",
        "error ChallengePeriodNotOver(uint256,uint256)",
        "error ChallengePeriodOver(uint256,uint256)",
        "error DisputeGameFactoryAlreadySet(address)",
        "error EmptyBatchData()",
        "error InsufficientBond(uint256,uint256)",
        "error InvalidL2BlockRange(uint64,uint64)",
        "error MixedDataKinds(uint8,uint8)",
        "error NoBlobs()",
        "error NonContiguousL2Blocks(uint64,uint64)",
        "error NotBatcher(address)",
        "error NotDisputeGameFactory(address)",
        "error NotOwner(address)",
        "error NothingToWithdraw(address)",
        "error PredecessorNotFinal(uint256,uint256)",
        "error PrevStateRootMismatch(bytes32,bytes32)",
        "error StateRootUnchanged(uint256,bytes32)",
        "error TooManyPieces(uint256,uint256)",
        "error TransferFailed(address,uint256)",
        "error UnexpectedStatus(uint256,uint8)",
        "error UnknownCommitment(uint256)",
        "error ZeroAddress()",
        "error ZeroChallengePeriod()",
        "error ZeroInputsRoot()",
        "error ZeroStateRoot()",
        "event BatchChallenged(uint256 indexed,uint256)",
        "event BatchFinalized(uint256 indexed,bytes32,address indexed,uint256)",
        "event BatchInvalidated(uint256 indexed,uint256 indexed,uint256)",
        "event BatchPiecesStaged(uint256 indexed,uint256,bytes32[],uint8)",
        "event BatchPiecesSubmitted(uint256 indexed,uint256,bytes32[],uint8)",
        "event BatchSubmitted(uint256 indexed,bytes32 indexed,bytes32,bytes32,bytes32,uint64,uint64)",
        "event BondCredited(address indexed,uint256)",
        "event BondWithdrawn(address indexed,uint256)",
        "event ChallengeDismissed(uint256 indexed,uint256)",
        "event DisputeGameFactorySet(address indexed)",
        "event StagedPiecesDiscarded(uint256 indexed,uint256)",
        "event StateRootReplaced(uint256 indexed,bytes32,bytes32,address indexed,uint256,uint256,uint32)",
        "function MAX_PIECES()(uint256) view",
        "function batcher()(address) view",
        "function bond()(uint256) view",
        "function challengeDeadline(uint256)(uint256) view",
        "function challengePeriod()(uint256) view",
        "function claimable(address)(uint256) view",
        "function commitmentCount()(uint256) view",
        "function discardStaged()() nonpayable",
        "function dismissChallenge(uint256)() nonpayable",
        "function disputeGameFactory()(address) view",
        "function finalize(uint256)() nonpayable",
        "function finalizedL2Block()(uint64) view",
        "function finalizedStateRoot()(bytes32) view",
        "function genesisStateRoot()(bytes32) view",
        "function getCommitment(uint256)((bytes32,bytes32,bytes32,bytes32,uint64,uint64,uint64,uint64,address,uint96,uint8,uint8,uint32,uint32,uint32)) view",
        "function head()(bool,uint256) view",
        "function latestStateRoot()(bytes32) view",
        "function lockedBonds()(uint256) view",
        "function markChallenged(uint256)() nonpayable",
        "function nextFinalization()(uint256) view",
        "function nextL2Block()(uint64) view",
        "function owner()(address) view",
        "function pieceHashes(uint256)(bytes32[]) view",
        "function replaceStateRoot(uint256,bytes32,address)() payable",
        "function setDisputeGameFactory(address)() nonpayable",
        "function stageBatchBlobs()() nonpayable",
        "function stageBatchData(bytes)() nonpayable",
        "function stagedKind()(uint8) view",
        "function stagedPieceCount()(uint256) view",
        "function stagedPieces()(bytes32[]) view",
        "function submitBatch(bytes32,bytes32,uint64,uint64,bytes32,bytes)(uint256) payable",
        "function submitBatchBlobs(bytes32,bytes32,uint64,uint64,bytes32)(uint256) payable",
        "function totalBondsHeld()(uint256) view",
        "function totalClaimable()(uint256) view",
        "function withdraw()() nonpayable",
    ];

    /// The same for contracts/src/DisputeGames.sol.
    const GAMES_FORGE_ABI: &[&str] = &[
        "constructor(address,address,uint256,uint256,uint64) nonpayable",
        "error BadPreState(uint256,bytes32,bytes32)",
        "error BondTooLarge(uint256)",
        "error ChallengeBondTooLow(uint256,uint256)",
        "error ClaimMatchesProposal(uint256,bytes32)",
        "error ClockExpired(uint256,uint256)",
        "error ClockNotExpired(uint256,uint256)",
        "error GameOver(uint256,uint8)",
        "error NotAtLeaf(uint256,uint64,uint64)",
        "error NotChallenger(uint256,address)",
        "error NotDefender(uint256,address)",
        "error NothingToWithdraw(address)",
        "error TransferFailed(address,uint256)",
        "error UnexpectedEther(address)",
        "error UnknownGame(uint256)",
        "error WrongBond(uint256,uint256)",
        "error WrongTurn(uint256,uint8)",
        "error ZeroAddress()",
        "error ZeroClaimedRoot()",
        "error ZeroClock()",
        "event Bisected(uint256 indexed,address indexed,uint64,bytes32,uint8,uint64)",
        "event BondCredited(address indexed,uint256)",
        "event BondWithdrawn(address indexed,uint256)",
        "event Chosen(uint256 indexed,bool,uint64,uint64,bytes32,bytes32,uint8,uint64)",
        "event DefenderSet(address indexed,address indexed)",
        "event GameOpened(uint256 indexed,uint256 indexed,address indexed,address,bytes32,bytes32,bytes32,bytes32,uint32)",
        "event GameResolved(uint256 indexed,uint256 indexed,address indexed,uint8,uint256,bool,bool)",
        "event Stepped(uint256 indexed,address indexed,uint64,bytes32,bool)",
        "function DEPTH()(uint256) view",
        "function bisect(uint256,bytes32)() payable",
        "function challengeBond()(uint256) view",
        "function choose(uint256,bool)() payable",
        "function claimable(address)(uint256) view",
        "function deadline(uint256)(uint256) view",
        "function defenderDelegate(address)(address) view",
        "function gameCount()(uint256) view",
        "function getGame(uint256)((address,uint64,uint32,address,uint64,uint8,uint8,uint8,uint64,uint64,uint64,uint64,bytes32,bytes32,bytes32,bytes32,uint128,uint128)) view",
        "function isStale(uint256)(bool) view",
        "function lockedBonds()(uint256) view",
        "function maxClockSeconds()(uint64) view",
        "function moveBond(uint256)(uint256) view",
        "function moveBondBase()(uint256) view",
        "function open(uint256,bytes32)(uint256) payable",
        "function replacementBond()(uint256) view",
        "function rollup()(address) view",
        "function setDefender(address)() nonpayable",
        "function step(uint256,bytes,bytes)() nonpayable",
        "function timeout(uint256)() nonpayable",
        "function totalBondsHeld()(uint256) view",
        "function totalClaimable()(uint256) view",
        "function verifier()(address) view",
        "function withdraw()() nonpayable",
    ];

    fn types(params: &[alloy_sol_types::private::alloy_json_abi::Param]) -> String {
        params
            .iter()
            .map(|p| p.selector_type().into_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The canonical lines of a binding's ABI, sorted as `FORGE_ABI` is.
    fn canonical(abi: &alloy_sol_types::private::alloy_json_abi::JsonAbi) -> Vec<String> {
        let mut ours = Vec::new();
        if let Some(c) = &abi.constructor {
            ours.push(format!(
                "constructor({}) {}",
                types(&c.inputs),
                c.state_mutability.as_json_str()
            ));
        }
        for f in abi.functions() {
            ours.push(format!(
                "function {}({})({}) {}",
                f.name,
                types(&f.inputs),
                types(&f.outputs),
                f.state_mutability.as_json_str()
            ));
        }
        for e in abi.events() {
            let params = e
                .inputs
                .iter()
                .map(|p| {
                    let ty = p.selector_type().into_owned();
                    if p.indexed {
                        format!("{ty} indexed")
                    } else {
                        ty
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            ours.push(format!(
                "event {}({params}){}",
                e.name,
                if e.anonymous { " anonymous" } else { "" }
            ));
        }
        for e in abi.errors() {
            ours.push(format!("error {}({})", e.name, types(&e.inputs)));
        }
        ours.sort();
        ours
    }

    #[test]
    fn bindings_match_the_compiled_contract_abi() {
        assert_eq!(canonical(&Rollup::abi::contract()), FORGE_ABI);
        assert_eq!(canonical(&DisputeGames::abi::contract()), GAMES_FORGE_ABI);
    }

    #[test]
    fn selectors_and_topics_match_forge_inspect() {
        // `forge inspect Rollup methodIdentifiers`
        assert_eq!(
            Rollup::submitBatchCall::SIGNATURE,
            "submitBatch(bytes32,bytes32,uint64,uint64,bytes32,bytes)"
        );
        assert_eq!(Rollup::submitBatchCall::SELECTOR, hex!("b23e6587"));
        assert_eq!(Rollup::submitBatchBlobsCall::SELECTOR, hex!("00559bb3"));
        assert_eq!(Rollup::replaceStateRootCall::SELECTOR, hex!("e07fe71c"));
        assert_eq!(Rollup::stageBatchDataCall::SELECTOR, hex!("1740b6ff"));
        assert_eq!(Rollup::stageBatchBlobsCall::SELECTOR, hex!("bba3cf7b"));
        assert_eq!(Rollup::discardStagedCall::SELECTOR, hex!("c2fa4879"));
        assert_eq!(Rollup::getCommitmentCall::SELECTOR, hex!("69bcdb7d"));
        assert_eq!(Rollup::pieceHashesCall::SELECTOR, hex!("87265e42"));
        // `forge inspect Rollup events`
        assert_eq!(
            Rollup::BatchSubmitted::SIGNATURE_HASH,
            b256!("73bc4bf40d2690e5c6d886c2a64903ebf97baf2c5696280aa165efd9ecfca1ae")
        );
        assert_eq!(
            Rollup::BatchPiecesStaged::SIGNATURE,
            "BatchPiecesStaged(uint256,uint256,bytes32[],uint8)"
        );
        assert_eq!(
            Rollup::BatchPiecesStaged::SIGNATURE_HASH,
            b256!("21688fa12a2fc7fc19357826e6ec4c96ba24f0be329d40b71b169fe3545348a6")
        );
        assert_eq!(
            Rollup::BatchPiecesSubmitted::SIGNATURE_HASH,
            b256!("89c656ee3b8cea01493ce7f92ffd6252aa5947dbf84c75d3766c1aab1052ee42")
        );
        assert_eq!(
            Rollup::StagedPiecesDiscarded::SIGNATURE_HASH,
            b256!("c9bf550c6d30708ea6eb70e91622dbf23121f96c5efe287f4a26e849dabe4270")
        );
        // `forge inspect Rollup errors`
        assert_eq!(Rollup::MixedDataKinds::SELECTOR, hex!("628ad678"));
        assert_eq!(Rollup::TooManyPieces::SELECTOR, hex!("040d3d97"));
        assert_eq!(Rollup::PrevStateRootMismatch::SELECTOR, hex!("5db1512d"));
        assert_eq!(Rollup::RollupCalls::SELECTORS.len(), 35);
        assert_eq!(Rollup::RollupEvents::SELECTORS.len(), 12);
        assert_eq!(Rollup::RollupErrors::SELECTORS.len(), 25);
    }

    #[test]
    fn decodes_errors_of_both_contracts() {
        let wrong_turn = DisputeGames::WrongTurn {
            gameId: U256::from(3),
            turn: DisputeGames::Turn::Step,
        }
        .abi_encode();
        let text = decode_l1_error(&wrong_turn).expect("a DisputeGames error");
        assert!(
            text.contains("WrongTurn") && text.contains("Step"),
            "{text}"
        );
        let rollup = Rollup::ZeroInputsRoot {}.abi_encode();
        assert_eq!(decode_l1_error(&rollup), decode_rollup_error(&rollup));
        assert_eq!(decode_l1_error(&hex!("deadbeef")), None);
    }

    #[test]
    fn batch_data_hash_matches_the_contract() {
        // One calldata piece 0xc0ffee: the value test_submitBatch_recordsCommitmentAndEmits
        // (contracts/test/Rollup.t.sol) checks the contract against.
        let piece = keccak256(hex!("c0ffee"));
        assert_eq!(
            batch_data_hash(&[piece]),
            b256!("5f5e9281b746d3ee778a8e8840dd054ab9227d8e383a67e10d5acf054f3b8b38")
        );
        // Three blobs (two staged, one final) committed on Anvil: the Rollup's batchDataHash.
        let blobs = [
            b256!("01e1752e88ad8f558821197235608da738a4748d471f07a8e6185ce425a45bf4"),
            b256!("013d4fbc7e1ad280f480a6d96e972b949bcf1a6e535792a883b8b5510e28eb64"),
            b256!("017f6a2bca753d02196f2dedbcfa0d64bc90eb40208e2216ba26313897d0bcbb"),
        ];
        assert_eq!(
            batch_data_hash(&blobs),
            b256!("118fd76cd9c06f496d3458d48c902b537377b08749dc21d36b6cd7095acfe602")
        );
        // The split matters: the same hashes as one piece list in another order differ.
        assert_ne!(
            batch_data_hash(&[blobs[1], blobs[0], blobs[2]]),
            batch_data_hash(&blobs)
        );
        assert_eq!(batch_data_hash(&[]), keccak256([]));
    }

    #[test]
    fn decodes_rollup_errors_readably() {
        let expected = B256::repeat_byte(0x11);
        let given = B256::repeat_byte(0x22);
        let data = Rollup::PrevStateRootMismatch { expected, given }.abi_encode();
        assert_eq!(
            decode_rollup_error(&data).unwrap(),
            format!("PrevStateRootMismatch {{ expected: {expected}, given: {given} }}")
        );
        let data = Rollup::MixedDataKinds {
            staged: DataKind::Blobs,
            given: DataKind::Calldata,
        }
        .abi_encode();
        assert_eq!(
            decode_rollup_error(&data).unwrap(),
            "MixedDataKinds { staged: Blobs, given: Calldata }"
        );
        let data = Rollup::TooManyPieces {
            pieces: U256::from(65),
            maxPieces: U256::from(64),
        }
        .abi_encode();
        assert_eq!(
            decode_rollup_error(&data).unwrap(),
            "TooManyPieces { pieces: 65, maxPieces: 64 }"
        );
        let data = Rollup::NotBatcher {
            caller: Address::repeat_byte(0xab),
        }
        .abi_encode();
        assert!(
            decode_rollup_error(&data)
                .unwrap()
                .starts_with("NotBatcher { caller: 0x")
        );
        assert_eq!(
            decode_rollup_error(&Rollup::EmptyBatchData {}.abi_encode()).unwrap(),
            "EmptyBatchData"
        );
        // Plain revert reasons and panics are readable too; anything else is not a Rollup error.
        let reason = alloy_sol_types::Revert::from("handler refuses ETH").abi_encode();
        assert_eq!(
            decode_rollup_error(&reason).unwrap(),
            "revert: handler refuses ETH"
        );
        let panic =
            alloy_sol_types::Panic::from(alloy_sol_types::PanicKind::UnderOverflow).abi_encode();
        assert_eq!(
            decode_rollup_error(&panic).unwrap(),
            "panic: arithmetic underflow or overflow (0x11)"
        );
        assert_eq!(decode_rollup_error(&hex!("deadbeef")), None);
        assert_eq!(decode_rollup_error(&[]), None);
        // A known selector with truncated data is refused, not half-decoded.
        assert_eq!(decode_rollup_error(&data[..20]), None);
    }

    #[test]
    fn calls_encode_and_events_decode() {
        let call = Rollup::submitBatchCall {
            prevStateRoot: B256::repeat_byte(1),
            postStateRoot: B256::repeat_byte(2),
            firstL2Block: 1,
            lastL2Block: 9,
            inputsRoot: B256::repeat_byte(3),
            batchData: Bytes::from_static(&[0xc0, 0xff, 0xee]),
        };
        let data = call.abi_encode();
        assert_eq!(data[..4], hex!("b23e6587"));
        assert_eq!(Rollup::submitBatchCall::abi_decode(&data).unwrap(), call);

        let event = Rollup::BatchPiecesStaged {
            commitmentIndex: U256::from(7),
            firstPiece: U256::from(2),
            pieceHashes: vec![B256::repeat_byte(3), B256::repeat_byte(4)],
            kind: DataKind::Blobs,
        };
        let log = alloy_primitives::Log {
            address: Address::ZERO,
            data: event.encode_log_data(),
        };
        assert_eq!(log.topics()[1], B256::from(U256::from(7)));
        let decoded = Rollup::BatchPiecesStaged::decode_log(&log).unwrap();
        assert_eq!(decoded.data, event);
        match Rollup::RollupEvents::decode_log(&log).unwrap().data {
            Rollup::RollupEvents::BatchPiecesStaged(e) => assert_eq!(e.kind, DataKind::Blobs),
            other => panic!("unexpected event {other:?}"),
        }
    }
}
