//! Contracts (hand-assembled EVM bytecode) and transaction builders shared by
//! the engine's tests and its benchmark: an ERC-20-style token, constant-product
//! pools, a global counter, a fee-vault reader, a CREATE2 factory and more.
//!
//! Transactions carry a fixed placeholder signature and a chosen sender:
//! executors take already-recovered transactions, and signing 100,000 of them
//! would only measure secp256k1.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy_eips::eip7702::SignedAuthorization;
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use rollup_core::state::{AccountState, WorldState};
use std::collections::HashMap;

/// `Transfer(address,address,uint256)` topic.
pub fn transfer_topic() -> B256 {
    keccak256("Transfer(address,address,uint256)")
}

/// A tiny assembler: opcodes, pushes and labels resolved to 2-byte jumps.
#[derive(Default)]
pub struct Asm {
    code: Vec<u8>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, &'static str)>,
}

impl Asm {
    /// Appends raw opcodes.
    pub fn op(mut self, ops: &[u8]) -> Self {
        self.code.extend_from_slice(ops);
        self
    }
    /// Pushes a value with the shortest PUSH.
    pub fn push(mut self, value: U256) -> Self {
        let bytes = value.to_be_bytes_trimmed_vec();
        if bytes.is_empty() {
            self.code.push(0x5f); // PUSH0
        } else {
            self.code.push(0x5f + bytes.len() as u8);
            self.code.extend_from_slice(&bytes);
        }
        self
    }
    /// Pushes a small number.
    pub fn n(self, value: u64) -> Self {
        self.push(U256::from(value))
    }
    /// Pushes an address.
    pub fn addr(mut self, address: Address) -> Self {
        self.code.push(0x73);
        self.code.extend_from_slice(address.as_slice());
        self
    }
    /// Marks a jump destination.
    pub fn label(mut self, name: &'static str) -> Self {
        self.labels.insert(name, self.code.len());
        self.code.push(0x5b);
        self
    }
    /// Pushes a label's offset.
    pub fn to(mut self, name: &'static str) -> Self {
        self.code.push(0x61);
        self.fixups.push((self.code.len(), name));
        self.code.extend_from_slice(&[0, 0]);
        self
    }
    /// The bytecode.
    pub fn build(mut self) -> Bytes {
        for (at, name) in &self.fixups {
            let target = self.labels[name] as u16;
            self.code[*at..*at + 2].copy_from_slice(&target.to_be_bytes());
        }
        self.code.into()
    }
}

// Opcodes used below.
const STOP: u8 = 0x00;
const ADD: u8 = 0x01;
const MUL: u8 = 0x02;
const SUB: u8 = 0x03;
const DIV: u8 = 0x04;
const LT: u8 = 0x10;
const ISZERO: u8 = 0x15;
const SHA3: u8 = 0x20;
const BALANCE: u8 = 0x31;
const CALLER: u8 = 0x33;
const CALLVALUE: u8 = 0x34;
const CALLDATALOAD: u8 = 0x35;
const CODECOPY: u8 = 0x39;
const COINBASE: u8 = 0x41;
const POP: u8 = 0x50;
const MSTORE: u8 = 0x52;
const SLOAD: u8 = 0x54;
const SSTORE: u8 = 0x55;
const JUMP: u8 = 0x56;
const JUMPI: u8 = 0x57;
const TLOAD: u8 = 0x5c;
const TSTORE: u8 = 0x5d;
const DUP1: u8 = 0x80;
const DUP2: u8 = 0x81;
const DUP3: u8 = 0x82;
const SWAP1: u8 = 0x90;
const LOG1: u8 = 0xa1;
const LOG3: u8 = 0xa3;
const CREATE2: u8 = 0xf5;
const RETURN: u8 = 0xf3;
const REVERT: u8 = 0xfd;
const SELFDESTRUCT: u8 = 0xff;

