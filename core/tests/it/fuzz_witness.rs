//! Fuzzing of the step-witness decoding of the fault-proof machine, off chain: the pre-state
//! (`abi.encode(MachineState)`) and the witnesses of each step kind (docs/fault-proof.md section
//! 5), decoded with alloy_sol_types as the one-step verifier decodes them with `abi.decode`, and
//! the Merkle Patricia proofs inside them checked with [`rollup_core::fault::mpt`]. Inputs are
//! the real steps of `contracts/test/fixtures/steps.json` (written by `step_fixtures.rs`),
//! mutated, and random bytes. Nothing panics or allocates without bound; what decodes with
//! validation re-encodes to the same bytes; the real witnesses round-trip and their proofs
//! verify. Case count: `ROLLUP_FUZZ_CASES` (see [`crate::fuzz_tx::cases`]).

use crate::fuzz_tx::{arb_mutations, config, mutate};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_sol_types::SolValue;
use proptest::prelude::*;
use rollup_core::{
    chain::ChainConfig,
    fault::{BlockItem, MachineState, StepKind, mpt},
    tx::decode_and_check,
};
use std::sync::OnceLock;

/// `abi.encode(BlockItem item, bytes32 tail)`.
type BlockStartWitness = (BlockItem, B256);
/// `abi.encode(BlockItem block, bytes rawTx, bytes32 tail, bytes[] senderProof,
/// bytes[] recipientProof, bytes senderCode)`.
type TxStartWitness = (BlockItem, Bytes, B256, Vec<Bytes>, Vec<Bytes>, Bytes);
/// `abi.encode(BlockItem block, bytes[] callerProof, bytes[] beneficiaryProof)`.
type TxEndWitness = (BlockItem, Vec<Bytes>, Vec<Bytes>);

/// The steps of the Solidity verifier's fixtures.
struct Steps {
    pres: Vec<Vec<u8>>,
    proofs: Vec<Vec<u8>>,
}

fn steps() -> &'static Steps {
    static STEPS: OnceLock<Steps> = OnceLock::new();
    STEPS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../contracts/test/fixtures/steps.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("steps.json");
        let list = |key: &str| -> Vec<Vec<u8>> {
            json[key]
                .as_array()
                .unwrap_or_else(|| panic!("steps.json: {key}"))
                .iter()
                .map(|v| hex::decode(v.as_str().expect("hex string")).expect("hex"))
                .collect()
        };
        let steps = Steps {
            pres: list("pres"),
            proofs: list("proofs"),
        };
        assert_eq!(steps.pres.len(), steps.proofs.len());
        assert!(steps.pres.len() > 50, "too few fixture steps");
        steps
    })
}

/// Decodes a pre-state: never panics; a validated decode re-encodes to the bytes it read (up to
/// trailing bytes, which the decoder ignores as `abi.decode` does).
fn check_state(bytes: &[u8]) -> Result<Option<MachineState>, TestCaseError> {
    let loose = MachineState::abi_decode(bytes);
    match MachineState::abi_decode_validate(bytes) {
        Ok(state) => {
            prop_assert_eq!(&state.abi_encode()[..], &bytes[..15 * 32]);
            prop_assert_eq!(loose.as_ref().ok(), Some(&state));
            // The step kind is a function of the state (None only for an unknown phase).
            prop_assert_eq!(StepKind::of(&state).is_none(), state.phase > 3);
            Ok(Some(state))
        }
        Err(_) => Ok(None),
    }
}

/// Decodes `bytes` as a witness of type `$w` (loosely and with validation): never panics; what
/// a validated decode gives re-encodes to bytes that decode to it again (like `abi.decode`, the
/// decoder accepts trailing bytes and non-canonical offsets, even overlapping ones, so the bytes
/// may differ, and be shorter or longer).
macro_rules! check_witness {
    ($w:ty, $bytes:expr) => {{
        let bytes: &[u8] = $bytes;
        let _ = <$w>::abi_decode_params(bytes);
        match <$w>::abi_decode_params_validate(bytes) {
            Ok(w) => {
                let again = w.abi_encode_params();
                let decoded = <$w>::abi_decode_params_validate(&again).ok();
                prop_assert_eq!(
                    decoded.as_ref(),
                    Some(&w),
                    "a validated witness does not re-encode to itself"
                );
                Some(w)
            }
            Err(_) => None,
        }
    }};
}

/// Checks Merkle proofs for `key` against `root`: never panics, the same answer twice.
fn check_proof(root: B256, key: B256, proof: &[Bytes]) -> Result<(), TestCaseError> {
    let got = mpt::verify_get(root, key, proof);
    prop_assert_eq!(&got, &mpt::verify_get(root, key, proof));
    let _ = mpt::verify_update(root, key, &[0xc0], proof);
    let _ = mpt::verify_update(root, key, &[], proof);
    Ok(())
}

