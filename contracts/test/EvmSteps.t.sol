// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../src/fault/MachineState.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {EvmStepHelpers, WordModel} from "./evm/EvmStepHelpers.sol";

/// @notice Hand-built instruction steps of docs/evm-steps.md (stage 1), through
///         `OneStepVerifier.step`: every stage-1 opcode, the halts, the refused witnesses and the
///         rest-of-transaction steps.
contract EvmStepsTest is EvmStepHelpers {
    uint256 internal constant MAX = type(uint256).max;
    uint256 internal constant FILLER = 0x1111;

    // ------------------------------------------------------------------------------------------
    // Helpers

    /// @dev `code[pc]` over `before` (bottom first) reads `reads` items and leaves `after_`.
    function checkOp(
        bytes memory code,
        uint256 pc,
        uint256[] memory before,
        uint256 reads,
        uint256[] memory after_,
        uint256 cost,
        uint256 nextPc
    ) internal view {
        Frame memory pre = frame(code, before);
        pre.pc = pc;
        Frame memory post = copy(pre);
        post.stack = after_;
        post.pc = nextPc;
        post.gas = pre.gas - cost;
        assertEq(step(pre, witness(pre, reads, noWords())), continued(pre, post));
    }

    /// @dev A one-byte instruction reading `operands` (top first) and pushing `expected`.
    function arith(uint8 opc, uint256[] memory operands, uint256 expected, uint256 cost) internal view {
        uint256[] memory before = new uint256[](operands.length + 1);
        before[0] = FILLER;
        for (uint256 i; i < operands.length; ++i) {
            before[operands.length - i] = operands[i];
        }
        uint256[] memory after_ = new uint256[](2);
        after_[0] = FILLER;
        after_[1] = expected;
        checkOp(op(opc), 0, before, operands.length, after_, cost, 1);
    }

    function arith2(uint8 opc, uint256 a, uint256 b, uint256 expected, uint256 cost) internal view {
        uint256[] memory o = new uint256[](2);
        o[0] = a;
        o[1] = b;
        arith(opc, o, expected, cost);
    }

    /// @dev A context instruction pushing `expected` onto [FILLER].
    function context(uint8 opc, uint256 expected, uint256 cost) internal view {
        arith(opc, new uint256[](0), expected, cost);
    }

    function expectHalt(Frame memory pre, uint256 reads, uint256 kind, uint256 cost) internal view {
        assertEq(step(pre, witness(pre, reads, noWords())), halted(pre, kind, cost));
    }

    function neg(uint256 x) internal pure returns (uint256) {
        unchecked {
            return 0 - x;
        }
    }

    /// @dev `mem` with `data` written at `offset` (grown as needed).
    function written(bytes memory mem, uint256 offset, bytes memory data) internal pure returns (bytes memory out) {
        out = grown(mem, offset + data.length);
        for (uint256 i; i < data.length; ++i) {
            out[offset + i] = data[i];
        }
    }

    function pattern(uint256 words) internal pure returns (bytes memory m) {
        m = new bytes(words * 32);
        for (uint256 i; i < m.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            m[i] = bytes1(uint8(i * 7 + 1));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Arithmetic, comparison, bitwise

    function test_arithmetic() public view {
        arith2(0x01, MAX, 2, 1, 3); // ADD wraps
        arith2(0x02, 1 << 255, 2, 0, 5); // MUL wraps
        arith2(0x02, 6, 7, 42, 5);
        arith2(0x03, 1, 2, MAX, 3); // SUB wraps
        arith2(0x04, 7, 2, 3, 5); // DIV
        arith2(0x04, 7, 0, 0, 5);
        arith2(0x05, neg(7), 2, neg(3), 5); // SDIV truncates
        arith2(0x05, 1 << 255, MAX, 1 << 255, 5); // -2^255 / -1
        arith2(0x05, 7, 0, 0, 5);
        arith2(0x06, 7, 3, 1, 5); // MOD
        arith2(0x06, 7, 0, 0, 5);
        arith2(0x07, neg(7), 3, neg(1), 5); // SMOD takes the dividend's sign
        arith2(0x07, 7, neg(3), 1, 5);
        arith2(0x07, 7, 0, 0, 5);
        uint256[] memory o = new uint256[](3);
        (o[0], o[1], o[2]) = (MAX, 2, 10);
        arith(0x08, o, 7, 8); // ADDMOD: (2^256 + 1) % 10, no wrap
        (o[0], o[1], o[2]) = (MAX, MAX, 12);
        arith(0x09, o, 9, 8); // MULMOD: (2^256 - 1)^2 % 12 = 3^2 % 12
        (o[0], o[1], o[2]) = (5, 6, 0);
        arith(0x09, o, 0, 8);
        arith2(0x0b, 0, 0xff, MAX, 5); // SIGNEXTEND
        arith2(0x0b, 0, 0x7f, 0x7f, 5);
        arith2(0x0b, 1, 0x128000, neg(0x8000), 5);
        arith2(0x0b, 31, 0x1234, 0x1234, 5);
        arith2(0x0b, 1000, 0xff, 0xff, 5);
    }

    function test_exp() public view {
        arith2(0x0a, 2, 10, 1024, 60);
        arith2(0x0a, 3, 0, 1, 10);
        arith2(0x0a, 0, 0, 1, 10);
        arith2(0x0a, 2, 256, 0, 110); // two exponent bytes
        arith2(0x0a, 3, MAX, _reference(0x0a, 3, MAX, 0), 10 + 50 * 32);
        arith2(0x0a, 2, 1 << 64, 0, 10 + 50 * 9);
        arith2(0x0a, 7, 1 << 64, _reference(0x0a, 7, 1 << 64, 0), 10 + 50 * 9);
    }

    function test_comparisonAndBitwise() public view {
        arith2(0x10, 1, 2, 1, 3); // LT
        arith2(0x10, 2, 1, 0, 3);
        arith2(0x11, 1, 2, 0, 3); // GT
        arith2(0x11, 2, 1, 1, 3);
        arith2(0x12, MAX, 0, 1, 3); // SLT: -1 < 0
        arith2(0x13, MAX, 0, 0, 3); // SGT
        arith2(0x13, 0, MAX, 1, 3);
        arith2(0x14, 5, 5, 1, 3); // EQ
        arith2(0x14, 5, 6, 0, 3);
        arith(0x15, one(0), 1, 3); // ISZERO
        arith(0x15, one(9), 0, 3);
        arith2(0x16, 0xf0f0, 0xff00, 0xf000, 3); // AND
        arith2(0x17, 0xf0f0, 0xff00, 0xfff0, 3); // OR
        arith2(0x18, 0xf0f0, 0xff00, 0x0ff0, 3); // XOR
        arith(0x19, one(0), MAX, 3); // NOT
        arith2(0x1a, 31, 0xab, 0xab, 3); // BYTE
        arith2(0x1a, 0, 0xab << 248, 0xab, 3);
        arith2(0x1a, 32, MAX, 0, 3);
        arith2(0x1b, 4, 1, 16, 3); // SHL
        arith2(0x1b, 256, 1, 0, 3);
        arith2(0x1c, 4, 256, 16, 3); // SHR
        arith2(0x1c, 256, MAX, 0, 3);
        arith2(0x1d, 4, neg(256), neg(16), 3); // SAR
        arith2(0x1d, 300, MAX, MAX, 3);
        arith2(0x1d, 300, 5, 0, 3);
    }

    // ------------------------------------------------------------------------------------------
    // Context

    function test_context() public view {
        MachineState.BlockItem memory b = blockItem();
        context(0x30, uint160(SELF), 2); // ADDRESS
        context(0x32, uint160(CALLER), 2); // ORIGIN
        context(0x33, uint160(CALLER), 2); // CALLER
        context(0x38, 1, 2); // CODESIZE
        context(0x3a, 9, 2); // GASPRICE (machine effectiveGasPrice)
        context(0x3d, 0, 2); // RETURNDATASIZE
        context(0x41, uint160(BENEFICIARY), 2); // COINBASE
        context(0x42, b.timestamp, 2); // TIMESTAMP
        context(0x43, b.number, 2); // NUMBER
        context(0x44, uint256(b.prevrandao), 2); // PREVRANDAO
        context(0x45, b.gasLimit, 2); // GASLIMIT
        context(0x46, CHAIN_ID, 2); // CHAINID
        context(0x48, b.baseFee, 2); // BASEFEE
        context(0x4a, 1, 2); // BLOBBASEFEE
        context(0x5f, 0, 2); // PUSH0
        context(0x58, 0, 2); // PC
        context(0x59, 0, 2); // MSIZE
        arith(0x49, one(0), 0, 3); // BLOBHASH
        arith(0x49, one(5), 0, 3);
    }

    function test_contextOfTheFrame() public view {
        // CALLVALUE, CALLDATASIZE, RETURNDATASIZE, CODESIZE, PC, MSIZE and GAS from the frame.
        bytes memory code = hex"5b5b5b34363d38585a59";
        Frame memory pre = frame(code, one(FILLER));
        pre.value = 12_345;
        pre.data = hex"0102030405";
        pre.returnDataSize = 77;
        pre.mem = new bytes(96);
        uint256[8] memory expected = [uint256(12_345), 5, 77, code.length, 7, pre.gas - 2, 96, 0];
        for (uint256 i; i < 7; ++i) {
            pre.pc = 3 + i;
            Frame memory post = copy(pre);
            post.stack = pushed(pre.stack, one(expected[i]));
            post.pc = pre.pc + 1;
            post.gas = pre.gas - 2;
            assertEq(step(pre, witness(pre, 0, noWords())), continued(pre, post));
        }
    }

    // ------------------------------------------------------------------------------------------
    // Stack and code

    function test_push() public view {
        checkOp(hex"6042", 0, one(FILLER), 0, two(0x42, FILLER), 3, 2); // PUSH1
        bytes memory code = hex"7f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2000";
        checkOp(code, 0, none(), 0, one(0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20), 3, 33); // PUSH32
        // Past the end of the code the data is zero-padded and the pc leaves the code.
        checkOp(hex"00630102", 1, none(), 0, one(0x01020000), 3, 6); // PUSH4 with 2 bytes
        checkOp(hex"7f", 0, none(), 0, one(0), 3, 33);
    }

    function test_dupSwapPop() public view {
        uint256[] memory s = new uint256[](17);
        for (uint256 i; i < 17; ++i) {
            s[i] = 100 + i; // top: 116
        }
        checkOp(op(0x80), 0, s, 1, pushed(s, one(116)), 3, 1); // DUP1
        checkOp(op(0x8f), 0, s, 16, pushed(s, one(101)), 3, 1); // DUP16
        uint256[] memory t = pushed(s, none());
        (t[16], t[15]) = (t[15], t[16]);
        checkOp(op(0x90), 0, s, 2, t, 3, 1); // SWAP1
        t = pushed(s, none());
        (t[16], t[0]) = (t[0], t[16]);
        checkOp(op(0x9f), 0, s, 17, t, 3, 1); // SWAP16
        checkOp(op(0x50), 0, s, 1, popped(s, 1), 2, 1); // POP
        checkOp(op(0x5b), 0, s, 0, s, 1, 1); // JUMPDEST
    }

    function test_jumps() public view {
        // PUSH1 4, JUMP, INVALID, JUMPDEST
        bytes memory code = hex"600456fe5b";
        checkOp(code, 2, two(4, FILLER), 1, one(FILLER), 8, 4);
        // JUMPI taken and not taken.
        code = hex"57fe5b";
        checkOp(code, 0, three(2, 1, FILLER), 2, one(FILLER), 10, 2);
        checkOp(code, 0, three(2, 0, FILLER), 2, one(FILLER), 10, 1);
        // Not taken: the target need not be valid.
        checkOp(code, 0, three(MAX, 0, FILLER), 2, one(FILLER), 10, 1);
        // A JUMPDEST after a PUSH whose data ends before it.
        code = hex"61aabb5b56";
        checkOp(code, 4, one(3), 1, none(), 8, 3);
    }

    function test_invalidJumpsHalt() public view {
        // Into PUSH data: PUSH1 0x5b, JUMP.
        Frame memory pre = frame(hex"605b56", two(1, FILLER));
        pre.pc = 2;
        expectHalt(pre, 1, 3, 0);
        // Past the code's end, and far past it.
        pre.stack = two(3, FILLER);
        expectHalt(pre, 1, 3, 0);
        pre.stack = two(MAX, FILLER);
        expectHalt(pre, 1, 3, 0);
        // Not a JUMPDEST.
        pre.stack = two(0, FILLER);
        expectHalt(pre, 1, 3, 0);
        // JUMPI taken to an invalid target.
        pre = frame(hex"57", three(5, 1, FILLER));
        expectHalt(pre, 2, 3, 0);
        // Into the data of a PUSH32 that runs past the end of the code.
        pre = frame(hex"567f5b5b", two(2, FILLER));
        expectHalt(pre, 1, 3, 0);
    }

    // ------------------------------------------------------------------------------------------
    // Memory and call data

    function test_mload() public view {
        bytes memory mem = pattern(2);
        // Aligned.
        Frame memory pre = frame(op(0x51), two(32, FILLER));
        pre.mem = mem;
        Frame memory post = copy(pre);
        post.stack = two(uint256(bytes32(WordModel.words(mem)[1])), FILLER);
        post.pc = 1;
        post.gas = pre.gas - 3;
        assertEq(step(pre, witness(pre, 1, proofs1(WordModel.proof(mem, 1)))), continued(pre, post));
        // Unaligned: two words.
        pre.stack = two(17, FILLER);
        post.stack = two(_at(mem, 17), FILLER);
        assertEq(
            step(pre, witness(pre, 1, proofs2(WordModel.proof(mem, 0), WordModel.proof(mem, 1)))), continued(pre, post)
        );
        // Growing the memory from 2 to 4 words: the new word is zero.
        pre.stack = two(96, FILLER);
        post.stack = two(0, FILLER);
        post.mem = grown(mem, 128);
        post.gas = pre.gas - 3 - (memoryCost(4) - memoryCost(2));
        assertEq(step(pre, witness(pre, 1, proofs1(WordModel.proof(mem, 3)))), continued(pre, post));
        // Unaligned across the end: one old word, one new.
        pre.stack = two(40, FILLER);
        post.stack = two(_at(grown(mem, 96), 40), FILLER);
        post.mem = grown(mem, 96);
        post.gas = pre.gas - 3 - (memoryCost(3) - memoryCost(2));
        assertEq(
            step(pre, witness(pre, 1, proofs2(WordModel.proof(mem, 1), WordModel.proof(mem, 2)))), continued(pre, post)
        );
    }

    function _at(bytes memory data, uint256 offset) internal pure returns (uint256 w) {
        bytes memory padded = grown(data, offset + 32);
        assembly {
            w := mload(add(add(padded, 32), offset))
        }
    }

    function test_mstore() public view {
        bytes memory mem = pattern(2);
        uint256 value = uint256(keccak256("value"));
        // Aligned, no growth.
        Frame memory pre = frame(op(0x52), three(32, value, FILLER));
        pre.mem = mem;
        Frame memory post = copy(pre);
        post.stack = one(FILLER);
        post.pc = 1;
        post.gas = pre.gas - 3;
        post.mem = written(mem, 32, abi.encode(value));
        assertEq(step(pre, witness(pre, 2, proofs1(WordModel.proof(mem, 1)))), continued(pre, post));
        // Unaligned and growing to 3 words: the second proof is against the root after the first write.
        pre.stack = three(50, value, FILLER);
        bytes memory grownMem = grown(mem, 96);
        post.mem = written(grownMem, 50, abi.encode(value));
        post.gas = pre.gas - 3 - (memoryCost(3) - memoryCost(2));
        bytes memory half = written(grownMem, 50, _slice(abi.encode(value), 0, 14));
        assertEq(
            step(pre, witness(pre, 2, proofs2(WordModel.proof(mem, 1), WordModel.proof(half, 2)))), continued(pre, post)
        );
        // Into empty memory at offset 0.
        pre = frame(op(0x52), three(0, value, FILLER));
        post = copy(pre);
        post.stack = one(FILLER);
        post.pc = 1;
        post.mem = abi.encode(value);
        post.gas = pre.gas - 3 - memoryCost(1);
        assertEq(step(pre, witness(pre, 2, proofs1(WordModel.proof("", 0)))), continued(pre, post));
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = b[from + i];
        }
    }

    function test_mstore8() public view {
        bytes memory mem = pattern(1);
        Frame memory pre = frame(op(0x53), three(33, 0x1234, FILLER));
        pre.mem = mem;
        Frame memory post = copy(pre);
        post.stack = one(FILLER);
        post.pc = 1;
        post.mem = written(grown(mem, 64), 33, hex"34");
        post.gas = pre.gas - 3 - (memoryCost(2) - memoryCost(1));
        assertEq(step(pre, witness(pre, 2, proofs1(WordModel.proof(mem, 1)))), continued(pre, post));
        pre.stack = three(5, 0xff, FILLER);
        post.mem = written(mem, 5, hex"ff");
        post.gas = pre.gas - 3;
        assertEq(step(pre, witness(pre, 2, proofs1(WordModel.proof(mem, 0)))), continued(pre, post));
    }

    function test_calldataload() public view {
        bytes memory data = pattern(3);
        data = _slice(data, 0, 70);
        Frame memory pre = frame(op(0x35), two(0, FILLER));
        pre.data = data;
        Frame memory post = copy(pre);
        post.pc = 1;
        post.gas = pre.gas - 3;
        // Aligned.
        post.stack = two(_at(data, 0), FILLER);
        assertEq(step(pre, witness(pre, 1, proofs1(WordModel.proof(data, 0)))), continued(pre, post));
        // Unaligned, ending in the zero-padded last word.
        pre.stack = two(40, FILLER);
        post.stack = two(_at(data, 40), FILLER);
        assertEq(
            step(pre, witness(pre, 1, proofs2(WordModel.proof(data, 1), WordModel.proof(data, 2)))),
            continued(pre, post)
        );
        // The last byte: word 2 and word 3 (past the array, zero).
        pre.stack = two(69, FILLER);
        post.stack = two(uint256(uint8(data[69])) << 248, FILLER);
        assertEq(
            step(pre, witness(pre, 1, proofs2(WordModel.proof(data, 2), WordModel.proof(data, 3)))),
            continued(pre, post)
        );
        // At or past the end: 0, no words.
        pre.stack = two(70, FILLER);
        post.stack = two(0, FILLER);
        assertEq(step(pre, witness(pre, 1, noWords())), continued(pre, post));
        pre.stack = two(MAX, FILLER);
        assertEq(step(pre, witness(pre, 1, noWords())), continued(pre, post));
    }

    // ------------------------------------------------------------------------------------------
    // Halting

    function test_stopReturnRevert() public view {
        Frame memory pre = frame(hex"00", one(FILLER));
        expectHalt(pre, 0, 1, 0); // STOP
        pre.pc = 5; // past the code: STOP
        expectHalt(pre, 0, 1, 0);
        pre = frame(hex"f3", three(0, 64, FILLER));
        pre.mem = pattern(2);
        expectHalt(pre, 2, 1, 0); // RETURN inside the memory
        pre.stack = three(MAX, 0, FILLER);
        expectHalt(pre, 2, 1, 0); // empty range: the offset is ignored
        pre.stack = three(64, 64, FILLER);
        expectHalt(pre, 2, 1, memoryCost(4) - memoryCost(2)); // RETURN growing the memory
        pre.code = hex"fd";
        expectHalt(pre, 2, 2, memoryCost(4) - memoryCost(2)); // REVERT keeps its gas
        pre.stack = three(0, 0, FILLER);
        expectHalt(pre, 2, 2, 0);
    }

    function test_outOfGas() public view {
        Frame memory pre = frame(op(0x01), three(1, 2, FILLER));
        pre.gas = 2;
        expectHalt(pre, 2, 3, 0); // static
        pre.gas = 3;
        checkOpGas(pre);
        // EXP: 10 + 50 per byte.
        pre = frame(op(0x0a), three(2, 256, FILLER));
        pre.gas = 109;
        expectHalt(pre, 2, 3, 0);
        // Memory expansion.
        pre = frame(op(0x51), two(10_000, FILLER));
        pre.gas = 100;
        expectHalt(pre, 1, 3, 0);
        pre = frame(op(0x52), three(1 << 64, 1, FILLER));
        expectHalt(pre, 2, 3, 0); // offset beyond 64 bits
        pre = frame(op(0x53), three((1 << 64) - 1, 1, FILLER));
        expectHalt(pre, 2, 3, 0); // offset + 1 past 2^64
        pre = frame(hex"f3", three(0, 1 << 64, FILLER));
        expectHalt(pre, 2, 3, 0); // length beyond 64 bits
        pre.stack = three(1 << 64, 1, FILLER);
        expectHalt(pre, 2, 3, 0);
        pre = frame(hex"fd", three(0, 32 * 2000, FILLER));
        pre.gas = memoryCost(2000) - 1;
        expectHalt(pre, 2, 3, 0);
        pre.gas = memoryCost(2000);
        expectHalt(pre, 2, 2, memoryCost(2000));
        // JUMPDEST with no gas, and STOP, which costs nothing.
        pre = frame(hex"5b00", none());
        pre.gas = 0;
        expectHalt(pre, 0, 3, 0);
        pre.pc = 1;
        expectHalt(pre, 0, 1, 0);
    }

    function checkOpGas(Frame memory pre) internal view {
        Frame memory post = copy(pre);
        post.stack = two(3, FILLER);
        post.pc = 1;
        post.gas = 0;
        assertEq(step(pre, witness(pre, 2, noWords())), continued(pre, post));
    }

    function test_stackUnderflowAndOverflow() public view {
        expectHalt(frame(op(0x01), one(1)), 2, 3, 0); // ADD
        expectHalt(frame(op(0x08), two(1, 2)), 3, 3, 0); // ADDMOD
        expectHalt(frame(op(0x50), none()), 1, 3, 0); // POP
        expectHalt(frame(op(0x8f), new uint256[](15)), 16, 3, 0); // DUP16
        expectHalt(frame(op(0x9f), new uint256[](16)), 17, 3, 0); // SWAP16
        expectHalt(frame(hex"f3", one(0)), 2, 3, 0); // RETURN
        uint256[] memory full = new uint256[](1024);
        expectHalt(frame(hex"6001", full), 0, 3, 0); // PUSH1
        expectHalt(frame(op(0x80), full), 1, 3, 0); // DUP1
        expectHalt(frame(op(0x30), full), 0, 3, 0); // ADDRESS
        expectHalt(frame(op(0x5f), full), 0, 3, 0); // PUSH0
        // Full stack: instructions that do not grow it run.
        uint256[] memory after_ = popped(full, 1);
        checkOp(op(0x01), 0, full, 2, after_, 3, 1);
        checkOp(op(0x90), 0, full, 2, full, 3, 1);
        // 1023 items: one more fits.
        checkOp(hex"6007", 0, after_, 0, pushed(after_, one(7)), 3, 2);
    }

    function test_invalidOpcodes() public view {
        uint8[9] memory ops = [0xfe, 0x0c, 0x0f, 0x1e, 0x21, 0x4b, 0xa5, 0xef, 0xf6];
        for (uint256 i; i < ops.length; ++i) {
            expectHalt(frame(op(ops[i]), one(FILLER)), 0, 3, 0);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Refused witnesses

    function test_wrongEvmState() public {
        Frame memory pre = frame(op(0x01), three(1, 2, FILLER));
        bytes memory proof = witness(pre, 2, noWords());
        MachineState.State memory s = machine(pre);
        bytes32 good = s.evm;
        s.evm = keccak256("other");
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, s.evm, good));
        verifier.step(abi.encode(s), proof);
    }

    function test_wrongCode() public {
        Frame memory pre = frame(op(0x01), three(1, 2, FILLER));
        (, bytes memory body) = abi.decode(witness(pre, 2, noWords()), (uint8, bytes));
        (
            EvmTypes.EvmState memory e,,
            uint256[] memory top,
            bytes32 rest,
            EvmTypes.WordProof[] memory words,
            MachineState.BlockItem memory blk
        ) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordProof[], MachineState.BlockItem)
        );
        bytes memory proof = abi.encode(uint8(1), abi.encode(e, hex"02", top, rest, words, blk));
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, e.codeHash, keccak256(hex"02"))
        );
        step(pre, proof);
    }

    function test_wrongBlock() public {
        Frame memory pre = frame(op(0x43), none());
        MachineState.BlockItem memory b = blockItem();
        b.number += 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector,
                MachineState.itemHash(blockItem()),
                MachineState.itemHash(b)
            )
        );
        step(pre, witnessWith(pre, 0, noWords(), b));
    }

    function test_wrongStackOpening() public {
        Frame memory pre = frame(op(0x01), three(1, 2, FILLER));
        // One item too few, one too many.
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        step(pre, witness(pre, 1, noWords()));
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        step(pre, witness(pre, 3, noWords()));
        // A wrong item.
        Frame memory lie = copy(pre);
        lie.stack = three(1, 3, FILLER);
        bytes memory proof = witnessWith(lie, 2, noWords(), blockItem());
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (, bytes memory code, uint256[] memory top, bytes32 rest,,) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordProof[], MachineState.BlockItem)
        );
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        step(pre, abi.encode(uint8(1), abi.encode(state(pre), code, top, rest, noWords(), blockItem())));
        // A wrong rest.
        top[1] = 2;
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        step(
            pre,
            abi.encode(uint8(1), abi.encode(state(pre), code, top, rest ^ bytes32(uint256(1)), noWords(), blockItem()))
        );
        // Underflow with items given.
        Frame memory small = frame(op(0x01), one(1));
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        step(
            small,
            abi.encode(uint8(1), abi.encode(state(small), small.code, one(1), bytes32(0), noWords(), blockItem()))
        );
    }

    function test_wrongWordProofs() public {
        bytes memory mem = pattern(2);
        Frame memory pre = frame(op(0x51), two(17, FILLER));
        pre.mem = mem;
        EvmTypes.WordProof memory p0 = WordModel.proof(mem, 0);
        EvmTypes.WordProof memory p1 = WordModel.proof(mem, 1);
        // Missing, extra, wrong index.
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 1, proofs1(p0)));
        EvmTypes.WordProof[] memory three_ = new EvmTypes.WordProof[](3);
        (three_[0], three_[1], three_[2]) = (p0, p1, p1);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 1, three_));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 1, proofs2(p1, p0)));
        // A wrong word, a tampered sibling.
        EvmTypes.WordProof memory bad = WordModel.proof(mem, 1);
        bad.word ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1));
        step(pre, witness(pre, 1, proofs2(p0, bad)));
        bad = WordModel.proof(mem, 0);
        bad.siblings[7] ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        step(pre, witness(pre, 1, proofs2(bad, p1)));
        // A write's second proof against the root before the first write.
        pre = frame(op(0x52), three(50, MAX, FILLER));
        pre.mem = mem;
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 1));
        step(pre, witness(pre, 2, proofs2(WordModel.proof(mem, 1), WordModel.proof(mem, 2))));
        // Words for an instruction that takes none, or that halts before its access.
        pre = frame(op(0x01), three(1, 2, FILLER));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 2, proofs1(p0)));
        pre = frame(op(0x51), two(10_000, FILLER));
        pre.gas = 10;
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 1, proofs1(WordModel.proof("", 312))));
        // CALLDATALOAD past the end takes none.
        pre = frame(op(0x35), two(0, FILLER));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        step(pre, witness(pre, 1, proofs1(WordModel.proof("", 0))));
    }

    function test_unsupportedSteps() public {
        uint8[8] memory ops = [0x20, 0x31, 0x3b, 0x47, 0xf1, 0xf0, 0xf4, 0xff];
        for (uint256 i; i < ops.length; ++i) {
            Frame memory pre = frame(op(ops[i]), three(1, 2, 3));
            vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
            step(pre, witness(pre, 0, noWords()));
        }
        // The rest-of-transaction step's empty witness, and an unknown kind.
        Frame memory f = frame(op(0x01), none());
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        step(f, "");
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        step(f, abi.encode(uint8(15), bytes("")));
        // An instruction witness against the entry marker.
        MachineState.State memory s = machine(f);
        s.evm = EvmTypes.entryMarker(TX_HASH);
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, s.evm, EvmTypes.hash(state(f)))
        );
        verifier.step(abi.encode(s), witness(f, 0, noWords()));
    }

    /// @notice The EVM verifier refuses pre-states of other phases when called directly.
    function test_otherPhasesRefused() public {
        Frame memory f = frame(op(0x00), none());
        MachineState.State memory s = machine(f);
        s.phase = MachineState.TX_EXECUTED;
        bytes memory proof = witness(f, 0, noWords());
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        evm.step(s, proof);
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz: the verifier's arithmetic against Solidity's

    function testFuzz_arithmetic(uint256 which, uint256 a, uint256 b, uint256 c, bool small) public view {
        uint8[22] memory ops = [
            0x01,
            0x02,
            0x03,
            0x04,
            0x05,
            0x06,
            0x07,
            0x08,
            0x09,
            0x0a,
            0x0b,
            0x10,
            0x11,
            0x12,
            0x13,
            0x14,
            0x16,
            0x17,
            0x18,
            0x1a,
            0x1b,
            0x1d
        ];
        uint8 opc = ops[which % ops.length];
        if (small) {
            // Small operands hit the interesting cases (shift and byte indices, sign bytes, zero).
            a %= 300;
            b = (b % 3 == 0) ? 0 : b;
        }
        uint256[] memory o = new uint256[](opc == 0x08 || opc == 0x09 ? 3 : 2);
        o[0] = a;
        o[1] = b;
        if (o.length == 3) o[2] = c;
        uint256 cost = opc == 0x0a ? 10 + (b == 0 ? 0 : 50 * _bytes(b)) : _cost(opc);
        arith(opc, o, _reference(opc, a, b, c), cost);
    }

    /// @notice MSTORE or MSTORE8 at a random offset, then MLOAD at another, against a plain byte array.
    function testFuzz_memoryRoundTrip(uint256 offset, uint256 readAt, uint256 value, bool single) public view {
        offset %= 160;
        Frame memory pre = frame(op(single ? 0x53 : 0x52), three(offset, value, FILLER));
        pre.mem = pattern(3);
        // MSTORE8 writes the low byte.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes memory m = _write(pre, offset, single ? abi.encodePacked(uint8(value)) : abi.encode(value));
        _read(m, readAt % 200);
    }

    function _write(Frame memory pre, uint256 offset, bytes memory data) internal view returns (bytes memory) {
        bytes memory grownMem = grown(pre.mem, (offset + data.length + 31) / 32 * 32);
        Frame memory post = copy(pre);
        post.stack = one(FILLER);
        post.pc = 1;
        post.mem = written(grownMem, offset, data);
        post.gas = pre.gas - 3 - (memoryCost(grownMem.length / 32) - memoryCost(3));
        assertEq(step(pre, witness(pre, 2, _writeProofs(pre.mem, grownMem, offset, data))), continued(pre, post));
        return post.mem;
    }

    /// @dev The word proofs of a write of `data` at `offset`: the second one after the first write.
    function _writeProofs(bytes memory mem, bytes memory grownMem, uint256 offset, bytes memory data)
        internal
        pure
        returns (EvmTypes.WordProof[] memory words)
    {
        words = proofs1(WordModel.proof(mem, offset / 32));
        if (data.length == 32 && offset % 32 != 0) {
            bytes memory half = written(grownMem, offset, _slice(data, 0, 32 - offset % 32));
            words = proofs2(words[0], WordModel.proof(half, offset / 32 + 1));
        }
    }

    function _read(bytes memory m, uint256 readAt) internal view {
        Frame memory pre = frame(op(0x51), two(readAt, FILLER));
        pre.mem = m;
        bytes memory readMem = grown(m, (readAt + 32 + 31) / 32 * 32);
        Frame memory post = copy(pre);
        post.stack = two(_at(readMem, readAt), FILLER);
        post.pc = 1;
        post.mem = readMem;
        post.gas = pre.gas - 3 - (memoryCost(readMem.length / 32) - memoryCost(m.length / 32));
        EvmTypes.WordProof[] memory words = proofs1(WordModel.proof(m, readAt / 32));
        if (readAt % 32 != 0) words = proofs2(words[0], WordModel.proof(m, readAt / 32 + 1));
        assertEq(step(pre, witness(pre, 1, words)), continued(pre, post));
    }

    /// @notice A valid witness (an unaligned MSTORE, or an entry-less ADD) with one byte changed
    ///         either reverts with one of the verifier's errors (or the ABI decoder's empty revert;
    ///         never a Panic other than the decoder's 0x41) or proves another post-state.
    function testFuzz_mutatedWitness(uint256 pos, uint8 xor, bool memoryOp) public view {
        Frame memory pre;
        bytes memory proof;
        if (memoryOp) {
            pre = frame(op(0x52), three(50, type(uint256).max, FILLER));
            pre.mem = pattern(2);
            bytes memory half = written(grown(pre.mem, 96), 50, _slice(abi.encode(type(uint256).max), 0, 14));
            proof = witness(pre, 2, proofs2(WordModel.proof(pre.mem, 1), WordModel.proof(half, 2)));
        } else {
            pre = frame(op(0x01), three(1, 2, FILLER));
            proof = witness(pre, 2, noWords());
        }
        bytes32 honest = step(pre, proof);
        if (xor == 0) xor = 1;
        bytes memory original = bytes.concat(proof);
        pos %= proof.length;
        proof[pos] = proof[pos] ^ bytes1(xor);
        // A change in the ABI padding of a `bytes` (which abi.decode ignores) is the same witness.
        try this.reencode(proof) returns (bytes memory same) {
            if (keccak256(same) == keccak256(original)) return;
        } catch {}
        try verifier.step(abi.encode(machine(pre)), proof) returns (bytes32 post) {
            assertTrue(post != honest, "a changed witness proved the same post-state");
        } catch (bytes memory reason) {
            if (reason.length == 0) return;
            // The first four bytes are the selector.
            // forge-lint: disable-next-line(unsafe-typecast)
            bytes4 sel = bytes4(reason);
            if (sel == bytes4(0x4e487b71)) {
                uint256 code;
                assembly {
                    code := mload(add(reason, 36))
                }
                assertEq(code, 0x41, "panic");
                return;
            }
            assertTrue(
                sel == IEvmStepVerifier.EvmStateMismatch.selector || sel == IEvmStepVerifier.EvmCodeMismatch.selector
                    || sel == IEvmStepVerifier.StackMismatch.selector
                    || sel == IEvmStepVerifier.WordProofMismatch.selector
                    || sel == IEvmStepVerifier.UnexpectedWords.selector
                    || sel == IEvmStepVerifier.BlockItemMismatch.selector
                    || sel == IEvmStepVerifier.UnsupportedStep.selector
                    || sel == IEvmStepVerifier.InvalidPreState.selector,
                "unknown revert"
            );
        }
    }

    /// @dev The instruction witness decoded and encoded again (canonical padding).
    function reencode(bytes calldata proof) external pure returns (bytes memory) {
        (uint8 kind, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (
            EvmTypes.EvmState memory e,
            bytes memory code,
            uint256[] memory top,
            bytes32 rest,
            EvmTypes.WordProof[] memory words,
            MachineState.BlockItem memory blk
        ) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordProof[], MachineState.BlockItem)
        );
        return abi.encode(kind, abi.encode(e, code, top, rest, words, blk));
    }

    function testFuzz_shiftsAndSar(uint256 shift, uint256 value) public view {
        shift %= 270;
        arith2(0x1b, shift, value, shift >= 256 ? 0 : value << shift, 3);
        arith2(0x1c, shift, value, shift >= 256 ? 0 : value >> shift, 3);
        arith2(0x1d, shift, value, _sar(shift, value), 3);
        arith(0x19, one(value), ~value, 3);
        arith(0x15, one(value), value == 0 ? 1 : 0, 3);
    }

    function _cost(uint8 opc) internal pure returns (uint256) {
        if (opc == 0x08 || opc == 0x09) return 8;
        if (opc == 0x01 || opc == 0x03 || opc >= 0x10) return 3;
        return 5;
    }

    function _bytes(uint256 x) internal pure returns (uint256 n) {
        while (x != 0) {
            x >>= 8;
            ++n;
        }
    }

    // Signed reinterpretations of words are the point of the reference below.
    // forge-lint: disable-start(unsafe-typecast)
    function _sar(uint256 shift, uint256 value) internal pure returns (uint256) {
        if (shift >= 256) return int256(value) < 0 ? MAX : 0;
        return uint256(int256(value) >> shift);
    }

    /// @dev Reference semantics in plain Solidity (no inline assembly).
    function _reference(uint8 opc, uint256 a, uint256 b, uint256 c) internal pure returns (uint256) {
        unchecked {
            if (opc == 0x01) return a + b;
            if (opc == 0x02) return a * b;
            if (opc == 0x03) return a - b;
            if (opc == 0x04) return b == 0 ? 0 : a / b;
            if (opc == 0x05) {
                if (b == 0) return 0;
                if (int256(a) == type(int256).min && int256(b) == -1) return a;
                return uint256(int256(a) / int256(b));
            }
            if (opc == 0x06) return b == 0 ? 0 : a % b;
            if (opc == 0x07) {
                if (b == 0) return 0;
                // |a| % |b| with a's sign (Solidity's % truncates like SMOD).
                if (int256(b) == -1) return 0;
                return uint256(int256(a) % int256(b));
            }
            if (opc == 0x08) return c == 0 ? 0 : addmod(a, b, c);
            if (opc == 0x09) return c == 0 ? 0 : mulmod(a, b, c);
            if (opc == 0x0a) {
                uint256 r = 1;
                uint256 base = a;
                for (uint256 e = b; e != 0; e >>= 1) {
                    if (e & 1 == 1) r *= base;
                    base *= base;
                }
                return r;
            }
            if (opc == 0x0b) {
                if (a >= 31) return b;
                uint256 bits = 8 * (a + 1);
                uint256 mask = (uint256(1) << bits) - 1;
                uint256 low = b & mask;
                bool negative = (b >> (bits - 1)) & 1 == 1;
                return negative ? low | ~mask : low;
            }
            if (opc == 0x10) return a < b ? 1 : 0;
            if (opc == 0x11) return a > b ? 1 : 0;
            if (opc == 0x12) return int256(a) < int256(b) ? 1 : 0;
            if (opc == 0x13) return int256(a) > int256(b) ? 1 : 0;
            if (opc == 0x14) return a == b ? 1 : 0;
            if (opc == 0x16) return a & b;
            if (opc == 0x17) return a | b;
            if (opc == 0x18) return a ^ b;
            if (opc == 0x1a) return a >= 32 ? 0 : uint256(uint8(bytes32(b)[a]));
            if (opc == 0x1b) return a >= 256 ? 0 : b << a;
            return _sar(a, b);
        }
    }
    // forge-lint: disable-end(unsafe-typecast)
}
