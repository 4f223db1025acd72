//! The chain's precompiles: Prague's `0x01..0x11`, with two bounds that keep every call to one
//! provable in a single step on L1 (docs/evm-steps.md section 4, "Calls to precompiles"; the
//! README's "Where the chain differs from Ethereum").
//!
//! 1. An input over [`MAX_PRECOMPILE_INPUT`] bytes (32,736, one memory range the step verifier
//!    opens at any offset) fails the call: the precompile halts and uses all the gas it was
//!    given, as for an input it refuses by its length. Without the bound a SHA256 of 40 KB of
//!    memory (about 9,000 gas) would be a step nobody can prove: the verifier needs the input's
//!    bytes on L1, and one step cannot carry more than 32 KiB of memory.
//! 2. MODEXP refuses a base, exponent or modulus longer than 1,024 bytes (EIP-7823, as Osaka's
//!    L1 does, whose MODEXP the step verifier calls), priced as Prague prices it (EIP-2565).
//!
//! Every executor builds its EVM through [`install`] (the sequencer's sequential and parallel
//! engines, derivation, the fault-proof machine's recorder), so all of them run the same rules.

use std::sync::OnceLock;

use alloy_primitives::Address;
use revm::{
    handler::EthPrecompiles,
    precompile::{
        PrecompileHalt, PrecompileOutput, PrecompileResult, Precompiles, call_eth_precompile,
        modexp::{berlin_gas_calc, run_inner},
    },
};

use crate::{chain::ChainConfig, fault::evm::CHUNK_BYTES};

/// The longest input a precompile takes: 32,736 bytes, which span at most 1,024 memory words at
/// any offset (the step verifier's one range, `EvmFrame.MAX_RANGE_WORDS`): the fault proof's
/// chunk ([`CHUNK_BYTES`]), which the bound exists for.
pub const MAX_PRECOMPILE_INPUT: usize = CHUNK_BYTES;

/// The longest base, exponent or modulus MODEXP takes (EIP-7823).
pub const MODEXP_LENGTH_LIMIT: usize = 1024;

/// The reason a precompile gives for an input over [`MAX_PRECOMPILE_INPUT`] bytes.
pub const INPUT_TOO_LONG: &str = "precompile input over 32736 bytes";

/// The chain's precompile set: Prague's addresses, every one bounded as the module says.
pub fn precompiles() -> &'static Precompiles {
    static SET: OnceLock<Precompiles> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = Precompiles::prague().clone();
        let bounded: [(u8, revm::precompile::PrecompileFn); 17] = [
            (0x01, bounded::<0x01>),
            (0x02, bounded::<0x02>),
            (0x03, bounded::<0x03>),
            (0x04, bounded::<0x04>),
            (0x05, modexp),
            (0x06, bounded::<0x06>),
            (0x07, bounded::<0x07>),
            (0x08, bounded::<0x08>),
            (0x09, bounded::<0x09>),
            (0x0a, bounded::<0x0a>),
            (0x0b, bounded::<0x0b>),
            (0x0c, bounded::<0x0c>),
            (0x0d, bounded::<0x0d>),
            (0x0e, bounded::<0x0e>),
            (0x0f, bounded::<0x0f>),
            (0x10, bounded::<0x10>),
            (0x11, bounded::<0x11>),
        ];
        let wrapped: Vec<_> = bounded
            .into_iter()
            .map(|(id, run)| {
                let prague = Precompiles::prague()
                    .get(&Address::with_last_byte(id))
                    .expect("a Prague precompile");
                revm::precompile::Precompile::new(prague.id().clone(), *prague.address(), run)
            })
            .collect();
        set.extend(wrapped);
        assert_eq!(set.len(), Precompiles::prague().len(), "Prague's addresses");
        set
    })
}

/// The precompile provider every EVM of the chain runs ([`precompiles`] at the chain's spec, so
/// that revm's `set_spec` keeps it).
pub fn provider() -> EthPrecompiles {
    EthPrecompiles {
        precompiles: precompiles(),
        spec: ChainConfig::SPEC,
    }
}

/// Puts the chain's precompiles into an EVM built with revm's mainnet ones.
pub fn install<CTX, INSP, I, F>(evm: &mut revm::context::Evm<CTX, INSP, I, EthPrecompiles, F>) {
    evm.precompiles = provider();
}

/// The halt of an input over [`MAX_PRECOMPILE_INPUT`] bytes: no output, all the gas used.
fn too_long(reservoir: u64) -> PrecompileResult {
    Ok(PrecompileOutput::halt(
        PrecompileHalt::other_static(INPUT_TOO_LONG),
        reservoir,
    ))
}

