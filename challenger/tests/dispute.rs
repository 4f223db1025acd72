//! Dispute games end to end against a real anvil (`make e2e-dispute` runs just these): the
//! Rollup, the one-step verifier and the game contract deployed from forge's build, an
//! in-process sequencer making transfer-only blocks, and the challenger service playing with
//! its own key. The opposing party is a test harness that plays from a lying trace: honest
//! up to a chosen step, garbage after it, so that the game ends on a real one-step proof of
//! that step (a transaction start or end, with Merkle Patricia proofs, or an EVM instruction
//! of a contract call) executed by the verifier on L1.

#[path = "../../batcher/tests/common/mod.rs"]
mod common;
#[path = "../../batcher/tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use alloy::{
    eips::eip7702::Authorization,
    network::{EthereumWallet, TransactionBuilder, TransactionBuilder7702},
    providers::{Provider, ProviderBuilder},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::{SignerSync, local::PrivateKeySigner},
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::SolValue;
use alloy_sol_types::{SolCall, SolConstructor, sol};
use common::anvil::Anvil;
use harness::*;
use rollup_challenger::{
    games::{GameClient, GamePlayer},
    play::{Action, Role, TraceOracle, decide},
    service::Challenger,
    store::{GameStatus, Store},
    watcher::{Watcher, WatcherConfig},
};
use rollup_core::{
    fault::{
        BlockItem,
        evm::{CallerFrame, EvmState, FrameEnd, StateWitness, WordRange},
        step::StepKind,
        trace::Trace,
    },
    l1::{DisputeGames, Rollup},
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

sol! {
    contract VerifierDeploy {
        constructor(uint64 chainId, address evm);
    }

    contract EvmEntryDeploy {
        constructor(uint64 chainId);
    }

    contract EvmStepDeploy {
        constructor(
            uint64 chainId,
            address entry,
            address copy,
            address state,
            address call,
            address authorization,
            address authorizedEntry
        );
    }
}

/// Game parameters of these tests.
const CHALLENGE_BOND: u64 = 20_000_000_000_000_000; // 0.02 ether (>= the Rollup bond, 0.01)
const MOVE_BOND_BASE: u64 = 1_000_000_000_000_000; // 0.001 ether
const MAX_CLOCK: u64 = 3_600;

/// L1 with the three contracts and an L2 sequencer following it.
struct World {
    anvil: Anvil,
    sequencer: Sequencer,
    rollup: Address,
    games: Address,
}

async fn world() -> World {
    let anvil = Anvil::start();
    let sequencer = Sequencer::start(anvil.url(), Duration::from_millis(100)).await;
    let (_, genesis_root) = sequencer.block(0).await;
    let rollup = deploy_rollup(anvil.url(), proposer().address(), genesis_root).await;
    let mut code = contract_bytecode("EvmEntryVerifier").to_vec();
    code.extend(EvmEntryDeploy::constructorCall { chainId: CHAIN_ID }.abi_encode());
    let entry = deploy_code(anvil.url(), code).await;
    let copy = deploy_code(anvil.url(), contract_bytecode("EvmCopyVerifier").to_vec()).await;
    let state = deploy_code(anvil.url(), contract_bytecode("EvmStateVerifier").to_vec()).await;
    let precompiles = deploy_code(
        anvil.url(),
        contract_bytecode("EvmPrecompileCallVerifier").to_vec(),
    )
    .await;
    let returns = deploy_code(anvil.url(), contract_bytecode("EvmReturnVerifier").to_vec()).await;
    let creates = deploy_code(anvil.url(), contract_bytecode("EvmCreateVerifier").to_vec()).await;
    // The creation transactions' entry takes the chain id as the entry verifier does.
    let mut code = contract_bytecode("EvmCreationTxVerifier").to_vec();
    code.extend(EvmEntryDeploy::constructorCall { chainId: CHAIN_ID }.abi_encode());
    let creation_txs = deploy_code(anvil.url(), code).await;
    let self_destructs = deploy_code(
        anvil.url(),
        contract_bytecode("EvmSelfDestructVerifier").to_vec(),
    )
    .await;
    let mut code = contract_bytecode("EvmCallVerifier").to_vec();
    code.extend((precompiles, returns, creates, creation_txs, self_destructs).abi_encode_params());
    let call = deploy_code(anvil.url(), code).await;
    // An EIP-7702 transaction's authorizations and entry (kinds 12 and 13) take the chain id too.
    let mut code = contract_bytecode("EvmAuthorizationVerifier").to_vec();
    code.extend(EvmEntryDeploy::constructorCall { chainId: CHAIN_ID }.abi_encode());
    let authorization = deploy_code(anvil.url(), code).await;
    let mut code = contract_bytecode("EvmAuthorizedEntryVerifier").to_vec();
    code.extend(EvmEntryDeploy::constructorCall { chainId: CHAIN_ID }.abi_encode());
    let authorized_entry = deploy_code(anvil.url(), code).await;
    let mut code = contract_bytecode("EvmStepVerifier").to_vec();
    code.extend(
        EvmStepDeploy::constructorCall {
            chainId: CHAIN_ID,
            entry,
            copy,
            state,
            call,
            authorization,
            authorizedEntry: authorized_entry,
        }
        .abi_encode(),
    );
    let evm = deploy_code(anvil.url(), code).await;
    let mut code = contract_bytecode("OneStepVerifier").to_vec();
    code.extend(
        VerifierDeploy::constructorCall {
            chainId: CHAIN_ID,
            evm,
        }
        .abi_encode(),
    );
    let verifier = deploy_code(anvil.url(), code).await;
    let mut code = contract_bytecode("DisputeGames").to_vec();
    code.extend(
        DisputeGames::constructorCall {
            rollup_: rollup,
            verifier_: verifier,
            challengeBond_: U256::from(CHALLENGE_BOND),
            moveBondBase_: U256::from(MOVE_BOND_BASE),
            maxClockSeconds_: MAX_CLOCK,
        }
        .abi_encode(),
    );
    let games = deploy_code(anvil.url(), code).await;
    transact(
        anvil.url(),
        dev_key(0),
        rollup,
        Rollup::setDisputeGameFactoryCall { factory: games }.abi_encode(),
        U256::ZERO,
    )
    .await;
    World {
        anvil,
        sequencer,
        rollup,
        games,
    }
}

/// The batcher's key: the proposer of every commitment here.
fn proposer() -> PrivateKeySigner {
    dev_key(2)
}

/// The challenger service's key.
fn challenger_key() -> PrivateKeySigner {
    dev_key(3)
}

/// Sends `input` to `to` from `key` and requires success.
async fn transact(l1: &str, key: PrivateKeySigner, to: Address, input: Vec<u8>, value: U256) {
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(l1.parse().expect("url"));
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .to(to)
                .input(Bytes::from(input).into())
                .value(value),
        )
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "L1 transaction reverted");
}

