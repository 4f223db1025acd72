//! Differential fuzzing of the EVM instruction steps (docs/evm-steps.md): random programs of the
//! instructions the verifiers prove (stages 1 to 3) run through the step machine, which takes
//! every state from revm, and every `IN_TX` step's witness is replayed through the Solidity
//! verifiers (`OneStepVerifier` → `EvmStepVerifier` → entry and copy verifiers), compiled by forge
//! and executed in revm: the verifier's post-state hash must be the machine's. Beside the random
//! programs, real solc-compiled contracts (`sequencer/tests/clients`: an ERC-20, a
//! constant-product AMM pair calling two of them, the ERC-20 behind a DELEGATECALL proxy) are
//! proven the same way instruction by instruction, their frames and return steps included.
//!
//! `FUZZ_STEPS_PROGRAMS` sets the number of programs (default: a few thousand steps for the normal
//! suite) and `FUZZ_STEPS_SEED` the seed; `make fuzz-steps` runs a long mode. The test prints its
//! figures and, last, one JSON line `{"steps_checked":…,"opcodes_covered":…,"opcodes_total":…,
//! "mismatches":…}`.

use super::contracts::contract_bytecode;
use super::evm_fixtures::decode_instruction;
use super::step_fixtures::{
    Reference, Rng, call, chain, checked_trace, dev, eip1559, genesis, sign,
};
use alloy_consensus::TxEip7702;
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_eips::eip7702::{Authorization, SignedAuthorization};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, b256, hex, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue, sol};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{CfgEnv, TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
};
use rollup_core::{
    chain::{ChainConfig, Genesis, GenesisAccount},
    fault::{
        Machine, MachineState, Phase, StepKind, World,
        evm::{
            CHUNK_BYTES, CallWitness, CallerFrame, EvmState, FrameEnd, HASH_CHUNK_BYTES,
            MAX_ACCESS_LIST_WARMINGS, WordRange, call_inputs, instruction_pc,
        },
        machine::BlockItem,
    },
    precompiles::MAX_PRECOMPILE_INPUT,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Instant,
};

sol! {
    function step(bytes preState, bytes proof) external view returns (bytes32 postStateHash);
}

/// Opcodes Prague defines, INVALID (0xfe) included.
const OPCODES_TOTAL: usize = 149;

/// Whether Prague defines `op` (docs/evm-steps.md section 4 lists the others).
fn defined(op: u8) -> bool {
    !matches!(op, 0x0c..=0x0f | 0x1e | 0x1f | 0x21..=0x2f | 0x4b..=0x4f | 0xa5..=0xef)
        && !matches!(op, 0xf6..=0xf9 | 0xfb | 0xfc)
}

/// The verifiers, deployed in an in-process revm.
struct Verifier {
    evm: revm::handler::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>,
    address: Address,
}

const DEPLOYER: Address = Address::repeat_byte(0xd0);

impl Verifier {
    /// The runtime code deployed at `address`.
    fn code_at(&self, address: Address) -> Bytes {
        self.evm.ctx.journaled_state.database.cache.accounts[&address]
            .info
            .code
            .as_ref()
            .expect("deployed code")
            .original_bytes()
    }

    fn deploy(chain_id: u64) -> Self {
        let mut cfg = CfgEnv::new_with_spec(ChainConfig::SPEC);
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        cfg.disable_block_gas_limit = true;
        let evm = Context::mainnet()
            .with_db(CacheDB::new(EmptyDB::default()))
            .with_cfg(cfg)
            .build_mainnet();
        let mut verifier = Self {
            evm,
            address: Address::ZERO,
        };
        let id = U256::from(chain_id);
        let entry = verifier.create("EvmEntryVerifier", id.abi_encode());
        let copy = verifier.create("EvmCopyVerifier", Vec::new());
        let state = verifier.create("EvmStateVerifier", Vec::new());
        let precompiles = verifier.create("EvmPrecompileCallVerifier", Vec::new());
        let returns = verifier.create("EvmReturnVerifier", Vec::new());
        let creates = verifier.create("EvmCreateVerifier", Vec::new());
        let creation_txs = verifier.create("EvmCreationTxVerifier", id.abi_encode());
        let self_destructs = verifier.create("EvmSelfDestructVerifier", Vec::new());
        let call = verifier.create(
            "EvmCallVerifier",
            (precompiles, returns, creates, creation_txs, self_destructs).abi_encode_params(),
        );
        let authorization = verifier.create("EvmAuthorizationVerifier", id.abi_encode());
        let authorized_entry = verifier.create("EvmAuthorizedEntryVerifier", id.abi_encode());
        let steps = verifier.create(
            "EvmStepVerifier",
            (
                id,
                entry,
                copy,
                state,
                call,
                authorization,
                authorized_entry,
            )
                .abi_encode_params(),
        );
        verifier.address = verifier.create("OneStepVerifier", (id, steps).abi_encode_params());
        verifier
    }

    fn create(&mut self, name: &str, args: Vec<u8>) -> Address {
        let mut code = contract_bytecode(name).to_vec();
        code.extend(args);
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .create()
            .data(code.into())
            .gas_limit(16_000_000)
            .build_fill();
        let out = self.evm.transact(tx).expect("deploys");
        let ExecutionResult::Success { output, .. } = &out.result else {
            panic!("deploying {name} failed: {:?}", out.result);
        };
        let address = output.address().copied().expect("a creation");
        revm::DatabaseCommit::commit(&mut self.evm.ctx.journaled_state.database, out.state);
        address
    }

    /// `OneStepVerifier.step`: the post-state hash, or the revert data.
    fn step(&mut self, pre: &MachineState, proof: &Bytes) -> Result<B256, Bytes> {
        self.step_with_gas(pre, proof).0
    }

    /// [`Self::step`] and the gas of the L1 transaction that calls it (21,000, the call data and
    /// the execution).
    fn step_with_gas(&mut self, pre: &MachineState, proof: &Bytes) -> (Result<B256, Bytes>, u64) {
        let data = stepCall {
            preState: pre.abi_encode().into(),
            proof: proof.clone(),
        }
        .abi_encode();
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .call(self.address)
            .data(data.into())
            .gas_limit(16_000_000)
            .build_fill();
        let result = self.evm.transact(tx).expect("runs").result;
        let gas = result.tx_gas_used();
        let outcome = match result {
            ExecutionResult::Success { output, .. } => {
                Ok(B256::abi_decode(output.data()).expect("a bytes32"))
            }
            ExecutionResult::Revert { output, .. } => Err(output),
            ExecutionResult::Halt { reason, .. } => Err(format!("{reason:?}").into_bytes().into()),
        };
        (outcome, gas)
    }
}

/// Stack values for random programs.
impl Rng {
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Any stack value: small, an offset, a boundary, or random.
    fn value(&mut self) -> U256 {
        match self.below(10) {
            0..=3 => U256::from(self.below(64)),
            4..=5 => U256::from(self.below(2048)),
            6 => self.pick(&[
                U256::ZERO,
                U256::from(1),
                U256::from(31),
                U256::from(32),
                U256::from(255),
                U256::from(256),
                U256::from(u64::MAX),
                U256::from(1) << 64,
                U256::from(1) << 255,
                U256::MAX,
            ]),
            7 => U256::from(self.next()),
            _ => U256::from_limbs([self.next(), self.next(), self.next(), self.next()]),
        }
    }

    /// A memory offset or length: mostly small, rarely anything.
    fn memory(&mut self, most: u64) -> U256 {
        match self.below(40) {
            0 => self.value(),
            1..=3 => U256::from(self.below(40)),
            _ => U256::from(self.below(most)),
        }
    }
}

/// A program under construction.
#[derive(Default)]
struct Program {
    code: Vec<u8>,
}

impl Program {
    fn push(&mut self, value: U256) {
        let bytes = value.to_be_bytes_trimmed_vec();
        if bytes.is_empty() {
            self.code.push(0x5f);
        } else {
            self.code.push(0x5f + bytes.len() as u8);
            self.code.extend_from_slice(&bytes);
        }
    }
}

/// Instructions that only read and write the stack and the context (a few pop their result).
const SIMPLE: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14,
    0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x38,
    0x3a, 0x3d, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x49, 0x4a, 0x58, 0x59, 0x5a, 0x5b,
];

/// A random program: 17 values for DUP and SWAP (the last pushed with a random width), then
/// random instructions with fitting operands, then one way to end.
fn program(rng: &mut Rng) -> Bytes {
    let mut p = Program::default();
    for _ in 0..16 {
        let v = rng.value();
        p.push(v);
    }
    // One PUSHn of every program with a random width, so that every width runs early.
    let n = 1 + rng.below(32) as usize;
    p.code.push(0x5f + n as u8);
    p.code.extend((0..n).map(|_| rng.next() as u8));
    let len = 5 + rng.below(60);
    for _ in 0..len {
        match rng.below(29) {
            28 => {
                // CREATE and CREATE2 of init code copied from another program (its frame
                // deposits what it returns, or fails), or of whatever the memory holds (one in
                // twelve over 32 KiB, up to EIP-3860's 49,152 bytes), with a value or not (above
                // the balance: the creation fails).
                let len = if rng.below(12) == 0 {
                    U256::from(32_769 + rng.below(49_152 - 32_769 + 1))
                } else {
                    rng.memory(400)
                };
                if rng.below(2) == 0 {
                    let other = program_address(rng.below(16) as usize);
                    p.push(len);
                    p.push(U256::ZERO);
                    p.push(U256::ZERO);
                    p.push(U256::from_be_slice(other.as_slice()));
                    p.code.push(0x3c);
                }
                let op = rng.pick(&[0xf0, 0xf5]);
                if op == 0xf5 {
                    p.push(U256::from(rng.below(4)));
                }
                p.push(len);
                p.push(U256::ZERO);
                let value = match rng.below(4) {
                    0 => U256::from(10u64.pow(18)),
                    1 => U256::from(rng.below(100)),
                    _ => U256::ZERO,
                };
                p.push(value);
                p.code.extend([op, 0x50]);
            }
            26..=27 => {
                // CALL, CALLCODE, DELEGATECALL, STATICCALL to accounts without code (absent or
                // not, warm or cold; a value above the balance fails the call), to other programs
                // (a frame) and to precompiles, with and without a value (kind 5); one in ten
                // with arguments around or over a chunk (docs/evm-steps.md section 9, "Long
                // arguments").
                let op = rng.pick(&[0xf1, 0xf1, 0xf2, 0xf4, 0xfa]);
                for i in 0..4 {
                    let range = if i == 2 && rng.below(10) == 0 {
                        U256::from(
                            CHUNK_BYTES as u64 - 40 + rng.below(2 * CHUNK_BYTES as u64 + 100),
                        )
                    } else {
                        rng.memory(400)
                    };
                    p.push(range);
                }
                if matches!(op, 0xf1 | 0xf2) {
                    let value = match rng.below(4) {
                        0 => U256::ZERO,
                        1 => U256::from(rng.below(1000)),
                        2 => U256::from(10u64.pow(18)),
                        _ => rng.value(),
                    };
                    p.push(value);
                }
                match rng.below(14) {
                    0 => p.code.push(rng.pick(&[0x32, 0x33, 0x41])),
                    1 => p.push(U256::from(1 + rng.below(0x11))),
                    2 => {
                        let other = program_address(rng.below(16) as usize);
                        p.push(U256::from_be_slice(other.as_slice()));
                    }
                    // EIP-7702 delegated accounts ([`genesis_with`]).
                    12..=13 => {
                        let delegated = delegated_address(rng.below(16) as usize);
                        p.push(U256::from_be_slice(delegated.as_slice()));
                    }
                    3..=4 => {
                        let dev = dev(rng.below(8) as usize).address();
                        p.push(U256::from_be_slice(dev.as_slice()));
                    }
                    5..=8 => p.push(U256::from(0xca11_0000 + rng.below(4))),
                    9..=10 => {
                        let returner = long_returner_address(rng.below(8) as usize);
                        p.push(U256::from_be_slice(returner.as_slice()));
                    }
                    _ => {
                        let v = rng.value();
                        p.push(v);
                    }
                }
                let gas = rng.value();
                p.push(gas);
                p.code.extend([op, 0x50]);
            }
            24..=25 => {
                // BALANCE, EXTCODESIZE, EXTCODEHASH, EXTCODECOPY of the accounts around (warm
                // from the start or not, with code or without, absent), and SELFBALANCE.
                let op = rng.pick(&[0x31, 0x3b, 0x3f, 0x47, 0x3c]);
                if op == 0x3c {
                    // EXTCODECOPY's length, source offset and destination, under the address;
                    // one in ten over a chunk (docs/evm-steps.md section 4, "Chunked copies").
                    let len = if rng.below(10) == 0 {
                        U256::from(CHUNK_BYTES as u64 + 1 + rng.below(40_000))
                    } else {
                        rng.memory(300)
                    };
                    let (src, dst) = (rng.value(), rng.memory(1500));
                    p.push(len);
                    p.push(src);
                    p.push(dst);
                }
                if op != 0x47 {
                    match rng.below(8) {
                        0 => p.code.push(rng.pick(&[0x30, 0x32, 0x33, 0x41])),
                        1 => p.push(U256::from(1 + rng.below(0x12))),
                        2 => {
                            let other = program_address(rng.below(16) as usize);
                            p.push(U256::from_be_slice(other.as_slice()));
                        }
                        3 => {
                            let dev = dev(rng.below(8) as usize).address();
                            p.push(U256::from_be_slice(dev.as_slice()));
                        }
                        _ => {
                            let v = rng.value();
                            p.push(v);
                        }
                    }
                }
                p.code.push(op);
                if op != 0x3c {
                    p.code.push(0x50);
                }
            }
            23 => {
                // LOG0..LOG4 of a memory range with random topics.
                let n = rng.below(5) as u8;
                for _ in 0..n {
                    let v = rng.value();
                    p.push(v);
                }
                let (len, at) = (rng.memory(300), rng.memory(1500));
                p.push(len);
                p.push(at);
                p.code.push(0xa0 + n);
            }
            20..=22 => {
                // SLOAD, SSTORE, TLOAD, TSTORE on a few slots (1 to 4 start set, see
                // `genesis_with`), with values that restore, clear or set them.
                let op = rng.pick(&[0x54, 0x55, 0x55, 0x5c, 0x5d]);
                if op == 0x55 || op == 0x5d {
                    let slot_values = [0, 7, 14, 21, 28, 1];
                    let v = if rng.below(4) == 0 {
                        rng.value()
                    } else {
                        U256::from(rng.pick(&slot_values))
                    };
                    p.push(v);
                }
                let slot = if rng.below(8) == 0 {
                    rng.value()
                } else {
                    U256::from(rng.below(6))
                };
                p.push(slot);
                p.code.push(op);
                if op == 0x54 || op == 0x5c {
                    p.code.push(0x50);
                }
            }
            0..=6 => {
                let op = rng.pick(SIMPLE);
                let inputs = rollup_core::fault::evm::instruction_inputs(op).unwrap_or(0);
                for _ in 0..inputs {
                    let v = rng.value();
                    p.push(v);
                }
                p.code.push(op);
                if rng.below(2) == 0 {
                    p.code.push(0x50);
                }
            }
            7 => {
                // PUSHn with n random bytes, then POP.
                let n = 1 + rng.below(32) as usize;
                p.code.push(0x5f + n as u8);
                p.code.extend((0..n).map(|_| rng.next() as u8));
                p.code.push(0x50);
            }
            8 => {
                let op = 0x80 + rng.below(16) as u8;
                p.code.extend([op, 0x50]);
            }
            9 => p.code.push(0x90 + rng.below(16) as u8),
            10..=11 => {
                // MLOAD, MSTORE, MSTORE8.
                let op = rng.pick(&[0x51, 0x52, 0x53]);
                if op != 0x51 {
                    let v = rng.value();
                    p.push(v);
                }
                let at = rng.memory(1500);
                p.push(at);
                p.code.push(op);
                if op == 0x51 {
                    p.code.push(0x50);
                }
            }
            12..=16 => {
                // KECCAK256 and the copies.
                let op = rng.pick(&[0x20, 0x37, 0x39, 0x3e, 0x5e, 0x37, 0x39, 0x5e]);
                // One copy or hash in twelve is chunked (docs/evm-steps.md section 4): up to
                // three chunks of a copy, at offsets that make MCOPY overlap itself either way;
                // up to nine of a hash (its memory costs the program little of its gas).
                let chunked = op != 0x3e && rng.below(12) == 0;
                let len = if chunked && op == 0x20 {
                    U256::from(
                        CHUNK_BYTES as u64 - 40 + rng.below(3 * HASH_CHUNK_BYTES as u64 + 40),
                    )
                } else if chunked {
                    U256::from(CHUNK_BYTES as u64 - 40 + rng.below(2 * CHUNK_BYTES as u64 + 100))
                } else {
                    rng.memory(700)
                };
                p.push(len);
                if op != 0x20 {
                    let src = if op == 0x3e {
                        U256::ZERO
                    } else if chunked {
                        U256::from(rng.below(3000))
                    } else {
                        rng.memory(1500)
                    };
                    p.push(src);
                }
                let at = if chunked {
                    U256::from(rng.below(3000))
                } else {
                    rng.memory(1500)
                };
                p.push(at);
                p.code.push(op);
                if op == 0x20 {
                    p.code.push(0x50);
                }
            }
            17 => {
                // A jump (or a JUMPI taken) over junk to a JUMPDEST, or a JUMPI not taken.
                let taken = rng.below(3) != 0;
                let skip = if taken { rng.below(4) as usize } else { 0 };
                let jumpi = !taken || rng.below(2) == 0;
                if jumpi {
                    p.code.push(if taken { 0x60 } else { 0x5f });
                    if taken {
                        p.code.push(1 + rng.below(255) as u8);
                    }
                }
                let target = p.code.len() + 4 + skip;
                p.code.push(0x61);
                p.code.extend_from_slice(&(target as u16).to_be_bytes());
                p.code.push(if jumpi { 0x57 } else { 0x56 });
                p.code.extend((0..skip).map(|_| 0xfe));
                p.code.push(0x5b);
            }
            18 => {
                // BLOCKHASH of the block itself, of one in reach (the parent, the oldest) or
                // past it: NUMBER - k.
                let k = rng
                    .pick(&[0, 1, 1, 2, 255, 256, 257])
                    .max(rng.below(300) * rng.below(2));
                p.push(U256::from(k));
                p.code.extend([0x43, 0x03, 0x40, 0x50]);
            }
            _ => {
                let op = rng.pick(&[0x5f, 0x58, 0x59, 0x5a]);
                p.code.extend([op, 0x50]);
            }
        }
    }
    // How the frame ends.
    match rng.below(11) {
        // STOP, or INVALID (which few programs reach otherwise: most end before their last
        // instruction).
        0 => p.code.push(if rng.below(2) == 0 { 0x00 } else { 0xfe }),
        8 => {
            // SELFDESTRUCT to a dev account, another program, itself or anywhere (a program
            // that existed before the transaction only gives its balance away; one running as
            // init code is deleted).
            match rng.below(4) {
                0 => {
                    let dev = dev(rng.below(8) as usize).address();
                    p.push(U256::from_be_slice(dev.as_slice()));
                }
                1 => {
                    let other = program_address(rng.below(16) as usize);
                    p.push(U256::from_be_slice(other.as_slice()));
                }
                2 => p.code.push(0x30),
                _ => {
                    let v = rng.value();
                    p.push(v);
                }
            }
            p.code.push(0xff);
        }
        1 | 2 => {
            // One output in six around or over a chunk (docs/evm-steps.md section 9, "Long
            // outputs": only a frame at depth 1 or more returns one; see also
            // [`long_returner_address`]).
            let len = if rng.below(6) == 0 {
                U256::from(CHUNK_BYTES as u64 - 40 + rng.below(2 * CHUNK_BYTES as u64 + 100))
            } else {
                rng.memory(200)
            };
            let at = rng.memory(600);
            p.push(len);
            p.push(at);
            p.code.push(rng.pick(&[0xf3, 0xfd]));
        }
        // INVALID, or an opcode Prague does not define.
        3 => p.code.push(rng.pick(&[
            0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0x0c, 0x21, 0x4b, 0xa5, 0xef, 0xfc,
        ])),
        4 => {
            // A jump to anywhere.
            let to = rng.value();
            p.push(to);
            p.code.push(0x56);
        }
        5 => {
            // RETURNDATACOPY past the (empty) return data.
            p.code.extend([0x60, 0x01, 0x5f, 0x5f, 0x3e]);
        }
        6 => {
            // Stack underflow: pop everything, then ADD.
            p.code.extend(std::iter::repeat_n(0x50, 1100));
            p.code.push(0x01);
        }
        7 if rng.below(2) == 0 => {
            // A precompile's input around the chain's bound (`rollup_core::precompiles`): over
            // 32,736 bytes it fails unread, in one step (kind 5).
            let len = MAX_PRECOMPILE_INPUT as u64 - 50 + rng.below(200);
            // STATICCALL(gas, IDENTITY, 0, len, 0, 32)
            p.code.extend([0x60, 0x20, 0x5f]);
            p.push(U256::from(len));
            p.code.extend([0x5f, 0x60, 0x04, 0x5a, 0xfa]);
        }
        7 => {
            // MODEXP with a base and a modulus around EIP-7823's 1,024 bytes (refused over it)
            // and a short exponent: the lengths at memory 0, 32 and 64, the numbers after them.
            let (base, exp, modulus) = (1000 + rng.below(50), rng.below(3), 1000 + rng.below(50));
            for (i, len) in [base, exp, modulus].into_iter().enumerate() {
                p.push(U256::from(len));
                p.code.extend([0x60, 32 * i as u8, 0x52]); // MSTORE(32 i, len)
            }
            // STATICCALL(gas, MODEXP, 0, 96 + base + exp + modulus, 0, 32)
            p.code.extend([0x60, 0x20, 0x5f]);
            p.push(U256::from(96 + base + exp + modulus));
            p.code.extend([0x5f, 0x60, 0x05, 0x5a, 0xfa]);
        }
        // REVERT with no output (RETURN and REVERT of some bytes are above).
        9 => p.code.extend([0x5f, 0x5f, 0xfd]),
        _ => {} // runs off the end of the code
    }
    p.code.into()
}

