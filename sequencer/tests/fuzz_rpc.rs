//! Fuzzing of the JSON-RPC server's envelope and parameter parsing: random and mutated
//! requests (every eth_/net_/web3_/debug_ method the node serves, with parameters that are
//! plausible, malformed or random JSON), single and batched, sent over HTTP to an in-process
//! node. Every answer is a well-formed JSON-RPC 2.0 response (or nothing, for notifications
//! only), errors carry a known code (-32700 parse, -32600 invalid request, -32601 unknown method,
//! -32602 invalid params, -32000 server, -32001 unsupported over HTTP, 3 reverted), never
//! -32603 (an internal error caused by a parameter), and the node stays up.
//!
//! Case count: `ROLLUP_FUZZ_CASES` (default 256; `anvil-scripts/fuzz.sh` sets 100,000).

use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestCaseError, TestRunner},
};
use rollup_sequencer::config::{Config, launch};
use serde_json::{Map, Value, json};
use std::time::Duration;

const CHAIN_ID: u64 = 42069;

/// The case count: `ROLLUP_FUZZ_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    match std::env::var("ROLLUP_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("ROLLUP_FUZZ_CASES must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// Methods the node serves, plus a few it does not.
const METHODS: &[&str] = &[
    "eth_chainId",
    "net_version",
    "net_listening",
    "net_peerCount",
    "web3_clientVersion",
    "web3_sha3",
    "eth_blockNumber",
    "eth_syncing",
    "eth_accounts",
    "eth_mining",
    "eth_hashrate",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_blobBaseFee",
    "eth_feeHistory",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getUncleCountByBlockNumber",
    "eth_getUncleCountByBlockHash",
    "eth_getBlockReceipts",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_call",
    "eth_estimateGas",
    "eth_createAccessList",
    "eth_sendRawTransaction",
    "eth_sendRawTransactionSync",
    "debug_getRawHeader",
    "debug_getRawBlock",
    "debug_getRawTransaction",
    "debug_getRawReceipts",
    "eth_getTransactionByHash",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionReceipt",
    "eth_getLogs",
    "eth_newFilter",
    "eth_newBlockFilter",
    "eth_newPendingTransactionFilter",
    "eth_uninstallFilter",
    "eth_getFilterChanges",
    "eth_getFilterLogs",
    "eth_subscribe",
    "eth_unsubscribe",
    "eth_getProof",
    "eth_sign",
    "eth_sendTransaction",
    "",
    "ETH_CHAINID",
    "eth_getBalance\u{0}",
];

/// Known error codes.
const CODES: &[i64] = &[-32700, -32600, -32601, -32602, -32000, -32001, 3];

fn hex_of(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Quantities: canonical, with leading zeros, empty, too large, not hex.
fn arb_quantity() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..8).prop_map(|n| json!(format!("0x{n:x}"))),
        any::<u64>().prop_map(|n| json!(format!("0x{n:x}"))),
        any::<u128>().prop_map(|n| json!(format!("0x{n:x}"))),
        Just(json!("0x")),
        Just(json!("0x00")),
        Just(json!("0x0001")),
        Just(json!(format!("0x{}", "f".repeat(64)))),
        Just(json!(format!("0x1{}", "0".repeat(64)))),
        Just(json!("0xg")),
        Just(json!("12")),
        Just(json!("-0x1")),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
        Just(json!(u64::MAX)),
    ]
}

fn arb_tag() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("latest")),
        Just(json!("pending")),
        Just(json!("earliest")),
        Just(json!("safe")),
        Just(json!("finalized")),
        Just(json!("Latest")),
        Just(json!("")),
        arb_quantity(),
        (any::<[u8; 32]>(), any::<bool>()).prop_map(
            |(h, canonical)| json!({"blockHash": hex_of(&h), "requireCanonical": canonical})
        ),
        arb_quantity().prop_map(|n| json!({ "blockNumber": n })),
    ]
}

/// Hex data of the right and of wrong lengths (20 and 32 bytes are addresses and hashes).
fn arb_data() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<[u8; 20]>().prop_map(|a| json!(hex_of(&a))),
        any::<[u8; 32]>().prop_map(|h| json!(hex_of(&h))),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|d| json!(hex_of(&d))),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|d| json!(hex_of(&d)[1..])),
        Just(json!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")),
        Just(json!("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266")),
        Just(json!("0x0")),
        Just(json!("0x123")),
    ]
}

