//! The batch codec: how a range of L2 blocks is encoded and compressed for L1.
//!
//! A batch is a run of consecutive L2 blocks: for each block its timestamp,
//! its L1 origin and its transactions (EIP-2718 bytes, exactly as in the
//! block). [`encode_batch`] turns it into the bytes the batcher posts:
//! one version byte ([`BATCH_VERSION`]) followed by a brotli stream holding a
//! *columnar* body (every transaction field in its own column, so that like
//! compresses with like). [`decode_batch`] is the exact inverse and is the
//! only way the challenger reads L1 data, so it must never panic and must
//! bound its memory whatever the input: the decompressed body is capped at
//! [`MAX_BODY_BYTES`], every count is checked against the bytes that remain
//! before anything is allocated for it, and every transaction must decode as
//! an `alloy_consensus::TxEnvelope` other than EIP-4844.
//!
//! The byte-by-byte specification, the limits, the error rules and the
//! measurements behind the format are in `docs/batch-format.md`.

mod body;

pub use crate::block::L1Origin;
pub use body::{decode_body, encode_body};

use alloy_primitives::{B256, Bytes};

/// The version byte of the format this module writes and reads: columnar
/// body, compressed as one brotli stream.
pub const BATCH_VERSION: u8 = 1;

/// Brotli quality the encoder uses (the best, chosen by measurement: see
/// `docs/batch-format.md`).
pub const BROTLI_QUALITY: u32 = 11;

/// Brotli window the encoder uses, as a power of two (2^24 - 16 bytes, the
/// largest standard brotli window). Decoders accept any standard window
/// (10..=24) and refuse the non-standard "large window" extension.
pub const BROTLI_WINDOW_LOG: u32 = 24;

/// Largest decompressed body a decoder accepts (64 MiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Most blocks in one batch (65,536: about 18 hours of 1 s blocks).
pub const MAX_BLOCKS_PER_BATCH: usize = 1 << 16;

/// Most transactions in one batch (2^20).
pub const MAX_TXS_PER_BATCH: usize = 1 << 20;

/// Largest encoded transaction a batch may carry: the intake limit
/// ([`crate::tx::MAX_TX_BYTES`], 128 KiB), so that every transaction the
/// sequencer can include fits and nothing larger can appear in a batch.
pub const MAX_TX_BYTES: usize = crate::tx::MAX_TX_BYTES;

/// One L2 block as carried by a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchBlock {
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// The L1 block this L2 block refers to.
    pub l1_origin: L1Origin,
    /// EIP-2718 encoded signed transactions, exactly as in the block, in block order.
    pub transactions: Vec<Bytes>,
}

/// A run of consecutive L2 blocks, the unit the batcher posts to L1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Hash of the L2 block before the first block of the batch.
    pub parent_hash: B256,
    /// Number of the first block.
    pub first_block: u64,
    /// The blocks, in order; never empty in a valid batch.
    pub blocks: Vec<BatchBlock>,
}

impl Batch {
    /// Number of the last block (`first_block` for a batch without blocks;
    /// saturates instead of overflowing).
    pub fn last_block(&self) -> u64 {
        self.first_block
            .saturating_add((self.blocks.len() as u64).saturating_sub(1))
    }

    /// Number of transactions in all blocks.
    pub fn tx_count(&self) -> usize {
        self.blocks.iter().map(|b| b.transactions.len()).sum()
    }
}

