// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";

/// @title EvmPrecompileCallVerifier
/// @notice Calls without a value to a priced precompile (docs/evm-steps.md section 4, "Calls to
///         precompiles"; witness kind 5): CALL, CALLCODE, DELEGATECALL or STATICCALL in the depth-0
///         frame to ECRECOVER, SHA256, RIPEMD160, IDENTITY or BLAKE2F. Gas exactly as revm 43
///         (Prague) charges it: memory expansion of the argument and output ranges (the
///         precompiles are warm from the start), then the precompile's price out of the forwarded
///         gas; a price above it (or an invalid BLAKE2F input) fails the call and uses the forwarded
///         gas. The output is computed by calling the same precompile on L1, written into the
///         output range of memory (both ranges opened by word-range proofs) and kept as the return
///         data. `EvmCallVerifier` forwards kind 5 here. Mirrored off chain by
///         `core/src/fault/evm.rs` and `core/src/fault/step.rs`.
contract EvmPrecompileCallVerifier is IEvmStepVerifier {
    /// @notice The precompile on L1 failed although its price was paid (the step's caller gave it
    ///         too little gas): nothing is proven.
    error PrecompileFailed(address precompile);

    uint256 internal constant WARM_READ = 100;
    uint256 internal constant MAX_U64 = type(uint64).max;
    /// @notice Most words one range may span (32 KiB), as for the copies.
    uint256 public constant MAX_RANGE_WORDS = EvmFrame.MAX_RANGE_WORDS;
    uint256 internal constant BLAKE2F = 9;

    /// @notice The witness of a call to a precompile (docs/evm-steps.md section 6, kind 5).
    struct PrecompileCallWitness {
        /// @dev The precompile's account against the state root (an existing empty one, which
        ///      EIP-161 would delete when touched, is not provable here).
        bytes[] calleeProof;
        /// @dev The memory words holding the input (none for an empty input).
        EvmTypes.WordRange input;
        /// @dev The memory words the output is written to, before the write (none when nothing
        ///      is written).
        EvmTypes.WordRange output;
    }

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        PrecompileCallWitness w;
        uint256 cost;
        uint256 memSize;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 5) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.w) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, PrecompileCallWitness));
        uint256 op = EvmFrame.open(pre, r.e, r.code, false);
        if (op != 0xf1 && op != 0xf2 && op != 0xf4 && op != 0xfa) revert UnsupportedStep(MachineState.IN_TX);
        r.memSize = r.e.memSize;
        uint256 reads = op == 0xf1 || op == 0xf2 ? 7 : 6;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, reads)) {
            outcome = EvmFrame.EXCEPTION;
        } else {
            outcome = _call(pre, r, reads);
        }
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The call, whose stack items are open: its gas in revm's order, then the precompile.
    function _call(MachineState.State memory pre, Run memory r, uint256 reads) private view returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        // A value to a precompile is proven by EvmCallVerifier up to the frame decision.
        if (reads == 7 && top[2] != 0) revert UnsupportedStep(MachineState.IN_TX);
        uint256 at = reads - 4;
        r.cost = WARM_READ;
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        if (!_expand(r, top[at], top[at + 1]) || !_expand(r, top[at + 2], top[at + 3])) return EvmFrame.EXCEPTION;
        // forge-lint: disable-next-line(unsafe-typecast)
        address to = address(uint160(top[1]));
        uint256 id = uint160(to);
        if (id == 0 || (id > 4 && id != BLAKE2F)) revert UnsupportedStep(MachineState.IN_TX);
        Accounts.Account memory callee = Accounts.read(pre.stateRoot, Accounts.key(to), r.w.calleeProof);
        if (callee.exists && Accounts.isEmpty(callee)) revert UnsupportedStep(MachineState.IN_TX);
        bool ok;
        if (e.depth < EvmFrame.CALL_DEPTH_LIMIT) {
            ok = _run(r, to, at);
        } else {
            // revm's frame creation fails the call before the precompile runs: the forwarded gas
            // comes back, nothing is written, the return data is empty.
            e.returnDataRoot = WordTree.EMPTY_ROOT;
            e.returnDataSize = 0;
        }
        e.stack = StackHash.push(r.rest, ok ? 1 : 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(reads - 1); // 5 or 6
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev The precompile `to` on the input range of the stack items from `at`: the forwarded
    ///      gas is all but a 64th of what is left, at most what the call asks; the price paid out
    ///      of it, or all of it when the price is above it or the input is invalid (the call
    ///      fails). The output goes to the output range and becomes the return data.
    function _run(Run memory r, address to, uint256 at) private view returns (bool ok) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 left = e.gas - r.cost;
        uint256 forwarded = EvmFrame.min(EvmFrame.min(top[0], MAX_U64), left - left / 64);
        bytes memory input =
            top[at + 1] == 0 ? new bytes(0) : EvmFrame.readRange(r.w.input, e.memRoot, top[at], top[at + 1], 0);
        (bool valid, uint256 price) = _price(uint160(to), input);
        bytes memory output;
        ok = valid && price <= forwarded;
        if (ok) {
            bool called;
            (called, output) = to.staticcall{gas: price}(input);
            if (!called) revert PrecompileFailed(to);
            uint256 n = EvmFrame.min(top[at + 3], output.length);
            if (n != 0) e.memRoot = EvmFrame.writeRange(r.w.output, e.memRoot, top[at + 2], output, n, 0);
            r.cost += price;
        } else {
            r.cost += forwarded;
        }
        e.returnDataRoot = WordTree.root(output);
        // At most the input's length (IDENTITY) or 64 bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.returnDataSize = uint32(output.length);
    }

    /// @dev ECRECOVER 3000; SHA256 60 + 12, RIPEMD160 600 + 120 and IDENTITY 15 + 3 a word of
    ///      input; BLAKE2F one a round, valid for 213 bytes with a final-block flag of 0 or 1.
    function _price(uint256 id, bytes memory input) private pure returns (bool valid, uint256 price) {
        uint256 words = (input.length + 31) / 32;
        if (id == BLAKE2F) {
            if (input.length != 213 || uint8(input[212]) > 1) return (false, 0);
            // The rounds: the input's first four bytes, big-endian.
            // forge-lint: disable-next-line(unsafe-typecast)
            return (true, uint32(bytes4(input)));
        }
        return (true, id == 1 ? 3000 : id == 2 ? 60 + 12 * words : id == 3 ? 600 + 120 * words : 15 + 3 * words);
    }

    /// @dev Charges the memory expansion of the range `len` bytes at `offset` (none when `len` is
    ///      0). False when an operand does not fit in 64 bits or the gas does not cover the cost.
    function _expand(Run memory r, uint256 offset, uint256 len) private pure returns (bool) {
        bool ok;
        (ok, r.memSize, r.cost) = EvmFrame.callRange(r.memSize, r.cost, r.e.gas, offset, len);
        return ok;
    }
}
