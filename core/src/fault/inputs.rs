//! A batch's inputs as the fault-proof machine consumes them: block items and transaction
//! items, and the hash chain over them that the batcher posts as `inputsRoot`
//! (docs/fault-proof.md section 2).

use super::machine::BlockItem;
use crate::{batch::Batch, block::L1Origin};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes, keccak256};

/// One item of a batch's inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputItem {
    /// Opens a block.
    Block(BlockItem),
    /// One raw EIP-2718 transaction of the current block.
    Tx(Bytes),
}

impl InputItem {
    /// The item's hash: `keccak256(abi.encode(item))` for a block, the transaction hash for a
    /// transaction.
    pub fn item_hash(&self) -> B256 {
        match self {
            Self::Block(item) => item.item_hash(),
            Self::Tx(raw) => keccak256(raw),
        }
    }
}

/// Why a batch and the headers of its blocks do not describe the same blocks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputsError {
    /// Not one header per block.
    #[error("{headers} headers for a batch of {blocks} blocks")]
    HeaderCount {
        /// Headers given.
        headers: usize,
        /// Blocks in the batch.
        blocks: usize,
    },
    /// A header's number is not its block's.
    #[error("header {got} where block {expected} was expected")]
    HeaderNumber {
        /// The batch's block number.
        expected: u64,
        /// The header's.
        got: u64,
    },
}

/// The items of `batch`, whose blocks were sealed with `headers` (in order): for each block
/// its block item (base fee, beneficiary, gas limit and PREVRANDAO from the header; timestamp,
/// L1 origin and transactions from the batch), then its transactions.
pub fn batch_inputs(batch: &Batch, headers: &[Header]) -> Result<Vec<InputItem>, InputsError> {
    if headers.len() != batch.blocks.len() {
        return Err(InputsError::HeaderCount {
            headers: headers.len(),
            blocks: batch.blocks.len(),
        });
    }
    let mut items = Vec::with_capacity(batch.blocks.len() + batch.tx_count());
    for (offset, (block, header)) in batch.blocks.iter().zip(headers).enumerate() {
        let expected = batch.first_block + offset as u64;
        if header.number != expected {
            return Err(InputsError::HeaderNumber {
                expected,
                got: header.number,
            });
        }
        let origin = L1Origin::from_header(header).unwrap_or(block.l1_origin);
        items.push(InputItem::Block(BlockItem {
            number: header.number,
            timestamp: block.timestamp,
            gasLimit: header.gas_limit,
            baseFee: header.base_fee_per_gas.unwrap_or_default(),
            beneficiary: header.beneficiary,
            prevrandao: header.mix_hash,
            l1OriginNumber: origin.number,
            l1OriginHash: origin.hash,
            txCount: block.transactions.len() as u32,
        }));
        items.extend(block.transactions.iter().cloned().map(InputItem::Tx));
    }
    Ok(items)
}

/// The hash chain over `items`, front first: `inputs(k) = keccak256(itemHash(k) ‖ inputs(k+1))`,
/// zero after the last item. Element `k` is the `inputs` field of the machine state before
/// item `k` is consumed; the last element is zero.
pub fn inputs_chain(items: &[InputItem]) -> Vec<B256> {
    let mut chain = vec![B256::ZERO; items.len() + 1];
    for (k, item) in items.iter().enumerate().rev() {
        chain[k] = link(item.item_hash(), chain[k + 1]);
    }
    chain
}

/// The inputs root of `items` (element 0 of [`inputs_chain`]).
pub fn inputs_root(items: &[InputItem]) -> B256 {
    items
        .iter()
        .rev()
        .fold(B256::ZERO, |tail, item| link(item.item_hash(), tail))
}

/// One link of the chain: `keccak256(abi.encodePacked(item, tail))`.
pub fn link(item: B256, tail: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(item.as_slice());
    buf[32..].copy_from_slice(tail.as_slice());
    keccak256(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBlock;

    fn header(number: u64) -> Header {
        Header {
            number,
            gas_limit: 30_000_000,
            base_fee_per_gas: Some(7),
            mix_hash: B256::repeat_byte(number as u8),
            ..Default::default()
        }
    }

    #[test]
    fn items_follow_blocks_then_their_transactions_and_the_root_folds_them() {
        let batch = Batch {
            parent_hash: B256::ZERO,
            first_block: 5,
            blocks: vec![
                BatchBlock {
                    timestamp: 10,
                    l1_origin: L1Origin::default(),
                    transactions: vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[3])],
                },
                BatchBlock {
                    timestamp: 11,
                    l1_origin: L1Origin::default(),
                    transactions: vec![],
                },
            ],
        };
        let items = batch_inputs(&batch, &[header(5), header(6)]).unwrap();
        assert_eq!(items.len(), 4);
        let InputItem::Block(first) = &items[0] else {
            panic!("block item first")
        };
        assert_eq!((first.number, first.txCount, first.baseFee), (5, 2, 7));
        assert_eq!(items[1], InputItem::Tx(Bytes::from_static(&[1, 2])));
        let chain = inputs_chain(&items);
        assert_eq!(chain[0], inputs_root(&items));
        assert_eq!(chain[4], B256::ZERO);
        assert_eq!(chain[3], link(items[3].item_hash(), B256::ZERO));
        assert_eq!(inputs_root(&[]), B256::ZERO);

        assert_eq!(
            batch_inputs(&batch, &[header(5)]),
            Err(InputsError::HeaderCount {
                headers: 1,
                blocks: 2
            })
        );
        assert_eq!(
            batch_inputs(&batch, &[header(5), header(7)]),
            Err(InputsError::HeaderNumber {
                expected: 6,
                got: 7
            })
        );
    }
}
