//! Differential run against Anvil (same chain id, hardfork and gas limit): the
//! same signed transactions, one per block, must give the same receipts
//! (status, gas, logs, bloom, contract address) and the same post-state
//! (balances of everyone but the fee-paying sender and the fee recipients,
//! nonces, code, storage, eth_call results and revert errors).
//!
//! Base fees differ by design (the sequencer's block 1 starts at the initial
//! base fee, Anvil's genesis does), so no contract here reads BASEFEE or
//! GASPRICE and the sender's balance is not compared.

use crate::harness::{
    Anvil, GWEI, Rpc, TestNode, WAIT, dev_key, eip1559, eip1559_create, eth, legacy, sign, truncate,
};
use alloy::{
    eips::eip2930::{AccessList, AccessListItem},
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    rpc::types::TransactionRequest,
};
use alloy_sol_types::{SolCall, SolValue, sol};
use rollup_core::chain::DEV_ADDRESSES;
use serde_json::{Value, json};

sol! {
    function transfer(address to, uint256 value) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
    function totalSupply() external view returns (uint256);
    function name() external view returns (string);
}

/// Init code that returns `runtime` as the contract's code.
fn deploy_code(runtime: &[u8]) -> Bytes {
    let len = u8::try_from(runtime.len()).expect("short runtime");
    let mut code = vec![0x60, len, 0x80, 0x60, 0x09, 0x5f, 0x39, 0x5f, 0xf3];
    code.extend_from_slice(runtime);
    code.into()
}

/// Stores calldata word 0 at the slot in calldata word 1, and logs it:
/// `LOG2(data = word 0, topics = [keccak("Logged(address,uint256)"), caller])`.
fn logger_runtime() -> Vec<u8> {
    let mut code = vec![
        0x5f, 0x35, 0x60, 0x20, 0x35, 0x55, 0x5f, 0x35, 0x5f, 0x52, 0x33, 0x7f,
    ];
    code.extend_from_slice(keccak256("Logged(address,uint256)").as_slice());
    code.extend_from_slice(&[0x60, 0x20, 0x5f, 0xa2, 0x00]);
    code
}

/// `JUMPDEST PUSH0 JUMP`: loops until out of gas.
const LOOPER: [u8; 3] = [0x5b, 0x5f, 0x56];

/// CREATE with reverting init code (result in slot 0), then CREATE of a child
/// whose init code stores 42 in its slot 0 (address in slot 1).
const FACTORY: [u8; 33] = [
    0x64, 0x60, 0x00, 0x60, 0x00, 0xfd, 0x5f, 0x52, 0x60, 0x05, 0x60, 0x1b, 0x5f, 0xf0, 0x5f,
    0x55, //
    0x64, 0x60, 0x2a, 0x5f, 0x55, 0x00, 0x5f, 0x52, 0x60, 0x05, 0x60, 0x1b, 0x5f, 0xf0, 0x60, 0x01,
    0x55,
];

/// Cancun and precompile opcodes: TSTORE/TLOAD (slot 2 = 7), MCOPY (slot 3 =
/// calldata word 0), STATICCALL to SHA-256 (slot 0 = sha256(calldata word 0)).
const OPS: [u8; 45] = [
    0x60, 0x07, 0x60, 0x01, 0x5d, // TSTORE(1, 7)
    0x60, 0x01, 0x5c, 0x60, 0x02, 0x55, // SSTORE(2, TLOAD(1))
    0x5f, 0x35, 0x5f, 0x52, // MSTORE(0, calldata[0])
    0x60, 0x20, 0x5f, 0x60, 0x20, 0x5e, // MCOPY(32, 0, 32)
    0x60, 0x20, 0x51, 0x60, 0x03, 0x55, // SSTORE(3, MLOAD(32))
    0x60, 0x20, 0x60, 0x20, 0x60, 0x20, 0x5f, 0x60, 0x02, 0x5a, 0xfa,
    0x50, // STATICCALL(gas, 2, 0, 32, 32, 32)
    0x60, 0x20, 0x51, 0x5f, 0x55, // SSTORE(0, MLOAD(32))
    0x00, // STOP
];