/// `count` plain L2 value transfers (to fresh and to known accounts), all included.
async fn send_transfers(l2: &str, count: usize) {
    let key = dev_key(6);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(l2.parse().expect("url"));
    let mut nonce = provider
        .get_transaction_count(key.address())
        .pending()
        .await
        .expect("nonce");
    let mut pending = Vec::new();
    for n in 0..count {
        let to = if n % 2 == 0 {
            Address::left_padding_from(&(0x20_000 + n as u64).to_be_bytes())
        } else {
            dev_key(7).address()
        };
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_value(U256::from(1_000_000 + n as u64))
            .with_nonce(nonce)
            .with_chain_id(CHAIN_ID)
            .with_gas_limit(21_000)
            .with_max_fee_per_gas(10_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        nonce += 1;
        pending.push(provider.send_transaction(tx).await.expect("send L2 tx"));
    }
    for tx in pending {
        assert!(tx.get_receipt().await.expect("receipt").status());
    }
}

/// A contract that hashes its call data with stage-2 instructions only:
/// `CALLDATACOPY(0, 0, CALLDATASIZE) KECCAK256(0, CALLDATASIZE) MSTORE(0, hash) RETURN(0, 32)`.
const HASHER: [u8; 14] = [
    0x36, 0x5f, 0x5f, 0x37, 0x36, 0x5f, 0x20, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3, 0x00,
];

/// Deploys [`HASHER`] on L2 and calls it with 100 bytes of call data; returns its address.
async fn deploy_and_call_hasher(l2: &str) -> Address {
    let key = dev_key(5);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(l2.parse().expect("url"));
    // PUSH1 len DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN, then the code.
    let mut init = vec![
        0x60,
        HASHER.len() as u8,
        0x80,
        0x60,
        9,
        0x5f,
        0x39,
        0x5f,
        0xf3,
    ];
    init.extend_from_slice(&HASHER);
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_deploy_code(init)
                .with_chain_id(CHAIN_ID)
                .with_gas_limit(100_000)
                .with_max_fee_per_gas(10_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000),
        )
        .await
        .expect("deploy")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "deployed");
    let hasher = receipt.contract_address.expect("a contract");
    let data: Vec<u8> = (0..100u8).collect();
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(hasher)
                .with_input(data)
                .with_chain_id(CHAIN_ID)
                .with_gas_limit(100_000)
                .with_max_fee_per_gas(10_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000),
        )
        .await
        .expect("call")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "the call succeeded");
    hasher
}

