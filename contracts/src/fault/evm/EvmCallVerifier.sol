// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {EvmStateVerifier} from "./EvmStateVerifier.sol";
import {EvmPrecompileCallVerifier} from "./EvmPrecompileCallVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";

/// @title EvmCallVerifier
/// @notice Calls that run no code (docs/evm-steps.md section 4, "Calls without a frame"; witness
///         kind 4): CALL, CALLCODE, DELEGATECALL and STATICCALL in the depth-0 frame to an account
///         without code, and calls that fail before a frame starts (a balance below the value).
///         Gas exactly as revm 43 (Prague) charges it: memory expansion of the argument and output
///         ranges, EIP-2929 warm or cold access to the callee, the value's 9000 and a new
///         account's 25,000; the forwarded gas (and the 2300 stipend of a value) all comes back, as
///         no code runs. A CALL with value moves it (account proofs against the state root). A
///         callee with code (a frame), a precompile, or an existing empty account (which EIP-161
///         would delete when touched) makes the step a rest-of-transaction step (calls without a
///         value to the priced precompiles are kind 5, forwarded to `PRECOMPILES`).
///         `EvmStepVerifier` forwards kinds 4 and 5 here. Mirrored off chain by `core/src/fault/evm.rs` and
///         `core/src/fault/step.rs`.
contract EvmCallVerifier is IEvmStepVerifier {
    uint256 internal constant WARM_READ = 100;
    uint256 internal constant COLD_ACCOUNT_EXTRA = 2500;
    uint256 internal constant VALUE_TRANSFER = 9000;
    uint256 internal constant NEW_ACCOUNT = 25_000;
    uint256 internal constant CALL_STIPEND = 2300;
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    /// @notice Calls without a value to a priced precompile (kind 5), created with this verifier.
    IEvmStepVerifier public immutable PRECOMPILES;

    constructor() {
        PRECOMPILES = new EvmPrecompileCallVerifier();
    }

    /// @notice The call witness (docs/evm-steps.md section 6, kind 4).
    struct CallWitness {
        /// @dev The substate's preimage (all `MerkleTrie.EMPTY_ROOT` when `substate` is 0).
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        /// @dev The callee's key in `warmAccounts`.
        bytes[] warmProof;
        /// @dev The callee against the state root (read, then credited by a CALL with value).
        bytes[] calleeProof;
        /// @dev With a value: the frame's account against the root after the callee's credit (CALL)
        ///      or the state root (CALLCODE).
        bytes[] selfProof;
    }

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        CallWitness w;
        MachineState.BlockItem blk;
        uint256 cost;
        uint256 memSize;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind == 5) return PRECOMPILES.step(pre, proof);
        if (kind != 4) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.w, r.blk) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, CallWitness, MachineState.BlockItem));
        uint256 op = EvmFrame.open(pre, r.e, r.code, true);
        if (op != 0xf1 && op != 0xf2 && op != 0xf4 && op != 0xfa) revert UnsupportedStep(MachineState.IN_TX);
        bytes32 computed = _substate(r.w);
        if (computed != r.e.substate) revert EvmStateVerifier.SubstateMismatch(r.e.substate, computed);
        r.memSize = r.e.memSize;
        // CALL and CALLCODE: gas to value outLen; DELEGATECALL and STATICCALL: no value.
        uint256 reads = op == 0xf1 || op == 0xf2 ? 7 : 6;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, reads)) {
            outcome = EvmFrame.EXCEPTION;
        } else {
            outcome = _call(pre, r, op, reads);
        }
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The call, whose stack items are open: its gas in revm's order, then its effect.
    function _call(MachineState.State memory pre, Run memory r, uint256 op, uint256 reads)
        private
        pure
        returns (uint256)
    {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 value = reads == 7 ? top[2] : 0;
        uint256 at = reads - 4;
        r.cost = WARM_READ;
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        if (op == 0xf1 && e.isStatic && value != 0) return EvmFrame.EXCEPTION;
        // The argument range, then the output range.
        if (!_expand(r, top[at], top[at + 1]) || !_expand(r, top[at + 2], top[at + 3])) return EvmFrame.EXCEPTION;
        if (value != 0) {
            r.cost += VALUE_TRANSFER;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        address to = address(uint160(top[1]));
        if (!_access(pre, r, to)) return EvmFrame.EXCEPTION;
        Accounts.Account memory callee = Accounts.read(pre.stateRoot, Accounts.key(to), r.w.calleeProof);
        // A CALL with a value to an empty account (absent, or EIP-161 empty; a precompile's too)
        // pays for the new account, before any frame.
        if (op == 0xf1 && value != 0 && Accounts.isEmpty(callee)) {
            r.cost += NEW_ACCOUNT;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // A frame (code, or an EIP-7702 delegation), a precompile, or an existing empty account.
        if (
            callee.codeHash != Accounts.EMPTY_CODE_HASH || (uint160(to) != 0 && uint160(to) <= LAST_PRECOMPILE)
                || (callee.exists && Accounts.isEmpty(callee))
        ) revert UnsupportedStep(MachineState.IN_TX);
        bool ok = true;
        if (value != 0) {
            ok = _moveValue(pre, r, op == 0xf1, to, callee, value);
            // The stipend comes back with the forwarded gas (the cost is at least 9000 here).
            r.cost -= CALL_STIPEND;
        }
        e.substate = _substate(r.w);
        e.stack = StackHash.push(r.rest, ok ? 1 : 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(reads - 1); // 5 or 6
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.returnDataSize = 0;
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev A value of a CALL moves (the callee is credited first, then the frame's account is read
    ///      against that root and debited); CALLCODE only checks the balance. False when the frame's
    ///      balance is below the value (the call fails; nothing moves).
    function _moveValue(
        MachineState.State memory pre,
        Run memory r,
        bool moves,
        address to,
        Accounts.Account memory callee,
        uint256 value
    ) private pure returns (bool ok) {
        bytes32 root = pre.stateRoot;
        bool overflows = callee.balance > type(uint256).max - value;
        if (moves) {
            // Saturated: a value above the frame's balance fails the call whatever the credit.
            callee.balance = overflows ? type(uint256).max : callee.balance + value;
            root = MerkleTrie.update(root, Accounts.key(to), Accounts.encode(callee), r.w.calleeProof);
        }
        Accounts.Account memory self = Accounts.read(root, Accounts.key(r.e.self), r.w.selfProof);
        ok = self.balance >= value;
        // Balances above 2^256 together: no state holds them.
        if (ok && moves && overflows) revert InvalidPreState();
        if (ok && moves) {
            self.balance -= value;
            pre.stateRoot = MerkleTrie.update(root, Accounts.key(r.e.self), Accounts.encode(self), r.w.selfProof);
        }
    }

    /// @dev Charges the memory expansion of the range `len` bytes at `offset` (none when `len` is
    ///      0). False when an operand does not fit in 64 bits or the gas does not cover the cost.
    function _expand(Run memory r, uint256 offset, uint256 len) private pure returns (bool) {
        bool ok;
        (ok, r.memSize, r.cost) = EvmFrame.callRange(r.memSize, r.cost, r.e.gas, offset, len);
        return ok;
    }

    /// @dev The callee's EIP-2929 access: 2500 more when cold (then warm). False when out of gas.
    function _access(MachineState.State memory pre, Run memory r, address to) private pure returns (bool) {
        bytes32 computed = MachineState.itemHash(r.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
        bytes32 key = keccak256(abi.encodePacked(to));
        (bool warm,) = MerkleTrie.get(r.w.warmAccounts, key, r.w.warmProof);
        if (
            warm || to == pre.caller || to == r.e.self || to == r.blk.beneficiary
                || (uint160(to) != 0 && uint160(to) <= LAST_PRECOMPILE)
        ) return true;
        r.cost += COLD_ACCOUNT_EXTRA;
        if (r.cost > r.e.gas) return false;
        r.w.warmAccounts = MerkleTrie.update(r.w.warmAccounts, key, hex"01", r.w.warmProof);
        return true;
    }

    function _substate(CallWitness memory w) private pure returns (bytes32) {
        return EvmFrame.substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
    }
}
