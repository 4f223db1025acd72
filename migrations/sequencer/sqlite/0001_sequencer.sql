-- Sequencer tables (SQLite). Hashes and addresses are raw bytes, U256 values 32-byte big-endian.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, header BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    hash BLOB PRIMARY KEY, block_number INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    sender BLOB NOT NULL, raw BLOB NOT NULL, receipt BLOB NOT NULL, gas_used INTEGER NOT NULL,
    contract_address BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_by_block ON transactions (block_number, tx_index);
CREATE TABLE IF NOT EXISTS account_history (
    address BLOB NOT NULL, block_number INTEGER NOT NULL, deleted INTEGER NOT NULL,
    nonce INTEGER NOT NULL, balance BLOB NOT NULL, code_hash BLOB NOT NULL,
    PRIMARY KEY (address, block_number));
CREATE TABLE IF NOT EXISTS storage_history (
    address BLOB NOT NULL, slot BLOB NOT NULL, block_number INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (address, slot, block_number));
CREATE TABLE IF NOT EXISTS storage_wipes (address BLOB NOT NULL, block_number INTEGER NOT NULL, PRIMARY KEY (address, block_number));
CREATE TABLE IF NOT EXISTS codes (hash BLOB PRIMARY KEY, code BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pool (hash BLOB PRIMARY KEY, seq INTEGER NOT NULL, raw BLOB NOT NULL);
