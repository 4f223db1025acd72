-- Challenger tables (postgres). Hashes and roots are 0x-prefixed hex text.
-- One row per commitment checked: the verdict of deriving its batch from L1.
CREATE TABLE IF NOT EXISTS challenger_commitments (
    commitment_index BIGINT PRIMARY KEY,
    first_block BIGINT NOT NULL,
    last_block BIGINT NOT NULL,
    l1_block BIGINT NOT NULL,
    claimed_root TEXT NOT NULL,
    -- correct | wrong_root | wrong_prev_root | underivable | inputs_mismatch
    verdict TEXT NOT NULL,
    derived_root TEXT,
    detail TEXT,
    checked_at BIGINT NOT NULL);
-- Every dispute game this challenger plays, as challenger or as defender.
CREATE TABLE IF NOT EXISTS challenger_games (
    game_id BIGINT PRIMARY KEY,
    commitment_index BIGINT NOT NULL,
    -- challenger | defender
    role TEXT NOT NULL,
    -- the root the game disputes and the challenger's alternative
    disputed_root TEXT NOT NULL,
    claimed_root TEXT NOT NULL,
    -- in_progress | won | lost
    status TEXT NOT NULL,
    lo BIGINT NOT NULL,
    hi BIGINT NOT NULL,
    moves BIGINT NOT NULL DEFAULT 0,
    last_action TEXT,
    last_tx_hash TEXT,
    updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS challenger_games_by_status ON challenger_games (status);
