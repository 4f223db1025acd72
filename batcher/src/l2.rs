//! Reads sealed L2 blocks from the sequencer over JSON-RPC (`debug_getRawBlock`,
//! the raw RLP block as geth and reth serve it) and checks that they link up.

use alloy::providers::{Provider, RootProvider};
use alloy_consensus::{Block, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes};
use alloy_rlp::Decodable;
use rollup_core::{
    alloy_consensus::Header, batch::BatchBlock, block::L1Origin, fault::inputs::BLOCK_HASH_HISTORY,
};
use std::{
    borrow::Cow,
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
};

/// Failures reading L2 blocks.
#[derive(Debug, thiserror::Error)]
pub enum L2Error {
    /// The URL does not parse.
    #[error("invalid L2 RPC URL {0:?}: {1}")]
    Url(String, url::ParseError),
    /// Transport or RPC error.
    #[error("L2 RPC {method} failed: {source}")]
    Rpc {
        /// The method.
        method: &'static str,
        /// Cause.
        source: alloy::transports::TransportError,
    },
    /// The raw block does not decode.
    #[error("L2 block {number}: undecodable raw block: {source}")]
    Decode {
        /// Block number.
        number: u64,
        /// Cause.
        source: alloy_rlp::Error,
    },
    /// The sequencer answered with a different block than asked, or blocks do not link.
    #[error("L2 block {number}: {detail}")]
    Inconsistent {
        /// Block number.
        number: u64,
        /// What is wrong.
        detail: String,
    },
}

/// One sealed L2 block as the batcher needs it.
#[derive(Clone, Debug)]
pub struct L2Block {
    /// Header.
    pub header: Header,
    /// keccak(rlp(header)).
    pub hash: B256,
    /// EIP-2718 encoded transactions, in block order.
    pub transactions: Vec<Bytes>,
}

impl L2Block {
    /// Block number.
    pub fn number(&self) -> u64 {
        self.header.number
    }

    /// Its entry in a batch.
    pub fn batch_block(&self) -> BatchBlock {
        BatchBlock {
            timestamp: self.header.timestamp,
            l1_origin: L1Origin::from_header(&self.header).unwrap_or_default(),
            transactions: self.transactions.clone(),
        }
    }

    /// Encoded size of its transactions.
    pub fn tx_bytes(&self) -> usize {
        self.transactions.iter().map(|t| t.len()).sum()
    }
}

/// A JSON-RPC client of the sequencer.
#[derive(Clone, Debug)]
pub struct L2Client {
    provider: RootProvider,
    /// `number -> (hash, parent hash)` of the blocks read lately, for the recent block hashes
    /// of the next batch's inputs.
    seen: Arc<Mutex<BTreeMap<u64, (B256, B256)>>>,
}

/// Blocks whose hashes the client keeps (a batch's history and a few batches of blocks).
const SEEN_BLOCKS: usize = 4096;

impl L2Client {
    /// A client of the sequencer at `url`.
    pub fn new(url: &str) -> Result<Self, L2Error> {
        let parsed = url.parse().map_err(|e| L2Error::Url(url.into(), e))?;
        Ok(Self {
            provider: RootProvider::new_http(parsed),
            seen: Arc::default(),
        })
    }

    /// The sequencer's head block number.
    pub async fn head(&self) -> Result<u64, L2Error> {
        self.provider
            .get_block_number()
            .await
            .map_err(|source| L2Error::Rpc {
                method: "eth_blockNumber",
                source,
            })
    }

    /// Block `number`, or `None` when the sequencer does not have it yet.
    pub async fn block(&self, number: u64) -> Result<Option<L2Block>, L2Error> {
        let Some(raw) = self.raw("debug_getRawBlock", number).await? else {
            return Ok(None);
        };
        let block = Block::<TxEnvelope>::decode(&mut raw.as_ref())
            .map_err(|source| L2Error::Decode { number, source })?;
        if block.header.number != number {
            return Err(L2Error::Inconsistent {
                number,
                detail: format!("asked for it, got block {}", block.header.number),
            });
        }
        let hash = block.header.hash_slow();
        self.remember(number, hash, block.header.parent_hash);
        Ok(Some(L2Block {
            transactions: block
                .body
                .transactions
                .iter()
                .map(|t| Bytes::from(t.encoded_2718()))
                .collect(),
            header: block.header,
            hash,
        }))
    }

    /// The raw RLP `method` (`debug_getRawBlock`, `debug_getRawHeader`) returns for block
    /// `number`, `None` when the sequencer does not have it.
    async fn raw(&self, method: &'static str, number: u64) -> Result<Option<Bytes>, L2Error> {
        self.provider
            .raw_request(Cow::Borrowed(method), (format!("{number:#x}"),))
            .await
            .map_err(|source| L2Error::Rpc { method, source })
    }

    fn remember(&self, number: u64, hash: B256, parent: B256) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.insert(number, (hash, parent));
        while seen.len() > SEEN_BLOCKS {
            seen.pop_first();
        }
    }

    /// The parent hash of block `number`, whose hash is `hash` (checked when its header is
    /// fetched).
    async fn parent_of(&self, number: u64, hash: B256) -> Result<B256, L2Error> {
        let cached = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&number)
            .copied();
        if let Some((seen, parent)) = cached
            && seen == hash
        {
            return Ok(parent);
        }
        let raw = self.raw("debug_getRawHeader", number).await?;
        let raw = raw.ok_or_else(|| L2Error::Inconsistent {
            number,
            detail: "the sequencer does not have its header".into(),
        })?;
        let header = Header::decode(&mut raw.as_ref())
            .map_err(|source| L2Error::Decode { number, source })?;
        let got = header.hash_slow();
        if header.number != number || got != hash {
            return Err(L2Error::Inconsistent {
                number,
                detail: format!(
                    "header {} hashes to {got}, its child names {hash}",
                    header.number
                ),
            });
        }
        self.remember(number, hash, header.parent_hash);
        Ok(header.parent_hash)
    }

    /// The hashes of the last 256 blocks up to `parent` (all of them near genesis), oldest
    /// first: what BLOCKHASH reaches from the block after `parent`. Walks back by parent hash,
    /// from the blocks read lately or their headers.
    pub async fn recent_hashes(&self, parent: &L2Block) -> Result<Vec<B256>, L2Error> {
        let oldest = (parent.number() + 1).saturating_sub(BLOCK_HASH_HISTORY);
        let mut hashes = vec![parent.hash];
        let mut hash = parent.header.parent_hash;
        for number in (oldest..parent.number()).rev() {
            hashes.push(hash);
            if number > oldest {
                hash = self.parent_of(number, hash).await?;
            }
        }
        hashes.reverse();
        Ok(hashes)
    }

    /// Blocks `first..=last` (stopping early at the head), checked to link by parent hash.
    pub async fn blocks(&self, first: u64, last: u64) -> Result<Vec<L2Block>, L2Error> {
        let mut out: Vec<L2Block> = Vec::new();
        for number in first..=last {
            let Some(block) = self.block(number).await? else {
                break;
            };
            if let Some(prev) = out.last()
                && block.header.parent_hash != prev.hash
            {
                return Err(L2Error::Inconsistent {
                    number,
                    detail: format!(
                        "parent hash {} is not block {}'s hash {}",
                        block.header.parent_hash,
                        prev.number(),
                        prev.hash
                    ),
                });
            }
            out.push(block);
        }
        Ok(out)
    }
}
