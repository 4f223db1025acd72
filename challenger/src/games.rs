//! Plays the dispute games: opens a game on every commitment whose root our derivation shows
//! wrong, answers every move of the games we are in (as challenger, or as defender of a
//! correct root when this key is the proposer or its delegate), proves the final step, claims
//! timeouts, and records everything in the store. L1 is the authority: each round re-reads
//! every unresolved game from the contract, so a restart (even after `kill -9`) simply goes
//! on from what L1 shows.

use crate::{
    play::{Action, Position, Role, TraceOracle, Turn, decide},
    store::{GameRow, GameStatus, Store},
    watcher::{DisputeCases, Verdict},
};
use alloy::{
    providers::{Provider, RootProvider},
    signers::local::PrivateKeySigner,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolCall;
use parking_lot::RwLock;
use rollup_batcher::{
    rollup_view::{ViewError, call_view},
    txmgr::{TxCandidate, TxManager, TxManagerConfig, TxManagerError},
};
use rollup_core::{
    fault::trace::Trace,
    l1::{DisputeGames, Rollup, decode_l1_error},
};
use serde::Serialize;
use std::{collections::BTreeMap, sync::Arc};

/// Game-player failures.
#[derive(Debug, thiserror::Error)]
pub enum GamesError {
    /// A view call failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// Sending a move failed.
    #[error(transparent)]
    Tx(#[from] TxManagerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] rollup_batcher::store::StoreError),
    /// An L1 read failed.
    #[error("L1 {what}: {detail}")]
    L1 {
        /// What was read.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

/// One game as the status endpoint shows it.
#[derive(Clone, Debug, Serialize)]
pub struct GameInfo {
    /// Game id.
    pub game_id: u64,
    /// Disputed commitment.
    pub commitment_index: u64,
    /// Our side.
    pub role: Role,
    /// `in_progress`, `won` or `lost`.
    pub status: GameStatus,
    /// Agreed step index.
    pub lo: u64,
    /// Disputed step index.
    pub hi: u64,
    /// Whose move: `defender`, `challenger` or `step`.
    pub turn: &'static str,
    /// Seconds left to the side to move.
    pub mover_clock_left: u64,
    /// Bonds our side holds in the game (wei).
    pub our_bonds: U256,
    /// Moves we made.
    pub moves: u64,
}

/// A trace seen through [`TraceOracle`]; a query the trace cannot answer falls back to the
/// zero hash, which never matches an honest hash (so we never agree by accident).
struct Oracle<'a>(&'a Trace);

impl TraceOracle for Oracle<'_> {
    fn state_hash_at(&self, k: u64) -> B256 {
        self.0.state_hash_at(k)
    }
    fn witness_at(&self, k: u64) -> (Bytes, Bytes) {
        self.0.witness_at(k).unwrap_or_default()
    }
}

/// Reads games and sends moves for one L1 account.
pub struct GameClient {
    provider: RootProvider,
    txmgr: TxManager,
    games: Address,
    rollup: Address,
}

impl std::fmt::Debug for GameClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameClient")
            .field("games", &self.games)
            .field("player", &self.txmgr.address())
            .finish_non_exhaustive()
    }
}

impl GameClient {
    /// A client of the DisputeGames contract at `games` playing with `signer`.
    pub async fn connect(
        l1_rpc_url: &str,
        games: Address,
        signer: PrivateKeySigner,
    ) -> Result<Self, GamesError> {
        let url = l1_rpc_url.parse().map_err(|_| GamesError::L1 {
            what: "URL",
            detail: l1_rpc_url.to_string(),
        })?;
        let provider = RootProvider::<alloy::network::Ethereum>::new_http(url);
        let chain_id = provider.get_chain_id().await.map_err(|e| GamesError::L1 {
            what: "chain id",
            detail: e.to_string(),
        })?;
        let txmgr = TxManager::connect(l1_rpc_url, signer, chain_id, TxManagerConfig::default())?;
        let rollup = call_view(&provider, games, DisputeGames::rollupCall {}).await?;
        Ok(Self {
            provider,
            txmgr,
            games,
            rollup,
        })
    }

    /// The player's address.
    pub fn address(&self) -> Address {
        self.txmgr.address()
    }

    /// The Rollup contract the games dispute.
    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// Number of games ever opened.
    pub async fn game_count(&self) -> Result<u64, GamesError> {
        Ok(
            call_view(&self.provider, self.games, DisputeGames::gameCountCall {})
                .await?
                .to::<u64>(),
        )
    }

    /// Game `id` as the contract holds it.
    pub async fn game(&self, id: u64) -> Result<DisputeGames::Game, GamesError> {
        Ok(call_view(
            &self.provider,
            self.games,
            DisputeGames::getGameCall {
                gameId: U256::from(id),
            },
        )
        .await?)
    }

