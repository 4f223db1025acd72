//! One test per hazard of parallel execution: each block is built so that a
//! naive schedule would get it wrong, and must come out exactly as sequential.

use crate::{assert_equivalent, assert_parallel, eoa, factory};
use alloy_eips::eip7702::Authorization;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use rollup_core::state::{AccountState, StateReader, WorldState};
use rollup_sequencer::parallel::{
    FallbackReason, ParallelConfig, execute_block_parallel_with_access,
    fixtures::{
        Deployed, balance_slot, counter_runtime, deploy_code, factory_child, pre_state,
        suicide_init, swap_call, transfer_call,
    },
};

fn state() -> (WorldState, Deployed) {
    pre_state(32, 2)
}

fn gwei(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000u64)
}

fn call(
    from: u64,
    nonce: u64,
    to: Address,
    input: Bytes,
) -> alloy_consensus::transaction::Recovered<alloy_consensus::TxEnvelope> {
    factory().tx(
        eoa(from),
        nonce,
        TxKind::Call(to),
        U256::ZERO,
        input,
        200_000,
    )
}

fn pay(
    from: u64,
    nonce: u64,
    to: Address,
    value: U256,
) -> alloy_consensus::transaction::Recovered<alloy_consensus::TxEnvelope> {
    factory().tx(
        eoa(from),
        nonce,
        TxKind::Call(to),
        value,
        Bytes::new(),
        21_000,
    )
}

#[test]
fn independent_transfers_are_all_reused_from_speculation() {
    let (pre, _) = state();
    let txs: Vec<_> = (0..16).map(|i| pay(i, 0, eoa(100 + i), gwei(5))).collect();
    let (stats, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.executed.len(), 16);
    assert_eq!(stats.reexecuted, 0, "{stats:?}");
}

#[test]
fn same_sender_nonce_chain() {
    let (pre, _) = state();
    let txs: Vec<_> = (0..8).map(|n| pay(1, n, eoa(200 + n), gwei(1))).collect();
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.executed.len(), 8);
}

#[test]
fn transfers_into_an_account_that_then_spends() {
    // 3 funds a fresh account, which then pays on: the second read depends on the first write.
    let (pre, _) = state();
    let fresh = eoa(5000);
    let txs = vec![
        pay(3, 0, fresh, gwei(1_000_000)),
        factory().tx(
            fresh,
            0,
            TxKind::Call(eoa(4)),
            gwei(10),
            Bytes::new(),
            21_000,
        ),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.executed.len(), 2, "{:?}", outcome.rejected);
}

#[test]
fn hot_erc20_recipient_and_refunds() {
    let (pre, d) = state();
    let hot = eoa(31);
    let mut txs: Vec<_> = (0..12)
        .map(|i| call(i, 0, d.token, transfer_call(hot, gwei(7))))
        .collect();
    // Moving a whole balance clears a slot: an SSTORE refund.
    let everything = pre.storage(d.token, balance_slot(eoa(20))).unwrap();
    txs.push(call(20, 0, d.token, transfer_call(hot, everything)));
    // And one that is short of tokens reverts.
    txs.push(call(20, 1, d.token, transfer_call(hot, U256::from(1))));
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert!(!outcome.executed[13].receipt.status());
}

#[test]
fn contract_creation_then_call_in_the_same_block() {
    let (pre, _) = state();
    let created = eoa(6).create(0);
    let txs = vec![
        factory().tx(
            eoa(6),
            0,
            TxKind::Create,
            U256::ZERO,
            deploy_code(&counter_runtime()),
            200_000,
        ),
        call(7, 0, created, Bytes::new()),
        call(8, 0, created, Bytes::new()),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.executed[0].contract_address, Some(created));
    assert_eq!(
        outcome.changes.storage[&created][&U256::ZERO],
        U256::from(2)
    );
}