/// The fixtures' genesis with `codes` deployed at [`program_address`]es, each with slots 1 to
/// 4 holding 7, 14, 21 and 28.
fn genesis_with(codes: &[Bytes]) -> Genesis {
    let mut genesis = genesis();
    let storage: BTreeMap<B256, B256> = (1..=4u64)
        .map(|slot| {
            (
                B256::from(U256::from(slot)),
                B256::from(U256::from(7 * slot)),
            )
        })
        .collect();
    for (i, code) in codes.iter().enumerate() {
        genesis.alloc.insert(
            program_address(i),
            GenesisAccount {
                code: Some(code.clone()),
                storage: storage.clone(),
                // Calls move value from the programs.
                balance: U256::from(10u64.pow(18)),
                ..Default::default()
            },
        );
    }
    // EIP-7702 delegated accounts: most delegate to a program; one to an absent account, one to
    // a precompile, one to another delegated account and one to an account without code (no
    // code runs for the last three but the chain, whose designator halts at 0xEF).
    for j in 0..16 {
        let delegate = match j {
            12 => Address::repeat_byte(0xde),
            13 => Address::with_last_byte(4),
            14 => delegated_address(0),
            15 => dev(1).address(),
            _ => program_address(j % codes.len().max(1)),
        };
        let designator: Vec<u8> = [&[0xef, 0x01, 0x00][..], delegate.as_slice()].concat();
        genesis.alloc.insert(
            delegated_address(j),
            GenesisAccount {
                code: Some(designator.into()),
                nonce: 1,
                balance: U256::from(if j % 2 == 0 { 10u64.pow(18) } else { 0 }),
                ..Default::default()
            },
        );
    }
    // Contracts whose frames end with outputs over a chunk (docs/evm-steps.md section 9, "Long
    // outputs"): their code copied to memory, then RETURN (even j) or REVERT (odd j) of just
    // over one chunk, two and a bit, exactly three, or 70,000 bytes at an unaligned offset.
    let chunk = CHUNK_BYTES as u32;
    for j in 0..8 {
        let len = [chunk + 1, 2 * chunk + 5, 3 * chunk, 70_000][j / 2];
        let mut code = vec![0x38, 0x5f, 0x5f, 0x39, 0x62]; // CODECOPY(0, 0, CODESIZE), PUSH3
        code.extend_from_slice(&len.to_be_bytes()[1..]);
        code.extend([
            0x60,
            (j * 7 % 32) as u8,
            if j % 2 == 0 { 0xf3 } else { 0xfd },
        ]);
        code.extend((0..300u32).map(|i| (i * 37 + j as u32) as u8 | 1));
        genesis.alloc.insert(
            long_returner_address(j),
            contract_account(code.into(), BTreeMap::new()),
        );
    }
    genesis
}

/// The `j`th contract of [`genesis_with`] that ends with a long output.
fn long_returner_address(j: usize) -> Address {
    Address::left_padding_from(&(0x1011_0000 + j as u64).to_be_bytes())
}

/// An EOA with an EIP-7702 delegation ([`genesis_with`]).
fn delegated_address(j: usize) -> Address {
    Address::left_padding_from(&(0xde1e_0000 + j as u64).to_be_bytes())
}

fn program_address(i: usize) -> Address {
    Address::left_padding_from(&(0xf022_0000 + i as u64).to_be_bytes())
}

#[derive(Default)]
struct Tally {
    checked: usize,
    entries: usize,
    rest_of_transaction: usize,
    /// Steps of a chunked copy or hash after its first (docs/evm-steps.md section 4).
    chunk_continuations: usize,
    /// Those of a chunked KECCAK256.
    hash_continuations: usize,
    /// Steps that put a call's arguments over a chunk in a tree (docs/evm-steps.md section 9).
    call_arg_steps: usize,
    /// Steps of outputs over a chunk (kind 14, docs/evm-steps.md section 9).
    long_output_steps: usize,
    /// Entries of transactions to EIP-7702 delegated accounts (kind 11).
    delegated_entries: usize,
    /// Calls that followed a delegation to its delegate (kind 4 with the delegate's proof).
    delegated_calls: usize,
    /// Authorization steps of EIP-7702 transactions (kind 12) and their entries (kind 13).
    authorizations: usize,
    authorized_entries: usize,
    opcodes: BTreeMap<u8, usize>,
    mismatches: Vec<String>,
    /// Witnesses with one byte changed that the verifier refused (or that still proved the
    /// honest post-state).
    tampered: usize,
    /// Witnesses with one byte changed that proved another post-state: each a soundness bug.
    forgeries: Vec<String>,
    /// A few instruction steps of each kind (1 to 5) with their post-state hash.
    samples: Vec<(u8, MachineState, Bytes, B256)>,
}

/// Runs `count` programs (one block each, in batches sharing one genesis) and checks every
/// `IN_TX` step on the verifier.
fn fuzz(seed: u64, count: usize, verifier: &mut Verifier, tally: &mut Tally) {
    let mut rng = Rng(seed | 1);
    // The tampering and the EIP-7702 transactions draw from streams of their own: the programs
    // and their transactions do not depend on how many steps a transaction has.
    let mut rng_7702 = Rng(seed.rotate_left(17) | 1);
    let mut rng_tamper = Rng(seed.rotate_left(31) | 1);
    let per_genesis = 16;
    for chunk in 0..count.div_ceil(per_genesis) {
        let n = per_genesis.min(count - chunk * per_genesis);
        let programs: Vec<Bytes> = (0..n).map(|_| program(&mut rng)).collect();
        let mut reference = Reference::new(&genesis_with(&programs));
        // Each sender's next nonce (an authorization of its own moves it too).
        let mut nonces = [0u64; 8];
        for (i, code) in programs.iter().enumerate() {
            let data: Bytes = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
            let gas = if rng.below(5) == 0 {
                25_000 + rng.below(8_000)
            } else {
                100_000 + rng.below(400_000)
            };
            let value = if rng.below(3) == 0 {
                rng.below(1000)
            } else {
                0
            };
            // One transaction in 16 calls a priced precompile instead (one step), with gas
            // around its price: 21,000 plus the call data's floor plus a little.
            // One in 8 calls a delegated account (docs/evm-steps.md section 1.1, kind 11).
            let (to, gas) = if rng.below(16) == 0 {
                let id = rng.pick(&[1u8, 2, 3, 4, 9]);
                let floor = 21_000 + 40 * data.len() as u64;
                (Address::with_last_byte(id), floor + rng.below(3_500))
            } else if rng.below(8) == 0 {
                (delegated_address(rng.below(16) as usize), gas)
            } else {
                (program_address(i), gas)
            };
            let sender = i % 8;
            let mut tx = eip1559(nonces[sender], call(to), value.into(), gas, data);
            nonces[sender] += 1;
            // One transaction in 8 has an access list, warmed into the substate at its entry
            // (docs/evm-steps.md section 2): the program's own slots, another program, the
            // sender; one in 64 a list past the limit (the access-list marker: its state
            // access is the rest of the transaction).
            if gas >= 100_000 && rng.below(8) == 0 {
                let mut items = vec![AccessListItem {
                    address: to,
                    storage_keys: (0..rng.below(4))
                        .map(|_| B256::with_last_byte(rng.below(6) as u8))
                        .collect(),
                }];
                if rng.below(2) == 0 {
                    items.push(AccessListItem {
                        address: program_address(rng.below(16) as usize),
                        storage_keys: vec![B256::with_last_byte(1)],
                    });
                }
                if rng.below(4) == 0 {
                    items.push(AccessListItem {
                        address: dev(i % 8).address(),
                        storage_keys: Vec::new(),
                    });
                }
                if rng.below(8) == 0 {
                    items.push(AccessListItem {
                        address: to,
                        storage_keys: (0..MAX_ACCESS_LIST_WARMINGS as u8)
                            .map(B256::with_last_byte)
                            .collect(),
                    });
                }
                tx.access_list = AccessList(items);
            }
            // One transaction in 6 (not to a precompile) is an EIP-7702 transaction instead
            // (docs/evm-steps.md section 1.2), to the same recipient: its frame starts with the
            // same gas (each authorization adds 25,000 to both the limit and the intrinsic gas).
            let raw = if !is_precompile_address(to) && rng_7702.below(6) == 0 {
                let authorizations =
                    random_authorizations(&mut rng_7702, seed, chunk, i, &mut nonces);
                sign(
                    &dev(sender),
                    TxEip7702 {
                        chain_id: tx.chain_id,
                        nonce: tx.nonce,
                        gas_limit: tx.gas_limit + 25_000 * authorizations.len() as u64,
                        max_fee_per_gas: tx.max_fee_per_gas,
                        max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
                        to,
                        value: tx.value,
                        access_list: tx.access_list,
                        authorization_list: authorizations,
                        input: tx.input,
                    },
                )
            } else {
                sign(&dev(sender), tx)
            };
            let pre = reference.state.clone();
            let (items, roots) = reference.run(vec![vec![raw]]);
            let trace = checked_trace(pre, items, &roots);
            for step in trace.steps() {
                let step = step.expect("step");
                if step.kind != StepKind::Evm {
                    continue;
                }
                if step.proof.is_empty() {
                    assert_eq!(step.post.phase(), Some(Phase::TxExecuted));
                    tally.rest_of_transaction += 1;
                    continue;
                }
                let op = match decode_instruction(&step.proof) {
                    None => {
                        tally.entries += 1;
                        None
                    }
                    Some((evm, code, ..)) => {
                        let op = code.get(instruction_pc(evm.pc)).copied().unwrap_or(0);
                        if call_inputs(op).is_some() {
                            // A call's arguments' steps are kind 2 (docs/evm-steps.md section
                            // 9, "Long arguments"); the call step after them is kind 4.
                            tally.call_arg_steps += usize::from(step.proof[31] == 2);
                        } else if instruction_pc(evm.pc) != evm.pc as usize {
                            tally.chunk_continuations += 1;
                            if op == 0x20 {
                                tally.hash_continuations += 1;
                            }
                        }
                        Some(op)
                    }
                };
                tally.checked += 1;
                if let Some(op) = op {
                    *tally.opcodes.entry(op).or_default() += 1;
                }
                let expected = step.post.hash();
                let kind = step.proof[31];
                match kind {
                    11 => tally.delegated_entries += 1,
                    12 => tally.authorizations += 1,
                    13 => tally.authorized_entries += 1,
                    14 => tally.long_output_steps += 1,
                    4 if follows_delegation(&step.proof) => tally.delegated_calls += 1,
                    _ => {}
                }
                if kind != 0 && tally.samples.iter().filter(|s| s.0 == kind).count() < 4 {
                    tally
                        .samples
                        .push((kind, step.pre.clone(), step.proof.clone(), expected));
                }
                match verifier.step(&step.pre, &step.proof) {
                    Ok(got) if got == expected => {}
                    outcome => {
                        let what = match outcome {
                            Ok(got) => format!("post-state {got}, expected {expected}"),
                            Err(data) => format!("reverted {}", hex::encode_prefixed(data)),
                        };
                        tally.mismatches.push(format!(
                            "seed {seed} program {} step {} opcode {op:02x?}: {what}; code {}",
                            chunk * per_genesis + i,
                            step.index,
                            hex::encode_prefixed(code),
                        ));
                    }
                }
                // One step in four again with one byte of its witness changed: the verifier
                // must refuse it or prove the same post-state, never another one.
                if rng_tamper.below(4) == 0 {
                    let mut forged = step.proof.to_vec();
                    let at = rng_tamper.below(forged.len() as u64) as usize;
                    forged[at] ^= 1 + rng_tamper.below(255) as u8;
                    tally.tampered += 1;
                    if let Ok(got) = verifier.step(&step.pre, &forged.into())
                        && got != expected
                    {
                        tally.forgeries.push(format!(
                            "seed {seed} program {} step {} opcode {op:02x?}: byte {at} changed \
                             proves {got}, expected {expected}",
                            chunk * per_genesis + i,
                            step.index,
                        ));
                    }
                }
            }
        }
    }
}

