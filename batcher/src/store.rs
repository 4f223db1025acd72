//! The batcher's progress in its own sqlx tables (SQLite or Postgres): every
//! batch it built, the L1 transactions that carry it, and how far each is
//! confirmed. L1 (the Rollup contract) stays the authority on what is posted;
//! these rows are what lets a restarted batcher rebroadcast what it had signed
//! and let an operator see which block went out in which L1 transaction.

use alloy_primitives::{B256, Bytes};
use sqlx::{
    AnyPool, Row,
    any::{AnyConnectOptions, AnyPoolOptions},
};
use std::str::FromStr;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Database error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migration error.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
}

type StoreResult<T> = Result<T, StoreError>;

/// Where a batch is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchStatus {
    /// Built; its L1 transactions are being sent.
    Sending,
    /// Its commitment is on L1 (at `l1_block`), not yet final.
    Included,
    /// Deep enough on L1 (the configured confirmations).
    Final,
    /// An L1 reorg removed it; its blocks were or will be posted again.
    Dropped,
    /// Sending failed for good (for example the contract refused it); see `error`.
    Failed,
}

impl BatchStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Included => "included",
            Self::Final => "final",
            Self::Dropped => "dropped",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sending" => Self::Sending,
            "included" => Self::Included,
            "final" => Self::Final,
            "dropped" => Self::Dropped,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A batch about to be posted.
#[derive(Clone, Debug)]
pub struct NewBatch {
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Transactions in it.
    pub tx_count: u64,
    /// State root before the first block.
    pub prev_state_root: B256,
    /// State root after the last block (the claim).
    pub post_state_root: B256,
    /// Hash chain over the batch's inputs, posted with it (docs/fault-proof.md section 2).
    pub inputs_root: B256,
    /// "calldata" or "blobs".
    pub data_kind: &'static str,
    /// Encoded batch size.
    pub data_bytes: u64,
    /// Pieces (L1 transactions' worth of data).
    pub pieces: u64,
}

/// A stored batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRow {
    /// Row id.
    pub id: i64,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Transactions in it.
    pub tx_count: u64,
    /// Claimed post-state root.
    pub post_state_root: B256,
    /// Status.
    pub status: BatchStatus,
    /// Index of its commitment in the Rollup contract, once included.
    pub commitment_index: Option<u64>,
    /// The L1 transaction that recorded the commitment.
    pub l1_tx_hash: Option<B256>,
    /// The L1 block of that transaction.
    pub l1_block: Option<u64>,
    /// Confirmations at the last check.
    pub confirmations: u64,
}

/// A signed L1 transaction of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1TxRow {
    /// Its hash.
    pub hash: B256,
    /// The batch it belongs to.
    pub batch_id: i64,
    /// stage, submit or discard.
    pub purpose: String,
    /// Its nonce.
    pub nonce: u64,
    /// The signed bytes.
    pub raw: Bytes,
}

/// The batcher's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
}

/// Opens a pool on `url` (`sqlite://path`, created if missing, in WAL mode with full sync; or
/// `postgres://…`) and runs the service's migrations for that backend. Shared by the services
/// that keep their progress in their own tables.
pub async fn open_pool(
    url: &str,
    sqlite: &sqlx::migrate::Migrator,
    postgres_migrations: &sqlx::migrate::Migrator,
) -> StoreResult<AnyPool> {
    sqlx::any::install_default_drivers();
    let postgres = url.starts_with("postgres");
    let url = if !postgres && !url.contains("mode=") {
        format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
    } else {
        url.to_string()
    };
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        // A store that is down fails a round in seconds, not sqlx's 30 s.
        .acquire_timeout(std::time::Duration::from_secs(5))
        // A connection still inside a transaction when it comes back is not reused (SQLite
        // rolls back by itself on a full disk; see the sequencer's store).
        .after_release(|conn, _| {
            Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if !postgres {
                    for pragma in [
                        "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=FULL",
                        "PRAGMA busy_timeout=10000",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                Ok(())
            })
        })
        .connect_with(AnyConnectOptions::from_str(&url)?)
        .await?;
    if postgres {
        postgres_migrations.run(&pool).await?;
    } else {
        sqlite.run(&pool).await?;
    }
    Ok(pool)
}

/// A throw-away Postgres schema for tests of the services' stores: created on the local
/// Postgres (`ROLLUP_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`);
/// `None` (and a SKIPPED line) when Postgres is unreachable, unless `ROLLUP_REQUIRE_POSTGRES`
/// is set, which makes that a failure.
#[derive(Debug)]
pub struct TestSchema {
    /// URL whose connections use the schema.
    pub url: String,
    schema: String,
    conn: sqlx::postgres::PgConnection,
}