sol! {
    /// `sequencer/tests/clients/TestToken.sol`.
    interface ITestToken {
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
    }

    /// `sequencer/tests/clients/TestPair.sol`, a constant-product AMM pair of two ERC-20s.
    interface ITestPair {
        function addLiquidity(uint256 amount0, uint256 amount1) external returns (uint256);
        function swap(address tokenIn, uint256 amountIn, uint256 minOut) external returns (uint256);
    }
}

/// solc's artifacts of the real contracts (`sequencer/tests/clients/compile.mjs`).
const ERC20_ARTIFACT: &str = include_str!("../../sequencer/tests/clients/erc20.json");
const AMM_ARTIFACT: &str = include_str!("../../sequencer/tests/clients/amm.json");

/// Sends `request` from dev key 6 through the L2 sequencer's JSON-RPC and requires it to
/// succeed; returns its receipt.
async fn send_l2(l2: &str, request: TransactionRequest) -> TransactionReceipt {
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(dev_key(6)))
        .connect_http(l2.parse().expect("url"));
    let receipt = provider
        .send_transaction(
            request
                .with_chain_id(CHAIN_ID)
                .with_gas_limit(1_500_000)
                .with_max_fee_per_gas(10_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000),
        )
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "succeeded");
    receipt
}

/// Deploys on L2 the contract of a solc artifact (its creation code followed by `args`, the
/// ABI-encoded constructor arguments); returns its address.
async fn deploy_artifact(l2: &str, artifact: &str, args: Vec<u8>) -> Address {
    let artifact: serde_json::Value = serde_json::from_str(artifact).expect("artifact JSON");
    let mut init: Vec<u8> = artifact["bytecode"]
        .as_str()
        .expect("bytecode")
        .parse::<Bytes>()
        .expect("hex")
        .to_vec();
    init.extend(args);
    send_l2(l2, TransactionRequest::default().with_deploy_code(init))
        .await
        .contract_address
        .expect("a contract")
}

/// Deploys a `TestToken` of 1,000,000 units (held by dev key 6); returns its address.
async fn deploy_token(l2: &str, symbol: &str) -> Address {
    let args = (
        "Token".to_string(),
        symbol.to_string(),
        U256::from(1_000_000u64),
    )
        .abi_encode_params();
    deploy_artifact(l2, ERC20_ARTIFACT, args).await
}

/// Deploys the ERC-20 `TestToken` (solc's output in `sequencer/tests/clients/erc20.json`) on L2
/// and transfers some of it to a new holder; returns the token's address.
async fn deploy_token_and_transfer(l2: &str) -> Address {
    let token = deploy_token(l2, "TOK").await;
    let transfer = ITestToken::transferCall {
        to: Address::repeat_byte(0x42),
        value: U256::from(1234),
    };
    send_l2(
        l2,
        TransactionRequest::default()
            .with_to(token)
            .with_input(transfer.abi_encode()),
    )
    .await;
    token
}

/// Dev key 5 delegates itself to `token` (EIP-7702) and calls itself with `input` in the same
/// transaction (run by the token's code on the key's own storage), through alloy's provider as a
/// wallet would send it; the call succeeds or reverts as `succeeds` says (the delegation stays
/// either way).
async fn delegate_self_and_call(l2: &str, token: Address, input: Vec<u8>, succeeds: bool) {
    let key = dev_key(5);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(l2.parse().expect("url"));
    let nonce = provider
        .get_transaction_count(key.address())
        .pending()
        .await
        .expect("nonce");
    // The transaction's own nonce is used first: the authorization takes the next one.
    let authorization = Authorization {
        chain_id: U256::from(CHAIN_ID),
        address: token,
        nonce: nonce + 1,
    };
    let signature = key
        .sign_hash_sync(&authorization.signature_hash())
        .expect("sign");
    let request = TransactionRequest::default()
        .with_to(key.address())
        .with_input(input)
        .with_authorization_list(vec![authorization.into_signed(signature)])
        .with_nonce(nonce)
        .with_chain_id(CHAIN_ID)
        .with_gas_limit(300_000)
        .with_max_fee_per_gas(10_000_000_000)
        .with_max_priority_fee_per_gas(1_000_000_000);
    let receipt = provider
        .send_transaction(request)
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt");
    assert_eq!(receipt.status(), succeeds, "the delegated call's outcome");
}

