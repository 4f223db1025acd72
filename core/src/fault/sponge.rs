//! Keccak256's sponge, carried between the steps of a KECCAK256 too long for one step
//! (docs/evm-steps.md section 4, "Chunked hashes"): the 200-byte Keccak-f[1600] state as the
//! seven stack words a continuation holds, and the absorbing and squeezing the L1 verifier's
//! `KeccakSponge` library mirrors.

use alloy_primitives::{B256, U256};

/// Keccak256's rate: the bytes one permutation absorbs.
pub const RATE: usize = 136;

/// Words of the stack holding the state between steps: its 200 bytes, then 24 zero bytes.
pub const STATE_WORDS: usize = 7;

/// The sponge of keccak256: lane `i` is bytes `8i..8i+8` of the state, little-endian.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeccakSponge {
    lanes: [u64; 25],
}

impl KeccakSponge {
    /// Absorbs whole blocks (`data.len()` a multiple of [`RATE`]).
    pub fn absorb(&mut self, data: &[u8]) {
        assert!(data.len().is_multiple_of(RATE), "whole blocks only");
        for block in data.chunks_exact(RATE) {
            self.absorb_block(block);
        }
    }

    fn absorb_block(&mut self, block: &[u8]) {
        for (lane, bytes) in self.lanes.iter_mut().zip(block.chunks_exact(8)) {
            *lane ^= u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        }
        keccak::Keccak::new().with_f1600(|f1600| f1600(&mut self.lanes));
    }

    /// Absorbs the last bytes (any number) with keccak256's padding and squeezes the hash.
    pub fn finish(mut self, data: &[u8]) -> B256 {
        let whole = data.len() - data.len() % RATE;
        self.absorb(&data[..whole]);
        let mut last = [0u8; RATE];
        let tail = &data[whole..];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len()] ^= 0x01;
        last[RATE - 1] ^= 0x80;
        self.absorb_block(&last);
        B256::from_slice(&self.bytes()[..32])
    }

    /// The state's 200 bytes.
    pub fn bytes(&self) -> [u8; 200] {
        let mut out = [0u8; 200];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(&self.lanes) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }

    /// The stack words `w0..w6` holding the state (its bytes, then 24 zero bytes), `w0` first.
    pub fn words(&self) -> [U256; STATE_WORDS] {
        let mut padded = [0u8; 32 * STATE_WORDS];
        padded[..200].copy_from_slice(&self.bytes());
        std::array::from_fn(|i| U256::from_be_slice(&padded[32 * i..32 * (i + 1)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn the_sponge_hashes_as_keccak256_at_every_split() {
        let data: Vec<u8> = (0..2_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in [0, 1, 135, 136, 137, 271, 272, 273, 1_000, 1_224, 2_000] {
            let input = &data[..len];
            for blocks in 0..=len / RATE {
                let mut sponge = KeccakSponge::default();
                sponge.absorb(&input[..blocks * RATE]);
                assert_eq!(
                    sponge.finish(&input[blocks * RATE..]),
                    keccak256(input),
                    "len {len}, split after {blocks} blocks"
                );
            }
        }
    }

    #[test]
    fn the_state_is_the_standard_byte_layout() {
        // Keccak-f[1600] of the zero state: its first lane is 0xF1258F7940E1DDE7.
        let mut sponge = KeccakSponge::default();
        sponge.absorb(&[0u8; RATE]);
        let words = sponge.words();
        assert_eq!(
            &words[0].to_be_bytes::<32>()[..8],
            &0xF125_8F79_40E1_DDE7u64.to_le_bytes()
        );
        // The last word: 8 state bytes, then 24 zero bytes.
        assert_eq!(words[6].to_be_bytes::<32>()[8..], [0u8; 24]);
        assert_ne!(words[6], U256::ZERO);
    }
}