    /// Commitment `index` of the Rollup.
    pub async fn commitment(&self, index: u64) -> Result<Rollup::Commitment, GamesError> {
        Ok(call_view(
            &self.provider,
            self.rollup,
            Rollup::getCommitmentCall {
                index: U256::from(index),
            },
        )
        .await?)
    }

    /// Timestamp of the latest L1 block (the clocks' time).
    pub async fn now(&self) -> Result<u64, GamesError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| GamesError::L1 {
                what: "latest block",
                detail: e.to_string(),
            })?
            .ok_or(GamesError::L1 {
                what: "latest block",
                detail: "none".into(),
            })?;
        Ok(block.header.timestamp)
    }

    /// The position of `game` at L1 time `now`.
    pub async fn position(&self, game: &DisputeGames::Game, now: u64) -> Position {
        let turn = match game.turn {
            DisputeGames::Turn::Defender => Turn::Defender,
            DisputeGames::Turn::Challenger => Turn::Challenger,
            _ => Turn::Step,
        };
        let clock = if turn == Turn::Defender {
            game.defenderClock
        } else {
            game.challengerClock
        };
        let deadline = game.lastMoveAt + clock;
        Position {
            lo: game.lo,
            hi: game.hi,
            mid_hash: (turn == Turn::Challenger).then_some(game.midHash),
            turn,
            mover_clock_left: deadline.saturating_sub(now),
            resolved: game.status != DisputeGames::GameStatus::InProgress,
        }
    }

    /// Whether this account may play the defender's side of `game`.
    pub async fn defends(&self, game: &DisputeGames::Game) -> Result<bool, GamesError> {
        if game.defender == self.address() {
            return Ok(true);
        }
        let delegate = call_view(
            &self.provider,
            self.games,
            DisputeGames::defenderDelegateCall {
                proposer: game.defender,
            },
        )
        .await?;
        Ok(delegate == self.address())
    }

    /// Opens a game against commitment `index` claiming `root`; returns the game id.
    pub async fn open(&self, index: u64, root: B256) -> Result<u64, GamesError> {
        let bond = call_view(
            &self.provider,
            self.games,
            DisputeGames::challengeBondCall {},
        )
        .await?;
        let receipt = self
            .send(
                DisputeGames::openCall {
                    commitmentIndex: U256::from(index),
                    claimedRoot: root,
                },
                bond,
            )
            .await?;
        receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| {
                <DisputeGames::GameOpened as alloy_sol_types::SolEvent>::decode_log(&log.inner)
                    .ok()
                    .map(|e| e.gameId.to::<u64>())
            })
            .ok_or(GamesError::L1 {
                what: "open receipt",
                detail: "no GameOpened log".into(),
            })
    }

    /// Sends `action` in game `id` (whose current depth is `depth`); returns its L1 tx hash.
    pub async fn act(&self, id: u64, depth: u8, action: &Action) -> Result<B256, GamesError> {
        let game_id = U256::from(id);
        let move_bond = || async {
            call_view(
                &self.provider,
                self.games,
                DisputeGames::moveBondCall {
                    depth: U256::from(depth),
                },
            )
            .await
        };
        let receipt = match action {
            Action::Wait => {
                return Err(GamesError::L1 {
                    what: "move",
                    detail: "nothing to send".into(),
                });
            }
            Action::Bisect { hash } => {
                self.send(
                    DisputeGames::bisectCall {
                        gameId: game_id,
                        midHash: *hash,
                    },
                    move_bond().await?,
                )
                .await?
            }
            Action::Choose { agree } => {
                self.send(
                    DisputeGames::chooseCall {
                        gameId: game_id,
                        agree: *agree,
                    },
                    move_bond().await?,
                )
                .await?
            }
            Action::Step {
                pre_state, proof, ..
            } => {
                self.send(
                    DisputeGames::stepCall {
                        gameId: game_id,
                        preState: pre_state.clone(),
                        proof: proof.clone(),
                    },
                    U256::ZERO,
                )
                .await?
            }
            Action::ClaimTimeout => {
                self.send(DisputeGames::timeoutCall { gameId: game_id }, U256::ZERO)
                    .await?
            }
        };
        Ok(receipt.transaction_hash)
    }

    /// Pulls credited payouts (a no-op when nothing is owed).
    pub async fn withdraw_credits(&self) -> Result<(), GamesError> {
        let owed = call_view(
            &self.provider,
            self.games,
            DisputeGames::claimableCall {
                account: self.address(),
            },
        )
        .await?;
        if owed > U256::ZERO {
            self.send(DisputeGames::withdrawCall {}, U256::ZERO).await?;
        }
        Ok(())
    }

    async fn send<C: SolCall>(
        &self,
        call: C,
        value: U256,
    ) -> Result<alloy::rpc::types::TransactionReceipt, GamesError> {
        let candidate = TxCandidate {
            to: self.games,
            input: Bytes::from(call.abi_encode()),
            value,
            gas_limit: None,
            blobs: None,
        };
        match self.txmgr.send_and_wait(candidate, |_| {}).await {
            Ok(receipt) => Ok(receipt),
            Err(error) => {
                // A stale nonce (another process used this key, or a restart) must not stick.
                self.txmgr.reset_nonce().await;
                Err(error.into())
            }
        }
    }
}