/// `CALLER SELFDESTRUCT`.
const DESTRUCTOR: [u8; 2] = [0x33, 0xff];

/// Slot of `balanceOf[owner]` in TestToken (mapping at slot 3).
fn balance_slot(owner: Address) -> U256 {
    U256::from_be_bytes(keccak256((owner, U256::from(3u64)).abi_encode()).0)
}

fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes()
}

/// Lower-cases strings inside `v` (addresses may come checksummed).
fn norm(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_lowercase()),
        Value::Array(items) => Value::Array(items.iter().map(norm).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), norm(v))).collect())
        }
        other => other.clone(),
    }
}

/// The sender's next nonce.
struct Nonces(u64);

impl Nonces {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0 - 1
    }
}

/// The fields of a log that do not depend on block hashes or timestamps.
fn stable_log(l: &Value) -> Value {
    json!({
        "address": l["address"],
        "topics": l["topics"],
        "data": l["data"],
        "logIndex": l["logIndex"],
        "blockNumber": l["blockNumber"],
        "transactionHash": l["transactionHash"],
        "transactionIndex": l["transactionIndex"],
        "removed": l["removed"],
    })
}

struct Diff {
    seq: Rpc,
    anvil: Rpc,
    mismatches: Vec<String>,
}

impl Diff {
    fn check(&mut self, what: &str, ours: &Value, anvil: &Value) {
        if norm(ours) != norm(anvil) {
            self.mismatches.push(format!(
                "{what}:\n    sequencer: {}\n    anvil:     {}",
                truncate(&ours.to_string(), 600),
                truncate(&anvil.to_string(), 600)
            ));
        }
    }

    /// Sends `raw` to both, waits for both receipts, compares them.
    async fn send(&mut self, label: &str, raw: &Bytes) -> Value {
        let ours = self.seq.send_raw(raw).await;
        let theirs = self.anvil.send_raw(raw).await;
        assert!(
            ours.get("result").is_some(),
            "{label}: the sequencer refused the tx: {ours}"
        );
        assert!(
            theirs.get("result").is_some(),
            "{label}: anvil refused the tx: {theirs}"
        );
        assert_eq!(ours["result"], theirs["result"], "{label}: tx hash");
        let hash: B256 = serde_json::from_value(ours["result"].clone()).expect("hash");
        let ours = self.seq.wait_receipt(hash, WAIT).await;
        let theirs = self.anvil.wait_receipt(hash, WAIT).await;
        for field in [
            "status",
            "gasUsed",
            "cumulativeGasUsed",
            "type",
            "contractAddress",
            "logsBloom",
            "from",
            "to",
        ] {
            self.check(
                &format!("{label}: receipt.{field}"),
                &ours[field],
                &theirs[field],
            );
        }
        let logs = |r: &Value| -> Value {
            r["logs"]
                .as_array()
                .map(|logs| logs.iter().map(stable_log).collect())
                .unwrap_or(Value::Null)
        };
        self.check(
            &format!("{label}: receipt.logs"),
            &logs(&ours),
            &logs(&theirs),
        );
        ours
    }

