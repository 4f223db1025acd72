//! Persistence through sqlx: SQLite (WAL) by default, Postgres by URL, one code
//! path. Holds sealed blocks, transactions with receipts, the state history
//! (every account and slot version by block) and the durable txpool.

use alloy_consensus::{Header, ReceiptEnvelope, TxEnvelope, transaction::Recovered};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, U256};
use rollup_core::{
    block::SealedBlock,
    error::StateError,
    executor::ExecutedTx,
    state::{AccountState, StateChanges, WorldState},
};
use sqlx::{
    Any, AnyPool, Row, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
};
use std::{str::FromStr, sync::Arc};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored bytes did not decode: the database is corrupt.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl From<StoreError> for StateError {
    fn from(e: StoreError) -> Self {
        StateError::Backend(e.to_string())
    }
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where a mined transaction lives.
#[derive(Clone, Debug)]
pub struct StoredTx {
    /// The transaction and its sender.
    pub tx: Recovered<TxEnvelope>,
    /// Block number.
    pub block_number: u64,
    /// Index in the block.
    pub index: u64,
    /// Its receipt.
    pub receipt: ReceiptEnvelope,
    /// Gas it used.
    pub gas_used: u64,
    /// Contract created, if any.
    pub contract_address: Option<Address>,
}

/// The sequencer's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: taken around every write transaction, so that our writers queue in order
    /// instead of meeting on SQLite's write lock, whose busy handler sleeps in steps of up
    /// to 100 ms (seen as send→inclusion latency spikes of a few hundred milliseconds
    /// under load). Postgres locks rows, not the database: none.
    write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    postgres: bool,
}

fn u64_of(v: i64) -> u64 {
    v as u64
}

fn b256(bytes: &[u8]) -> StoreResult<B256> {
    B256::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("expected 32 bytes, got {}", bytes.len())))
}

fn address(bytes: &[u8]) -> StoreResult<Address> {
    Address::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("expected 20 bytes, got {}", bytes.len())))
}

fn u256(bytes: &[u8]) -> StoreResult<U256> {
    U256::try_from_be_slice(bytes).ok_or_else(|| StoreError::Corrupt("bad u256".into()))
}

fn word(v: &U256) -> Vec<u8> {
    v.to_be_bytes::<32>().to_vec()
}