impl TestSchema {
    /// Creates `<prefix>_<pid>` afresh.
    pub async fn create(prefix: &str) -> Option<Self> {
        use sqlx::Connection;
        let admin = std::env::var("ROLLUP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = match sqlx::postgres::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) => {
                assert!(
                    std::env::var("ROLLUP_REQUIRE_POSTGRES").is_err(),
                    "Postgres at {admin} unreachable: {e}"
                );
                eprintln!("SKIPPED (Postgres variant): {admin}: {e}");
                return None;
            }
        };
        let schema = format!("{prefix}_{}", std::process::id());
        for statement in [
            format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            format!("CREATE SCHEMA {schema}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .expect("schema");
        }
        let sep = if admin.contains('?') { '&' } else { '?' };
        Some(Self {
            url: format!("{admin}{sep}options=-c%20search_path%3D{schema}"),
            schema,
            conn,
        })
    }

    /// Drops the schema.
    pub async fn drop(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&mut self.conn)
        .await
        .expect("drop schema");
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn corrupt(table: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

impl Store {
    /// Connects and migrates. `sqlite://path` (created if missing) or `postgres://…`.
    /// The batcher needs a database (or Postgres schema) of its own.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = open_pool(
            url,
            &sqlx::migrate!("../migrations/batcher/sqlite"),
            &sqlx::migrate!("../migrations/batcher/postgres"),
        )
        .await?;
        Ok(Self { pool })
    }

