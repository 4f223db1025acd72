//! L1 origins: a sequencer that follows an L1 records, in every block, the L1
//! block it was built on, never going back; `debug_getRawBlock` serves the
//! block exactly as hashed.

use crate::harness::*;
use alloy_consensus::{Block, TxEnvelope};
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Decodable;
use rollup_core::block::L1Origin;
use rollup_sequencer::l1_origin::L1FollowConfig;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_record_their_l1_origin_and_serve_raw_rlp() {
    let anvil = Anvil::start(&[]).await;
    let l1_url = anvil.rpc.url.clone();
    let node = TestNode::start_with(|c| {
        c.l1 = Some(L1FollowConfig {
            rpc_url: l1_url,
            poll_interval: Duration::from_millis(50),
            confirmations: 0,
        });
    })
    .await;
    let sender = dev_key(1);
    let first = node
        .rpc
        .send_raw_ok(
            &sign(&sender, eip1559(0, dev_key(2).address(), eth(1), 21_000))
                .await
                .1,
        )
        .await;
    node.rpc.wait_receipt(first, WAIT).await;

    // L1 moves on: the next blocks refer to the new L1 head.
    anvil.rpc.result("anvil_mine", json!(["0x5"])).await;
    let l1_head = hex_u64(&anvil.rpc.result("eth_blockNumber", json!([])).await);
    let l1_hash = hex_b256(&anvil.rpc.block("latest").await["hash"]);
    let expected = L1Origin {
        number: l1_head,
        hash: l1_hash,
    };
    let mut nonce = 1;
    let origin = wait_until("an L2 block on the new L1 head", WAIT, || {
        let (rpc, sender) = (&node.rpc, &sender);
        let n = nonce;
        nonce += 1;
        async move {
            let hash = rpc
                .send_raw_ok(
                    &sign(sender, eip1559(n, dev_key(2).address(), eth(1), 21_000))
                        .await
                        .1,
                )
                .await;
            let receipt = rpc.wait_receipt(hash, WAIT).await;
            let block = rpc
                .result("eth_getBlockByHash", json!([receipt["blockHash"], false]))
                .await;
            let extra: Bytes =
                serde_json::from_value(block["extraData"].clone()).expect("extraData");
            let origin = L1Origin {
                number: u64::from_be_bytes(extra.as_ref().try_into().expect("8 bytes")),
                hash: hex_b256(&block["parentBeaconBlockRoot"]),
            };
            (origin == expected).then_some(block)
        }
    })
    .await;

    // Origins never go back, block by block; the raw block hashes to the block's hash.
    let head = hex_u64(&origin["number"]);
    let mut previous = 0;
    for n in 1..=head {
        let raw: Bytes = serde_json::from_value(
            node.rpc
                .result("debug_getRawBlock", json!([format!("{n:#x}")]))
                .await,
        )
        .expect("raw block");
        let block = Block::<TxEnvelope>::decode(&mut raw.as_ref()).expect("RLP block");
        let json = node.rpc.block(&format!("{n:#x}")).await;
        assert_eq!(block.header.hash_slow(), hex_b256(&json["hash"]));
        let origin = L1Origin::from_header(&block.header).expect("an L1 origin");
        assert!(
            origin.number >= previous,
            "L1 origin went back at block {n}"
        );
        assert_ne!(origin.hash, B256::ZERO);
        previous = origin.number;
    }
    let missing = node
        .rpc
        .result("debug_getRawBlock", json!([format!("{:#x}", head + 1000)]))
        .await;
    assert!(missing.is_null());
}
