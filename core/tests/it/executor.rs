//! The sequential executor against hand-checked expectations.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer_local::PrivateKeySigner;
use rollup_core::{
    block::{genesis_header, next_block_input, seal_block},
    chain::{ChainConfig, DEV_PRIVATE_KEYS, Genesis},
    error::TxRejection,
    executor::{BlockInput, BlockOutcome, execute_block, execute_block_after},
    state::{StateReader, WorldState},
    trie::StateCommitment,
};

fn signer(i: usize) -> PrivateKeySigner {
    DEV_PRIVATE_KEYS[i].parse().expect("dev key")
}

fn tx(
    from: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: u64,
    input: Bytes,
    gas: u64,
) -> Recovered<TxEnvelope> {
    let mut tx = TxEip1559 {
        chain_id: ChainConfig::default().chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value: U256::from(value),
        access_list: Default::default(),
        input,
    };
    let sig = from.sign_transaction_sync(&mut tx).expect("sign");
    Recovered::new_unchecked(TxEnvelope::Eip1559(tx.into_signed(sig)), from.address())
}

/// The dev chain's genesis, its state and the input of block 1 on it.
fn first_block() -> (Genesis, WorldState, BlockInput) {
    let genesis = Genesis::dev(ChainConfig::default());
    let state = genesis.state();
    let header = genesis_header(
        &genesis.config,
        0,
        StateCommitment::from_state(&state).root(),
    );
    let input = next_block_input(&genesis.config, &header, header.hash_slow(), 1);
    (genesis, state, input)
}

#[test]
fn transfer_moves_value_and_pays_fees_and_skips_invalid_nonce() {
    let (genesis, state, input) = first_block();
    let alice = signer(0);
    let bob = address!("0x000000000000000000000000000000000000b0b0");
    let txs = vec![
        tx(&alice, 0, TxKind::Call(bob), 1000, Bytes::new(), 21_000),
        tx(&alice, 5, TxKind::Call(bob), 1000, Bytes::new(), 21_000),
    ];
    let outcome = execute_block(&state, &genesis.config, &input, txs).expect("executes");
    assert_eq!(outcome.executed.len(), 1);
    assert_eq!(outcome.rejected.len(), 1);
    assert!(matches!(
        outcome.rejected[0].1,
        TxRejection::NonceTooHigh {
            expected: 1,
            got: 5
        }
    ));
    assert_eq!(outcome.gas_used, 21_000);
    assert_eq!(
        outcome.changes.accounts[&bob].expect("bob exists").balance,
        U256::from(1000)
    );
    let tip = U256::from(21_000u64 * 1_000_000_000);
    assert_eq!(
        outcome.changes.accounts[&genesis.config.fee_vault]
            .expect("vault")
            .balance,
        tip
    );
    assert!(outcome.executed[0].receipt.status());
}

#[test]
fn zero_value_transfer_to_a_new_address_does_not_create_it() {
    let (genesis, state, input) = first_block();
    let nobody = address!("0x00000000000000000000000000000000000dead1");
    let outcome = execute_block(
        &state,
        &genesis.config,
        &input,
        vec![tx(
            &signer(1),
            0,
            TxKind::Call(nobody),
            0,
            Bytes::new(),
            21_000,
        )],
    )
    .expect("executes");
    assert_eq!(outcome.executed.len(), 1);
    assert_eq!(
        outcome.changes.accounts.get(&nobody),
        Some(&None),
        "EIP-161: touched empty account is removed"
    );
}