/// Whether `address` is a precompile of Prague (0x01..0x11).
fn is_precompile_address(address: Address) -> bool {
    let id = U256::from_be_slice(address.as_slice());
    id >= U256::from(1) && id <= U256::from(0x11)
}

/// One to three random EIP-7702 authorizations (docs/evm-steps.md section 1.2): of new accounts
/// (keys from the seed), of a dev key (the sender's own among them: its nonce then moves by
/// two, which `nonces` follows when the authorization is valid), to a program, a delegated
/// account, an absent account, a precompile or nobody (clearing); mostly valid, sometimes for
/// chain 0 or another chain, with a wrong nonce, a high s or a y-parity of 2.
fn random_authorizations(
    rng: &mut Rng,
    seed: u64,
    chunk: usize,
    i: usize,
    nonces: &mut [u64; 8],
) -> Vec<SignedAuthorization> {
    let chain_id = chain().chain_id;
    let n: U256 = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .expect("secp256k1's order");
    (0..1 + rng.below(3))
        .map(|k| {
            let dev_key = rng.below(3) == 0;
            let (key, nonce) = if dev_key {
                let j = rng.below(8) as usize;
                // The transaction's start moved its own sender's nonce already.
                (dev(j), nonces[j])
            } else {
                let label = (seed, chunk as u64, i as u64, k).abi_encode();
                (
                    PrivateKeySigner::from_bytes(&keccak256(label)).expect("key"),
                    0,
                )
            };
            let delegate = match rng.below(8) {
                0 => Address::ZERO,
                1 => Address::repeat_byte(0xde),
                2 => Address::with_last_byte(4),
                3 => delegated_address(rng.below(16) as usize),
                _ => program_address(rng.below(16) as usize),
            };
            let (auth_chain, wrong_nonce) = match rng.below(10) {
                0 => (0, false),
                1 => (chain_id + 1, false),
                2 => (chain_id, true),
                _ => (chain_id, false),
            };
            let signed = authorize(&key, auth_chain, delegate, nonce + u64::from(wrong_nonce));
            let mangled = match rng.below(16) {
                0 => Some(SignedAuthorization::new_unchecked(
                    signed.inner().clone(),
                    1 - signed.y_parity(),
                    signed.r(),
                    n - signed.s(),
                )),
                1 => Some(SignedAuthorization::new_unchecked(
                    signed.inner().clone(),
                    2,
                    signed.r(),
                    signed.s(),
                )),
                _ => None,
            };
            if dev_key && auth_chain != chain_id + 1 && !wrong_nonce && mangled.is_none() {
                nonces[key_index(&key)] += 1;
            }
            mangled.unwrap_or(signed)
        })
        .collect()
}

/// The dev key index of `key`.
fn key_index(key: &PrivateKeySigner) -> usize {
    (0..10)
        .find(|&j| dev(j).address() == key.address())
        .expect("a dev key")
}

/// Whether a kind-4 proof is a call that reached its callee's delegate (it carries the
/// delegate's account proof).
fn follows_delegation(proof: &[u8]) -> bool {
    let (_, body) = <(U256, Bytes)>::abi_decode_params(proof).expect("IN_TX proof");
    let (_, _, _, _, call, _) =
        <(EvmState, Bytes, Vec<U256>, B256, CallWitness, BlockItem)>::abi_decode_params(&body)
            .expect("call witness");
    !call.delegateProof.is_empty()
}

#[test]
fn evm_steps_agree_with_the_solidity_verifiers_on_random_programs() {
    let count: usize = std::env::var("FUZZ_STEPS_PROGRAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let seed: u64 = std::env::var("FUZZ_STEPS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2026);
    let started = Instant::now();
    let mut verifier = Verifier::deploy(chain().chain_id);
    let mut tally = Tally::default();
    fuzz(seed, count, &mut verifier, &mut tally);
    let covered: BTreeSet<u8> = tally
        .opcodes
        .keys()
        .copied()
        .filter(|op| defined(*op))
        .collect();
    let unproven: Vec<String> = (0..=255u8)
        .filter(|op| defined(*op) && !covered.contains(op))
        .map(|op| format!("{op:#04x}"))
        .collect();
    println!(
        "programs {count} (seed {seed}) in {:.1?}: {} steps checked on the verifier ({} entries, {} \
         instructions, {} of them later chunks of a chunked copy or hash ({} of a hash), {} steps \
         of calls' long arguments; {} steps of long outputs; {} entries and {} calls through \
         an EIP-7702 delegation; {} authorizations and {} entries of EIP-7702 transactions), {} \
         rest-of-transaction steps; {} of {OPCODES_TOTAL} defined opcodes covered; not covered: {}",
        started.elapsed(),
        tally.checked,
        tally.entries,
        tally.checked - tally.entries,
        tally.chunk_continuations,
        tally.hash_continuations,
        tally.call_arg_steps,
        tally.long_output_steps,
        tally.delegated_entries,
        tally.delegated_calls,
        tally.authorizations,
        tally.authorized_entries,
        tally.rest_of_transaction,
        covered.len(),
        unproven.join(" ")
    );
    println!(
        "tampered witnesses: {} (one byte changed), {} proved another post-state",
        tally.tampered,
        tally.forgeries.len()
    );
    for m in tally.mismatches.iter().chain(&tally.forgeries).take(5) {
        println!("mismatch: {m}");
    }
    println!(
        "{{\"steps_checked\":{},\"opcodes_covered\":{},\"opcodes_total\":{OPCODES_TOTAL},\"mismatches\":{},\"tampered_witnesses\":{},\"forgeries\":{}}}",
        tally.checked,
        covered.len(),
        tally.mismatches.len(),
        tally.tampered,
        tally.forgeries.len()
    );
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert!(tally.forgeries.is_empty(), "{:#?}", tally.forgeries);
    if count >= 256 {
        assert!(tally.checked >= 2_000, "{} steps", tally.checked);
        assert!(
            tally.chunk_continuations >= 10
                && tally.hash_continuations >= 10
                && tally.call_arg_steps >= 10
                && tally.long_output_steps >= 10,
            "{} chunk steps, {} of a hash, {} of calls' arguments, {} of long outputs",
            tally.chunk_continuations,
            tally.hash_continuations,
            tally.call_arg_steps,
            tally.long_output_steps
        );
        assert!(
            tally.delegated_entries >= 10 && tally.delegated_calls >= 10,
            "{} delegated entries, {} delegated calls",
            tally.delegated_entries,
            tally.delegated_calls
        );
        assert!(
            tally.authorizations >= 40 && tally.authorized_entries >= 20,
            "{} authorizations, {} EIP-7702 entries",
            tally.authorizations,
            tally.authorized_entries
        );
        // Every defined opcode of stages 1 and 2 ran on the verifier.
        let expected = (0..=255u8)
            .filter(|op| defined(*op) && rollup_core::fault::evm::instruction_inputs(*op).is_some())
            .count();
        assert_eq!(covered.len(), expected, "not covered: {unproven:?}");
    }
}

sol! {
    /// `sequencer/tests/clients/TestToken.sol`, a plain solc-compiled ERC-20.
    interface ITestToken {
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
    }

    /// `sequencer/tests/clients/TestPair.sol`, a constant-product AMM pair of two ERC-20s.
    interface ITestFactory {
        function deploy(bytes32 salt, string name, string symbol, uint256 supply) external returns (address);
    }

    interface ITestPair {
        function addLiquidity(uint256 amount0, uint256 amount1) external returns (uint256);
        function swap(address tokenIn, uint256 amountIn, uint256 minOut) external returns (uint256);
    }
}

/// solc's artifacts of the real contracts (`sequencer/tests/clients/compile.mjs`).
const ERC20_ARTIFACT: &str = include_str!("../../../sequencer/tests/clients/erc20.json");
const AMM_ARTIFACT: &str = include_str!("../../../sequencer/tests/clients/amm.json");
const PROXY_ARTIFACT: &str = include_str!("../../../sequencer/tests/clients/proxy.json");
const FACTORY_ARTIFACT: &str = include_str!("../../../sequencer/tests/clients/factory.json");

/// The creation code of an artifact.
fn creation_code(artifact: &str) -> Vec<u8> {
    let artifact: serde_json::Value = serde_json::from_str(artifact).expect("an artifact");
    hex::decode(artifact["bytecode"].as_str().expect("bytecode")).expect("hex")
}

/// The runtime code of an artifact.
fn deployed_code(artifact: &str) -> Bytes {
    let artifact: serde_json::Value = serde_json::from_str(artifact).expect("artifact JSON");
    artifact["deployedBytecode"]
        .as_str()
        .expect("deployedBytecode")
        .parse()
        .expect("hex")
}

/// A genesis account with `code` and `storage`.
fn contract_account(code: Bytes, storage: BTreeMap<B256, B256>) -> GenesisAccount {
    GenesisAccount {
        code: Some(code),
        storage,
        ..Default::default()
    }
}

/// `TestToken`'s slot of `owner`'s balance (layout: totalSupply at 2, balanceOf at 3,
/// allowance at 4).
fn balance_slot(owner: Address) -> B256 {
    keccak256((owner, U256::from(3)).abi_encode())
}

/// The storage of a `TestToken` whose holders have `balances` (and whose total supply is their
/// sum): at the token's address, or at a proxy's that runs the token's code.
fn token_storage(balances: &[(Address, u64)]) -> BTreeMap<B256, B256> {
    let total: u64 = balances.iter().map(|(_, balance)| balance).sum();
    let mut storage = BTreeMap::from([(B256::with_last_byte(2), B256::from(U256::from(total)))]);
    for (owner, balance) in balances {
        storage.insert(balance_slot(*owner), B256::from(U256::from(*balance)));
    }
    storage
}

/// A `TestProxy` (EIP-1967) whose implementation slot names `implementation`, holding a token's
/// storage with `balances` (the token's code runs on it through the proxy's DELEGATECALL).
fn token_proxy(implementation: Address, balances: &[(Address, u64)]) -> GenesisAccount {
    let mut storage = token_storage(balances);
    // EIP-1967's implementation slot.
    storage.insert(
        b256!("0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"),
        B256::left_padding_from(implementation.as_slice()),
    );
    contract_account(deployed_code(PROXY_ARTIFACT), storage)
}

/// A transaction of the tests of real contracts: the sender (a dev key's index), the contract
/// called, the call data, and whether the call succeeds.
type ContractCall = (usize, Address, Vec<u8>, bool);

/// What [`prove_calls`] checked.
#[derive(Debug, Default)]
struct Proven {
    /// `IN_TX` steps, every one checked on the verifiers.
    steps: usize,
    /// Instruction steps of frames at depth ≥ 1.
    deep: usize,
    /// The deepest frame.
    max_depth: u16,
    /// Return steps (kind 6), by the ended frame's outcome (1 success, 2 revert, 3 exceptional
    /// halt).
    returns: BTreeMap<u8, usize>,
    /// The instructions that ran, at any depth.
    opcodes: BTreeSet<u8>,
    /// The L1 gas of the costliest step (the transaction calling `OneStepVerifier.step`).
    max_gas: u64,
    /// The L1 gas of the costliest return step.
    max_return_gas: u64,
    /// The L1 gas of the costliest step of each witness kind.
    max_gas_by_kind: BTreeMap<u8, u64>,
    /// Steps of each witness kind.
    steps_by_kind: BTreeMap<u8, usize>,
    /// Steps that put a call's long arguments in a tree (kind 2 at a call), and the L1 gas of
    /// the costliest.
    call_arg_steps: usize,
    max_call_arg_gas: u64,
    /// Steps of long outputs (kind 14), and the L1 gas of the costliest.
    long_output_steps: usize,
    max_long_output_gas: u64,
}

impl Proven {
    fn returns(&self) -> usize {
        self.returns.values().sum()
    }
}

/// Runs `calls` in one block on `genesis` through the step machine and checks that each
/// transaction is recorded without a rest-of-transaction step (every `IN_TX` step has a
/// proof), succeeds or reverts as expected, and that every one of its steps, at every depth,
/// gives the machine's post-state on the Solidity verifiers. Returns the reference after the
/// block (for the contracts' storage) and the figures.
fn prove_calls(genesis: &Genesis, calls: &[ContractCall]) -> (Reference, Proven) {
    let txs: Vec<ContractTx> = calls
        .iter()
        .map(|(from, to, data, ok)| (*from, call(*to), data.clone(), 0, *ok))
        .collect();
    prove_txs(genesis, &txs)
}

/// A transaction of [`prove_txs`]: `(dev key, call or creation, data, value, succeeds)`.
type ContractTx = (usize, TxKind, Vec<u8>, u128, bool);

/// [`prove_calls`] for any transactions, creations included.
fn prove_txs(genesis: &Genesis, calls: &[ContractTx]) -> (Reference, Proven) {
    let mut nonces = [0u64; 10];
    let raws: Vec<Bytes> = calls
        .iter()
        .map(|(from, to, data, value, _)| {
            let nonce = nonces[*from];
            nonces[*from] += 1;
            sign(
                &dev(*from),
                eip1559(nonce, *to, *value, 2_000_000, data.clone().into()),
            )
        })
        .collect();
    let expected: Vec<bool> = calls.iter().map(|c| c.4).collect();
    prove_raw(genesis, raws, &expected)
}

/// [`prove_txs`] for signed transactions of any type, each expected to succeed or fail as
/// `expected` says.
fn prove_raw(genesis: &Genesis, raws: Vec<Bytes>, expected: &[bool]) -> (Reference, Proven) {
    let mut reference = Reference::new(genesis);
    let pre = reference.state.clone();
    let (items, roots) = reference.run(vec![raws]);
    let trace = checked_trace(pre, items, &roots);
    let mut verifier = Verifier::deploy(chain().chain_id);
    let (mut proven, mut outcomes) = (Proven::default(), Vec::new());
    for step in trace.steps() {
        let step = step.expect("step");
        if step.kind != StepKind::Evm {
            continue;
        }
        assert!(
            !step.proof.is_empty(),
            "step {}: a call of these contracts has no rest-of-transaction step",
            step.index
        );
        let kind = step.proof[31];
        let what = if kind == 6 {
            let (_, body) = <(U256, Bytes)>::abi_decode_params(&step.proof).expect("IN_TX");
            let (end, ..) = <(
                FrameEnd,
                CallerFrame,
                EvmState,
                WordRange,
                WordRange,
                Vec<Bytes>,
            )>::abi_decode_params(&body)
            .expect("return witness");
            *proven.returns.entry(end.outcome).or_default() += 1;
            format!(
                "return step (kind 6) of a frame ending with outcome {}",
                end.outcome
            )
        } else if let Some((evm, code, ..)) = decode_instruction(&step.proof) {
            let op = code.get(evm.pc as usize).copied().unwrap_or(0);
            proven.opcodes.insert(op);
            if evm.depth >= 1 {
                proven.deep += 1;
            }
            proven.max_depth = proven.max_depth.max(evm.depth);
            format!(
                "opcode {op:#04x} at depth {} pc {} (kind {kind})",
                evm.depth, evm.pc
            )
        } else {
            format!("entry (kind {kind})")
        };
        let (outcome, gas) = verifier.step_with_gas(&step.pre, &step.proof);
        let outcome = outcome.map_err(hex::encode_prefixed);
        assert_eq!(outcome, Ok(step.post.hash()), "step {}: {what}", step.index);
        if kind == 14 {
            proven.long_output_steps += 1;
            proven.max_long_output_gas = proven.max_long_output_gas.max(gas);
        }
        if kind == 2
            && let Some((evm, code, ..)) = decode_instruction(&step.proof)
            && matches!(
                code.get(instruction_pc(evm.pc)),
                Some(0xf1 | 0xf2 | 0xf4 | 0xfa)
            )
        {
            proven.call_arg_steps += 1;
            proven.max_call_arg_gas = proven.max_call_arg_gas.max(gas);
        }
        proven.steps += 1;
        proven.max_gas = proven.max_gas.max(gas);
        let by_kind = proven.max_gas_by_kind.entry(kind).or_default();
        *by_kind = (*by_kind).max(gas);
        *proven.steps_by_kind.entry(kind).or_default() += 1;
        if kind == 6 {
            proven.max_return_gas = proven.max_return_gas.max(gas);
        }
        if step.post.phase() == Some(Phase::TxExecuted) {
            outcomes.push(step.post.success);
        }
    }
    assert_eq!(
        outcomes, expected,
        "each call succeeds or reverts as expected"
    );
    (reference, proven)
}

