//! Reads committed batches back from L1 alone (feature `l1-reader`): the Rollup contract's logs name
//! every commitment and the L1 transactions that carry its pieces; the pieces
//! come from those transactions' calldata or blobs, are checked against the
//! piece hashes the contract stored, and concatenate to the batch bytes. The
//! challenger derives the L2 chain from these; the end-to-end tests use them to
//! prove that what the batcher posted is exactly the sequencer's chain, and the
//! sequencer's `--sync-from-l1` rebuilds its store from them.
//!
//! Blobs are fetched with Anvil's `anvil_getBlobByHash`; a production L1 serves
//! them from a beacon node's blob sidecar API, which is not wired in yet.

use crate::{
    batch::{Batch, BatchDecodeError, decode_batch},
    l1::{Rollup, batch_data_hash},
};
use alloy::{
    consensus::Transaction as _,
    eips::eip4844::{Blob, builder::SidecarCoder, builder::SimpleCoder},
    providers::{Provider, RootProvider},
    rpc::types::TransactionRequest,
    rpc::types::{Filter, Log},
};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_sol_types::{SolCall, SolEvent};
use std::{borrow::Cow, collections::HashMap};

/// A view call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The L1 request failed.
    #[error("L1 call {function}: {source}")]
    Rpc {
        /// The function's signature.
        function: &'static str,
        /// Cause.
        source: alloy::transports::TransportError,
    },
    /// The answer does not decode as the function's return type.
    #[error("L1 call {function}: undecodable answer: {detail}")]
    Decode {
        /// The function's signature.
        function: &'static str,
        /// Details.
        detail: String,
    },
}

/// Calls `call` on the Rollup at `rollup` and decodes its return value.
pub async fn call_view<C: SolCall>(
    l1: &RootProvider,
    rollup: Address,
    call: C,
) -> Result<C::Return, ViewError> {
    let request = TransactionRequest::default()
        .to(rollup)
        .input(Bytes::from(call.abi_encode()).into());
    let output = l1.call(request).await.map_err(|source| ViewError::Rpc {
        function: C::SIGNATURE,
        source,
    })?;
    C::abi_decode_returns(&output).map_err(|e| ViewError::Decode {
        function: C::SIGNATURE,
        detail: e.to_string(),
    })
}

/// Failures reading batches from L1.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The URL does not parse.
    #[error("invalid L1 RPC URL {0:?}")]
    Url(String),
    /// An L1 request failed.
    #[error("L1 {what}: {source}")]
    Rpc {
        /// What was read.
        what: &'static str,
        /// Cause.
        source: alloy::transports::TransportError,
    },
    /// A view call of the Rollup contract failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// A piece the contract stored cannot be found or does not match.
    #[error("commitment {index}: {detail}")]
    Piece {
        /// Commitment index.
        index: u64,
        /// What is wrong.
        detail: String,
    },
}

/// A commitment and the batch bytes it commits to.
#[derive(Clone, Debug)]
pub struct PostedBatch {
    /// Commitment index.
    pub index: u64,
    /// The commitment as the contract holds it now (status included).
    pub commitment: Rollup::Commitment,
    /// The L1 transaction that recorded it.
    pub submit_tx: B256,
    /// Its L1 block.
    pub l1_block: u64,
    /// L1 transactions that carried its pieces, in piece order (repeats removed).
    pub piece_txs: Vec<B256>,
    /// The batch bytes (all pieces concatenated).
    pub data: Bytes,
}

impl PostedBatch {
    /// Decodes the batch bytes.
    pub fn decode(&self) -> Result<Batch, BatchDecodeError> {
        decode_batch(&self.data)
    }
}

/// Where a piece hash was seen.
#[derive(Clone, Copy, Debug)]
struct PieceSource {
    tx: B256,
    blobs: bool,
}

/// Reads the Rollup contract's commitments and their data.
#[derive(Clone, Debug)]
pub struct BatchReader {
    l1: RootProvider,
    rollup: Address,
}

impl BatchReader {
    /// A reader of the Rollup at `rollup` on the L1 node at `url`.
    pub fn new(url: &str, rollup: Address) -> Result<Self, ReaderError> {
        let parsed = url.parse().map_err(|_| ReaderError::Url(url.into()))?;
        Ok(Self {
            l1: RootProvider::new_http(parsed),
            rollup,
        })
    }

    /// Every commitment recorded from L1 block `from_block` on, in index order, with its data.
    pub async fn batches(&self, from_block: u64) -> Result<Vec<PostedBatch>, ReaderError> {
        self.batches_since(from_block, 0).await
    }

