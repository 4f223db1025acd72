//! Conversions from stored blocks and receipts to alloy's RPC types, so the
//! wire format is exactly what alloy, viem and ethers expect.

use crate::store::StoredTx;
use alloy_consensus::{Header, ReceiptEnvelope, Transaction as _};
use alloy_primitives::{B256, TxKind, U256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Log, Transaction, TransactionReceipt, Withdrawals,
};

/// The RPC header.
pub fn rpc_header(header: &Header, hash: B256) -> alloy_rpc_types_eth::Header {
    let size = alloy_rlp::Encodable::length(header);
    alloy_rpc_types_eth::Header {
        hash,
        inner: header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(size)),
    }
}

/// Effective gas price of a transaction in a block with `base_fee`.
pub fn effective_gas_price(tx: &StoredTx, base_fee: Option<u64>) -> u128 {
    tx.tx.inner().effective_gas_price(base_fee)
}

/// The RPC transaction (mined).
pub fn rpc_tx(tx: &StoredTx, block_hash: B256, header: &Header) -> Transaction {
    Transaction {
        inner: tx.tx.clone(),
        block_hash: Some(block_hash),
        block_number: Some(tx.block_number),
        transaction_index: Some(tx.index),
        effective_gas_price: Some(effective_gas_price(tx, header.base_fee_per_gas)),
        block_timestamp: Some(header.timestamp),
    }
}

/// The RPC block, with full transactions or hashes.
pub fn rpc_block(header: &Header, hash: B256, txs: &[StoredTx], full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(txs.iter().map(|t| rpc_tx(t, hash, header)).collect())
    } else {
        BlockTransactions::Hashes(txs.iter().map(|t| *t.tx.inner().tx_hash()).collect())
    };
    let mut block = Block {
        header: rpc_header(header, hash),
        uncles: vec![],
        transactions,
        withdrawals: Some(Withdrawals::new(vec![])),
    };
    let tx_bytes: usize = txs
        .iter()
        .map(|t| alloy_eips::eip2718::Encodable2718::encode_2718_len(t.tx.inner()))
        .sum();
    let size = alloy_rlp::Encodable::length(header) + tx_bytes + 8;
    block.header.size = Some(U256::from(size));
    block
}

/// RPC logs of a transaction, with their block-wide indices.
pub fn rpc_logs(
    tx: &StoredTx,
    block_hash: B256,
    header: &Header,
    first_log_index: u64,
) -> Vec<Log> {
    tx.receipt
        .logs()
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(block_hash),
            block_number: Some(tx.block_number),
            block_timestamp: Some(header.timestamp),
            transaction_hash: Some(*tx.tx.inner().tx_hash()),
            transaction_index: Some(tx.index),
            log_index: Some(first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

/// Receipts of a whole block (log indices are block-wide).
pub fn rpc_receipts(header: &Header, hash: B256, txs: &[StoredTx]) -> Vec<TransactionReceipt> {
    let mut log_index = 0u64;
    txs.iter()
        .map(|tx| {
            let receipt = rpc_receipt(tx, hash, header, log_index);
            log_index += tx.receipt.logs().len() as u64;
            receipt
        })
        .collect()
}

/// One RPC receipt given the index of its first log in the block.
pub fn rpc_receipt(
    tx: &StoredTx,
    block_hash: B256,
    header: &Header,
    first_log_index: u64,
) -> TransactionReceipt {
    let logs = rpc_logs(tx, block_hash, header, first_log_index);
    let with_logs =
        |r: &alloy_consensus::ReceiptWithBloom<alloy_consensus::Receipt<alloy_primitives::Log>>| {
            alloy_consensus::ReceiptWithBloom {
                receipt: alloy_consensus::Receipt {
                    status: r.receipt.status,
                    cumulative_gas_used: r.receipt.cumulative_gas_used,
                    logs: logs.clone(),
                },
                logs_bloom: r.logs_bloom,
            }
        };
    let inner = match &tx.receipt {
        ReceiptEnvelope::Legacy(r) => ReceiptEnvelope::Legacy(with_logs(r)),
        ReceiptEnvelope::Eip2930(r) => ReceiptEnvelope::Eip2930(with_logs(r)),
        ReceiptEnvelope::Eip1559(r) => ReceiptEnvelope::Eip1559(with_logs(r)),
        ReceiptEnvelope::Eip4844(r) => ReceiptEnvelope::Eip4844(with_logs(r)),
        ReceiptEnvelope::Eip7702(r) => ReceiptEnvelope::Eip7702(with_logs(r)),
    };
    TransactionReceipt {
        inner,
        transaction_hash: *tx.tx.inner().tx_hash(),
        transaction_index: Some(tx.index),
        block_hash: Some(block_hash),
        block_number: Some(tx.block_number),
        gas_used: tx.gas_used,
        effective_gas_price: effective_gas_price(tx, header.base_fee_per_gas),
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.tx.signer(),
        to: match tx.tx.inner().kind() {
            TxKind::Call(to) => Some(to),
            TxKind::Create => None,
        },
        contract_address: tx.contract_address,
    }
}
