// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {RLPReader} from "../RLPReader.sol";
import {RLPWriter} from "../RLPWriter.sol";
import {Accounts} from "../Accounts.sol";

/// @title EvmStateVerifier
/// @notice Stage 3 of docs/evm-steps.md (section 4, "State access"; witness kind 3): SLOAD, SSTORE,
///         TLOAD, TSTORE, BALANCE, SELFBALANCE, EXTCODESIZE and EXTCODEHASH in a frame at any depth,
///         with EIP-2929 warm and cold slots and accounts, EIP-2200/3529 SSTORE pricing and refunds
///         exactly as revm 43 (Prague) charges them. Storage and accounts are read (and storage
///         written) through Merkle Patricia proofs against the machine's state root (an SSTORE
///         updates the account's storage root and so the state root), a slot's value at the
///         transaction's start against `txStartRoot`; the warm slots, the warm accounts and the
///         transient storage are tries of the frame's substate; the refund counter is the machine
///         state's `refund`. EXTCODECOPY (witness kind 7: kind 3's witness and the destination's
///         word range) is the copy of section 4 ("Hashing and copies") whose source is another
///         account's code, with EXTCODESIZE's account access; one of more than `CHUNK_BYTES` bytes
///         is chunked (section 4, "Chunked copies"): this step charges the whole instruction and
///         copies chunk 0, the copy verifier (kind 2) the rest. `EvmStepVerifier` forwards kinds 3
///         and 7 here. Mirrored off chain by `core/src/fault/evm.rs` and `core/src/fault/step.rs`.
contract EvmStateVerifier is IEvmStepVerifier {
    /// @notice The substate's preimage given does not hash to the frame's `substate`.
    error SubstateMismatch(bytes32 expected, bytes32 computed);

    /// @notice The substate of a transaction whose access list has more than 64 entries (the entry
    ///         step warms a shorter one into the substate's tries): the accounts and slots it names
    ///         start warm, which the substate's tries do not hold, so its state-access instructions
    ///         are rest-of-transaction steps.
    bytes32 public constant ACCESS_LIST_SUBSTATE = EvmFrame.ACCESS_LIST_SUBSTATE;
    /// @dev The precompiles (0x01..0x11) start warm.
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    // revm 43, Prague (EIP-2929, EIP-2200, EIP-3529).
    uint256 internal constant WARM_READ = 100;
    uint256 internal constant COLD_SLOAD_EXTRA = 2000;
    uint256 internal constant COLD_SLOAD = 2100;
    uint256 internal constant CALL_STIPEND = 2300;
    uint256 internal constant SSTORE_SET_EXTRA = 19_900;
    uint256 internal constant SSTORE_RESET_EXTRA = 2800;
    uint256 internal constant CLEARS_REFUND = 4800;
    uint256 internal constant COLD_ACCOUNT_EXTRA = 2500;
    uint256 internal constant STACK_LIMIT = 1024;
    uint256 internal constant MAX_U64 = type(uint64).max;
    uint256 internal constant CHUNK_BYTES = EvmFrame.CHUNK_BYTES;

    /// @notice The state-access witness (docs/evm-steps.md section 6, kind 3).
    struct StateWitness {
        /// @dev The substate's preimage (all `MerkleTrie.EMPTY_ROOT` when `substate` is 0).
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        /// @dev SLOAD, SSTORE: the slot's key in `warmSlots`; BALANCE, EXTCODESIZE, EXTCODEHASH: the
        ///      address's key in `warmAccounts`.
        bytes[] warmProof;
        /// @dev SLOAD, SSTORE, SELFBALANCE: the frame's account against the state root; BALANCE,
        ///      EXTCODESIZE, EXTCODEHASH: the address's.
        bytes[] accountProof;
        /// @dev SLOAD, SSTORE: the slot in the frame's storage.
        bytes[] storageProof;
        /// @dev SSTORE changing the slot: the account against `txStartRoot`, and the slot in its storage.
        bytes[] originalAccountProof;
        bytes[] originalStorageProof;
        /// @dev TLOAD, TSTORE: the slot's key in `transientStorage`.
        bytes[] transientProof;
        /// @dev EXTCODESIZE, EXTCODECOPY: the address's code.
        bytes extCode;
    }

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        StateWitness w;
        /// @dev BALANCE, EXTCODESIZE, EXTCODEHASH, EXTCODECOPY: the block (its beneficiary starts warm).
        MachineState.BlockItem blk;
        uint256 cost;
        /// @dev EXTCODECOPY (kind 7): the memory words of the destination before the copy (of chunk
        ///      0 when chunked; empty when nothing is written), and the memory size after the
        ///      instruction.
        EvmTypes.WordRange dest;
        uint256 memSize;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        Run memory r;
        if (kind == 3) {
            (r.e, r.code, r.top, r.rest, r.w, r.blk) =
                abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, StateWitness, MachineState.BlockItem));
        } else if (kind == 7) {
            (r.e, r.code, r.top, r.rest, r.w, r.blk, r.dest) = abi.decode(
                body,
                (EvmTypes.EvmState, bytes, uint256[], bytes32, StateWitness, MachineState.BlockItem, EvmTypes.WordRange)
            );
        } else {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        uint256 op = EvmFrame.open(pre, r.e, r.code, true);
        // EXTCODECOPY has a witness of kind 7, every other state-access instruction of kind 3.
        if ((op == 0x3c) != (kind == 7)) revert UnsupportedStep(MachineState.IN_TX);
        uint256 reads = _reads(op);
        bytes32 computed = substateHash(r.w.warmSlots, r.w.transientStorage, r.w.warmAccounts);
        if (computed != r.e.substate) revert SubstateMismatch(r.e.substate, computed);
        r.memSize = r.e.memSize;
        uint256 outcome;
        if (!EvmFrame.openStack(r.e, r.top, r.rest, reads)) {
            outcome = EvmFrame.EXCEPTION;
        } else {
            outcome = op == 0x31 || op == 0x3b || op == 0x3c || op == 0x3f || op == 0x47
                ? _account(pre, r, op)
                : _execute(pre, r, op);
        }
        // The destination range is opened exactly when EXTCODECOPY writes.
        if (r.dest.words.length != 0 || r.dest.siblings.length != 0) revert UnexpectedWords();
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @notice The frame's `substate`: 0 for the empty one (no warm slot or account, no transient
    ///         value), else `keccak256(abi.encode(warmSlots, transientStorage, warmAccounts))`.
    function substateHash(bytes32 warmSlots, bytes32 transientStorage, bytes32 warmAccounts)
        public
        pure
        returns (bytes32)
    {
        return EvmFrame.substateHash(warmSlots, transientStorage, warmAccounts);
    }

    /// @dev The stack items a state-access instruction reads; reverts `UnsupportedStep` for any other.
    function _reads(uint256 op) private pure returns (uint256) {
        // SLOAD TLOAD BALANCE EXTCODESIZE EXTCODEHASH | SSTORE TSTORE | SELFBALANCE | EXTCODECOPY
        if (op == 0x54 || op == 0x5c || op == 0x31 || op == 0x3b || op == 0x3f) return 1;
        if (op == 0x55 || op == 0x5d) return 2;
        if (op == 0x47) return 0;
        if (op == 0x3c) return 4;
        revert UnsupportedStep(MachineState.IN_TX);
    }

    /// @dev BALANCE, EXTCODESIZE, EXTCODEHASH (100 warm, 2600 cold; the address is then warm),
    ///      EXTCODECOPY (the same, with its copy and memory costs between the 100 and the cold
    ///      access's 2500, in revm 43's order) and SELFBALANCE (5), reading an account against the
    ///      state root.
    function _account(MachineState.State memory pre, Run memory r, uint256 op) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        StateWitness memory w = r.w;
        address account = e.self;
        if (op == 0x47) {
            r.cost = 5;
            if (r.cost > e.gas || e.stackSize >= STACK_LIMIT) return EvmFrame.EXCEPTION;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            account = address(uint160(r.top[0]));
            r.cost = WARM_READ;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
            if (op == 0x3c && !_copyCost(r)) return EvmFrame.EXCEPTION;
            bytes32 computed = MachineState.itemHash(r.blk);
            if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);
            bytes32 key = keccak256(abi.encodePacked(account));
            (bool warm,) = MerkleTrie.get(w.warmAccounts, key, w.warmProof);
            // Warm from the start (EIP-2929, EIP-3651): the sender, the recipient, the block's
            // beneficiary and the precompiles.
            if (
                !warm && account != pre.caller && account != e.self && account != r.blk.beneficiary
                    && (uint160(account) == 0 || uint160(account) > LAST_PRECOMPILE)
            ) {
                r.cost += COLD_ACCOUNT_EXTRA;
                if (r.cost > e.gas) return EvmFrame.EXCEPTION;
                w.warmAccounts = MerkleTrie.update(w.warmAccounts, key, hex"01", w.warmProof);
            }
        }
        Accounts.Account memory a = Accounts.read(pre.stateRoot, Accounts.key(account), w.accountProof);
        uint256 result;
        if (a.exists) {
            if (op == 0x31 || op == 0x47) {
                result = a.balance;
            } else if (op == 0x3f) {
                // EXTCODEHASH: 0 for an empty account.
                if (!Accounts.isEmpty(a)) result = uint256(a.codeHash);
            } else {
                // EXTCODESIZE, EXTCODECOPY: the code (an EIP-7702 delegation's is its designator).
                bytes32 computed = keccak256(w.extCode);
                if (computed != a.codeHash) revert EvmCodeMismatch(a.codeHash, computed);
                result = w.extCode.length;
            }
        }
        e.substate = substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
        if (op == 0x3c) {
            // An absent account has no code.
            if (_copy(r, a.exists ? w.extCode : bytes(""))) {
                // Chunked (docs/evm-steps.md section 4, "Chunked copies"): the copy verifier copies
                // chunk 1 next, at pc + (1 << 16); the stack keeps the four items until the last.
                e.pc += 1 << 16;
            } else {
                e.pc += 1;
                e.stack = r.rest;
                e.stackSize -= 4;
            }
            return EvmFrame.CONTINUE;
        }
        e.pc += 1;
        e.stack = StackHash.push(r.rest, result);
        if (op == 0x47) e.stackSize += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev EXTCODECOPY address dst src len after its 100: a `len` past 64 bits halts, 3 per word,
    ///      then (`len > 0`) the memory expansion of `(dst, len)` (revm's `resize_memory`). False
    ///      when the instruction halts.
    function _copyCost(Run memory r) private pure returns (bool) {
        uint256 len = r.top[3];
        if (len > MAX_U64) return false;
        r.cost += 3 * ((len + 31) / 32);
        if (r.cost > r.e.gas) return false;
        if (len == 0) return true;
        (bool ok, uint256 memSize, uint256 cost) = EvmFrame.expansion(r.memSize, r.top[1], len);
        if (!ok) return false;
        r.memSize = memSize;
        r.cost += cost;
        return r.cost <= r.e.gas;
    }

    /// @dev EXTCODECOPY's copy of `code` from `src` (saturated to 64 bits, zero past the end) into
    ///      `len` bytes of memory at `dst`, through the destination range (consumed: left empty).
    ///      With `len > CHUNK_BYTES` (docs/evm-steps.md section 4, "Chunked copies" and
    ///      "EXTCODECOPY") only chunk 0, the first `CHUNK_BYTES` bytes, and true (chunked); a code
    ///      longer than `CHUNK_BYTES` (only a genesis holds one) then makes the step a
    ///      rest-of-transaction step: the later chunks, copied by the copy verifier, are zeros.
    function _copy(Run memory r, bytes memory code) private pure returns (bool chunked) {
        uint256 dst = r.top[1];
        uint256 len = r.top[3];
        if (len == 0) return false;
        // At most CHUNK_BYTES bytes span at most MAX_RANGE_WORDS words.
        if (len > CHUNK_BYTES) {
            if (code.length > CHUNK_BYTES) revert UnsupportedStep(MachineState.IN_TX);
            len = CHUNK_BYTES;
            chunked = true;
        }
        uint256 src = EvmFrame.min(r.top[2], MAX_U64);
        bytes memory data = new bytes(len);
        if (src < code.length) {
            uint256 n = EvmFrame.min(len, code.length - src);
            assembly ("memory-safe") {
                mcopy(add(data, 32), add(add(code, 32), src), n)
            }
        }
        r.e.memRoot = EvmFrame.writeRange(r.dest, r.e.memRoot, dst, data, len, 0);
        delete r.dest;
    }

    /// @notice The key of `slot` of `account` in the warm-slot and transient-storage tries.
    function slotKey(address account, uint256 slot) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(account, slot));
    }

    /// @dev The instruction, whose stack items are open: its gas in revm's order, then its effect.
    function _execute(MachineState.State memory pre, Run memory r, uint256 op) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        StateWitness memory w = r.w;
        uint256 slot = r.top[0];
        bytes32 key = slotKey(e.self, slot);
        // SSTORE and TSTORE in a static frame halt (revm checks it first; either way the frame halts).
        if ((op == 0x55 || op == 0x5d) && e.isStatic) return EvmFrame.EXCEPTION;
        // EIP-2200: an SSTORE with at most the call stipend left halts.
        if (op == 0x55 && e.gas <= CALL_STIPEND) return EvmFrame.EXCEPTION;
        r.cost = WARM_READ;
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        bytes32 stack = r.rest;
        if (op == 0x5c) {
            // TLOAD
            (bool found, bytes memory value) = MerkleTrie.get(w.transientStorage, key, w.transientProof);
            stack = StackHash.push(stack, found ? RLPReader.readUint(value, 0) : 0);
        } else if (op == 0x5d) {
            // TSTORE
            w.transientStorage = MerkleTrie.update(w.transientStorage, key, _slotValue(r.top[1]), w.transientProof);
        } else {
            (bool warm,) = MerkleTrie.get(w.warmSlots, key, w.warmProof);
            if (!warm) {
                r.cost += op == 0x54 ? COLD_SLOAD_EXTRA : COLD_SLOAD;
                if (r.cost > e.gas) return EvmFrame.EXCEPTION;
            }
            Accounts.Account memory account = Accounts.read(pre.stateRoot, Accounts.key(e.self), w.accountProof);
            uint256 current = _slot(account.storageRoot, slot, w.storageProof);
            if (op == 0x54) {
                // SLOAD
                stack = StackHash.push(stack, current);
            } else if (!_sstore(pre, r, account, current)) {
                return EvmFrame.EXCEPTION;
            }
            if (!warm) w.warmSlots = MerkleTrie.update(w.warmSlots, key, hex"01", w.warmProof);
        }
        e.substate = substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
        e.stack = stack;
        // Loads pop 1 and push 1, stores pop 2.
        if (op == 0x55 || op == 0x5d) e.stackSize -= 2;
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @dev SSTORE of `r.top[1]` into a slot holding `current`, its warm or cold cost already in
    ///      `r.cost`: EIP-2200's set or reset cost, EIP-3529's refund, the new storage and state
    ///      roots. False when out of gas.
    function _sstore(MachineState.State memory pre, Run memory r, Accounts.Account memory account, uint256 current)
        private
        pure
        returns (bool)
    {
        uint256 slot = r.top[0];
        uint256 value = r.top[1];
        // Writing the value the slot holds costs the warm read and refunds nothing.
        if (value == current) return true;
        StateWitness memory w = r.w;
        bytes32 originalRoot =
            Accounts.read(r.e.txStartRoot, Accounts.key(r.e.self), w.originalAccountProof).storageRoot;
        uint256 original = _slot(originalRoot, slot, w.originalStorageProof);
        if (original == current) r.cost += original == 0 ? SSTORE_SET_EXTRA : SSTORE_RESET_EXTRA;
        if (r.cost > r.e.gas) return false;
        // EIP-3529 refunds (revm's `sstore_refund`); the counter of the depth-0 frame never goes
        // below zero (a clearing refund is taken back only after it was given).
        uint256 refund = pre.refund;
        if (original == current) {
            if (value == 0) refund += CLEARS_REFUND;
        } else {
            if (original != 0) {
                if (current == 0) refund -= CLEARS_REFUND;
                else if (value == 0) refund += CLEARS_REFUND;
            }
            if (original == value) refund += original == 0 ? SSTORE_SET_EXTRA : SSTORE_RESET_EXTRA;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        pre.refund = uint64(refund);
        // The frame's account exists at depth 0 (it holds the running code).
        if (!account.exists) revert InvalidPreState();
        account.storageRoot =
            MerkleTrie.update(account.storageRoot, keccak256(abi.encode(slot)), _slotValue(value), w.storageProof);
        pre.stateRoot =
            MerkleTrie.update(pre.stateRoot, Accounts.key(r.e.self), Accounts.encode(account), w.accountProof);
        return true;
    }

    /// @dev The value of `slot` in the storage trie with root `root` (0 when absent).
    function _slot(bytes32 root, uint256 slot, bytes[] memory proof) private pure returns (uint256) {
        (bool found, bytes memory value) = MerkleTrie.get(root, keccak256(abi.encode(slot)), proof);
        return found ? RLPReader.readUint(value, 0) : 0;
    }

    /// @dev A slot's leaf payload, `rlp(value)`, or empty (deleted) for 0.
    function _slotValue(uint256 value) private pure returns (bytes memory) {
        return value == 0 ? bytes("") : RLPWriter.writeUint(value);
    }
}
