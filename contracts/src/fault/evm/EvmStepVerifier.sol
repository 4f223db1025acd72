// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {MachineState} from "../MachineState.sol";
import {EvmDelegatedEntryVerifier} from "./EvmDelegatedEntryVerifier.sol";
import {EvmCallVerifier} from "./EvmCallVerifier.sol";

/// @title EvmStepVerifier
/// @notice The `IN_TX` steps of the fault-proof machine (docs/evm-steps.md, stage 1): the entry
///         step (kind 0, forwarded to `ENTRY`, an `EvmEntryVerifier`) and one instruction of a
///         frame at any depth (kind 1): the stack, memory, call data, code, block and transaction
///         context instructions of section 4, BLOCKHASH (section 12: a word of the block item's
///         `recentHashes`), gas exactly as revm 43 (Prague) charges it, and the frame's end (at
///         depth 0 into `TX_EXECUTED`, deeper or in a creation transaction's init frame into the
///         returning state of sections 9 and 10). Stage 2 (KECCAK256 and the
///         copies, and the steps of a call's arguments over 32 KiB, kind 2) is forwarded to `COPY`,
///         an `EvmCopyVerifier`; stage 3 (state access, kind 3, and EXTCODECOPY, kind 7) to `STATE`,
///         an `EvmStateVerifier`; the calls (kind 4) to `CALL`, an `EvmCallVerifier`, and the calls to
///         precompiles (kind 5), the return step (kind 6), CREATE and CREATE2 (kind 8), the creation
///         transaction's entry (kind 9) and SELFDESTRUCT (kind 10) to the verifiers `CALL` was
///         deployed with (`PRECOMPILES`, `RETURNS`, `CREATES`, `CREATION_TXS`, `SELFDESTRUCTS`); the entry of a call transaction to an EIP-7702 delegated recipient (kind 11) to
///         `DELEGATED_ENTRY`, an `EvmDelegatedEntryVerifier` this verifier creates; an EIP-7702
///         transaction's authorizations (kind 12) to `AUTHORIZATION`, an `EvmAuthorizationVerifier`, and
///         its entry (kind 13) to `AUTHORIZED_ENTRY`, an `EvmAuthorizedEntryVerifier` (section 1.2).
///         Every other instruction is a rest-of-transaction step and reverts `UnsupportedStep(2)`.
///         Mirrored off chain by `core/src/fault/evm.rs`.
contract EvmStepVerifier is IEvmStepVerifier {
    /// @notice The L2 chain id (CHAINID).
    uint64 public immutable CHAIN_ID;
    /// @notice The entry step's verifier.
    IEvmStepVerifier public immutable ENTRY;

    /// @notice Stage 2 (KECCAK256 and the copies, kind 2), an `EvmCopyVerifier` deployed before this
    ///         verifier.
    IEvmStepVerifier public immutable COPY;

    /// @notice Stage 3 (storage, transient storage and account reads, kind 3; EXTCODECOPY, kind 7),
    ///         an `EvmStateVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable STATE;

    /// @notice The calls (kind 4), an `EvmCallVerifier` deployed before this one (the creation code
    ///         of all the verifiers together would pass EIP-3860's limit), with the five verifiers
    ///         below.
    IEvmStepVerifier public immutable CALL;

    /// @notice `CALL`'s `PRECOMPILES` (kind 5), `RETURNS` (kind 6), `CREATES` (kind 8),
    ///         `CREATION_TXS` (kind 9) and `SELFDESTRUCTS` (kind 10), read from it at deployment.
    IEvmStepVerifier public immutable PRECOMPILES;
    IEvmStepVerifier public immutable RETURNS;
    IEvmStepVerifier public immutable CREATES;
    IEvmStepVerifier public immutable CREATION_TXS;
    IEvmStepVerifier public immutable SELFDESTRUCTS;

    /// @notice The entry step of a call transaction whose recipient is an EIP-7702 delegation
    ///         (kind 11, docs/evm-steps.md section 1.1), an `EvmDelegatedEntryVerifier` created by
    ///         this verifier's constructor (its creation code fits in this one's).
    IEvmStepVerifier public immutable DELEGATED_ENTRY;

    /// @notice An EIP-7702 transaction's authorization steps (kind 12, docs/evm-steps.md section 1.2),
    ///         an `EvmAuthorizationVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable AUTHORIZATION;

    /// @notice An EIP-7702 transaction's entry step (kind 13, docs/evm-steps.md section 1.2), an
    ///         `EvmAuthorizedEntryVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable AUTHORIZED_ENTRY;

    uint256 internal constant STACK_LIMIT = 1024;
    uint256 internal constant MAX_U64 = type(uint64).max;

    uint256 internal constant CONTINUE = EvmFrame.CONTINUE;
    uint256 internal constant SUCCESS = EvmFrame.SUCCESS;
    uint256 internal constant REVERTED = EvmFrame.REVERTED;
    uint256 internal constant EXCEPTION = EvmFrame.EXCEPTION;

    // Opcode classes.
    /// @dev Not defined on Prague (or INVALID): halts.
    uint256 internal constant UNDEFINED = 0;
    uint256 internal constant STAGE1 = 1;
    /// @dev Defined but not a stage-1 instruction: the rest-of-transaction step.
    uint256 internal constant UNSUPPORTED = 2;

    /// @dev One instruction step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        EvmTypes.WordProof[] words;
        MachineState.BlockItem blk;
        /// @dev Gas the instruction costs so far.
        uint256 cost;
        /// @dev Word proofs consumed.
        uint256 used;
        /// @dev Memory size after the instruction.
        uint256 memSize;
        /// @dev Stack size after the instruction.
        uint256 stackSize;
        /// @dev Items the instruction pushes (0 or 1).
        uint256 pushes;
        /// @dev RETURN, REVERT: the output's memory range (0, 0 when empty).
        uint256 outOffset;
        uint256 outSize;
    }

    /// @param chainId The L2 chain id (CHAINID).
    /// @param entry An `EvmEntryVerifier` (kind 0).
    /// @param copy An `EvmCopyVerifier` (kind 2).
    /// @param state An `EvmStateVerifier` (kinds 3 and 7).
    /// @param call An `EvmCallVerifier` (kind 4; its five verifiers: kinds 5, 6, 8, 9, 10).
    /// @param authorization An `EvmAuthorizationVerifier` (kind 12).
    /// @param authorizedEntry An `EvmAuthorizedEntryVerifier` (kind 13).
    constructor(
        uint64 chainId,
        IEvmStepVerifier entry,
        IEvmStepVerifier copy,
        IEvmStepVerifier state,
        IEvmStepVerifier call,
        IEvmStepVerifier authorization,
        IEvmStepVerifier authorizedEntry
    ) {
        CHAIN_ID = chainId;
        ENTRY = entry;
        COPY = copy;
        STATE = state;
        CALL = call;
        EvmCallVerifier calls = EvmCallVerifier(address(call));
        PRECOMPILES = calls.PRECOMPILES();
        RETURNS = calls.RETURNS();
        CREATES = calls.CREATES();
        CREATION_TXS = calls.CREATION_TXS();
        SELFDESTRUCTS = calls.SELFDESTRUCTS();
        AUTHORIZATION = authorization;
        AUTHORIZED_ENTRY = authorizedEntry;
        DELEGATED_ENTRY = new EvmDelegatedEntryVerifier(chainId);
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind == 0) return ENTRY.step(pre, proof);
        if (kind == 11) return DELEGATED_ENTRY.step(pre, proof);
        if (kind == 2) return COPY.step(pre, proof);
        if (kind == 3 || kind == 7) return STATE.step(pre, proof);
        if (kind == 12) return AUTHORIZATION.step(pre, proof);
        if (kind == 13) return AUTHORIZED_ENTRY.step(pre, proof);
        if (kind == 4) return CALL.step(pre, proof);
        if (kind == 5) return PRECOMPILES.step(pre, proof);
        if (kind == 6 || kind == 14) return RETURNS.step(pre, proof);
        if (kind == 8) return CREATES.step(pre, proof);
        if (kind == 9) return CREATION_TXS.step(pre, proof);
        if (kind == 10) return SELFDESTRUCTS.step(pre, proof);
        if (kind != 1) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.words, r.blk) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordProof[], MachineState.BlockItem)
        );
        bytes32 computed = EvmTypes.hash(r.e);
        if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
        computed = keccak256(r.code);
        if (computed != r.e.codeHash) revert EvmCodeMismatch(r.e.codeHash, computed);
        computed = MachineState.itemHash(r.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
        r.memSize = r.e.memSize;
        uint256 outcome = _execute(pre, r);
        if (r.used != r.words.length) revert UnexpectedWords();
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize, r.outOffset, r.outSize);
    }

    // ------------------------------------------------------------------------------------------
    // The instruction

    function _execute(MachineState.State memory pre, Run memory r) private view returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        uint256 pc = e.pc;
        // A frame in the middle of a chunked copy is the copy verifier's (kind 2).
        if (pc >= EvmFrame.CHUNK_PC) revert UnsupportedStep(MachineState.IN_TX);
        uint256 op = pc < r.code.length ? uint8(r.code[pc]) : 0;
        (uint256 class, uint256 reads, uint256 pops, uint256 pushes, uint256 gas) = _shape(op);
        if (class == UNSUPPORTED) revert UnsupportedStep(MachineState.IN_TX);
        uint256 size = e.stackSize;
        if (size < reads) {
            if (r.top.length != 0) revert StackMismatch();
            return EXCEPTION;
        }
        if (r.top.length != reads || StackHash.build(r.top, r.rest) != e.stack) revert StackMismatch();
        if (class == UNDEFINED || gas > e.gas || size - pops + pushes > STACK_LIMIT) return EXCEPTION;
        r.cost = gas;
        r.stackSize = size - pops + pushes;
        r.pushes = pushes;
        return _dispatch(pre, r, op);
    }

    /// @dev The instruction `op`, whose stack items are open and static gas is paid.
    function _dispatch(MachineState.State memory pre, Run memory r, uint256 op) private view returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 pc = e.pc;
        uint256 next = pc + 1;
        uint256 result;
        if (op == 0x00) {
            return SUCCESS;
        } else if (op < 0x20) {
            result = _arith(op, top);
            if (op == 0x0a && top[1] != 0) {
                // EXP: 50 per byte of the exponent.
                r.cost += 50 * _byteLength(top[1]);
                if (r.cost > e.gas) return EXCEPTION;
            }
        } else if (op < 0x50) {
            if (op == 0x35) {
                result = _calldataLoad(r, top[0]);
            } else if (op == 0x40) {
                result = _blockHash(r, top[0]);
            } else {
                result = _context(pre, r, op);
            }
        } else if (op >= 0x60 && op < 0x80) {
            // PUSHn: n bytes of code after the opcode, zero past its end.
            uint256 n = op - 0x5f;
            result = _codeWord(r.code, pc + 1) >> (256 - 8 * n);
            next = pc + 1 + n;
        } else if (op >= 0x80 && op < 0xa0) {
            if (op < 0x90) {
                // DUPn: the stack grows by a copy of item n.
                e.stack = StackHash.push(e.stack, top[op - 0x80]);
            } else {
                // SWAPn: items 0 and n trade places.
                uint256 n = op - 0x8f;
                (top[0], top[n]) = (top[n], top[0]);
                e.stack = StackHash.build(top, r.rest);
            }
            // At most STACK_LIMIT; the pc stays below the code's length plus 33.
            // forge-lint: disable-next-line(unsafe-typecast)
            e.stackSize = uint16(r.stackSize);
            // forge-lint: disable-next-line(unsafe-typecast)
            e.pc = uint32(next);
            return CONTINUE;
        } else if (op == 0xf3 || op == 0xfd) {
            // RETURN, REVERT: the memory range is paid for (only when it is not empty) and is the
            // output (of a frame at depth >= 1).
            if (top[1] > MAX_U64) return EXCEPTION;
            if (top[1] != 0) {
                if (!_expand(r, top[0], top[1])) return EXCEPTION;
                r.outOffset = top[0];
                r.outSize = top[1];
            }
            return op == 0xf3 ? SUCCESS : REVERTED;
        } else if (op >= 0xa0) {
            // LOG0..LOG4 (offset len topics...): a static frame halts; 375 a topic and 8 a byte, then
            // the memory range (only when it is not empty). The log itself is not committed
            // (docs/fault-proof.md section 1): the step proves its price, not its content.
            if (e.isStatic || top[1] > MAX_U64) return EXCEPTION;
            r.cost += 375 * (op - 0xa0) + 8 * top[1];
            if (r.cost > e.gas) return EXCEPTION;
            if (top[1] != 0 && !_expand(r, top[0], top[1])) return EXCEPTION;
        } else {
            // 0x50..0x5f: POP MLOAD MSTORE MSTORE8 JUMP JUMPI PC MSIZE GAS JUMPDEST PUSH0.
            bool ok;
            (ok, result, next) = _memoryAndControl(r, op, next);
            if (!ok) return EXCEPTION;
        }
        bytes32 stack = r.rest;
        if (r.pushes == 1) stack = StackHash.push(stack, result);
        e.stack = stack;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize = uint16(r.stackSize);
        // The pc can leave the code (a PUSH at its end, or nothing else): the next opcode is STOP.
        // A jump target is below the code's length.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.pc = uint32(next);
        return CONTINUE;
    }

    /// @dev POP MLOAD MSTORE MSTORE8 JUMP JUMPI PC MSIZE GAS JUMPDEST PUSH0. `ok` false: halts.
    function _memoryAndControl(Run memory r, uint256 op, uint256 next)
        private
        pure
        returns (bool ok, uint256 result, uint256 pc)
    {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        pc = next;
        if (op == 0x51 || op == 0x52 || op == 0x53) {
            uint256 offset = top[0];
            if (!_expand(r, offset, op == 0x53 ? 1 : 32)) return (false, 0, 0);
            if (op == 0x51) {
                result = _load(r, e.memRoot, offset);
            } else {
                e.memRoot = _store(r, offset, top[1], op == 0x53);
            }
        } else if (op == 0x56 || op == 0x57) {
            // JUMP, JUMPI (taken when the condition is not zero).
            if (op == 0x56 || top[1] != 0) {
                if (!_validJump(r.code, top[0])) return (false, 0, 0);
                pc = top[0];
            }
        } else if (op == 0x58) {
            result = e.pc;
        } else if (op == 0x59) {
            result = e.memSize;
        } else if (op == 0x5a) {
            result = e.gas - r.cost;
        }
        // POP, JUMPDEST: nothing more; PUSH0: 0.
        ok = true;
    }

    /// @dev The transaction and block context (0x30..0x4a, but CALLDATALOAD and BLOCKHASH).
    function _context(MachineState.State memory pre, Run memory r, uint256 op) private view returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        MachineState.BlockItem memory blk = r.blk;
        if (op == 0x30) return uint160(e.self);
        if (op == 0x32) return uint160(pre.caller);
        if (op == 0x33) return uint160(e.caller);
        if (op == 0x34) return e.value;
        if (op == 0x36) return e.calldataSize;
        if (op == 0x38) return r.code.length;
        if (op == 0x3a) return pre.effectiveGasPrice;
        if (op == 0x3d) return e.returnDataSize;
        if (op == 0x41) return uint160(blk.beneficiary);
        if (op == 0x42) return blk.timestamp;
        if (op == 0x43) return blk.number;
        if (op == 0x44) return uint256(blk.prevrandao);
        if (op == 0x45) return blk.gasLimit;
        if (op == 0x46) return CHAIN_ID;
        if (op == 0x48) return blk.baseFee;
        // BLOBHASH (0x49): no transaction carries blobs; BLOBBASEFEE (0x4a): no excess blob gas.
        return op == 0x4a ? 1 : 0;
    }

    /// @dev The arithmetic, comparison and bitwise instructions (0x01..0x0b, 0x10..0x1d), with
    ///      the EVM's own operations (operands top first).
    function _arith(uint256 op, uint256[] memory top) private pure returns (uint256 x) {
        uint256 a = top[0];
        uint256 b = top.length > 1 ? top[1] : 0;
        uint256 c = top.length > 2 ? top[2] : 0;
        assembly ("memory-safe") {
            switch op
            case 0x01 { x := add(a, b) }
            case 0x02 { x := mul(a, b) }
            case 0x03 { x := sub(a, b) }
            case 0x04 { x := div(a, b) }
            case 0x05 { x := sdiv(a, b) }
            case 0x06 { x := mod(a, b) }
            case 0x07 { x := smod(a, b) }
            case 0x08 { x := addmod(a, b, c) }
            case 0x09 { x := mulmod(a, b, c) }
            case 0x0a { x := exp(a, b) }
            case 0x0b { x := signextend(a, b) }
            case 0x10 { x := lt(a, b) }
            case 0x11 { x := gt(a, b) }
            case 0x12 { x := slt(a, b) }
            case 0x13 { x := sgt(a, b) }
            case 0x14 { x := eq(a, b) }
            case 0x15 { x := iszero(a) }
            case 0x16 { x := and(a, b) }
            case 0x17 { x := or(a, b) }
            case 0x18 { x := xor(a, b) }
            case 0x19 { x := not(a) }
            case 0x1a { x := byte(a, b) }
            case 0x1b { x := shl(a, b) }
            case 0x1c { x := shr(a, b) }
            default { x := sar(a, b) }
        }
    }

    /// @dev `(class, reads, pops, pushes, static gas)` of an opcode: `reads` stack items opened
    ///      (DUPn: n, SWAPn: n + 1), `pops` removed, `pushes` added (revm 43, Prague).
    function _shape(uint256 op)
        private
        pure
        returns (uint256 class, uint256 reads, uint256 pops, uint256 pushes, uint256 gas)
    {
        class = STAGE1;
        if (op >= 0x60 && op < 0x80) return (STAGE1, 0, 0, 1, 3); // PUSH1..PUSH32
        if (op >= 0x80 && op < 0x90) return (STAGE1, op - 0x7f, 0, 1, 3); // DUPn
        if (op >= 0x90 && op < 0xa0) return (STAGE1, op - 0x8e, 0, 0, 3); // SWAPn
        if (op == 0x00) return (STAGE1, 0, 0, 0, 0); // STOP
        if (op <= 0x0b) {
            if (op == 0x08 || op == 0x09) return (STAGE1, 3, 3, 1, 8); // ADDMOD MULMOD
            if (op == 0x01 || op == 0x03) return (STAGE1, 2, 2, 1, 3); // ADD SUB
            if (op == 0x0a) return (STAGE1, 2, 2, 1, 10); // EXP (+ 50 per exponent byte)
            return (STAGE1, 2, 2, 1, 5); // MUL DIV SDIV MOD SMOD SIGNEXTEND
        }
        if (op >= 0x10 && op <= 0x1d) {
            if (op == 0x15 || op == 0x19) return (STAGE1, 1, 1, 1, 3); // ISZERO NOT
            return (STAGE1, 2, 2, 1, 3);
        }
        if (op >= 0x30 && op <= 0x4a) {
            // BALANCE CALLDATACOPY CODECOPY EXTCODESIZE EXTCODECOPY RETURNDATACOPY EXTCODEHASH
            // SELFBALANCE
            if (
                op == 0x31 || op == 0x37 || op == 0x39 || op == 0x3b || op == 0x3c || op == 0x3e || op == 0x3f
                    || op == 0x47
            ) return (UNSUPPORTED, 0, 0, 0, 0);
            if (op == 0x35 || op == 0x49) return (STAGE1, 1, 1, 1, 3); // CALLDATALOAD BLOBHASH
            if (op == 0x40) return (STAGE1, 1, 1, 1, 20); // BLOCKHASH
            return (STAGE1, 0, 0, 1, 2);
        }
        if (op >= 0x50 && op <= 0x5f) {
            if (op == 0x50) return (STAGE1, 1, 1, 0, 2); // POP
            if (op == 0x51) return (STAGE1, 1, 1, 1, 3); // MLOAD
            if (op == 0x52 || op == 0x53) return (STAGE1, 2, 2, 0, 3); // MSTORE MSTORE8
            if (op == 0x56) return (STAGE1, 1, 1, 0, 8); // JUMP
            if (op == 0x57) return (STAGE1, 2, 2, 0, 10); // JUMPI
            if (op == 0x5b) return (STAGE1, 0, 0, 0, 1); // JUMPDEST
            if (op == 0x58 || op == 0x59 || op == 0x5a || op == 0x5f) return (STAGE1, 0, 0, 1, 2); // PC MSIZE GAS PUSH0
            return (UNSUPPORTED, 0, 0, 0, 0); // SLOAD SSTORE TLOAD TSTORE MCOPY
        }
        if (op == 0xf3 || op == 0xfd) return (STAGE1, 2, 2, 0, 0); // RETURN REVERT
        if (op >= 0xa0 && op <= 0xa4) return (STAGE1, op - 0x9e, op - 0x9e, 0, 375); // LOG0..LOG4
        // KECCAK256 CREATE CALL CALLCODE DELEGATECALL CREATE2 STATICCALL SELFDESTRUCT
        if (op == 0x20 || (op >= 0xf0 && op <= 0xf2) || op == 0xf4 || op == 0xf5 || op == 0xfa || op == 0xff) {
            return (UNSUPPORTED, 0, 0, 0, 0);
        }
        // INVALID and the opcodes Prague does not define (0x0c..0x0f, 0x1e, 0x1f, 0x21..0x2f,
        // 0x4b..0x4f, 0xa5..0xef, 0xf6..0xf9, 0xfb, 0xfc, 0xfe).
        return (UNDEFINED, 0, 0, 0, 0);
    }

    // ------------------------------------------------------------------------------------------
    // Memory, call data, code and block hashes

    /// @dev Charges the memory expansion of an access to `len > 0` bytes at `offset` (revm:
    ///      `num_words(offset.saturating_add(len))` words, `3w + w²/512` in saturating u64). False
    ///      when an operand does not fit in 64 bits or the gas does not cover the cost.
    function _expand(Run memory r, uint256 offset, uint256 len) private pure returns (bool) {
        (bool ok, uint256 memSize, uint256 cost) = EvmFrame.expansion(r.memSize, offset, len);
        if (!ok) return false;
        r.memSize = memSize;
        r.cost += cost;
        return r.cost <= r.e.gas;
    }

    /// @dev The 32 bytes at `offset` of the word tree `root`: word `offset / 32` and, when
    ///      unaligned, the next one, opened by the next word proofs.
    function _load(Run memory r, bytes32 root, uint256 offset) private pure returns (uint256 result) {
        uint256 index = offset / 32;
        uint256 shift = 8 * (offset % 32);
        result = uint256(_open(r, root, index).word) << shift;
        if (shift != 0) result |= uint256(_open(r, root, index + 1).word) >> (256 - shift);
    }

    /// @dev MSTORE (32 bytes) or MSTORE8 (the low byte of `value`) at `offset`; returns the memory root.
    function _store(Run memory r, uint256 offset, uint256 value, bool single) private pure returns (bytes32 root) {
        root = r.e.memRoot;
        uint256 index = offset / 32;
        uint256 shift = 8 * (offset % 32);
        if (single) {
            return _write(r, root, index, ~(uint256(0xff) << (248 - shift)), (value & 0xff) << (248 - shift));
        }
        if (shift == 0) return _write(r, root, index, 0, value);
        root = _write(r, root, index, ~(type(uint256).max >> shift), value >> shift);
        root = _write(r, root, index + 1, type(uint256).max >> shift, value << (256 - shift));
    }

    /// @dev CALLDATALOAD: 32 bytes of call data from `offset`, zero past its end.
    function _calldataLoad(Run memory r, uint256 offset) private pure returns (uint256) {
        if (offset >= r.e.calldataSize) return 0;
        return _load(r, r.e.calldataRoot, offset);
    }

    /// @dev BLOCKHASH: the hash of block `n` when it is one of the 256 before this block (word
    ///      `n % 256` of the block item's `recentHashes`, opened by the next word proof), else 0
    ///      (no word proof).
    function _blockHash(Run memory r, uint256 n) private pure returns (uint256) {
        uint256 number = r.blk.number;
        if (n >= number || number - n > 256) return 0;
        return uint256(_open(r, r.blk.recentHashes, n % 256).word);
    }

    /// @dev The next word proof, which must open word `index` of `root`.
    function _open(Run memory r, bytes32 root, uint256 index) private pure returns (EvmTypes.WordProof memory p) {
        uint256 i = r.used;
        if (i >= r.words.length || r.words[i].index != index) revert UnexpectedWords();
        p = r.words[i];
        if (!WordTree.verify(root, p)) revert WordProofMismatch(i);
        r.used = i + 1;
    }

    /// @dev Writes word `index` of `root` (opened by the next word proof) as `(old & keep) | bits`.
    function _write(Run memory r, bytes32 root, uint256 index, uint256 keep, uint256 bits)
        private
        pure
        returns (bytes32 newRoot)
    {
        uint256 i = r.used;
        if (i >= r.words.length || r.words[i].index != index) revert UnexpectedWords();
        EvmTypes.WordProof memory p = r.words[i];
        bool ok;
        (ok, newRoot) = WordTree.update(root, p, bytes32((uint256(p.word) & keep) | bits));
        if (!ok) revert WordProofMismatch(i);
        r.used = i + 1;
    }

    /// @dev The 32 bytes of `code` from `start`, zero past its end.
    function _codeWord(bytes memory code, uint256 start) private pure returns (uint256 w) {
        uint256 len = code.length;
        if (start >= len) return 0;
        assembly ("memory-safe") {
            w := mload(add(add(code, 32), start))
        }
        uint256 avail = len - start;
        if (avail < 32) w &= ~(type(uint256).max >> (8 * avail));
    }

    /// @dev A JUMPDEST inside the code that is not PUSH data (scanning the code from 0). Runs of
    ///      32 bytes without a PUSH opcode are skipped a word at a time; otherwise a byte at a
    ///      time, a PUSHn moving past its n data bytes.
    function _validJump(bytes memory code, uint256 target) private pure returns (bool ok) {
        if (target >= code.length) return false;
        assembly ("memory-safe") {
            let base := add(code, 32)
            if eq(byte(0, mload(add(base, target))), 0x5b) {
                let highs := 0x8080808080808080808080808080808080808080808080808080808080808080
                let tops := 0xe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0
                let pushes := 0x6060606060606060606060606060606060606060606060606060606060606060
                let i := 0
                for {} lt(i, target) {} {
                    let w := mload(add(base, i))
                    // Bit 7 of each byte of `np` is set iff that byte is not a PUSH opcode
                    // (0x60..0x7f: its top three bits are 011).
                    let y := xor(and(w, tops), pushes)
                    let np := and(or(y, or(shl(1, y), shl(2, y))), highs)
                    let end := add(i, 32)
                    switch eq(np, highs)
                    case 1 {
                        // 32 opcodes: every one of them starts an instruction.
                        i := end
                        if gt(i, target) { i := target }
                    }
                    default {
                        // Byte by byte through this word (a PUSH may jump past it).
                        let start := i
                        if gt(end, target) { end := target }
                        for {} lt(i, end) {} {
                            let op := byte(sub(i, start), w)
                            i := add(i, add(1, mul(lt(sub(op, 0x60), 32), sub(op, 0x5f))))
                        }
                    }
                }
                ok := eq(i, target)
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers

    /// @dev Number of bytes of `x` without its leading zero bytes.
    function _byteLength(uint256 x) private pure returns (uint256 n) {
        assembly ("memory-safe") {
            for {} x {} {
                x := shr(8, x)
                n := add(n, 1)
            }
        }
    }
}
