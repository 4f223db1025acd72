-- The inputs root posted with each batch (docs/fault-proof.md section 2), 0x-prefixed hex.
ALTER TABLE batcher_batches ADD COLUMN inputs_root TEXT;
