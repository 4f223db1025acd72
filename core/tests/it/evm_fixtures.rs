//! EVM instruction steps (docs/evm-steps.md) against revm, and the fixtures of the Solidity EVM
//! step verifier's test (`contracts/test/EvmStepFixtures.t.sol`).
//!
//! Hand-assembled contracts exercise every stage-1 instruction and every way the transaction's
//! frame ends; each runs through a [`Trace`] whose block roots must equal the reference
//! executor's, every instruction witness is checked here (state hash, code, stack opening,
//! word proofs), and the halting rules of the spec are checked against revm's results. A sample
//! of the steps (every entry and halt, a few of each opcode) goes to
//! `contracts/test/fixtures/evm_steps.json`, which must equal what this test generates
//! (`UPDATE_STEP_FIXTURES=1` rewrites it).

use super::step_fixtures::{GWEI, Reference, call, chain, checked_trace, dev, eip1559, genesis};
use alloy_consensus::TxLegacy;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_sol_types::SolValue;
use rollup_core::{
    chain::GenesisAccount,
    fault::{
        MachineState, Phase, StepKind,
        evm::{
            ACCESS_LIST_SUBSTATE, CHUNK_BYTES, CallWitness, CreateWitness, EvmState,
            HASH_CHUNK_BYTES, MAX_RANGE_WORDS, PrecompileCallWitness, SelfDestructWitness,
            StateWitness, WORD_DEPTH, WordProof, WordRange, call_inputs, create_inputs,
            instruction_inputs, instruction_pc, range_root, selfdestruct_inputs, stack_push,
            stage2_inputs, stage3_inputs, substate_hash, word_root,
        },
        machine::BlockItem,
        sponge,
    },
};
use std::collections::BTreeMap;

/// A tiny assembler.
#[derive(Default, Clone)]
struct Asm(Vec<u8>);

impl Asm {
    fn op(mut self, op: u8) -> Self {
        self.0.push(op);
        self
    }

    fn ops(mut self, ops: &[u8]) -> Self {
        self.0.extend_from_slice(ops);
        self
    }

    /// The shortest PUSH of `value` (PUSH0 for zero).
    fn push(mut self, value: U256) -> Self {
        let bytes = value.to_be_bytes_trimmed_vec();
        if bytes.is_empty() {
            return self.op(0x5f);
        }
        self.0.push(0x5f + bytes.len() as u8);
        self.0.extend_from_slice(&bytes);
        self
    }

    /// `PUSH2 value`, for jump targets whose position must not depend on their size.
    fn push2(mut self, value: u64) -> Self {
        self.0.push(0x61);
        self.0.extend_from_slice(&(value as u16).to_be_bytes());
        self
    }

    fn pushu(self, value: u64) -> Self {
        self.push(U256::from(value))
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn code(self) -> Bytes {
        self.0.into()
    }
}

const MIN: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

fn neg(x: u64) -> U256 {
    U256::ZERO.wrapping_sub(U256::from(x))
}

/// Every arithmetic, comparison and bitwise instruction on edge operands: `PUSH b PUSH a OP POP`.
fn arithmetic() -> Bytes {
    let big = U256::from_be_bytes(keccak256("big").0);
    let m1 = U256::MAX;
    let binary: &[(u8, U256, U256)] = &[
        (0x01, m1, U256::from(2)),
        (0x02, big, big),
        (0x03, U256::ZERO, U256::from(1)),
        (0x04, big, U256::ZERO),
        (0x04, big, U256::from(7)),
        (0x05, MIN, m1),
        (0x05, neg(7), U256::from(2)),
        (0x06, big, U256::ZERO),
        (0x06, big, U256::from(1000)),
        (0x07, neg(7), U256::from(3)),
        (0x07, U256::from(7), neg(3)),
        (0x0a, U256::from(2), U256::from(255)),
        (0x0a, U256::from(3), U256::ZERO),
        (0x0a, big, big),
        (0x0b, U256::ZERO, U256::from(0xff)),
        (0x0b, U256::from(1), U256::from(0x7fff)),
        (0x0b, U256::from(31), big),
        (0x0b, m1, big),
        (0x10, U256::from(1), U256::from(2)),
        (0x11, U256::from(1), U256::from(2)),
        (0x12, neg(1), U256::from(1)),
        (0x13, neg(1), U256::from(1)),
        (0x14, big, big),
        (0x16, big, m1),
        (0x17, big, U256::from(1)),
        (0x18, big, m1),
        (0x1a, U256::ZERO, big),
        (0x1a, U256::from(31), big),
        (0x1a, U256::from(32), big),
        (0x1b, U256::from(4), big),
        (0x1b, U256::from(256), big),
        (0x1c, U256::from(255), m1),
        (0x1c, m1, big),
        (0x1d, U256::from(4), neg(100)),
        (0x1d, U256::from(300), neg(100)),
        (0x1d, U256::from(300), U256::from(100)),
    ];
    let mut asm = Asm::default();
    for (op, a, b) in binary {
        asm = asm.push(*b).push(*a).op(*op).op(0x50);
    }
    for (op, a) in [(0x15, U256::ZERO), (0x15, big), (0x19, big)] {
        asm = asm.push(a).op(op).op(0x50);
    }
    for (op, a, b, n) in [
        (0x08, m1, m1, U256::from(12345)),
        (0x08, U256::from(1), U256::from(2), U256::ZERO),
        (0x09, m1, m1, U256::from(12345)),
        (0x09, big, big, U256::ZERO),
    ] {
        asm = asm.push(n).push(b).push(a).op(op).op(0x50);
    }
    asm.op(0x00).code()
}

/// The context instructions, CALLDATALOAD at offsets inside, across and past the data, and
/// BLOCKHASH in and out of reach.
fn context() -> Bytes {
    let mut asm = Asm::default();
    for op in [
        0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a, 0x3d, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48,
        0x4a, 0x58, 0x59, 0x5a, 0x5f,
    ] {
        asm = asm.op(op).op(0x50);
    }
    for offset in [
        U256::ZERO,
        U256::from(4),
        U256::from(31),
        U256::from(35),
        U256::from(36),
        MIN,
    ] {
        asm = asm.push(offset).op(0x35).op(0x50);
    }
    // BLOCKHASH of the parent, of genesis (in reach), of the block itself and far past it.
    asm = asm.op(0x43).pushu(1).op(0x90).op(0x03).op(0x40).op(0x50);
    asm = asm.pushu(0).op(0x40).op(0x50).op(0x43).op(0x40).op(0x50);
    asm = asm.push(MIN).op(0x40).op(0x50);
    asm.pushu(0).op(0x49).op(0x50).op(0x00).code()
}

/// Memory: aligned and unaligned stores and loads, MSTORE8, expansion.
fn memory() -> Bytes {
    let word = U256::from_be_bytes(keccak256("word").0);
    Asm::default()
        .push(word)
        .pushu(0)
        .op(0x52)
        .push(neg(2))
        .pushu(33)
        .op(0x52)
        .pushu(0xab)
        .pushu(100)
        .op(0x53)
        .pushu(0)
        .op(0x51)
        .pushu(17)
        .op(0x51)
        .pushu(0x1000)
        .op(0x51)
        .op(0x59)
        .push(word)
        .pushu(0x2000 - 5)
        .op(0x52)
        .pushu(0x2000 - 20)
        .op(0x51)
        .ops(&[0x50, 0x50, 0x50, 0x50, 0x50])
        .op(0x00)
        .code()
}

/// Stage 2: KECCAK256, CALLDATACOPY, CODECOPY, RETURNDATACOPY and MCOPY, aligned and not, empty,
/// past the end of their source, overlapping, expanding the memory; then a hash of the memory.
fn copies() -> Bytes {
    let word = U256::from_be_bytes(keccak256("word").0);
    let other = U256::from_be_bytes(keccak256("other").0);
    // (op, len, src, dst); KECCAK256 takes (len, offset).
    let huge = U256::from(1) << 70;
    let steps: Vec<(u8, U256, U256, U256)> = vec![
        (0x20, U256::ZERO, MIN, U256::ZERO),
        (0x20, U256::from(64), U256::ZERO, U256::ZERO),
        (0x20, U256::from(50), U256::from(13), U256::ZERO),
        (0x20, U256::from(40), U256::from(200), U256::ZERO),
        (0x37, U256::from(40), U256::from(3), U256::from(300)),
        (0x37, U256::from(64), U256::from(50), U256::from(7)),
        (0x37, U256::from(10), U256::from(1000), U256::from(100)),
        (0x37, U256::from(5), U256::MAX, U256::ZERO),
        (0x37, U256::ZERO, U256::ZERO, MIN),
        (0x39, U256::from(100), U256::from(5), U256::from(64)),
        (
            0x39,
            U256::from(50),
            U256::from(COPIES_CODE_LEN - 10),
            U256::from(500),
        ),
        (0x39, U256::from(33), huge, U256::from(31)),
        (0x3e, U256::ZERO, U256::ZERO, U256::ZERO),
        (0x5e, U256::from(80), U256::ZERO, U256::from(16)),
        (0x5e, U256::from(80), U256::from(40), U256::from(10)),
        (0x5e, U256::from(32), U256::from(900), U256::ZERO),
        (0x5e, U256::ZERO, MIN, MIN),
        (0x20, U256::from(1024), U256::ZERO, U256::ZERO),
        // The largest ranges one step proves: 1024 words read and 1024 written; the longest
        // hash of one step (1024 words at an unaligned offset), and one just longer, chunked
        // (docs/evm-steps.md section 4, "Chunked hashes": six steps, the sponge on the stack).
        (
            0x5e,
            U256::from(32 * MAX_RANGE_WORDS),
            U256::ZERO,
            U256::from(32 * MAX_RANGE_WORDS),
        ),
        (0x20, U256::from(CHUNK_BYTES), U256::from(31), U256::ZERO),
        (
            0x20,
            U256::from(CHUNK_BYTES + 1),
            U256::from(31),
            U256::ZERO,
        ),
        // Chunked copies (docs/evm-steps.md section 4, "Chunked copies"): call data mostly past
        // its end; MCOPY backward over itself (dst > src, three chunks) and forward over itself;
        // code; exactly one chunk.
        (0x37, U256::from(40_000), U256::from(3), U256::from(1000)),
        (
            0x5e,
            U256::from(2 * CHUNK_BYTES + 100),
            U256::from(7),
            U256::from(520),
        ),
        (
            0x5e,
            U256::from(CHUNK_BYTES + 40),
            U256::from(700),
            U256::from(21),
        ),
        (
            0x39,
            U256::from(CHUNK_BYTES + 1),
            U256::from(5),
            U256::from(3),
        ),
        (0x37, U256::from(CHUNK_BYTES), U256::ZERO, U256::from(64)),
    ];
    let mut asm = Asm::default()
        .push(word)
        .pushu(0)
        .op(0x52)
        .push(other)
        .pushu(45)
        .op(0x52);
    // Words near the chunks' edges, so that the chunked copies move bytes that are not zero.
    for offset in [20_000u64, 32_730, 32_760, 65_470, 65_500] {
        asm = asm.push(word).pushu(offset).op(0x52);
    }
    for (op, len, src, dst) in steps {
        asm = if op == 0x20 {
            asm.push(len).push(src).op(0x20).op(0x50)
        } else {
            asm.push(len).push(src).push(dst).op(op)
        };
    }
    let code = asm.op(0x00).code();
    assert_eq!(code.len() as u64, COPIES_CODE_LEN, "update COPIES_CODE_LEN");
    code
}

/// The length of [`copies`]' code (it copies from near its own end).
const COPIES_CODE_LEN: u64 = 600;

/// Every PUSH, DUP and SWAP, jumps taken and not, a loop, then RETURN of 32 bytes.
fn control() -> Bytes {
    let mut asm = Asm::default();
    for n in 1..=32u8 {
        asm.0.push(0x5f + n);
        asm.0
            .extend((0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)));
        asm = asm.op(0x50);
    }
    for i in 0..17u64 {
        asm = asm.pushu(i + 1);
    }
    for op in 0x80..=0x8fu8 {
        asm = asm.op(op).op(0x50);
    }
    for op in 0x90..=0x9fu8 {
        asm = asm.op(op);
    }
    for _ in 0..17 {
        asm = asm.op(0x50);
    }
    // JUMP over an INVALID to a JUMPDEST (targets as PUSH2).
    let at = asm.len();
    asm = asm.push2(at + 5).op(0x56).op(0xfe).op(0x5b);
    // JUMPI not taken, then taken over an INVALID.
    let at = asm.len();
    let asm = asm
        .op(0x5f)
        .push2(at + 12)
        .op(0x57)
        .pushu(1)
        .push2(at + 12)
        .op(0x57)
        .op(0xfe)
        .op(0x5b);
    // A countdown loop: 3 iterations.
    let mut asm = asm.pushu(3);
    let top = asm.len();
    asm = asm
        .op(0x5b)
        .pushu(1)
        .op(0x90)
        .op(0x03)
        .op(0x80)
        .push2(top)
        .op(0x57);
    asm.op(0x50)
        .op(0x58)
        .pushu(0)
        .op(0x52)
        .pushu(32)
        .pushu(0)
        .op(0xf3)
        .code()
}

