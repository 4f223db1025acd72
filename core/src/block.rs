//! Sealed L2 blocks: headers computed exactly as Ethereum computes them
//! (transactions root, receipts root, logs bloom, base fee), and the rules for
//! the next block's inputs.

use crate::{
    chain::ChainConfig,
    executor::{BlockInput, BlockOutcome, ExecutedTx},
};
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, TxReceipt,
    constants::EMPTY_WITHDRAWALS,
    proofs::{calculate_receipt_root, calculate_transaction_root},
};
use alloy_eips::{eip1559::BaseFeeParams, eip7685::EMPTY_REQUESTS_HASH};
use alloy_primitives::{B256, Bloom, Bytes, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;
use serde::{Deserialize, Serialize};

/// The L1 block an L2 block refers to: the newest L1 block the sequencer had
/// seen when it built the L2 block. Recorded in the L2 header (the number as
/// the 8-byte big-endian `extraData`, the hash as `parentBeaconBlockRoot`, the
/// field OP Stack also fills from L1) and carried by every batch, so that the
/// chain derived from L1 can check it against L1's canonical chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct L1Origin {
    /// L1 block number.
    pub number: u64,
    /// L1 block hash.
    pub hash: B256,
}

impl L1Origin {
    /// The origin recorded in `header`; `None` for a header without one (block 0).
    pub fn from_header(header: &Header) -> Option<Self> {
        let number: [u8; 8] = header.extra_data.as_ref().try_into().ok()?;
        Some(Self {
            number: u64::from_be_bytes(number),
            hash: header.parent_beacon_block_root?,
        })
    }
}

/// A block with its hash and its executed transactions (receipts included).
#[derive(Clone, Debug)]
pub struct SealedBlock {
    /// The header.
    pub header: Header,
    /// keccak(rlp(header)).
    pub hash: B256,
    /// Transactions with receipts, in block order.
    pub txs: Vec<ExecutedTx>,
}

impl SealedBlock {
    /// Block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }
}

/// The header of block 0.
pub fn genesis_header(chain: &ChainConfig, timestamp: u64, state_root: B256) -> Header {
    Header {
        parent_hash: B256::ZERO,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: chain.fee_vault,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Bloom::ZERO,
        difficulty: Default::default(),
        number: 0,
        gas_limit: chain.gas_limit,
        gas_used: 0,
        timestamp,
        extra_data: Bytes::new(),
        mix_hash: B256::ZERO,
        nonce: Default::default(),
        base_fee_per_gas: Some(chain.initial_base_fee),
        withdrawals_root: Some(EMPTY_WITHDRAWALS),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

/// The inputs of the block after `parent`: number, base fee (EIP-1559 with
/// Ethereum's parameters), timestamp (never below the parent's) and
/// PREVRANDAO = keccak(parent hash), so that anyone can derive it.
pub fn next_block_input(
    chain: &ChainConfig,
    parent: &Header,
    parent_hash: B256,
    timestamp: u64,
) -> BlockInput {
    let base_fee = if parent.number == 0 {
        chain.initial_base_fee
    } else {
        BaseFeeParams::ethereum().next_block_base_fee(
            parent.gas_used,
            parent.gas_limit,
            parent.base_fee_per_gas.unwrap_or(chain.initial_base_fee),
        )
    };
    BlockInput {
        number: parent.number + 1,
        timestamp: timestamp.max(parent.timestamp),
        beneficiary: chain.fee_vault,
        gas_limit: chain.gas_limit,
        base_fee,
        prevrandao: keccak256(parent_hash),
    }
}

/// Seals an executed block given its post-state root and its L1 origin.
pub fn seal_block(
    parent_hash: B256,
    input: &BlockInput,
    outcome: BlockOutcome,
    state_root: B256,
    l1_origin: L1Origin,
) -> SealedBlock {
    let envelopes: Vec<_> = outcome
        .executed
        .iter()
        .map(|t| t.tx.inner().clone())
        .collect();
    let receipts: Vec<_> = outcome.executed.iter().map(|t| t.receipt.clone()).collect();
    let mut logs_bloom = Bloom::ZERO;
    for r in &receipts {
        logs_bloom.accrue_bloom(&r.bloom());
    }
    let header = Header {
        parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: input.beneficiary,
        state_root,
        transactions_root: calculate_transaction_root(&envelopes),
        receipts_root: calculate_receipt_root(&receipts),
        logs_bloom,
        difficulty: Default::default(),
        number: input.number,
        gas_limit: input.gas_limit,
        gas_used: outcome.gas_used,
        timestamp: input.timestamp,
        extra_data: Bytes::copy_from_slice(&l1_origin.number.to_be_bytes()),
        mix_hash: input.prevrandao,
        nonce: Default::default(),
        base_fee_per_gas: Some(input.base_fee),
        withdrawals_root: Some(EMPTY_WITHDRAWALS),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(l1_origin.hash),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    };
    let hash = header.hash_slow();
    SealedBlock {
        header,
        hash,
        txs: outcome.executed,
    }
}
