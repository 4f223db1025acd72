// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmFrame} from "./EvmFrame.sol";

/// @title PrecompilePrices
/// @notice The price of each of the chain's precompiles (Prague's `0x01..0x11`) for an input, and
///         whether it refuses the input before running it (its length, or for MODEXP a length
///         over 1,024 bytes, EIP-7823), exactly as `core/src/precompiles.rs` computes them on
///         revm-precompile 43 (docs/evm-steps.md section 4, "Calls to precompiles"). Whether a
///         well-formed input is valid (a point on the curve, a KZG proof, a BLAKE2F flag already
///         here) is the L1 precompile's to say.
library PrecompilePrices {
    /// @notice The longest input any of the chain's precompiles takes (`MAX_PRECOMPILE_INPUT`):
    ///         a longer one fails the call unread. 32,736 bytes span at most 1,024 memory words
    ///         at any offset, one range a step opens: the steps' chunk, which the bound exists for.
    uint256 internal constant MAX_INPUT = EvmFrame.CHUNK_BYTES;
    /// @notice The longest base, exponent or modulus MODEXP takes (EIP-7823, as Osaka's L1).
    uint256 internal constant MODEXP_LENGTH_LIMIT = 1024;

    /// @dev EIP-2537's discounts (per mille) of a G1 and a G2 multi-scalar multiplication of
    ///      1..128 pairs (more pairs use the last), two big-endian bytes each.
    bytes internal constant G1_DISCOUNTS = hex"03e803b50350031d02fc02ee02e202d802cf02c802c102ba02b402af02aa02a502a1029d029902950292028e"
        hex"028b0288028502820280027d027b0278027602730271026f026d026b026902670265026302610260025e025c"
        hex"025b0259025702560254025302510250024f024d024c024a02490248024602450244024302410240023f023e"
        hex"023d023c023a0239023802370236023502340233023202310230022f022e022d022c022b022a022902280227"
        hex"02260225022402230223022202210220021f021e021d021c021c021b021a0219021802180217021602150214"
        hex"021402130212021102100210020f020e020d020d020c020b020a020a0209020802080207";
    bytes internal constant G2_DISCOUNTS = hex"03e803e8039b037403570340032c031c030e030202f702ed02e402dc02d402cd02c702c002bb02b502b002ab"
        hex"02a702a2029e029a02970293028f028c0289028602830280027d027a0278027502730270026e026c026a0267"
        hex"026502630261025f025e025c025a025802560255025302510250024e024d024b024a02480247024602440243"
        hex"02420240023f023e023d023b023a023902380237023602350233023202310230022f022e022d022c022b022a"
        hex"022902280228022702260225022402230222022102210220021f021e021d021d021c021b021a021902190218"
        hex"021702170216021502140214021302120212021102100210020f020e020e020d020c020c";

    /// @notice `valid` is false when revm refuses the input before its price matters (any price
    ///         then fails the call the same way: all the forwarded gas is used).
    function price(uint256 id, bytes memory input) internal pure returns (bool valid, uint256 gas) {
        uint256 n = input.length;
        if (n > MAX_INPUT) return (false, 0);
        uint256 words = (n + 31) / 32;
        if (id == 1) return (true, 3000);
        if (id == 2) return (true, 60 + 12 * words);
        if (id == 3) return (true, 600 + 120 * words);
        if (id == 4) return (true, 15 + 3 * words);
        if (id == 5) return modexp(input);
        // BN254 (EIP-1108): ADD and MUL pad or cut their input to 128 and 96 bytes.
        if (id == 6) return (true, 150);
        if (id == 7) return (true, 6000);
        if (id == 8) return (n % 192 == 0, 45_000 + 34_000 * (n / 192));
        if (id == 9) {
            // BLAKE2F: 213 bytes, a final-block flag of 0 or 1; one gas a round (the first four bytes).
            if (n != 213 || uint8(input[212]) > 1) return (false, 0);
            // forge-lint: disable-next-line(unsafe-typecast)
            return (true, uint32(bytes4(input)));
        }
        if (id == 10) return (n == 192, 50_000);
        // BLS12-381 (EIP-2537).
        if (id == 11) return (n == 256, 375);
        if (id == 12) return (n != 0 && n % 160 == 0, msm(n / 160, G1_DISCOUNTS, 12_000));
        if (id == 13) return (n == 512, 600);
        if (id == 14) return (n != 0 && n % 288 == 0, msm(n / 288, G2_DISCOUNTS, 22_500));
        if (id == 15) return (n != 0 && n % 384 == 0, 37_700 + 32_600 * (n / 384));
        if (id == 16) return (n == 64, 5500);
        if (id == 17) return (n == 128, 23_800);
        return (false, 0);
    }

    /// @notice EIP-2537's multi-scalar multiplication of `k` pairs:
    ///         `k * discount[min(k, 128) - 1] * base / 1000`.
    function msm(uint256 k, bytes memory discounts, uint256 base) internal pure returns (uint256) {
        if (k == 0) return 0;
        uint256 i = (k > 128 ? 128 : k) - 1;
        uint256 discount = uint256(uint8(discounts[2 * i])) << 8 | uint8(discounts[2 * i + 1]);
        return k * discount * base / 1000;
    }

    /// @notice MODEXP as Berlin priced it (EIP-2565; Prague keeps it), with EIP-7823's bound: the
    ///         lengths from the first 96 bytes (zero-padded), any of them over 1,024 refused;
    ///         `max(200, ceil(max(baseLen, modLen) / 8)^2 * iterations / 3)` (at most about 45M),
    ///         with the iterations from the exponent's length and its first (at most) 32 bytes.
    function modexp(bytes memory input) internal pure returns (bool, uint256) {
        uint256 baseLen = word(input, 0);
        uint256 expLen = word(input, 32);
        uint256 modLen = word(input, 64);
        if (baseLen > MODEXP_LENGTH_LIMIT || expLen > MODEXP_LENGTH_LIMIT || modLen > MODEXP_LENGTH_LIMIT) {
            return (false, 0);
        }
        // The exponent's first min(expLen, 32) bytes, zero-padded past the input.
        uint256 head = word(input, 96 + baseLen);
        if (expLen < 32) head >>= 8 * (32 - expLen);
        uint256 bits = bitLength(head);
        uint256 iterations;
        if (expLen <= 32) {
            iterations = bits == 0 ? 0 : bits - 1;
        } else {
            iterations = 8 * (expLen - 32) + (bits == 0 ? 0 : bits - 1);
        }
        if (iterations == 0) iterations = 1;
        uint256 w = (baseLen > modLen ? baseLen : modLen);
        w = (w + 7) / 8;
        uint256 gas = w * w * iterations / 3;
        return (true, gas < 200 ? 200 : gas);
    }

    /// @dev The 32 bytes of `data` at `at`, zero-padded past its end.
    function word(bytes memory data, uint256 at) internal pure returns (uint256 w) {
        uint256 n = data.length;
        if (at >= n) return 0;
        assembly {
            w := mload(add(add(data, 32), at))
        }
        if (n - at < 32) w = (w >> (8 * (32 - (n - at)))) << (8 * (32 - (n - at)));
    }

    /// @dev The number of bits of `x` (0 for 0).
    function bitLength(uint256 x) internal pure returns (uint256 n) {
        for (uint256 s = 128; s != 0; s >>= 1) {
            if (x >> s != 0) {
                x >>= s;
                n += s;
            }
        }
        if (x != 0) ++n;
    }
}