/// A contract for each way the frame ends.
/// The genesis storage of the `storage` program's contract: slots 1, 2 and 3 hold 11, 22, 33.
fn storage_genesis() -> BTreeMap<B256, B256> {
    (1..=3u64)
        .map(|slot| {
            (
                B256::from(U256::from(slot)),
                B256::from(U256::from(11 * slot)),
            )
        })
        .collect()
}

/// SLOAD, SSTORE, TLOAD and TSTORE (stage 3) through every case of EIP-2929 access and
/// EIP-2200/3529 pricing and refunds, on slots that start set (1, 2, 3) or empty (7, 8, 9).
fn storage() -> Bytes {
    let sstore = |a: Asm, slot: u64, value: u64| a.pushu(value).pushu(slot).op(0x55);
    let sload = |a: Asm, slot: u64| a.pushu(slot).op(0x54).op(0x50);
    let mut a = Asm::default();
    a = sload(a, 1); // cold, set
    a = sload(a, 1); // warm
    a = sload(a, 7); // cold, empty
    a = sstore(a, 1, 11); // warm, unchanged value
    a = sstore(a, 2, 22); // cold, unchanged value
    a = sstore(a, 3, 34); // cold reset (original == current != 0)
    a = sstore(a, 3, 35); // dirty: warm read cost
    a = sstore(a, 3, 33); // back to the original: refund 2800
    a = sstore(a, 1, 0); // clear: refund 4800
    a = sstore(a, 1, 5); // dirty from zero: refund -4800
    a = sstore(a, 1, 0); // cleared again: +4800
    a = sstore(a, 1, 11); // restored: -4800 + 2800
    a = sstore(a, 8, 80); // cold set (original 0): 22100
    a = sstore(a, 8, 0); // back to the original 0: refund 19900
    a = sstore(a, 9, 90); // set, kept
    a = sstore(a, 2, 0); // cleared, kept: refund 4800
    a = sload(a, 9);
    // Transient storage: absent, set, read, overwritten, cleared.
    a = a.pushu(4).op(0x5c).op(0x50);
    a = a.pushu(44).pushu(4).op(0x5d);
    a = a.pushu(4).op(0x5c).op(0x50);
    a = a.push(neg(1)).pushu(4).op(0x5d);
    a = a.pushu(5).pushu(5).op(0x5d);
    a = a.pushu(0).pushu(4).op(0x5d);
    a = a.pushu(4).op(0x5c).op(0x50);
    // Logs: empty at a huge offset (no expansion), growing the memory, every topic count.
    a = a.pushu(0).push(U256::MAX).op(0xa0);
    a = a.pushu(7).pushu(40).pushu(100).op(0xa1);
    a = a.pushu(2).pushu(1).pushu(33).pushu(0).op(0xa2);
    a = a.pushu(3).pushu(2).pushu(1).pushu(0).pushu(0).op(0xa3);
    a = a
        .pushu(4)
        .pushu(3)
        .pushu(2)
        .pushu(1)
        .pushu(64)
        .pushu(1000)
        .op(0xa4);
    a.op(0x00).code()
}

/// An account whose code is an EIP-7702 delegation designator (to the `copies` contract):
/// EXTCODECOPY copies the designator itself.
fn delegated() -> Address {
    contract_address(300)
}

