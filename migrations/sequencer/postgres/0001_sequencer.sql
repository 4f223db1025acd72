-- Sequencer tables (Postgres). Hashes and addresses are raw bytes, U256 values 32-byte big-endian.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, header BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    hash BYTEA PRIMARY KEY, block_number BIGINT NOT NULL, tx_index BIGINT NOT NULL,
    sender BYTEA NOT NULL, raw BYTEA NOT NULL, receipt BYTEA NOT NULL, gas_used BIGINT NOT NULL,
    contract_address BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_by_block ON transactions (block_number, tx_index);
CREATE TABLE IF NOT EXISTS account_history (
    address BYTEA NOT NULL, block_number BIGINT NOT NULL, deleted BIGINT NOT NULL,
    nonce BIGINT NOT NULL, balance BYTEA NOT NULL, code_hash BYTEA NOT NULL,
    PRIMARY KEY (address, block_number));
CREATE TABLE IF NOT EXISTS storage_history (
    address BYTEA NOT NULL, slot BYTEA NOT NULL, block_number BIGINT NOT NULL, value BYTEA NOT NULL,
    PRIMARY KEY (address, slot, block_number));
CREATE TABLE IF NOT EXISTS storage_wipes (address BYTEA NOT NULL, block_number BIGINT NOT NULL, PRIMARY KEY (address, block_number));
CREATE TABLE IF NOT EXISTS codes (hash BYTEA PRIMARY KEY, code BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS pool (hash BYTEA PRIMARY KEY, seq BIGINT NOT NULL, raw BYTEA NOT NULL);