/// Why a batch could not be encoded. The encoder refuses exactly what the
/// decoder would refuse, so whatever it returns decodes back to the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchEncodeError {
    /// The batch has no blocks.
    #[error("a batch must contain at least one block")]
    EmptyBatch,
    /// More blocks than [`MAX_BLOCKS_PER_BATCH`].
    #[error("{count} blocks in one batch, over the limit of {max}")]
    TooManyBlocks {
        /// Blocks in the batch.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More transactions than [`MAX_TXS_PER_BATCH`].
    #[error("{count} transactions in one batch, over the limit of {max}")]
    TooManyTransactions {
        /// Transactions in the batch.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// `first_block + blocks - 1` does not fit in a u64.
    #[error("block numbers overflow: first block {first_block}, {blocks} blocks")]
    BlockNumberOverflow {
        /// First block number.
        first_block: u64,
        /// Blocks in the batch.
        blocks: usize,
    },
    /// A transaction is larger than [`MAX_TX_BYTES`].
    #[error("transaction {index} of block {block} is {size} bytes, over the limit of {max}")]
    TransactionTooLarge {
        /// Position of the block in the batch (0-based).
        block: usize,
        /// Position of the transaction in the block (0-based).
        index: usize,
        /// Its encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A transaction is not a valid EIP-2718 signed transaction.
    #[error("invalid transaction at block {block} index {index}: {reason}")]
    InvalidTransaction {
        /// Position of the block in the batch (0-based).
        block: usize,
        /// Position of the transaction in the block (0-based).
        index: usize,
        /// What the decoder said.
        reason: String,
    },
    /// An EIP-4844 blob transaction: not allowed on this L2.
    #[error("EIP-4844 blob transaction at block {block} index {index}: not allowed on this L2")]
    BlobTransaction {
        /// Position of the block in the batch (0-based).
        block: usize,
        /// Position of the transaction in the block (0-based).
        index: usize,
    },
    /// The uncompressed body would exceed [`MAX_BODY_BYTES`].
    #[error("batch body would be at least {size} bytes, over the limit of {max}")]
    BodyTooLarge {
        /// Body size, or the size reached when the encoder stopped.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The compressor failed (should not happen).
    #[error("compression failed: {0}")]
    Compression(String),
}

/// Why bytes are not a valid batch. Offsets are byte positions in the
/// decompressed body; block and index positions are 0-based within the batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchDecodeError {
    /// No bytes at all.
    #[error("empty input: no version byte")]
    Empty,
    /// The version byte is not [`BATCH_VERSION`].
    #[error("unknown batch version {0:#04x} (this codec reads version {BATCH_VERSION})")]
    UnknownVersion(u8),
    /// The compressed body is not one complete, valid brotli stream.
    #[error("corrupt compressed body: {0}")]
    Decompression(String),
    /// Bytes follow the end of the brotli stream.
    #[error("{extra} bytes after the end of the compressed body")]
    TrailingCompressedBytes {
        /// How many.
        extra: usize,
    },
    /// The body decompresses to more than [`MAX_BODY_BYTES`].
    #[error("decompressed body over the limit of {max} bytes")]
    DecompressedTooLarge {
        /// The limit.
        max: usize,
    },
    /// The body (or one of its columns) ends in the middle of a field.
    #[error("body truncated at byte {offset} while reading {field}")]
    Truncated {
        /// Where the missing bytes should start.
        offset: usize,
        /// The field being read.
        field: &'static str,
    },
    /// The body, or a column, holds bytes that no field uses.
    #[error("{extra} unused bytes at byte {offset}, at the end of {field}")]
    TrailingBytes {
        /// Where the unused bytes start.
        offset: usize,
        /// The column (or "body").
        field: &'static str,
        /// How many.
        extra: usize,
    },
    /// A field is encoded in a way the encoder never produces, although it
    /// could be read (redundant varint bytes, leading zeros, data repeated
    /// instead of referenced, an escaped transaction the columns could have
    /// held, ...): every batch has exactly one body.
    #[error("non-canonical encoding at byte {offset} ({field}): {reason}")]
    NonCanonical {
        /// Where the field starts.
        offset: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A field holds a value the format does not allow (a flag other than
    /// 0/1, a varint wider than its type, an index to nothing, a value over
    /// 256 bits, RLP that does not decode, ...).
    #[error("invalid field at byte {offset} ({field}): {reason}")]
    InvalidField {
        /// Where the field starts.
        offset: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The batch declares zero blocks.
    #[error("a batch must contain at least one block")]
    EmptyBatch,
    /// More blocks than [`MAX_BLOCKS_PER_BATCH`].
    #[error("{count} blocks in one batch, over the limit of {max}")]
    TooManyBlocks {
        /// Declared count.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// More transactions than [`MAX_TXS_PER_BATCH`].
    #[error("{count} transactions in one batch, over the limit of {max}")]
    TooManyTransactions {
        /// Declared count.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// A count needs more bytes than its column has (checked before allocating).
    #[error("{field} {count} (at byte {offset}) needs more than the {available} bytes available")]
    CountExceedsData {
        /// Where the count is.
        offset: usize,
        /// The count.
        field: &'static str,
        /// Its value.
        count: u64,
        /// Bytes available for what it counts.
        available: usize,
    },
    /// The per-block transaction counts do not add up to the declared total.
    #[error("block transaction counts add up to {sum}, the header declares {declared}")]
    TxCountMismatch {
        /// Sum of the per-block counts (saturating).
        sum: u64,
        /// Declared total.
        declared: u64,
    },
    /// `first_block + block_count - 1` does not fit in a u64.
    #[error("block numbers overflow: first block {first_block}, {blocks} blocks")]
    BlockNumberOverflow {
        /// First block number.
        first_block: u64,
        /// Declared block count.
        blocks: u64,
    },
    /// A transaction kind byte that the format does not define.
    #[error("unknown transaction kind {kind:#04x} at block {block} index {index}")]
    UnknownTxKind {
        /// Position of the block in the batch.
        block: usize,
        /// Position of the transaction in the block.
        index: usize,
        /// The kind byte.
        kind: u8,
    },
    /// A transaction larger than [`MAX_TX_BYTES`].
    #[error("transaction {index} of block {block} is {size} bytes, over the limit of {max}")]
    TransactionTooLarge {
        /// Position of the block in the batch.
        block: usize,
        /// Position of the transaction in the block.
        index: usize,
        /// Its encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Transaction bytes (escaped, or rebuilt from the columns) that are not
    /// a valid EIP-2718 signed transaction.
    #[error("invalid transaction at block {block} index {index}: {reason}")]
    InvalidTransaction {
        /// Position of the block in the batch.
        block: usize,
        /// Position of the transaction in the block.
        index: usize,
        /// What the decoder said.
        reason: String,
    },
    /// An EIP-4844 blob transaction: not allowed on this L2.
    #[error("EIP-4844 blob transaction at block {block} index {index}: not allowed on this L2")]
    BlobTransaction {
        /// Position of the block in the batch.
        block: usize,
        /// Position of the transaction in the block.
        index: usize,
    },
}

/// Encodes a batch for L1: [`BATCH_VERSION`] followed by the brotli-compressed
/// columnar body.
pub fn encode_batch(batch: &Batch) -> Result<Bytes, BatchEncodeError> {
    seal_body(&encode_body(batch)?)
}

/// Decodes bytes read from L1 into a batch. Never panics; memory is bounded
/// by a small multiple of [`MAX_BODY_BYTES`].
pub fn decode_batch(data: &[u8]) -> Result<Batch, BatchDecodeError> {
    decode_body(&open_body(data)?)
}

/// The envelope alone: [`BATCH_VERSION`] followed by `body` compressed with
/// brotli at [`BROTLI_QUALITY`]. `encode_batch(b) == seal_body(&encode_body(b)?)`.
pub fn seal_body(body: &[u8]) -> Result<Bytes, BatchEncodeError> {
    seal_body_with_quality(body, BROTLI_QUALITY)
}

/// [`seal_body`] at another brotli quality, 0..=11 (for measurements; every
/// quality decodes the same way).
pub fn seal_body_with_quality(body: &[u8], quality: u32) -> Result<Bytes, BatchEncodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BatchEncodeError::BodyTooLarge {
            size: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality.min(11) as i32,
        lgwin: BROTLI_WINDOW_LOG as i32,
        size_hint: body.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(1 + body.len() / 2);
    out.push(BATCH_VERSION);
    brotli::BrotliCompress(&mut &body[..], &mut out, &params)
        .map_err(|e| BatchEncodeError::Compression(e.to_string()))?;
    Ok(out.into())
}

/// Checks the version byte and decompresses the body: exactly one brotli
/// stream, nothing after it, at most [`MAX_BODY_BYTES`] once decompressed.
pub fn open_body(data: &[u8]) -> Result<Vec<u8>, BatchDecodeError> {
    use brotli::{BrotliDecompressStream, BrotliResult, BrotliState, HeapAlloc, HuffmanCode};

    let (&version, stream) = data.split_first().ok_or(BatchDecodeError::Empty)?;
    if version != BATCH_VERSION {
        return Err(BatchDecodeError::UnknownVersion(version));
    }
    let mut state = BrotliState::new(
        HeapAlloc::<u8>::new(0),
        HeapAlloc::<u32>::new(0),
        HeapAlloc::<HuffmanCode>::new(HuffmanCode { bits: 2, value: 1 }),
    );
    let mut available_in = stream.len();
    let mut input_offset = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total_out = 0;
    let mut body = Vec::new();
    loop {
        let mut available_out = chunk.len();
        let mut output_offset = 0;
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            stream,
            &mut available_out,
            &mut output_offset,
            &mut chunk,
            &mut total_out,
            &mut state,
        );
        if body.len() + output_offset > MAX_BODY_BYTES {
            return Err(BatchDecodeError::DecompressedTooLarge {
                max: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk[..output_offset]);
        match result {
            BrotliResult::NeedsMoreOutput => {}
            BrotliResult::ResultSuccess if available_in == 0 => return Ok(body),
            BrotliResult::ResultSuccess => {
                return Err(BatchDecodeError::TrailingCompressedBytes {
                    extra: available_in,
                });
            }
            BrotliResult::NeedsMoreInput => {
                return Err(BatchDecodeError::Decompression(
                    "brotli stream ends before its last meta-block".into(),
                ));
            }
            BrotliResult::ResultFailure => {
                return Err(BatchDecodeError::Decompression(format!(
                    "brotli: {:?}",
                    state.error_code
                )));
            }
        }
    }
}