/// The value of `slot` of `account` in the reference's state.
fn storage_at(reference: &Reference, account: Address, slot: B256) -> U256 {
    reference
        .state
        .storage_of(&account)
        .and_then(|storage| storage.get(&U256::from_be_bytes(slot.0)).copied())
        .unwrap_or_default()
}

/// A solc-compiled ERC-20 (`TestToken`, with events) is proven instruction by instruction:
/// transfers to new and existing holders, of a whole balance (a cleared slot and its refund),
/// to oneself, approvals and `transferFrom` through the nested allowance mapping, and the
/// reverts of an empty balance, a missing allowance and the zero address. Every transaction is
/// recorded without a rest-of-transaction step, and every one of its steps is checked on the
/// Solidity verifiers.
#[test]
fn erc20_transfers_are_proven_instruction_by_instruction() {
    let token = Address::repeat_byte(0x7e);
    let holder = |i: usize| dev(i).address();
    let mut genesis = genesis();
    let balances: Vec<(Address, u64)> =
        (0..4).map(|i| (holder(i), 1000 * (i as u64 + 1))).collect();
    genesis.alloc.insert(
        token,
        contract_account(deployed_code(ERC20_ARTIFACT), token_storage(&balances)),
    );
    let calls = erc20_calls(token);
    let (_, proven) = prove_calls(&genesis, &calls);
    for op in [0x54, 0x55, 0xa3, 0xfd, 0xf3] {
        assert!(proven.opcodes.contains(&op), "{op:#x} ran");
    }
    println!(
        "ERC-20: {} calls, {} steps checked on the verifiers, {} distinct opcodes",
        calls.len(),
        proven.steps,
        proven.opcodes.len()
    );
}

/// The ERC-20 test's transactions to `token` (holders are dev keys 0 to 3, with 1000 to 4000;
/// dev key 4 holds nothing): transfers to a new holder and to known ones, of a whole balance,
/// to oneself, an approval and `transferFrom` within it, and the reverts of an empty balance, a
/// missing allowance and the zero address.
fn erc20_calls(token: Address) -> Vec<ContractCall> {
    let holder = |i: usize| dev(i).address();
    let fresh = Address::repeat_byte(0x5a);
    let transfer = |to: Address, value: u64| {
        ITestToken::transferCall {
            to,
            value: U256::from(value),
        }
        .abi_encode()
    };
    vec![
        (0, token, transfer(fresh, 10), true),
        (1, token, transfer(holder(2), 7), true),
        (3, token, transfer(holder(0), 4000), true),
        (2, token, transfer(holder(2), 1), true),
        (4, token, transfer(fresh, 1), false),
        (
            0,
            token,
            ITestToken::approveCall {
                spender: holder(1),
                value: U256::from(50),
            }
            .abi_encode(),
            true,
        ),
        (
            1,
            token,
            ITestToken::transferFromCall {
                from: holder(0),
                to: holder(5),
                value: U256::from(20),
            }
            .abi_encode(),
            true,
        ),
        (
            1,
            token,
            ITestToken::transferFromCall {
                from: holder(2),
                to: holder(5),
                value: U256::from(1),
            }
            .abi_encode(),
            false,
        ),
        (0, token, transfer(Address::ZERO, 1), false),
    ]
}

/// `TestPair.getAmountOut`: x * y = k after a 0.3% fee on the input.
fn amount_out(amount_in: u64, reserve_in: u64, reserve_out: u64) -> u64 {
    let with_fee = u128::from(amount_in) * 997;
    (with_fee * u128::from(reserve_out) / (u128::from(reserve_in) * 1000 + with_fee)) as u64
}

/// A solc-compiled constant-product AMM pair (`TestPair`) over two `TestToken`s, all in the
/// genesis, is proven instruction by instruction across its frames: approvals, a first and a
/// proportional deposit (`transferFrom` CALLs into both tokens, `balanceOf` STATICCALLs), swaps
/// both ways (`transferFrom` in, `transfer` out), a swap that reverts on its minimum output
/// before any call, and a swap without an allowance whose `transferFrom` reverts in the token
/// (a frame that ends in REVERT, its reason bubbled up by the pair). Every step of every
/// transaction has a proof and is checked on the Solidity verifiers, the call steps that enter
/// the tokens' frames, the tokens' instructions at depth 1 and the return steps (kind 6) back
/// to the pair among them; the reserves end where x * y = k puts them.
#[test]
fn amm_swaps_are_proven_instruction_by_instruction() {
    let (token0, token1, pair) = (
        Address::repeat_byte(0x7a),
        Address::repeat_byte(0x7b),
        Address::repeat_byte(0xa3),
    );
    let holder = |i: usize| dev(i).address();
    let balances: Vec<(Address, u64)> = (0..4).map(|i| (holder(i), 1_000_000)).collect();
    let mut genesis = genesis();
    for token in [token0, token1] {
        genesis.alloc.insert(
            token,
            contract_account(deployed_code(ERC20_ARTIFACT), token_storage(&balances)),
        );
    }
    // TestPair's layout: token0 at slot 0, token1 at 1 (reserves at 2 and 3).
    let pair_storage = BTreeMap::from([
        (
            B256::with_last_byte(0),
            B256::left_padding_from(token0.as_slice()),
        ),
        (
            B256::with_last_byte(1),
            B256::left_padding_from(token1.as_slice()),
        ),
    ]);
    genesis.alloc.insert(
        pair,
        contract_account(deployed_code(AMM_ARTIFACT), pair_storage),
    );
    let approve = |value: U256| {
        ITestToken::approveCall {
            spender: pair,
            value,
        }
        .abi_encode()
    };
    let add = |amount0: u64, amount1: u64| {
        ITestPair::addLiquidityCall {
            amount0: U256::from(amount0),
            amount1: U256::from(amount1),
        }
        .abi_encode()
    };
    let swap = |token_in: Address, amount_in: u64, min_out: u64| {
        ITestPair::swapCall {
            tokenIn: token_in,
            amountIn: U256::from(amount_in),
            minOut: U256::from(min_out),
        }
        .abi_encode()
    };
    let (mut r0, mut r1) = (100_000 + 10_000, 400_000 + 40_000);
    let out_a = amount_out(1_000, r0, r1);
    (r0, r1) = (r0 + 1_000, r1 - out_a);
    let out_b = amount_out(5_000, r1, r0);
    (r0, r1) = (r0 - out_b, r1 + 5_000);
    let too_much = amount_out(1_000, r0, r1) + 1;
    let calls: Vec<ContractCall> = vec![
        // An unlimited allowance (transferFrom leaves it) and a limited one (decremented).
        (0, token0, approve(U256::MAX), true),
        (0, token1, approve(U256::from(1_000_000)), true),
        // The first deposit (sqrt(amount0 * amount1) shares), then a proportional one.
        (0, pair, add(100_000, 400_000), true),
        (1, token0, approve(U256::from(1_000_000)), true),
        (1, token1, approve(U256::from(1_000_000)), true),
        (1, pair, add(10_000, 40_000), true),
        // Swaps both ways.
        (2, token0, approve(U256::from(1_000_000)), true),
        (2, token1, approve(U256::from(1_000_000)), true),
        (2, pair, swap(token0, 1_000, out_a), true),
        (2, pair, swap(token1, 5_000, 1), true),
        // Below the minimum output: reverts in the pair, before any call.
        (2, pair, swap(token0, 1_000, too_much), false),
        // No allowance: the token's transferFrom reverts at depth 1, the pair bubbles it up.
        (3, pair, swap(token0, 1_000, 0), false),
        // An unknown token.
        (2, pair, swap(pair, 1_000, 0), false),
    ];
    let (reference, proven) = prove_calls(&genesis, &calls);
    assert_eq!(
        (
            storage_at(&reference, pair, B256::with_last_byte(2)),
            storage_at(&reference, pair, B256::with_last_byte(3))
        ),
        (U256::from(r0), U256::from(r1)),
        "the reserves after the swaps"
    );
    assert_eq!(
        storage_at(&reference, token1, balance_slot(holder(2))),
        U256::from(1_000_000 + out_a - 5_000),
        "the trader got its output"
    );
    assert!(proven.deep > 0, "instruction steps at depth 1");
    assert_eq!(proven.max_depth, 1, "the tokens' frames are at depth 1");
    assert!(
        proven.returns.get(&1).copied().unwrap_or(0) > 0,
        "return steps of frames that succeeded: {:?}",
        proven.returns
    );
    assert!(
        proven.returns.get(&2).copied().unwrap_or(0) > 0,
        "a return step of a frame that reverted: {:?}",
        proven.returns
    );
    for op in [0xf1, 0xfa, 0x3d, 0x3e, 0x55, 0xa1, 0xa2, 0xa3, 0xfd, 0xf3] {
        assert!(proven.opcodes.contains(&op), "{op:#x} ran");
    }
    println!(
        "AMM: {} calls, {} steps checked on the verifiers ({} at depth >= 1, {} return steps {:?}), \
         {} distinct opcodes, L1 gas of the costliest step {} (return step {})",
        calls.len(),
        proven.steps,
        proven.deep,
        proven.returns(),
        proven.returns,
        proven.opcodes.len(),
        proven.max_gas,
        proven.max_return_gas
    );
}

/// `TestToken` behind a minimal EIP-1967 proxy (`TestProxy`, which DELEGATECALLs the
/// implementation named in its slot and returns or reverts with its output) is proven
/// instruction by instruction: the ERC-20 test's transactions sent to the proxy, so that the
/// token's code runs at depth 1 on the proxy's storage (its balances and allowances), its
/// successes return through the proxy and its reverts (an empty balance, a missing allowance,
/// the zero address) are bubbled up by it. Every step has a proof and is checked on the
/// Solidity verifiers, the DELEGATECALLs and the return steps (kind 6) among them.
#[test]
fn proxy_calls_are_proven_instruction_by_instruction() {
    let (implementation, proxy) = (Address::repeat_byte(0x7e), Address::repeat_byte(0x9e));
    let holder = |i: usize| dev(i).address();
    let balances: Vec<(Address, u64)> =
        (0..4).map(|i| (holder(i), 1000 * (i as u64 + 1))).collect();
    let mut genesis = genesis();
    genesis.alloc.insert(
        implementation,
        contract_account(deployed_code(ERC20_ARTIFACT), BTreeMap::new()),
    );
    genesis
        .alloc
        .insert(proxy, token_proxy(implementation, &balances));
    let calls = erc20_calls(proxy);
    let (reference, proven) = prove_calls(&genesis, &calls);
    // The token's state is the proxy's: the implementation's storage stays empty.
    assert_eq!(
        storage_at(&reference, proxy, balance_slot(Address::repeat_byte(0x5a))),
        U256::from(10),
        "the new holder's balance is in the proxy's storage"
    );
    assert!(
        reference
            .state
            .storage_of(&implementation)
            .is_none_or(|storage| storage.is_empty()),
        "the implementation's storage stays empty"
    );
    assert!(proven.deep > 0, "instruction steps at depth 1");
    assert_eq!(proven.max_depth, 1, "the token's frames are at depth 1");
    let (succeeded, reverted) = (
        proven.returns.get(&1).copied().unwrap_or(0),
        proven.returns.get(&2).copied().unwrap_or(0),
    );
    assert_eq!(
        (succeeded, reverted),
        (
            calls.iter().filter(|c| c.3).count(),
            calls.iter().filter(|c| !c.3).count()
        ),
        "one return step per call, of its outcome"
    );
    for op in [0xf4, 0x3d, 0x3e, 0x37, 0x54, 0x55, 0xa3, 0xfd, 0xf3] {
        assert!(proven.opcodes.contains(&op), "{op:#x} ran");
    }
    println!(
        "proxy: {} calls, {} steps checked on the verifiers ({} at depth >= 1, {} return steps {:?}), \
         L1 gas of the costliest step {} (return step {})",
        calls.len(),
        proven.steps,
        proven.deep,
        proven.returns(),
        proven.returns,
        proven.max_gas,
        proven.max_return_gas
    );
}

/// The 23-byte EIP-7702 designator of `delegate` (`0xef0100 ‖ delegate`).
fn designator(delegate: Address) -> Bytes {
    [&[0xef, 0x01, 0x00][..], delegate.as_slice()]
        .concat()
        .into()
}

/// EIP-7702 delegations are followed, instruction by instruction (docs/evm-steps.md sections
/// 1.1 and 9): the ERC-20 test's transactions sent to an account delegated to `TestToken`
/// (entered by kind 11, the token's code running on the account's storage at depth 0); the same
/// through an EIP-1967 proxy whose implementation is that delegated account (its DELEGATECALL,
/// kind 4, follows the delegation); and a transaction with a value to an account delegated to
/// an account without code (kind 11 ends the transaction: no code runs). Every step has a proof
/// and is checked on the Solidity verifiers.
#[test]
fn delegated_accounts_are_proven_instruction_by_instruction() {
    let implementation = Address::repeat_byte(0x7e);
    let (wallet, proxy, idle) = (
        Address::repeat_byte(0x77),
        Address::repeat_byte(0x9e),
        Address::repeat_byte(0x1d),
    );
    let holder = |i: usize| dev(i).address();
    let balances: Vec<(Address, u64)> =
        (0..4).map(|i| (holder(i), 1000 * (i as u64 + 1))).collect();
    let delegated = |delegate: Address, storage: BTreeMap<B256, B256>| GenesisAccount {
        code: Some(designator(delegate)),
        nonce: 1,
        storage,
        ..Default::default()
    };
    let mut genesis = genesis();
    genesis.alloc.insert(
        implementation,
        contract_account(deployed_code(ERC20_ARTIFACT), BTreeMap::new()),
    );
    genesis
        .alloc
        .insert(wallet, delegated(implementation, token_storage(&balances)));
    genesis
        .alloc
        .insert(idle, delegated(Address::repeat_byte(0xab), BTreeMap::new()));
    genesis.alloc.insert(proxy, token_proxy(wallet, &balances));

    // The token's code on the delegated account's storage.
    let calls = erc20_calls(wallet);
    let (reference, proven) = prove_calls(&genesis, &calls);
    assert_eq!(
        storage_at(&reference, wallet, balance_slot(Address::repeat_byte(0x5a))),
        U256::from(10),
        "the new holder's balance is in the delegated account's storage"
    );
    assert_eq!(
        proven.max_depth, 0,
        "the token runs in the transaction's frame"
    );
    println!(
        "delegated account: {} calls, {} steps checked, L1 gas of the costliest step {}, of the \
         costliest entry (kind 11) {}",
        calls.len(),
        proven.steps,
        proven.max_gas,
        proven.max_gas_by_kind[&11]
    );

    // A DELEGATECALL to the delegated account runs the token's code on the proxy's storage.
    let calls = erc20_calls(proxy);
    let (reference, proven) = prove_calls(&genesis, &calls);
    assert_eq!(
        storage_at(&reference, proxy, balance_slot(Address::repeat_byte(0x5a))),
        U256::from(10),
        "the new holder's balance is in the proxy's storage"
    );
    assert!(
        proven.opcodes.contains(&0xf4),
        "the proxy's DELEGATECALL ran"
    );
    assert_eq!(proven.max_depth, 1, "the token's frames are at depth 1");
    println!(
        "proxy to a delegated account: {} calls, {} steps checked ({} at depth 1), L1 gas of the \
         costliest step {}, of the costliest call (kind 4, the DELEGATECALL through the delegation) {}",
        calls.len(),
        proven.steps,
        proven.deep,
        proven.max_gas,
        proven.max_gas_by_kind[&4]
    );

    // A delegate without code: the value moves, no code runs.
    let txs: Vec<ContractTx> = vec![(0, call(idle), vec![1, 2, 3], 5, true)];
    let (reference, proven) = prove_txs(&genesis, &txs);
    assert_eq!(proven.steps, 1, "one entry step ends the transaction");
    println!(
        "a delegate without code: the entry (kind 11) ends the transaction, L1 gas {}",
        proven.max_gas
    );
    assert_eq!(
        reference
            .state
            .accounts()
            .find(|(address, _)| **address == idle)
            .map(|(_, account)| account.balance),
        Some(U256::from(5)),
        "the value moved to the delegated account"
    );
}

/// An EIP-7702 authorization of `key` to `delegate` on chain `chain_id` at `nonce`.
fn authorize(
    key: &PrivateKeySigner,
    chain_id: u64,
    delegate: Address,
    nonce: u64,
) -> SignedAuthorization {
    let auth = Authorization {
        chain_id: U256::from(chain_id),
        address: delegate,
        nonce,
    };
    let signature = key.sign_hash_sync(&auth.signature_hash()).expect("sign");
    auth.into_signed(signature)
}