/// BALANCE, EXTCODESIZE, EXTCODEHASH and SELFBALANCE (stage 3) of accounts warm from the start
/// (the sender, the contract itself, the beneficiary, a precompile) and cold ones (a contract,
/// an absent account, an existing empty one), each twice (cold, then warm); then EXTCODECOPY
/// (kind 7) of a cold contract (unaligned), again warm from past its end and from a huge offset,
/// with a zero length at a huge offset (a cold absent account: no memory), of an absent
/// account, of the frame's own code, of a precompile, of an existing empty account and of an
/// EIP-7702 delegation (its designator).
fn accounts() -> Bytes {
    let address = |a: Address| U256::from_be_slice(a.as_slice());
    let read = |a: Asm, op: u8, who: U256| a.push(who).op(op).op(0x50);
    let mut a = Asm::default();
    a = a.op(0x32).op(0x31).op(0x50); // BALANCE(ORIGIN): warm
    a = a.op(0x30).op(0x3b).op(0x50); // EXTCODESIZE(ADDRESS): warm
    a = a.op(0x41).op(0x3f).op(0x50); // EXTCODEHASH(COINBASE): warm
    a = read(a, 0x3b, U256::from(4)); // a precompile: warm, no code
    let contract = address(contract_address(0));
    a = read(a, 0x3b, contract); // cold, with code
    a = read(a, 0x3f, contract); // warm now
    a = read(a, 0x31, contract);
    let absent = U256::from(0xabcdefu64);
    a = read(a, 0x3f, absent); // cold, absent: 0
    a = read(a, 0x31, absent);
    a = read(a, 0x3b, absent);
    let empty = address(super::step_fixtures::EMPTY);
    a = read(a, 0x3f, empty); // an existing empty account: 0
    a = read(a, 0x31, U256::MAX); // the address is the low 20 bytes
    a = a.op(0x47).op(0x50); // SELFBALANCE
    // EXTCODECOPY address dst src len.
    let copy = |a: Asm, who: U256, dst: U256, src: U256, len: u64| {
        a.pushu(len).push(src).push(dst).push(who).op(0x3c)
    };
    let copies = address(contract_address(4));
    let u = U256::from;
    a = copy(a, copies, u(5), u(3), 40); // cold, with code, unaligned
    a = copy(a, copies, u(100), u(COPIES_CODE_LEN - 10), 50); // warm, past the code's end
    a = copy(a, copies, u(31), U256::MAX, 33); // a huge source offset: zeros
    a = copy(a, u(0xabcdf1), U256::MAX, u(0), 0); // zero length: no memory; cold, absent
    a = copy(a, absent, u(0), u(0), 32); // warm, absent: zeros
    a = a.pushu(64).pushu(0).pushu(64).op(0x30).op(0x3c); // the frame's own code (warm)
    a = copy(a, u(4), u(7), u(0), 10); // a precompile: warm, no code
    a = copy(a, empty, u(2), u(0), 8); // an existing empty account
    a = copy(a, address(delegated()), u(200), u(0), 32); // a delegation: its designator
    a = copy(a, address(delegated()), u(1000), u(20), 5); // warm
    a.op(0x00).code()
}

/// `CALL`-family instruction `op` to `to` with `value` (CALL, CALLCODE), the argument range
/// `(in_offset, in_len)` and the output range `(out_offset, out_len)`, forwarding `gas`; the
/// result is left on the stack.
fn call_op(a: Asm, op: u8, to: U256, value: u64, ranges: [u64; 4], gas: u64) -> Asm {
    let mut a = a
        .pushu(ranges[3])
        .pushu(ranges[2])
        .pushu(ranges[1])
        .pushu(ranges[0]);
    if matches!(op, 0xf1 | 0xf2) {
        a = a.pushu(value);
    }
    a.push(to).pushu(gas).op(op)
}

/// Calls without a frame (docs/evm-steps.md section 4): to an absent account (cold, created by
/// its value), again (warm), without value, to an existing account, CALLCODE, DELEGATECALL and
/// STATICCALL to an account without code with argument and output ranges, a value above the
/// balance (the call fails), and to the sender (warm from the start).
fn calls() -> Bytes {
    let absent = U256::from(0xca11_0001u64);
    let dev = U256::from_be_slice(super::step_fixtures::dev(3).address().as_slice());
    let mut a = Asm::default();
    for (op, to, value, ranges) in [
        (0xf1, absent, 5, [0, 0, 0, 0]),
        (0xf1, absent, 7, [0, 0, 0, 0]),
        (0xf1, absent, 0, [0, 32, 64, 32]),
        (0xf1, dev, 1, [0, 0, 0, 0]),
        (0xf2, absent, 1, [0, 0, 0, 0]),
        (0xf4, absent, 0, [0, 64, 0, 0]),
        (0xfa, dev, 0, [100, 1, 300, 40]),
        (0xf1, dev, 1_000_000, [0, 0, 0, 0]),
    ] {
        a = call_op(a, op, to, value, ranges, 50_000).op(0x50);
    }
    // CALL(0, sender, 2^256 - 1, 0, 0, 0, 0): fails on the balance (the credit would overflow).
    a = a
        .pushu(0)
        .pushu(0)
        .pushu(0)
        .pushu(0)
        .push(U256::MAX)
        .op(0x32)
        .pushu(0)
        .op(0xf1)
        .op(0x50);
    // CALL(0, ORIGIN, 2, 0, 0, 0, 0): the sender is warm from the start.
    a = a
        .pushu(0)
        .pushu(0)
        .pushu(0)
        .pushu(0)
        .pushu(2)
        .op(0x32)
        .pushu(0)
        .op(0xf1)
        .op(0x50);
    a.op(0x00).code()
}

/// The callees of the `frames` program (docs/evm-steps.md section 9), at
/// `contract_address(100 + k)`: an echo that stores (0), a reverter (1), a halter (2), a
/// nested caller of the echo (3) and a contract that calls itself with a value (4).
fn frame_callees() -> Vec<Bytes> {
    // Copies its call data to memory, SSTORE(1, 7), TSTORE(2, 5), returns the call data and 8
    // zero bytes.
    let echo = Asm::default()
        .op(0x36)
        .op(0x5f)
        .op(0x5f)
        .op(0x37)
        .pushu(7)
        .pushu(1)
        .op(0x55)
        .pushu(5)
        .pushu(2)
        .op(0x5d)
        .pushu(8)
        .op(0x36)
        .op(0x01)
        .op(0x5f)
        .op(0xf3)
        .code();
    // SSTORE(3, 9), then REVERT with 40 bytes (a word, then zeros).
    let reverter = Asm::default()
        .pushu(9)
        .pushu(3)
        .op(0x55)
        .pushu(0xdead)
        .op(0x5f)
        .op(0x52)
        .pushu(40)
        .op(0x5f)
        .op(0xfd)
        .code();
    // SSTORE(1, 1), then INVALID.
    let halter = Asm::default().pushu(1).pushu(1).op(0x55).op(0xfe).code();
    // Calls the echo with 4 bytes of its memory, returns the first 32 bytes of the output.
    let nested = call_op(
        Asm::default().pushu(0xabcd_ef01).op(0x5f).op(0x52),
        0xf1,
        U256::from_be_slice(contract_address(100).as_slice()),
        0,
        [28, 4, 0, 32],
        100_000,
    )
    .op(0x50)
    .pushu(32)
    .op(0x5f)
    .op(0xf3)
    .code();
    // Without call data: CALL(100000, ADDRESS, 1, 0, 1, 0, 0) (itself, with a value, one byte
    // of call data); with call data: STOP.
    let inner = Asm::default()
        .pushu(0)
        .pushu(0)
        .pushu(1)
        .pushu(0)
        .pushu(1)
        .op(0x30)
        .pushu(100_000)
        .op(0xf1)
        .op(0x50)
        .code();
    let dest = 4 + inner.len() as u64;
    let mut prefix = Asm::default().op(0x36);
    prefix = prefix.op(0x60);
    prefix.0.push(dest as u8);
    let self_caller = prefix.op(0x57).ops(&inner).op(0x5b).op(0x00).code();
    vec![echo, reverter, halter, nested, self_caller]
}

