// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {EvmStateVerifier} from "./EvmStateVerifier.sol";
import {EvmReturnVerifier} from "./EvmReturnVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";

/// @title EvmCallVerifier
/// @notice CALL, CALLCODE, DELEGATECALL and STATICCALL at any depth (docs/evm-steps.md section 4,
///         "Calls without a frame", and section 9, "The call step that starts a frame"; witness
///         kind 4): calls to an account without code, calls that fail before a frame starts (a
///         balance below the value, a caller at depth 1024), and calls whose callee has code, which
///         start the callee's frame one level deeper and save the caller as a `CallerFrame`. Gas
///         exactly as revm 43 (Prague) charges it: memory expansion of the argument and output
///         ranges, EIP-2929 warm or cold access to the callee, the value's 9000 and a new account's
///         25,000, for a callee whose code (`calleeCode`, checked against its code hash) is an
///         EIP-7702 delegation designator 100 and the delegate's warm or cold access (the delegate's
///         code runs in the callee's frame; section 9, "Delegations"), then (a frame) the forwarded
///         gas; a call that runs no code gets the forwarded gas (and the 2300 stipend of a value)
///         back. A CALL with value moves it (account proofs against the state root). A precompile
///         callee or an existing empty account (which EIP-161 would delete when touched) is refused
///         here (a rest-of-transaction step; calls to the precompiles, with or without a value, are
///         kind 5, `PRECOMPILES`'s). A call whose arguments are over `EvmFrame.CHUNK_BYTES` is stepped
///         here after the steps that put them in a tree (kind 2, `EvmCopyVerifier`; section 9, "Long
///         arguments"): its pc is `p + (k << 16)` and the tree is on top of its items. The verifiers
///         of calls to precompiles (kind 5), of the return step (kind 6, `RETURNS`, which also opens
///         a starting frame's call data: `callData`), of CREATE and CREATE2 (kind 8, `CREATES`), of
///         the creation transaction's entry (kind 9, `CREATION_TXS`) and of SELFDESTRUCT (kind 10,
///         `SELFDESTRUCTS`) are deployed separately and given to the constructor; `EvmStepVerifier`
///         reads them from here at its deployment and forwards their kinds to them, kind 4 here.
///         Mirrored off chain by `core/src/fault/evm.rs` and `core/src/fault/step.rs`.
contract EvmCallVerifier is IEvmStepVerifier {
    uint256 internal constant WARM_READ = 100;
    uint256 internal constant COLD_ACCOUNT_EXTRA = 2500;
    uint256 internal constant VALUE_TRANSFER = 9000;
    uint256 internal constant NEW_ACCOUNT = 25_000;
    uint256 internal constant CALL_STIPEND = 2300;
    uint256 internal constant LAST_PRECOMPILE = 0x11;
    uint256 internal constant MAX_U64 = type(uint64).max;

    // The call opcodes.
    uint256 internal constant CALL = 0xf1;
    uint256 internal constant CALLCODE = 0xf2;
    uint256 internal constant DELEGATECALL = 0xf4;
    uint256 internal constant STATICCALL = 0xfa;

    /// @dev `_call`'s outcome when the callee's frame starts: the machine state `pre` is the post-state.
    uint256 internal constant FRAME = 4;

    /// @notice Calls to a priced precompile, with or without a value (kind 5), an
    ///         `EvmPrecompileCallVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable PRECOMPILES;

    /// @notice The return step from a frame at depth >= 1 to its caller (kind 6), an
    ///         `EvmReturnVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable RETURNS;

    /// @notice CREATE and CREATE2 (kind 8), an `EvmCreateVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable CREATES;

    /// @notice The creation transaction's entry (kind 9), an `EvmCreationTxVerifier` deployed
    ///         before this verifier.
    IEvmStepVerifier public immutable CREATION_TXS;

    /// @notice SELFDESTRUCT (kind 10), an `EvmSelfDestructVerifier` deployed before this verifier.
    IEvmStepVerifier public immutable SELFDESTRUCTS;

    /// @param precompiles An `EvmPrecompileCallVerifier` (kind 5).
    /// @param returns_ An `EvmReturnVerifier` (kind 6; also computes a starting frame's call data).
    /// @param creates_ An `EvmCreateVerifier` (kind 8).
    /// @param creationTxs_ An `EvmCreationTxVerifier` (kind 9).
    /// @param selfDestructs_ An `EvmSelfDestructVerifier` (kind 10).
    constructor(
        IEvmStepVerifier precompiles,
        IEvmStepVerifier returns_,
        IEvmStepVerifier creates_,
        IEvmStepVerifier creationTxs_,
        IEvmStepVerifier selfDestructs_
    ) {
        PRECOMPILES = precompiles;
        RETURNS = returns_;
        CREATES = creates_;
        CREATION_TXS = creationTxs_;
        SELFDESTRUCTS = selfDestructs_;
    }

    /// @notice The call witness (docs/evm-steps.md sections 6 and 9, kind 4).
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
        ///      or the state root (CALLCODE). Unused by a CALL to the frame's own account.
        bytes[] selfProof;
        /// @dev A frame starting at depth 0: the key of the frame's account (the transaction's
        ///      recipient) in `warmAccounts` after the callee's access.
        bytes[] frameWarmProof;
        /// @dev A frame starting with call data: the caller's memory words holding the argument
        ///      bytes; otherwise empty.
        EvmTypes.WordRange args;
        /// @dev The callee's code when its code hash is not the empty code hash (empty otherwise).
        bytes calleeCode;
        /// @dev A delegated callee: the delegate's key in `warmAccounts` after the callee's access
        ///      (read when the step reaches the delegate's access).
        bytes[] delegateWarmProof;
        /// @dev A delegated callee: the delegate against the state root before the call (read when
        ///      the step reaches the delegate's access).
        bytes[] delegateProof;
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
        /// @dev The gas forwarded to a callee with code (0 for one without).
        uint256 forwarded;
        /// @dev The snapshots of a frame's start: the state root before the value moves and the
        ///      substate after the callee's (and a delegate's) access.
        bytes32 rootBefore;
        bytes32 substate;
        /// @dev Arguments over a chunk: the steps that built the call data's tree (`k` of the pc), and
        ///      the tree (else 0 and 0).
        uint256 argSteps;
        bytes32 args;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 4) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.w, r.blk) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, CallWitness, MachineState.BlockItem));
        // k >= 1: the call's arguments were put in a call-data tree by k steps (`EvmCopyVerifier`).
        (uint256 op, uint256 k) = EvmFrame.openChunk(pre, r.e, r.code);
        if (
            r.e.substate == EvmFrame.ACCESS_LIST_SUBSTATE
                || (op != CALL && op != CALLCODE && op != DELEGATECALL && op != STATICCALL)
        ) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        bytes32 computed = _substate(r.w);
        if (computed != r.e.substate) revert EvmStateVerifier.SubstateMismatch(r.e.substate, computed);
        r.memSize = r.e.memSize;
        // CALL and CALLCODE: gas to value inOffset inLen outOffset outLen; DELEGATECALL and
        // STATICCALL: no value.
        uint256 reads = op == CALL || op == CALLCODE ? 7 : 6;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, k == 0 ? reads : reads + 1)) {
            outcome = EvmFrame.EXCEPTION;
        } else {
            if (k != 0) _takeArgs(r, reads);
            r.argSteps = k;
            outcome = _call(pre, r, op, reads);
        }
        if (outcome == FRAME) return MachineState.hash(pre);
        // Only a frame's start opens the arguments.
        if (!EvmFrame.isEmpty(r.w.args)) revert UnexpectedWords();
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The call, whose stack items are open: its gas in revm's order, then its effect.
    function _call(MachineState.State memory pre, Run memory r, uint256 op, uint256 reads)
        private
        view
        returns (uint256)
    {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 value = reads == 7 ? top[2] : 0;
        uint256 at = reads - 4;
        // The warm read, a value in a static frame, the argument range, then the output range.
        if (!_prefix(r, op, at)) return EvmFrame.EXCEPTION;
        // Arguments over a chunk were put in a tree first, one step per chunk (`k` of them).
        if (r.argSteps != _argSteps(top[at + 1])) revert UnsupportedStep(MachineState.IN_TX);
        if (value != 0) {
            r.cost += VALUE_TRANSFER;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        address to = address(uint160(top[1]));
        _blockItem(pre, r);
        if (!_access(pre, r, to, r.w.warmProof)) return EvmFrame.EXCEPTION;
        Accounts.Account memory callee = Accounts.read(pre.stateRoot, Accounts.key(to), r.w.calleeProof);
        _calleeCode(r.w.calleeCode, callee.codeHash);
        // A CALL with a value to an empty account (absent, or EIP-161 empty; a precompile's too)
        // pays for the new account, before any frame.
        if (op == CALL && value != 0 && Accounts.isEmpty(callee)) {
            r.cost += NEW_ACCOUNT;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        }
        // A precompile, or an existing empty account.
        if ((uint160(to) != 0 && uint160(to) <= LAST_PRECOMPILE) || (callee.exists && Accounts.isEmpty(callee))) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        // An EIP-7702 delegated callee runs its delegate's code (section 9, "Delegations").
        bytes32 codeHash;
        {
            bool enough;
            (enough, codeHash) = _delegate(pre, r, callee.codeHash);
            if (!enough) return EvmFrame.EXCEPTION;
        }
        // A callee with code: all but a 64th of the gas left goes to its frame, at most what the
        // call asks (its gas item saturated to 64 bits).
        bool hasCode = codeHash != Accounts.EMPTY_CODE_HASH;
        if (hasCode) {
            uint256 left = e.gas - r.cost;
            r.forwarded = EvmFrame.min(EvmFrame.min(top[0], MAX_U64), left - left / 64);
            r.cost += r.forwarded;
        }
        r.rootBefore = pre.stateRoot;
        r.substate = _substate(r.w);
        // revm's frame creation: a caller at depth 1024 cannot call; then the value moves (the
        // balance checked first), or the call fails and nothing moves.
        bool ok = e.depth < EvmFrame.CALL_DEPTH_LIMIT;
        if (ok && value != 0) ok = _moveValue(pre, r, op == CALL, to, callee, value);
        if (ok && hasCode) return _start(pre, r, op, reads, to, codeHash);
        // No code runs: the forwarded gas and the stipend of a value come back (the cost is at least
        // 9000 with a value).
        r.cost -= r.forwarded;
        if (value != 0) r.cost -= CALL_STIPEND;
        e.substate = r.substate;
        e.stack = StackHash.push(r.rest, ok ? 1 : 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(reads - 1); // 5 or 6
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.returnDataSize = 0;
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev The callee's frame starts (docs/evm-steps.md section 9): the caller is saved as it
    ///      resumes (pc after the call, its stack items popped, memory expanded, gas less the whole
    ///      cost with the forwarded gas, the substate after the callee's and a delegate's access)
    ///      in a `CallerFrame`
    ///      with the output range and the snapshots a failing callee restores; the machine's `evm`
    ///      becomes the new frame's hash (its state root, the value moved, is already in `pre`).
    function _start(
        MachineState.State memory pre,
        Run memory r,
        uint256 op,
        uint256 reads,
        address to,
        bytes32 codeHash
    ) private view returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        uint256[] memory top = r.top;
        uint256 at = reads - 4;
        // A memory past 4 GiB (over 3 * 10^13 gas) does not fit the state; the argument and
        // output ranges lie inside it.
        if (r.memSize > type(uint32).max) revert UnsupportedStep(MachineState.IN_TX);
        EvmTypes.EvmState memory f;
        f.txHash = e.txHash;
        f.txStartRoot = e.txStartRoot;
        f.depth = e.depth + 1;
        f.self = op == CALL || op == STATICCALL ? to : e.self;
        f.caller = op == DELEGATECALL ? e.caller : e.self;
        // DELEGATECALL and STATICCALL have no value item (`reads` 6).
        f.value = op == DELEGATECALL ? e.value : (reads == 7 ? top[2] : 0);
        f.isStatic = e.isStatic || op == STATICCALL;
        f.codeHash = codeHash;
        // The call data: the argument bytes shifted to offset 0 (opened by `RETURNS`, which has room).
        uint256 inLen = top[at + 1];
        if (r.args != 0) {
            // The argument steps built the call data: no range of them in the witness.
            if (!EvmFrame.isEmpty(r.w.args)) revert UnexpectedWords();
            f.calldataRoot = r.args;
        } else {
            f.calldataRoot = EvmReturnVerifier(address(RETURNS)).callData(r.w.args, e.memRoot, top[at], inLen);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        f.calldataSize = uint32(inLen);
        f.returnDataRoot = WordTree.EMPTY_ROOT;
        f.memRoot = WordTree.EMPTY_ROOT;
        // At most 63/64 of a 64-bit gas, plus the stipend of a value.
        // forge-lint: disable-next-line(unsafe-typecast)
        f.gas = uint64(r.forwarded + (f.value != 0 && reads == 7 ? CALL_STIPEND : 0));
        // The transaction's recipient stays warm at every depth: at depth 0 it enters warmAccounts.
        if (e.depth == 0) {
            r.w.warmAccounts =
                MerkleTrie.update(r.w.warmAccounts, keccak256(abi.encodePacked(e.self)), hex"01", r.w.frameWarmProof);
        }
        f.substate = _substate(r.w);
        // The caller as it resumes.
        uint256 outLen = top[at + 3];
        EvmTypes.CallerFrame memory c;
        // forge-lint: disable-next-line(unsafe-typecast)
        if (outLen != 0) c.retOffset = uint32(top[at + 2]);
        // forge-lint: disable-next-line(unsafe-typecast)
        c.retLen = uint32(outLen);
        c.stateRoot = r.rootBefore;
        c.substate = r.substate;
        c.refund = pre.refund;
        e.pc += 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(reads);
        e.stack = r.rest;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(r.memSize);
        // The cost (the forwarded gas included) is at most the gas left.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas -= uint64(r.cost);
        e.substate = r.substate;
        c.frame = EvmTypes.hash(e);
        f.parent = EvmTypes.hash(c);
        pre.evm = EvmTypes.hash(f);
        return FRAME;
    }

    /// @dev The steps that put a call's `inLen` argument bytes in a tree before it: one per chunk
    ///      when they are over a chunk (docs/evm-steps.md section 9, "Long arguments"), else none.
    function _argSteps(uint256 inLen) private pure returns (uint256) {
        return inLen > EvmFrame.CHUNK_BYTES ? (inLen - 1) / EvmFrame.CHUNK_BYTES + 1 : 0;
    }

    /// @dev The call step after its arguments' steps (docs/evm-steps.md section 9, "Long
    ///      arguments"): the call data's tree, on top of the call's `reads` items, is taken off the
    ///      stack (`r.top` becomes the items, `r.rest` stays the stack below them), and the frame is
    ///      the call's at its own pc.
    function _takeArgs(Run memory r, uint256 reads) private pure {
        uint256[] memory top = r.top;
        bytes32 args;
        assembly ("memory-safe") {
            args := mload(add(top, 32))
            top := add(top, 32)
            mstore(top, reads)
        }
        r.args = args;
        r.top = top;
        r.e.stackSize -= 1;
        r.e.pc &= uint32(EvmFrame.CHUNK_PC - 1);
    }

    /// @dev The value moves (`EvmFrame.moveValue`; in its own function for the stack's sake). False
    ///      when the frame's balance is below the value (the call fails; nothing moves).
    function _moveValue(
        MachineState.State memory pre,
        Run memory r,
        bool moves,
        address to,
        Accounts.Account memory callee,
        uint256 value
    ) private pure returns (bool ok) {
        (ok, pre.stateRoot) = EvmFrame.moveValue(
            pre.stateRoot, r.e.self, to, callee, value, moves, r.w.calleeProof, r.w.selfProof
        );
    }

    /// @dev The callee's code must hash to its code hash (so it is empty for the empty code hash, an
    ///      absent account's too; docs/evm-steps.md section 9, "Delegations").
    function _calleeCode(bytes memory code, bytes32 codeHash) private pure {
        bytes32 computed = keccak256(code);
        if (computed != codeHash) revert EvmCodeMismatch(codeHash, computed);
    }

    /// @dev The block item (`r.blk`, whose beneficiary is warm) must be the machine's.
    function _blockItem(MachineState.State memory pre, Run memory r) private pure {
        bytes32 computed = MachineState.itemHash(r.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
    }

    /// @dev The code hash the call runs (docs/evm-steps.md section 9, "Delegations"; revm 43's
    ///      `load_account_delegated`): the callee's `codeHash`, unless its code (`calleeCode`, whose
    ///      hash `_call` checked) is an EIP-7702 delegation designator (exactly 23 bytes,
    ///      `0xef0100 ‖ delegate`): then 100 more, the delegate's EIP-2929 access (`_access` with
    ///      `delegateWarmProof`) and the delegate's code hash, read with `delegateProof` against the
    ///      state root before any value moves. `enough` is false when the gas does not cover a charge.
    function _delegate(MachineState.State memory pre, Run memory r, bytes32 codeHash)
        private
        pure
        returns (bool enough, bytes32)
    {
        bytes memory code = r.w.calleeCode;
        // `EvmFrame.delegation`'s rule, written out: the call to it costs this contract 40 of the
        // 93 bytes it has left under EIP-170.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (code.length != 23 || bytes3(code) != 0xef0100) return (true, codeHash);
        r.cost += WARM_READ;
        if (r.cost > r.e.gas) return (false, 0);
        // The designator's bytes 3..23 (its first 32 bytes, zero-padded, shifted left by 3 bytes).
        // forge-lint: disable-next-line(unsafe-typecast)
        address delegate = address(bytes20(bytes32(code) << 24));
        if (!_access(pre, r, delegate, r.w.delegateWarmProof)) return (false, 0);
        return (true, Accounts.read(pre.stateRoot, Accounts.key(delegate), r.w.delegateProof).codeHash);
    }

    /// @dev The call's first charges (`EvmFrame.callPrefix`) into `r`; false when the call halts.
    function _prefix(Run memory r, uint256 op, uint256 at) private pure returns (bool ok) {
        (ok, r.memSize, r.cost) = EvmFrame.callPrefix(r.e, op, r.top, at);
    }

    /// @dev The EIP-2929 access of the callee (`proof` its `warmProof`) or of a delegated callee's
    ///      delegate (`delegateWarmProof`): warm when in `warmAccounts` (opened with `proof`), the
    ///      transaction's sender, the frame's own account, the block's beneficiary or a precompile;
    ///      otherwise 2500 more and `who` inserted into `warmAccounts`. False when out of gas. The
    ///      block item (`r.blk`) is checked by `_call` (`_blockItem`) before the callee's access.
    function _access(MachineState.State memory pre, Run memory r, address who, bytes[] memory proof)
        private
        pure
        returns (bool)
    {
        bytes32 key = keccak256(abi.encodePacked(who));
        (bool warm,) = MerkleTrie.get(r.w.warmAccounts, key, proof);
        if (
            warm || who == pre.caller || who == r.e.self || who == r.blk.beneficiary
                || (uint160(who) != 0 && uint160(who) <= LAST_PRECOMPILE)
        ) return true;
        r.cost += COLD_ACCOUNT_EXTRA;
        if (r.cost > r.e.gas) return false;
        r.w.warmAccounts = MerkleTrie.update(r.w.warmAccounts, key, hex"01", proof);
        return true;
    }

    function _substate(CallWitness memory w) private pure returns (bytes32) {
        return EvmFrame.substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
    }
}
