// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {EvmStepHelpers, RangeModel, WordModel} from "./evm/EvmStepHelpers.sol";

/// @notice Gas of `OneStepVerifier.step` for EVM instruction steps, per instruction group: each
///         instruction once in a 1-byte-scale code and once at the end of a 24,576-byte code (the
///         largest deployable), with the most word proofs it takes (unaligned: two) and, for jumps,
///         a target at the end of the largest code (the JUMPDEST scan runs over all of it). Logs
///         median and worst; the calldata of the L1 transaction is logged separately (a 24 KiB
///         code costs about 16 gas per byte of calldata on top).
contract EvmGasTest is EvmStepHelpers {
    uint256 internal constant MAX_CODE = 24_576;
    uint256 internal constant FILLER = 0x1111;

    uint256[] internal gasUsed;
    uint256 internal worstCalldata;

    /// @dev `op` at the end of a code of `size` bytes (JUMPDESTs before it: no PUSH data).
    function codeWith(bytes memory ops, uint256 size) internal pure returns (bytes memory code, uint256 pc) {
        if (size < ops.length) size = ops.length;
        code = new bytes(size);
        pc = size - ops.length;
        for (uint256 i; i < pc; ++i) {
            code[i] = 0x5b;
        }
        for (uint256 i; i < ops.length; ++i) {
            code[pc + i] = ops[i];
        }
    }

    function measure(Frame memory f, uint256 reads, EvmTypes.WordProof[] memory words) internal {
        bytes memory pre = abi.encode(machine(f));
        bytes memory proof = witness(f, reads, words);
        uint256 used = this.gasOfStep(pre, proof);
        gasUsed.push(used);
        if (proof.length + pre.length > worstCalldata) worstCalldata = proof.length + pre.length;
    }

    /// @dev Gas of one `step` call, from a fresh call frame (the test's own memory does not count).
    function gasOfStep(bytes calldata pre, bytes calldata proof) external view returns (uint256) {
        uint256 before = gasleft();
        verifier.step(pre, proof);
        return before - gasleft();
    }

    /// @dev One instruction in a small and in the largest code.
    function both(bytes memory ops, uint256[] memory stack, uint256 reads, bytes memory mem, uint256 memProofs)
        internal
    {
        uint256[2] memory sizes = [uint256(1), MAX_CODE];
        for (uint256 k; k < 2; ++k) {
            (bytes memory code, uint256 pc) = codeWith(ops, sizes[k]);
            Frame memory f = frame(code, stack);
            f.pc = pc;
            f.mem = mem;
            f.data = mem;
            EvmTypes.WordProof[] memory words = new EvmTypes.WordProof[](memProofs);
            for (uint256 i; i < memProofs; ++i) {
                words[i] = WordModel.proof(mem, i);
            }
            measure(f, reads, words);
        }
    }

    function report(string memory name) internal {
        uint256 n = gasUsed.length;
        uint256[] memory v = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            v[i] = gasUsed[i];
        }
        for (uint256 i = 1; i < n; ++i) {
            uint256 x = v[i];
            uint256 j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                --j;
            }
            v[j] = x;
        }
        console.log(string.concat(name, " (cases, median gas, worst gas)"), n, v[n / 2], v[n - 1]);
        delete gasUsed;
    }

    function stackOf(uint256 n) internal pure returns (uint256[] memory s) {
        s = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            s[i] = uint256(keccak256(abi.encode(i)));
        }
    }

    function test_gasPerInstructionGroup() public {
        bytes memory mem = new bytes(96);
        for (uint256 i; i < 96; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            mem[i] = bytes1(uint8(i + 1));
        }
        // Arithmetic and bitwise.
        uint8[8] memory arith = [0x01, 0x02, 0x05, 0x07, 0x0b, 0x1a, 0x1d, 0x10];
        for (uint256 i; i < arith.length; ++i) {
            both(abi.encodePacked(arith[i]), stackOf(3), 2, "", 0);
        }
        both(hex"08", stackOf(3), 3, "", 0);
        both(hex"09", stackOf(3), 3, "", 0);
        report("arithmetic/bitwise");
        // EXP with a 32-byte exponent.
        uint256[] memory s = stackOf(3);
        s[1] = type(uint256).max;
        both(hex"0a", s, 2, "", 0);
        report("EXP");
        // Context.
        uint8[8] memory ctx = [0x30, 0x32, 0x34, 0x3a, 0x41, 0x44, 0x46, 0x5a];
        for (uint256 i; i < ctx.length; ++i) {
            both(abi.encodePacked(ctx[i]), stackOf(3), 0, "", 0);
        }
        both(hex"49", stackOf(3), 1, "", 0);
        report("context");
        // Stack.
        both(hex"7f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", stackOf(3), 0, "", 0);
        both(hex"8f", stackOf(17), 16, "", 0);
        both(hex"9f", stackOf(17), 17, "", 0);
        both(hex"50", stackOf(3), 1, "", 0);
        both(hex"5b", stackOf(3), 0, "", 0);
        report("PUSH/DUP/SWAP/POP/JUMPDEST");
        // Memory, unaligned (two proofs) and aligned.
        s = stackOf(3);
        s[2] = 17;
        both(hex"51", s, 1, mem, 2);
        s[2] = 0;
        both(hex"51", s, 1, mem, 1);
        memoryWrites(mem);
        report("MLOAD/MSTORE/MSTORE8");
        s[2] = 17;
        both(hex"35", s, 1, mem, 2);
        s[2] = 0;
        both(hex"35", s, 1, mem, 1);
        report("CALLDATALOAD");
        jumps();
        report("JUMP/JUMPI");
        s[2] = 0;
        s[1] = 96;
        both(hex"f3", s, 2, mem, 0);
        both(hex"fd", s, 2, mem, 0);
        both(hex"00", s, 0, mem, 0);
        both(hex"fe", s, 0, mem, 0);
        report("halts (STOP/RETURN/REVERT/INVALID)");
        // LOG0..LOG4 of 64 bytes at offset 0: the price and the memory (the log is not committed).
        for (uint256 n; n <= 4; ++n) {
            s = stackOf(n + 3);
            s[n + 2] = 0;
            s[n + 1] = 64;
            // forge-lint: disable-next-line(unsafe-typecast)
            both(abi.encodePacked(uint8(0xa0 + n)), s, n + 2, mem, 0);
        }
        report("LOG0-LOG4");
        console.log("largest step calldata (bytes)", worstCalldata);
    }

    function measureRanges(Frame memory f, uint256 reads, EvmTypes.WordRange[] memory ranges) internal {
        bytes memory pre = abi.encode(machine(f));
        bytes memory proof = rangeWitness(f, reads, ranges);
        gasUsed.push(this.gasOfStep(pre, proof));
        if (proof.length + pre.length > worstCalldata) worstCalldata = proof.length + pre.length;
    }

    /// @notice Stage 2: KECCAK256 of a mapping key (64 bytes), 1 KiB and the most one step hashes
    ///         (1023 words, `CHUNK_BYTES`: a longer hash is chunked, test/evm/EvmChunkedHashSteps.t.sol);
    ///         a copy from call data and code of 100 bytes; MCOPY of 1 KiB
    ///         and the first step of an MCOPY of 1024 words (chunked: backward, its first chunk the
    ///         last 1023 words; the worst copy step: 1023 words read, 1023 written).
    function test_gasOfHashingAndCopies() public {
        worstCalldata = 0;
        uint256 big = 1024 * 32;
        bytes memory mem = new bytes(2 * big);
        for (uint256 i; i < mem.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            mem[i] = bytes1(uint8(i * 13 + 1));
        }
        uint256[3] memory lens = [uint256(64), 1024, big - 32];
        for (uint256 k; k < 3; ++k) {
            Frame memory f = frame(op(0x20), two(0, lens[k]));
            f.mem = mem;
            f.gas = 1_000_000;
            measureRanges(f, 2, ranges1(RangeModel.range(mem, 0, lens[k] / 32 - 1)));
        }
        report("KECCAK256 (64 B, 1 KiB, 32,736 B)");
        Frame memory c = frame(hex"37", three(7, 3, 100));
        c.mem = mem;
        c.data = new bytes(200);
        EvmTypes.WordRange[] memory r = new EvmTypes.WordRange[](2);
        r[0] = RangeModel.range(c.data, 0, 3);
        r[1] = RangeModel.range(mem, 0, 3);
        measureRanges(c, 3, r);
        c.code = bytes.concat(hex"39", new bytes(200));
        EvmTypes.WordRange[] memory one1 = new EvmTypes.WordRange[](1);
        one1[0] = RangeModel.range(mem, 0, 3);
        measureRanges(c, 3, one1);
        report("CALLDATACOPY/CODECOPY (100 B)");
        for (uint256 k = 1; k < 3; ++k) {
            Frame memory f = frame(op(0x5e), three(big, 0, lens[k]));
            f.mem = mem;
            f.gas = 1_000_000;
            uint256 last = lens[k] / 32 - 1;
            // Over CHUNK_BYTES (32,736) the first step copies the last 1023 words (dst > src: backward).
            uint256 first = lens[k] > 32_736 ? 1 : 0;
            r[0] = RangeModel.range(mem, first, last);
            r[1] = RangeModel.range(mem, 1024 + first, 1024 + last);
            measureRanges(f, 3, r);
        }
        report("MCOPY (1 KiB, first step of 32 KiB: 1023 words)");
        console.log("largest stage-2 step calldata (bytes)", worstCalldata);
    }

    function memoryWrites(bytes memory mem) internal {
        uint256[2] memory sizes = [uint256(1), MAX_CODE];
        for (uint256 k; k < 2; ++k) {
            // MLOAD measured above; MSTORE unaligned (two writes) and MSTORE8.
            (bytes memory code, uint256 pc) = codeWith(hex"52", sizes[k]);
            uint256[] memory s = stackOf(3);
            s[2] = 17;
            s[1] = type(uint256).max;
            Frame memory f = frame(code, s);
            f.pc = pc;
            f.mem = mem;
            bytes memory half = bytes.concat(mem);
            for (uint256 i = 17; i < 32; ++i) {
                half[i] = 0xff;
            }
            measure(f, 2, proofs2(WordModel.proof(mem, 0), WordModel.proof(half, 1)));
            (code, pc) = codeWith(hex"53", sizes[k]);
            f.code = code;
            f.pc = pc;
            measure(f, 2, proofs1(WordModel.proof(mem, 0)));
        }
        // MLOAD again so the group has its loads too.
        for (uint256 k; k < 2; ++k) {
            (bytes memory code, uint256 pc) = codeWith(hex"51", sizes[k]);
            uint256[] memory s = stackOf(3);
            s[2] = 17;
            Frame memory f = frame(code, s);
            f.pc = pc;
            f.mem = mem;
            measure(f, 1, proofs2(WordModel.proof(mem, 0), WordModel.proof(mem, 1)));
        }
    }

    function jumps() internal {
        // Small: PUSH1 3 JUMP JUMPDEST; large: JUMP at 0 to the last byte of a JUMPDEST-filled code.
        Frame memory f = frame(hex"5b565b", stackOf(2));
        f.stack[1] = 2;
        f.pc = 1;
        measure(f, 1, noWords());
        (bytes memory code,) = codeWith(hex"5b", MAX_CODE);
        code[0] = 0x56;
        f = frame(code, stackOf(2));
        f.stack[1] = MAX_CODE - 1;
        measure(f, 1, noWords());
        // The same with the code full of PUSH1s (half the scan steps) and JUMPI taken.
        for (uint256 i = 1; i + 1 < MAX_CODE; i += 2) {
            code[i] = 0x60;
        }
        code[0] = 0x57;
        f = frame(code, stackOf(3));
        f.stack[2] = MAX_CODE - 1;
        f.stack[1] = 1;
        measure(f, 2, noWords());
        // The slowest scan: one PUSH1 per word (no word is skipped whole), the rest one-byte opcodes.
        (code,) = codeWith(hex"5b", MAX_CODE);
        for (uint256 i = 32; i + 1 < MAX_CODE; i += 32) {
            code[i] = 0x60;
        }
        code[0] = 0x56;
        f = frame(code, stackOf(2));
        f.stack[1] = MAX_CODE - 1;
        measure(f, 1, noWords());
    }
}