/// Storage slot of `owner`'s balance in the token (Solidity's mapping at slot 0).
pub fn balance_slot(owner: Address) -> U256 {
    let mut key = [0u8; 64];
    key[12..32].copy_from_slice(owner.as_slice());
    U256::from_be_bytes(keccak256(key).0)
}

/// Leaves `keccak256(word, 0)` (a mapping slot) on the stack for the word on top.
fn mapping_slot(asm: Asm) -> Asm {
    asm.n(0)
        .op(&[MSTORE])
        .n(0)
        .n(32)
        .op(&[MSTORE])
        .n(64)
        .n(0)
        .op(&[SHA3])
}

/// ERC-20-style `transfer(to, amount)`: moves balance, reverts when short,
/// logs `Transfer`, returns true.
pub fn token_runtime() -> Bytes {
    let asm = Asm::default().op(&[CALLER]);
    let asm = mapping_slot(asm) // [kf]
        .op(&[DUP1, SLOAD]) // [kf, bf]
        .n(36)
        .op(&[CALLDATALOAD]) // [kf, bf, amt]
        .op(&[DUP1, DUP3, LT])
        .to("short")
        .op(&[JUMPI])
        .op(&[SWAP1, SUB, SWAP1, SSTORE])
        .n(4)
        .op(&[CALLDATALOAD]);
    mapping_slot(asm) // [kt]
        .op(&[DUP1, SLOAD])
        .n(36)
        .op(&[CALLDATALOAD, ADD, SWAP1, SSTORE])
        .n(36)
        .op(&[CALLDATALOAD])
        .n(0)
        .op(&[MSTORE])
        .n(4)
        .op(&[CALLDATALOAD, CALLER])
        .push(U256::from_be_bytes(transfer_topic().0))
        .n(32)
        .n(0)
        .op(&[LOG3])
        .n(1)
        .n(0)
        .op(&[MSTORE])
        .n(32)
        .n(0)
        .op(&[RETURN])
        .label("short")
        .n(0)
        .n(0)
        .op(&[REVERT])
        .build()
}

/// Calldata of `transfer(to, amount)`.
pub fn transfer_call(to: Address, amount: U256) -> Bytes {
    let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
    data.extend_from_slice(&B256::left_padding_from(to.as_slice()).0);
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data.into()
}

/// Constant-product pool: `swap(amountIn)` moves reserve 0 up by `amountIn`,
/// reserve 1 down by `r1 * in / (r0 + in)`, credits the output to the
/// caller's balance slot and logs it.
pub fn pool_runtime() -> Bytes {
    let asm = Asm::default()
        .n(4)
        .op(&[CALLDATALOAD]) // [in]
        .n(0)
        .op(&[SLOAD]) // [in, r0]
        .op(&[DUP2, ADD]) // [in, r0+in]
        .op(&[DUP1])
        .n(0)
        .op(&[SSTORE]) // [in, r0+in]
        .n(1)
        .op(&[SLOAD]) // [in, d, r1]
        .op(&[SWAP1]) // [in, r1, d]
        .op(&[DUP2]) // [in, r1, d, r1]
        .n(4)
        .op(&[CALLDATALOAD, MUL]) // [in, r1, d, r1*in]
        .op(&[DIV]) // [in, r1, out]
        .op(&[SWAP1, DUP2, SWAP1, SUB]) // [in, out, r1-out]
        .n(1)
        .op(&[SSTORE]) // [in, out]
        .op(&[CALLER]);
    mapping_slot(asm) // [in, out, k]
        .op(&[DUP1, SLOAD, DUP3, ADD, SWAP1, SSTORE]) // [in, out]
        .n(0)
        .op(&[MSTORE])
        .push(U256::from_be_bytes(keccak256("Swap(uint256)").0))
        .n(32)
        .n(0)
        .op(&[LOG1, POP, STOP])
        .build()
}