/// Calls that start frames (docs/evm-steps.md section 9): a CALL with a value whose output is
/// longer than its range, RETURNDATACOPY of it, a REVERT with an output shorter than the range
/// (its SSTORE undone), an exceptional halt, a nested call (depth 2), a contract calling itself
/// with a value, a STATICCALL that halts on an SSTORE, a DELEGATECALL that reverts (the caller's
/// slot restored and cold again), and a value above the balance (the call fails).
fn frames() -> Bytes {
    let callee = |k: u64| U256::from_be_slice(contract_address(100 + k).as_slice());
    let mut a = Asm::default()
        .push(U256::from_be_slice(keccak256("frames").as_slice()))
        .op(0x5f)
        .op(0x52);
    for (op, k, value, ranges, gas) in [
        (0xf1, 0, 3, [0, 40, 64, 16], 100_000),
        (0xf1, 1, 0, [0, 0, 200, 64], 100_000),
        (0xf1, 2, 0, [0, 0, 0, 0], 30_000),
        (0xf1, 3, 0, [0, 0, 300, 32], 200_000),
        (0xf1, 4, 2, [0, 0, 0, 0], 200_000),
        (0xfa, 0, 0, [0, 8, 0, 0], 100_000),
        (0xf4, 1, 0, [0, 0, 0, 0], 100_000),
        (0xf1, 0, 2000, [0, 0, 0, 0], 100_000),
    ] {
        a = call_op(a, op, callee(k), value, ranges, gas).op(0x50);
        if k == 0 && value == 3 {
            // RETURNDATASIZE, and RETURNDATACOPY(128, 8, 20) of the echo's output.
            a = a.op(0x3d).op(0x50).pushu(20).pushu(8).pushu(128).op(0x3e);
        }
    }
    // SLOAD(3): cold again after the DELEGATECALL's revert.
    a.pushu(3).op(0x54).op(0x50).op(0x00).code()
}

/// Calls without a value to the precompiles (docs/evm-steps.md section 4): SHA256,
/// RIPEMD160 and IDENTITY of memory ranges into unaligned and shorter output ranges, a real
/// ECRECOVER, one of garbage (empty output) and one with too little gas (the call fails),
/// BLAKE2F valid and of a wrong length, an empty IDENTITY by DELEGATECALL, and CALL; then
/// MODEXP, BN254, KZG and BLS12-381 (`other_precompile_calls`).
fn precompiles() -> Bytes {
    use alloy_signer::SignerSync;
    let hash = keccak256("a message");
    let sig = super::step_fixtures::dev(2)
        .sign_hash_sync(&hash)
        .expect("sign");
    let word = |a: Asm, at: u64, w: U256| a.push(w).pushu(at).op(0x52);
    let mut a = Asm::default();
    // ECRECOVER's input at 0: hash, v, r, s.
    a = word(a, 0, U256::from_be_bytes(hash.0));
    a = word(a, 32, U256::from(27 + u64::from(sig.v())));
    a = word(a, 64, sig.r());
    a = word(a, 96, sig.s());
    // BLAKE2F's input at 512: 12 rounds, h, m, t (all 0x11 but the rounds), final flag 1.
    for at in (512..736).step_by(32) {
        a = word(a, at, U256::from_be_bytes([0x11; 32]));
    }
    a = word(
        a,
        512,
        U256::from(12) << 224 | (U256::from_be_bytes([0x11; 32]) >> 32),
    );
    a = a.pushu(1).pushu(724).op(0x53);
    let gas = 100_000;
    for (op, id, ranges, gas) in [
        (0xfa, 1, [0, 128, 1000, 32], gas),
        (0xfa, 2, [0, 100, 200, 32], gas),
        (0xfa, 3, [0, 100, 233, 32], gas),
        (0xfa, 4, [5, 70, 300, 40], gas),
        (0xfa, 1, [0, 128, 0, 32], 10),
        (0xfa, 1, [1, 128, 400, 32], gas),
        (0xf4, 4, [0, 0, 0, 0], gas),
        (0xfa, 9, [512, 213, 800, 64], gas),
        (0xfa, 9, [512, 212, 900, 64], gas),
        (0xf1, 2, [64, 64, 1100, 16], gas),
        (0xf2, 4, [0, 33, 1200, 64], gas),
    ] {
        a = call_op(a, op, U256::from(id), 0, ranges, gas).op(0x50);
    }
    // With a value (the program holds 1000 wei): to an absent precompile account (25,000 for
    // the new account), then to the same one, now holding wei; a price within the forwarded gas
    // only with the 2300 stipend; a price above both (the call fails, the value stays); a value
    // above the balance; CALLCODE, which moves nothing, within and above the balance.
    for (op, id, value, ranges, gas) in [
        (0xf1, 4, 5, [5, 70, 300, 40], gas),
        (0xf1, 4, 6, [0, 33, 1300, 64], gas),
        (0xf1, 2, 7, [0, 64, 1400, 32], 10),
        (0xf1, 1, 3, [0, 128, 1500, 32], 0),
        (0xf1, 3, 2000, [0, 100, 1600, 32], gas),
        (0xf2, 4, 9, [0, 40, 1700, 64], gas),
        (0xf2, 4, 5000, [0, 40, 1800, 64], gas),
    ] {
        a = call_op(a, op, U256::from(id), value, ranges, gas).op(0x50);
    }
    // The other precompiles: each input written from 2048 on, its output range right after it.
    let mut at = 2048;
    for (op, id, input, out_len, gas) in other_precompile_calls() {
        let len = input.len() as u64;
        for (i, chunk) in input.chunks(32).enumerate() {
            let mut w = [0u8; 32];
            w[..chunk.len()].copy_from_slice(chunk);
            a = word(a, at + 32 * i as u64, U256::from_be_bytes(w));
        }
        let out = at + len.div_ceil(32) * 32;
        a = call_op(a, op, U256::from(id), 0, [at, len, out, out_len], gas).op(0x50);
        at = out + out_len.div_ceil(32) * 32 + 32;
    }
    a.op(0x00).code()
}

/// The calls of `precompiles` to MODEXP, BN254, KZG and BLS12-381 (docs/evm-steps.md section 4):
/// `(op, precompile, input, output length, gas)`. Valid inputs with real outputs, inputs the
/// precompile refuses (a point off the curve, a wrong length, a wrong KZG proof) and calls
/// with less gas than the price.
fn other_precompile_calls() -> Vec<(u8, u64, Vec<u8>, u64, u64)> {
    let w = |v: u64| U256::from(v).to_be_bytes::<32>().to_vec();
    let cat = |parts: &[&[u8]]| parts.concat();
    // MODEXP: 3^5 mod 7, and a 64-byte exponent whose head has its top bit set (511 iterations).
    let small = cat(&[&w(1), &w(1), &w(1), &hex!("030507")]);
    let mut exponent = vec![0x80u8];
    exponent.extend([0x35; 63]);
    let large = cat(&[&w(32), &w(64), &w(32), &w(3), &exponent, &[0xfb; 32]]);
    // The exponent and modulus past the input: zero-padded (a zero modulus, two zero bytes out).
    let padded = cat(&[&w(1), &w(1), &w(2), &[2]]);
    // BN254: the generator G1 (1, 2), its negation, the generator G2.
    let g1 = cat(&[&w(1), &w(2)]);
    let neg_g1 = cat(&[
        &w(1),
        &hex!("30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45"),
    ]);
    let g2 = hex!(
        "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
        "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"
        "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"
        "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
    );
    // KZG: c-kzg's verify_kzg_proof_case_correct_proof_4_4 (revm-precompile's test).
    let commitment = hex!(
        "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7"
    );
    let kzg = cat(&[
        &hex!("01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b"),
        &hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000"),
        &hex!("1522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e9"),
        &commitment,
        &hex!(
            "a62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c"
        ),
    ]);
    let mut wrong_kzg = kzg.clone();
    wrong_kzg[95] ^= 1;
    // BLS12-381 (EIP-2537): each base field element in 64 bytes (16 zero bytes first).
    let fp = |h: &[u8]| cat(&[&[0u8; 16], h]);
    let bls_x = hex!(
        "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
    );
    let bls_g1 = cat(&[
        &fp(&bls_x),
        &fp(&hex!(
            "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1"
        )),
    ]);
    let bls_neg_g1 = cat(&[
        &fp(&bls_x),
        &fp(&hex!(
            "114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca"
        )),
    ]);
    let bls_g2 = cat(&[
        &fp(&hex!(
            "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
        )),
        &fp(&hex!(
            "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
        )),
        &fp(&hex!(
            "0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801"
        )),
        &fp(&hex!(
            "0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be"
        )),
    ]);
    let off_curve = cat(&[&fp(&[1; 48][..]), &fp(&[1; 48][..])]);
    let msm = cat(&[&bls_g1, &w(2), &bls_g1, &w(3)]);
    let pairs = cat(&[&bls_g1, &bls_g2, &bls_neg_g1, &bls_g2]);
    let small_fp = fp(&[0x12; 48]);
    let gas = 200_000;
    vec![
        (0xfa, 5, small, 32, gas),
        (0xfa, 5, large, 32, gas),
        (0xf4, 5, padded, 4, gas),
        (0xfa, 6, cat(&[&g1, &g1]), 64, gas),
        (0xfa, 6, cat(&[&w(1), &w(1), &g1]), 64, 10_000),
        (0xfa, 7, cat(&[&g1, &w(2)]), 64, gas),
        (0xf1, 7, cat(&[&g1, &w(2)]), 64, 5999),
        (0xfa, 8, Vec::new(), 32, gas),
        (0xfa, 8, cat(&[&g1, &g2, &neg_g1, &g2]), 32, gas),
        (0xfa, 8, vec![1; 100], 32, 60_000),
        (0xfa, 10, kzg, 64, gas),
        (0xfa, 10, wrong_kzg, 64, 60_000),
        (0xfa, 11, cat(&[&bls_g1, &bls_g1]), 128, gas),
        (0xfa, 11, cat(&[&off_curve, &bls_g1]), 128, 10_000),
        (0xfa, 12, msm.clone(), 128, gas),
        (0xfa, 12, msm, 128, 22_775),
        (0xfa, 13, cat(&[&bls_g2, &bls_g2]), 256, gas),
        (0xfa, 14, cat(&[&bls_g2, &w(2)]), 256, gas),
        (0xfa, 15, pairs, 32, gas),
        (0xfa, 16, small_fp.clone(), 128, gas),
        (0xfa, 16, small_fp[..48].to_vec(), 128, 10_000),
        (0xf2, 17, cat(&[&small_fp, &small_fp]), 256, gas),
    ]
}

