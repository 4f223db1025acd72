//! Property tests: random blocks over one shared pre-state, parallel == sequential.

use crate::{assert_equivalent, eoa, factory};
use alloy_consensus::{TxEnvelope, transaction::Recovered};
use alloy_primitives::{B256, Bytes, TxKind, U256};
use proptest::prelude::*;
use rollup_core::state::WorldState;
use rollup_sequencer::parallel::fixtures::{
    Deployed, counter_runtime, deploy_code, factory_child, pre_state, suicide_init, swap_call,
    transfer_call,
};
use std::{collections::HashMap, sync::OnceLock};

/// Senders are drawn from a few accounts so that nonce chains are common.
const SENDERS: u64 = 12;
/// Recipients: the senders, a few cold accounts and fresh (empty) ones.
const RECIPIENTS: u64 = 40;

fn shared() -> &'static (WorldState, Deployed) {
    static STATE: OnceLock<(WorldState, Deployed)> = OnceLock::new();
    STATE.get_or_init(|| pre_state(24, 3))
}

/// One transaction of a generated block.
#[derive(Clone, Debug)]
enum Op {
    Transfer {
        to: u64,
        value: u64,
    },
    Erc20 {
        to: u64,
        hot: bool,
        amount: u64,
    },
    Swap {
        pool: usize,
        amount: u64,
    },
    Counter,
    ReadVault,
    Deploy,
    Create2 {
        salt: u8,
    },
    CallChild {
        salt: u8,
    },
    Revert,
    OutOfGas,
    DeployAndSelfdestruct {
        heir: u64,
    },
    /// A transaction with a nonce gap (rejected).
    BadNonce,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..RECIPIENTS, 0..1_000_000u64).prop_map(|(to, value)| Op::Transfer { to, value }),
        4 => (0..RECIPIENTS, any::<bool>(), 0..1_000u64)
            .prop_map(|(to, hot, amount)| Op::Erc20 { to, hot, amount }),
        2 => (0..3usize, 1..1_000_000u64).prop_map(|(pool, amount)| Op::Swap { pool, amount }),
        1 => Just(Op::Counter),
        1 => Just(Op::ReadVault),
        1 => Just(Op::Deploy),
        1 => (0..3u8).prop_map(|salt| Op::Create2 { salt }),
        1 => (0..3u8).prop_map(|salt| Op::CallChild { salt }),
        1 => Just(Op::Revert),
        1 => Just(Op::OutOfGas),
        1 => (0..RECIPIENTS).prop_map(|heir| Op::DeployAndSelfdestruct { heir }),
        1 => Just(Op::BadNonce),
    ]
}

fn recipient(i: u64) -> alloy_primitives::Address {
    // Past the funded accounts the recipients are fresh.
    if i < 30 { eoa(i) } else { eoa(10_000 + i) }
}

fn build(ops: &[(u64, Op)], d: &Deployed) -> Vec<Recovered<TxEnvelope>> {
    let f = factory();
    let mut nonces: HashMap<u64, u64> = HashMap::new();
    ops.iter()
        .map(|(sender, op)| {
            let nonce = nonces.entry(*sender).or_default();
            let from = eoa(*sender);
            let call = |to, input: Bytes, value: U256, gas| {
                f.tx(from, *nonce, TxKind::Call(to), value, input, gas)
            };
            let tx = match op {
                Op::Transfer { to, value } => {
                    call(recipient(*to), Bytes::new(), U256::from(*value), 21_000)
                }
                Op::Erc20 { to, hot, amount } => {
                    let to = if *hot { eoa(0) } else { recipient(*to) };
                    call(
                        d.token,
                        transfer_call(to, U256::from(*amount)),
                        U256::ZERO,
                        100_000,
                    )
                }
                Op::Swap { pool, amount } => call(
                    d.pools[*pool],
                    swap_call(U256::from(*amount)),
                    U256::ZERO,
                    150_000,
                ),
                Op::Counter => call(d.counter, Bytes::new(), U256::ZERO, 100_000),
                Op::ReadVault => call(d.vault_reader, Bytes::new(), U256::ZERO, 100_000),
                Op::Deploy => f.tx(
                    from,
                    *nonce,
                    TxKind::Create,
                    U256::ZERO,
                    deploy_code(&counter_runtime()),
                    200_000,
                ),
                Op::Create2 { salt } => call(
                    d.factory,
                    Bytes::copy_from_slice(B256::repeat_byte(*salt).as_slice()),
                    U256::from(5),
                    300_000,
                ),
                Op::CallChild { salt } => call(
                    factory_child(d.factory, B256::repeat_byte(*salt)),
                    Bytes::new(),
                    U256::ZERO,
                    100_000,
                ),
                Op::Revert => call(d.trap, Bytes::new(), U256::ZERO, 100_000),
                Op::OutOfGas => call(d.trap, Bytes::new(), U256::from(1), 40_000),
                Op::DeployAndSelfdestruct { heir } => f.tx(
                    from,
                    *nonce,
                    TxKind::Create,
                    U256::from(77),
                    suicide_init(recipient(*heir)),
                    100_000,
                ),
                Op::BadNonce => f.tx(
                    from,
                    *nonce + 5,
                    TxKind::Call(eoa(1)),
                    U256::ZERO,
                    Bytes::new(),
                    21_000,
                ),
            };
            if !matches!(op, Op::BadNonce) {
                *nonce += 1;
            }
            tx
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_blocks_match_sequential(
        ops in prop::collection::vec((0..SENDERS, op()), 1..48),
        threads in 1..5usize,
    ) {
        let (pre, deployed) = shared();
        let txs = build(&ops, deployed);
        assert_equivalent(pre, &txs, threads);
    }

    #[test]
    fn random_blocks_without_the_vault_stay_parallel(
        ops in prop::collection::vec((0..SENDERS, op()), 1..48),
    ) {
        let (pre, deployed) = shared();
        let ops: Vec<_> = ops.into_iter().filter(|(_, op)| !matches!(op, Op::ReadVault)).collect();
        let txs = build(&ops, deployed);
        let (stats, _) = assert_equivalent(pre, &txs, 2);
        prop_assert_eq!(stats.fallback, None);
    }
}