/// Deploys two `TestToken`s and a `TestPair` of them on L2 (three creations), approves the
/// pair on both tokens, adds liquidity (100,000 and 400,000) and swaps 1,000 of the first token
/// for the second; returns the pair's address. The swap is the last transaction.
async fn deploy_pair_and_swap(l2: &str) -> Address {
    let token0 = deploy_token(l2, "TKA").await;
    let token1 = deploy_token(l2, "TKB").await;
    let pair = deploy_artifact(l2, AMM_ARTIFACT, (token0, token1).abi_encode_params()).await;
    let call =
        |to: Address, input: Vec<u8>| TransactionRequest::default().with_to(to).with_input(input);
    for token in [token0, token1] {
        let approve = ITestToken::approveCall {
            spender: pair,
            value: U256::from(1_000_000u64),
        };
        send_l2(l2, call(token, approve.abi_encode())).await;
    }
    let add = ITestPair::addLiquidityCall {
        amount0: U256::from(100_000u64),
        amount1: U256::from(400_000u64),
    };
    send_l2(l2, call(pair, add.abi_encode())).await;
    let swap = ITestPair::swapCall {
        tokenIn: token0,
        amountIn: U256::from(1_000u64),
        minOut: U256::from(1u64),
    };
    send_l2(l2, call(pair, swap.abi_encode())).await;
    pair
}

/// Posts the sequencer's blocks after the Rollup's head, claiming `root` (the true root when
/// `None`); returns the true root and the new commitment's index.
async fn post(world: &World, root: Option<B256>) -> (B256, u64) {
    let first = next_l2_block(world.anvil.url(), world.rollup).await;
    let last = world.sequencer.head();
    assert!(last >= first, "there are blocks to post");
    let (_, true_root) = world.sequencer.block(last).await;
    let index = commitment_count(world).await;
    submit_faulty(
        &world.anvil,
        &world.sequencer,
        world.rollup,
        proposer(),
        (first, last),
        root.unwrap_or(true_root),
        None,
    )
    .await;
    (true_root, index)
}

async fn commitment_count(world: &World) -> u64 {
    let client = client(world, proposer()).await;
    let provider = ProviderBuilder::new().connect_http(world.anvil.url().parse().expect("url"));
    let out = provider
        .call(
            TransactionRequest::default()
                .to(client.rollup())
                .input(Bytes::from(Rollup::commitmentCountCall {}.abi_encode()).into()),
        )
        .await
        .expect("commitmentCount");
    Rollup::commitmentCountCall::abi_decode_returns(&out)
        .expect("decode")
        .to::<u64>()
}

/// First L2 block of commitment `index`.
async fn defender_first_block(world: &World, index: u64) -> u64 {
    client(world, proposer())
        .await
        .commitment(index)
        .await
        .expect("commitment")
        .firstL2Block
}

async fn client(world: &World, key: PrivateKeySigner) -> GameClient {
    GameClient::connect(world.anvil.url(), world.games, key)
        .await
        .expect("game client")
}

/// A watcher of the world's Rollup from L1 block 0.
fn watcher(world: &World) -> Watcher {
    Watcher::new(WatcherConfig {
        l1_rpc_url: world.anvil.url().into(),
        rollup: world.rollup,
        genesis: world.sequencer.genesis(),
        from_block: 0,
        poll: Duration::from_millis(50),
    })
    .expect("watcher")
}

/// The honest trace of commitment `index`, derived from L1 alone by a watcher of our own.
async fn honest_trace(world: &World, index: u64) -> Arc<Trace> {
    let mut watcher = watcher(world);
    watcher.check_new().await.expect("check");
    let case = watcher
        .cases()
        .read()
        .get(&index)
        .cloned()
        .expect("a dispute case for the commitment");
    case.trace().expect("trace")
}

/// The first step of `kind` in `trace`.
fn first_step(trace: &Trace, kind: StepKind) -> u64 {
    (0..trace.len())
        .find(|&k| trace.step_at(k).expect("step").kind == kind)
        .expect("the batch has such a step")
}

/// The first EVM instruction step of `trace` whose instruction is `opcode` (of stage 2 or 3:
/// its witness is of kind 2 or 3).
fn first_instruction(trace: &Trace, opcode: u8) -> u64 {
    trace
        .steps()
        .map(|step| step.expect("step"))
        .find(|step| {
            if step.kind != StepKind::Evm || step.proof.is_empty() {
                return false;
            }
            let (kind, body) = <(U256, Bytes)>::abi_decode_params(&step.proof).expect("IN_TX");
            let (evm, code) = match kind.to::<u8>() {
                2 => {
                    let (evm, code, ..) =
                        <(EvmState, Bytes, Vec<U256>, B256, Vec<WordRange>)>::abi_decode_params(
                            &body,
                        )
                        .expect("stage-2 witness");
                    (evm, code)
                }
                3 => {
                    let (evm, code, ..) = <(
                        EvmState,
                        Bytes,
                        Vec<U256>,
                        B256,
                        StateWitness,
                        BlockItem,
                    )>::abi_decode_params(&body)
                    .expect("stage-3 witness");
                    (evm, code)
                }
                _ => return false,
            };
            code.get(evm.pc as usize) == Some(&opcode)
        })
        .expect("the batch runs the instruction")
        .index
}