    async fn both(&mut self, what: &str, method: &str, params: Value) {
        let ours = self.seq.call(method, params.clone()).await;
        let theirs = self.anvil.call(method, params).await;
        let strip = |r: &Value| json!({"result": r.get("result"), "error": r.get("error")});
        self.check(what, &strip(&ours), &strip(&theirs));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_and_the_sequencer_agree_on_receipts_and_state() {
    let anvil = Anvil::start(&[
        "--chain-id",
        "42069",
        "--hardfork",
        "prague",
        "--base-fee",
        "1000000000",
        "--gas-limit",
        "30000000",
        "--no-priority-fee",
    ])
    .await;
    let node = TestNode::start().await;
    let mut diff = Diff {
        seq: node.rpc.clone(),
        anvil: anvil.rpc.clone(),
        mismatches: Vec::new(),
    };
    diff.both("eth_chainId", "eth_chainId", json!([])).await;
    for a in DEV_ADDRESSES {
        diff.both(
            &format!("genesis balance of {a}"),
            "eth_getBalance",
            json!([a, "latest"]),
        )
        .await;
    }

    let key = dev_key(0);
    let me = key.address();
    let a = address!("0x00000000000000000000000000000000000a11ce");
    let b = address!("0x0000000000000000000000000000000000000b0b");
    let mut nonce = Nonces(0);

    // Plain transfers: EIP-1559, legacy EIP-155, with calldata, to a precompile.
    let (_, raw) = sign(&key, eip1559(nonce.next(), a, eth(1), 21_000)).await;
    diff.send("transfer 1 ETH", &raw).await;
    let tx = legacy(
        Some(42069),
        nonce.next(),
        DEV_ADDRESSES[1],
        eth(1) / U256::from(4u64),
        3 * GWEI,
    );
    let (_, raw) = sign(&key, tx).await;
    diff.send("legacy transfer", &raw).await;
    let data: Vec<u8> = (0..100u8).map(|i| if i % 3 == 0 { 0 } else { i }).collect();
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), b, U256::from(7u64), 50_000).with_input(data),
    )
    .await;
    diff.send("transfer with calldata", &raw).await;
    let identity = Address::with_last_byte(4);
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), identity, U256::from(1u64), 30_000).with_input(vec![1u8, 2, 3]),
    )
    .await;
    diff.send("call to the identity precompile", &raw).await;

    // TestToken (solc output): deploy, transfer (logs), transfer beyond balance (revert).
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/erc20.json"
        ))
        .expect("erc20.json"),
    )
    .expect("erc20.json is JSON");
    let mut init: Vec<u8> = artifact["bytecode"]
        .as_str()
        .expect("bytecode")
        .parse::<Bytes>()
        .expect("hex")
        .to_vec();
    let supply = eth(1_000_000);
    init.extend(("Diff".to_string(), "DIF".to_string(), supply).abi_encode_params());
    let token_nonce = nonce.next();
    let token = me.create(token_nonce);
    let (_, raw) = sign(&key, eip1559_create(token_nonce, init.into(), 2_000_000)).await;
    let receipt = diff.send("deploy TestToken", &raw).await;
    assert_eq!(receipt["status"], "0x1", "TestToken deployment: {receipt}");
    let call = transferCall {
        to: a,
        value: U256::from(1234u64),
    }
    .abi_encode();
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), token, U256::ZERO, 100_000).with_input(call),
    )
    .await;
    diff.send("token transfer", &raw).await;
    let too_much = transferCall {
        to: b,
        value: supply + U256::from(1u64),
    }
    .abi_encode();
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), token, U256::ZERO, 100_000).with_input(too_much.clone()),
    )
    .await;
    let receipt = diff
        .send("token transfer beyond balance (reverts)", &raw)
        .await;
    assert_eq!(receipt["status"], "0x0", "{receipt}");

    // Hand-written contracts: storage + logs, refunds, out of gas, CREATE failures.
    let logger_nonce = nonce.next();
    let logger = me.create(logger_nonce);
    let (_, raw) = sign(
        &key,
        eip1559_create(logger_nonce, deploy_code(&logger_runtime()), 200_000),
    )
    .await;
    diff.send("deploy logger", &raw).await;
    let store = |value: U256, slot: u64| [word(value), word(U256::from(slot))].concat();
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), logger, U256::from(3u64), 100_000)
            .with_input(store(U256::from(0xbeefu64), 5)),
    )
    .await;
    diff.send("logger: store and log", &raw).await;
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), logger, U256::ZERO, 100_000).with_input(store(U256::from(77u64), 6)),
    )
    .await;
    diff.send("logger: second slot", &raw).await;
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), logger, U256::ZERO, 100_000).with_input(store(U256::ZERO, 5)),
    )
    .await;
    diff.send("logger: clear a slot (refund)", &raw).await;
    let access = AccessList(vec![AccessListItem {
        address: logger,
        storage_keys: vec![B256::from(U256::from(6u64))],
    }]);
    let request = TransactionRequest::default()
        .with_chain_id(42069)
        .with_nonce(nonce.next())
        .with_to(logger)
        .with_gas_limit(100_000)
        .with_gas_price(3 * GWEI)
        .with_access_list(access)
        .with_input(store(U256::from(78u64), 6));
    let (_, raw) = sign(&key, request).await;
    diff.send("logger via an EIP-2930 access list", &raw).await;

    let looper_nonce = nonce.next();
    let looper = me.create(looper_nonce);
    let (_, raw) = sign(
        &key,
        eip1559_create(looper_nonce, deploy_code(&LOOPER), 100_000),
    )
    .await;
    diff.send("deploy looper", &raw).await;
    let (_, raw) = sign(&key, eip1559(nonce.next(), looper, U256::ZERO, 80_000)).await;
    let receipt = diff.send("looper: out of gas", &raw).await;
    assert_eq!(receipt["status"], "0x0", "{receipt}");

    let reverting_create = me.create(nonce.0);
    let (_, raw) = sign(
        &key,
        eip1559_create(
            nonce.next(),
            Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xfd]),
            100_000,
        ),
    )
    .await;
    let receipt = diff.send("CREATE whose init code reverts", &raw).await;
    assert_eq!(receipt["status"], "0x0", "{receipt}");
    let invalid_create = me.create(nonce.0);
    let (_, raw) = sign(
        &key,
        eip1559_create(nonce.next(), Bytes::from_static(&[0xfe]), 100_000),
    )
    .await;
    let receipt = diff.send("CREATE whose init code hits INVALID", &raw).await;
    assert_eq!(receipt["status"], "0x0", "{receipt}");

    let factory_nonce = nonce.next();
    let factory = me.create(factory_nonce);
    let (_, raw) = sign(
        &key,
        eip1559_create(factory_nonce, deploy_code(&FACTORY), 200_000),
    )
    .await;
    diff.send("deploy factory", &raw).await;
    let (_, raw) = sign(&key, eip1559(nonce.next(), factory, U256::ZERO, 300_000)).await;
    diff.send("factory: failing CREATE then a child", &raw)
        .await;
    let (failed_child, child) = (factory.create(1), factory.create(2));

    let ops_nonce = nonce.next();
    let ops = me.create(ops_nonce);
    let (_, raw) = sign(&key, eip1559_create(ops_nonce, deploy_code(&OPS), 200_000)).await;
    diff.send("deploy ops", &raw).await;
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), ops, U256::ZERO, 150_000)
            .with_input(word(U256::from(0xabcdefu64)).to_vec()),
    )
    .await;
    diff.send("ops: TSTORE/TLOAD, MCOPY, SHA-256", &raw).await;

    let destructor_nonce = nonce.next();
    let destructor = me.create(destructor_nonce);
    let (_, raw) = sign(
        &key,
        eip1559_create(destructor_nonce, deploy_code(&DESTRUCTOR), 100_000),
    )
    .await;
    diff.send("deploy destructor", &raw).await;
    let (_, raw) = sign(
        &key,
        eip1559(nonce.next(), destructor, U256::from(5u64), 100_000),
    )
    .await;
    diff.send(
        "destructor: SELFDESTRUCT of an old contract (EIP-6780)",
        &raw,
    )
    .await;
    let ephemeral = me.create(nonce.0);
    let request = eip1559_create(nonce.next(), Bytes::from_static(&DESTRUCTOR), 100_000)
        .with_value(U256::from(11u64));
    let (_, raw) = sign(&key, request).await;
    diff.send("SELFDESTRUCT in the constructor", &raw).await;

    // Post-state.
    let accounts = [
        ("A", a),
        ("B", b),
        ("dev 1", DEV_ADDRESSES[1]),
        ("identity precompile", identity),
        ("token", token),
        ("logger", logger),
        ("looper", looper),
        ("reverting create", reverting_create),
        ("invalid create", invalid_create),
        ("factory", factory),
        ("factory's failed child", failed_child),
        ("factory's child", child),
        ("ops", ops),
        ("destructor", destructor),
        ("ephemeral", ephemeral),
    ];
    for (name, account) in accounts {
        diff.both(
            &format!("balance of {name}"),
            "eth_getBalance",
            json!([account, "latest"]),
        )
        .await;
        diff.both(
            &format!("nonce of {name}"),
            "eth_getTransactionCount",
            json!([account, "latest"]),
        )
        .await;
        diff.both(
            &format!("code of {name}"),
            "eth_getCode",
            json!([account, "latest"]),
        )
        .await;
    }
    diff.both(
        "nonce of the sender",
        "eth_getTransactionCount",
        json!([me, "latest"]),
    )
    .await;
    let slots: Vec<(&str, Address, U256)> = vec![
        ("token name", token, U256::ZERO),
        ("token symbol", token, U256::from(1u64)),
        ("token totalSupply", token, U256::from(2u64)),
        ("token balanceOf[sender]", token, balance_slot(me)),
        ("token balanceOf[A]", token, balance_slot(a)),
        ("token balanceOf[B]", token, balance_slot(b)),
        ("logger slot 5", logger, U256::from(5u64)),
        ("logger slot 6", logger, U256::from(6u64)),
        ("factory slot 0", factory, U256::ZERO),
        ("factory slot 1", factory, U256::from(1u64)),
        ("child slot 0", child, U256::ZERO),
        ("ops slot 0", ops, U256::ZERO),
        ("ops slot 1", ops, U256::from(1u64)),
        ("ops slot 2", ops, U256::from(2u64)),
        ("ops slot 3", ops, U256::from(3u64)),
    ];
    for (name, account, slot) in slots {
        diff.both(name, "eth_getStorageAt", json!([account, slot, "latest"]))
            .await;
    }
    for (name, input) in [
        (
            "eth_call balanceOf(A)",
            balanceOfCall { owner: a }.abi_encode(),
        ),
        ("eth_call totalSupply()", totalSupplyCall {}.abi_encode()),
        ("eth_call name()", nameCall {}.abi_encode()),
        (
            "eth_call transfer beyond balance (revert error)",
            too_much.clone(),
        ),
    ] {
        diff.both(
            name,
            "eth_call",
            json!([{"from": me, "to": token, "data": Bytes::from(input)}, "latest"]),
        )
        .await;
    }
    let filter = json!([{"address": token, "fromBlock": "0x0", "toBlock": "latest"}]);
    let ours = diff.seq.result("eth_getLogs", filter.clone()).await;
    let theirs = diff.anvil.result("eth_getLogs", filter).await;
    let stable = |logs: &Value| {
        Value::Array(
            logs.as_array()
                .expect("logs")
                .iter()
                .map(stable_log)
                .collect(),
        )
    };
    diff.check("eth_getLogs of the token", &stable(&ours), &stable(&theirs));

    // Sanity: the run did what it meant to.
    assert_eq!(
        node.rpc.storage(child, U256::ZERO).await,
        B256::from(U256::from(42u64))
    );
    assert_eq!(node.rpc.balance(a, "latest").await, eth(1));

    assert!(
        diff.mismatches.is_empty(),
        "{} differences between the sequencer and anvil:\n{}",
        diff.mismatches.len(),
        diff.mismatches.join("\n")
    );
    node.stop().await;
}
