//! The challenger's main loop: each round the watcher checks the new commitments, their
//! verdicts go to the store, and the game player opens games on wrong roots and moves in every
//! game it is part of. Without a game contract and key it only watches.

use crate::{
    games::{GamePlayer, GamesError},
    store::{CommitmentRow, Store},
    watcher::{CheckedCommitment, Status, Verdict, WatchError, Watcher},
};
use parking_lot::RwLock;
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Failures of a round.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Watching failed.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// Playing failed.
    #[error(transparent)]
    Games(#[from] GamesError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] rollup_batcher::store::StoreError),
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Commitments checked this round.
    pub checked: usize,
    /// L1 transactions sent in games.
    pub moves: usize,
}

/// Watcher, store and (optionally) game player, run together.
#[derive(Debug)]
pub struct Challenger {
    watcher: Watcher,
    player: Option<GamePlayer>,
    store: Store,
    poll: Duration,
    /// Every commitment found wrong, until its claim is settled.
    wrong: BTreeMap<u64, Verdict>,
}

impl Challenger {
    /// A challenger that watches with `watcher`, records in `store` and plays with `player`.
    pub fn new(watcher: Watcher, player: Option<GamePlayer>, store: Store, poll: Duration) -> Self {
        Self {
            watcher,
            player,
            store,
            poll,
            wrong: BTreeMap::new(),
        }
    }

    /// The status the endpoint serves.
    pub fn status(&self) -> Arc<RwLock<Status>> {
        self.watcher.status()
    }

    /// The watcher.
    pub fn watcher(&self) -> &Watcher {
        &self.watcher
    }

    /// The game player, when games are played.
    pub fn player(&self) -> Option<&GamePlayer> {
        self.player.as_ref()
    }

    /// Checks new commitments, records them, and plays.
    pub async fn round(&mut self) -> Result<Round, ServiceError> {
        let checked = self.watcher.check_new().await?;
        for c in &checked {
            self.store.record_commitment(&row_of(c)).await?;
            if matches!(c.verdict, Verdict::WrongRoot { .. }) {
                self.wrong.insert(c.index, c.verdict.clone());
            }
        }
        let mut moves = 0;
        if let Some(player) = &mut self.player {
            let wrong: Vec<_> = self.wrong.iter().map(|(i, v)| (*i, v.clone())).collect();
            moves = player.round(&wrong).await?;
            let games = player.status().read().values().cloned().collect();
            self.watcher.status().write().games = games;
        }
        Ok(Round {
            checked: checked.len(),
            moves,
        })
    }

    /// Runs rounds until `cancel`; errors are logged and retried next round. A round that
    /// moved goes again at once (the opponent may already have answered).
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            let pause = match self.round().await {
                Ok(round) if round.moves > 0 => Duration::ZERO,
                Ok(_) => self.poll,
                Err(error) => {
                    tracing::warn!(%error, "challenger round failed; retrying");
                    self.watcher.status().write().last_error = Some(error.to_string());
                    self.poll
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

fn row_of(c: &CheckedCommitment) -> CommitmentRow {
    let (derived_root, detail) = match &c.verdict {
        Verdict::Correct => (Some(c.claimed_root), None),
        Verdict::WrongRoot { derived } | Verdict::WrongPrevRoot { derived } => {
            (Some(*derived), None)
        }
        Verdict::Underivable { reason } => (None, Some(reason.clone())),
        Verdict::InputsMismatch {
            derived,
            derived_root,
        } => (
            Some(*derived_root),
            Some(format!("inputs root of the batch data: {derived}")),
        ),
    };
    CommitmentRow {
        index: c.index,
        first_block: c.first_block,
        last_block: c.last_block,
        l1_block: c.l1_block,
        claimed_root: c.claimed_root,
        verdict: c.verdict.word().to_string(),
        derived_root,
        detail,
    }
}