fn halts() -> Vec<(&'static str, Bytes, u64)> {
    let gas = 100_000;
    let mut overflow = Asm::default();
    for _ in 0..1025 {
        overflow = overflow.op(0x5f);
    }
    vec![
        (
            "revert",
            Asm::default()
                .pushu(7)
                .pushu(0)
                .op(0x52)
                .pushu(64)
                .pushu(0)
                .op(0xfd)
                .code(),
            gas,
        ),
        ("invalid", Asm::default().op(0xfe).code(), gas),
        // EIP-2200's sentry: an SSTORE with at most 2300 gas left (21000 + 6 before it).
        (
            "sstore-sentry",
            Asm::default().pushu(1).pushu(7).op(0x55).code(),
            21_000 + 6 + 2300,
        ),
        // Past the sentry, out of gas for the cold set.
        (
            "sstore-out-of-gas",
            Asm::default().pushu(1).pushu(7).op(0x55).code(),
            21_000 + 6 + 2301,
        ),
        // A cold SLOAD with 2099 gas left (21000 + 3 before it).
        (
            "sload-cold-out-of-gas",
            Asm::default().pushu(7).op(0x54).code(),
            21_000 + 3 + 2099,
        ),
        (
            "sstore-underflow",
            Asm::default().pushu(1).op(0x55).code(),
            gas,
        ),
        ("tload-underflow", Asm::default().op(0x5c).code(), gas),
        // A cold BALANCE with 2599 gas left (21000 + 3 before it).
        (
            "balance-cold-out-of-gas",
            Asm::default().pushu(0xabcdef).op(0x31).code(),
            21_000 + 3 + 2599,
        ),
        ("extcodehash-underflow", Asm::default().op(0x3f).code(), gas),
        (
            "call-contract-rest-of-transaction",
            call_op(
                Asm::default(),
                0xf1,
                U256::from_be_slice(contract_address(0).as_slice()),
                0,
                [0; 4],
                1000,
            )
            .code(),
            gas,
        ),
        (
            "call-modexp-rest-of-transaction",
            call_op(Asm::default(), 0xfa, U256::from(5), 0, [0; 4], 1000).code(),
            gas,
        ),
        // An IDENTITY call that cannot pay for its input's memory.
        (
            "call-identity-memory-out-of-gas",
            call_op(
                Asm::default(),
                0xfa,
                U256::from(4),
                0,
                [0, 1 << 20, 0, 0],
                1000,
            )
            .code(),
            gas,
        ),
        // A cold call creating an account with its value: 100 + 9000 + 2500 + 25,000 needed.
        (
            "call-out-of-gas",
            call_op(
                Asm::default(),
                0xf1,
                U256::from(0xca11_0002u64),
                1,
                [0; 4],
                0,
            )
            .code(),
            21_000 + 21 + 36_599,
        ),
        (
            "call-underflow",
            Asm::default().pushu(1).pushu(2).op(0xfa).code(),
            gas,
        ),
        // A value to a precompile's (absent) account pays for a new account first: out of gas
        // there is an exceptional halt, before any precompile runs.
        (
            "call-precompile-new-account-out-of-gas",
            call_op(Asm::default(), 0xf1, U256::from(0x0a), 1, [0; 4], 0).code(),
            21_000 + 30_000,
        ),
        (
            "call-argument-offset-past-64-bits",
            Asm::default()
                .pushu(0)
                .pushu(0)
                .pushu(1)
                .push(U256::from(1) << 64)
                .pushu(9)
                .pushu(0)
                .op(0xfa)
                .code(),
            gas,
        ),
        (
            "selfbalance-overflow",
            {
                let mut full = Asm::default();
                for _ in 0..1024 {
                    full = full.op(0x5f);
                }
                full.op(0x47).code()
            },
            gas,
        ),
        (
            "log-length-past-64-bits",
            Asm::default()
                .push(U256::from(1) << 64)
                .pushu(0)
                .op(0xa0)
                .code(),
            gas,
        ),
        (
            "log4-underflow",
            Asm::default()
                .pushu(1)
                .pushu(2)
                .pushu(3)
                .pushu(4)
                .pushu(5)
                .op(0xa4)
                .code(),
            gas,
        ),
        (
            "log-memory-out-of-gas",
            Asm::default().pushu(1 << 20).pushu(0).op(0xa0).code(),
            gas,
        ),
        // Writes, then a REVERT: the state and the refund are dropped.
        (
            "sstore-revert",
            Asm::default()
                .pushu(0)
                .pushu(7)
                .op(0x55)
                .pushu(9)
                .pushu(7)
                .op(0x55)
                .pushu(1)
                .pushu(1)
                .op(0x5d)
                .pushu(0)
                .pushu(0)
                .op(0xfd)
                .code(),
            gas,
        ),
        ("undefined", Asm::default().op(0x0c).code(), gas),
        (
            "clz-not-prague",
            Asm::default().pushu(1).op(0x1e).code(),
            gas,
        ),
        ("underflow", Asm::default().pushu(1).op(0x01).code(), gas),
        ("overflow", overflow.code(), gas),
        (
            "jump-into-push-data",
            Bytes::from_static(&[0x60, 0x04, 0x56, 0x60, 0x5b, 0x00]),
            gas,
        ),
        (
            "jump-past-end",
            Asm::default().pushu(0xffff).op(0x56).code(),
            gas,
        ),
        (
            "jump-not-jumpdest",
            Asm::default().pushu(0).op(0x56).code(),
            gas,
        ),
        (
            "jumpi-invalid",
            Asm::default().pushu(1).pushu(1).op(0x57).op(0x5b).code(),
            gas,
        ),
        (
            "out-of-gas-loop",
            Bytes::from_static(&[0x5b, 0x5f, 0x56]),
            21_000 + 200,
        ),
        (
            "memory-out-of-gas",
            Asm::default().pushu(1 << 32).op(0x51).code(),
            gas,
        ),
        (
            "offset-past-u64",
            Asm::default().push(U256::from(1) << 64).op(0x51).code(),
            gas,
        ),
        (
            "return-huge",
            Asm::default().pushu(1 << 40).pushu(0).op(0xf3).code(),
            gas,
        ),
        (
            "revert-empty-huge-offset",
            Asm::default().pushu(0).push(MIN).op(0xfd).code(),
            gas,
        ),
        (
            "runs-off-the-end",
            Asm::default().pushu(1).pushu(2).op(0x01).code(),
            gas,
        ),
        (
            "truncated-push32",
            Bytes::from_static(&[0x7f, 0x01, 0x02]),
            gas,
        ),
        (
            "exp-out-of-gas",
            Asm::default().push(U256::MAX).pushu(3).op(0x0a).code(),
            21_000 + 1_000,
        ),
        (
            "keccak-out-of-gas",
            Asm::default().pushu(1 << 40).pushu(0).op(0x20).code(),
            gas,
        ),
        (
            "keccak-length-past-u64",
            Asm::default()
                .push(U256::from(1) << 64)
                .pushu(0)
                .op(0x20)
                .code(),
            gas,
        ),
        (
            "returndatacopy-out-of-bounds",
            Asm::default().pushu(1).pushu(0).pushu(0).op(0x3e).code(),
            gas,
        ),
        (
            "returndatacopy-empty-past-end",
            Asm::default().pushu(0).pushu(1).pushu(0).op(0x3e).code(),
            gas,
        ),
        (
            "mcopy-offset-past-u64",
            Asm::default()
                .pushu(1)
                .push(U256::from(1) << 64)
                .pushu(0)
                .op(0x5e)
                .code(),
            gas,
        ),
        (
            "calldatacopy-underflow",
            Asm::default().pushu(1).pushu(2).op(0x37).code(),
            gas,
        ),
        (
            "codecopy-memory-out-of-gas",
            Asm::default()
                .pushu(1)
                .pushu(0)
                .pushu(1 << 30)
                .op(0x39)
                .code(),
            gas,
        ),
        (
            "copy-chunked",
            Asm::default()
                .pushu(32 * MAX_RANGE_WORDS as u64 + 1)
                .pushu(0)
                .pushu(0)
                .op(0x37)
                .op(0x00)
                .code(),
            gas,
        ),
        // EXTCODECOPY (kind 7): out of gas on the cold access (by one: 10 for the pushes, 100 +
        // 3 + 3 for the copy of one word, then 2500), on the memory, a length past 64 bits, a
        // stack underflow, and a destination over more words than a range may span (chunked:
        // docs/evm-steps.md section 4).
        (
            "extcodecopy-cold-out-of-gas",
            Asm::default()
                .pushu(32)
                .pushu(0)
                .pushu(0)
                .pushu(0xabcdef)
                .op(0x3c)
                .code(),
            21_000 + 10 + 106 + 2499,
        ),
        (
            "extcodecopy-memory-out-of-gas",
            Asm::default()
                .pushu(1)
                .pushu(0)
                .pushu(1 << 30)
                .op(0x33)
                .op(0x3c)
                .code(),
            gas,
        ),
        (
            "extcodecopy-length-past-u64",
            Asm::default()
                .push(U256::from(1) << 64)
                .pushu(0)
                .pushu(0)
                .op(0x33)
                .op(0x3c)
                .code(),
            gas,
        ),
        (
            "extcodecopy-underflow",
            Asm::default().pushu(1).pushu(2).pushu(3).op(0x3c).code(),
            gas,
        ),
        (
            "extcodecopy-chunked",
            Asm::default()
                .pushu(32 * MAX_RANGE_WORDS as u64 + 1)
                .pushu(0)
                .pushu(0)
                .op(0x33)
                .op(0x3c)
                .op(0x00)
                .code(),
            gas,
        ),
    ]
}

