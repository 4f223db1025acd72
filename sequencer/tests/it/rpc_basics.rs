//! The JSON-RPC envelope and the read-only basics: identity methods, block
//! tags and header fields, batches, error codes, size limits, and alloy's
//! deserialization of what the node serves (HTTP and WebSocket).

use crate::harness::{
    CHAIN_ID, GWEI, TestNode, WAIT, assert_error, dev_key, eip1559, eip1559_create, eth, hex_b256,
    hex_u64, is_data, is_quantity, random_key, sign, tx_hash, within,
};
use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256, b256},
    providers::{Provider, ProviderBuilder, WsConnect},
};
use futures::StreamExt;
use rollup_core::chain::DEV_ADDRESSES;
use serde_json::{Value, json};

const EMPTY_OMMERS: B256 =
    b256!("0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");

/// Header fields every block object must carry (alloy refuses blocks without
/// the first fifteen; the rest are the London/Shanghai/Cancun/Prague ones).
const HEADER_FIELDS: [&str; 20] = [
    "hash",
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "transactions",
    "uncles",
];

/// Sends one transfer from dev account 0 and waits for its receipt.
async fn one_transfer(node: &TestNode) -> B256 {
    let (envelope, raw) = sign(
        &dev_key(0),
        eip1559(0, random_key().address(), U256::from(1u64), 21_000),
    )
    .await;
    let hash = node.rpc.send_raw_ok(&raw).await;
    assert_eq!(hash, tx_hash(&envelope));
    node.rpc.wait_receipt(hash, WAIT).await;
    hash
}

