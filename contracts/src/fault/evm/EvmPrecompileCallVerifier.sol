// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {PrecompilePrices} from "./PrecompilePrices.sol";

/// @title EvmPrecompileCallVerifier
/// @notice Calls without a value to a precompile (docs/evm-steps.md section 4, "Calls to
///         precompiles"; witness kind 5): CALL, CALLCODE, DELEGATECALL or STATICCALL to any of the
///         Prague precompiles `0x01..0x11`. Gas exactly as revm 43 (Prague) charges it: memory
///         expansion of the argument and output ranges (the precompiles are warm from the start),
///         then the precompile's price (`PrecompilePrices`) out of the forwarded gas; a price above
///         it, an input revm refuses by its length, or an input the L1 precompile refuses (a point
///         off the curve, a wrong KZG proof) fails the call and uses the forwarded gas. The output
///         is computed by calling the same precompile on L1, written into the output range of
///         memory (both ranges opened by word-range proofs) and kept as the return data.
///         `EvmCallVerifier` forwards kind 5 here. Mirrored off chain by `core/src/fault/evm.rs`
///         and `core/src/fault/step.rs`.
contract EvmPrecompileCallVerifier is IEvmStepVerifier {
    /// @notice The precompile on L1 failed although its price was paid, for a precompile that
    ///         refuses no well-formed input (ECRECOVER, SHA256, RIPEMD160, IDENTITY, MODEXP,
    ///         BLAKE2F): the L1 precompile is not Prague's, nothing is proven.
    error PrecompileFailed(address precompile);
    /// @notice Less gas is left than the L1 call needs to be sure to get `price` (EIP-150 keeps a
    ///         64th): the step's caller must give more, nothing is proven.
    error InsufficientGasForPrecompile(uint256 price);

    uint256 internal constant WARM_READ = 100;
    uint256 internal constant MAX_U64 = type(uint64).max;
    /// @notice Most words one range may span (32 KiB), as for the copies.
    uint256 public constant MAX_RANGE_WORDS = EvmFrame.MAX_RANGE_WORDS;
    /// @notice The last precompile of Prague (MAP_FP2_TO_G2).
    uint256 internal constant LAST_PRECOMPILE = 0x11;
    uint256 internal constant MODEXP = 5;
    uint256 internal constant BLAKE2F = 9;
    /// @notice Gas kept back from the L1 call for the instructions between the check and the call.
    uint256 internal constant CALL_MARGIN = 2000;

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
        if (id == 0 || id > LAST_PRECOMPILE) revert UnsupportedStep(MachineState.IN_TX);
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
        uint256 id = uint160(to);
        (bool valid, uint256 price) = PrecompilePrices.price(id, input);
        bytes memory output;
        ok = valid && price <= forwarded;
        if (ok) (ok, output) = _l1(to, id, input, price);
        if (ok) {
            uint256 n = EvmFrame.min(top[at + 3], output.length);
            if (n != 0) e.memRoot = EvmFrame.writeRange(r.w.output, e.memRoot, top[at + 2], output, n, 0);
            r.cost += price;
        } else {
            r.cost += forwarded;
        }
        e.returnDataRoot = WordTree.root(output);
        // At most the input's length (IDENTITY), the modulus's (MODEXP) or 256 bytes (G2).
        // forge-lint: disable-next-line(unsafe-typecast)
        e.returnDataSize = uint32(output.length);
    }

    /// @dev The precompile `to` run on L1 with its price as gas (all the gas left for MODEXP,
    ///      which an L1 past Prague prices higher, EIP-7883). The gas left must let the call have
    ///      the price for sure, so that a failure is the input's: for the precompiles that check
    ///      their input (BN254, KZG, BLS12-381) it fails the L2 call too (`ok` false, no output);
    ///      for the others it cannot happen on a Prague L1 and reverts.
    function _l1(address to, uint256 id, bytes memory input, uint256 price)
        private
        view
        returns (bool ok, bytes memory output)
    {
        uint256 g = gasleft();
        if (g < CALL_MARGIN || (g - CALL_MARGIN) - (g - CALL_MARGIN) / 64 < price) {
            revert InsufficientGasForPrecompile(price);
        }
        (ok, output) = to.staticcall{gas: id == MODEXP ? g - CALL_MARGIN : price}(input);
        if (!ok) {
            if (id <= MODEXP || id == BLAKE2F) revert PrecompileFailed(to);
            output = "";
        }
    }

    /// @dev Charges the memory expansion of the range `len` bytes at `offset` (none when `len` is
    ///      0). False when an operand does not fit in 64 bits or the gas does not cover the cost.
    function _expand(Run memory r, uint256 offset, uint256 len) private pure returns (bool) {
        bool ok;
        (ok, r.memSize, r.cost) = EvmFrame.callRange(r.memSize, r.cost, r.e.gas, offset, len);
        return ok;
    }
}
