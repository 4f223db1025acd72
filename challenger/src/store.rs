//! The challenger's progress in its own sqlx tables (SQLite or Postgres): the verdict on
//! every commitment it checked and every dispute game it plays. L1 stays the authority on
//! games (a restart re-reads each game from the contract); these rows let a restarted
//! challenger find its games at once, never open a second game for a commitment it already
//! disputes, and show an operator what it did.

use crate::play::Role;
use alloy_primitives::B256;
#[cfg(test)]
use rollup_batcher::store::TestSchema;
use rollup_batcher::store::{StoreError, open_pool};
use serde::Serialize;
use sqlx::{AnyPool, Row};

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// How a game we play stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GameStatus {
    /// Still being played.
    InProgress,
    /// Our side won.
    Won,
    /// Our side lost.
    Lost,
}

impl GameStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(Self::InProgress),
            "won" => Some(Self::Won),
            "lost" => Some(Self::Lost),
            _ => None,
        }
    }
}

fn role_str(role: Role) -> &'static str {
    match role {
        Role::Challenger => "challenger",
        Role::Defender => "defender",
    }
}

/// One game we play, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GameRow {
    /// Game id in the DisputeGames contract.
    pub game_id: u64,
    /// The disputed commitment.
    pub commitment_index: u64,
    /// Our side.
    pub role: Role,
    /// The root under dispute (the proposer's claim).
    pub disputed_root: B256,
    /// The challenger's alternative root.
    pub claimed_root: B256,
    /// How it stands.
    pub status: GameStatus,
    /// Agreed step index.
    pub lo: u64,
    /// Disputed step index.
    pub hi: u64,
    /// Moves we made.
    pub moves: u64,
    /// Our last action.
    pub last_action: Option<String>,
    /// The L1 transaction of our last action.
    pub last_tx_hash: Option<B256>,
}

/// One checked commitment, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentRow {
    /// Commitment index.
    pub index: u64,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// L1 block of the submission.
    pub l1_block: u64,
    /// The proposer's root.
    pub claimed_root: B256,
    /// Verdict word (`correct`, `wrong_root`, ...).
    pub verdict: String,
    /// The root our derivation gives, when it gives one.
    pub derived_root: Option<B256>,
    /// Details of a problem.
    pub detail: Option<String>,
}

/// The challenger's tables.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
}

