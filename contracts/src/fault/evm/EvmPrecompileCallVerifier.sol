// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";
import {PrecompilePrices} from "./PrecompilePrices.sol";

/// @title EvmPrecompileCallVerifier
/// @notice Calls to a precompile, with or without a value (docs/evm-steps.md section 4, "Calls to
///         precompiles"; witness kind 5): CALL, CALLCODE, DELEGATECALL or STATICCALL to any of the
///         Prague precompiles `0x01..0x11`. Gas exactly as revm 43 (Prague) charges it: memory
///         expansion of the argument and output ranges (the precompiles are warm from the start),
///         with a value its 9000 and, for a CALL to an absent precompile account, the new account's
///         25,000, then the precompile's price (`PrecompilePrices`) out of the forwarded gas (plus
///         the 2300 stipend of a value); a price above it, an input the chain refuses by its length
///         (over 32,736 bytes, not read; core/src/precompiles.rs), or
///         an input the L1 precompile refuses (a point off the curve, a wrong KZG proof) fails the
///         call and uses the forwarded gas. The output is computed by calling the same precompile
///         on L1, written into the output range of memory (both ranges opened by word-range proofs)
///         and kept as the return data. A value (CALL, CALLCODE) is checked against the frame's
///         balance before the precompile runs (a balance below it, like a caller at depth 1024,
///         fails the call: the forwarded gas and the stipend come back, nothing moves); a CALL
///         credits the precompile's account and debits the frame's, a move kept only when the
///         precompile succeeds; CALLCODE moves nothing. A CALL with a value in a static frame halts.
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

    uint256 internal constant VALUE_TRANSFER = 9000;
    uint256 internal constant NEW_ACCOUNT = 25_000;
    uint256 internal constant CALL_STIPEND = 2300;
    uint256 internal constant CALL = 0xf1;
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
        /// @dev With a value: the frame's account (`e.self`) against the root after the callee's
        ///      credit (CALL) or against the state root (CALLCODE). Empty without a value.
        bytes[] selfProof;
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
        /// @dev The gas the precompile gets beyond the forwarded gas: 2300 with a value, else 0.
        uint256 stipend;
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
        if (op != CALL && op != 0xf2 && op != 0xf4 && op != 0xfa) revert UnsupportedStep(MachineState.IN_TX);
        r.memSize = r.e.memSize;
        uint256 reads = op == CALL || op == 0xf2 ? 7 : 6;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, reads)) {
            outcome = EvmFrame.EXCEPTION;
        } else {
            outcome = _call(pre, r, op, reads);
        }
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The call, whose stack items are open: its gas in revm's order, the value's move, then
    ///      the precompile.
    function _call(MachineState.State memory pre, Run memory r, uint256 op, uint256 reads)
        private
        view
        returns (uint256)
    {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 value = reads == 7 ? top[2] : 0;
        if (value == 0 && r.w.selfProof.length != 0) revert UnexpectedProof();
        uint256 at = reads - 4;
        // The warm read, a CALL's value in a static frame (CALLCODE with a value moves nothing:
        // it does not halt, revm), the argument range, then the output range.
        {
            bool reached;
            (reached, r.memSize, r.cost) = EvmFrame.callPrefix(e, op, top, at);
            if (!reached) return EvmFrame.EXCEPTION;
        }
        if (value != 0) {
            r.cost += VALUE_TRANSFER;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        address to = address(uint160(top[1]));
        uint256 id = uint160(to);
        if (id == 0 || id > LAST_PRECOMPILE) revert UnsupportedStep(MachineState.IN_TX);
        Accounts.Account memory callee = Accounts.read(pre.stateRoot, Accounts.key(to), r.w.calleeProof);
        // A CALL with a value to an empty account (an absent one here) pays for the new account.
        if (op == CALL && value != 0 && Accounts.isEmpty(callee)) {
            r.cost += NEW_ACCOUNT;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // An existing empty account, which EIP-161 would delete when touched.
        if (callee.exists && Accounts.isEmpty(callee)) revert UnsupportedStep(MachineState.IN_TX);
        // revm's frame creation: a caller at depth 1024 cannot call; then the value moves (the
        // balance checked first), or the call fails and nothing moves.
        bool ok = e.depth < EvmFrame.CALL_DEPTH_LIMIT;
        bytes32 root = pre.stateRoot;
        if (ok && value != 0) (ok, root) = _moveValue(r, op == CALL, to, callee, value, root);
        if (ok) {
            // The move is kept only when the precompile succeeds.
            if (value != 0) r.stipend = CALL_STIPEND;
            ok = _run(r, to, at);
            if (ok) pre.stateRoot = root;
        } else {
            // The precompile does not run: the forwarded gas and the stipend of a value come back
            // (the cost is at least 9000 with a value), nothing is written, the return data is empty.
            if (value != 0) r.cost -= CALL_STIPEND;
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
    ///      gas is all but a 64th of what is left, at most what the call asks; the precompile gets
    ///      it plus `r.stipend` (2300 with a value, which the caller does not pay). Its price is paid
    ///      out of that (the stipend back first: the cost may drop below the 9000 of a value), or
    ///      the forwarded gas is all used when the price is above it or the input is invalid (the
    ///      call fails). The output goes to the output range and becomes the return data.
    function _run(Run memory r, address to, uint256 at) private view returns (bool ok) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 left = e.gas - r.cost;
        uint256 forwarded = EvmFrame.min(EvmFrame.min(top[0], MAX_U64), left - left / 64);
        uint256 id = uint160(to);
        (bytes memory input, bool valid, uint256 price) = _priced(r, at, id);
        bytes memory output;
        ok = valid && price <= forwarded + r.stipend;
        if (ok) (ok, output) = _l1(to, id, input, price);
        if (ok) {
            uint256 n = EvmFrame.min(top[at + 3], output.length);
            if (n != 0) e.memRoot = EvmFrame.writeRange(r.w.output, e.memRoot, top[at + 2], output, n, 0);
            // The cost holds the 9000 of a value when there is a stipend.
            r.cost = r.cost + price - r.stipend;
        } else {
            r.cost += forwarded;
        }
        e.returnDataRoot = WordTree.root(output);
        // At most the input's length (IDENTITY, at most 32,736), the modulus's (MODEXP, at most
        // 1,024) or 256 bytes (G2).
        // forge-lint: disable-next-line(unsafe-typecast)
        e.returnDataSize = uint32(output.length);
    }

    /// @dev The input range of the stack items from `at`, read from memory, and the precompile
    ///      `id`'s verdict and price for it (`PrecompilePrices`): an input over the chain's 32,736
    ///      bytes fails the call unread (no range is opened).
    function _priced(Run memory r, uint256 at, uint256 id)
        private
        pure
        returns (bytes memory input, bool valid, uint256 price)
    {
        uint256 len = r.top[at + 1];
        if (len > PrecompilePrices.MAX_INPUT) return (input, false, 0);
        if (len != 0) input = EvmFrame.readRange(r.w.input, r.e.memRoot, r.top[at], len, 0);
        (valid, price) = PrecompilePrices.price(id, input);
    }

    /// @dev The value moves (`EvmFrame.moveValue`, as for a call without a frame; in its own
    ///      function for the stack's sake): false when the frame's balance is below the value,
    ///      otherwise the root after the move (kept only if the precompile succeeds).
    function _moveValue(
        Run memory r,
        bool moves,
        address to,
        Accounts.Account memory callee,
        uint256 value,
        bytes32 root
    ) private pure returns (bool, bytes32) {
        return EvmFrame.moveValue(root, r.e.self, to, callee, value, moves, r.w.calleeProof, r.w.selfProof);
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
}