    /// Like [`BatchReader::batches`], but only the commitments with index `min_index` or
    /// above have their data fetched and are returned.
    pub async fn batches_since(
        &self,
        from_block: u64,
        min_index: u64,
    ) -> Result<Vec<PostedBatch>, ReaderError> {
        let filter = Filter::new().address(self.rollup).from_block(from_block);
        let logs = self
            .l1
            .get_logs(&filter)
            .await
            .map_err(|source| ReaderError::Rpc {
                what: "eth_getLogs",
                source,
            })?;
        let mut sources: HashMap<B256, PieceSource> = HashMap::new();
        let mut submitted: Vec<(u64, &Log)> = Vec::new();
        for log in &logs {
            let Some(tx) = log.transaction_hash else {
                continue;
            };
            // Pieces staged ahead of the commitment or carried by its own transaction.
            let pieces = Rollup::BatchPiecesStaged::decode_log(&log.inner)
                .map(|e| (e.data.pieceHashes, e.data.kind))
                .or_else(|_| {
                    Rollup::BatchPiecesSubmitted::decode_log(&log.inner)
                        .map(|e| (e.data.pieceHashes, e.data.kind))
                });
            if let Ok((hashes, kind)) = pieces {
                let blobs = kind == Rollup::DataKind::Blobs;
                for hash in hashes {
                    sources.insert(hash, PieceSource { tx, blobs });
                }
            } else if let Ok(event) = Rollup::BatchSubmitted::decode_log(&log.inner) {
                let index: u64 = event.data.index.saturating_to();
                if index >= min_index {
                    submitted.push((index, log));
                }
            }
        }
        let mut out = Vec::with_capacity(submitted.len());
        for (index, log) in submitted {
            out.push(self.read_one(index, log, &sources).await?);
        }
        out.sort_by_key(|b| b.index);
        Ok(out)
    }

    async fn read_one(
        &self,
        index: u64,
        log: &Log,
        sources: &HashMap<B256, PieceSource>,
    ) -> Result<PostedBatch, ReaderError> {
        let piece_error = |detail: String| ReaderError::Piece { index, detail };
        let commitment = self
            .view(Rollup::getCommitmentCall {
                index: alloy_primitives::U256::from(index),
            })
            .await?;
        let hashes = self
            .view(Rollup::pieceHashesCall {
                index: alloy_primitives::U256::from(index),
            })
            .await?;
        if batch_data_hash(&hashes) != commitment.batchDataHash {
            return Err(piece_error(
                "stored piece hashes do not hash to batchDataHash".into(),
            ));
        }
        // Group consecutive pieces by the transaction that carried them.
        let mut groups: Vec<(PieceSource, Vec<B256>)> = Vec::new();
        for hash in &hashes {
            let source = *sources
                .get(hash)
                .ok_or_else(|| piece_error(format!("no L1 transaction carries piece {hash}")))?;
            match groups.last_mut() {
                Some((s, list)) if s.tx == source.tx => list.push(*hash),
                _ => groups.push((source, vec![*hash])),
            }
        }
        let mut data = Vec::new();
        for (source, pieces) in &groups {
            let tx = self
                .l1
                .get_transaction_by_hash(source.tx)
                .await
                .map_err(|source| ReaderError::Rpc {
                    what: "eth_getTransactionByHash",
                    source,
                })?
                .ok_or_else(|| piece_error(format!("transaction {} not found", source.tx)))?;
            if source.blobs {
                let versioned = tx.blob_versioned_hashes().unwrap_or_default().to_vec();
                if versioned != *pieces {
                    return Err(piece_error(format!(
                        "transaction {} carries blobs {versioned:?}, the commitment names {pieces:?}",
                        source.tx
                    )));
                }
                let mut blobs = Vec::with_capacity(versioned.len());
                for hash in &versioned {
                    blobs.push(self.blob(*hash).await?.ok_or_else(|| {
                        piece_error(format!("L1 node does not serve blob {hash}"))
                    })?);
                }
                let decoded = SimpleCoder::default()
                    .decode_all(&blobs)
                    .ok_or_else(|| piece_error(format!("blobs of {} do not decode", source.tx)))?;
                for chunk in decoded {
                    data.extend_from_slice(&chunk);
                }
            } else {
                let input = tx.input();
                let piece: Bytes = if let Ok(call) = Rollup::stageBatchDataCall::abi_decode(input) {
                    call.piece
                } else if let Ok(call) = Rollup::submitBatchCall::abi_decode(input) {
                    call.batchData
                } else {
                    return Err(piece_error(format!(
                        "transaction {} is not a stageBatchData or submitBatch call",
                        source.tx
                    )));
                };
                if pieces.len() != 1 || keccak256(&piece) != pieces[0] {
                    return Err(piece_error(format!(
                        "calldata of {} does not match piece {}",
                        source.tx, pieces[0]
                    )));
                }
                data.extend_from_slice(&piece);
            }
        }
        Ok(PostedBatch {
            index,
            commitment,
            submit_tx: log.transaction_hash.unwrap_or_default(),
            l1_block: log.block_number.unwrap_or_default(),
            piece_txs: groups.iter().map(|(s, _)| s.tx).collect(),
            data: data.into(),
        })
    }

    async fn blob(&self, versioned_hash: B256) -> Result<Option<Blob>, ReaderError> {
        let blob: Option<Bytes> = self
            .l1
            .raw_request(Cow::Borrowed("anvil_getBlobByHash"), (versioned_hash,))
            .await
            .map_err(|source| ReaderError::Rpc {
                what: "anvil_getBlobByHash",
                source,
            })?;
        Ok(blob.and_then(|b| Blob::try_from(b.as_ref()).ok()))
    }

    /// Calls a view function of the Rollup contract at L1's latest block.
    pub async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, ReaderError> {
        Ok(call_view(&self.l1, self.rollup, call).await?)
    }
}