#[test]
fn create2_collision_between_senders() {
    let (pre, d) = state();
    let salt = B256::repeat_byte(9);
    let txs = vec![
        call(1, 0, d.factory, Bytes::copy_from_slice(salt.as_slice())),
        call(2, 0, d.factory, Bytes::copy_from_slice(salt.as_slice())),
        call(3, 0, factory_child(d.factory, salt), Bytes::new()),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    let child = factory_child(d.factory, salt);
    assert!(outcome.changes.accounts[&child].is_some());
}

#[test]
fn selfdestruct_during_creation_pays_the_heir() {
    let (pre, _) = state();
    let heir = eoa(9000);
    let txs = vec![
        factory().tx(
            eoa(2),
            0,
            TxKind::Create,
            gwei(3),
            suicide_init(heir),
            100_000,
        ),
        pay(4, 0, heir, gwei(1)),
        factory().tx(
            eoa(2),
            1,
            TxKind::Create,
            gwei(2),
            suicide_init(heir),
            100_000,
        ),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.changes.accounts[&heir].unwrap().balance, gwei(6));
    assert_eq!(outcome.changes.accounts[&eoa(2).create(0)], None);
}

#[test]
fn reverts_and_out_of_gas_charge_gas_and_change_nothing_else() {
    let (pre, d) = state();
    let txs = vec![
        call(1, 0, d.trap, Bytes::new()),
        factory().tx(
            eoa(2),
            0,
            TxKind::Call(d.trap),
            gwei(1),
            Bytes::new(),
            60_000,
        ),
        pay(1, 1, eoa(2), gwei(1)),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert!(!outcome.executed[0].receipt.status());
    assert!(!outcome.executed[1].receipt.status());
    assert_eq!(outcome.executed[1].gas_used, 60_000);
}

#[test]
fn one_contract_everyone_writes_uses_transient_storage() {
    let (pre, d) = state();
    let txs: Vec<_> = (0..10)
        .map(|i| call(i, 0, d.counter, Bytes::new()))
        .collect();
    let (stats, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(
        outcome.changes.storage[&d.counter][&U256::ZERO],
        U256::from(10)
    );
    assert!(
        stats.reexecuted + stats.deferred + stats.direct >= 9,
        "{stats:?}"
    );
}

#[test]
fn a_block_of_one_dependency_chain_runs_sequentially() {
    let (pre, d) = state();
    // 96 increments of one counter: every speculation after the first is stale.
    let txs: Vec<_> = (0..96u64)
        .map(|i| call(i % 32, i / 32, d.counter, Bytes::new()))
        .collect();
    let (stats, outcome) = assert_equivalent(&pre, &txs, 2);
    assert_eq!(
        stats.fallback,
        Some(FallbackReason::MostlyConflicting),
        "{stats:?}"
    );
    // Judged after 64 transactions: the 63 committed before the verdict's are kept, and the
    // sequential executor continues from the 64th (the outcome is still the sequential one).
    assert_eq!(stats.fallback_prefix, 63, "{stats:?}");
    assert_eq!(
        outcome.changes.storage[&d.counter][&U256::ZERO],
        U256::from(96)
    );
    // A run that records access sets (the bench's schedule analysis) keeps
    // the parallel schedule, committing the chain in order.
    let config = ParallelConfig {
        threads: 2,
        min_txs: 0,
        speculate_all_first: true,
    };
    let (observed, stats, access) = execute_block_parallel_with_access(
        &pre,
        &crate::chain(),
        &crate::block(),
        txs.clone(),
        &config,
    )
    .expect("parallel");
    assert_eq!(stats.fallback, None, "{stats:?}");
    assert_eq!(access.len(), txs.len());
    assert_eq!(observed.changes, outcome.changes);
}

#[test]
fn swaps_on_two_pools() {
    let (pre, d) = state();
    let txs: Vec<_> = (0..10)
        .map(|i| call(i, 0, d.pools[(i % 2) as usize], swap_call(gwei(1_000 + i))))
        .collect();
    assert_parallel(&pre, &txs);
}

#[test]
fn precompiles_with_and_without_value() {
    let (pre, _) = state();
    let identity = address!("0000000000000000000000000000000000000004");
    let sha256 = address!("0000000000000000000000000000000000000002");
    let txs = vec![
        factory().tx(
            eoa(1),
            0,
            TxKind::Call(identity),
            gwei(1),
            Bytes::from_static(b"abc"),
            50_000,
        ),
        factory().tx(
            eoa(2),
            0,
            TxKind::Call(sha256),
            U256::ZERO,
            Bytes::from_static(b"abc"),
            50_000,
        ),
        factory().tx(
            eoa(3),
            0,
            TxKind::Call(identity),
            gwei(2),
            Bytes::new(),
            50_000,
        ),
    ];
    assert_parallel(&pre, &txs);
}

#[test]
fn eip7702_delegation_then_calls_into_the_authority() {
    let (mut pre, d) = state();
    let authority = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap();
    pre.insert_account(
        authority.address(),
        AccountState::with_balance(gwei(1)),
        None,
    );
    let auth = Authorization {
        chain_id: U256::from(crate::chain().chain_id),
        address: d.counter,
        nonce: 0,
    };
    let signature = authority.sign_hash_sync(&auth.signature_hash()).unwrap();
    let signed = auth.into_signed(signature);
    let txs = vec![
        call(5, 0, authority.address(), Bytes::new()),
        factory().delegation(eoa(1), 0, eoa(3), vec![signed]),
        call(2, 0, authority.address(), Bytes::new()),
        call(4, 0, authority.address(), Bytes::new()),
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    // Two calls ran the counter's code in the authority's storage.
    assert_eq!(
        outcome.changes.storage[&authority.address()][&U256::ZERO],
        U256::from(2)
    );
}

#[test]
fn invalid_transactions_are_skipped_alike() {
    let (pre, _) = state();
    let poor = eoa(7777);
    let txs = vec![
        pay(1, 1, eoa(2), gwei(1)), // nonce too high
        pay(1, 0, eoa(2), gwei(1)),
        factory().tx(poor, 0, TxKind::Call(eoa(1)), gwei(1), Bytes::new(), 21_000), // no funds
        pay(3, 0, poor, gwei(1_000_000)),
        factory().tx(poor, 0, TxKind::Call(eoa(1)), gwei(1), Bytes::new(), 21_000), // now funded
        pay(1, 0, eoa(2), gwei(1)),                                                 // nonce reused
    ];
    let (_, outcome) = assert_parallel(&pre, &txs);
    assert_eq!(outcome.executed.len(), 3);
    assert_eq!(outcome.rejected.len(), 3);
}

#[test]
fn reading_the_fee_vault_falls_back_to_sequential() {
    let (pre, d) = state();
    let txs = vec![
        pay(1, 0, eoa(2), gwei(1)),
        call(3, 0, d.vault_reader, Bytes::new()),
        pay(4, 0, eoa(5), gwei(1)),
    ];
    let (stats, _) = assert_equivalent(&pre, &txs, 2);
    assert_eq!(stats.fallback, Some(FallbackReason::FeeVaultAccessed));
    // The first transaction stays committed (the vault credited with its fee, which the
    // reader then sees); the sequential executor runs the reader and the rest.
    assert_eq!(stats.fallback_prefix, 1, "{stats:?}");
}

#[test]
fn paying_the_fee_vault_falls_back_to_sequential() {
    let (pre, _) = state();
    let txs = vec![
        pay(1, 0, crate::chain().fee_vault, gwei(1)),
        pay(2, 0, eoa(3), gwei(1)),
    ];
    let (stats, _) = assert_equivalent(&pre, &txs, 3);
    assert_eq!(stats.fallback, Some(FallbackReason::FeeVaultAccessed));
    assert_eq!(stats.fallback_prefix, 0, "{stats:?}");
}

#[test]
fn gas_limits_beyond_the_block_fall_back_to_sequential() {
    let (pre, _) = state();
    let txs: Vec<_> = (0..4)
        .map(|i| {
            factory().tx(
                eoa(i),
                0,
                TxKind::Call(eoa(50)),
                U256::ZERO,
                Bytes::new(),
                10_000_000,
            )
        })
        .collect();
    let (stats, outcome) = assert_equivalent(&pre, &txs, 2);
    assert_eq!(stats.fallback, Some(FallbackReason::GasLimitsExceedBlock));
    // Limits are checked against the gas actually used so far: all four fit.
    assert_eq!(outcome.executed.len(), 4);
}

#[test]
fn one_thread_is_sequential_with_deferred_fees() {
    let (pre, d) = state();
    let txs: Vec<_> = (0..6)
        .map(|i| call(i, 0, d.token, transfer_call(eoa(i + 1), gwei(3))))
        .collect();
    let (stats, _) = assert_equivalent(&pre, &txs, 1);
    assert_eq!(stats.direct, 6);
    assert_eq!(stats.speculated, 0);
}
