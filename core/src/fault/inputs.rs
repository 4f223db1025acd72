//! A batch's inputs as the fault-proof machine consumes them: block items and transaction
//! items, and the hash chain over them that the batcher posts as `inputsRoot`
//! (docs/fault-proof.md section 2).

use super::{evm::WordTree, machine::BlockItem};
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
    /// Not the hashes of the blocks before the batch's first (up to 256 of them).
    #[error("{got} block hashes before block {first}, expected {expected}")]
    HistoryLength {
        /// The batch's first block.
        first: u64,
        /// Hashes expected.
        expected: usize,
        /// Hashes given.
        got: usize,
    },
    /// The last hash before the batch is not its first block's parent.
    #[error("block {first}'s parent is {parent}, the hash given for block {} is {given}", first - 1)]
    HistoryLink {
        /// The batch's first block.
        first: u64,
        /// Its header's parent hash.
        parent: B256,
        /// The hash given for the block before.
        given: B256,
    },
}

/// How many earlier blocks BLOCKHASH reaches (revm's `BLOCK_HASH_HISTORY`).
pub const BLOCK_HASH_HISTORY: u64 = 256;

/// The word tree of block `number`'s recent block hashes (docs/fault-proof.md section 2, the
/// block item's `recentHashes`): word `m % 256` is `hash_of(m)` for every block `m` from
/// `number - 256` (or 0) to `number - 1`, every other word zero. BLOCKHASH's step opens it.
pub fn recent_hashes_tree(number: u64, mut hash_of: impl FnMut(u64) -> B256) -> WordTree {
    let mut words = [0u8; 32 * BLOCK_HASH_HISTORY as usize];
    for m in number.saturating_sub(BLOCK_HASH_HISTORY)..number {
        let at = (m % BLOCK_HASH_HISTORY) as usize * 32;
        words[at..at + 32].copy_from_slice(hash_of(m).as_slice());
    }
    WordTree::from_bytes(&words)
}

/// The items of `batch`, whose blocks were sealed with `headers` (in order): for each block
/// its block item (base fee, beneficiary, gas limit and PREVRANDAO from the header; timestamp,
/// L1 origin and transactions from the batch; the recent block hashes from `before` and the
/// headers' parent hashes), then its transactions. `before` holds the hashes of the blocks
/// before the batch's first, oldest first: the last 256 of them (all of them near genesis).
pub fn batch_inputs(
    batch: &Batch,
    headers: &[Header],
    before: &[B256],
) -> Result<Vec<InputItem>, InputsError> {
    if headers.len() != batch.blocks.len() {
        return Err(InputsError::HeaderCount {
            headers: headers.len(),
            blocks: batch.blocks.len(),
        });
    }
    let first = batch.first_block;
    let expected = first.min(BLOCK_HASH_HISTORY) as usize;
    if before.len() != expected {
        return Err(InputsError::HistoryLength {
            first,
            expected,
            got: before.len(),
        });
    }
    if let (Some(header), Some(&given)) = (headers.first(), before.last())
        && header.parent_hash != given
    {
        return Err(InputsError::HistoryLink {
            first,
            parent: header.parent_hash,
            given,
        });
    }
    // Hashes of blocks `first - before.len()` onwards: the batch's blocks' hashes are their
    // successors' parent hashes.
    let oldest = first - before.len() as u64;
    let mut hashes: Vec<B256> = before.to_vec();
    let mut items = Vec::with_capacity(batch.blocks.len() + batch.tx_count());
    for (offset, (block, header)) in batch.blocks.iter().zip(headers).enumerate() {
        let expected = first + offset as u64;
        if header.number != expected {
            return Err(InputsError::HeaderNumber {
                expected,
                got: header.number,
            });
        }
        if offset > 0 {
            hashes.push(header.parent_hash);
        }
        let recent = recent_hashes_tree(header.number, |m| hashes[(m - oldest) as usize]).root();
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
            recentHashes: recent,
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
            parent_hash: hash(number - 1),
            ..Default::default()
        }
    }

    /// A made-up hash of block `number`.
    fn hash(number: u64) -> B256 {
        keccak256(number.to_be_bytes())
    }

    /// The hashes of the blocks before `first`, as callers pass them.
    fn before(first: u64) -> Vec<B256> {
        (first.saturating_sub(256)..first).map(hash).collect()
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
        let items = batch_inputs(&batch, &[header(5), header(6)], &before(5)).unwrap();
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
            batch_inputs(&batch, &[header(5)], &before(5)),
            Err(InputsError::HeaderCount {
                headers: 1,
                blocks: 2
            })
        );
        assert_eq!(
            batch_inputs(&batch, &[header(5), header(7)], &before(5)),
            Err(InputsError::HeaderNumber {
                expected: 6,
                got: 7
            })
        );
    }

    #[test]
    fn recent_hashes_hold_the_last_256_blocks_at_their_number_mod_256() {
        // Block 300 reaches blocks 44 to 299: word 43 is block 299's, word 44 block 44's.
        let tree = recent_hashes_tree(300, hash);
        assert_eq!(tree.word(43), hash(299));
        assert_eq!(tree.word(44), hash(44));
        assert_eq!(tree.word(45), hash(45));
        assert_eq!(tree.word(255), hash(255));
        assert_eq!(tree.word(0), hash(256));
        assert_eq!(tree.word(256), B256::ZERO);
        // Near genesis only the blocks that exist: words past the block number stay zero.
        let young = recent_hashes_tree(3, hash);
        assert_eq!((young.word(0), young.word(2)), (hash(0), hash(2)));
        assert_eq!(young.word(3), B256::ZERO);
        assert_eq!(
            recent_hashes_tree(0, hash).root(),
            WordTree::default().root()
        );
    }

    #[test]
    fn block_items_carry_the_recent_hashes_of_the_chain_and_its_batch() {
        let first = 300;
        let batch = Batch {
            parent_hash: hash(first - 1),
            first_block: first,
            blocks: (0..3)
                .map(|i| BatchBlock {
                    timestamp: 10 + i,
                    l1_origin: L1Origin::default(),
                    transactions: vec![],
                })
                .collect(),
        };
        let headers: Vec<Header> = (first..first + 3).map(header).collect();
        let items = batch_inputs(&batch, &headers, &before(first)).unwrap();
        for (item, number) in items.iter().zip(first..) {
            let InputItem::Block(item) = item else {
                panic!("no transactions")
            };
            assert_eq!(item.recentHashes, recent_hashes_tree(number, hash).root());
        }
        assert_eq!(
            batch_inputs(&batch, &headers, &before(first)[1..]),
            Err(InputsError::HistoryLength {
                first,
                expected: 256,
                got: 255
            })
        );
        let mut wrong = before(first);
        *wrong.last_mut().unwrap() = B256::ZERO;
        assert_eq!(
            batch_inputs(&batch, &headers, &wrong),
            Err(InputsError::HistoryLink {
                first,
                parent: hash(first - 1),
                given: B256::ZERO
            })
        );
    }
}