/// The last step of `kind` in `trace`.
fn last_step(trace: &Trace, kind: StepKind) -> u64 {
    (0..trace.len())
        .rev()
        .find(|&k| StepKind::of(&trace.state_at(k).expect("state")) == Some(kind))
        .expect("the batch has such a step")
}

/// The return steps of `trace` (docs/evm-steps.md sections 9 and 10, proof kind 6: the
/// pre-state is a returning state) at or after index `from`: each step's index, the frame's end,
/// the caller frame and the caller it resumes.
fn return_steps(
    trace: &Trace,
    from: u64,
) -> impl Iterator<Item = (u64, FrameEnd, CallerFrame, EvmState)> + '_ {
    trace
        .steps()
        .map(|step| step.expect("step"))
        .skip(from as usize)
        .filter_map(|step| {
            if step.kind != StepKind::Evm || step.proof.is_empty() {
                return None;
            }
            let (kind, body) = <(U256, Bytes)>::abi_decode_params(&step.proof).expect("IN_TX");
            if kind != U256::from(6) {
                return None;
            }
            let (end, frame, caller, ..) = <(
                FrameEnd,
                CallerFrame,
                EvmState,
                WordRange,
                WordRange,
                Vec<Bytes>,
            )>::abi_decode_params(&body)
            .expect("return witness");
            Some((step.index, end, frame, caller))
        })
}

/// The first return step at or after index `from` (a frame at depth ≥ 1 has just ended), with
/// the frame's end and the caller it resumes.
fn first_return_step(trace: &Trace, from: u64) -> (u64, FrameEnd, EvmState) {
    return_steps(trace, from)
        .map(|(index, end, _, caller)| (index, end, caller))
        .next()
        .expect("a frame returns")
}

/// The first code deposit of a creation transaction (docs/evm-steps.md section 10: the return
/// step of the depth-0 init frame, whose caller frame has no caller): its index and the new
/// account.
fn first_deposit_step(trace: &Trace) -> (u64, Address) {
    return_steps(trace, 0)
        .find_map(|(index, _, frame, _)| {
            (frame.frame == B256::ZERO && frame.created != Address::ZERO)
                .then_some((index, frame.created))
        })
        .expect("a creation transaction deposits its code")
}

/// The first `IN_TX` step of `trace` whose witness is of `kind`.
fn first_witness_kind(trace: &Trace, kind: u8) -> u64 {
    trace
        .steps()
        .map(|step| step.expect("step"))
        .find(|step| {
            step.kind == StepKind::Evm
                && !step.proof.is_empty()
                && <(U256, Bytes)>::abi_decode_params(&step.proof)
                    .expect("IN_TX")
                    .0
                    == U256::from(kind)
        })
        .expect("a step of that kind")
        .index
}

/// The number of `IN_TX` steps of `trace` without a witness (rest-of-transaction steps).
fn unproven_steps(trace: &Trace) -> usize {
    trace
        .steps()
        .map(|step| step.expect("step"))
        .filter(|step| step.kind == StepKind::Evm && step.proof.is_empty())
        .count()
}

/// A trace that is honest through index `last_true` and garbage after it.
struct Liar {
    honest: Arc<Trace>,
    last_true: u64,
}

impl TraceOracle for Liar {
    fn state_hash_at(&self, k: u64) -> B256 {
        if k <= self.last_true {
            self.honest.state_hash_at(k)
        } else {
            keccak256([b"lie".as_slice(), &k.to_be_bytes()].concat())
        }
    }
    fn witness_at(&self, k: u64) -> (Bytes, Bytes) {
        self.honest.witness_at(k).expect("witness")
    }
}

/// Runs the challenger service in the background with its own database.
struct Service {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    db: tempfile::TempDir,
}

impl Service {
    async fn start(world: &World) -> Self {
        let db = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&format!("sqlite://{}/c.db", db.path().display()))
            .await
            .expect("store");
        let watcher = watcher(world);
        let player = GamePlayer::new(
            client(world, challenger_key()).await,
            store.clone(),
            watcher.cases(),
        )
        .await
        .expect("player");
        let service = Challenger::new(watcher, Some(player), store, Duration::from_millis(50));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(service.run(cancel.clone()));
        Self { cancel, task, db }
    }

    /// Waits until the service has recorded every game it plays as over, then stops it and
    /// returns its game rows.
    async fn stop(self) -> Vec<rollup_challenger::store::GameRow> {
        let store = Store::connect(&format!("sqlite://{}/c.db", self.db.path().display()))
            .await
            .expect("store");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows = store.games().await.expect("games");
            if !rows.is_empty() && rows.iter().all(|r| r.status != GameStatus::InProgress) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the service never recorded its games as over: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.cancel.cancel();
        self.task.await.expect("service task");
        store.games().await.expect("games")
    }
}

