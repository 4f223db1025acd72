//! Chain parameters and the genesis of an L2 chain.

use crate::state::{AccountState, WorldState};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use revm::primitives::hardfork::SpecId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rules fixed for the life of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee of block 1.
    pub initial_base_fee: u64,
    /// Where priority fees go (the block's beneficiary).
    pub fee_vault: Address,
}

impl ChainConfig {
    /// The EVM hardfork the chain runs (Prague).
    pub const SPEC: SpecId = SpecId::PRAGUE;
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            chain_id: 42069,
            gas_limit: 30_000_000,
            initial_base_fee: 1_000_000_000,
            fee_vault: address!("0x4200000000000000000000000000000000000011"),
        }
    }
}

/// A genesis account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    #[serde(default)]
    pub nonce: u64,
    /// Code, if a contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Bytes>,
    /// Storage.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage: BTreeMap<B256, B256>,
}

/// The genesis of an L2 chain: config, timestamp and allocations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Chain rules.
    pub config: ChainConfig,
    /// Timestamp of block 0.
    pub timestamp: u64,
    /// Initial accounts.
    pub alloc: BTreeMap<Address, GenesisAccount>,
}

/// The well-known mnemonic's first ten keys ("test test ... junk"), as Anvil funds them.
pub const DEV_PRIVATE_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// Addresses of [`DEV_PRIVATE_KEYS`].
pub const DEV_ADDRESSES: [Address; 10] = [
    address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
    address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
    address!("0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
    address!("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
    address!("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
    address!("0x976EA74026E726554dB657fA54763abd0C3a0aa9"),
    address!("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"),
    address!("0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"),
    address!("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
];

impl Genesis {
    /// A development genesis: the ten dev accounts hold 10,000 ETH each, as on Anvil.
    pub fn dev(config: ChainConfig) -> Self {
        let ten_thousand_eth = U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64));
        let alloc = DEV_ADDRESSES
            .iter()
            .map(|a| {
                (
                    *a,
                    GenesisAccount {
                        balance: ten_thousand_eth,
                        ..Default::default()
                    },
                )
            })
            .collect();
        Self {
            config,
            timestamp: 0,
            alloc,
        }
    }

    /// The state of block 0.
    pub fn state(&self) -> WorldState {
        let mut state = WorldState::default();
        for (address, account) in &self.alloc {
            state.insert_account(
                *address,
                AccountState {
                    nonce: account.nonce,
                    ..AccountState::with_balance(account.balance)
                },
                account.code.clone(),
            );
            for (slot, value) in &account.storage {
                state.set_storage(*address, (*slot).into(), (*value).into());
            }
        }
        state
    }
}