fn contract_address(i: u64) -> Address {
    Address::left_padding_from(&(0xe7e0_0000 + i).to_be_bytes())
}

/// An instruction witness: state, code, stack items, stack rest, word proofs (stage 1), word
/// ranges (stage 2), block (stage 1).
type Instruction = (
    EvmState,
    Bytes,
    Vec<U256>,
    B256,
    Vec<WordProof>,
    Vec<WordRange>,
    Option<BlockItem>,
);

/// The `IN_TX` proof's parts; `None` for an entry.
/// The kind of an `IN_TX` proof.
pub(super) fn proof_kind(proof: &[u8]) -> u8 {
    let (kind, _) = <(U256, Bytes)>::abi_decode_params(proof).expect("IN_TX proof");
    kind.to::<u8>()
}

pub(super) fn decode_instruction(proof: &[u8]) -> Option<Instruction> {
    let (kind, body) = <(U256, Bytes)>::abi_decode_params(proof).expect("IN_TX proof");
    match kind.to::<u8>() {
        0 | 6 | 9 | 11..=14 => None,
        1 => {
            let (evm, code, top, rest, words, block) =
                <(EvmState, Bytes, Vec<U256>, B256, Vec<WordProof>, BlockItem)>::abi_decode_params(
                    &body,
                )
                .expect("stage-1 witness");
            Some((evm, code, top, rest, words, Vec::new(), Some(block)))
        }
        2 => {
            let (evm, code, top, rest, ranges) =
                <(EvmState, Bytes, Vec<U256>, B256, Vec<WordRange>)>::abi_decode_params(&body)
                    .expect("stage-2 witness");
            Some((evm, code, top, rest, Vec::new(), ranges, None))
        }
        3 => {
            let (evm, code, top, rest, state, block) =
                <(EvmState, Bytes, Vec<U256>, B256, StateWitness, BlockItem)>::abi_decode_params(
                    &body,
                )
                .expect("stage-3 witness");
            if evm.substate != ACCESS_LIST_SUBSTATE {
                assert_eq!(
                    substate_hash(state.warmSlots, state.transientStorage, state.warmAccounts),
                    evm.substate,
                    "the substate opens"
                );
            }
            Some((evm, code, top, rest, Vec::new(), Vec::new(), Some(block)))
        }
        5 => {
            let (evm, code, top, rest, call) =
                <(EvmState, Bytes, Vec<U256>, B256, PrecompileCallWitness)>::abi_decode_params(
                    &body,
                )
                .expect("precompile call witness");
            let ranges = [call.input, call.output]
                .into_iter()
                .filter(|range| !range.words.is_empty())
                .collect();
            Some((evm, code, top, rest, Vec::new(), ranges, None))
        }
        7 => {
            let (evm, code, top, rest, state, block, dest) =
                <(
                    EvmState,
                    Bytes,
                    Vec<U256>,
                    B256,
                    StateWitness,
                    BlockItem,
                    WordRange,
                )>::abi_decode_params(&body)
                .expect("EXTCODECOPY witness");
            assert_eq!(
                substate_hash(state.warmSlots, state.transientStorage, state.warmAccounts),
                evm.substate,
                "the substate opens"
            );
            let ranges = [dest]
                .into_iter()
                .filter(|range| !range.words.is_empty())
                .collect();
            Some((evm, code, top, rest, Vec::new(), ranges, Some(block)))
        }
        4 => {
            let (evm, code, top, rest, call, block) =
                <(EvmState, Bytes, Vec<U256>, B256, CallWitness, BlockItem)>::abi_decode_params(
                    &body,
                )
                .expect("call witness");
            assert_eq!(
                substate_hash(call.warmSlots, call.transientStorage, call.warmAccounts),
                evm.substate,
                "the substate opens"
            );
            // A call that starts a frame opens its argument range.
            let ranges = [call.args]
                .into_iter()
                .filter(|range| !range.words.is_empty())
                .collect();
            Some((evm, code, top, rest, Vec::new(), ranges, Some(block)))
        }
        8 => {
            let (evm, code, top, rest, create) =
                <(EvmState, Bytes, Vec<U256>, B256, CreateWitness)>::abi_decode_params(&body)
                    .expect("creation witness");
            assert_eq!(
                substate_hash(
                    create.warmSlots,
                    create.transientStorage,
                    create.warmAccounts
                ),
                evm.substate,
                "the substate opens"
            );
            let ranges = [create.initCode]
                .into_iter()
                .filter(|range| !range.words.is_empty())
                .collect();
            Some((evm, code, top, rest, Vec::new(), ranges, None))
        }
        10 => {
            let (evm, code, top, rest, destruct, block) = <(
                EvmState,
                Bytes,
                Vec<U256>,
                B256,
                SelfDestructWitness,
                BlockItem,
            )>::abi_decode_params(&body)
            .expect("SELFDESTRUCT witness");
            assert_eq!(
                substate_hash(
                    destruct.warmSlots,
                    destruct.transientStorage,
                    destruct.warmAccounts
                ),
                evm.substate,
                "the substate opens"
            );
            Some((evm, code, top, rest, Vec::new(), Vec::new(), Some(block)))
        }
        other => panic!("IN_TX proof of kind {other}"),
    }
}

/// Every range opens one of the frame's word trees.
fn check_ranges(name: &str, ranges: &[WordRange], evm: &EvmState) {
    for (i, range) in ranges.iter().enumerate() {
        let root = range_root(range.first, &range.words, &range.siblings).expect("a range proof");
        assert!(
            [evm.memRoot, evm.calldataRoot, evm.returnDataRoot].contains(&root),
            "{name}: range {i} at pc {} opens none of the frame's trees",
            evm.pc
        );
        assert!(range.words.len() <= MAX_RANGE_WORDS);
    }
}