/// Any JSON (small).
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        arb_quantity(),
        arb_data(),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{0,10}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A call or transaction request, with random fields present.
fn arb_call() -> impl Strategy<Value = Value> {
    let field = |name: &'static str, s: BoxedStrategy<Value>| {
        prop::option::of(s)
            .prop_map(move |v| v.map(|v| (name.to_string(), v)))
            .boxed()
    };
    vec![
        field("from", arb_data().boxed()),
        field("to", prop_oneof![arb_data(), Just(Value::Null)].boxed()),
        field("data", arb_data().boxed()),
        field("input", arb_data().boxed()),
        field("value", arb_quantity().boxed()),
        field("gas", arb_quantity().boxed()),
        field("gasPrice", arb_quantity().boxed()),
        field("maxFeePerGas", arb_quantity().boxed()),
        field("maxPriorityFeePerGas", arb_quantity().boxed()),
        field("nonce", arb_quantity().boxed()),
        field("type", arb_quantity().boxed()),
        field("accessList", arb_json().boxed()),
        field("chainId", arb_quantity().boxed()),
    ]
    .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
}

/// A log filter, with random fields present.
fn arb_filter() -> impl Strategy<Value = Value> {
    (
        prop::option::of(arb_tag()),
        prop::option::of(arb_tag()),
        prop::option::of(prop_oneof![
            arb_data(),
            prop::collection::vec(arb_data(), 0..3).prop_map(Value::Array)
        ]),
        prop::option::of(
            prop::collection::vec(
                prop_oneof![
                    Just(Value::Null),
                    arb_data(),
                    prop::collection::vec(arb_data(), 0..3).prop_map(Value::Array)
                ],
                0..5,
            )
            .prop_map(Value::Array),
        ),
        prop::option::of(arb_data()),
    )
        .prop_map(|(from, to, address, topics, block_hash)| {
            let mut m = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            };
            put("fromBlock", from);
            put("toBlock", to);
            put("address", address);
            put("topics", topics);
            put("blockHash", block_hash);
            Value::Object(m)
        })
}

fn arb_param() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => arb_quantity(),
        3 => arb_tag(),
        3 => arb_data(),
        2 => arb_call(),
        2 => arb_filter(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        2 => arb_json(),
    ]
}

fn arb_method() -> impl Strategy<Value = Value> {
    prop_oneof![
        10 => prop::sample::select(METHODS).prop_map(|m| json!(m)),
        1 => "[a-z_A-Z]{0,20}".prop_map(Value::String),
        1 => arb_json(),
    ]
}

/// One request object (sometimes malformed: other jsonrpc, id, params; fields missing).
fn arb_request() -> impl Strategy<Value = Value> {
    (
        prop_oneof![8 => Just(Some(json!("2.0"))), 1 => Just(None), 1 => arb_json().prop_map(Some)],
        prop_oneof![
            6 => any::<u32>().prop_map(|n| Some(json!(n))),
            2 => "[a-z0-9]{0,8}".prop_map(|s| Some(json!(s))),
            1 => Just(Some(Value::Null)),
            1 => Just(None),
            1 => arb_json().prop_map(Some),
        ],
        prop_oneof![20 => arb_method().prop_map(Some), 1 => Just(None)],
        prop_oneof![
            8 => prop::collection::vec(arb_param(), 0..4).prop_map(|p| Some(Value::Array(p))),
            1 => Just(None),
            1 => arb_json().prop_map(Some),
        ],
    )
        .prop_map(|(jsonrpc, id, method, params)| {
            let mut m = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            };
            put("jsonrpc", jsonrpc);
            put("id", id);
            put("method", method);
            put("params", params);
            Value::Object(m)
        })
}

#[derive(Clone, Debug)]
enum Body {
    One(Value),
    Batch(Vec<Value>),
    Mutated(Value, Vec<(usize, u8)>),
    Bytes(Vec<u8>),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::One(v) => v.to_string().into_bytes(),
            Body::Batch(items) => Value::Array(items.clone()).to_string().into_bytes(),
            Body::Mutated(v, edits) => {
                let mut b = v.to_string().into_bytes();
                for &(i, byte) in edits {
                    if b.is_empty() {
                        break;
                    }
                    let n = b.len();
                    match byte % 3 {
                        0 => b[i % n] = byte,
                        1 => {
                            b.remove(i % n);
                        }
                        _ => b.insert(i % n, byte),
                    }
                }
                b
            }
            Body::Bytes(b) => b.clone(),
        }
    }
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        8 => arb_request().prop_map(Body::One),
        2 => prop::collection::vec(arb_request(), 0..6).prop_map(Body::Batch),
        2 => (arb_request(), prop::collection::vec((any::<usize>(), any::<u8>()), 1..4))
            .prop_map(|(v, e)| Body::Mutated(v, e)),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
        1 => arb_json().prop_map(Body::One),
    ]
}