/// An EIP-7702 transaction from dev key `from` at `nonce`, with `value` wei.
fn eip7702_tx(
    (from, nonce): (usize, u64),
    (to, value): (Address, u64),
    authorizations: Vec<SignedAuthorization>,
    access_list: AccessList,
    input: Vec<u8>,
) -> Bytes {
    sign(
        &dev(from),
        TxEip7702 {
            chain_id: chain().chain_id,
            nonce,
            gas_limit: 2_000_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 500_000_000,
            to,
            value: U256::from(value),
            access_list,
            authorization_list: authorizations,
            input: input.into(),
        },
    )
}

/// EIP-7702 transactions are proven step by step (docs/evm-steps.md section 1.2): one step per
/// authorization (kind 12: the first also warms the access list), then the entry (kind 13) and
/// the frame, whose end goes through the return step. A sender delegating itself to `TestToken`
/// and calling itself (an approval, refunded 12,500 for an existing authority); a sponsor
/// delegating a new account (created, no refund) and calling it with an access list; the sender
/// re-delegating itself and calling a transfer that reverts (the authorizations stay, their refund
/// too); a transaction to an account without code whose authorizations are skipped (another
/// chain, a high s, a y-parity of 2), warm only (a nonce that does not match), clearing, or
/// applied twice to one authority; a plain contract as recipient. Every step has a proof and is
/// checked on the Solidity verifiers; the reference is the executor.
#[test]
fn eip7702_transactions_are_proven_step_by_step() {
    let implementation = Address::repeat_byte(0x7e);
    let mut genesis = genesis();
    genesis.alloc.insert(
        implementation,
        contract_account(deployed_code(ERC20_ARTIFACT), BTreeMap::new()),
    );
    let chain_id = chain().chain_id;
    let (x, y) = (
        PrivateKeySigner::from_bytes(&keccak256("7702 x")).expect("key"),
        PrivateKeySigner::from_bytes(&keccak256("7702 y")).expect("key"),
    );
    let approve = ITestToken::approveCall {
        spender: dev(3).address(),
        value: U256::from(50),
    }
    .abi_encode();
    // Nothing to transfer: reverts.
    let transfer = ITestToken::transferCall {
        to: dev(3).address(),
        value: U256::from(1),
    }
    .abi_encode();
    let listed = AccessList(vec![AccessListItem {
        address: dev(3).address(),
        storage_keys: vec![B256::with_last_byte(4)],
    }]);
    // A valid authorization made invalid: s above n/2 (the same authority on L1's ecrecover),
    // and a y-parity of 2.
    let valid = authorize(&y, chain_id, implementation, 5);
    let n: U256 = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .expect("secp256k1's order");
    let high_s = SignedAuthorization::new_unchecked(
        valid.inner().clone(),
        1 - valid.y_parity(),
        valid.r(),
        n - valid.s(),
    );
    let parity_two =
        SignedAuthorization::new_unchecked(valid.inner().clone(), 2, valid.r(), valid.s());
    let raws = vec![
        // dev 1 delegates itself (its nonce is 1 once the transaction started) and calls itself.
        eip7702_tx(
            (1, 0),
            (dev(1).address(), 0),
            vec![authorize(&dev(1), chain_id, implementation, 1)],
            AccessList::default(),
            approve.clone(),
        ),
        // dev 2 sponsors x (absent: created with nonce 1) and calls it, with an access list.
        eip7702_tx(
            (2, 0),
            (x.address(), 0),
            vec![authorize(&x, 0, implementation, 0)],
            listed.clone(),
            approve.clone(),
        ),
        // dev 1 re-delegates itself and calls a transfer that reverts.
        eip7702_tx(
            (1, 2),
            (dev(1).address(), 0),
            vec![authorize(&dev(1), chain_id, implementation, 3)],
            AccessList::default(),
            transfer,
        ),
        // To an account without code: skipped, warm-only, clearing and repeated authorizations.
        eip7702_tx(
            (2, 1),
            (dev(5).address(), 7),
            vec![
                authorize(&y, chain_id + 1, implementation, 0),
                high_s,
                parity_two,
                authorize(&dev(1), chain_id, implementation, 99),
                authorize(&x, chain_id, Address::ZERO, 1),
                authorize(&y, chain_id, implementation, 0),
                authorize(&y, 0, dev(4).address(), 1),
            ],
            listed,
            Vec::new(),
        ),
        // A plain contract as the recipient.
        eip7702_tx(
            (3, 0),
            (implementation, 0),
            vec![authorize(&dev(4), chain_id, implementation, 0)],
            AccessList::default(),
            approve,
        ),
    ];
    let (reference, proven) = prove_raw(&genesis, raws, &[true, true, false, true, true]);
    assert_eq!(
        proven.steps_by_kind.get(&12),
        Some(&11),
        "one step per authorization"
    );
    assert_eq!(proven.steps_by_kind.get(&13), Some(&5), "one entry each");
    assert!(
        proven.returns() >= 4,
        "the four frames end through the return step"
    );
    let account = |address: Address| {
        reference
            .state
            .accounts()
            .find(|(a, _)| **a == address)
            .map(|(_, account)| *account)
    };
    let x_account = account(x.address()).expect("x was created");
    assert_eq!(
        (x_account.nonce, x_account.code_hash),
        (2, keccak256([])),
        "x delegated, then cleared"
    );
    let y_account = account(y.address()).expect("y was created");
    assert_eq!(
        (y_account.nonce, y_account.code_hash),
        (2, keccak256(designator(dev(4).address()))),
        "y delegated twice"
    );
    println!(
        "EIP-7702 transactions: {} steps checked, {} authorization steps (L1 gas of the costliest \
         {}), {} entries (costliest {}), L1 gas of the costliest step {}",
        proven.steps,
        proven.steps_by_kind[&12],
        proven.max_gas_by_kind[&12],
        proven.steps_by_kind[&13],
        proven.max_gas_by_kind[&13],
        proven.max_gas
    );
}

/// EXTCODECOPY over a chunk (docs/evm-steps.md section 4, "Chunked copies") is proven chunk by
/// chunk: of a 100-byte code from its start (code, then zeros), from past its end, of a cold
/// and a warm account, of an absent one, two and three chunks; every step is checked on the
/// verifiers and the memory is revm's (the contract returns a hash of it). A code longer than
/// a chunk (only a genesis holds one) is the rest of the transaction.
#[test]
fn a_long_extcodecopy_is_proven_chunk_by_chunk() {
    let (copier, source, absent) = (
        Address::repeat_byte(0xc0),
        Address::repeat_byte(0x5c),
        Address::repeat_byte(0xab),
    );
    let mut genesis = genesis();
    let code: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(7) | 1).collect();
    genesis
        .alloc
        .insert(source, contract_account(code.into(), BTreeMap::new()));
    // EXTCODECOPY(address, dst, src, len) from the call data's four words, then the copy's first
    // word stored in slot 0.
    let mut asm = Vec::new();
    // len src dst address, top first at EXTCODECOPY: push len, src, dst, address.
    asm.extend([0x60, 0x60, 0x35]); // CALLDATALOAD(0x60): len
    asm.extend([0x60, 0x40, 0x35]); // CALLDATALOAD(0x40): src
    asm.extend([0x60, 0x20, 0x35]); // CALLDATALOAD(0x20): dst
    asm.extend([0x5f, 0x35]); // CALLDATALOAD(0): address
    asm.push(0x3c); // EXTCODECOPY
    asm.extend([0x60, 0x20, 0x35, 0x51]); // MLOAD(dst)
    asm.extend([0x5f, 0x55, 0x00]); // SSTORE(0, word), STOP
    genesis
        .alloc
        .insert(copier, contract_account(asm.into(), BTreeMap::new()));
    let word = |a: Address| U256::from_be_slice(a.as_slice());
    let args = |who: Address, dst: u64, src: U256, len: u64| -> Vec<u8> {
        (word(who), U256::from(dst), src, U256::from(len)).abi_encode_params()
    };
    let chunk = CHUNK_BYTES as u64;
    let calls: Vec<ContractCall> = vec![
        (0, copier, args(source, 0, U256::ZERO, chunk + 1), true),
        (
            1,
            copier,
            args(source, 5, U256::from(60), 2 * chunk + 7),
            true,
        ),
        (
            2,
            copier,
            args(source, 0, U256::from(1000), chunk + 64),
            true,
        ),
        (3, copier, args(absent, 31, U256::ZERO, chunk + 33), true),
        (0, copier, args(source, 64, U256::MAX, chunk + 1), true),
        // The source again, now warm (the first call's access was another transaction's: cold).
        (1, copier, args(copier, 0, U256::ZERO, 3 * chunk), true),
    ];
    let (reference, proven) = prove_calls(&genesis, &calls);
    // The last copy was of the copier's own code to offset 0: its first word is in slot 0.
    let mut first = [0u8; 32];
    let copier_bytes = genesis.alloc[&copier].code.clone().expect("code");
    let n = copier_bytes.len().min(32);
    first[..n].copy_from_slice(&copier_bytes[..n]);
    assert_eq!(
        storage_at(&reference, copier, B256::ZERO),
        U256::from_be_bytes(first),
        "the copy's first word"
    );
    assert!(
        proven.max_gas_by_kind.contains_key(&7) && proven.max_gas_by_kind.contains_key(&2),
        "first chunks (kind 7) and later chunks (kind 2) ran: {:?}",
        proven.max_gas_by_kind
    );
    // A code longer than a chunk: its later chunks would not be zeros; the rest of the
    // transaction.
    let big = Address::repeat_byte(0xb1);
    let mut genesis = genesis;
    genesis.alloc.insert(
        big,
        contract_account(vec![0x5b; CHUNK_BYTES + 1].into(), BTreeMap::new()),
    );
    let raw = sign(
        &dev(0),
        eip1559(
            0,
            call(copier),
            0,
            2_000_000,
            args(big, 0, U256::ZERO, chunk + 1).into(),
        ),
    );
    let mut long = Reference::new(&genesis);
    let pre = long.state.clone();
    let (items, roots) = long.run(vec![vec![raw]]);
    let trace = checked_trace(pre, items, &roots);
    let rest = trace
        .steps()
        .map(|step| step.expect("step"))
        .filter(|step| step.kind == StepKind::Evm && step.proof.is_empty())
        .count();
    assert_eq!(rest, 1, "one rest-of-transaction step");
    println!(
        "chunked EXTCODECOPY: {} calls, {} steps checked, L1 gas of the costliest first chunk \
         (kind 7) {}, of the costliest later chunk (kind 2) {}",
        calls.len(),
        proven.steps,
        proven.max_gas_by_kind[&7],
        proven.max_gas_by_kind[&2]
    );
}

/// Code that fills memory with the call data (its first 1,000 bytes) doubled six times: 64,000
/// bytes (CALLDATACOPY, then MCOPYs of 1,000 to 32,000 bytes).
fn doubled_call_data() -> Vec<u8> {
    let mut asm = vec![0x36, 0x5f, 0x5f, 0x37]; // CALLDATACOPY(0, 0, CALLDATASIZE)
    for j in 0..6u32 {
        let n = 1000u32 << j;
        for item in [n, 0, n] {
            asm.push(0x62); // PUSH3
            asm.extend_from_slice(&item.to_be_bytes()[1..]);
        }
        asm.push(0x5e); // MCOPY(n, 0, n)
    }
    asm
}

/// Puts a calling contract with `code` and a balance of 1,000,000 wei at the address of `op`'s
/// byte repeated, and returns that address.
fn insert_caller(genesis: &mut Genesis, op: u8, code: Vec<u8>) -> Address {
    let address = Address::repeat_byte(op);
    let account = GenesisAccount {
        balance: U256::from(1_000_000u64),
        ..contract_account(code.into(), BTreeMap::new())
    };
    genesis.alloc.insert(address, account);
    address
}

/// Steps a range of `len` bytes takes when it is over a chunk (a call's arguments, a frame's
/// output: docs/evm-steps.md section 9), else none (it is one step's range).
fn chunk_steps(len: u64) -> usize {
    if len > CHUNK_BYTES as u64 {
        len.div_ceil(CHUNK_BYTES as u64) as usize
    } else {
        0
    }
}

/// KECCAK256 over a chunk (docs/evm-steps.md section 4, "Chunked hashes") is proven chunk by
/// chunk, keccak's sponge carried on the stack between the steps: just over a chunk at an
/// unaligned offset, exactly six hash chunks (the padding then a block of its own), 100,000
/// bytes running past the written memory (grown by the first step), a hash of exactly one chunk
/// (one step); every step is checked on the verifiers, and the hash the contract stores is
/// keccak256 of the bytes. A first step out of gas halts, as a one-step hash does.
#[test]
fn a_long_keccak256_is_proven_chunk_by_chunk() {
    let hasher = Address::repeat_byte(0x4a);
    let mut genesis = genesis();
    // Memory: the call data (1,000 bytes) at 0, doubled six times by MCOPY (64,000 bytes); then
    // KECCAK256(offset = word 1, len = word 0) stored in slot 0.
    let mut asm = doubled_call_data();
    asm.extend([0x5f, 0x35, 0x60, 0x20, 0x35, 0x20]); // KECCAK256(CALLDATALOAD(0x20), CALLDATALOAD(0))
    asm.extend([0x5f, 0x55, 0x00]); // SSTORE(0, hash), STOP
    genesis
        .alloc
        .insert(hasher, contract_account(asm.into(), BTreeMap::new()));
    let data = |len: u64, offset: u64| -> Vec<u8> {
        let mut data = (U256::from(len), U256::from(offset)).abi_encode_params();
        data.extend((0..936u32).map(|i| (i * 151 + i / 7) as u8 | 1));
        data
    };
    let memory = |data: &[u8]| -> Vec<u8> { (0..64_000).map(|i| data[i % 1000]).collect() };
    let hash_of = |len: u64, offset: u64| {
        let mut mem = memory(&data(len, offset));
        mem.resize(mem.len().max((offset + len) as usize), 0);
        keccak256(&mem[offset as usize..(offset + len) as usize])
    };
    let (chunk, h) = (CHUNK_BYTES as u64, HASH_CHUNK_BYTES as u64);
    let hashes = [
        (chunk + 1, 31),
        (6 * h, 0),
        (100_000, 5),
        (chunk, 64),
        (chunk + 33, 1),
    ];
    let mut calls: Vec<ContractCall> = hashes
        .iter()
        .enumerate()
        .map(|(i, &(len, offset))| (i % 3, hasher, data(len, offset), true))
        .collect();
    // Memory expansion to 2^40 bytes: out of gas at the first step.
    calls.push((3, hasher, data(1 << 40, 0), false));
    // Each call in a block of its own (so that slot 0 holds its hash), every step checked once.
    let (mut steps, mut hashed, mut max_gas) = (0, false, 0);
    for (i, call) in calls.iter().enumerate() {
        let (one, proven) = prove_calls(&genesis, std::slice::from_ref(call));
        if let Some(&(len, offset)) = hashes.get(i) {
            assert_eq!(
                storage_at(&one, hasher, B256::ZERO),
                U256::from_be_bytes(hash_of(len, offset).0),
                "the hash of {len} bytes at {offset}"
            );
        }
        steps += proven.steps;
        hashed |= proven.opcodes.contains(&0x20);
        max_gas = max_gas.max(proven.max_gas_by_kind.get(&2).copied().unwrap_or_default());
    }
    // Chunk steps: ⌈len / HASH_CHUNK_BYTES⌉ for each chunked hash, one for the others.
    let chunked: u64 = hashes
        .iter()
        .filter(|(len, _)| *len > chunk)
        .map(|(len, _)| len.div_ceil(h))
        .sum();
    assert!(hashed);
    println!(
        "chunked KECCAK256: {} calls, {steps} steps checked ({chunked} steps of chunked hashes), \
         L1 gas of the costliest stage-2 step (kind 2) {max_gas}",
        calls.len(),
    );
}

