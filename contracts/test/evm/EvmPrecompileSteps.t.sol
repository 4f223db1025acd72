// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EvmStepHelpers, WordModel, RangeModel} from "./EvmStepHelpers.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {EvmPrecompileCallVerifier} from "../../src/fault/evm/EvmPrecompileCallVerifier.sol";
import {PrecompilePrices} from "../../src/fault/evm/PrecompilePrices.sol";

/// @dev Exposes the library's prices.
contract PricesHarness {
    function price(uint256 id, bytes memory input) external pure returns (bool, uint256) {
        return PrecompilePrices.price(id, input);
    }
}

/// @dev Calls without a value to the Prague precompiles (docs/evm-steps.md section 4, "Calls to
///      precompiles"): the prices of revm 43 computed by hand, and hand-built kind-5 steps (a
///      success, an input the L1 precompile refuses, a caller starving the L1 call).
contract EvmPrecompileStepsTest is EvmStepHelpers {
    PricesHarness internal prices;
    EvmPrecompileCallVerifier internal calls;

    function setUp() public override {
        super.setUp();
        prices = new PricesHarness();
        calls = new EvmPrecompileCallVerifier();
    }

    function priced(uint256 id, bytes memory input, uint256 expected) internal view {
        (bool valid, uint256 gas) = prices.price(id, input);
        assertTrue(valid, "valid");
        assertEq(gas, expected, "price");
    }

    function refused(uint256 id, bytes memory input) internal view {
        (bool valid,) = prices.price(id, input);
        assertTrue(!valid, "refused");
    }

    function modexpInput(uint256 baseLen, uint256 expLen, uint256 modLen, bytes memory rest)
        internal
        pure
        returns (bytes memory)
    {
        return bytes.concat(abi.encode(baseLen, expLen, modLen), rest);
    }

    function test_pricesOfThePriorPrecompiles() public view {
        priced(1, new bytes(128), 3000);
        priced(2, new bytes(33), 60 + 12 * 2);
        priced(3, new bytes(33), 600 + 120 * 2);
        priced(4, new bytes(33), 15 + 3 * 2);
        priced(4, "", 15);
        bytes memory b = new bytes(213);
        b[3] = bytes1(uint8(12));
        priced(9, b, 12);
        b[212] = bytes1(uint8(2));
        refused(9, b);
        refused(9, new bytes(212));
        refused(0, "");
        refused(18, "");
    }

    /// @dev EIP-2565 (Berlin, kept by Prague): max(200, ceil(max(baseLen, modLen) / 8)^2 * iterations / 3).
    function test_modexpPrices() public view {
        // 3^5 mod 7: 1 word, iterations bitlen(5) - 1 = 2, 1 * 2 / 3 = 0 -> the minimum.
        priced(5, modexpInput(1, 1, 1, hex"030507"), 200);
        // EIP-198's first example: 32-byte exponent p - 2 (256 bits): 4 words, 16 * 255 / 3.
        priced(
            5,
            modexpInput(
                1,
                32,
                32,
                hex"03fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2efffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"
            ),
            1360
        );
        // A 64-byte exponent whose head (first 32 bytes) is 1: 8 * (64 - 32) + 0 iterations, 16 * 256 / 3.
        priced(5, modexpInput(32, 64, 32, bytes.concat(new bytes(32), bytes32(uint256(1)))), 1365);
        // The head past the input is zero-padded: 8 * 32 iterations of 4 words.
        priced(5, modexpInput(32, 64, 32, ""), 1365);
        // An exponent head of 0x80 in a 1-byte exponent: bitlen 8, 7 iterations.
        priced(5, modexpInput(0, 1, 256, hex"80"), 2389); // 32 * 32 * 7 / 3
        // A 3-byte exponent 0x000100 read from a 2-byte one: head 0x0001, 1 bit -> 1 iteration.
        priced(5, modexpInput(0, 2, 100, hex"000100"), 200);
        // Large lengths: ceil(1000 / 8)^2 = 15625 per iteration.
        priced(5, modexpInput(1000, 2, 8, hex""), 5208); // 15625 / 3
        // The header padded with zeros: nothing at all, and a cut length.
        priced(5, "", 200);
        priced(5, hex"0000000000000000000000000000000000000000000000000000000000000001", 200);
        // EIP-7823 (the chain's bound, as Osaka's L1): 1,024 bytes each are priced (ceil(1024 /
        // 8)^2 = 16,384 per iteration; a zero 1,024-byte exponent: 8 * 992 iterations), one more
        // byte of any of the three, or a length past 64 bits, is refused.
        priced(5, modexpInput(1024, 0, 0, ""), 5461); // 16384 / 3
        priced(5, modexpInput(0, 1024, 1, ""), 2645); // 1 * 7936 / 3
        priced(5, modexpInput(1, 1024, 1024, ""), 43_341_141); // 16384 * 7936 / 3
        refused(5, modexpInput(1025, 0, 0, ""));
        refused(5, modexpInput(0, 1025, 0, ""));
        refused(5, modexpInput(0, 0, 1025, ""));
        refused(5, modexpInput(1 << 64, 0, 0, ""));
        refused(5, modexpInput(0, 0, 1 << 64, ""));
        refused(5, modexpInput(1, 1 << 200, 1, ""));
    }

    /// @dev The chain's bound on every precompile's input (core/src/precompiles.rs): 32,736
    ///      bytes are priced, one more is refused whatever the precompile.
    function test_inputsOverTheChainsBoundAreRefused() public view {
        uint256 bound = PrecompilePrices.MAX_INPUT;
        assertEq(bound, 32_736);
        priced(2, new bytes(bound), 60 + 12 * 1023);
        priced(4, new bytes(bound), 15 + 3 * 1023);
        priced(8, new bytes(192 * 170), 45_000 + 34_000 * 170);
        for (uint256 id = 1; id <= 17; ++id) {
            refused(id, new bytes(bound + 1));
        }
        refused(8, new bytes(192 * 171));
    }

    /// @dev EIP-1108 (Istanbul) and EIP-4844.
    function test_bn254AndKzgPrices() public view {
        priced(6, "", 150);
        priced(6, new bytes(300), 150);
        priced(7, new bytes(5), 6000);
        priced(8, "", 45_000);
        priced(8, new bytes(384), 45_000 + 2 * 34_000);
        refused(8, new bytes(100));
        refused(8, new bytes(193));
        priced(10, new bytes(192), 50_000);
        refused(10, new bytes(191));
        refused(10, new bytes(224));
    }

    /// @dev EIP-2537, with its discount tables (per mille): G1 1000, 949, ..., 519 at 128 pairs;
    ///      G2 1000, 1000, 923, ..., 524.
    function test_bls12381Prices() public view {
        priced(11, new bytes(256), 375);
        refused(11, new bytes(255));
        priced(12, new bytes(160), 12_000);
        priced(12, new bytes(320), 2 * 949 * 12);
        priced(12, new bytes(160 * 128), 128 * 519 * 12);
        priced(12, new bytes(160 * 200), 200 * 519 * 12);
        refused(12, "");
        refused(12, new bytes(161));
        priced(13, new bytes(512), 600);
        refused(13, new bytes(256));
        priced(14, new bytes(288), 22_500);
        priced(14, new bytes(576), 45_000);
        priced(14, new bytes(864), 62_302); // 3 * 923 * 22.5
        priced(14, new bytes(288 * 113), 1_357_695); // 113 * 534 * 22.5
        refused(14, "");
        refused(14, new bytes(160));
        priced(15, new bytes(384), 37_700 + 32_600);
        priced(15, new bytes(768), 37_700 + 2 * 32_600);
        refused(15, "");
        refused(15, new bytes(383));
        priced(16, new bytes(64), 5500);
        refused(16, new bytes(48));
        priced(17, new bytes(128), 23_800);
        refused(17, new bytes(96));
    }

    /// @dev Each table entry against EIP-2537's, at a few points.
    function test_msmDiscountTables() public pure {
        uint16[6] memory at = [uint16(1), 2, 3, 64, 127, 128];
        uint16[6] memory g1 = [uint16(1000), 949, 848, 576, 520, 519];
        uint16[6] memory g2 = [uint16(1000), 1000, 923, 582, 524, 524];
        for (uint256 i; i < 6; ++i) {
            assertEq(PrecompilePrices.msm(at[i], PrecompilePrices.G1_DISCOUNTS, 1000), uint256(at[i]) * g1[i]);
            assertEq(PrecompilePrices.msm(at[i], PrecompilePrices.G2_DISCOUNTS, 1000), uint256(at[i]) * g2[i]);
        }
    }

    // --- the prices against the L1 precompiles (forge's EVM is revm at Prague) ---

    /// @dev `input` to precompile `id` succeeds with `price` gas and fails with one less.
    function exactPrice(uint256 id, bytes memory input) internal view {
        (bool valid, uint256 gas) = PrecompilePrices.price(id, input);
        assertTrue(valid, "valid");
        (bool ok,) = address(uint160(id)).staticcall{gas: gas}(input);
        assertTrue(ok, "the price suffices");
        (ok,) = address(uint160(id)).staticcall{gas: gas - 1}(input);
        assertTrue(!ok, "one less does not");
    }

    function repeated(bytes memory unit, uint256 k) internal pure returns (bytes memory out) {
        for (uint256 i; i < k; ++i) {
            out = bytes.concat(out, unit);
        }
    }

    /// @dev MODEXP of random lengths, exponent heads and cuts of the input: the price is the
    ///      least gas the L1 precompile takes.
    function testFuzz_modexpPriceIsTheL1Price(
        uint16 baseLen,
        uint16 expLen,
        uint16 modLen,
        bytes32 head,
        uint8 shift,
        uint16 cut
    ) public view {
        baseLen %= 300;
        expLen %= 300;
        modLen %= 300;
        bytes memory base = new bytes(baseLen);
        bytes memory exponent = bytes.concat(bytes32(uint256(head) >> shift), new bytes(expLen));
        bytes memory modulus = new bytes(modLen);
        if (modLen != 0) modulus[modLen - 1] = 0x07;
        bytes memory input = bytes.concat(abi.encode(baseLen, expLen, modLen), base, exponent);
        assembly {
            // The exponent: its first expLen bytes.
            mstore(input, sub(mload(input), 32))
        }
        input = bytes.concat(input, modulus);
        uint256 n = input.length;
        if (cut % 3 == 0) n = cut % (n + 1);
        assembly {
            mstore(input, n)
        }
        exactPrice(5, input);
    }

    function test_bn254PricesAreTheL1Prices() public view {
        bytes memory g1 = abi.encode(1, 2);
        bytes memory g2 =
            hex"198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c21800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa";
        exactPrice(6, bytes.concat(g1, g1));
        exactPrice(6, "");
        exactPrice(7, bytes.concat(g1, bytes32(uint256(5))));
        exactPrice(8, "");
        for (uint256 k = 1; k <= 4; ++k) {
            exactPrice(8, repeated(bytes.concat(g1, g2), k));
        }
    }

    function test_kzgPriceIsTheL1Price() public view {
        exactPrice(
            10,
            hex"01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff000000001522a4a7f34e1ea350ae07c29c96c7e79655aa926122e95fe69fcbd932ca49e98f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7a62ad71d14c5719385c0686f1871430475bf3a00f0aa3f7b8dd99a9abc2160744faf0070725e00b60ad9a026a15b1a8c"
        );
    }

    /// @dev Every entry of both discount tables (1..130 pairs of a generator and a scalar).
    function test_bls12381PricesAreTheL1Prices() public view {
        bytes memory g1 = bytes.concat(
            new bytes(16),
            hex"17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb",
            new bytes(16),
            hex"08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1"
        );
        bytes memory g2 = bytes.concat(
            bytes.concat(
                new bytes(16),
                hex"024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8",
                new bytes(16),
                hex"13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
            ),
            bytes.concat(
                new bytes(16),
                hex"0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801",
                new bytes(16),
                hex"0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be"
            )
        );
        exactPrice(11, bytes.concat(g1, g1));
        exactPrice(13, bytes.concat(g2, g2));
        exactPrice(16, new bytes(64));
        exactPrice(17, new bytes(128));
        bytes memory msm1;
        bytes memory msm2;
        for (uint256 k = 1; k <= 130; ++k) {
            msm1 = bytes.concat(msm1, g1, bytes32(k));
            msm2 = bytes.concat(msm2, g2, bytes32(k));
            exactPrice(12, msm1);
            // Past 113 pairs a G2 MSM's input is over the chain's bound (32,736 bytes).
            if (msm2.length <= PrecompilePrices.MAX_INPUT) exactPrice(14, msm2);
            else refused(14, msm2);
        }
        for (uint256 k = 1; k <= 3; ++k) {
            exactPrice(15, repeated(bytes.concat(g1, g2), k));
        }
    }

    // --- hand-built steps ---

    /// @dev A STATICCALL of `id` with `input` at memory 0 and `outLen` bytes of output right after
    ///      it: the pre-state frame, the machine state (an empty state trie: the precompile is
    ///      absent) and the witness, whose output range covers `written` bytes.
    function callStep(uint256 id, bytes memory input, uint256 outLen, uint256 gasArg, uint256 written)
        internal
        pure
        returns (Frame memory f, MachineState.State memory s, bytes memory proof)
    {
        uint256 inWords = (input.length + 31) / 32;
        uint256[] memory stack = new uint256[](6);
        (stack[0], stack[1], stack[2], stack[3], stack[4], stack[5]) =
        (outLen, inWords * 32, input.length, 0, id, gasArg);
        f = frame(hex"fa", stack);
        f.gas = 1_000_000;
        f.mem = bytes.concat(input, new bytes(inWords * 32 - input.length));
        s = machine(f);
        s.stateRoot = MerkleTrie.EMPTY_ROOT;
        uint256[] memory top = new uint256[](6);
        for (uint256 i; i < 6; ++i) {
            top[i] = stack[5 - i];
        }
        EvmPrecompileCallVerifier.PrecompileCallWitness memory w;
        w.calleeProof = new bytes[](0);
        if (inWords != 0) w.input = RangeModel.range(f.mem, 0, inWords - 1);
        if (written != 0) w.output = RangeModel.range(f.mem, inWords, inWords + (written - 1) / 32);
        proof = abi.encode(uint8(5), abi.encode(state(f), f.code, top, bytes32(0), w));
    }

    /// @dev The post-state of that call: `ok` with `output`, or failed having used `forwarded`.
    function after_(
        Frame memory f,
        MachineState.State memory s,
        uint256 outLen,
        bool ok,
        bytes memory output,
        uint256 price
    ) internal pure returns (bytes32) {
        uint256 oldWords = f.mem.length / 32;
        uint256 newWords = outLen == 0 ? oldWords : oldWords + (outLen + 31) / 32;
        uint256 cost = 100 + memoryCost(newWords) - memoryCost(oldWords);
        Frame memory g = copy(f);
        g.stack = one(ok ? 1 : 0);
        g.pc = 1;
        g.mem = grown(f.mem, newWords * 32);
        if (ok) {
            uint256 n = outLen < output.length ? outLen : output.length;
            for (uint256 i; i < n; ++i) {
                g.mem[oldWords * 32 + i] = output[i];
            }
            cost += price;
            g.returnDataSize = output.length;
        } else {
            uint256 left = f.gas - cost;
            uint256 gasArg = f.stack[5];
            uint256 all = left - left / 64;
            cost += gasArg < all ? gasArg : all;
        }
        g.gas = f.gas - cost;
        EvmTypes.EvmState memory e = state(g);
        if (ok) e.returnDataRoot = WordModel.root(output);
        MachineState.State memory post = abi.decode(abi.encode(s), (MachineState.State));
        post.evm = EvmTypes.hash(e);
        return MachineState.hash(post);
    }

    /// @dev The BN254 pairing check of nothing is valid (1) and costs 45,000.
    function test_emptyPairingSucceeds() public view {
        (Frame memory f, MachineState.State memory s, bytes memory proof) = callStep(8, "", 32, 100_000, 32);
        bytes32 expected = after_(f, s, 32, true, abi.encode(uint256(1)), 45_000);
        assertEq(calls.step(s, proof), expected);
    }

    /// @dev (1, 1) is not on BN254: the L1 precompile fails with its price as gas, so the L2 call
    ///      fails and uses all the forwarded gas.
    function test_pointOffTheCurveFails() public view {
        bytes memory input = abi.encode(uint256(1), uint256(1), uint256(1), uint256(2));
        (Frame memory f, MachineState.State memory s, bytes memory proof) = callStep(6, input, 64, 50_000, 0);
        assertEq(calls.step(s, proof), after_(f, s, 64, false, "", 0));
        // The generator plus itself succeeds.
        input = abi.encode(uint256(1), uint256(2), uint256(1), uint256(2));
        (f, s, proof) = callStep(6, input, 64, 50_000, 64);
        (bool called, bytes memory out) = address(6).staticcall(input);
        assertTrue(called);
        assertEq(calls.step(s, proof), after_(f, s, 64, true, out, 150));
    }

    /// @dev A MAP_FP_TO_G1 of a wrong length fails before L1 is asked; a price above the
    ///      forwarded gas fails too.
    function test_refusedInputsAndTooLittleGasFail() public view {
        (Frame memory f, MachineState.State memory s, bytes memory proof) = callStep(16, new bytes(48), 128, 50_000, 0);
        assertEq(calls.step(s, proof), after_(f, s, 128, false, "", 0));
        (f, s, proof) = callStep(16, new bytes(64), 128, 5499, 0);
        assertEq(calls.step(s, proof), after_(f, s, 128, false, "", 0));
        (f, s, proof) = callStep(16, new bytes(64), 128, 5500, 128);
        (bool called, bytes memory out) = address(0x10).staticcall(new bytes(64));
        assertTrue(called);
        assertEq(out.length, 128);
        assertEq(calls.step(s, proof), after_(f, s, 128, true, out, 5500));
    }

    /// @dev SHA256 of 32,736 bytes at memory 0 succeeds (its price, the L1 output); of 32,737 bytes
    ///      it fails unread: no input range in the witness, all the forwarded gas used, no return
    ///      data, the output range expanded but not written. A witness that does carry the input's
    ///      range proves the same failure.
    function test_inputOverTheBoundFailsUnread() public view {
        bytes memory input = new bytes(PrecompilePrices.MAX_INPUT);
        for (uint256 i; i < input.length; i += 97) {
            // forge-lint: disable-next-line(unsafe-typecast)
            input[i] = bytes1(uint8(i));
        }
        (Frame memory f, MachineState.State memory s, bytes memory proof) = callStep(2, input, 32, 100_000, 32);
        (bool called, bytes memory out) = address(2).staticcall(input);
        assertTrue(called);
        assertEq(calls.step(s, proof), after_(f, s, 32, true, out, 60 + 12 * 1023));

        bytes memory long = bytes.concat(input, hex"01");
        (f, s, proof) = callStep(2, long, 32, 100_000, 0);
        bytes32 failed = after_(f, s, 32, false, "", 0);
        assertEq(calls.step(s, proof), failed, "with the range in the witness");
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (
            EvmTypes.EvmState memory e,
            bytes memory code,
            uint256[] memory top,
            bytes32 rest,
            EvmPrecompileCallVerifier.PrecompileCallWitness memory w
        ) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmPrecompileCallVerifier.PrecompileCallWitness)
        );
        EvmTypes.WordRange memory none;
        w.input = none;
        proof = abi.encode(uint8(5), abi.encode(e, code, top, rest, w));
        assertEq(calls.step(s, proof), failed, "without it");
    }

    /// @dev A caller that gives the step too little gas cannot make the L1 call fail for want of
    ///      gas (which would prove a failure): at every gas limit the step either proves the
    ///      success or reverts, and some limits revert `InsufficientGasForPrecompile(45000)`.
    function test_starvedL1CallReverts() public {
        (Frame memory f, MachineState.State memory s, bytes memory proof) = callStep(8, "", 32, 100_000, 32);
        bytes32 expected = after_(f, s, 32, true, abi.encode(uint256(1)), 45_000);
        bytes memory call = abi.encodeCall(calls.step, (s, proof));
        bytes memory guard =
            abi.encodeWithSelector(EvmPrecompileCallVerifier.InsufficientGasForPrecompile.selector, 45_000);
        uint256 guarded;
        uint256 proven;
        for (uint256 g = 20_000; g < 120_000; g += 500) {
            (bool ok, bytes memory ret) = address(calls).call{gas: g}(call);
            if (ok) {
                assertEq(abi.decode(ret, (bytes32)), expected, "only the success is proven");
                ++proven;
            } else if (keccak256(ret) == keccak256(guard)) {
                ++guarded;
            } else {
                assertEq(ret.length, 0, "out of gas, nothing else");
            }
        }
        assertGt(guarded, 0);
        assertGt(proven, 0);
        emit log_named_uint("gas limits refused by the guard", guarded);
    }
}