/// Calldata of `swap(amountIn)`.
pub fn swap_call(amount_in: U256) -> Bytes {
    let mut data = vec![0x94, 0xb9, 0x18, 0xde];
    data.extend_from_slice(&amount_in.to_be_bytes::<32>());
    data.into()
}

/// A counter every caller increments (slot 0) and whose last caller it records
/// (slot 1), using transient storage on the way.
pub fn counter_runtime() -> Bytes {
    Asm::default()
        .n(0)
        .op(&[SLOAD])
        .n(1)
        .op(&[ADD])
        .n(0)
        .op(&[SSTORE])
        .op(&[CALLER])
        .n(7)
        .op(&[TSTORE])
        .n(7)
        .op(&[TLOAD])
        .n(1)
        .op(&[SSTORE, STOP])
        .build()
}

/// Records the fee recipient's balance (slot 0): reads the fee vault.
pub fn vault_reader_runtime() -> Bytes {
    Asm::default()
        .op(&[COINBASE, BALANCE])
        .n(0)
        .op(&[SSTORE, STOP])
        .build()
}

/// Reverts with 4 bytes of data when called without value; spins until out of
/// gas when called with value.
pub fn trap_runtime() -> Bytes {
    Asm::default()
        .op(&[CALLVALUE, ISZERO])
        .to("revert")
        .op(&[JUMPI])
        .label("spin")
        .to("spin")
        .op(&[JUMP])
        .label("revert")
        .push(U256::from(0xdead_beef_u64))
        .n(0)
        .op(&[MSTORE])
        .n(4)
        .n(28)
        .op(&[REVERT])
        .build()
}

/// Init code that deploys `runtime` as is.
pub fn deploy_code(runtime: &Bytes) -> Bytes {
    // PUSH2 len DUP1 PUSH1 10 PUSH0 CODECOPY PUSH0 RETURN <runtime>
    let len = runtime.len() as u16;
    let mut code = vec![0x61];
    code.extend_from_slice(&len.to_be_bytes());
    code.extend_from_slice(&[DUP1, 0x60, 10, 0x5f, CODECOPY, 0x5f, RETURN]);
    debug_assert_eq!(code.len(), 10);
    code.extend_from_slice(runtime);
    code.into()
}

/// Init code that self-destructs to `heir` during creation (EIP-6780: the
/// account is really deleted).
pub fn suicide_init(heir: Address) -> Bytes {
    Asm::default().addr(heir).op(&[SELFDESTRUCT]).build()
}

/// A factory: CREATE2 of a counter with the salt in calldata[0..32], forwarding
/// the call's value; stores the child's address at slot `salt`.
pub fn factory_runtime() -> Bytes {
    let child = deploy_code(&counter_runtime());
    let len = child.len() as u64;
    // CODECOPY(0, <offset of the child's init code>, len); the offset is
    // patched in once the code before it is assembled.
    let mut code = Asm::default()
        .n(len)
        .push(U256::from(0xffff_u64))
        .n(0)
        .op(&[CODECOPY])
        .n(0)
        .op(&[CALLDATALOAD]) // [salt]
        .n(len)
        .n(0)
        .op(&[CALLVALUE, CREATE2]) // [child]
        .n(0)
        .op(&[CALLDATALOAD, SSTORE, STOP])
        .build()
        .to_vec();
    let patch = code
        .windows(3)
        .position(|w| w == [0x61, 0xff, 0xff])
        .expect("placeholder present");
    let data_at = code.len() as u16;
    code[patch + 1..patch + 3].copy_from_slice(&data_at.to_be_bytes());
    code.extend_from_slice(&child);
    code.into()
}

/// Address of the counter the factory deploys with `salt`.
pub fn factory_child(factory: Address, salt: B256) -> Address {
    factory.create2_from_code(salt, deploy_code(&counter_runtime()))
}

/// Builds recovered EIP-1559 transactions for a chain.
#[derive(Clone, Debug)]
pub struct TxFactory {
    /// Chain id signed into every transaction.
    pub chain_id: u64,
    /// Max fee per gas.
    pub max_fee: u128,
    /// Priority fee per gas.
    pub tip: u128,
}