/// Plays every game this account is part of.
#[derive(Debug)]
pub struct GamePlayer {
    client: GameClient,
    store: Store,
    cases: DisputeCases,
    /// Games seen resolved (never read again).
    done: std::collections::BTreeSet<u64>,
    /// The status the endpoint serves.
    status: Arc<RwLock<BTreeMap<u64, GameInfo>>>,
}

impl GamePlayer {
    /// A player over `client`, with the watcher's dispute cases, recording in `store`.
    pub async fn new(
        client: GameClient,
        store: Store,
        cases: DisputeCases,
    ) -> Result<Self, GamesError> {
        let mut done = std::collections::BTreeSet::new();
        for row in store.games().await? {
            if row.status != GameStatus::InProgress {
                done.insert(row.game_id);
            }
        }
        Ok(Self {
            client,
            store,
            cases,
            done,
            status: Arc::default(),
        })
    }

    /// The games as the status endpoint shows them.
    pub fn status(&self) -> Arc<RwLock<BTreeMap<u64, GameInfo>>> {
        self.status.clone()
    }

    /// The client.
    pub fn client(&self) -> &GameClient {
        &self.client
    }

    /// Opens a game on every commitment in `verdicts` that is wrong, still in its challenge
    /// window and not already disputed by us, then makes every move due in our games.
    /// Returns the number of L1 transactions sent.
    pub async fn round(&mut self, wrong: &[(u64, Verdict)]) -> Result<usize, GamesError> {
        let mut sent = 0;
        let now = self.client.now().await?;
        let known: BTreeMap<u64, GameRow> = self
            .store
            .games()
            .await?
            .into_iter()
            .map(|row| (row.game_id, row))
            .collect();
        // Games first: what L1 shows is the truth about which claims we already dispute (a
        // game opened just before a crash has no row yet, but it is on L1).
        let mut disputing = std::collections::BTreeSet::new();
        let count = self.client.game_count().await?;
        for id in 0..count {
            if self.done.contains(&id) {
                continue;
            }
            let (moves, ours) = self.play(id, now, known.get(&id)).await?;
            sent += moves;
            disputing.extend(ours);
        }
        for (index, verdict) in wrong {
            let Verdict::WrongRoot { derived } = verdict else {
                continue;
            };
            let commitment = self.client.commitment(*index).await?;
            let open = matches!(
                commitment.status,
                Rollup::Status::Pending | Rollup::Status::Challenged
            );
            if !open
                || commitment.postStateRoot == *derived
                || disputing.contains(&(*index, commitment.replacements))
            {
                continue;
            }
            match self.client.open(*index, *derived).await {
                Ok(game_id) => {
                    sent += 1;
                    tracing::warn!(
                        game_id,
                        commitment = index,
                        disputed = %commitment.postStateRoot,
                        claimed = %derived,
                        "opened a dispute game against a wrong state root"
                    );
                    self.store
                        .upsert_game(&GameRow {
                            game_id,
                            commitment_index: *index,
                            role: Role::Challenger,
                            disputed_root: commitment.postStateRoot,
                            claimed_root: *derived,
                            status: GameStatus::InProgress,
                            lo: 0,
                            hi: rollup_core::fault::trace::LAST_INDEX,
                            moves: 0,
                            last_action: Some("open".into()),
                            last_tx_hash: None,
                        })
                        .await?;
                }
                Err(GamesError::Tx(TxManagerError::WouldRevert {
                    message,
                    revert_data,
                })) => {
                    let reason = revert_reason(&message, revert_data.as_ref().map(|d| d.as_ref()));
                    tracing::warn!(commitment = index, %reason, "cannot open a game");
                }
                Err(error) => return Err(error),
            }
        }
        if sent > 0 {
            self.client.withdraw_credits().await?;
        }
        Ok(sent)
    }

    /// Looks at game `id` and makes our move if one is due. Returns the transactions sent and,
    /// for a game we play as challenger that is still in progress, the claim it disputes
    /// (commitment index and its `replacements`).
    async fn play(
        &mut self,
        id: u64,
        now: u64,
        row: Option<&GameRow>,
    ) -> Result<(usize, Option<(u64, u32)>), GamesError> {
        let game = self.client.game(id).await?;
        let index = game.commitmentIndex;
        let sent = self.play_game(id, &game, now, row).await?;
        let disputes = (game.challenger == self.client.address()
            && game.status == DisputeGames::GameStatus::InProgress)
            .then_some((index, game.replacements));
        Ok((sent, disputes))
    }

