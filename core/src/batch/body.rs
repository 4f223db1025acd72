//! The uncompressed, columnar body of a version-1 batch (see `docs/batch-format.md`).

use super::{
    Batch, BatchBlock, BatchDecodeError, BatchEncodeError, L1Origin, MAX_BLOCKS_PER_BATCH,
    MAX_BODY_BYTES, MAX_TX_BYTES, MAX_TXS_PER_BATCH,
};
use alloy_consensus::{Signed, TxEip1559, TxEip2930, TxEip7702, TxEnvelope, TxLegacy};
use alloy_eips::{
    eip2718::{Decodable2718, Encodable2718},
    eip2930::AccessList,
    eip7702::SignedAuthorization,
};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use alloy_rlp::{Decodable, Encodable};
use std::collections::{HashMap, HashSet, hash_map::Entry};

type DecodeResult<T> = Result<T, BatchDecodeError>;

// ---------------------------------------------------------------------------
// Columns

/// Number of columns.
pub(crate) const COLUMN_COUNT: usize = 24;

/// The columns of the body, in their order, with the name of their length
/// field (for errors). Each is written as `uvarint(len) || bytes`.
const COLUMNS: [(&str, &str); COLUMN_COUNT] = [
    ("block_tx_counts", "block_tx_counts length"),
    ("timestamps", "timestamps length"),
    ("l1_numbers", "l1_numbers length"),
    ("l1_hash_flags", "l1_hash_flags length"),
    ("l1_hashes", "l1_hashes length"),
    ("tx_kinds", "tx_kinds length"),
    ("chain_ids", "chain_ids length"),
    ("nonces", "nonces length"),
    ("gas_limits", "gas_limits length"),
    ("fee_caps", "fee_caps length"),
    ("priority_fees", "priority_fees length"),
    ("to_indices", "to_indices length"),
    ("to_addresses", "to_addresses length"),
    ("value_exponents", "value_exponents length"),
    ("value_mantissas", "value_mantissas length"),
    ("input_lengths", "input_lengths length"),
    ("inputs", "inputs length"),
    ("access_lists", "access_lists length"),
    ("authorization_lists", "authorization_lists length"),
    ("y_parities", "y_parities length"),
    ("sig_r", "sig_r length"),
    ("sig_s", "sig_s length"),
    ("raw_lengths", "raw_lengths length"),
    ("raw_txs", "raw_txs length"),
];

const BLOCK_TX_COUNTS: usize = 0;
const TIMESTAMPS: usize = 1;
const L1_NUMBERS: usize = 2;
const L1_HASH_FLAGS: usize = 3;
const L1_HASHES: usize = 4;
const TX_KINDS: usize = 5;
const CHAIN_IDS: usize = 6;
const NONCES: usize = 7;
const GAS_LIMITS: usize = 8;
const FEE_CAPS: usize = 9;
const PRIORITY_FEES: usize = 10;
const TO_INDICES: usize = 11;
const TO_ADDRESSES: usize = 12;
const VALUE_EXPONENTS: usize = 13;
const VALUE_MANTISSAS: usize = 14;
const INPUT_LENGTHS: usize = 15;
const INPUTS: usize = 16;
const ACCESS_LISTS: usize = 17;
const AUTHORIZATION_LISTS: usize = 18;
const Y_PARITIES: usize = 19;
const SIG_R: usize = 20;
const SIG_S: usize = 21;
const RAW_LENGTHS: usize = 22;
const RAW_TXS: usize = 23;

// Transaction kind byte: the EIP-2718 type in the low 3 bits, plus flags.
const KIND_LEGACY: u8 = 0x00;
const KIND_EIP2930: u8 = 0x01;
const KIND_EIP1559: u8 = 0x02;
const KIND_EIP7702: u8 = 0x04;
/// `to` is empty: contract creation (not allowed with EIP-7702).
const FLAG_CREATE: u8 = 0x08;
/// Legacy transaction without EIP-155 chain id (v = 27/28).
const FLAG_NO_CHAIN_ID: u8 = 0x10;
/// The transaction is stored verbatim in `raw_lengths`/`raw_txs`.
const KIND_RAW: u8 = 0xff;

// ---------------------------------------------------------------------------
// Writing