/// A call whose arguments are over a chunk (docs/evm-steps.md section 9, "Long arguments") is
/// proven: one step per chunk puts the argument bytes in the callee's call-data tree, then the
/// call step takes the tree from the stack. CALL (with and without a value), DELEGATECALL and
/// STATICCALL, arguments just over a chunk at an unaligned offset, four chunks, 100,000 bytes
/// running past the written memory (zeros), a call to an account without code, a call of exactly
/// one chunk (no such steps), and a call whose memory expansion is out of gas (it halts at its
/// first step). The callee stores its call data's size and hash, which must be those of the bytes.
#[test]
fn a_call_with_long_arguments_is_proven_chunk_by_chunk() {
    let callee = Address::repeat_byte(0x4c);
    let absent = Address::repeat_byte(0x4d);
    let mut genesis = genesis();
    // The callee: slot 0 = CALLDATASIZE, slot 1 = keccak256 of its call data.
    let stores = vec![
        0x36, 0x5f, 0x5f, 0x37, // CALLDATACOPY(0, 0, CALLDATASIZE)
        0x36, 0x5f, 0x20, 0x60, 0x01, 0x55, // SSTORE(1, KECCAK256(0, CALLDATASIZE))
        0x36, 0x5f, 0x55, 0x00, // SSTORE(0, CALLDATASIZE), STOP
    ];
    genesis
        .alloc
        .insert(callee, contract_account(stores.into(), BTreeMap::new()));
    // The callers, one per call opcode: memory is the call data (1,000 bytes) doubled six times
    // (64,000 bytes); then op(GAS, to = word 2, [value = word 3,] offset = word 1, len = word 0,
    // 0, 0), its success stored in slot 2.
    let caller_of = |op: u8| -> Vec<u8> {
        let mut asm = doubled_call_data();
        asm.extend([0x5f, 0x5f, 0x5f, 0x35, 0x60, 0x20, 0x35]); // 0 0 len offset
        if op == 0xf1 {
            asm.extend([0x60, 0x60, 0x35]); // value
        }
        asm.extend([0x60, 0x40, 0x35, 0x5a, op]); // to, GAS, op
        asm.extend([0x60, 0x02, 0x55, 0x00]); // SSTORE(2, success), STOP
        asm
    };
    let callers = [0xf1u8, 0xf4, 0xfa].map(|op| insert_caller(&mut genesis, op, caller_of(op)));
    let data = |len: u64, offset: u64, to: Address, value: u64| -> Vec<u8> {
        let word = U256::from_be_slice(to.as_slice());
        let mut data =
            (U256::from(len), U256::from(offset), word, U256::from(value)).abi_encode_params();
        data.extend((0..872u32).map(|i| (i * 151 + i / 7) as u8 | 1));
        data
    };
    let args_of = |data: &[u8], len: u64, offset: u64| -> Vec<u8> {
        let mut memory: Vec<u8> = (0..64_000).map(|i| data[i % 1000]).collect();
        memory.resize(memory.len().max((offset + len) as usize), 0);
        memory[offset as usize..(offset + len) as usize].to_vec()
    };
    let chunk = CHUNK_BYTES as u64;
    let [calls_, delegates, statics] = callers;
    // (caller, len, offset, to, value, whose storage gets the arguments, the call's success;
    // None: the transaction fails)
    type Case = (
        Address,
        u64,
        u64,
        Address,
        u64,
        Option<Address>,
        Option<u64>,
    );
    let cases: [Case; 8] = [
        (calls_, chunk + 1, 31, callee, 0, Some(callee), Some(1)),
        (calls_, 3 * chunk + 100, 5, callee, 7, Some(callee), Some(1)),
        (calls_, 100_000, 0, callee, 0, Some(callee), Some(1)),
        (calls_, chunk + 5, 64, absent, 3, None, Some(1)),
        (calls_, chunk, 1, callee, 0, Some(callee), Some(1)),
        (delegates, 2 * chunk, 1, callee, 0, Some(delegates), Some(1)),
        // The callee's SSTORE halts in a static frame.
        (statics, chunk + 1, 0, callee, 0, None, Some(0)),
        // A memory expansion to 2^40 bytes: out of gas at the call's first step.
        (calls_, 1 << 40, 0, callee, 0, None, None),
    ];
    let (mut steps, mut arg_steps, mut max_gas) = (0, 0, 0);
    let mut calls_proven = 0;
    for (i, &(from, len, offset, to, value, holder, success)) in cases.iter().enumerate() {
        let call_data = data(len, offset, to, value);
        let (one, proven) = prove_calls(
            &genesis,
            &[(i % 3, from, call_data.clone(), success.is_some())],
        );
        if let Some(success) = success {
            let stored = storage_at(&one, from, B256::with_last_byte(2));
            assert_eq!(stored, U256::from(success), "case {i}: the call's success");
        }
        if let Some(holder) = holder {
            let args = args_of(&call_data, len, offset);
            assert_eq!(
                storage_at(&one, holder, B256::ZERO),
                U256::from(len),
                "case {i}"
            );
            assert_eq!(
                storage_at(&one, holder, B256::with_last_byte(1)),
                U256::from_be_bytes(keccak256(&args).0),
                "case {i}: the callee's call data are the argument bytes"
            );
        }
        // One step per chunk of arguments over a chunk, before a call that gets that far.
        let expected = if len < 1 << 40 { chunk_steps(len) } else { 0 };
        assert_eq!(
            proven.call_arg_steps, expected,
            "case {i}: the arguments' steps"
        );
        steps += proven.steps;
        arg_steps += proven.call_arg_steps;
        max_gas = max_gas.max(proven.max_call_arg_gas);
        calls_proven += usize::from(proven.opcodes.iter().any(|op| call_inputs(*op).is_some()));
    }
    assert_eq!(calls_proven, cases.len(), "every case's call was stepped");
    println!(
        "calls with long arguments: {} calls, {steps} steps checked ({arg_steps} steps of \
         arguments), L1 gas of the costliest argument step {max_gas}",
        cases.len(),
    );
}

/// The chain's precompile bounds (`rollup_core::precompiles`, docs/evm-steps.md section 4, "Calls
/// to precompiles") are proven in one step: a call from code to SHA256, IDENTITY or ECRECOVER
/// with an input over 32,736 bytes fails unread (all its forwarded gas used, a value not moved),
/// exactly 32,736 bytes succeeds; MODEXP with a base over 1,024 bytes fails (EIP-7823) and one
/// of 1,024 succeeds; a transaction straight to SHA256 with 32,737 bytes of call data fails in
/// its entry step. Every step is checked on the verifiers: none is the rest of a transaction.
#[test]
fn precompile_inputs_over_the_chain_s_bounds_fail_in_one_proven_step() {
    let bound = rollup_core::precompiles::MAX_PRECOMPILE_INPUT as u64;
    let mut genesis = genesis();
    // The callers: memory is the call data doubled (64,000 bytes); then op(GAS, to = word 2,
    // [value = word 3,] offset = word 1, len = word 0, 64,000, 32), its success in slot 2 and
    // its return data's size in slot 3.
    let caller_of = |op: u8| -> Vec<u8> {
        let mut asm = doubled_call_data();
        asm.extend([
            0x60, 0x20, 0x62, 0x00, 0xfa, 0x00, 0x5f, 0x35, 0x60, 0x20, 0x35,
        ]);
        if op == 0xf1 {
            asm.extend([0x60, 0x60, 0x35]); // value
        }
        asm.extend([0x60, 0x40, 0x35, 0x5a, op]); // to, GAS, op
        asm.extend([0x60, 0x02, 0x55]); // SSTORE(2, success)
        asm.extend([0x3d, 0x60, 0x03, 0x55, 0x00]); // SSTORE(3, RETURNDATASIZE), STOP
        asm
    };
    let [calls_, statics] = [0xf1u8, 0xfa].map(|op| insert_caller(&mut genesis, op, caller_of(op)));
    // MODEXP with a base of word 0's length (zeros), a one-byte exponent and modulus (zero):
    // STATICCALL(GAS, 5, 0, 96 + base + 2, 0x3000, 32), its success in slot 2.
    let modexp = Address::repeat_byte(0x05);
    let modexp_code = vec![
        0x5f, 0x35, 0x5f, 0x52, // MSTORE(0, base length)
        0x60, 0x01, 0x60, 0x20, 0x52, // MSTORE(32, 1)
        0x60, 0x01, 0x60, 0x40, 0x52, // MSTORE(64, 1)
        0x60, 0x20, 0x61, 0x30, 0x00, // 32 0x3000
        0x5f, 0x35, 0x60, 0x62, 0x01, 0x5f, // base + 98, 0
        0x60, 0x05, 0x5a, 0xfa, // 5 GAS STATICCALL
        0x60, 0x02, 0x55, 0x00, // SSTORE(2, success), STOP
    ];
    genesis.alloc.insert(
        modexp,
        contract_account(modexp_code.into(), BTreeMap::new()),
    );
    let data = |len: u64, offset: u64, to: u8, value: u64| -> Vec<u8> {
        let to = U256::from(to);
        let mut data =
            (U256::from(len), U256::from(offset), to, U256::from(value)).abi_encode_params();
        data.extend((0..872u32).map(|i| (i * 151 + i / 7) as u8 | 1));
        data
    };
    // (caller, len, offset, precompile, value, the call's success, its return data's size)
    let cases: [(Address, u64, u64, u8, u64, u64, u64); 6] = [
        (statics, bound + 1, 0, 2, 0, 0, 0),
        (statics, bound, 1, 2, 0, 1, 32),
        (calls_, bound + 1, 3, 4, 5, 0, 0),
        (calls_, bound, 3, 4, 5, 1, bound),
        (calls_, 100_000, 0, 1, 0, 0, 0),
        (statics, bound + 1, 31, 3, 0, 0, 0),
    ];
    let mut steps = 0;
    for (i, &(from, len, offset, to, value, success, size)) in cases.iter().enumerate() {
        let (one, proven) = prove_calls(
            &genesis,
            &[(i % 3, from, data(len, offset, to, value), true)],
        );
        assert_eq!(
            storage_at(&one, from, B256::with_last_byte(2)),
            U256::from(success),
            "case {i}"
        );
        assert_eq!(
            storage_at(&one, from, B256::with_last_byte(3)),
            U256::from(size),
            "case {i}"
        );
        let precompile = Address::with_last_byte(to);
        let moved = one
            .state
            .accounts()
            .find(|(address, _)| **address == precompile)
            .map(|(_, account)| account.balance)
            .unwrap_or_default();
        assert_eq!(
            moved,
            U256::from(value * success),
            "case {i}: a value moves only on success"
        );
        assert_eq!(
            proven.steps_by_kind.get(&5),
            Some(&1),
            "case {i}: one precompile step"
        );
        steps += proven.steps;
    }
    for (base, success) in [(1024u64, 1u64), (1025, 0)] {
        let word = U256::from(base).abi_encode();
        let (one, proven) = prove_calls(&genesis, &[(0, modexp, word, true)]);
        assert_eq!(
            storage_at(&one, modexp, B256::with_last_byte(2)),
            U256::from(success),
            "{base}"
        );
        assert_eq!(proven.steps_by_kind.get(&5), Some(&1));
        steps += proven.steps;
    }
    // A transaction straight to SHA256: 32,736 bytes succeed, one more fails in its entry step.
    for (len, ok) in [(bound, true), (bound + 1, false)] {
        let (_, proven) = prove_calls(
            &genesis,
            &[(1, Address::with_last_byte(2), vec![7u8; len as usize], ok)],
        );
        steps += proven.steps;
    }
    println!("precompile bounds: {steps} steps checked");
}

/// A frame whose output is over a chunk (docs/evm-steps.md section 9, "Long outputs") returns
/// in one step per chunk: each moves a chunk into the caller's return data and, below `retLen`,
/// into its memory. RETURN and REVERT of 32,737 bytes at an unaligned offset, 100,000 bytes
/// running past the callee's written memory, exactly three chunks with 10 bytes asked, a long
/// output nobody asked for (`retLen` 0), exactly one chunk (the one return step), an init frame
/// that reverts with 40,000 bytes (its return data), and a creation transaction that does (its
/// output is not read). The caller stores the return data's size and hash and the hash of its
/// output range, which must be those of the bytes.
#[test]
fn a_long_output_is_returned_chunk_by_chunk() {
    let (returner, reverter) = (Address::repeat_byte(0x5a), Address::repeat_byte(0x5b));
    let (caller, creator) = (Address::repeat_byte(0x5c), Address::repeat_byte(0x5d));
    let mut genesis = genesis();
    // The callees: memory is their call data (1,000 bytes) doubled six times (64,000 bytes), then
    // RETURN or REVERT of len = word 0 at offset = word 1.
    let callee = |op: u8| -> Vec<u8> {
        let mut asm = doubled_call_data();
        asm.extend([0x5f, 0x35, 0x60, 0x20, 0x35, op]); // op(offset, len)
        asm
    };
    // The caller: its call data at 0, then CALL(GAS, word 4, 0, 0, CALLDATASIZE, retOffset =
    // word 2, retLen = word 3); slot 0 the success, slot 1 RETURNDATASIZE, slot 2 the return
    // data's hash (copied to 300,000), slot 3 the hash of its memory's output range.
    let mut call_asm = vec![0x36, 0x5f, 0x5f, 0x37];
    call_asm.extend([0x60, 0x60, 0x35, 0x60, 0x40, 0x35, 0x36, 0x5f, 0x5f]); // retLen retOffset inLen 0 0
    call_asm.extend([0x60, 0x80, 0x35, 0x5a, 0xf1, 0x5f, 0x55]); // to, GAS, CALL; SSTORE(0, ok)
    call_asm.extend([0x3d, 0x60, 0x01, 0x55]); // SSTORE(1, RETURNDATASIZE)
    call_asm.extend([0x3d, 0x5f, 0x62, 0x04, 0x93, 0xe0, 0x3e]); // RETURNDATACOPY(300,000, 0, size)
    call_asm.extend([0x3d, 0x62, 0x04, 0x93, 0xe0, 0x20, 0x60, 0x02, 0x55]); // SSTORE(2, hash)
    call_asm.extend([
        0x60, 0x60, 0x35, 0x60, 0x40, 0x35, 0x20, 0x60, 0x03, 0x55, 0x00,
    ]); // SSTORE(3, KECCAK256(retOffset, retLen))
    // The creator: CREATE of `PUSH3 40,000 PUSH0 REVERT` (its init frame reverts with 40,000
    // zero bytes); slot 0 the address (0), slot 1 RETURNDATASIZE, slot 2 the return data's hash.
    let init = [0x62, 0x00, 0x9c, 0x40, 0x5f, 0xfd];
    let mut create_asm = vec![0x65];
    create_asm.extend(init);
    create_asm.extend([0x5f, 0x52, 0x60, 0x06, 0x60, 0x1a, 0x5f, 0xf0, 0x5f, 0x55]); // CREATE(0, 26, 6)
    create_asm.extend([0x3d, 0x60, 0x01, 0x55]);
    create_asm.extend([
        0x3d, 0x5f, 0x5f, 0x3e, 0x3d, 0x5f, 0x20, 0x60, 0x02, 0x55, 0x00,
    ]);
    for (address, code) in [
        (returner, callee(0xf3)),
        (reverter, callee(0xfd)),
        (caller, call_asm),
        (creator, create_asm),
    ] {
        genesis
            .alloc
            .insert(address, contract_account(code.into(), BTreeMap::new()));
    }
    let data = |len: u64, offset: u64, ret_offset: u64, ret_len: u64, to: Address| -> Vec<u8> {
        let to = U256::from_be_slice(to.as_slice());
        let words = [len, offset, ret_offset, ret_len].map(U256::from);
        let mut data = (words[0], words[1], words[2], words[3], to).abi_encode_params();
        data.extend((0..840u32).map(|i| (i * 151 + i / 7) as u8 | 1));
        data
    };
    let chunk = CHUNK_BYTES as u64;
    // (len, offset, retOffset, retLen, callee)
    let cases = [
        (chunk + 1, 31, 0, 40_000, returner),
        (100_000, 5, 7, 50_000, returner),
        (3 * chunk, 0, 64, 10, reverter),
        (chunk + 1, 3, 0, 0, returner),
        (chunk, 1, 32, chunk, returner),
    ];
    let (mut steps, mut long_steps, mut max_gas) = (0, 0, 0);
    for (i, &(len, offset, ret_offset, ret_len, to)) in cases.iter().enumerate() {
        let call_data = data(len, offset, ret_offset, ret_len, to);
        let (one, proven) = prove_calls(&genesis, &[(i % 3, caller, call_data.clone(), true)]);
        let mut memory: Vec<u8> = (0..64_000).map(|j| call_data[j % 1000]).collect();
        memory.resize(memory.len().max((offset + len) as usize), 0);
        let output = &memory[offset as usize..(offset + len) as usize];
        let mut mine = call_data.clone();
        mine.resize(mine.len().max((ret_offset + ret_len) as usize), 0);
        let copied = ret_len.min(len) as usize;
        mine[ret_offset as usize..ret_offset as usize + copied].copy_from_slice(&output[..copied]);
        let slot = |n: u8| storage_at(&one, caller, B256::with_last_byte(n));
        assert_eq!(
            slot(0),
            U256::from(u8::from(to == returner)),
            "case {i}: success"
        );
        assert_eq!(slot(1), U256::from(len), "case {i}: RETURNDATASIZE");
        assert_eq!(
            slot(2),
            U256::from_be_bytes(keccak256(output).0),
            "case {i}: return data"
        );
        let range = &mine[ret_offset as usize..(ret_offset + ret_len) as usize];
        assert_eq!(
            slot(3),
            U256::from_be_bytes(keccak256(range).0),
            "case {i}: memory"
        );
        let expected = chunk_steps(len);
        assert_eq!(
            proven.long_output_steps, expected,
            "case {i}: the output's steps"
        );
        steps += proven.steps;
        long_steps += proven.long_output_steps;
        max_gas = max_gas.max(proven.max_long_output_gas);
    }
    // An init frame reverting with a long output, then a creation transaction doing the same.
    let (one, proven) = prove_txs(
        &genesis,
        &[
            (0, call(creator), Vec::new(), 0, true),
            (1, TxKind::Create, init.to_vec(), 0, false),
        ],
    );
    let slot = |n: u8| storage_at(&one, creator, B256::with_last_byte(n));
    assert_eq!(slot(0), U256::ZERO, "the creation failed");
    assert_eq!(slot(1), U256::from(40_000), "its return data is the output");
    assert_eq!(slot(2), U256::from_be_bytes(keccak256([0u8; 40_000]).0));
    assert_eq!(
        proven.long_output_steps, 2,
        "only the init frame's output is moved"
    );
    steps += proven.steps;
    long_steps += proven.long_output_steps;
    max_gas = max_gas.max(proven.max_long_output_gas);
    println!(
        "long outputs: {} returns, {steps} steps checked ({long_steps} steps of long outputs), L1 \
         gas of the costliest such step {max_gas}",
        cases.len() + 2,
    );
}