impl TxFactory {
    /// A transaction from `from` with `nonce`.
    #[allow(clippy::too_many_arguments)]
    pub fn tx(
        &self,
        from: Address,
        nonce: u64,
        to: TxKind,
        value: U256,
        input: Bytes,
        gas_limit: u64,
    ) -> Recovered<TxEnvelope> {
        self.build(
            TxEip1559 {
                chain_id: self.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: self.max_fee,
                max_priority_fee_per_gas: self.tip,
                to,
                value,
                access_list: Default::default(),
                input,
            },
            from,
        )
    }

    /// Wraps a transaction body with the placeholder signature.
    pub fn build(&self, body: TxEip1559, from: Address) -> Recovered<TxEnvelope> {
        let signed = body.into_signed(Signature::test_signature());
        Recovered::new_unchecked(TxEnvelope::Eip1559(signed), from)
    }

    /// An EIP-7702 transaction from `from` carrying `authorizations`.
    pub fn delegation(
        &self,
        from: Address,
        nonce: u64,
        to: Address,
        authorizations: Vec<SignedAuthorization>,
    ) -> Recovered<TxEnvelope> {
        let body = alloy_consensus::TxEip7702 {
            chain_id: self.chain_id,
            nonce,
            gas_limit: 200_000,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: self.tip,
            to,
            value: U256::ZERO,
            access_list: Default::default(),
            authorization_list: authorizations,
            input: Bytes::new(),
        };
        let signed = body.into_signed(Signature::test_signature());
        Recovered::new_unchecked(TxEnvelope::Eip7702(signed), from)
    }
}

/// A deterministic account address for index `i` (not a key-derived one).
pub fn account(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = 0xac;
    bytes[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(bytes)
}

/// Where the shared contracts of a test or benchmark state live.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// The token.
    pub token: Address,
    /// The pools.
    pub pools: Vec<Address>,
    /// The global counter.
    pub counter: Address,
    /// The fee-vault reader.
    pub vault_reader: Address,
    /// The reverting / spinning contract.
    pub trap: Address,
    /// The CREATE2 factory.
    pub factory: Address,
}

/// A pre-state: `accounts` funded EOAs (`account(0..accounts)`), each with
/// 1,000 ether and a token balance, plus the contracts of [`Deployed`].
pub fn pre_state(accounts: u64, pools: usize) -> (WorldState, Deployed) {
    let mut state = WorldState::default();
    let ether = U256::from(10u64).pow(U256::from(18));
    for i in 0..accounts {
        state.insert_account(
            account(i),
            AccountState::with_balance(ether * U256::from(1000)),
            None,
        );
    }
    let mut next = 0xc0_0000u64;
    let mut contract = |state: &mut WorldState, code: Bytes| {
        next += 1;
        let address = account(next);
        let mut account = AccountState::with_balance(U256::ZERO);
        account.nonce = 1;
        account.code_hash = keccak256(&code);
        state.insert_account(address, account, Some(code));
        address
    };
    let token = contract(&mut state, token_runtime());
    for i in 0..accounts {
        state.set_storage(
            token,
            balance_slot(account(i)),
            ether * U256::from(1_000_000),
        );
    }
    let pools = (0..pools)
        .map(|_| {
            let pool = contract(&mut state, pool_runtime());
            state.set_storage(pool, U256::ZERO, ether * U256::from(1_000_000));
            state.set_storage(pool, U256::from(1), ether * U256::from(2_000_000));
            pool
        })
        .collect();
    let deployed = Deployed {
        token,
        pools,
        counter: contract(&mut state, counter_runtime()),
        vault_reader: contract(&mut state, vault_reader_runtime()),
        trap: contract(&mut state, trap_runtime()),
        factory: contract(&mut state, factory_runtime()),
    };
    (state, deployed)
}