impl Store {
    /// Connects and migrates. `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres");
        let url = if !postgres && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if postgres { 16 } else { 8 })
            // A store that is down fails requests in seconds (sqlx waits 30 s
            // by default): eth_sendRawTransaction answers with an error
            // instead of hanging.
            .acquire_timeout(std::time::Duration::from_secs(5))
            // A connection still inside a transaction when it comes back is not
            // reused. SQLite rolls a transaction back by itself on some errors
            // (SQLITE_FULL on a full disk); sqlx's ROLLBACK then fails and leaves the
            // connection counting an open transaction, so its next BEGIN becomes a
            // SAVEPOINT whose own rollback keeps the write lock: every other writer
            // then waits ("database is locked").
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
                            // The WAL file shrinks back to nothing when a checkpoint resets
                            // it: a full disk then refuses the next write at once, instead
                            // of after the old WAL's space is used up again.
                            "PRAGMA journal_size_limit=0",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if postgres {
            sqlx::migrate!("../migrations/sequencer/postgres")
                .run(&pool)
                .await?;
        } else {
            sqlx::migrate!("../migrations/sequencer/sqlite")
                .run(&pool)
                .await?;
        }
        Ok(Self {
            pool,
            write_lock: (!postgres).then(Default::default),
            postgres,
        })
    }

    /// Waits for this store's turn to write (SQLite only).
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Closes the connections (waits for those in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// True when backed by Postgres.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// Reads a metadata value.
    pub async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<Vec<u8>, _>(0)))
    }

    /// Writes a metadata value.
    pub async fn set_meta(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM meta WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value.to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes pool transactions durable, all in one commit (group commit).
    pub async fn insert_pool_txs(&self, txs: &[(B256, u64, Bytes)]) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut db = self.pool.begin().await?;
        for chunk in txs.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO pool (hash, seq, raw) VALUES {} ON CONFLICT (hash) DO NOTHING",
                value_tuples(chunk.len(), 3)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (hash, seq, raw) in chunk {
                query = query
                    .bind(hash.to_vec())
                    .bind(*seq as i64)
                    .bind(raw.to_vec());
            }
            query.execute(&mut *db).await?;
        }
        db.commit().await?;
        Ok(())
    }

    /// Removes transactions from the durable pool (dropped or replaced).
    pub async fn delete_pool_txs(&self, hashes: &[B256]) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut db = self.pool.begin().await?;
        delete_pool(&mut db, hashes).await?;
        db.commit().await?;
        Ok(())
    }

    /// Every pooled transaction in arrival order.
    pub async fn pool_txs(&self) -> StoreResult<Vec<(u64, Bytes)>> {
        let rows = sqlx::query("SELECT seq, raw FROM pool ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (u64_of(r.get(0)), Bytes::from(r.get::<Vec<u8>, _>(1))))
            .collect())
    }

    /// Persists a sealed block, its transactions and state changes, and removes
    /// its transactions (and `dropped`) from the pool, atomically.
    pub async fn insert_block(
        &self,
        block: &SealedBlock,
        changes: &StateChanges,
        dropped: &[B256],
    ) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let mut db = self.pool.begin().await?;
        let number = block.number() as i64;
        sqlx::query("INSERT INTO blocks (number, hash, header) VALUES ($1, $2, $3)")
            .bind(number)
            .bind(block.hash.to_vec())
            .bind(alloy_rlp::encode(&block.header))
            .execute(&mut *db)
            .await?;
        let mut included = Vec::with_capacity(block.txs.len() + dropped.len());
        let indexed: Vec<_> = block.txs.iter().enumerate().collect();
        for chunk in indexed.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO transactions (hash, block_number, tx_index, sender, raw, receipt, gas_used, contract_address) VALUES {}",
                value_tuples(chunk.len(), 8)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (index, tx) in chunk {
                let hash = *tx.tx.inner().tx_hash();
                included.push(hash);
                query = query
                    .bind(hash.to_vec())
                    .bind(number)
                    .bind(*index as i64)
                    .bind(tx.tx.signer().to_vec())
                    .bind(tx.tx.inner().encoded_2718())
                    .bind(tx.receipt.encoded_2718())
                    .bind(tx.gas_used as i64)
                    .bind(tx.contract_address.map(|a| a.to_vec()).unwrap_or_default());
            }
            query.execute(&mut *db).await?;
        }
        insert_changes(&mut db, number, changes).await?;
        included.extend_from_slice(dropped);
        delete_pool(&mut db, &included).await?;
        db.commit().await?;
        Ok(())
    }

    /// Persists genesis: block 0 and its state.
    pub async fn insert_genesis(&self, block: &SealedBlock, state: &WorldState) -> StoreResult<()> {
        let mut changes = StateChanges::default();
        for (address, account) in state.accounts() {
            changes.accounts.insert(*address, Some(*account));
            if let Some(slots) = state.storage_of(address) {
                changes
                    .storage
                    .insert(*address, slots.iter().map(|(k, v)| (*k, *v)).collect());
            }
            if let Ok(Some(code)) = rollup_core::state::StateReader::code(state, account.code_hash)
            {
                changes
                    .codes
                    .insert(account.code_hash, code.original_bytes());
            }
        }
        self.insert_block(block, &changes, &[]).await
    }

    /// The highest block number stored.
    pub async fn head_number(&self) -> StoreResult<Option<u64>> {
        let row = sqlx::query("SELECT MAX(number) FROM blocks")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.map(u64_of))
    }

    /// A header by number.
    pub async fn header_by_number(&self, number: u64) -> StoreResult<Option<(Header, B256)>> {
        let row = sqlx::query("SELECT header, hash FROM blocks WHERE number = $1")
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode_header(&r.get::<Vec<u8>, _>(0), &r.get::<Vec<u8>, _>(1)))
            .transpose()
    }

    /// A header by hash.
    pub async fn header_by_hash(&self, hash: B256) -> StoreResult<Option<(Header, B256)>> {
        let row = sqlx::query("SELECT header, hash FROM blocks WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode_header(&r.get::<Vec<u8>, _>(0), &r.get::<Vec<u8>, _>(1)))
            .transpose()
    }

    /// Headers in a number range (inclusive), ascending.
    pub async fn headers_in_range(&self, from: u64, to: u64) -> StoreResult<Vec<(Header, B256)>> {
        let rows = sqlx::query(
            "SELECT header, hash FROM blocks WHERE number >= $1 AND number <= $2 ORDER BY number",
        )
        .bind(from as i64)
        .bind(to as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode_header(&r.get::<Vec<u8>, _>(0), &r.get::<Vec<u8>, _>(1)))
            .collect()
    }

    /// The transactions of a block, in order.
    pub async fn block_txs(&self, number: u64) -> StoreResult<Vec<StoredTx>> {
        let rows = sqlx::query(
            "SELECT raw, sender, block_number, tx_index, receipt, gas_used, contract_address FROM transactions \
             WHERE block_number = $1 ORDER BY tx_index",
        )
        .bind(number as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_tx_row).collect()
    }

    /// A mined transaction by hash.
    pub async fn tx_by_hash(&self, hash: B256) -> StoreResult<Option<StoredTx>> {
        let row = sqlx::query(
            "SELECT raw, sender, block_number, tx_index, receipt, gas_used, contract_address FROM transactions WHERE hash = $1",
        )
        .bind(hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_tx_row).transpose()
    }

    /// An account as of the end of block `at`.
    pub async fn account_at(&self, address: Address, at: u64) -> StoreResult<Option<AccountState>> {
        let row = sqlx::query(
            "SELECT deleted, nonce, balance, code_hash FROM account_history WHERE address = $1 AND block_number <= $2 \
             ORDER BY block_number DESC LIMIT 1",
        )
        .bind(address.to_vec())
        .bind(at as i64)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) if r.get::<i64, _>(0) != 0 => Ok(None),
            Some(r) => Ok(Some(AccountState {
                nonce: u64_of(r.get(1)),
                balance: u256(&r.get::<Vec<u8>, _>(2))?,
                code_hash: b256(&r.get::<Vec<u8>, _>(3))?,
            })),
        }
    }

    /// A storage slot as of the end of block `at`.
    pub async fn storage_at(&self, address: Address, slot: U256, at: u64) -> StoreResult<U256> {
        let row = sqlx::query(
            "SELECT block_number, value FROM storage_history WHERE address = $1 AND slot = $2 AND block_number <= $3 \
             ORDER BY block_number DESC LIMIT 1",
        )
        .bind(address.to_vec())
        .bind(word(&slot))
        .bind(at as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(U256::ZERO);
        };
        let written: i64 = row.get(0);
        let wipe = sqlx::query(
            "SELECT MAX(block_number) FROM storage_wipes WHERE address = $1 AND block_number <= $2",
        )
        .bind(address.to_vec())
        .bind(at as i64)
        .fetch_one(&self.pool)
        .await?;
        if wipe
            .try_get::<Option<i64>, _>(0)?
            .is_some_and(|w| w > written)
        {
            return Ok(U256::ZERO);
        }
        u256(&row.get::<Vec<u8>, _>(1))
    }

    /// Code by hash.
    pub async fn code(&self, hash: B256) -> StoreResult<Option<Bytes>> {
        let row = sqlx::query("SELECT code FROM codes WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Bytes::from(r.get::<Vec<u8>, _>(0))))
    }

    /// The whole state as of the end of block `at` (startup and historical proofs).
    pub async fn load_state(&self, at: u64) -> StoreResult<WorldState> {
        let mut state = WorldState::default();
        let rows = sqlx::query(
            "SELECT a.address, a.deleted, a.nonce, a.balance, a.code_hash FROM account_history a \
             JOIN (SELECT address, MAX(block_number) AS b FROM account_history WHERE block_number <= $1 GROUP BY address) m \
             ON a.address = m.address AND a.block_number = m.b",
        )
        .bind(at as i64)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            if r.get::<i64, _>(1) != 0 {
                continue;
            }
            let code_hash = b256(&r.get::<Vec<u8>, _>(4))?;
            let account = AccountState {
                nonce: u64_of(r.get(2)),
                balance: u256(&r.get::<Vec<u8>, _>(3))?,
                code_hash,
            };
            let code = if code_hash == revm::primitives::KECCAK_EMPTY {
                None
            } else {
                Some(
                    self.code(code_hash)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt(format!("missing code {code_hash}")))?,
                )
            };
            state.insert_account(address(&r.get::<Vec<u8>, _>(0))?, account, code);
        }
        let rows = sqlx::query(
            "SELECT s.address, s.slot, s.value, s.block_number FROM storage_history s \
             JOIN (SELECT address, slot, MAX(block_number) AS b FROM storage_history WHERE block_number <= $1 GROUP BY address, slot) m \
             ON s.address = m.address AND s.slot = m.slot AND s.block_number = m.b",
        )
        .bind(at as i64)
        .fetch_all(&self.pool)
        .await?;
        let wipes = sqlx::query("SELECT address, MAX(block_number) FROM storage_wipes WHERE block_number <= $1 GROUP BY address")
            .bind(at as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut last_wipe = std::collections::HashMap::new();
        for w in wipes {
            last_wipe.insert(address(&w.get::<Vec<u8>, _>(0))?, w.get::<i64, _>(1));
        }
        for r in rows {
            let addr = address(&r.get::<Vec<u8>, _>(0))?;
            let written: i64 = r.get(3);
            if last_wipe.get(&addr).is_some_and(|w| *w > written) {
                continue;
            }
            if rollup_core::state::StateReader::account(&state, addr)
                .ok()
                .flatten()
                .is_none()
            {
                continue;
            }
            state.set_storage(
                addr,
                u256(&r.get::<Vec<u8>, _>(1))?,
                u256(&r.get::<Vec<u8>, _>(2))?,
            );
        }
        Ok(state)
    }
}