/// Decodes a (pre-state, witness) pair as every witness kind and checks the proofs inside.
fn check_step(pre: &[u8], proof: &[u8]) -> Result<(), TestCaseError> {
    let state = check_state(pre)?.unwrap_or_default();
    let root = state.stateRoot;
    let _ = check_witness!(BlockStartWitness, proof);
    if let Some(w) = check_witness!(TxStartWitness, proof) {
        let key = match decode_and_check(&w.1, &ChainConfig::default()) {
            Ok(tx) => {
                if let Some(to) = tx.inner().to() {
                    check_proof(root, keccak256(to), &w.4)?;
                }
                keccak256(tx.signer())
            }
            Err(_) => keccak256(state.caller),
        };
        check_proof(root, key, &w.3)?;
    }
    if let Some(w) = check_witness!(TxEndWitness, proof) {
        check_proof(root, keccak256(state.caller), &w.1)?;
        check_proof(root, keccak256(w.0.beneficiary), &w.2)?;
    }
    Ok(())
}

fn arb_step() -> impl Strategy<Value = usize> {
    0..steps().pres.len()
}

/// ABI-shaped random bytes: words, some of them small offsets and lengths, others huge.
fn arb_abi_words() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0u64..2048).prop_map(U256::from),
            1 => any::<u64>().prop_map(U256::from),
            1 => Just(U256::MAX),
            1 => any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        ],
        0..40,
    )
    .prop_map(|words| words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect())
}

#[test]
fn fuzz_witness_fixtures_round_trip_and_verify() {
    let s = steps();
    let (mut witnesses, mut proven) = (0, 0);
    for (pre, proof) in s.pres.iter().zip(&s.proofs) {
        let state = MachineState::abi_decode_validate(pre).expect("fixture pre-state");
        assert_eq!(&state.abi_encode(), pre);
        if proof.is_empty() {
            continue;
        }
        witnesses += 1;
        if StepKind::of(&state) == Some(StepKind::Evm) {
            // `abi.encode(uint8 kind, bytes body)` (docs/evm-steps.md section 6).
            let (kind, _) = <(U256, Bytes)>::abi_decode_params_validate(proof)
                .expect("an IN_TX witness is a kind and a body");
            assert!(
                kind <= U256::from(13),
                "an entry, an instruction, a return step, a creation entry or an EIP-7702 \
                 authorization (kinds 0 to 13)"
            );
            continue;
        }
        let as_start = <TxStartWitness>::abi_decode_params_validate(proof).ok();
        let as_end = <TxEndWitness>::abi_decode_params_validate(proof).ok();
        let as_block = <BlockStartWitness>::abi_decode_params_validate(proof).ok();
        assert!(
            as_start.is_some() || as_end.is_some() || as_block.is_some(),
            "a fixture witness decodes as no witness type"
        );
        if let Some(w) = as_end.filter(|_| StepKind::of(&state) == Some(StepKind::TxEnd)) {
            assert_eq!(w.abi_encode_params(), *proof);
            let caller = mpt::verify_get(state.stateRoot, keccak256(state.caller), &w.1);
            assert!(caller.is_ok(), "fixture caller proof: {caller:?}");
            proven += 1;
        }
    }
    assert!(
        witnesses > 20 && proven > 5,
        "{witnesses} witnesses, {proven} proven"
    );
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_witness_mutated_proofs_never_panic(i in arb_step(), mutations in arb_mutations()) {
        let s = steps();
        check_step(&s.pres[i], &mutate(s.proofs[i].clone(), &mutations))?;
    }

    #[test]
    fn fuzz_witness_mutated_states_never_panic(i in arb_step(), mutations in arb_mutations()) {
        let s = steps();
        check_step(&mutate(s.pres[i].clone(), &mutations), &s.proofs[i])?;
    }

    #[test]
    fn fuzz_witness_mutated_proof_nodes_never_panic(
        i in arb_step(),
        node in any::<usize>(),
        mutations in arb_mutations(),
    ) {
        // Mutate one trie node inside a real witness (the Merkle proof decoder's input), then
        // re-encode, so that the ABI layer stays valid and the proof checker sees the damage.
        let s = steps();
        let pre = &s.pres[i];
        let state = MachineState::abi_decode(pre).unwrap_or_default();
        if let Ok(mut w) = <TxEndWitness>::abi_decode_params_validate(&s.proofs[i]) {
            if !w.1.is_empty() {
                let n = node % w.1.len();
                w.1[n] = mutate(w.1[n].to_vec(), &mutations).into();
            }
            check_proof(state.stateRoot, keccak256(state.caller), &w.1)?;
            check_step(pre, &w.abi_encode_params())?;
        } else if let Ok(mut w) = <TxStartWitness>::abi_decode_params_validate(&s.proofs[i]) {
            if !w.3.is_empty() {
                let n = node % w.3.len();
                w.3[n] = mutate(w.3[n].to_vec(), &mutations).into();
            }
            check_step(pre, &w.abi_encode_params())?;
        }
    }

    #[test]
    fn fuzz_witness_random_bytes_never_panic(
        pre in prop::collection::vec(any::<u8>(), 0..600),
        proof in arb_abi_words(),
        raw in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        check_step(&pre, &proof)?;
        check_step(&pre, &raw)?;
        let root = B256::from_slice(&keccak256(&pre)[..]);
        let nodes: Vec<Bytes> = raw.chunks(64).map(Bytes::copy_from_slice).collect();
        check_proof(root, keccak256(Address::ZERO), &nodes)?;
    }
}