#[test]
fn deploy_then_sealed_block_commits_code_and_a_new_state_root() {
    let genesis = Genesis::dev(ChainConfig::default());
    let mut state = genesis.state();
    let mut commitment = StateCommitment::from_state(&state);
    let header = genesis_header(&genesis.config, 0, commitment.root());
    let input = next_block_input(&genesis.config, &header, header.hash_slow(), 1);
    // init code: return runtime 0x602a60005260206000f3 (returns 42)
    let runtime = hex_bytes("602a60005260206000f3");
    let init = hex_bytes("69602a60005260206000f3600052600a6016f3");
    let deployer = signer(2);
    let outcome = execute_block(
        &state,
        &genesis.config,
        &input,
        vec![tx(&deployer, 0, TxKind::Create, 0, init, 100_000)],
    )
    .expect("executes");
    let created: Address = outcome.executed[0]
        .contract_address
        .expect("create has an address");
    assert_eq!(created, deployer.address().create(0));
    let changes = outcome.changes.clone();
    commitment.apply(&changes);
    state.apply(&changes);
    let root = commitment.root();
    assert_eq!(root, StateCommitment::from_state(&state).root());
    let block = seal_block(
        header.hash_slow(),
        &input,
        outcome,
        root,
        Default::default(),
    );
    assert_eq!(block.header.state_root, root);
    assert_ne!(block.header.receipts_root, B256::ZERO);
    let account = state.account(created).expect("read").expect("exists");
    let code = state
        .code(account.code_hash)
        .expect("read")
        .expect("code stored");
    assert_eq!(code.original_bytes(), runtime);
}

fn hex_bytes(s: &str) -> Bytes {
    Bytes::from(hex_decode(s))
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A block continued after any prefix of its transactions (the parallel engine's fallback keeps
/// its committed prefix) is the block executed at once: receipts (cumulative gas, logs),
/// rejections, changes and gas used, with a transfer, an invalid nonce, a payment to the fee
/// vault, a creation and two calls that add to the same slot of the created contract.
#[test]
fn a_block_continued_after_any_prefix_is_the_block_executed_at_once() {
    let (genesis, state, input) = first_block();
    let (alice, carol) = (signer(0), signer(2));
    let bob = address!("0x000000000000000000000000000000000000b0b0");
    // Init code returning a runtime that adds CALLVALUE + 1 to slot CALLDATASIZE.
    let runtime = [0x36u8, 0x54, 0x34, 0x01, 0x60, 0x01, 0x01, 0x36, 0x55, 0x00];
    let mut init = vec![0x60, runtime.len() as u8, 0x60, 0x0c, 0x5f, 0x39, 0x60];
    init.extend([runtime.len() as u8, 0x5f, 0xf3, 0x00, 0x00]);
    init.extend(runtime);
    let created = alice.address().create(2);
    let txs = vec![
        tx(&alice, 0, TxKind::Call(bob), 1000, Bytes::new(), 21_000),
        tx(&alice, 7, TxKind::Call(bob), 1000, Bytes::new(), 21_000),
        tx(
            &carol,
            0,
            TxKind::Call(genesis.config.fee_vault),
            5,
            Bytes::new(),
            21_000,
        ),
        tx(&alice, 1, TxKind::Call(bob), 1, Bytes::new(), 21_000),
        tx(&alice, 2, TxKind::Create, 0, init.into(), 200_000),
        tx(
            &carol,
            1,
            TxKind::Call(created),
            3,
            Bytes::from(vec![1u8; 5]),
            100_000,
        ),
        tx(
            &alice,
            3,
            TxKind::Call(created),
            0,
            Bytes::from(vec![2u8; 5]),
            100_000,
        ),
    ];
    let whole = execute_block(&state, &genesis.config, &input, txs.clone()).expect("executes");
    assert_eq!(whole.executed.len(), 6);
    assert_eq!(
        whole.changes.storage[&created][&U256::from(5)],
        U256::from(5),
        "the calls after the creation added 3 + 1, then 0 + 1"
    );
    let summary = |o: &BlockOutcome| {
        let receipts: Vec<_> = o.executed.iter().map(|e| e.receipt.clone()).collect();
        let rejected: Vec<_> = o
            .rejected
            .iter()
            .map(|(h, r)| (*h, format!("{r:?}")))
            .collect();
        (receipts, rejected, o.changes.clone(), o.gas_used)
    };
    for k in 0..=txs.len() {
        let prefix =
            execute_block(&state, &genesis.config, &input, txs[..k].to_vec()).expect("prefix");
        let continued =
            execute_block_after(&state, &genesis.config, &input, txs[k..].to_vec(), prefix)
                .expect("continues");
        assert_eq!(
            summary(&continued),
            summary(&whole),
            "after {k} transactions"
        );
    }
}