async fn delete_pool(db: &mut Transaction<'_, Any>, hashes: &[B256]) -> StoreResult<()> {
    for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "DELETE FROM pool WHERE hash IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for hash in chunk {
            query = query.bind(hash.to_vec());
        }
        query.execute(&mut **db).await?;
    }
    Ok(())
}

/// Rows per multi-row statement. SQLite resolves each bound `$N` by name, a
/// scan over the statement's parameters, so statements stay small.
const ROWS_PER_STATEMENT: usize = 64;

/// `($1, $2, …), (…)`: `rows` tuples of `columns` numbered placeholders.
fn value_tuples(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_changes(
    db: &mut Transaction<'_, Any>,
    number: i64,
    changes: &StateChanges,
) -> StoreResult<()> {
    for (hash, code) in &changes.codes {
        sqlx::query("INSERT INTO codes (hash, code) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING")
            .bind(hash.to_vec())
            .bind(code.to_vec())
            .execute(&mut **db)
            .await?;
    }
    for address in &changes.destroyed {
        sqlx::query("INSERT INTO storage_wipes (address, block_number) VALUES ($1, $2)")
            .bind(address.to_vec())
            .bind(number)
            .execute(&mut **db)
            .await?;
    }
    let accounts: Vec<_> = changes.accounts.iter().collect();
    for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO account_history (address, block_number, deleted, nonce, balance, code_hash) VALUES {}",
            value_tuples(chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (address, account) in chunk {
            let (deleted, account) = match account {
                Some(a) => (0i64, *a),
                None => (1i64, AccountState::with_balance(U256::ZERO)),
            };
            query = query
                .bind(address.to_vec())
                .bind(number)
                .bind(deleted)
                .bind(account.nonce as i64)
                .bind(word(&account.balance))
                .bind(account.code_hash.to_vec());
        }
        query.execute(&mut **db).await?;
    }
    let slots: Vec<_> = changes
        .storage
        .iter()
        .flat_map(|(address, slots)| {
            slots
                .iter()
                .map(move |(slot, value)| (address, slot, value))
        })
        .collect();
    for chunk in slots.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO storage_history (address, slot, block_number, value) VALUES {}",
            value_tuples(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (address, slot, value) in chunk {
            query = query
                .bind(address.to_vec())
                .bind(word(slot))
                .bind(number)
                .bind(word(value));
        }
        query.execute(&mut **db).await?;
    }
    Ok(())
}

fn decode_header(bytes: &[u8], hash: &[u8]) -> StoreResult<(Header, B256)> {
    let header = <Header as alloy_rlp::Decodable>::decode(&mut &bytes[..])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((header, b256(hash)?))
}

fn decode_tx_row(r: &sqlx::any::AnyRow) -> StoreResult<StoredTx> {
    let raw: Vec<u8> = r.get(0);
    let tx = TxEnvelope::decode_2718_exact(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sender = address(&r.get::<Vec<u8>, _>(1))?;
    let receipt_raw: Vec<u8> = r.get(4);
    let receipt = ReceiptEnvelope::decode_2718_exact(&receipt_raw)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let contract: Vec<u8> = r.get(6);
    Ok(StoredTx {
        tx: Recovered::new_unchecked(tx, sender),
        block_number: u64_of(r.get(2)),
        index: u64_of(r.get(3)),
        receipt,
        gas_used: u64_of(r.get(5)),
        contract_address: if contract.is_empty() {
            None
        } else {
            Some(address(&contract)?)
        },
    })
}

impl StoredTx {
    /// Back into the executor's shape.
    pub fn into_executed(self) -> ExecutedTx {
        ExecutedTx {
            tx: self.tx,
            receipt: self.receipt,
            gas_used: self.gas_used,
            contract_address: self.contract_address,
        }
    }
}
