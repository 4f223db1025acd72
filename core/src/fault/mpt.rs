//! Merkle Patricia proofs for the one-step verifier's `MerkleTrie.get` and `MerkleTrie.update`
//! (docs/fault-proof.md section 6).
