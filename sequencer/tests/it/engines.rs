//! The block builder on the parallel engine and on the sequential reference
//! seals the same block from the same pool.

use crate::harness::{TestNode, dev_key, eip1559, eip1559_create, eth, sign};
use alloy::primitives::{Address, Bytes, U256};
use rollup_sequencer::parallel::{
    Engine, ParallelConfig,
    fixtures::{counter_runtime, deploy_code},
};
use serde_json::Value;
use std::time::Duration;

async fn manual_node(engine: Engine) -> TestNode {
    let node = TestNode::start_with(|c| {
        c.node.block_time = Duration::from_secs(3600);
        c.node.engine = engine;
        c.node.parallel = ParallelConfig {
            threads: 2,
            min_txs: 0,
            speculate_all_first: false,
        };
    })
    .await;
    let n = node.node().clone();
    crate::harness::wait_until("the builder's first block", crate::harness::WAIT, || {
        let n = n.clone();
        async move { (n.head_number() >= 1).then_some(()) }
    })
    .await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_and_sequential_builders_seal_the_same_block() {
    let parallel = manual_node(Engine::Parallel).await;
    let sequential = manual_node(Engine::Sequential).await;

    // A counter deployed and then called by everyone in the same block, nonce
    // chains, transfers between the senders and to fresh accounts.
    let deployer = dev_key(9);
    let counter = deployer.address().create(0);
    let mut raws: Vec<Bytes> = Vec::new();
    raws.push(
        sign(
            &deployer,
            eip1559_create(0, deploy_code(&counter_runtime()), 200_000),
        )
        .await
        .1,
    );
    for key in 0..8 {
        let signer = dev_key(key);
        for nonce in 0..4u64 {
            let to = match nonce {
                0 => counter,
                1 => dev_key((key + 1) % 8).address(),
                // Fresh accounts past the precompiles (0x01..=0x11).
                _ => Address::with_last_byte(0x40 + (key * 4) as u8 + nonce as u8),
            };
            let value = if nonce == 0 { U256::ZERO } else { eth(1) };
            raws.push(sign(&signer, eip1559(nonce, to, value, 100_000)).await.1);
        }
    }
    for raw in &raws {
        parallel.rpc.send_raw_ok(raw).await;
        sequential.rpc.send_raw_ok(raw).await;
    }
    let a = parallel.mine().await;
    let b = sequential.mine().await;
    let (pa, sa): (Value, Value) = (
        parallel.rpc.block(&format!("{:#x}", a.header.number)).await,
        sequential
            .rpc
            .block(&format!("{:#x}", b.header.number))
            .await,
    );
    for field in [
        "stateRoot",
        "receiptsRoot",
        "transactionsRoot",
        "logsBloom",
        "gasUsed",
    ] {
        assert_eq!(pa[field], sa[field], "{field} differs");
    }
    assert_eq!(
        pa["transactions"].as_array().map(Vec::len),
        Some(raws.len())
    );
    assert_eq!(
        parallel.rpc.storage(counter, U256::ZERO).await,
        sequential.rpc.storage(counter, U256::ZERO).await
    );
    parallel.stop().await;
    sequential.stop().await;
}