fn corrupt(table: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn hash(table: &'static str, text: &str) -> StoreResult<B256> {
    text.parse().map_err(|_| corrupt(table, text))
}

impl Store {
    /// Connects and migrates. `sqlite://path` (created if missing) or `postgres://…`; the
    /// challenger needs a database (or Postgres schema) of its own.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = open_pool(
            url,
            &sqlx::migrate!("../migrations/challenger/sqlite"),
            &sqlx::migrate!("../migrations/challenger/postgres"),
        )
        .await?;
        Ok(Self { pool })
    }

    /// Records (or overwrites) the verdict on a commitment.
    pub async fn record_commitment(&self, row: &CommitmentRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO challenger_commitments (commitment_index, first_block, last_block, \
             l1_block, claimed_root, verdict, derived_root, detail, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (commitment_index) DO UPDATE SET first_block = excluded.first_block, \
             last_block = excluded.last_block, l1_block = excluded.l1_block, \
             claimed_root = excluded.claimed_root, verdict = excluded.verdict, \
             derived_root = excluded.derived_root, detail = excluded.detail, \
             checked_at = excluded.checked_at",
        )
        .bind(row.index as i64)
        .bind(row.first_block as i64)
        .bind(row.last_block as i64)
        .bind(row.l1_block as i64)
        .bind(row.claimed_root.to_string())
        .bind(row.verdict.as_str())
        .bind(row.derived_root.map(|r| r.to_string()))
        .bind(row.detail.as_deref())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored verdict on commitment `index`.
    pub async fn commitment(&self, index: u64) -> StoreResult<Option<CommitmentRow>> {
        let table = "challenger_commitments";
        let Some(row) = sqlx::query(
            "SELECT commitment_index, first_block, last_block, l1_block, claimed_root, verdict, \
             derived_root, detail FROM challenger_commitments WHERE commitment_index = $1",
        )
        .bind(index as i64)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let claimed: String = row.try_get("claimed_root")?;
        let derived: Option<String> = row.try_get("derived_root")?;
        Ok(Some(CommitmentRow {
            index: row.try_get::<i64, _>("commitment_index")? as u64,
            first_block: row.try_get::<i64, _>("first_block")? as u64,
            last_block: row.try_get::<i64, _>("last_block")? as u64,
            l1_block: row.try_get::<i64, _>("l1_block")? as u64,
            claimed_root: hash(table, &claimed)?,
            verdict: row.try_get("verdict")?,
            derived_root: derived.map(|d| hash(table, &d)).transpose()?,
            detail: row.try_get("detail")?,
        }))
    }

    /// Records a game we joined (or its new position and status).
    pub async fn upsert_game(&self, game: &GameRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO challenger_games (game_id, commitment_index, role, disputed_root, \
             claimed_root, status, lo, hi, moves, last_action, last_tx_hash, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (game_id) DO UPDATE SET status = excluded.status, lo = excluded.lo, \
             hi = excluded.hi, moves = excluded.moves, last_action = excluded.last_action, \
             last_tx_hash = excluded.last_tx_hash, updated_at = excluded.updated_at",
        )
        .bind(game.game_id as i64)
        .bind(game.commitment_index as i64)
        .bind(role_str(game.role))
        .bind(game.disputed_root.to_string())
        .bind(game.claimed_root.to_string())
        .bind(game.status.as_str())
        .bind(game.lo as i64)
        .bind(game.hi as i64)
        .bind(game.moves as i64)
        .bind(game.last_action.as_deref())
        .bind(game.last_tx_hash.map(|h| h.to_string()))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every game we play or played, by id.
    pub async fn games(&self) -> StoreResult<Vec<GameRow>> {
        let table = "challenger_games";
        let rows = sqlx::query(
            "SELECT game_id, commitment_index, role, disputed_root, claimed_root, status, lo, hi, \
             moves, last_action, last_tx_hash FROM challenger_games ORDER BY game_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                let status: String = row.try_get("status")?;
                let disputed: String = row.try_get("disputed_root")?;
                let claimed: String = row.try_get("claimed_root")?;
                let tx: Option<String> = row.try_get("last_tx_hash")?;
                Ok(GameRow {
                    game_id: row.try_get::<i64, _>("game_id")? as u64,
                    commitment_index: row.try_get::<i64, _>("commitment_index")? as u64,
                    role: match role.as_str() {
                        "challenger" => Role::Challenger,
                        "defender" => Role::Defender,
                        other => return Err(corrupt(table, format!("role {other}"))),
                    },
                    disputed_root: hash(table, &disputed)?,
                    claimed_root: hash(table, &claimed)?,
                    status: GameStatus::parse(&status)
                        .ok_or_else(|| corrupt(table, format!("status {status}")))?,
                    lo: row.try_get::<i64, _>("lo")? as u64,
                    hi: row.try_get::<i64, _>("hi")? as u64,
                    moves: row.try_get::<i64, _>("moves")? as u64,
                    last_action: row.try_get("last_action")?,
                    last_tx_hash: tx.map(|t| hash(table, &t)).transpose()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(store: Store) {
        let commitment = CommitmentRow {
            index: 3,
            first_block: 10,
            last_block: 20,
            l1_block: 99,
            claimed_root: B256::repeat_byte(1),
            verdict: "wrong_root".into(),
            derived_root: Some(B256::repeat_byte(2)),
            detail: None,
        };
        store.record_commitment(&commitment).await.unwrap();
        store.record_commitment(&commitment).await.unwrap();
        assert_eq!(store.commitment(3).await.unwrap(), Some(commitment));
        assert_eq!(store.commitment(4).await.unwrap(), None);

        let mut game = GameRow {
            game_id: 7,
            commitment_index: 3,
            role: Role::Challenger,
            disputed_root: B256::repeat_byte(1),
            claimed_root: B256::repeat_byte(2),
            status: GameStatus::InProgress,
            lo: 0,
            hi: 1 << 40,
            moves: 0,
            last_action: None,
            last_tx_hash: None,
        };
        store.upsert_game(&game).await.unwrap();
        game.lo = 1 << 39;
        game.moves = 1;
        game.status = GameStatus::Won;
        game.last_action = Some("choose agree".into());
        game.last_tx_hash = Some(B256::repeat_byte(9));
        store.upsert_game(&game).await.unwrap();
        assert_eq!(store.games().await.unwrap(), vec![game]);
    }

    #[tokio::test]
    async fn sqlite_keeps_commitments_and_games() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        round_trip(Store::connect(&url).await.unwrap()).await;
        // Reopening migrates nothing twice and keeps the rows.
        let again = Store::connect(&url).await.unwrap();
        assert_eq!(again.games().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn postgres_keeps_commitments_and_games() {
        let Some(schema) = TestSchema::create("challenger_t").await else {
            return;
        };
        round_trip(Store::connect(&schema.url).await.unwrap()).await;
        schema.drop().await;
    }
}
