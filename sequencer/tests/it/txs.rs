//! Transaction intake and results: sending through alloy's wallet provider,
//! receipts and transaction objects (pending and mined), nonces, every class
//! of invalid transaction (geth's error, nothing changed), replacement, and
//! `eth_sendRawTransactionSync`.

use crate::harness::{
    CHAIN_ID, GWEI, TestNode, WAIT, assert_error, dev_key, eip1559, eth, hex_address, hex_b256,
    hex_u64, hex_u256, is_data, legacy, random_key, sign, tx_hash, within,
};
use alloy::{
    eips::eip2930::{AccessList, AccessListItem},
    network::{EthereumWallet, ReceiptResponse, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use rollup_core::chain::{ChainConfig, DEV_ADDRESSES};
use serde_json::{Value, json};

/// Checks the fields every receipt carries and returns (gasUsed, effectiveGasPrice, baseFee).
async fn check_receipt(
    node: &TestNode,
    receipt: &Value,
    hash: B256,
    from: Address,
    to: Address,
    ty: &str,
) -> (u64, u128, u128) {
    assert_eq!(hex_b256(&receipt["transactionHash"]), hash, "{receipt}");
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["type"], ty, "{receipt}");
    assert_eq!(hex_address(&receipt["from"]), from, "{receipt}");
    assert_eq!(hex_address(&receipt["to"]), to, "{receipt}");
    assert_eq!(receipt["contractAddress"], Value::Null, "{receipt}");
    assert_eq!(receipt["logs"], json!([]), "{receipt}");
    assert!(is_data(&receipt["logsBloom"], 256), "logsBloom: {receipt}");
    assert_eq!(
        hex_u256(&receipt["logsBloom"]),
        U256::ZERO,
        "empty bloom without logs"
    );
    let gas_used = hex_u64(&receipt["gasUsed"]);
    assert_eq!(
        gas_used, 21_000,
        "a plain transfer uses 21000 gas: {receipt}"
    );
    let index = hex_u64(&receipt["transactionIndex"]);
    let block = node
        .rpc
        .result(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], false]),
        )
        .await;
    assert_eq!(
        block["hash"], receipt["blockHash"],
        "receipt.blockHash is the block's hash"
    );
    assert_eq!(
        block["transactions"][index as usize],
        json!(hash),
        "the block lists the tx at transactionIndex"
    );
    // One transaction per block here (blocks are sealed as soon as a tx arrives,
    // and each test waits for its receipt), so cumulative == own gas.
    assert_eq!(
        hex_u64(&receipt["cumulativeGasUsed"]),
        gas_used * (index + 1),
        "{receipt}"
    );
    let base_fee = hex_u64(&block["baseFeePerGas"]) as u128;
    let effective = hex_u64(&receipt["effectiveGasPrice"]) as u128;
    (gas_used, effective, base_fee)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alloy_wallet_transfer_is_mined_with_a_complete_receipt() {
    let node = TestNode::start().await;
    let signer = dev_key(0);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(node.http_url().parse().expect("url"));
    let to = random_key().address();
    let request = TransactionRequest::default().with_to(to).with_value(eth(1));
    let pending = provider
        .send_transaction(request)
        .await
        .expect("alloy send_transaction");
    let hash = *pending.tx_hash();
    let typed = within("alloy get_receipt", WAIT, pending.get_receipt())
        .await
        .expect("alloy receipt");
    assert!(typed.status(), "{typed:?}");
    assert_eq!(typed.gas_used(), 21_000);
    assert_eq!(typed.from(), signer.address());
    assert_eq!(typed.to(), Some(to));

    let receipt = node
        .rpc
        .result("eth_getTransactionReceipt", json!([hash]))
        .await;
    let (gas_used, effective, base_fee) =
        check_receipt(&node, &receipt, hash, signer.address(), to, "0x2").await;
    let tx = node
        .rpc
        .result("eth_getTransactionByHash", json!([hash]))
        .await;
    let max_fee = hex_u64(&tx["maxFeePerGas"]) as u128;
    let tip = hex_u64(&tx["maxPriorityFeePerGas"]) as u128;
    assert_eq!(
        effective,
        max_fee.min(base_fee + tip),
        "effectiveGasPrice = min(maxFee, baseFee + tip): {receipt}"
    );
    assert_eq!(
        hex_u64(&tx["gasPrice"]) as u128,
        effective,
        "a mined 1559 tx reports gasPrice = effective price"
    );

    // Exact balances: value moved, base fee burnt, tip to the fee vault.
    let fee = U256::from(gas_used) * U256::from(effective);
    assert_eq!(node.rpc.balance(to, "latest").await, eth(1));
    assert_eq!(
        node.rpc.balance(signer.address(), "latest").await,
        eth(10_000) - eth(1) - fee
    );
    let vault = ChainConfig::default().fee_vault;
    assert_eq!(
        node.rpc.balance(vault, "latest").await,
        U256::from(gas_used) * U256::from(effective - base_fee),
        "the fee vault receives exactly the priority fee"
    );
    assert_eq!(
        provider.get_balance(to).await.expect("alloy balance"),
        eth(1)
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_and_access_list_transactions_are_mined() {
    let node = TestNode::start().await;
    let signer = dev_key(1);
    let to = random_key().address();

    let (envelope, raw) = sign(
        &signer,
        legacy(Some(CHAIN_ID), 0, to, U256::from(7u64), 2 * GWEI),
    )
    .await;
    let hash = node.rpc.send_raw_ok(&raw).await;
    assert_eq!(hash, tx_hash(&envelope));
    let receipt = node.rpc.wait_receipt(hash, WAIT).await;
    let (_, effective, _) = check_receipt(&node, &receipt, hash, signer.address(), to, "0x0").await;
    assert_eq!(effective, 2 * GWEI, "a legacy tx pays its gas price");
    let tx = node
        .rpc
        .result("eth_getTransactionByHash", json!([hash]))
        .await;
    assert_eq!(tx["type"], "0x0", "{tx}");
    assert_eq!(tx["chainId"], json!(format!("{CHAIN_ID:#x}")), "{tx}");
    let v = hex_u64(&tx["v"]);
    assert!(
        v == 35 + 2 * CHAIN_ID || v == 36 + 2 * CHAIN_ID,
        "EIP-155 v: {tx}"
    );

    let access_list = AccessList(vec![AccessListItem {
        address: to,
        storage_keys: vec![B256::ZERO],
    }]);
    let request = TransactionRequest::default()
        .with_chain_id(CHAIN_ID)
        .with_nonce(1)
        .with_to(to)
        .with_value(U256::from(3u64))
        .with_gas_limit(30_000)
        .with_gas_price(2 * GWEI)
        .with_access_list(access_list);
    let (envelope, raw) = sign(&signer, request).await;
    assert!(envelope.is_eip2930());
    let hash = node.rpc.send_raw_ok(&raw).await;
    let receipt = node.rpc.wait_receipt(hash, WAIT).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["type"], "0x1", "{receipt}");
    // 21000 + 2400 per address + 1900 per storage key.
    assert_eq!(
        hex_u64(&receipt["gasUsed"]),
        21_000 + 2_400 + 1_900,
        "{receipt}"
    );
    assert_eq!(node.rpc.balance(to, "latest").await, U256::from(10u64));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transaction_is_visible_before_and_after_mining() {
    let node = TestNode::start_manual().await;
    let rpc = &node.rpc;
    let signer = dev_key(0);
    let to = Address::repeat_byte(0x5a);
    let (_, raw) = sign(&signer, eip1559(0, to, U256::from(1234u64), 21_000)).await;
    let hash = rpc.send_raw_ok(&raw).await;

    let tx = rpc.result("eth_getTransactionByHash", json!([hash])).await;
    assert!(tx.is_object(), "a pooled tx is found by hash: {tx}");
    assert_eq!(tx["blockNumber"], Value::Null, "pending: {tx}");
    assert_eq!(tx["blockHash"], Value::Null, "pending: {tx}");
    assert_eq!(tx["transactionIndex"], Value::Null, "pending: {tx}");
    assert_eq!(hex_b256(&tx["hash"]), hash);
    assert_eq!(hex_address(&tx["from"]), signer.address());
    assert_eq!(hex_address(&tx["to"]), to);
    assert_eq!(tx["nonce"], "0x0");
    assert_eq!(tx["type"], "0x2");
    assert_eq!(tx["value"], "0x4d2");
    assert_eq!(tx["gas"], "0x5208");
    assert_eq!(tx["input"], "0x");
    assert_eq!(tx["chainId"], json!(format!("{CHAIN_ID:#x}")));
    for field in [
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "r",
        "s",
        "yParity",
        "accessList",
    ] {
        assert!(
            tx.get(field).is_some_and(|v| !v.is_null()),
            "pending tx lacks {field}: {tx}"
        );
    }
    assert_eq!(rpc.nonce(signer.address(), "latest").await, 0);
    assert_eq!(rpc.nonce(signer.address(), "pending").await, 1);
    assert_eq!(
        rpc.result("eth_getTransactionReceipt", json!([hash])).await,
        Value::Null,
        "no receipt while pending"
    );
    let provider = ProviderBuilder::new().connect_http(node.http_url().parse().expect("url"));
    let typed = provider
        .get_transaction_by_hash(hash)
        .await
        .expect("alloy reads a pending tx")
        .expect("found");
    assert_eq!(typed.block_number, None);

    let block = node.mine().await;
    assert_eq!(block.txs.len(), 1);
    let tx = rpc.result("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(hex_u64(&tx["blockNumber"]), block.number(), "{tx}");
    assert_eq!(hex_b256(&tx["blockHash"]), block.hash, "{tx}");
    assert_eq!(tx["transactionIndex"], "0x0", "{tx}");
    assert_eq!(rpc.nonce(signer.address(), "latest").await, 1);
    assert_eq!(rpc.nonce(signer.address(), "pending").await, 1);
    let receipt = rpc.result("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(hex_u64(&receipt["blockNumber"]), block.number());
    assert_eq!(rpc.balance(to, "latest").await, U256::from(1234u64));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_hash_has_null_receipt_and_transaction() {
    let node = TestNode::start().await;
    let unknown = B256::repeat_byte(0x13);
    assert_eq!(
        node.rpc
            .result("eth_getTransactionReceipt", json!([unknown]))
            .await,
        Value::Null
    );
    assert_eq!(
        node.rpc
            .result("eth_getTransactionByHash", json!([unknown]))
            .await,
        Value::Null
    );
    node.stop().await;
}

/// What an invalid submission must not change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    pool_len: usize,
    pool_rows: Vec<(u64, Bytes)>,
    head: (u64, B256),
    store_head: Option<u64>,
    latest_nonce: u64,
    pending_nonce: u64,
    balance: U256,
}

async fn snapshot(node: &TestNode, who: Address) -> Snapshot {
    let n = node.node();
    Snapshot {
        pool_len: n.pool_len(),
        pool_rows: n.store.pool_txs().await.expect("pool rows"),
        head: n.with_head(|h| (h.header.number, h.hash)),
        store_head: n.store.head_number().await.expect("store head"),
        latest_nonce: node.rpc.nonce(who, "latest").await,
        pending_nonce: node.rpc.nonce(who, "pending").await,
        balance: node.rpc.balance(who, "latest").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_transactions_get_geths_errors_and_change_nothing() {
    let node = TestNode::start_manual().await;
    let rpc = &node.rpc;
    let signer = dev_key(0);
    let me = signer.address();
    let to = Address::repeat_byte(0x99);

    // Account nonce 1 (one mined tx), and one pooled tx at nonce 1.
    let (_, raw0) = sign(&signer, eip1559(0, to, U256::from(1u64), 21_000)).await;
    rpc.send_raw_ok(&raw0).await;
    node.mine().await;
    let (pooled, pooled_raw) = sign(&signer, eip1559(1, to, U256::from(2u64), 21_000)).await;
    assert_eq!(rpc.send_raw_ok(&pooled_raw).await, tx_hash(&pooled));
    let before = snapshot(&node, me).await;
    assert_eq!(
        (before.latest_nonce, before.pending_nonce, before.pool_len),
        (1, 2, 1),
        "{before:?}"
    );

    let base_fee = node.node().next_base_fee() as u128;
    let fee = |nonce: u64, max_fee: u128, tip: u128| {
        eip1559(nonce, to, U256::from(1u64), 21_000)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(tip)
    };
    let mut cases: Vec<(&str, Bytes, &str)> = Vec::new();
    cases.push((
        "nonce too low",
        sign(&signer, eip1559(0, to, U256::from(3u64), 21_000))
            .await
            .1,
        "nonce too low",
    ));
    cases.push((
        "nonce too high (gap of 100)",
        sign(&signer, eip1559(101, to, U256::ONE, 21_000)).await.1,
        "nonce too high",
    ));
    cases.push((
        "insufficient funds",
        sign(&signer, eip1559(2, to, eth(20_000), 21_000)).await.1,
        "insufficient funds for gas * price + value",
    ));
    cases.push((
        "insufficient funds (empty account)",
        sign(&random_key(), eip1559(0, to, U256::ZERO, 21_000))
            .await
            .1,
        "insufficient funds for gas * price + value",
    ));
    cases.push(("already known", pooled_raw.clone(), "already known"));
    cases.push((
        "replacement +5%",
        sign(&signer, fee(1, 10 * GWEI * 105 / 100, GWEI * 105 / 100))
            .await
            .1,
        "replacement transaction underpriced",
    ));
    cases.push((
        "replacement with a higher fee cap but the same tip",
        sign(&signer, fee(1, 20 * GWEI, GWEI)).await.1,
        "replacement transaction underpriced",
    ));
    cases.push((
        "fee cap below base fee",
        sign(&signer, fee(2, base_fee - 1, 0)).await.1,
        "max fee per gas less than block base fee",
    ));
    cases.push((
        "tip above fee cap",
        sign(&signer, fee(2, 2 * GWEI, 3 * GWEI)).await.1,
        "max priority fee per gas higher than max fee per gas",
    ));
    cases.push((
        "intrinsic gas too low",
        sign(&signer, eip1559(2, to, U256::ONE, 20_999)).await.1,
        "intrinsic gas too low",
    ));
    cases.push((
        "gas limit above the block gas limit",
        sign(&signer, eip1559(2, to, U256::ONE, 30_000_001)).await.1,
        "exceeds block gas limit",
    ));
    let big = eip1559(2, to, U256::ONE, 3_000_000).with_input(Bytes::from(vec![0u8; 130 * 1024]));
    cases.push((
        "oversized data (130 KiB)",
        sign(&signer, big).await.1,
        "oversized data",
    ));
    let modexp = Address::with_last_byte(5);
    cases.push((
        "straight to MODEXP (no one-step proof of it as a transaction)",
        sign(&signer, eip1559(2, modexp, U256::ZERO, 100_000))
            .await
            .1,
        "transaction to precompile 0x0000000000000000000000000000000000000005 cannot be proven by the fault proof: call it from a contract",
    ));
    let keys: Vec<B256> = (0..64u8).map(B256::with_last_byte).collect();
    cases.push((
        "an access list of 65 entries (more than the fault proof warms)",
        sign(
            &signer,
            eip1559(2, to, U256::ONE, 300_000).with_access_list(AccessList(vec![
                AccessListItem {
                    address: to,
                    storage_keys: keys,
                },
            ])),
        )
        .await
        .1,
        "access list of 65 entries cannot be proven by the fault proof: at most 64 addresses and storage keys",
    ));
    let mut other_chain = eip1559(2, to, U256::ONE, 21_000);
    other_chain.set_chain_id(1);
    cases.push((
        "wrong chain id",
        sign(&signer, other_chain).await.1,
        "invalid chain id",
    ));
    cases.push((
        "legacy without EIP-155",
        sign(&signer, legacy(None, 2, to, U256::ONE, 2 * GWEI))
            .await
            .1,
        "only replay-protected (EIP-155) transactions allowed over RPC",
    ));

    for (name, raw, message) in &cases {
        let response = rpc.send_raw(raw).await;
        let error = response
            .get("error")
            .unwrap_or_else(|| panic!("{name}: accepted: {response}"));
        assert_error(error, -32000, message, name);
        let after = snapshot(&node, me).await;
        assert_eq!(
            after, before,
            "{name}: the pool, the store or the state changed"
        );
    }
    // Undecodable bytes: an error (geth: -32000 with the RLP error; -32602 is fine too) and no change.
    for (name, raw) in [
        ("garbage", Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef])),
        ("empty", Bytes::new()),
        (
            "truncated",
            Bytes::copy_from_slice(&pooled_raw[..pooled_raw.len() - 10]),
        ),
        (
            "trailing bytes",
            Bytes::from([&pooled_raw[..], &[0u8][..]].concat()),
        ),
        ("unknown type 0x7f", Bytes::from_static(&[0x7f, 0xc0])),
    ] {
        let response = rpc.send_raw(&raw).await;
        let error = response
            .get("error")
            .unwrap_or_else(|| panic!("{name}: accepted: {response}"));
        let code = error["code"].as_i64();
        assert!(
            matches!(code, Some(-32000) | Some(-32602)),
            "{name}: code {error}"
        );
        assert_eq!(
            snapshot(&node, me).await,
            before,
            "{name}: something changed"
        );
    }

    // The pooled tx is intact and gets mined; nothing else does.
    let block = node.mine().await;
    assert_eq!(block.txs.len(), 1);
    assert_eq!(*block.txs[0].tx.inner().tx_hash(), tx_hash(&pooled));
    assert_eq!(rpc.nonce(me, "latest").await, 2);
    assert_eq!(node.node().pool_len(), 0);
    assert!(
        node.node().store.pool_txs().await.expect("rows").is_empty(),
        "mined txs leave the stored pool"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacement_with_a_ten_percent_bump_replaces_the_pooled_transaction() {
    let node = TestNode::start_manual().await;
    let rpc = &node.rpc;
    let signer = dev_key(3);
    let to = Address::repeat_byte(0x31);
    let (old, old_raw) = sign(&signer, eip1559(0, to, U256::from(1u64), 21_000)).await;
    let old_hash = rpc.send_raw_ok(&old_raw).await;
    assert_eq!(old_hash, tx_hash(&old));
    let bumped = eip1559(0, to, U256::from(2u64), 21_000)
        .with_max_fee_per_gas(11 * GWEI)
        .with_max_priority_fee_per_gas(GWEI * 110 / 100);
    let (new, new_raw) = sign(&signer, bumped).await;
    let new_hash = rpc.send_raw_ok(&new_raw).await;
    assert_eq!(new_hash, tx_hash(&new));

    assert_eq!(
        rpc.result("eth_getTransactionByHash", json!([old_hash]))
            .await,
        Value::Null,
        "the old tx is gone"
    );
    let tx = rpc
        .result("eth_getTransactionByHash", json!([new_hash]))
        .await;
    assert_eq!(tx["value"], "0x2", "{tx}");
    assert_eq!(node.node().pool_len(), 1);
    let rows = node.node().store.pool_txs().await.expect("rows");
    assert_eq!(rows.len(), 1, "the stored pool holds only the replacement");
    assert_eq!(rows[0].1, new_raw);
    assert_eq!(rpc.nonce(signer.address(), "pending").await, 1);
    // The replaced tx cannot come back either.
    let response = rpc.send_raw(&old_raw).await;
    assert_error(
        &response["error"],
        -32000,
        "replacement transaction underpriced",
        "resending the replaced tx",
    );

    node.mine().await;
    let receipt = rpc
        .result("eth_getTransactionReceipt", json!([new_hash]))
        .await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(
        rpc.result("eth_getTransactionReceipt", json!([old_hash]))
            .await,
        Value::Null
    );
    assert_eq!(rpc.balance(to, "latest").await, U256::from(2u64));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_raw_transaction_sync_returns_the_receipt() {
    let node = TestNode::start().await;
    let signer = dev_key(4);
    let to = Address::repeat_byte(0x44);
    let (envelope, raw) = sign(&signer, eip1559(0, to, U256::from(9u64), 21_000)).await;
    let receipt = node
        .rpc
        .result("eth_sendRawTransactionSync", json!([raw]))
        .await;
    assert!(receipt.is_object(), "{receipt}");
    assert_eq!(
        hex_b256(&receipt["transactionHash"]),
        tx_hash(&envelope),
        "{receipt}"
    );
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert!(hex_u64(&receipt["blockNumber"]) >= 1, "{receipt}");
    assert_eq!(
        node.rpc
            .result("eth_getTransactionReceipt", json!([tx_hash(&envelope)]))
            .await,
        receipt
    );

    let provider = ProviderBuilder::new().connect_http(node.http_url().parse().expect("url"));
    let (envelope, raw) = sign(&signer, eip1559(1, to, U256::from(1u64), 21_000)).await;
    let typed = within(
        "send_raw_transaction_sync",
        WAIT,
        provider.send_raw_transaction_sync(&raw),
    )
    .await
    .expect("alloy send_raw_transaction_sync");
    assert_eq!(typed.transaction_hash(), tx_hash(&envelope));
    assert!(typed.status());
    assert_eq!(node.rpc.balance(to, "latest").await, U256::from(10u64));

    // Invalid transactions fail the same way as with eth_sendRawTransaction.
    let error = node
        .rpc
        .error("eth_sendRawTransactionSync", json!([raw]))
        .await;
    assert_error(
        &error,
        -32000,
        "nonce too low",
        "eth_sendRawTransactionSync of a mined tx",
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_are_mined_on_a_postgres_store() {
    let Some(node) = TestNode::start_postgres(|_| {}).await else {
        return;
    };
    let mut hashes = Vec::new();
    for (i, key) in [dev_key(5), dev_key(6)].iter().enumerate() {
        for nonce in 0..3 {
            let (_, raw) = sign(
                key,
                eip1559(nonce, DEV_ADDRESSES[9], U256::from(1 + i as u64), 21_000),
            )
            .await;
            hashes.push(node.rpc.send_raw_ok(&raw).await);
        }
    }
    for hash in hashes {
        let receipt = node.rpc.wait_receipt(hash, WAIT).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }
    assert_eq!(node.rpc.nonce(DEV_ADDRESSES[5], "latest").await, 3);
    assert_eq!(
        node.rpc.balance(DEV_ADDRESSES[9], "latest").await,
        eth(10_000) + U256::from(9u64)
    );
    node.stop().await;
}