fn check_words(words: &[WordProof], root: B256) {
    for (i, w) in words.iter().enumerate() {
        let siblings: [B256; WORD_DEPTH] = w.siblings;
        // Reads open the root; writes chain, so only the first is checked against it here.
        if i == 0 {
            assert_eq!(
                word_root(w.index, w.word, &siblings),
                root,
                "word proof {i}"
            );
        }
    }
}

#[derive(Default)]
struct Fixtures {
    opcodes: Vec<u16>,
    pres: Vec<String>,
    proofs: Vec<String>,
    posts: Vec<String>,
}

impl Fixtures {
    fn push(&mut self, opcode: u16, pre: &MachineState, proof: &[u8], post: &MachineState) {
        self.opcodes.push(opcode);
        self.pres.push(hex::encode_prefixed(pre.abi_encode()));
        self.proofs.push(hex::encode_prefixed(proof));
        self.posts.push(hex::encode_prefixed(post.abi_encode()));
    }

    fn json(&self) -> String {
        let value = serde_json::json!({
            "chainId": chain().chain_id,
            "opcodes": self.opcodes,
            "pres": self.pres,
            "proofs": self.proofs,
            "posts": self.posts,
        });
        serde_json::to_string_pretty(&value).expect("json") + "\n"
    }
}

#[test]
fn evm_steps_agree_with_revm_and_fixtures_are_up_to_date() {
    let mut genesis = genesis();
    let mut programs: Vec<(String, Bytes, u64, Bytes, u128)> = vec![
        ("arithmetic".into(), arithmetic(), 300_000, Bytes::new(), 0),
        (
            "context".into(),
            context(),
            200_000,
            Bytes::from(keccak256("calldata").to_vec())
                .iter()
                .chain([1u8, 2, 3, 4].iter())
                .copied()
                .collect(),
            1234,
        ),
        ("memory".into(), memory(), 200_000, Bytes::new(), 0),
        ("control".into(), control(), 200_000, Bytes::new(), 5),
        (
            "copies".into(),
            copies(),
            300_000,
            (0..70u8).map(|i| i.wrapping_mul(29) | 1).collect(),
            0,
        ),
        ("storage".into(), storage(), 300_000, Bytes::new(), 9),
        ("accounts".into(), accounts(), 300_000, Bytes::new(), 3),
        ("calls".into(), calls(), 500_000, Bytes::new(), 3),
        ("frames".into(), frames(), 1_500_000, Bytes::new(), 0),
        (
            "precompiles".into(),
            precompiles(),
            3_000_000,
            Bytes::new(),
            0,
        ),
    ];
    for (name, code, gas) in halts() {
        programs.push((name.into(), code, gas, Bytes::new(), 0));
    }
    for (k, code) in frame_callees().into_iter().enumerate() {
        genesis.alloc.insert(
            contract_address(100 + k as u64),
            GenesisAccount {
                code: Some(code),
                balance: U256::from(5),
                ..Default::default()
            },
        );
    }
    // An EIP-7702 delegation (to the `copies` contract), which EXTCODECOPY copies as it is.
    let mut designator = hex!("ef0100").to_vec();
    designator.extend_from_slice(contract_address(4).as_slice());
    genesis.alloc.insert(
        delegated(),
        GenesisAccount {
            code: Some(designator.into()),
            ..Default::default()
        },
    );
    for (i, (name, code, ..)) in programs.iter().enumerate() {
        genesis.alloc.insert(
            contract_address(i as u64),
            GenesisAccount {
                code: Some(code.clone()),
                storage: if name.starts_with("s") {
                    storage_genesis()
                } else {
                    BTreeMap::new()
                },
                // The calls move value from the contract.
                balance: U256::from(
                    if ["calls", "frames", "precompiles"].contains(&name.as_str()) {
                        1000
                    } else {
                        0
                    },
                ),
                ..Default::default()
            },
        );
    }
    let mut reference = Reference::new(&genesis);
    let mut fixtures = Fixtures::default();
    let mut seen: BTreeMap<u8, usize> = BTreeMap::new();
    let mut halts_checked = 0;
    let mut instructions = 0;
    let mut returns = 0;
    let mut frame_steps = 0;
    // One block per program, alternating senders and transaction types.
    for (i, (name, _, gas, data, value)) in programs.iter().enumerate() {
        let to = contract_address(i as u64);
        let key = dev(i % 8);
        let nonce = (i / 8) as u64;
        let raw = if i % 5 == 4 {
            super::step_fixtures::sign(
                &key,
                TxLegacy {
                    chain_id: Some(chain().chain_id),
                    nonce,
                    gas_price: 2 * GWEI,
                    gas_limit: *gas,
                    to: call(to),
                    value: U256::from(*value),
                    input: data.clone(),
                },
            )
        } else {
            let mut tx = eip1559(nonce, call(to), *value, *gas, data.clone());
            // Access lists, warmed at the entry: slots the storage program touches, and for the
            // accounts program an absent account it reads and its own sender (warm anyway).
            let listed = |address: Address, keys: &[u8]| AccessListItem {
                address,
                storage_keys: keys.iter().map(|k| B256::with_last_byte(*k)).collect(),
            };
            if name == "storage" {
                tx.access_list = AccessList(vec![listed(to, &[1, 2]), listed(to, &[2])]);
            } else if name == "accounts" {
                let absent = Address::from_word(B256::from(U256::from(0xabcdefu64)));
                tx.access_list = AccessList(vec![listed(absent, &[]), listed(key.address(), &[7])]);
            }
            super::step_fixtures::sign(&key, tx)
        };
        let pre = reference.state.clone();
        let (items, roots) = reference.run(vec![vec![raw]]);
        let trace = checked_trace(pre, items, &roots);
        let mut entered = false;
        for step in trace.steps() {
            let step = step.expect("step");
            if step.kind != StepKind::Evm {
                continue;
            }
            if step.proof.is_empty() {
                // The rest of the transaction: only where the next instruction is not stage 1.
                assert!(entered, "{name}: every program is entered");
                assert_eq!(step.post.phase(), Some(Phase::TxExecuted), "{name}");
                continue;
            }
            if proof_kind(&step.proof) == 6 {
                // A return step (docs/evm-steps.md section 9): back in the caller's frame.
                if name == "frames" {
                    returns += 1;
                }
                assert_eq!(step.post.phase(), Some(Phase::InTx), "{name}");
                fixtures.push(257, &step.pre, &step.proof, &step.post);
                continue;
            }
            let Some((evm, code, top, rest, words, ranges, block)) =
                decode_instruction(&step.proof)
            else {
                entered = true;
                fixtures.push(256, &step.pre, &step.proof, &step.post);
                continue;
            };
            instructions += 1;
            assert_eq!(evm.hash(), step.pre.evm, "{name}: state hash");
            assert_eq!(keccak256(&code), evm.codeHash, "{name}: code");
            if let Some(block) = &block {
                assert_eq!(block.item_hash(), step.pre.blockItem, "{name}: block item");
            }
            let op = code.get(instruction_pc(evm.pc)).copied().unwrap_or(0);
            let mut inputs = instruction_inputs(op).expect("an instruction with a witness");
            if op == 0x20 && instruction_pc(evm.pc) != evm.pc as usize {
                // A chunked hash's continuation: keccak's sponge (seven words) above its items.
                inputs += sponge::STATE_WORDS;
            }
            if usize::from(evm.stackSize) >= inputs {
                assert_eq!(top.len(), inputs, "{name}: stack items of {op:#x}");
                let opened = top.iter().rev().fold(rest, |h, x| stack_push(h, *x));
                assert_eq!(opened, evm.stack, "{name}: stack opening at pc {}", evm.pc);
            } else {
                assert!(top.is_empty());
            }
            match op {
                0x51..=0x53 => check_words(&words, evm.memRoot),
                0x35 => check_words(&words, evm.calldataRoot),
                0x40 => check_words(&words, block.as_ref().expect("in a block").recentHashes),
                _ => assert!(words.is_empty(), "{name}: no words for {op:#x}"),
            }
            if stage2_inputs(op).is_some() || call_inputs(op).is_some() {
                check_ranges(name, &ranges, &evm);
            } else {
                assert!(ranges.is_empty(), "{name}: no ranges for {op:#x}");
            }
            let halted = step.post.phase() == Some(Phase::TxExecuted);
            if evm.depth > 0 {
                frame_steps += 1;
            }
            if halted {
                halts_checked += 1;
                check_halt(name, op, &evm, &step.pre, &step.post);
            } else {
                assert_eq!(step.post.phase(), Some(Phase::InTx), "{name}");
            }
            let count = seen.entry(op).or_default();
            *count += 1;
            // The chunked EXTCODECOPY's two steps (a full chunk, about 70 KB) stay out of the
            // file, which is near its cap: `evm_step_fuzz`'s EXTCODECOPY test checks them on the
            // verifiers.
            if name == "extcodecopy-chunked" {
                continue;
            }
            // A chunked hash's middle steps (about 25 KB each) too: its first step and its
            // last (the squeeze) are kept.
            let chunk = (evm.pc >> 16) as usize;
            if op == 0x20
                && chunk >= 1
                && (chunk + 1) * HASH_CHUNK_BYTES < top[8].saturating_to::<usize>()
            {
                continue;
            }
            if halted
                || *count <= 3
                || stage2_inputs(op).is_some()
                || stage3_inputs(op).is_some()
                || call_inputs(op).is_some()
            {
                fixtures.push(u16::from(op), &step.pre, &step.proof, &step.post);
            }
        }
        assert!(entered, "{name} was entered");
    }

    // Transactions calling a priced precompile (docs/evm-steps.md section 1.1): one step each,
    // at the edge of their price, with and without value, to absent and existing accounts, and
    // BLAKE2F inputs of the wrong length or final-block flag.
    let nonzero = |len: u64| -> Bytes { (0..len).map(|i| (i as u8) | 1).collect() };
    // Intrinsic gas and the EIP-7623 floor of a call with `data`.
    let intrinsic = |data: &Bytes| {
        21_000
            + data
                .iter()
                .map(|b| if *b == 0 { 4 } else { 16 })
                .sum::<u64>()
    };
    let floor = |data: &Bytes| {
        21_000
            + data
                .iter()
                .map(|b| if *b == 0 { 10 } else { 40 })
                .sum::<u64>()
    };
    let blake = |rounds: u32, len: usize, flag: u8| -> Bytes {
        let mut input = vec![0x11u8; len];
        input[..4].copy_from_slice(&rounds.to_be_bytes());
        if len > 212 {
            input[212] = flag;
        }
        input.into()
    };
    let b6000 = blake(6000, 213, 1);
    let cases: Vec<(u8, Bytes, u64, u128, bool)> = vec![
        (1, nonzero(128), 100_000, 0, true),
        (1, nonzero(64), floor(&nonzero(64)), 0, false),
        (2, nonzero(100), 50_000, 777, true),
        (2, nonzero(100), 50_000, 1, true),
        (3, nonzero(33), floor(&nonzero(33)), 5, false),
        (3, Bytes::new(), 21_600, 0, true),
        (4, Bytes::new(), 21_015, 3, true),
        (4, Bytes::new(), 21_014, 0, false),
        (9, b6000.clone(), intrinsic(&b6000) + 6000, 9, true),
        (9, b6000.clone(), intrinsic(&b6000) + 5999, 0, false),
        (9, blake(12, 213, 0), 100_000, 0, true),
        (9, blake(12, 213, 2), 100_000, 0, false),
        (9, blake(12, 212, 1), 100_000, 0, false),
    ];
    for (n, (id, data, gas, value, succeeds)) in cases.into_iter().enumerate() {
        assert!(gas >= floor(&data), "case {n}: at least the floor");
        let to = Address::with_last_byte(id);
        let raw =
            super::step_fixtures::sign(&dev(8), eip1559(n as u64, call(to), value, gas, data));
        let pre = reference.state.clone();
        let (items, roots) = reference.run(vec![vec![raw]]);
        let trace = checked_trace(pre, items, &roots);
        let steps: Vec<_> = trace
            .steps()
            .map(|s| s.expect("step"))
            .filter(|s| s.kind == StepKind::Evm)
            .collect();
        assert_eq!(steps.len(), 1, "precompile {id}: one step");
        let step = &steps[0];
        assert!(!step.proof.is_empty(), "precompile {id}: provable");
        assert_eq!(step.post.phase(), Some(Phase::TxExecuted));
        assert_eq!(step.post.success, succeeds, "precompile {id} case {n}");
        if succeeds {
            assert_eq!(
                step.post.stateRoot != step.pre.stateRoot,
                value > 0,
                "the value moved"
            );
        } else {
            assert_eq!(step.post.gasLeft, 0, "out of gas uses all gas");
            assert_eq!(step.post.stateRoot, step.pre.stateRoot, "the value stays");
        }
        fixtures.push(256, &step.pre, &step.proof, &step.post);
    }

    // Every stage-1 and stage-2 opcode that Prague defines ran at least once (the creations'
    // steps are checked on the verifiers by `evm_step_fuzz`'s creation tests instead: this file
    // is near its size cap).
    let missing: Vec<String> = (0..=255u8)
        .filter(|op| instruction_inputs(*op).is_some() && !seen.contains_key(op))
        .filter(|op| create_inputs(*op).is_none() && selfdestruct_inputs(*op).is_none())
        .filter(|op| ![0x0d, 0x0e, 0x0f, 0x1f].contains(op) && !(0x21..=0x2f).contains(op))
        .filter(|op| !(0x4b..=0x4f).contains(op) && !(0xa5..=0xef).contains(op))
        .filter(|op| !(0xf6..=0xf9).contains(op) && ![0xfb, 0xfc].contains(op))
        .map(|op| format!("{op:#04x}"))
        .collect();
    assert!(missing.is_empty(), "opcodes never run: {missing:?}");
    assert!(halts_checked >= 18, "{halts_checked} halts");
    // The frames program: every frame that starts returns (the failed call starts none); the
    // nested caller's and the self-caller's calls start two each.
    assert_eq!(returns, 9, "return steps");
    assert!(
        frame_steps > 40,
        "{frame_steps} instruction steps at depth 1 or more"
    );
    assert!(instructions > 1000, "{instructions} instruction steps");

    let json = fixtures.json();
    // The cap keeps the repository and forge's replay of this file (`EvmFixtures.t.sol`) small:
    // the stage-2 and stage-3 steps are all kept, and a full chunk of a copy is about 130 KB.
    assert!(json.len() < 5_500_000, "{} bytes", json.len());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/fixtures/evm_steps.json"
    );
    if std::env::var_os("UPDATE_STEP_FIXTURES").is_some() {
        std::fs::write(path, &json).expect("write fixtures");
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == json,
        "{path} is not what the step machine generates; rerun with UPDATE_STEP_FIXTURES=1"
    );
}

