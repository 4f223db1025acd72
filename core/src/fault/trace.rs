//! The step trace of a commitment: state hashes by step index and the witness of any step
//! (docs/fault-proof.md section 4 and 5).