/// Prague's precompile `ID`, refusing an input over [`MAX_PRECOMPILE_INPUT`] bytes.
fn bounded<const ID: u8>(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    if input.len() > MAX_PRECOMPILE_INPUT {
        return too_long(reservoir);
    }
    Precompiles::prague()
        .get(&Address::with_last_byte(ID))
        .expect("a Prague precompile")
        .execute(input, gas_limit, reservoir)
}

/// MODEXP: Prague's price (EIP-2565, at least 200), EIP-7823's bound on the three lengths.
fn modexp(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    if input.len() > MAX_PRECOMPILE_INPUT {
        return too_long(reservoir);
    }
    Ok(call_eth_precompile(
        |input, gas_limit| run_inner::<_, true>(input, gas_limit, 200, berlin_gas_calc),
        input,
        gas_limit,
        reservoir,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::precompile::PrecompileStatus;

    fn run(id: u8, input: &[u8], gas: u64) -> PrecompileOutput {
        precompiles()
            .get(&Address::with_last_byte(id))
            .expect("bounded")
            .execute(input, gas, 0)
            .expect("not fatal")
    }

    fn prague(id: u8, input: &[u8], gas: u64) -> PrecompileOutput {
        Precompiles::prague()
            .get(&Address::with_last_byte(id))
            .expect("Prague's")
            .execute(input, gas, 0)
            .expect("not fatal")
    }

    /// A MODEXP input with the given lengths and `1`s for the numbers.
    fn modexp_input(base: usize, exp: usize, modulus: usize) -> Vec<u8> {
        let mut input = Vec::new();
        for len in [base, exp, modulus] {
            input.extend_from_slice(&alloy_primitives::U256::from(len).to_be_bytes::<32>());
        }
        input.extend(std::iter::repeat_n(1u8, base + exp + modulus));
        input
    }

    #[test]
    fn the_set_is_prague_s_addresses() {
        let ours: Vec<_> = precompiles().addresses().copied().collect();
        assert_eq!(ours.len(), 17);
        for address in ours {
            assert!(Precompiles::prague().contains(&address), "{address}");
        }
    }

    #[test]
    fn inputs_up_to_the_bound_run_as_prague_runs_them() {
        let gas = 10_000_000;
        for id in [2u8, 3, 4] {
            let input = vec![7u8; MAX_PRECOMPILE_INPUT];
            assert_eq!(run(id, &input, gas), prague(id, &input, gas), "{id}");
            assert!(run(id, &input, gas).is_success());
        }
        // Short and empty inputs, including refused ones (BLAKE2F's length, a BN254 pairing's).
        for id in 1u8..=0x11 {
            for input in [vec![], vec![1u8; 64], vec![3u8; 213], vec![0u8; 192]] {
                assert_eq!(run(id, &input, gas), prague(id, &input, gas), "{id}");
            }
        }
    }

    #[test]
    fn an_input_over_the_bound_halts_every_precompile() {
        let input = vec![0u8; MAX_PRECOMPILE_INPUT + 1];
        for id in 1u8..=0x11 {
            let out = run(id, &input, 30_000_000);
            assert_eq!(
                out.status,
                PrecompileStatus::Halt(PrecompileHalt::other_static(INPUT_TOO_LONG)),
                "{id}"
            );
            assert!(out.bytes.is_empty());
            // Prague itself would have run it (an IDENTITY of 32,737 bytes).
            if id == 4 {
                assert!(prague(id, &input, 30_000_000).is_success());
            }
        }
    }

    #[test]
    fn modexp_keeps_prague_s_price_and_takes_eip_7823_s_bound() {
        let gas = 30_000_000;
        for (base, exp, modulus) in [(1, 1, 1), (64, 32, 64), (1024, 1, 1024), (0, 1024, 0)] {
            let input = modexp_input(base, exp, modulus);
            assert_eq!(
                run(5, &input, gas),
                prague(5, &input, gas),
                "{base} {exp} {modulus}"
            );
        }
        for (base, exp, modulus) in [(1025, 1, 1), (1, 1025, 1), (1, 1, 1025), (0, 2000, 0)] {
            let input = modexp_input(base, exp, modulus);
            let out = run(5, &input, gas);
            assert_eq!(
                out.status,
                PrecompileStatus::Halt(PrecompileHalt::ModexpEip7823LimitSize),
                "{base} {exp} {modulus}"
            );
            assert!(prague(5, &input, gas).is_success(), "Prague runs it");
        }
        // A length past 64 bits is refused by both.
        let mut input = vec![0xffu8; 32];
        input.extend([0u8; 64]);
        assert!(!run(5, &input, gas).is_success());
        assert!(!prague(5, &input, gas).is_success());
    }
}