/// The L1 gas of the state-access steps (stage 3) on a large state: 100,000 accounts and a
/// contract of the largest size (24,576 bytes, carried by every witness) with 20,000 slots, so
/// that the account and storage proofs are as deep as on a busy chain. Prints the gas of each
/// step (the L1 transaction: 21,000, the call data and the execution) and checks the largest
/// stays under the 5M target.
#[test]
fn state_steps_fit_an_l1_block_on_a_large_state() {
    let contract = Address::repeat_byte(0x5c);
    let slots = 20_000u64;
    let funded = |i: u64| Address::from_word(keccak256(i.to_be_bytes()));
    // SLOAD of a set slot (cold, then warm); SSTOREs that reset, set, clear, restore and keep a
    // value; a cold SSTORE that keeps its value; TSTORE and TLOAD; BALANCE of an account (cold,
    // then warm), EXTCODESIZE, EXTCODEHASH and EXTCODECOPY (all of it) of another contract,
    // SELFBALANCE.
    let mut p = Program::default();
    let sload = |p: &mut Program, slot: u64| {
        p.push(U256::from(slot));
        p.code.extend([0x54, 0x50]);
    };
    let store = |p: &mut Program, op: u8, slot: u64, value: u64| {
        p.push(U256::from(value));
        p.push(U256::from(slot));
        p.code.push(op);
    };
    sload(&mut p, 7);
    sload(&mut p, 7);
    store(&mut p, 0x55, 7, 1234); // reset
    store(&mut p, 0x55, slots + 5, 1); // set
    store(&mut p, 0x55, 9, 0); // clear
    store(&mut p, 0x55, 7, 8); // dirty
    store(&mut p, 0x55, 9, 10); // restore
    store(&mut p, 0x55, 11, 11); // cold, unchanged
    store(&mut p, 0x5d, 3, 33);
    p.push(U256::from(3));
    p.code.extend([0x5c, 0x50]);
    for op in [0x31, 0x31] {
        p.push(U256::from_be_slice(funded(77).as_slice()));
        p.code.extend([op, 0x50]);
    }
    let other = Address::repeat_byte(0x5d);
    for op in [0x3b, 0x3f] {
        p.push(U256::from_be_slice(other.as_slice()));
        p.code.extend([op, 0x50]);
    }
    for item in [U256::from(0x6000), U256::ZERO, U256::ZERO] {
        p.push(item);
    }
    p.push(U256::from_be_slice(other.as_slice()));
    p.code.push(0x3c);
    p.code.extend([0x47, 0x50, 0x00]);
    // The largest code a contract may have (EIP-170): every witness carries it.
    p.code.resize(0x6000, 0x5b);
    let mut genesis = genesis();
    genesis.alloc.insert(
        other,
        GenesisAccount {
            code: Some(vec![0x5b; 0x6000].into()),
            ..Default::default()
        },
    );
    genesis.alloc.insert(
        contract,
        GenesisAccount {
            code: Some(p.code.into()),
            storage: (1..=slots)
                .map(|slot| (B256::from(U256::from(slot)), B256::from(U256::from(slot))))
                .collect(),
            ..Default::default()
        },
    );
    for i in 0..100_000u64 {
        genesis.alloc.insert(
            funded(i),
            GenesisAccount {
                balance: U256::from(1 + i),
                ..Default::default()
            },
        );
    }
    let mut reference = Reference::new(&genesis);
    let pre = reference.state.clone();
    let raw = sign(
        &dev(0),
        eip1559(0, call(contract), 0, 300_000, Bytes::new()),
    );
    let (items, roots) = reference.run(vec![vec![raw]]);
    let trace = checked_trace(pre, items, &roots);
    let mut verifier = Verifier::deploy(chain().chain_id);
    let names = [
        "SLOAD cold",
        "SLOAD warm",
        "SSTORE reset (cold)",
        "SSTORE set (cold)",
        "SSTORE clear (cold)",
        "SSTORE dirty",
        "SSTORE restore",
        "SSTORE unchanged (cold)",
        "TSTORE",
        "TLOAD",
        "BALANCE cold",
        "BALANCE warm",
        "EXTCODESIZE cold (24,576-byte code)",
        "EXTCODEHASH warm",
        "EXTCODECOPY warm (the whole 24,576-byte code, 768 words written)",
        "SELFBALANCE",
    ];
    let mut rows = Vec::new();
    for step in trace.steps() {
        let step = step.expect("step");
        if step.kind != StepKind::Evm || !matches!(step.proof.get(31), Some(3 | 7)) {
            continue;
        }
        let (outcome, gas) = verifier.step_with_gas(&step.pre, &step.proof);
        assert_eq!(outcome, Ok(step.post.hash()), "step {}", step.index);
        rows.push((names[rows.len()], step.proof.len(), gas));
    }
    assert_eq!(rows.len(), names.len(), "every storage step ran");
    println!(
        "| state-access step (100,000 accounts, 20,000 slots, 24,576-byte code) | witness bytes | L1 gas |"
    );
    println!("| --- | ---: | ---: |");
    for (name, bytes, gas) in &rows {
        println!("| {name} | {bytes} | {gas} |");
    }
    let worst = rows.iter().map(|r| r.2).max().expect("rows");
    let mut sorted: Vec<u64> = rows.iter().map(|r| r.2).collect();
    sorted.sort_unstable();
    println!(
        "{{\"state_steps\":{},\"median_gas\":{},\"worst_gas\":{worst}}}",
        rows.len(),
        sorted[sorted.len() / 2]
    );
    assert!(
        worst < 5_000_000,
        "the largest state-access step costs {worst} gas"
    );
}

sol! {
    function COPY() external view returns (address);
    function STATE() external view returns (address);
    function CALL() external view returns (address);
    function PRECOMPILES() external view returns (address);
    function RETURNS() external view returns (address);
    function EVM() external view returns (address);
}

/// `EvmStepVerifier.step`, `EvmCopyVerifier.step`, `EvmStateVerifier.step`,
/// `EvmCallVerifier.step` and `EvmPrecompileCallVerifier.step` (whose precompile calls are
/// steps too) use only stage-1 and stage-2 instructions on their own witnesses: deployed on
/// L2 and called there, each is a long solc-compiled execution (ABI decoding, loops, hashing,
/// checked arithmetic, Merkle Patricia proofs) that the machine must prove instruction by
/// instruction. The whole call is
/// recorded without a rest-of-transaction step, ends as revm ends it, and sampled steps are
/// checked on the verifiers.
#[test]
fn the_verifiers_own_code_runs_provably_on_l2() {
    let mut verifier = Verifier::deploy(chain().chain_id);
    let mut tally = Tally::default();
    fuzz(0xbeef, 64, &mut verifier, &mut tally);
    let view = |verifier: &mut Verifier, to: Address, data: Vec<u8>| {
        let tx = TxEnv::builder()
            .caller(DEPLOYER)
            .call(to)
            .data(data.into())
            .gas_limit(1_000_000)
            .build_fill();
        let out = verifier.evm.transact(tx).expect("runs").result;
        Address::abi_decode(out.output().expect("an address")).expect("an address")
    };
    let one_step = verifier.address;
    let steps = view(&mut verifier, one_step, EVMCall {}.abi_encode());
    let copies = view(&mut verifier, steps, COPYCall {}.abi_encode());
    let storage = view(&mut verifier, steps, STATECall {}.abi_encode());
    let calls = view(&mut verifier, steps, CALLCall {}.abi_encode());
    let precompiles = view(&mut verifier, calls, PRECOMPILESCall {}.abi_encode());
    let returns = view(&mut verifier, calls, RETURNSCall {}.abi_encode());
    let codes = [
        verifier.code_at(steps),
        verifier.code_at(copies),
        verifier.code_at(storage),
        verifier.code_at(calls),
        verifier.code_at(precompiles),
    ];
    // A call that starts a frame has `EvmCallVerifier` ask `RETURNS` for the call data's tree:
    // that verifier is at the same address on L2.
    let mut genesis = genesis_with(&codes);
    genesis.alloc.insert(
        returns,
        contract_account(verifier.code_at(returns), BTreeMap::new()),
    );
    let mut reference = Reference::new(&genesis);
    let mut rng = Rng(0x5e1f);
    let (mut sampled, mut longest, mut sent) = (0, 0, 0);
    for (kind, pre, proof, _) in &tally.samples {
        // `step(MachineState pre, bytes proof)` of the five verifiers.
        let mut data = hex::decode("7ca0c1d5").expect("selector");
        data.extend((pre.clone(), proof.clone()).abi_encode_params());
        // EXTCODECOPY's witnesses (kind 7) go to the state-access verifier; the return,
        // creation, SELFDESTRUCT, delegated-entry and EIP-7702 verifiers' (kinds 6, 8 to 13) are
        // not deployed here.
        let to = match kind {
            6 | 8..=14 => continue,
            7 => program_address(2),
            _ => program_address(usize::from(*kind - 1)),
        };
        // Senders in turn (a skipped sample sends nothing: no nonce gap).
        let sender = sent % 8;
        let raw = sign(
            &dev(sender),
            // Enough for the largest witness's calldata (EIP-7623's floor: 40 gas a byte).
            eip1559((sent / 8) as u64, call(to), 0, 10_000_000, data.into()),
        );
        sent += 1;
        let state = reference.state.clone();
        let (items, roots) = reference.run(vec![vec![raw]]);
        checked_trace(state.clone(), items.clone(), &roots);
        // A first pass of the machine counts the call's instruction steps, a second witnesses
        // 16 of them at random, the first two and the last (the frame's end).
        let pass = |picks: &BTreeSet<usize>| {
            let mut machine = Machine::new(chain(), World::new(state.clone()), items.clone());
            let (mut instructions, mut witnessed) = (0usize, Vec::new());
            while !machine.is_finished() {
                let pre = machine.state().clone();
                let evm = StepKind::of(&pre) == Some(StepKind::Evm);
                let pick = evm && picks.contains(&instructions);
                let proof = machine.step(pick).expect("step");
                if evm {
                    if pick {
                        witnessed.push((instructions, pre, proof, machine.state().clone()));
                    }
                    instructions += 1;
                }
            }
            (instructions, witnessed)
        };
        let (count, _) = pass(&BTreeSet::new());
        longest = longest.max(count);
        let mut picks: BTreeSet<usize> =
            (0..16).map(|_| rng.below(count as u64) as usize).collect();
        picks.extend([0, 1, count - 1]);
        let (_, witnessed) = pass(&picks);
        for (i, pre, proof, post) in witnessed {
            assert!(
                !proof.is_empty(),
                "kind {kind}: instruction {i} of {count} is provable (no rest-of-transaction step)"
            );
            assert_eq!(
                verifier.step(&pre, &proof),
                Ok(post.hash()),
                "kind {kind}: instruction {i} of {count}"
            );
            if i == count - 1 {
                assert_eq!(post.phase(), Some(Phase::TxExecuted));
                assert!(
                    post.success,
                    "kind {kind}: the verifier's step returned on L2"
                );
            }
            sampled += 1;
        }
    }
    println!(
        "the verifiers' own code on L2: {} calls, up to {longest} instruction steps each, {sampled} \
         steps checked on the verifier",
        tally.samples.len()
    );
    for kind in [1, 2, 3, 4, 5, 7] {
        assert!(
            tally.samples.iter().any(|sample| sample.0 == kind),
            "a sample of kind {kind}"
        );
    }
    assert!(longest > 5_000, "{longest} steps");
}

/// Bytecode builder for the creation tests: pushes, memory stores and the creation opcodes.
#[derive(Default)]
struct Bytecode(Vec<u8>);

impl Bytecode {
    fn op(mut self, op: u8) -> Self {
        self.0.push(op);
        self
    }