/// One response object of a request.
fn check_response(r: &Value) -> Result<(), TestCaseError> {
    let obj = r
        .as_object()
        .ok_or_else(|| TestCaseError::fail(format!("response is not an object: {r}")))?;
    prop_assert_eq!(obj.get("jsonrpc"), Some(&json!("2.0")), "{}", r);
    prop_assert!(obj.contains_key("id"), "no id: {}", r);
    prop_assert!(
        matches!(obj["id"], Value::Null | Value::Number(_) | Value::String(_)),
        "bad id: {}",
        r
    );
    match (obj.get("result"), obj.get("error")) {
        (Some(_), None) => {}
        (None, Some(e)) => {
            let code = e["code"]
                .as_i64()
                .ok_or_else(|| TestCaseError::fail(format!("error without code: {r}")))?;
            prop_assert!(e["message"].is_string(), "error without message: {}", r);
            prop_assert!(
                CODES.contains(&code),
                "unexpected error code {}: {}",
                code,
                r
            );
        }
        _ => prop_assert!(false, "not exactly one of result and error: {}", r),
    }
    Ok(())
}

/// Whether a request value expects an answer (it has an id, or is not a valid notification).
fn expects_answer(v: &Value) -> bool {
    !matches!(v, Value::Object(m) if !m.contains_key("id")
        && m.get("jsonrpc") == Some(&json!("2.0"))
        && m.get("method").is_some_and(Value::is_string)
        && matches!(m.get("params"), None | Some(Value::Null | Value::Array(_))))
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> Result<(reqwest::StatusCode, String), reqwest::Error> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    Ok((status, resp.text().await?))
}

async fn check_body(client: &reqwest::Client, url: &str, body: &Body) -> Result<(), TestCaseError> {
    let bytes = body.bytes();
    let sent: Option<Value> = serde_json::from_slice(&bytes).ok();
    let (status, text) = send(client, url, bytes)
        .await
        .map_err(|e| TestCaseError::fail(format!("transport error (node crashed?): {e}")))?;
    prop_assert_eq!(status, reqwest::StatusCode::OK, "{}", text);
    if text.is_empty() {
        // Only notifications get no answer.
        let quiet = match &sent {
            Some(Value::Array(items)) => !items.is_empty() && !items.iter().any(expects_answer),
            Some(v) => !expects_answer(v),
            None => false,
        };
        prop_assert!(quiet, "no answer to a request that expects one");
        return Ok(());
    }
    let answer: Value = serde_json::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("answer is not JSON ({e}): {text}")))?;
    match (&sent, &answer) {
        (Some(Value::Array(items)), Value::Array(answers)) if !items.is_empty() => {
            let expected = items.iter().filter(|v| expects_answer(v)).count();
            prop_assert_eq!(answers.len(), expected, "{}", text);
            for a in answers {
                check_response(a)?;
            }
        }
        (_, Value::Array(_)) => prop_assert!(false, "batch answer to a single request: {}", text),
        (_, single) => {
            check_response(single)?;
            if sent.is_none() {
                prop_assert_eq!(&single["error"]["code"], &json!(-32700));
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_rpc_requests_get_well_formed_answers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::dev(
        CHAIN_ID,
        format!("sqlite://{}/seq.db", dir.path().display()),
    );
    let running = rt.block_on(launch(config)).expect("launching the node");
    let url = running.http_url();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");

    let mut runner = TestRunner::new(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&arb_body(), |body| {
        rt.block_on(check_body(&client, &url, &body))
    });

    // Still up and answering.
    let (status, text) = rt
        .block_on(send(
            &client,
            &url,
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
                .to_string()
                .into_bytes(),
        ))
        .expect("the node is still up");
    assert_eq!(status, reqwest::StatusCode::OK);
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(answer["result"], json!(format!("0x{CHAIN_ID:x}")));
    rt.block_on(running.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
}