/// The spec's halting table (docs/evm-steps.md section 4) against revm's result.
fn check_halt(name: &str, op: u8, evm: &EvmState, pre: &MachineState, post: &MachineState) {
    assert_eq!(post.evm, B256::ZERO, "{name}");
    // The refund counter (SSTORE's) stays when the frame succeeds, capped at a fifth of the gas
    // spent.
    let refund = if matches!(op, 0x00 | 0xf3) {
        pre.refund.min((pre.txGasLimit - post.gasLeft) / 5)
    } else {
        0
    };
    assert_eq!(post.refund, refund, "{name}");
    let fields = |s: &MachineState| {
        (
            s.caller,
            s.txGasLimit,
            s.effectiveGasPrice,
            s.priorityFee,
            s.floorGas,
            s.inputs,
            s.blockItem,
            s.blockGasUsed,
            s.txsLeft,
        )
    };
    assert_eq!(fields(post), fields(pre), "{name}: transaction fields kept");
    match (op, name) {
        (0x00, _) => {
            assert!(post.success, "{name}");
            assert_eq!(post.gasLeft, evm.gas, "{name}: STOP costs nothing");
            assert_eq!(post.stateRoot, pre.stateRoot, "{name}");
        }
        (0xf3, "control") => {
            assert!(post.success, "{name}");
            assert_eq!(post.stateRoot, pre.stateRoot, "{name}");
            assert_eq!(
                post.gasLeft, evm.gas,
                "{name}: the memory is already 32 bytes"
            );
        }
        (0xfd, _) => {
            assert!(!post.success, "{name}");
            assert_eq!(
                post.stateRoot, evm.txStartRoot,
                "{name}: reverted to the start"
            );
            assert!(post.gasLeft > 0, "{name}: REVERT keeps its gas");
        }
        _ => {
            assert!(!post.success, "{name}: {op:#x} halts");
            assert_eq!(post.gasLeft, 0, "{name}: an exceptional halt uses all gas");
            assert_eq!(post.stateRoot, evm.txStartRoot, "{name}");
        }
    }
}