    async fn play_game(
        &mut self,
        id: u64,
        game: &DisputeGames::Game,
        now: u64,
        row: Option<&GameRow>,
    ) -> Result<usize, GamesError> {
        let index = game.commitmentIndex;
        let role = if game.challenger == self.client.address() {
            Some(Role::Challenger)
        } else if self.client.defends(game).await? {
            Some(Role::Defender)
        } else {
            None
        };
        let Some(role) = role else {
            if game.status != DisputeGames::GameStatus::InProgress {
                self.done.insert(id);
            }
            return Ok(0);
        };
        let position = self.client.position(game, now).await;
        let mut row = match row {
            Some(row) => row.clone(),
            None => GameRow {
                game_id: id,
                commitment_index: index,
                role,
                disputed_root: self.client.commitment(index).await?.postStateRoot,
                claimed_root: game.claimedRoot,
                status: GameStatus::InProgress,
                lo: game.lo,
                hi: game.hi,
                moves: 0,
                last_action: None,
                last_tx_hash: None,
            },
        };
        row.lo = game.lo;
        row.hi = game.hi;
        if position.resolved {
            let challenger_won = game.status == DisputeGames::GameStatus::ChallengerWon;
            row.status = if challenger_won == (role == Role::Challenger) {
                GameStatus::Won
            } else {
                GameStatus::Lost
            };
            tracing::info!(game_id = id, commitment = index, ?role, status = ?row.status, "game over");
            self.store.upsert_game(&row).await?;
            self.show(&row, game, &position);
            self.done.insert(id);
            return Ok(0);
        }
        let case = self.cases.read().get(&index).cloned();
        let Some(case) = case else {
            tracing::warn!(
                game_id = id,
                commitment = index,
                "no derived trace for this game's commitment yet"
            );
            self.store.upsert_game(&row).await?;
            self.show(&row, game, &position);
            return Ok(0);
        };
        if role == Role::Defender && case.derived_root != row.disputed_root {
            // Not ours to defend: the claim is wrong (our challenger side disputes it).
            self.show(&row, game, &position);
            return Ok(0);
        }
        let trace = match case.trace() {
            Ok(trace) => trace,
            Err(error) => {
                tracing::error!(game_id = id, %error, "cannot build the trace; not playing");
                return Ok(0);
            }
        };
        let action = decide(&position, role, &Oracle(&trace));
        if action == Action::Wait {
            self.store.upsert_game(&row).await?;
            self.show(&row, game, &position);
            return Ok(0);
        }
        let label = match &action {
            Action::Bisect { hash } => format!("bisect {hash}"),
            Action::Choose { agree } => format!("choose agree={agree}"),
            Action::Step { at, .. } => format!("step {at}"),
            Action::ClaimTimeout => "timeout".into(),
            Action::Wait => unreachable!(),
        };
        match self.client.act(id, game.depth, &action).await {
            Ok(tx) => {
                tracing::info!(game_id = id, commitment = index, ?role, lo = game.lo, hi = game.hi, action = %label, %tx, "move");
                row.moves += 1;
                row.last_action = Some(label);
                row.last_tx_hash = Some(tx);
                self.store.upsert_game(&row).await?;
                self.show(&row, game, &position);
                Ok(1)
            }
            Err(GamesError::Tx(TxManagerError::WouldRevert {
                message,
                revert_data,
            })) => {
                // The game moved on meanwhile (or the clock ran out): next round re-reads it.
                let reason = revert_reason(&message, revert_data.as_ref().map(|d| d.as_ref()));
                tracing::warn!(game_id = id, action = %label, %reason, "move refused");
                Ok(0)
            }
            Err(error) => Err(error),
        }
    }

    fn show(&self, row: &GameRow, game: &DisputeGames::Game, position: &Position) {
        let our_bonds = match row.role {
            Role::Challenger => U256::from(game.challengerBonds),
            Role::Defender => U256::from(game.defenderBonds),
        };
        self.status.write().insert(
            row.game_id,
            GameInfo {
                game_id: row.game_id,
                commitment_index: row.commitment_index,
                role: row.role,
                status: row.status,
                lo: game.lo,
                hi: game.hi,
                turn: match position.turn {
                    Turn::Defender => "defender",
                    Turn::Challenger => "challenger",
                    Turn::Step => "step",
                },
                mover_clock_left: position.mover_clock_left,
                our_bonds,
                moves: row.moves,
            },
        );
    }
}

/// The custom error a refused call names, or the node's message.
fn revert_reason(message: &str, data: Option<&[u8]>) -> String {
    data.and_then(decode_l1_error)
        .unwrap_or_else(|| message.to_string())
}