    /// Records a batch in `sending` state; returns its id.
    pub async fn insert_batch(&self, batch: &NewBatch) -> StoreResult<i64> {
        let t = now();
        let row = sqlx::query(
            "INSERT INTO batcher_batches (first_block, last_block, tx_count, prev_state_root, \
             post_state_root, inputs_root, data_kind, data_bytes, pieces, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'sending', $10, $11) \
             RETURNING id",
        )
        .bind(batch.first_block as i64)
        .bind(batch.last_block as i64)
        .bind(batch.tx_count as i64)
        .bind(batch.prev_state_root.to_string())
        .bind(batch.post_state_root.to_string())
        .bind(batch.inputs_root.to_string())
        .bind(batch.data_kind)
        .bind(batch.data_bytes as i64)
        .bind(batch.pieces as i64)
        .bind(t)
        .bind(t)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Records a signed L1 transaction before it is broadcast.
    pub async fn insert_l1_tx(&self, tx: &L1TxRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO batcher_l1_txs (hash, batch_id, purpose, nonce, raw, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING",
        )
        .bind(tx.hash.to_string())
        .bind(tx.batch_id)
        .bind(&tx.purpose)
        .bind(tx.nonce as i64)
        .bind(tx.raw.to_string())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a batch included in L1 block `l1_block` by `l1_tx_hash` as commitment `index`.
    pub async fn mark_included(
        &self,
        id: i64,
        index: u64,
        l1_tx_hash: B256,
        l1_block: u64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE batcher_batches SET status = 'included', commitment_index = $1, \
             l1_tx_hash = $2, l1_block = $3, error = NULL, updated_at = $4 WHERE id = $5",
        )
        .bind(index as i64)
        .bind(l1_tx_hash.to_string())
        .bind(l1_block as i64)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a batch's status (and error text, for `failed`).
    pub async fn set_status(
        &self,
        id: i64,
        status: BatchStatus,
        error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE batcher_batches SET status = $1, error = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Updates the confirmation count (and `final` once deep enough).
    pub async fn set_confirmations(
        &self,
        id: i64,
        confirmations: u64,
        is_final: bool,
    ) -> StoreResult<()> {
        let status = if is_final {
            BatchStatus::Final
        } else {
            BatchStatus::Included
        };
        sqlx::query(
            "UPDATE batcher_batches SET confirmations = $1, status = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(confirmations as i64)
        .bind(status.as_str())
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Batches in the given statuses, oldest first.
    pub async fn batches_in(&self, statuses: &[BatchStatus]) -> StoreResult<Vec<BatchRow>> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        // The loop asks every step: let the (status, first_block) index do the filtering
        // instead of reading the whole history.
        let placeholders = (1..=statuses.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT id, first_block, last_block, tx_count, post_state_root, status, \
             commitment_index, l1_tx_hash, l1_block, confirmations FROM batcher_batches \
             WHERE status IN ({placeholders}) ORDER BY id"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for status in statuses {
            query = query.bind(status.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::batch_row)
            .collect()
    }

    fn batch_row(row: &sqlx::any::AnyRow) -> StoreResult<BatchRow> {
        let table = "batcher_batches";
        let status: String = row.try_get("status")?;
        let hash: Option<String> = row.try_get("l1_tx_hash")?;
        let root: String = row.try_get("post_state_root")?;
        Ok(BatchRow {
            id: row.try_get("id")?,
            first_block: row.try_get::<i64, _>("first_block")? as u64,
            last_block: row.try_get::<i64, _>("last_block")? as u64,
            tx_count: row.try_get::<i64, _>("tx_count")? as u64,
            post_state_root: root.parse().map_err(|e| corrupt(table, e))?,
            status: BatchStatus::parse(&status)
                .ok_or_else(|| corrupt(table, format!("status {status:?}")))?,
            commitment_index: row
                .try_get::<Option<i64>, _>("commitment_index")?
                .map(|i| i as u64),
            l1_tx_hash: hash
                .map(|h| h.parse())
                .transpose()
                .map_err(|e| corrupt(table, e))?,
            l1_block: row.try_get::<Option<i64>, _>("l1_block")?.map(|b| b as u64),
            confirmations: row.try_get::<i64, _>("confirmations")? as u64,
        })
    }

    /// The signed L1 transactions of a batch, in the order they were recorded.
    pub async fn l1_txs(&self, batch_id: i64) -> StoreResult<Vec<L1TxRow>> {
        let table = "batcher_l1_txs";
        sqlx::query(
            "SELECT hash, batch_id, purpose, nonce, raw FROM batcher_l1_txs WHERE batch_id = $1 \
             ORDER BY sent_at, nonce",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let hash: String = row.try_get("hash")?;
            let raw: String = row.try_get("raw")?;
            Ok(L1TxRow {
                hash: hash.parse().map_err(|e| corrupt(table, e))?,
                batch_id: row.try_get("batch_id")?,
                purpose: row.try_get("purpose")?,
                nonce: row.try_get::<i64, _>("nonce")? as u64,
                raw: raw.parse().map_err(|e| corrupt(table, e))?,
            })
        })
        .collect()
    }

    /// Highest L2 block of an included or final batch (what this batcher believes is on L1).
    pub async fn last_posted_block(&self) -> StoreResult<Option<u64>> {
        let row = sqlx::query(
            "SELECT MAX(last_block) AS last FROM batcher_batches \
             WHERE status IN ('included', 'final')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<Option<i64>, _>("last")?.map(|b| b as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, last: u64) -> NewBatch {
        NewBatch {
            first_block: first,
            last_block: last,
            tx_count: 3,
            prev_state_root: B256::repeat_byte(1),
            post_state_root: B256::repeat_byte(2),
            inputs_root: B256::repeat_byte(3),
            data_kind: "calldata",
            data_bytes: 100,
            pieces: 1,
        }
    }

    #[tokio::test]
    async fn batches_move_through_their_states_on_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        batches_move_through_their_states(&format!("sqlite://{}/batcher.db", dir.path().display()))
            .await;
    }

    /// The same on the local Postgres, in a fresh schema.
    #[tokio::test]
    async fn batches_move_through_their_states_on_postgres() {
        let Some(schema) = TestSchema::create("batcher_t").await else {
            return;
        };
        batches_move_through_their_states(&schema.url).await;
        schema.drop().await;
    }

    async fn batches_move_through_their_states(url: &str) {
        let store = Store::connect(url).await.expect("connect");
        let id = store.insert_batch(&batch(1, 5)).await.expect("insert");
        let tx = L1TxRow {
            hash: B256::repeat_byte(9),
            batch_id: id,
            purpose: "submit".into(),
            nonce: 7,
            raw: Bytes::from_static(&[1, 2, 3]),
        };
        store.insert_l1_tx(&tx).await.expect("tx");
        store
            .insert_l1_tx(&tx)
            .await
            .expect("same tx twice is fine");
        assert_eq!(store.l1_txs(id).await.expect("txs"), vec![tx]);
        assert_eq!(store.last_posted_block().await.expect("last"), None);
        store
            .mark_included(id, 0, B256::repeat_byte(9), 12)
            .await
            .expect("included");
        store.set_confirmations(id, 3, false).await.expect("conf");
        let rows = store
            .batches_in(&[BatchStatus::Included])
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].confirmations, 3);
        assert_eq!(rows[0].l1_block, Some(12));
        assert_eq!(store.last_posted_block().await.expect("last"), Some(5));
        store
            .set_status(id, BatchStatus::Dropped, None)
            .await
            .expect("dropped");
        assert_eq!(store.last_posted_block().await.expect("last"), None);
        // A second connection (a restart) sees the same rows.
        drop(store);
        let store = Store::connect(url).await.expect("reconnect");
        let rows = store
            .batches_in(&[BatchStatus::Dropped])
            .await
            .expect("rows");
        assert_eq!(rows[0].first_block, 1);
    }
}