fn put_uvarint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag of the wrapping difference: a bijection between u64 pairs' deltas and u64.
fn zigzag_delta(prev: u64, cur: u64) -> u64 {
    let d = cur.wrapping_sub(prev) as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag_delta(prev: u64, zz: u64) -> u64 {
    let d = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
    prev.wrapping_add(d as u64)
}

fn put_u256(out: &mut Vec<u8>, v: &U256) {
    let be = v.to_be_bytes::<32>();
    let skip = be.iter().take_while(|b| **b == 0).count();
    out.push((32 - skip) as u8);
    out.extend_from_slice(&be[skip..]);
}

#[derive(Default)]
struct Columns {
    cols: [Vec<u8>; COLUMN_COUNT],
    /// `to` addresses seen so far, with their 1-based index in `to_addresses`.
    to_table: HashMap<Address, u64>,
}

/// `value = mantissa * 10^exponent` with the mantissa not a multiple of 10
/// (zero is `(0, 0)`).
fn decimal(value: &U256) -> (u8, U256) {
    let ten = U256::from(10u8);
    let mut m = *value;
    let mut e = 0u8;
    while !m.is_zero() {
        let (q, r) = m.div_rem(ten);
        if !r.is_zero() {
            break;
        }
        m = q;
        e += 1;
    }
    (e, m)
}

impl Columns {
    fn col(&mut self, i: usize) -> &mut Vec<u8> {
        &mut self.cols[i]
    }

    fn uvarint(&mut self, i: usize, v: u128) {
        put_uvarint(&mut self.cols[i], v);
    }

    fn push_tx(&mut self, tx: &TxEnvelope) {
        let to = |kind: &TxKind| match kind {
            TxKind::Create => None,
            TxKind::Call(a) => Some(*a),
        };
        match tx {
            TxEnvelope::Legacy(s) => {
                let t = s.tx();
                let mut kind = KIND_LEGACY;
                if t.chain_id.is_none() {
                    kind |= FLAG_NO_CHAIN_ID;
                }
                self.fields(
                    kind,
                    t.chain_id,
                    t.nonce,
                    t.gas_limit,
                    t.gas_price,
                    None,
                    to(&t.to),
                    &t.value,
                    &t.input,
                    s.signature(),
                );
            }
            TxEnvelope::Eip2930(s) => {
                let t = s.tx();
                self.fields(
                    KIND_EIP2930,
                    Some(t.chain_id),
                    t.nonce,
                    t.gas_limit,
                    t.gas_price,
                    None,
                    to(&t.to),
                    &t.value,
                    &t.input,
                    s.signature(),
                );
                t.access_list.encode(self.col(ACCESS_LISTS));
            }
            TxEnvelope::Eip1559(s) => {
                let t = s.tx();
                self.fields(
                    KIND_EIP1559,
                    Some(t.chain_id),
                    t.nonce,
                    t.gas_limit,
                    t.max_fee_per_gas,
                    Some(t.max_priority_fee_per_gas),
                    to(&t.to),
                    &t.value,
                    &t.input,
                    s.signature(),
                );
                t.access_list.encode(self.col(ACCESS_LISTS));
            }
            TxEnvelope::Eip7702(s) => {
                let t = s.tx();
                self.fields(
                    KIND_EIP7702,
                    Some(t.chain_id),
                    t.nonce,
                    t.gas_limit,
                    t.max_fee_per_gas,
                    Some(t.max_priority_fee_per_gas),
                    Some(t.to),
                    &t.value,
                    &t.input,
                    s.signature(),
                );
                t.access_list.encode(self.col(ACCESS_LISTS));
                t.authorization_list.encode(self.col(AUTHORIZATION_LISTS));
            }
            TxEnvelope::Eip4844(_) => unreachable!("refused before"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fields(
        &mut self,
        mut kind: u8,
        chain_id: Option<u64>,
        nonce: u64,
        gas_limit: u64,
        fee_cap: u128,
        priority_fee: Option<u128>,
        to: Option<Address>,
        value: &U256,
        input: &Bytes,
        sig: &Signature,
    ) {
        if to.is_none() {
            kind |= FLAG_CREATE;
        }
        self.col(TX_KINDS).push(kind);
        if let Some(id) = chain_id {
            self.uvarint(CHAIN_IDS, id.into());
        }
        self.uvarint(NONCES, nonce.into());
        self.uvarint(GAS_LIMITS, gas_limit.into());
        self.uvarint(FEE_CAPS, fee_cap);
        if let Some(tip) = priority_fee {
            self.uvarint(PRIORITY_FEES, tip);
        }
        if let Some(to) = to {
            let next = self.to_table.len() as u64 + 1;
            match self.to_table.entry(to) {
                Entry::Occupied(e) => {
                    let index = *e.get();
                    self.uvarint(TO_INDICES, index.into());
                }
                Entry::Vacant(e) => {
                    e.insert(next);
                    self.uvarint(TO_INDICES, 0);
                    self.col(TO_ADDRESSES).extend_from_slice(to.as_slice());
                }
            }
        }
        let (exponent, mantissa) = decimal(value);
        self.col(VALUE_EXPONENTS).push(exponent);
        put_u256(self.col(VALUE_MANTISSAS), &mantissa);
        self.uvarint(INPUT_LENGTHS, input.len() as u128);
        self.col(INPUTS).extend_from_slice(input);
        self.col(Y_PARITIES).push(sig.v() as u8);
        self.col(SIG_R)
            .extend_from_slice(&sig.r().to_be_bytes::<32>());
        self.col(SIG_S)
            .extend_from_slice(&sig.s().to_be_bytes::<32>());
    }

    fn push_raw(&mut self, raw: &[u8]) {
        self.col(TX_KINDS).push(KIND_RAW);
        self.uvarint(RAW_LENGTHS, raw.len() as u128);
        self.col(RAW_TXS).extend_from_slice(raw);
    }
}

/// Decodes `raw` as a transaction the format accepts (any `TxEnvelope` but
/// EIP-4844), with the error the encoder or the decoder reports.
fn decode_tx(raw: &[u8]) -> Result<TxEnvelope, TxProblem> {
    if raw.len() > MAX_TX_BYTES {
        return Err(TxProblem::TooLarge(raw.len()));
    }
    let tx = TxEnvelope::decode_2718_exact(raw).map_err(|e| TxProblem::Invalid(e.to_string()))?;
    if tx.is_eip4844() {
        return Err(TxProblem::Blob);
    }
    Ok(tx)
}

enum TxProblem {
    TooLarge(usize),
    Invalid(String),
    Blob,
}

impl TxProblem {
    fn encode_err(self, block: usize, index: usize) -> BatchEncodeError {
        match self {
            TxProblem::TooLarge(size) => BatchEncodeError::TransactionTooLarge {
                block,
                index,
                size,
                max: MAX_TX_BYTES,
            },
            TxProblem::Invalid(reason) => BatchEncodeError::InvalidTransaction {
                block,
                index,
                reason,
            },
            TxProblem::Blob => BatchEncodeError::BlobTransaction { block, index },
        }
    }

    fn decode_err(self, block: usize, index: usize) -> BatchDecodeError {
        match self {
            TxProblem::TooLarge(size) => BatchDecodeError::TransactionTooLarge {
                block,
                index,
                size,
                max: MAX_TX_BYTES,
            },
            TxProblem::Invalid(reason) => BatchDecodeError::InvalidTransaction {
                block,
                index,
                reason,
            },
            TxProblem::Blob => BatchDecodeError::BlobTransaction { block, index },
        }
    }
}

/// The uncompressed body of `batch` (what [`super::seal_body`] compresses).
/// Fails on exactly the batches [`decode_body`] would refuse.
pub fn encode_body(batch: &Batch) -> Result<Vec<u8>, BatchEncodeError> {
    let blocks = &batch.blocks;
    if blocks.is_empty() {
        return Err(BatchEncodeError::EmptyBatch);
    }
    if blocks.len() > MAX_BLOCKS_PER_BATCH {
        return Err(BatchEncodeError::TooManyBlocks {
            count: blocks.len(),
            max: MAX_BLOCKS_PER_BATCH,
        });
    }
    if batch
        .first_block
        .checked_add(blocks.len() as u64 - 1)
        .is_none()
    {
        return Err(BatchEncodeError::BlockNumberOverflow {
            first_block: batch.first_block,
            blocks: blocks.len(),
        });
    }
    let tx_count = batch.tx_count();
    if tx_count > MAX_TXS_PER_BATCH {
        return Err(BatchEncodeError::TooManyTransactions {
            count: tx_count,
            max: MAX_TXS_PER_BATCH,
        });
    }

    let mut c = Columns::default();
    let mut prev: Option<&BatchBlock> = None;
    for (i, block) in blocks.iter().enumerate() {
        c.uvarint(BLOCK_TX_COUNTS, block.transactions.len() as u128);
        let origin = &block.l1_origin;
        match prev {
            None => {
                c.uvarint(TIMESTAMPS, block.timestamp.into());
                c.uvarint(L1_NUMBERS, origin.number.into());
            }
            Some(p) => {
                c.uvarint(
                    TIMESTAMPS,
                    zigzag_delta(p.timestamp, block.timestamp).into(),
                );
                let d = zigzag_delta(p.l1_origin.number, origin.number);
                c.uvarint(L1_NUMBERS, d.into());
            }
        }
        let new_hash = prev.is_none_or(|p| p.l1_origin.hash != origin.hash);
        c.col(L1_HASH_FLAGS).push(new_hash as u8);
        if new_hash {
            c.col(L1_HASHES).extend_from_slice(origin.hash.as_slice());
        }
        for (j, raw) in block.transactions.iter().enumerate() {
            let tx = decode_tx(raw).map_err(|p| p.encode_err(i, j))?;
            if tx.encoded_2718() == raw.as_ref() {
                c.push_tx(&tx);
            } else {
                c.push_raw(raw);
            }
            // Stop early rather than build a body that cannot be sent.
            let size = c.cols.iter().map(Vec::len).sum::<usize>();
            if size > MAX_BODY_BYTES {
                return Err(BatchEncodeError::BodyTooLarge {
                    size,
                    max: MAX_BODY_BYTES,
                });
            }
        }
        prev = Some(block);
    }

    let mut body = Vec::with_capacity(64 + c.cols.iter().map(|c| c.len() + 5).sum::<usize>());
    body.extend_from_slice(batch.parent_hash.as_slice());
    put_uvarint(&mut body, batch.first_block.into());
    put_uvarint(&mut body, blocks.len() as u128);
    put_uvarint(&mut body, tx_count as u128);
    for col in &c.cols {
        put_uvarint(&mut body, col.len() as u128);
        body.extend_from_slice(col);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(BatchEncodeError::BodyTooLarge {
            size: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    Ok(body)
}

// ---------------------------------------------------------------------------
// Reading

/// A cursor over one column (or the body header), reporting body offsets.
struct Reader<'a> {
    field: &'static str,
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the body.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(field: &'static str, data: &'a [u8], base: usize) -> Self {
        Self {
            field,
            data,
            pos: 0,
            base,
        }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn truncated(&self) -> BatchDecodeError {
        BatchDecodeError::Truncated {
            offset: self.offset(),
            field: self.field,
        }
    }

    fn non_canonical(&self, at: usize, reason: &'static str) -> BatchDecodeError {
        BatchDecodeError::NonCanonical {
            offset: self.base + at,
            field: self.field,
            reason,
        }
    }

    fn invalid(&self, at: usize, reason: &'static str) -> BatchDecodeError {
        BatchDecodeError::InvalidField {
            offset: self.base + at,
            field: self.field,
            reason,
        }
    }

    fn bytes(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.bytes(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Unsigned LEB128 of at most `bits` bits, in its shortest form.
    fn uvarint(&mut self, bits: u32) -> DecodeResult<u128> {
        let start = self.pos;
        let mut v: u128 = 0;
        let mut shift: u32 = 0;
        loop {
            let b = self.u8()?;
            let chunk = u128::from(b & 0x7f);
            if shift >= bits || (bits - shift < 7 && chunk >> (bits - shift) != 0) {
                return Err(self.invalid(start, "varint overflows its type"));
            }
            v |= chunk << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    return Err(self.non_canonical(start, "varint has a redundant final zero byte"));
                }
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn u64(&mut self) -> DecodeResult<u64> {
        Ok(self.uvarint(64)? as u64)
    }

    fn u128(&mut self) -> DecodeResult<u128> {
        self.uvarint(128)
    }

    /// A length (or count) that must fit in this platform's usize.
    fn len(&mut self) -> DecodeResult<usize> {
        let start = self.pos;
        usize::try_from(self.u64()?).map_err(|_| self.invalid(start, "length overflows usize"))
    }

    fn u256(&mut self) -> DecodeResult<U256> {
        let start = self.pos;
        let n = self.u8()? as usize;
        if n > 32 {
            return Err(self.invalid(start, "U256 longer than 32 bytes"));
        }
        let bytes = self.bytes(n)?;
        if bytes.first() == Some(&0) {
            return Err(self.non_canonical(start, "U256 with a leading zero byte"));
        }
        Ok(U256::from_be_slice(bytes))
    }

    /// One RLP item, decoded by alloy-rlp, that must be in canonical form.
    fn rlp<T: Decodable + Encodable>(&mut self) -> DecodeResult<T> {
        let start = self.pos;
        let mut buf = &self.data[self.pos..];
        let before = buf.len();
        let v = T::decode(&mut buf).map_err(|e| match e {
            alloy_rlp::Error::InputTooShort => self.truncated(),
            _ => self.invalid(start, "invalid RLP"),
        })?;
        let used = before - buf.len();
        if v.length() != used {
            return Err(self.non_canonical(start, "RLP not in canonical form"));
        }
        self.pos += used;
        Ok(v)
    }

    fn finish(&self) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(BatchDecodeError::TrailingBytes {
                offset: self.offset(),
                field: self.field,
                extra,
            }),
        }
    }
}

/// Decodes an uncompressed body (the inverse of [`encode_body`]).
pub fn decode_body(body: &[u8]) -> Result<Batch, BatchDecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BatchDecodeError::DecompressedTooLarge {
            max: MAX_BODY_BYTES,
        });
    }
    let mut h = Reader::new("parent_hash", body, 0);
    let parent_hash = B256::from(h.array::<32>()?);
    h.field = "first_block";
    let first_block = h.u64()?;
    h.field = "block_count";
    let count_at = h.offset();
    let block_count = h.u64()?;
    if block_count == 0 {
        return Err(BatchDecodeError::EmptyBatch);
    }
    if block_count > MAX_BLOCKS_PER_BATCH as u64 {
        return Err(BatchDecodeError::TooManyBlocks {
            count: block_count,
            max: MAX_BLOCKS_PER_BATCH,
        });
    }
    if first_block.checked_add(block_count - 1).is_none() {
        return Err(BatchDecodeError::BlockNumberOverflow {
            first_block,
            blocks: block_count,
        });
    }
    h.field = "tx_count";
    let tx_count_at = h.offset();
    let tx_count = h.u64()?;
    if tx_count > MAX_TXS_PER_BATCH as u64 {
        return Err(BatchDecodeError::TooManyTransactions {
            count: tx_count,
            max: MAX_TXS_PER_BATCH,
        });
    }
    let mut cols: Vec<Reader<'_>> = Vec::with_capacity(COLUMNS.len());
    for (name, len_name) in COLUMNS {
        h.field = len_name;
        let len = h.len()?;
        h.field = name;
        let base = h.offset();
        let data = h.bytes(len)?;
        cols.push(Reader::new(name, data, base));
    }
    h.field = "body";
    h.finish()?;
    let block_count = block_count as usize;
    let tx_count = tx_count as usize;

    // Every block has at least one byte in each block column, every
    // transaction exactly one kind byte: check before allocating.
    let block_bytes = cols[BLOCK_TX_COUNTS].remaining();
    if block_count > block_bytes {
        return Err(BatchDecodeError::CountExceedsData {
            offset: count_at,
            field: "block_count",
            count: block_count as u64,
            available: block_bytes,
        });
    }
    let kind_bytes = cols[TX_KINDS].remaining();
    if tx_count > kind_bytes {
        return Err(BatchDecodeError::CountExceedsData {
            offset: tx_count_at,
            field: "tx_count",
            count: tx_count as u64,
            available: kind_bytes,
        });
    }

    let mut counts = Vec::with_capacity(block_count);
    let mut sum: u64 = 0;
    for _ in 0..block_count {
        let n = cols[BLOCK_TX_COUNTS].u64()?;
        sum = sum.saturating_add(n);
        counts.push(n as usize);
    }
    if sum != tx_count as u64 {
        return Err(BatchDecodeError::TxCountMismatch {
            sum,
            declared: tx_count as u64,
        });
    }

    let mut to_table = ToTable::default();
    let mut blocks: Vec<BatchBlock> = Vec::with_capacity(block_count);
    for (i, &n) in counts.iter().enumerate() {
        let (timestamp, number) = match blocks.last() {
            None => (cols[TIMESTAMPS].u64()?, cols[L1_NUMBERS].u64()?),
            Some(p) => (
                unzigzag_delta(p.timestamp, cols[TIMESTAMPS].u64()?),
                unzigzag_delta(p.l1_origin.number, cols[L1_NUMBERS].u64()?),
            ),
        };
        let flags = &mut cols[L1_HASH_FLAGS];
        let flag_at = flags.pos;
        let hash = match (flags.u8()?, blocks.last()) {
            (0, Some(p)) => p.l1_origin.hash,
            (0, None) => {
                return Err(flags.invalid(flag_at, "the first block must carry its L1 hash"));
            }
            (1, prev) => {
                let hash = B256::from(cols[L1_HASHES].array::<32>()?);
                if prev.is_some_and(|p| p.l1_origin.hash == hash) {
                    let flags = &cols[L1_HASH_FLAGS];
                    return Err(
                        flags.non_canonical(flag_at, "L1 hash repeated instead of flagged 0")
                    );
                }
                hash
            }
            _ => return Err(flags.invalid(flag_at, "L1 hash flag is not 0 or 1")),
        };
        let mut transactions = Vec::with_capacity(n);
        for j in 0..n {
            transactions.push(read_tx(&mut cols, &mut to_table, i, j)?);
        }
        blocks.push(BatchBlock {
            timestamp,
            l1_origin: L1Origin { number, hash },
            transactions,
        });
    }
    for col in &cols {
        col.finish()?;
    }
    Ok(Batch {
        parent_hash,
        first_block,
        blocks,
    })
}

/// The `to` addresses met so far while decoding.
#[derive(Default)]
struct ToTable {
    list: Vec<Address>,
    seen: HashSet<Address>,
}

impl ToTable {
    fn read(&mut self, cols: &mut [Reader<'_>]) -> DecodeResult<Address> {
        let at = cols[TO_INDICES].pos;
        let index = cols[TO_INDICES].u64()?;
        if index == 0 {
            let addr_at = cols[TO_ADDRESSES].pos;
            let addr = Address::from(cols[TO_ADDRESSES].array::<20>()?);
            if !self.seen.insert(addr) {
                return Err(cols[TO_ADDRESSES].non_canonical(
                    addr_at,
                    "address already in the table: must be referenced by index",
                ));
            }
            self.list.push(addr);
            return Ok(addr);
        }
        usize::try_from(index - 1)
            .ok()
            .and_then(|i| self.list.get(i).copied())
            .ok_or_else(|| cols[TO_INDICES].invalid(at, "index beyond the address table"))
    }
}

/// Reads a decimal-coded value (exponent column, mantissa column).
fn read_value(cols: &mut [Reader<'_>]) -> DecodeResult<U256> {
    let exp_at = cols[VALUE_EXPONENTS].pos;
    let exponent = cols[VALUE_EXPONENTS].u8()?;
    let man_at = cols[VALUE_MANTISSAS].pos;
    let mantissa = cols[VALUE_MANTISSAS].u256()?;
    if mantissa.is_zero() {
        if exponent != 0 {
            return Err(
                cols[VALUE_EXPONENTS].non_canonical(exp_at, "zero value with a non-zero exponent")
            );
        }
        return Ok(mantissa);
    }
    if (mantissa % U256::from(10u8)).is_zero() {
        return Err(cols[VALUE_MANTISSAS]
            .non_canonical(man_at, "non-zero mantissa that is a multiple of 10"));
    }
    if exponent == 0 {
        return Ok(mantissa);
    }
    U256::from(10u8)
        .checked_pow(U256::from(exponent))
        .and_then(|p| mantissa.checked_mul(p))
        .ok_or_else(|| cols[VALUE_EXPONENTS].invalid(exp_at, "value overflows 256 bits"))
}

/// Reads transaction `index` of block `block` from the columns.
fn read_tx(
    cols: &mut [Reader<'_>],
    to_table: &mut ToTable,
    block: usize,
    index: usize,
) -> DecodeResult<Bytes> {
    let kind = cols[TX_KINDS].u8()?;
    if kind == KIND_RAW {
        let len = cols[RAW_LENGTHS].len()?;
        if len > MAX_TX_BYTES {
            return Err(BatchDecodeError::TransactionTooLarge {
                block,
                index,
                size: len,
                max: MAX_TX_BYTES,
            });
        }
        let raw_at = cols[RAW_TXS].pos;
        let raw = cols[RAW_TXS].bytes(len)?;
        let tx = decode_tx(raw).map_err(|p| p.decode_err(block, index))?;
        if tx.encoded_2718() == raw {
            return Err(cols[RAW_TXS].non_canonical(
                raw_at,
                "escaped transaction that the columns represent exactly",
            ));
        }
        return Ok(Bytes::copy_from_slice(raw));
    }
    let unknown = BatchDecodeError::UnknownTxKind { block, index, kind };
    let ty = kind & 0x07;
    let create = kind & FLAG_CREATE != 0;
    let no_chain_id = kind & FLAG_NO_CHAIN_ID != 0;
    if kind & !(0x07 | FLAG_CREATE | FLAG_NO_CHAIN_ID) != 0
        || !matches!(ty, KIND_LEGACY | KIND_EIP2930 | KIND_EIP1559 | KIND_EIP7702)
        || (no_chain_id && ty != KIND_LEGACY)
        || (create && ty == KIND_EIP7702)
    {
        return Err(unknown);
    }

    let chain_id = if no_chain_id {
        None
    } else {
        Some(cols[CHAIN_IDS].u64()?)
    };
    let nonce = cols[NONCES].u64()?;
    let gas_limit = cols[GAS_LIMITS].u64()?;
    let fee_cap = cols[FEE_CAPS].u128()?;
    let priority_fee = match ty {
        KIND_EIP1559 | KIND_EIP7702 => cols[PRIORITY_FEES].u128()?,
        _ => 0,
    };
    let to = if create {
        None
    } else {
        Some(to_table.read(cols)?)
    };
    let value = read_value(cols)?;
    let input_len = cols[INPUT_LENGTHS].len()?;
    if input_len > MAX_TX_BYTES {
        return Err(BatchDecodeError::TransactionTooLarge {
            block,
            index,
            size: input_len,
            max: MAX_TX_BYTES,
        });
    }
    let input = Bytes::copy_from_slice(cols[INPUTS].bytes(input_len)?);
    let access_list: AccessList = match ty {
        KIND_LEGACY => AccessList::default(),
        _ => cols[ACCESS_LISTS].rlp()?,
    };
    let authorization_list: Vec<SignedAuthorization> = match ty {
        KIND_EIP7702 => cols[AUTHORIZATION_LISTS].rlp()?,
        _ => Vec::new(),
    };
    let parity_at = cols[Y_PARITIES].pos;
    let parity = match cols[Y_PARITIES].u8()? {
        0 => false,
        1 => true,
        _ => return Err(cols[Y_PARITIES].invalid(parity_at, "y parity is not 0 or 1")),
    };
    let r = U256::from_be_bytes(cols[SIG_R].array::<32>()?);
    let s = U256::from_be_bytes(cols[SIG_S].array::<32>()?);
    let sig = Signature::new(r, s, parity);
    let kind_to = to.map_or(TxKind::Create, TxKind::Call);

    let mut out = Vec::with_capacity(128 + input.len());
    match ty {
        KIND_LEGACY => {
            let tx = TxLegacy {
                chain_id,
                nonce,
                gas_price: fee_cap,
                gas_limit,
                to: kind_to,
                value,
                input,
            };
            Signed::new_unhashed(tx, sig).eip2718_encode(&mut out);
        }
        KIND_EIP2930 => {
            let tx = TxEip2930 {
                chain_id: chain_id.unwrap_or_default(),
                nonce,
                gas_price: fee_cap,
                gas_limit,
                to: kind_to,
                value,
                access_list,
                input,
            };
            Signed::new_unhashed(tx, sig).eip2718_encode(&mut out);
        }
        KIND_EIP1559 => {
            let tx = TxEip1559 {
                chain_id: chain_id.unwrap_or_default(),
                nonce,
                gas_limit,
                max_fee_per_gas: fee_cap,
                max_priority_fee_per_gas: priority_fee,
                to: kind_to,
                value,
                access_list,
                input,
            };
            Signed::new_unhashed(tx, sig).eip2718_encode(&mut out);
        }
        _ => {
            let tx = TxEip7702 {
                chain_id: chain_id.unwrap_or_default(),
                nonce,
                gas_limit,
                max_fee_per_gas: fee_cap,
                max_priority_fee_per_gas: priority_fee,
                to: to.unwrap_or_default(),
                value,
                access_list,
                authorization_list,
                input,
            };
            Signed::new_unhashed(tx, sig).eip2718_encode(&mut out);
        }
    }
    // The rebuilt bytes must themselves be a transaction the format accepts
    // (size limit, alloy's decoder).
    decode_tx(&out).map_err(|p| p.decode_err(block, index))?;
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_varint(bytes: &[u8], bits: u32) -> DecodeResult<u128> {
        let mut r = Reader::new("test", bytes, 0);
        let v = r.uvarint(bits)?;
        r.finish()?;
        Ok(v)
    }

    #[test]
    fn varints_round_trip_and_are_canonical() {
        for v in [0u128, 1, 127, 128, 300, u64::MAX as u128, u128::MAX] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(read_varint(&out, 128).unwrap(), v);
            if v <= u64::MAX as u128 {
                assert_eq!(read_varint(&out, 64).unwrap(), v);
            } else {
                assert!(matches!(
                    read_varint(&out, 64),
                    Err(BatchDecodeError::InvalidField { .. })
                ));
            }
        }
        // 0 written as two bytes.
        assert!(matches!(
            read_varint(&[0x80, 0x00], 64),
            Err(BatchDecodeError::NonCanonical { .. })
        ));
        // u64::MAX + 1 and an 11-byte varint.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert!(matches!(
            read_varint(&over, 64),
            Err(BatchDecodeError::InvalidField { .. })
        ));
        assert!(matches!(
            read_varint(&[0x80; 11], 64),
            Err(BatchDecodeError::InvalidField { .. })
        ));
        assert!(matches!(
            read_varint(&[0x80], 64),
            Err(BatchDecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn zigzag_deltas_are_a_bijection() {
        let values = [
            0u64,
            1,
            2,
            1_000,
            u64::MAX / 2,
            u64::MAX / 2 + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(unzigzag_delta(a, zigzag_delta(a, b)), b);
            }
        }
        assert_eq!(zigzag_delta(5, 6), 2);
        assert_eq!(zigzag_delta(6, 5), 1);
        assert_eq!(zigzag_delta(7, 7), 0);
    }

    #[test]
    fn decimal_values() {
        let ten = U256::from(10u8);
        let cases = [
            (U256::ZERO, 0, U256::ZERO),
            (U256::from(1u8), 0, U256::from(1u8)),
            (U256::from(10u8), 1, U256::from(1u8)),
            (
                U256::from(1_000_000_000_000_000_000u128),
                18,
                U256::from(1u8),
            ),
            (
                U256::from(123_450_000_000_000_000u128),
                13,
                U256::from(12_345u32),
            ),
            (U256::MAX, 0, U256::MAX),
            (ten.pow(U256::from(77u8)), 77, U256::from(1u8)),
        ];
        for (value, e, m) in cases {
            assert_eq!(decimal(&value), (e, m), "{value}");
        }
    }

    #[test]
    fn column_names_are_unique() {
        let names: HashSet<&str> = COLUMNS.iter().map(|c| c.0).collect();
        assert_eq!(names.len(), COLUMN_COUNT);
        assert_eq!(COLUMNS[RAW_TXS].0, "raw_txs");
        assert_eq!(COLUMNS[TO_INDICES].0, "to_indices");
    }
}