fn check_header_fields(block: &Value, tag: &str) {
    assert!(
        block.is_object(),
        "{tag}: block should be an object, got {block}"
    );
    for field in HEADER_FIELDS {
        assert!(
            block.get(field).is_some_and(|v| !v.is_null()),
            "{tag}: block lacks {field}: {block}"
        );
    }
    assert!(is_data(&block["hash"], 32), "{tag}: hash {}", block["hash"]);
    assert!(
        is_data(&block["mixHash"], 32),
        "{tag}: mixHash {}",
        block["mixHash"]
    );
    assert!(
        is_data(&block["nonce"], 8),
        "{tag}: nonce should be 8 bytes: {}",
        block["nonce"]
    );
    assert!(
        is_data(&block["logsBloom"], 256),
        "{tag}: logsBloom should be 256 bytes"
    );
    assert!(
        is_data(&block["withdrawalsRoot"], 32),
        "{tag}: withdrawalsRoot {}",
        block["withdrawalsRoot"]
    );
    assert_eq!(
        hex_b256(&block["sha3Uncles"]),
        EMPTY_OMMERS,
        "{tag}: sha3Uncles"
    );
    for q in [
        "number",
        "difficulty",
        "gasLimit",
        "gasUsed",
        "timestamp",
        "baseFeePerGas",
    ] {
        assert!(
            is_quantity(&block[q]),
            "{tag}: {q} is not a quantity: {}",
            block[q]
        );
    }
    assert_eq!(block["uncles"], json!([]), "{tag}: uncles");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_methods_answer_like_geth() {
    let node = TestNode::start().await;
    let rpc = &node.rpc;
    assert_eq!(
        rpc.result("eth_chainId", json!([])).await,
        json!(format!("{CHAIN_ID:#x}"))
    );
    assert_eq!(
        rpc.result("net_version", json!([])).await,
        json!(CHAIN_ID.to_string())
    );
    let version = rpc.result("web3_clientVersion", json!([])).await;
    assert!(
        version.as_str().is_some_and(|v| !v.is_empty()),
        "web3_clientVersion: {version}"
    );
    assert_eq!(rpc.result("eth_accounts", json!([])).await, json!([]));
    assert_eq!(rpc.result("eth_syncing", json!([])).await, json!(false));
    let number = rpc.result("eth_blockNumber", json!([])).await;
    assert!(is_quantity(&number), "eth_blockNumber: {number}");
    // Requests without params are fine too.
    let (_, response) = rpc
        .post_json(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)
        .await;
    assert_eq!(
        response["result"],
        json!(format!("{CHAIN_ID:#x}")),
        "eth_chainId without params: {response}"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_tags_resolve_and_headers_carry_every_field() {
    let node = TestNode::start().await;
    let rpc = &node.rpc;
    let hash = one_transfer(&node).await;
    let latest_number = rpc.block_number().await;
    assert!(latest_number >= 1, "a block was sealed for the transfer");

    let genesis = rpc.block("earliest").await;
    check_header_fields(&genesis, "earliest");
    assert_eq!(genesis["number"], "0x0");
    assert_eq!(hex_b256(&genesis["parentHash"]), B256::ZERO);
    assert_eq!(genesis["transactions"], json!([]));
    let zero = rpc.block("0x0").await;
    assert_eq!(zero, genesis, "0x0 and earliest are the same block");
    let by_hash = rpc
        .result("eth_getBlockByHash", json!([genesis["hash"], false]))
        .await;
    assert_eq!(by_hash, genesis, "eth_getBlockByHash(genesis)");

    let latest = rpc.block("latest").await;
    check_header_fields(&latest, "latest");
    assert_eq!(hex_u64(&latest["number"]), latest_number);
    assert_eq!(
        rpc.result("eth_getBlockByHash", json!([latest["hash"], false]))
            .await,
        latest,
        "eth_getBlockByHash(latest)"
    );
    let parent = rpc.block(&format!("{:#x}", latest_number - 1)).await;
    assert_eq!(
        latest["parentHash"], parent["hash"],
        "parentHash links to the previous block"
    );

    for tag in ["safe", "finalized"] {
        let block = rpc.block(tag).await;
        check_header_fields(&block, tag);
        assert!(
            hex_u64(&block["number"]) <= latest_number,
            "{tag} is not ahead of latest: {block}"
        );
    }
    let pending = rpc.block("pending").await;
    assert!(pending.is_object(), "pending: {pending}");
    assert!(
        hex_u64(&pending["number"]) >= latest_number,
        "pending number: {pending}"
    );
    assert!(
        pending["transactions"].is_array(),
        "pending.transactions: {pending}"
    );

    // The block holding the transfer, with hashes and with full objects.
    let receipt = rpc.result("eth_getTransactionReceipt", json!([hash])).await;
    let mined = rpc
        .result(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], false]),
        )
        .await;
    assert_eq!(mined["transactions"], json!([hash]), "hashes only: {mined}");
    let full = rpc
        .result(
            "eth_getBlockByNumber",
            json!([receipt["blockNumber"], true]),
        )
        .await;
    let txs = full["transactions"].as_array().expect("transactions");
    assert_eq!(txs.len(), 1, "{full}");
    assert_eq!(hex_b256(&txs[0]["hash"]), hash);
    assert_eq!(txs[0]["blockHash"], mined["hash"]);

    // Blocks that do not exist are null.
    assert_eq!(
        rpc.block(&format!("{:#x}", latest_number + 1000)).await,
        Value::Null
    );
    assert_eq!(
        rpc.result(
            "eth_getBlockByHash",
            json!([B256::repeat_byte(0xab), false])
        )
        .await,
        Value::Null
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_responses_keep_every_id() {
    let node = TestNode::start().await;
    let body = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "net_version", "params": []},
        {"jsonrpc": "2.0", "id": 30, "method": "eth_getBalance", "params": [DEV_ADDRESSES[0], "latest"]},
        {"jsonrpc": "2.0", "id": 4, "method": "foo_bar", "params": []},
    ]);
    let (status, response) = node.rpc.post_json(body.to_string()).await;
    assert_eq!(status, 200, "{response}");
    let responses = response
        .as_array()
        .unwrap_or_else(|| panic!("batch response should be an array: {response}"));
    assert_eq!(responses.len(), 4, "{response}");
    let by_id = |id: Value| {
        responses
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no response with id {id}: {response}"))
    };
    assert_eq!(by_id(json!(1))["result"], json!(format!("{CHAIN_ID:#x}")));
    assert_eq!(by_id(json!("two"))["result"], json!(CHAIN_ID.to_string()));
    assert_eq!(
        by_id(json!(30))["result"],
        json!(format!("{:#x}", eth(10_000)))
    );
    assert_error(
        &by_id(json!(4))["error"],
        -32601,
        "the method foo_bar does not exist/is not available",
        "batch",
    );

    // An invalid entry gets its own error; the others are still served.
    let (_, response) = node
        .rpc
        .post_json(r#"[1, {"jsonrpc":"2.0","id":9,"method":"eth_chainId","params":[]}]"#)
        .await;
    let responses = response
        .as_array()
        .unwrap_or_else(|| panic!("batch response should be an array: {response}"));
    assert_eq!(responses.len(), 2, "{response}");
    let ok = responses
        .iter()
        .find(|r| r["id"] == json!(9))
        .unwrap_or_else(|| panic!("no id 9: {response}"));
    assert_eq!(ok["result"], json!(format!("{CHAIN_ID:#x}")));
    let bad = responses
        .iter()
        .find(|r| r["id"] != json!(9))
        .expect("error entry");
    assert_error(&bad["error"], -32600, "", "invalid batch entry");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_errors_have_geths_codes() {
    let node = TestNode::start().await;
    let rpc = &node.rpc;

    // Empty batch: one error object, invalid request.
    let (_, response) = rpc.post_json("[]").await;
    assert!(
        response.is_object(),
        "empty batch answers with a single error object: {response}"
    );
    assert_error(&response["error"], -32600, "", "empty batch");
    assert_eq!(response["id"], Value::Null, "{response}");

    // Unknown method.
    let (_, response) = rpc
        .post_json(r#"{"jsonrpc":"2.0","id":5,"method":"foo_bar","params":[]}"#)
        .await;
    assert_eq!(response["id"], json!(5), "{response}");
    assert_eq!(response["error"]["code"], json!(-32601), "{response}");
    assert_eq!(
        response["error"]["message"],
        json!("the method foo_bar does not exist/is not available")
    );

    // Malformed JSON.
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"#,
        "not json at all",
        r#"[{"jsonrpc":"2.0","id":1,"#,
    ] {
        let (_, response) = rpc.post_json(body).await;
        assert_error(
            &response["error"],
            -32700,
            "",
            &format!("malformed body {body:?}"),
        );
        assert_eq!(response["id"], Value::Null, "{response}");
    }

    // Wrong parameter types and missing parameters.
    for (method, params) in [
        ("eth_getBalance", json!(["0x1234", "latest"])),
        ("eth_getBalance", json!([])),
        ("eth_getBlockByNumber", json!([true, false])),
        ("eth_getBlockByNumber", json!(["latest", "yes"])),
        ("eth_getTransactionReceipt", json!([123])),
        ("eth_getTransactionByHash", json!(["0xabcd"])),
        (
            "eth_getTransactionCount",
            json!([DEV_ADDRESSES[0], "not-a-tag"]),
        ),
        ("eth_sendRawTransaction", json!([42])),
        (
            "eth_getStorageAt",
            json!([DEV_ADDRESSES[0], "xyz", "latest"]),
        ),
    ] {
        let error = rpc.error(method, params.clone()).await;
        assert_error(&error, -32602, "", &format!("{method} {params}"));
    }
    // The node still serves afterwards.
    assert_eq!(
        rpc.result("eth_chainId", json!([])).await,
        json!(format!("{CHAIN_ID:#x}"))
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_above_five_mib_are_refused_and_large_valid_ones_served() {
    let node = TestNode::start().await;
    let request = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    // 4 MiB of JSON whitespace around a valid request: served.
    let padded = format!("{request}{}", " ".repeat(4 * 1024 * 1024));
    let (status, response) = node.rpc.post_json(padded).await;
    assert_eq!(status, 200, "4 MiB request: {response}");
    assert_eq!(
        response["result"],
        json!(format!("{CHAIN_ID:#x}")),
        "4 MiB request"
    );
    // Just over 5 MiB: refused with 413, as geth does.
    let oversized = format!("{request}{}", " ".repeat(5 * 1024 * 1024 + 1024));
    let (status, body) = node
        .rpc
        .post(oversized)
        .await
        .expect("the server answers an oversized body");
    assert_eq!(
        status,
        413,
        "an oversized body should get HTTP 413, got {status}: {}",
        crate::harness::truncate(&body, 500)
    );
    // The node still serves afterwards.
    assert_eq!(
        node.rpc.result("eth_chainId", json!([])).await,
        json!(format!("{CHAIN_ID:#x}"))
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_above_1000_entries_are_refused() {
    let node = TestNode::start().await;
    let batch = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []}))
                .collect(),
        )
        .to_string()
    };
    let (_, response) = node.rpc.post_json(batch(1000)).await;
    let responses = response
        .as_array()
        .unwrap_or_else(|| panic!("1000-entry batch: {response}"));
    assert_eq!(responses.len(), 1000);
    assert!(
        responses
            .iter()
            .all(|r| r["result"] == json!(format!("{CHAIN_ID:#x}"))),
        "1000-entry batch served"
    );

    let (_, response) = node.rpc.post_json(batch(1001)).await;
    let text = crate::harness::truncate(&response.to_string(), 500);
    // geth answers `[{"id":<first id>,"error":{"code":-32600,"message":"batch too large"}}]`.
    let errors: Vec<&Value> = match &response {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    assert!(
        errors.iter().all(|r| r.get("result").is_none()),
        "no entry of a refused batch is served: {text}"
    );
    assert!(
        !errors.is_empty() && errors.len() < 1001,
        "a refused batch is not answered entry by entry: {text}"
    );
    assert_error(&errors[0]["error"], -32600, "", "1001-entry batch");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alloy_provider_reads_blocks_and_balances() {
    let node = TestNode::start().await;
    let provider = ProviderBuilder::new().connect_http(node.http_url().parse().expect("url"));
    assert_eq!(provider.get_chain_id().await.expect("chain id"), CHAIN_ID);
    assert_eq!(
        provider
            .get_balance(DEV_ADDRESSES[3])
            .await
            .expect("balance"),
        eth(10_000)
    );
    assert_eq!(
        provider
            .get_balance(Address::repeat_byte(0x77))
            .await
            .expect("balance"),
        U256::ZERO
    );
    assert_eq!(
        provider
            .get_transaction_count(DEV_ADDRESSES[3])
            .await
            .expect("nonce"),
        0
    );

    one_transfer(&node).await;
    let number = provider.get_block_number().await.expect("block number");
    assert!(number >= 1);
    for tag in [
        BlockNumberOrTag::Earliest,
        BlockNumberOrTag::Latest,
        BlockNumberOrTag::Safe,
        BlockNumberOrTag::Finalized,
        BlockNumberOrTag::Number(number),
    ] {
        let block = provider
            .get_block_by_number(tag)
            .await
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
        let block = block.unwrap_or_else(|| panic!("{tag}: no block"));
        assert_eq!(
            block.header.inner.hash_slow(),
            block.header.hash,
            "{tag}: the hash is keccak(rlp(header))"
        );
        assert!(
            block.header.base_fee_per_gas.is_some(),
            "{tag}: baseFeePerGas"
        );
        assert!(
            block.header.withdrawals_root.is_some(),
            "{tag}: withdrawalsRoot"
        );
        let full = provider
            .get_block_by_number(tag)
            .full()
            .await
            .unwrap_or_else(|e| panic!("{tag} full: {e}"));
        assert_eq!(full.expect("full block").header.hash, block.header.hash);
    }
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .full()
        .await
        .expect("latest")
        .expect("block");
    assert_eq!(latest.transactions.len(), 1);
    assert!(
        latest
            .header
            .base_fee_per_gas
            .is_some_and(|fee| u128::from(fee) <= GWEI),
        "base fee starts at 1 gwei"
    );
    // Balances at a block number: before and after the transfer.
    assert_eq!(
        provider
            .get_balance(DEV_ADDRESSES[0])
            .number(0)
            .await
            .expect("balance at 0"),
        eth(10_000),
        "historical balance at genesis"
    );
    assert!(
        provider
            .get_balance(DEV_ADDRESSES[0])
            .await
            .expect("balance")
            < eth(10_000)
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_serves_requests_and_new_heads() {
    let node = TestNode::start().await;
    let provider = within(
        "ws connect",
        WAIT,
        ProviderBuilder::new().connect_ws(WsConnect::new(node.ws_url())),
    )
    .await
    .expect("ws connect");
    assert_eq!(
        provider.get_chain_id().await.expect("chain id over ws"),
        CHAIN_ID
    );
    assert_eq!(
        provider
            .get_balance(DEV_ADDRESSES[1])
            .await
            .expect("balance over ws"),
        eth(10_000)
    );
    let subscription = provider
        .subscribe_blocks()
        .await
        .expect("eth_subscribe newHeads");
    let mut heads = subscription.into_stream();
    let hash = one_transfer(&node).await;
    let receipt = node
        .rpc
        .result("eth_getTransactionReceipt", json!([hash]))
        .await;
    let mined = hex_u64(&receipt["blockNumber"]);
    let head = within("a newHeads notification", WAIT, async {
        loop {
            let head = heads.next().await.expect("subscription open");
            if head.number >= mined {
                return head;
            }
        }
    })
    .await;
    assert_eq!(head.number, mined);
    assert_eq!(
        head.hash,
        hex_b256(&receipt["blockHash"]),
        "newHeads hash equals the receipt's block hash"
    );
    node.stop().await;
}

/// eth_getProof, read through alloy's provider: the account proof verifies against the
/// block's state root and each storage proof against the account's storage hash (alloy-trie's
/// verifier), for an account with storage, an absent slot and an absent account, at the head
/// (served from the node's trie cache) and at an earlier block (rebuilt from the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_proof_verifies_against_the_blocks_state_root() {
    use alloy::primitives::{Bytes, keccak256};
    use alloy_trie::{Nibbles, TrieAccount, proof::verify_proof};

    let node = TestNode::start().await;
    let provider = ProviderBuilder::new().connect_http(node.http_url().parse().expect("url"));
    // Init code that stores 0x2a at slot 1 and 0x07 at slot 2 and deploys no code.
    let init = Bytes::from_static(&[
        0x60, 0x2a, 0x60, 0x01, 0x55, 0x60, 0x07, 0x60, 0x02, 0x55, 0x00,
    ]);
    let (_, raw) = sign(&dev_key(1), eip1559_create(0, init, 200_000)).await;
    let receipt = node
        .rpc
        .wait_receipt(node.rpc.send_raw_ok(&raw).await, WAIT)
        .await;
    let deployed_in = hex_u64(&receipt["blockNumber"]);
    let contract = DEV_ADDRESSES[1].create(0);
    one_transfer(&node).await;
    let head = node.rpc.block_number().await;
    assert!(head > deployed_in);

    let slots: Vec<B256> = [1u64, 2, 3].map(|s| B256::from(U256::from(s))).to_vec();
    for (block, what) in [(head, "head"), (deployed_in, "earlier block")] {
        let header = node.rpc.block(&format!("0x{block:x}")).await;
        let state_root = hex_b256(&header["stateRoot"]);
        for (address, slots, exists) in [
            (contract, slots.clone(), true),
            (DEV_ADDRESSES[0], vec![], true),
            (Address::repeat_byte(0x5a), slots[..1].to_vec(), false),
        ] {
            let proof = provider
                .get_proof(address, slots.clone())
                .number(block)
                .await
                .unwrap_or_else(|e| panic!("{what}: eth_getProof({address}): {e}"));
            let leaf = exists.then(|| {
                alloy_rlp::encode(TrieAccount {
                    nonce: proof.nonce,
                    balance: proof.balance,
                    storage_root: proof.storage_hash,
                    code_hash: proof.code_hash,
                })
            });
            verify_proof(
                state_root,
                Nibbles::unpack(keccak256(address)),
                leaf,
                &proof.account_proof,
            )
            .unwrap_or_else(|e| panic!("{what}: account proof of {address}: {e}"));
            assert_eq!(proof.storage_proof.len(), slots.len());
            for (slot, sp) in slots.iter().zip(&proof.storage_proof) {
                let value = sp.value;
                let expected = match (address == contract, U256::from_be_bytes(slot.0)) {
                    (true, s) if s == U256::from(1) => U256::from(0x2a),
                    (true, s) if s == U256::from(2) => U256::from(7),
                    _ => U256::ZERO,
                };
                assert_eq!(value, expected, "{what}: value of {address} slot {slot}");
                verify_proof(
                    proof.storage_hash,
                    Nibbles::unpack(keccak256(slot)),
                    (!value.is_zero()).then(|| alloy_rlp::encode(value)),
                    &sp.proof,
                )
                .unwrap_or_else(|e| panic!("{what}: storage proof of {address} {slot}: {e}"));
            }
        }
    }
}