/// Waits until game `id` exists.
async fn wait_for_game(client: &GameClient, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.game_count().await.expect("count") <= id {
        assert!(Instant::now() < deadline, "game {id} was never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Plays `role` in game `id` from `oracle` until the game is over (or, with `only_bisection`,
/// never proving a step nor claiming a timeout). Returns the final game.
async fn play_until_over(
    client: &GameClient,
    id: u64,
    role: Role,
    oracle: &dyn TraceOracle,
    only_bisection: bool,
) -> DisputeGames::Game {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        assert!(Instant::now() < deadline, "game {id} did not end");
        let game = client.game(id).await.expect("game");
        if game.status != DisputeGames::GameStatus::InProgress {
            return game;
        }
        let now = client.now().await.expect("now");
        let position = client.position(&game, now).await;
        let action = decide(&position, role, oracle);
        let bisection = matches!(action, Action::Bisect { .. } | Action::Choose { .. });
        if action != Action::Wait && (bisection || !only_bisection) {
            // The opponent may move at the same time: a refused move is retried next time.
            let _ = client.act(id, game.depth, &action).await;
        } else {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

async fn wait_over(client: &GameClient, id: u64) -> DisputeGames::Game {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let game = client.game(id).await.expect("game");
        if game.status != DisputeGames::GameStatus::InProgress {
            return game;
        }
        assert!(Instant::now() < deadline, "game {id} did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_is_disputed_down_to_a_transaction_step_and_replaced() {
    let world = world().await;
    send_transfers(&world.sequencer.url, 6).await;
    let wrong = B256::repeat_byte(0xee);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    // The sequential step trace and the sequencer's (parallel) blocks agree on every root.
    assert_eq!(trace.post_state_root(), true_root);
    let first = defender_first_block(&world, index).await;
    for (offset, root) in trace.block_roots().iter().enumerate() {
        assert_eq!(*root, world.sequencer.block(first + offset as u64).await.1);
    }
    // The lying proposer defends its root with a trace that is right up to the first
    // transaction start and wrong from its post-state on.
    let tx_start = first_step(&trace, StepKind::TxStart);
    challenger_wins_on(&world, index, trace, tx_start, true_root).await;
}

/// The lying proposer defends commitment `index` with `trace` right through step `at` and
/// wrong after it, against the challenger service: the challenger wins on step `at` and the
/// true root replaces the wrong one.
async fn challenger_wins_on(
    world: &World,
    index: u64,
    trace: Arc<Trace>,
    at: u64,
    true_root: B256,
) {
    let liar = Liar {
        honest: trace,
        last_true: at,
    };
    let service = Service::start(world).await;
    let defender = client(world, proposer()).await;
    wait_for_game(&defender, 0).await;
    let game = play_until_over(&defender, 0, Role::Defender, &liar, true).await;

    assert_eq!(game.status, DisputeGames::GameStatus::ChallengerWon);
    assert_eq!(
        (game.lo, game.hi),
        (at, at + 1),
        "the game ended on step {at}"
    );
    let commitment = defender.commitment(index).await.expect("commitment");
    assert_eq!(
        commitment.postStateRoot, true_root,
        "the wrong root was replaced"
    );
    assert_eq!(commitment.proposer, challenger_key().address());
    assert_eq!(commitment.status, Rollup::Status::Pending);
    let rows = service.stop().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].role, Role::Challenger);
    assert_eq!(rows[0].status, GameStatus::Won);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_is_disputed_down_to_a_keccak256_instruction_and_replaced() {
    let world = world().await;
    deploy_and_call_hasher(&world.sequencer.url).await;
    let wrong = B256::repeat_byte(0xef);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    // The lying proposer is right up to the KECCAK256 of the call and wrong after it: the game
    // ends on that instruction, which EvmCopyVerifier proves on L1 from a range of memory words.
    let keccak = first_instruction(&trace, 0x20);
    challenger_wins_on(&world, index, trace, keccak, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_over_an_erc20_transfer_is_disputed_down_to_an_sstore_and_replaced() {
    let world = world().await;
    deploy_token_and_transfer(&world.sequencer.url).await;
    let wrong = B256::repeat_byte(0xe2);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    // The deployment (a creation transaction) and the transfer are proven instruction by
    // instruction.
    assert_eq!(unproven_steps(&trace), 0, "every step is proven");
    // The lying proposer is right up to the transfer's first SSTORE (the sender's balance) and
    // wrong after it: the game ends on that instruction, which EvmStateVerifier proves on L1
    // through the token's storage trie and the state trie.
    let sstore = first_instruction(&trace, 0x55);
    challenger_wins_on(&world, index, trace, sstore, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_over_an_amm_swap_is_disputed_down_to_a_return_step_and_replaced() {
    let world = world().await;
    let pair = deploy_pair_and_swap(&world.sequencer.url).await;
    let wrong = B256::repeat_byte(0xe3);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    // The three deployments (creation transactions), the approvals, the deposit and the swap,
    // with the tokens' frames the pair calls, are proven instruction by instruction.
    assert_eq!(unproven_steps(&trace), 0, "every step is proven");
    // The lying proposer is right up to the swap's first return step (the token's
    // `transferFrom`, at depth 1, has returned to the pair) and wrong after it: the game ends on
    // that step, which EvmReturnVerifier proves on L1 (the output copied into the pair's
    // memory, the frame's gas given back).
    let swap = last_step(&trace, StepKind::TxStart);
    let (at, end, caller) = first_return_step(&trace, swap);
    assert_eq!(end.outcome, 1, "the token's frame succeeded");
    assert_eq!(end.outSize, 32, "it returned a bool");
    assert_eq!((caller.target, caller.depth), (pair, 0), "to the pair");
    challenger_wins_on(&world, index, trace, at, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_over_a_deployment_is_disputed_down_to_the_code_deposit_and_replaced() {
    let world = world().await;
    let token = deploy_token(&world.sequencer.url, "DEP").await;
    let wrong = B256::repeat_byte(0xe4);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    assert_eq!(unproven_steps(&trace), 0, "the deployment is proven");
    // The lying proposer is right up to the deployment's code deposit (the init code has
    // returned the token's code) and wrong after it: the game ends on that step, which
    // EvmReturnVerifier proves on L1 (200 gas a byte, the code hash written into the new
    // account through the state trie, the transaction's end).
    let (at, created) = first_deposit_step(&trace);
    assert_eq!(created, token, "the token's deployment");
    challenger_wins_on(&world, index, trace, at, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_over_an_eip7702_transaction_is_disputed_down_to_an_authorization_and_replaced()
 {
    let world = world().await;
    let token = deploy_token(&world.sequencer.url, "AUT").await;
    let approve = ITestToken::approveCall {
        spender: Address::repeat_byte(0x42),
        value: U256::from(5),
    };
    delegate_self_and_call(&world.sequencer.url, token, approve.abi_encode(), true).await;
    let wrong = B256::repeat_byte(0xe5);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    // The authorization, the entry and the token's code run in the key's account are proven
    // step by step (docs/evm-steps.md section 1.2).
    assert_eq!(unproven_steps(&trace), 0, "every step is proven");
    // The lying proposer is right up to the authorization (the key's nonce and code hash
    // written through the state trie, its refund) and wrong after it: the game ends on that
    // step, which EvmAuthorizationVerifier proves on L1 (ecrecover of the authorization).
    let at = first_witness_kind(&trace, 12);
    challenger_wins_on(&world, index, trace, at, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_root_over_a_reverting_eip7702_call_is_disputed_down_to_its_frame_end_and_replaced()
{
    let world = world().await;
    let token = deploy_token(&world.sequencer.url, "REV").await;
    // The key holds none of the token in its own storage: the transfer reverts, the delegation
    // and its refund stay.
    let transfer = ITestToken::transferCall {
        to: Address::repeat_byte(0x42),
        value: U256::from(1),
    };
    delegate_self_and_call(&world.sequencer.url, token, transfer.abi_encode(), false).await;
    let wrong = B256::repeat_byte(0xe6);
    let (true_root, index) = post(&world, Some(wrong)).await;
    let trace = honest_trace(&world, index).await;
    assert_eq!(trace.post_state_root(), true_root);
    assert_eq!(unproven_steps(&trace), 0, "every step is proven");
    // The lying proposer is right up to the end of the EIP-7702 transaction's frame and wrong
    // after it: the game ends on its return step, which EvmReturnVerifier proves on L1 (the
    // root after the authorization restored, its refund kept, the gas left).
    let (at, end, ..) = return_steps(&trace, 0)
        .find(|(_, _, frame, _)| frame.frame == B256::ZERO && frame.created == Address::ZERO)
        .expect("the EIP-7702 frame's end");
    assert_eq!(end.outcome, 2, "the transfer reverted");
    challenger_wins_on(&world, index, trace, at, true_root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_defender_beats_a_dishonest_challenger_and_keeps_its_bond() {
    let world = world().await;
    send_transfers(&world.sequencer.url, 5).await;
    let (true_root, index) = post(&world, None).await;
    // The proposer lets the challenger service defend its roots.
    transact(
        world.anvil.url(),
        proposer(),
        world.games,
        DisputeGames::setDefenderCall {
            delegate: challenger_key().address(),
        }
        .abi_encode(),
        U256::ZERO,
    )
    .await;
    let service = Service::start(&world).await;
    let trace = honest_trace(&world, index).await;

    // A dishonest challenger disputes the correct root and bisects from a trace that is
    // right up to the first transaction end and wrong after it.
    let attacker = client(&world, dev_key(4)).await;
    let id = attacker
        .open(index, B256::repeat_byte(0xdd))
        .await
        .expect("open");
    let tx_end = first_step(&trace, StepKind::TxEnd);
    let liar = Liar {
        honest: trace.clone(),
        last_true: tx_end,
    };
    let game = play_until_over(&attacker, id, Role::Challenger, &liar, true).await;

    assert_eq!(game.status, DisputeGames::GameStatus::DefenderWon);
    assert_eq!((game.lo, game.hi), (tx_end, tx_end + 1));
    let commitment = attacker.commitment(index).await.expect("commitment");
    assert_eq!(commitment.postStateRoot, true_root);
    assert_eq!(commitment.proposer, proposer().address());
    assert_eq!(commitment.status, Rollup::Status::Pending);
    assert_eq!(commitment.openChallenges, 0);
    let rows = service.stop().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].role, Role::Defender);
    assert_eq!(rows[0].status, GameStatus::Won);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defender_that_stops_answering_loses_on_its_clock() {
    let world = world().await;
    send_transfers(&world.sequencer.url, 3).await;
    let (true_root, index) = post(&world, Some(B256::repeat_byte(0xaa))).await;
    let service = Service::start(&world).await;
    let observer = client(&world, proposer()).await;
    wait_for_game(&observer, 0).await;
    // The proposer never answers: once its clock is out the challenger claims the game.
    let provider = ProviderBuilder::new().connect_http(world.anvil.url().parse().expect("url"));
    let _: serde_json::Value = provider
        .raw_request("evm_increaseTime".into(), (MAX_CLOCK + 1,))
        .await
        .expect("increase time");
    let _: serde_json::Value = provider
        .raw_request("evm_mine".into(), ())
        .await
        .expect("mine");
    let game = wait_over(&observer, 0).await;
    assert_eq!(game.status, DisputeGames::GameStatus::ChallengerWon);
    assert_eq!(game.depth, 0, "no move was made");
    let commitment = observer.commitment(index).await.expect("commitment");
    assert_eq!(commitment.postStateRoot, true_root);
    let rows = service.stop().await;
    assert_eq!(rows[0].status, GameStatus::Won);
}

/// The challenger binary, started on `world` with its database in `db`.
fn spawn_binary(world: &World, db: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_challenger"))
        .args([
            "--l1.rpc-url",
            world.anvil.url(),
            "--rollup.address",
            &world.rollup.to_string(),
            "--chain.id",
            &CHAIN_ID.to_string(),
            "--games.address",
            &world.games.to_string(),
            "--db.url",
            &format!("sqlite://{}/challenger.db", db.display()),
            "--status.addr",
            "127.0.0.1:0",
            "--poll-ms",
            "50",
        ])
        .env(
            "CHALLENGER_PRIVATE_KEY",
            rollup_core::chain::DEV_PRIVATE_KEYS[3],
        )
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the challenger binary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenger_binary_resumes_its_game_after_kill_9() {
    let world = world().await;
    send_transfers(&world.sequencer.url, 4).await;
    let (true_root, index) = post(&world, Some(B256::repeat_byte(0xbb))).await;
    let trace = honest_trace(&world, index).await;
    let liar = Liar {
        last_true: first_step(&trace, StepKind::TxStart),
        honest: trace,
    };
    let db = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_binary(&world, db.path());
    let defender = client(&world, proposer()).await;
    wait_for_game(&defender, 0).await;

    // The lying proposer defends; the challenger is killed twice in the middle of the game.
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    let game = loop {
        assert!(Instant::now() < deadline, "the game did not end");
        let game = defender.game(0).await.expect("game");
        if game.status != DisputeGames::GameStatus::InProgress {
            break game;
        }
        if kills < 2 && game.depth >= 10 + 15 * kills {
            child.kill().expect("kill -9");
            child.wait().expect("reap");
            kills += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
            child = spawn_binary(&world, db.path());
            continue;
        }
        let now = defender.now().await.expect("now");
        let position = defender.position(&game, now).await;
        match decide(&position, Role::Defender, &liar) {
            action @ Action::Bisect { .. } => {
                let _ = defender.act(0, game.depth, &action).await;
            }
            _ => tokio::time::sleep(Duration::from_millis(30)).await,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(kills, 2, "the challenger was killed mid-game twice");
    assert_eq!(game.status, DisputeGames::GameStatus::ChallengerWon);
    assert_eq!(
        defender.game_count().await.expect("count"),
        1,
        "the restarted challenger did not open a second game"
    );
    let commitment = defender.commitment(index).await.expect("commitment");
    assert_eq!(commitment.postStateRoot, true_root);
}