    fn push(mut self, value: u64) -> Self {
        self.0.push(0x67); // PUSH8
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Writes `bytes` to memory from offset 0, one PUSH32 and MSTORE a word.
    fn memory(mut self, bytes: &[u8]) -> Self {
        for (i, chunk) in bytes.chunks(32).enumerate() {
            let mut word = [0u8; 32];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0.push(0x7f);
            self.0.extend_from_slice(&word);
            self = self.push(32 * i as u64).op(0x52);
        }
        self
    }

    /// CREATE (`salt` none) or CREATE2 of the `len` bytes of memory at 0, with `value`; leaves
    /// the address (or 0) on the stack.
    fn create(self, value: u64, len: u64, salt: Option<u64>) -> Self {
        match salt {
            Some(salt) => self.push(salt).push(len).push(0).push(value).op(0xf5),
            None => self.push(len).push(0).push(value).op(0xf0),
        }
    }

    /// CALLs the address on top of the stack (no value, no arguments, 32 bytes of output at 0x400)
    /// and keeps the output in slot `slot`.
    fn call_top_and_store(self, slot: u64) -> Self {
        // CALL(gas, to, value, in, inLen, out, outLen): `to` is on the stack already.
        self.push(32)
            .push(0x400)
            .push(0)
            .push(0)
            .push(0)
            .op(0x85) // DUP6: the address
            .op(0x5a) // GAS
            .op(0xf1)
            .op(0x50) // POP the success flag
            .push(0x400)
            .op(0x51)
            .push(slot)
            .op(0x55)
            .op(0x50) // POP the address
    }

    fn store_top(self, slot: u64) -> Self {
        self.push(slot).op(0x55)
    }

    fn bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Init code that runs `prologue`, then returns `runtime` (copied from its own tail).
fn init_returning(prologue: &[u8], runtime: &[u8]) -> Vec<u8> {
    let len = runtime.len() as u16;
    let offset = prologue.len() as u16 + 15;
    let mut code = prologue.to_vec();
    code.push(0x61);
    code.extend_from_slice(&len.to_be_bytes());
    code.push(0x61);
    code.extend_from_slice(&offset.to_be_bytes());
    code.extend_from_slice(&[0x60, 0x00, 0x39, 0x61]);
    code.extend_from_slice(&len.to_be_bytes());
    code.extend_from_slice(&[0x60, 0x00, 0xf3]);
    code.extend_from_slice(runtime);
    code
}

/// Creations (CREATE and CREATE2, docs/evm-steps.md section 10) are proven instruction by
/// instruction: a creation with a value whose init code writes storage, then a call into the new
/// contract in the same transaction; CREATE2 and a second CREATE2 of the same salt (a
/// collision: the nonce stays bumped, the forwarded gas is spent); init code that reverts with
/// data, that returns code starting with 0xEF, more than 24,576 bytes, or more code than its gas
/// pays for; empty init code; a value above the balance; a creation from inside an init frame
/// (depth 2). Every step is checked on the Solidity verifiers.
#[test]
fn creations_are_proven_instruction_by_instruction() {
    // The deployed code: returns slot 0 plus 42.
    let runtime = [
        0x5f, 0x54, 0x60, 0x2a, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ];
    // Init code: stores 7 in slot 0, then returns the runtime.
    let init = init_returning(&[0x60, 0x07, 0x5f, 0x55], &runtime);
    let reverting = Bytecode::default()
        .push(0xdead)
        .push(0)
        .op(0x52)
        .push(32)
        .push(0)
        .op(0xfd)
        .bytes();
    let ef = init_returning(&[], &[0xef, 0x00]);
    // RETURN(0, 24,577): over the code size limit.
    let oversized = Bytecode::default().push(24_577).push(0).op(0xf3).bytes();
    // 24,000 bytes: 4,800,000 gas of deposit, more than the transaction has.
    let costly = Bytecode::default().push(24_000).push(0).op(0xf3).bytes();
    // Init code that itself creates the `init` contract (a frame at depth 2), and returns nothing.
    let nested = Bytecode::default()
        .memory(&init)
        .create(0, init.len() as u64, None)
        .store_top(1)
        .op(0x00)
        .bytes();

    let program = |build: fn(Bytecode, &[Vec<u8>]) -> Bytecode, parts: &[Vec<u8>]| {
        build(Bytecode::default(), parts).op(0x00).bytes()
    };
    let cases: Vec<(Vec<u8>, bool)> = vec![
        // CREATE with a value, then a call into the new contract.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(5, p[0].len() as u64, None)
                        .op(0x80)
                        .store_top(10)
                        .call_top_and_store(11)
                },
                std::slice::from_ref(&init),
            ),
            true,
        ),
        // CREATE2, then the same salt again (a collision).
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, Some(9))
                        .store_top(12)
                        .create(0, p[0].len() as u64, Some(9))
                        .store_top(13)
                },
                std::slice::from_ref(&init),
            ),
            true,
        ),
        // Init code that reverts with data (then RETURNDATASIZE), empty init code, a value above
        // the balance: each gives the forwarded gas back.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, None)
                        .store_top(14)
                        .op(0x3d)
                        .store_top(15)
                        .create(0, 0, None)
                        .store_top(18)
                        .create(1_000_000, 0, None)
                        .store_top(19)
                },
                std::slice::from_ref(&reverting),
            ),
            true,
        ),
        // Code starting with 0xEF, and code over the size limit: each spends the forwarded gas.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, Some(1))
                        .store_top(16)
                },
                std::slice::from_ref(&ef),
            ),
            true,
        ),
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, None)
                        .store_top(17)
                },
                std::slice::from_ref(&oversized),
            ),
            true,
        ),
        // More code than the init frame's gas pays for.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, None)
                        .store_top(20)
                },
                std::slice::from_ref(&costly),
            ),
            true,
        ),
        // A creation inside an init frame.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, p[0].len() as u64, Some(3))
                        .store_top(21)
                },
                std::slice::from_ref(&nested),
            ),
            true,
        ),
        // Init code of 40,000 bytes (the `init` code, then zeros) and of 49,152 (EIP-3860's
        // limit): one range of up to 1,537 words each.
        (
            program(
                |b, p| {
                    b.memory(&p[0])
                        .create(0, 40_000, None)
                        .store_top(22)
                        .create(0, 49_152, Some(4))
                        .store_top(23)
                },
                std::slice::from_ref(&init),
            ),
            true,
        ),
    ];
    let mut genesis = genesis();
    let mut calls = Vec::new();
    for (i, (code, succeeds)) in cases.iter().enumerate() {
        let address = Address::with_last_byte(0x40 + i as u8);
        genesis.alloc.insert(
            address,
            GenesisAccount {
                code: Some(code.clone().into()),
                balance: U256::from(100),
                ..Default::default()
            },
        );
        calls.push((i % 4, address, Vec::new(), *succeeds));
    }
    let (reference, proven) = prove_calls(&genesis, &calls);
    // The first case's contract: created with 5 wei, slot 0 written by its init code, called.
    let first = Address::with_last_byte(0x40).create(0);
    let slot = |account: Address, slot: u64| {
        storage_at(&reference, account, B256::with_last_byte(slot as u8))
    };
    assert_eq!(
        slot(Address::with_last_byte(0x40), 10),
        U256::from_be_slice(first.as_slice())
    );
    assert_eq!(slot(first, 0), U256::from(7), "the init code's SSTORE");
    assert_eq!(
        slot(Address::with_last_byte(0x40), 11),
        U256::from(49),
        "the new contract ran"
    );
    let second = Address::with_last_byte(0x41);
    assert_ne!(slot(second, 12), U256::ZERO, "CREATE2 created");
    assert_eq!(slot(second, 13), U256::ZERO, "the same salt collides");
    let third = Address::with_last_byte(0x42);
    for (account, s, what) in [
        (third, 14, "revert"),
        (third, 19, "value"),
        (Address::with_last_byte(0x43), 16, "0xEF code"),
        (Address::with_last_byte(0x44), 17, "oversized code"),
        (Address::with_last_byte(0x45), 20, "the deposit's gas"),
    ] {
        assert_eq!(slot(account, s), U256::ZERO, "{what} fails");
    }
    assert_eq!(
        slot(third, 15),
        U256::from(32),
        "the revert's data is returned"
    );
    assert_ne!(slot(third, 18), U256::ZERO, "empty init code creates");
    assert_ne!(
        slot(Address::with_last_byte(0x46), 21),
        U256::ZERO,
        "nested"
    );
    for s in [22, 23] {
        assert_ne!(
            slot(Address::with_last_byte(0x47), s),
            U256::ZERO,
            "init code over 32 KiB creates"
        );
    }
    for op in [0xf0, 0xf5] {
        assert!(proven.opcodes.contains(&op), "{op:#x} ran");
    }
    assert_eq!(proven.max_depth, 2, "an init frame inside an init frame");
    println!(
        "creations: {} transactions, {} steps checked on the verifiers ({} at depth >= 1, {} return \
         steps {:?}), L1 gas of the costliest step {} (return step {}, CREATE or CREATE2 {})",
        calls.len(),
        proven.steps,
        proven.deep,
        proven.returns(),
        proven.returns,
        proven.max_gas,
        proven.max_return_gas,
        proven.max_gas_by_kind[&8]
    );
}

/// Creation transactions (docs/evm-steps.md section 10) are proven instruction by instruction:
/// a deployment with a value whose init code writes storage, then a call into the deployed
/// contract; init code that reverts; init code whose code starts with 0xEF (a failed deposit);
/// a deployment onto an address that already has code (a collision, one step). Every step is
/// checked on the Solidity verifiers.
#[test]
fn creation_transactions_are_proven_instruction_by_instruction() {
    let runtime = [
        0x5f, 0x54, 0x60, 0x2a, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3,
    ];
    let init = init_returning(&[0x60, 0x07, 0x5f, 0x55], &runtime);
    let reverting = Bytecode::default().push(0).push(0).op(0xfd).bytes();
    let ef = init_returning(&[], &[0xef]);
    let deployer = dev(5).address();
    let mut genesis = genesis();
    // The address of dev key 5's fifth transaction already holds code.
    genesis.alloc.insert(
        deployer.create(4),
        GenesisAccount {
            code: Some(Bytes::from_static(&[0x00])),
            ..Default::default()
        },
    );
    let first = deployer.create(0);
    let txs: Vec<ContractTx> = vec![
        (5, TxKind::Create, init.clone(), 9, true),
        (5, call(first), Vec::new(), 0, true),
        (5, TxKind::Create, reverting, 0, false),
        (5, TxKind::Create, ef, 0, false),
        (5, TxKind::Create, init, 0, false),
    ];
    let (reference, proven) = prove_txs(&genesis, &txs);
    assert_eq!(
        storage_at(&reference, first, B256::ZERO),
        U256::from(7),
        "the init code's SSTORE"
    );
    let deployed = rollup_core::state::StateReader::account(&reference.state, first)
        .expect("reads")
        .expect("deployed");
    assert_eq!(deployed.code_hash, keccak256(runtime), "the deposited code");
    assert_eq!(deployed.balance, U256::from(9), "the value");
    assert!(proven.returns() >= 3, "each creation ends in a return step");
    println!(
        "creation transactions: {} transactions, {} steps checked on the verifiers, L1 gas of the \
         costliest step {} (return step {})",
        txs.len(),
        proven.steps,
        proven.max_gas,
        proven.max_return_gas
    );
}

/// A solc-compiled CREATE2 factory (`TestFactory`) is proven instruction by instruction: two
/// tokens deployed at the addresses their salts fix (the token's constructor runs in the init
/// frame: strings in storage, the mint, an event; the code deposited), the supply handed to the
/// caller by a call into the new token, a salt used twice (a collision: the factory reverts),
/// and a transfer of the new token. Every step is checked on the Solidity verifiers.
#[test]
fn a_create2_factory_is_proven_instruction_by_instruction() {
    let factory = Address::repeat_byte(0xfa);
    let mut genesis = genesis();
    genesis.alloc.insert(
        factory,
        contract_account(deployed_code(FACTORY_ARTIFACT), BTreeMap::new()),
    );
    let deploy = |salt: u8, symbol: &str| {
        ITestFactory::deployCall {
            salt: B256::with_last_byte(salt),
            name: "Token".into(),
            symbol: symbol.into(),
            supply: U256::from(5_000u64),
        }
        .abi_encode()
    };
    // The address CREATE2 gives the first token: the factory, the salt and the init code (the
    // token's creation code and its constructor's arguments).
    let mut init = creation_code(ERC20_ARTIFACT);
    init.extend(("Token".to_string(), "ONE".to_string(), U256::from(5_000u64)).abi_encode_params());
    let first = factory.create2(B256::with_last_byte(1), keccak256(&init));
    let transfer = ITestToken::transferCall {
        to: Address::repeat_byte(0x5a),
        value: U256::from(10),
    }
    .abi_encode();
    let calls: Vec<ContractCall> = vec![
        (0, factory, deploy(1, "ONE"), true),
        (1, factory, deploy(2, "TWO"), true),
        (2, factory, deploy(1, "ONE"), false),
        (0, first, transfer, true),
    ];
    let (reference, proven) = prove_calls(&genesis, &calls);
    let deployed = rollup_core::state::StateReader::account(&reference.state, first)
        .expect("reads")
        .expect("the first token exists");
    assert_eq!(
        deployed.code_hash,
        keccak256(deployed_code(ERC20_ARTIFACT)),
        "the token's runtime code was deposited"
    );
    assert_eq!(
        storage_at(&reference, first, balance_slot(dev(0).address())),
        U256::from(4_990),
        "the supply went to the caller, then 10 to the new holder"
    );
    assert_eq!(
        storage_at(&reference, factory, B256::ZERO),
        U256::from(2),
        "two tokens recorded"
    );
    for op in [0xf5, 0xf1, 0x55, 0xa3, 0xf3, 0xfd] {
        assert!(proven.opcodes.contains(&op), "{op:#x} ran");
    }
    println!(
        "CREATE2 factory: {} calls, {} steps checked on the verifiers ({} at depth >= 1, {} return \
         steps {:?}), L1 gas of the costliest step {} (return step {})",
        calls.len(),
        proven.steps,
        proven.deep,
        proven.returns(),
        proven.returns,
        proven.max_gas,
        proven.max_return_gas
    );
}

/// A contract that sends its balance to `target` with SELFDESTRUCT.
fn self_destructing(target: Address) -> Vec<u8> {
    let mut code = vec![0x73];
    code.extend_from_slice(target.as_slice());
    code.push(0xff);
    code
}

/// SELFDESTRUCT (EIP-6780, docs/evm-steps.md section 11) is proven instruction by instruction:
/// an account that existed before the transaction only gives its balance away (to a new, cold
/// account: 25,000 more; to itself: nothing), an account created in the transaction and called
/// there is deleted, and a SELFDESTRUCT in a static frame halts. Every step is checked on the
/// Solidity verifiers.
#[test]
fn selfdestructs_are_proven_instruction_by_instruction() {
    let (giver, keeper, factory, watcher) = (
        Address::with_last_byte(0x60),
        Address::with_last_byte(0x61),
        Address::with_last_byte(0x62),
        Address::with_last_byte(0x63),
    );
    let (heir, child_heir) = (Address::repeat_byte(0x4e), Address::repeat_byte(0x4f));
    let init = init_returning(&[], &self_destructing(child_heir));
    // The factory creates the child, records it, and calls it (the child destroys itself);
    // nothing after that touches the state: every later state access of the transaction is
    // refused once an account is deleted (docs/evm-steps.md section 11).
    let factory_code = Bytecode::default()
        .memory(&init)
        .create(7, init.len() as u64, None)
        .op(0x80)
        .store_top(1)
        // CALL(gas, child, 0, 0, 0, 0, 0), the child's address under the items.
        .push(0)
        .push(0)
        .push(0)
        .push(0)
        .push(0)
        .op(0x85)
        .op(0x5a)
        .op(0xf1)
        .op(0x00)
        .bytes();
    // STATICCALL(gas, giver, 0, 0, 0, 0): the giver's SELFDESTRUCT halts in a static frame.
    let mut watcher_code = Bytecode::default().push(0).push(0).push(0).push(0).bytes();
    watcher_code.push(0x73);
    watcher_code.extend_from_slice(giver.as_slice());
    watcher_code.extend([0x5a, 0xfa]);
    watcher_code.extend(Bytecode::default().store_top(3).op(0x00).bytes());
    let mut genesis = genesis();
    for (address, code, balance) in [
        (giver, self_destructing(heir), 100u64),
        (keeper, self_destructing(keeper), 50),
        (factory, factory_code, 100),
        (watcher, watcher_code, 0),
    ] {
        genesis.alloc.insert(
            address,
            GenesisAccount {
                code: Some(code.into()),
                balance: U256::from(balance),
                ..Default::default()
            },
        );
    }
    let calls: Vec<ContractCall> = vec![
        (0, watcher, Vec::new(), true),
        (1, giver, Vec::new(), true),
        (2, keeper, Vec::new(), true),
        (3, factory, Vec::new(), true),
    ];
    let (reference, proven) = prove_calls(&genesis, &calls);
    let account = |address: Address| {
        rollup_core::state::StateReader::account(&reference.state, address).expect("reads")
    };
    assert_eq!(
        storage_at(&reference, watcher, B256::with_last_byte(3)),
        U256::ZERO,
        "static: halted"
    );
    let giver_after = account(giver).expect("an old account stays");
    assert_eq!(giver_after.balance, U256::ZERO, "its balance left");
    assert_eq!(account(heir).expect("created").balance, U256::from(100));
    assert_eq!(
        account(keeper).expect("stays").balance,
        U256::from(50),
        "to itself: nothing"
    );
    let child = factory.create(0);
    assert_eq!(
        storage_at(&reference, factory, B256::with_last_byte(1)),
        U256::from_be_slice(child.as_slice())
    );
    assert!(
        account(child).is_none(),
        "the child created in the transaction is deleted"
    );
    assert_eq!(
        account(child_heir).expect("credited").balance,
        U256::from(7)
    );
    assert!(proven.opcodes.contains(&0xff), "SELFDESTRUCT ran");
    println!(
        "selfdestructs: {} calls, {} steps checked on the verifiers, L1 gas of the costliest step {}",
        calls.len(),
        proven.steps,
        proven.max_gas
    );
}

/// Init code that destroys itself (an ephemeral contract): SELFDESTRUCT deletes the account at
/// once, so its init frame's code deposit, where revm still writes the code before deleting the
/// account at the transaction's end, is the rest of the transaction (docs/evm-steps.md section
/// 11); every step before it is proven on the verifiers.
#[test]
fn init_code_that_destroys_itself_leaves_only_its_deposit_unproven() {
    let (factory, heir) = (Address::with_last_byte(0x64), Address::repeat_byte(0x4d));
    let init = self_destructing(heir);
    let code = Bytecode::default()
        .memory(&init)
        .create(3, init.len() as u64, None)
        .op(0x00)
        .bytes();
    let mut genesis = genesis();
    genesis.alloc.insert(
        factory,
        GenesisAccount {
            code: Some(code.into()),
            balance: U256::from(10),
            ..Default::default()
        },
    );
    let raw = sign(&dev(0), eip1559(0, call(factory), 0, 500_000, Bytes::new()));
    let mut reference = Reference::new(&genesis);
    let pre = reference.state.clone();
    let (items, roots) = reference.run(vec![vec![raw]]);
    let trace = checked_trace(pre, items, &roots);
    let mut verifier = Verifier::deploy(chain().chain_id);
    let (mut proven, mut unproven, mut destroyed) = (0, Vec::new(), false);
    for step in trace.steps() {
        let step = step.expect("step");
        if step.kind != StepKind::Evm {
            continue;
        }
        if step.proof.is_empty() {
            unproven.push(step.pre.evm);
            continue;
        }
        if let Some((evm, code, ..)) = decode_instruction(&step.proof) {
            destroyed |= code.get(evm.pc as usize) == Some(&0xff);
        }
        assert_eq!(
            verifier
                .step(&step.pre, &step.proof)
                .map_err(hex::encode_prefixed),
            Ok(step.post.hash()),
            "step {}",
            step.index
        );
        proven += 1;
    }
    assert!(destroyed, "the init code's SELFDESTRUCT was proven");
    assert_eq!(
        unproven.len(),
        1,
        "one rest-of-transaction step: the deposit"
    );
    let balance = |address: Address| {
        rollup_core::state::StateReader::account(&reference.state, address)
            .expect("reads")
            .map(|account| account.balance)
    };
    assert_eq!(
        balance(factory.create(0)),
        None,
        "the ephemeral contract is gone"
    );
    assert_eq!(
        balance(heir),
        Some(U256::from(3)),
        "its value went to the heir"
    );
    assert!(proven > 5, "{proven} steps proven before the deposit");
}
