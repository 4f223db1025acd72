-- Batcher tables (Postgres). Hashes, roots and raw transactions are 0x-prefixed hex text.
-- One row per batch the batcher built and tried to post; a batch dropped by an L1 reorg keeps
-- its row (status 'dropped') and the blocks are posted again in a new row.
CREATE TABLE IF NOT EXISTS batcher_batches (
    id BIGSERIAL PRIMARY KEY,
    first_block BIGINT NOT NULL,
    last_block BIGINT NOT NULL,
    tx_count BIGINT NOT NULL,
    prev_state_root TEXT NOT NULL,
    post_state_root TEXT NOT NULL,
    data_kind TEXT NOT NULL,
    data_bytes BIGINT NOT NULL,
    pieces BIGINT NOT NULL,
    -- sending | included | final | dropped | failed
    status TEXT NOT NULL,
    commitment_index BIGINT,
    l1_tx_hash TEXT,
    l1_block BIGINT,
    confirmations BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS batcher_batches_by_status ON batcher_batches (status, first_block);
-- Every signed L1 transaction, stored before it is broadcast, so that a restart can rebroadcast it.
CREATE TABLE IF NOT EXISTS batcher_l1_txs (
    hash TEXT PRIMARY KEY,
    batch_id BIGINT NOT NULL,
    -- stage | submit | discard
    purpose TEXT NOT NULL,
    nonce BIGINT NOT NULL,
    raw TEXT NOT NULL,
    sent_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS batcher_l1_txs_by_batch ON batcher_l1_txs (batch_id);
