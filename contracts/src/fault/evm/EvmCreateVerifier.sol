// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {StackHash} from "./StackHash.sol";
import {WordTree} from "./WordTree.sol";
import {EvmStateVerifier} from "./EvmStateVerifier.sol";
import {MachineState} from "../MachineState.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {Accounts} from "../Accounts.sol";
import {RLPWriter} from "../RLPWriter.sol";

/// @title EvmCreateVerifier
/// @notice CREATE and CREATE2 at any depth (docs/evm-steps.md section 10; witness kind 8), in revm
///         43's order (`create`, `make_create_frame`, `create_account_checkpoint`): a static frame,
///         a stack underflow, an init code over 49,152 bytes (EIP-3860) or out of gas halt; gas is 2
///         a word of init code, the memory expansion of its range, 32,000 (and for CREATE2 6 a word
///         for hashing), then all but a 64th of what is left, forwarded. The init code is opened as
///         a word range of the caller's memory (over 1024 words: a rest-of-transaction step). A
///         creator at depth 1024 or with a balance below the value fails the creation (push 0, the
///         forwarded gas back, nothing else changes); otherwise the creator's nonce is bumped (an
///         account proof), the new address (`keccak256(rlp([creator, nonce]))` or `keccak256(0xff ‖
///         creator ‖ salt ‖ keccak256(initcode))`) becomes warm, and either it collides (code or a
///         nonce there: push 0, all the forwarded gas spent) or the new account gets nonce 1 and
///         the value and the init frame starts one level deeper, the caller saved as a
///         `CallerFrame` whose `created` is the new address (its return step, kind 6, deposits the
///         code). `EvmCallVerifier` forwards kind 8 here. Mirrored off chain by
///         `core/src/fault/evm.rs`.
contract EvmCreateVerifier is IEvmStepVerifier {
    uint256 internal constant CREATE = 0xf0;
    uint256 internal constant CREATE2 = 0xf5;
    /// @notice EIP-3860's init code limit (twice EIP-170's code limit).
    uint256 internal constant MAX_INITCODE_SIZE = 49_152;
    uint256 internal constant INITCODE_WORD = 2;
    uint256 internal constant CREATE_GAS = 32_000;
    uint256 internal constant KECCAK_WORD = 6;

    /// @dev `_create`'s outcome when the init frame starts: the machine state `pre` is the post-state.
    uint256 internal constant FRAME = 4;

    /// @notice The create witness (docs/evm-steps.md sections 6 and 10, kind 8).
    struct CreateWitness {
        /// @dev The substate's preimage (all `MerkleTrie.EMPTY_ROOT` when `substate` is 0).
        bytes32 warmSlots;
        bytes32 transientStorage;
        bytes32 warmAccounts;
        /// @dev The creator (the frame's account) against the state root (read, then its nonce bumped).
        bytes[] selfProof;
        /// @dev The new address's key in `warmAccounts` (read, then inserted when absent).
        bytes[] warmProof;
        /// @dev The new address against the root after the creator's nonce bump (read, then written).
        bytes[] newProof;
        /// @dev With a value and no collision: the creator against the root after the new account
        ///      is written (debited by the value).
        bytes[] selfAfterProof;
        /// @dev An init frame starting at depth 0: the key of the frame's account in `warmAccounts`
        ///      after the new address's insertion.
        bytes[] frameWarmProof;
        /// @dev `len > 0` and the step gets past the memory expansion: the caller's memory words of
        ///      `[offset, offset + len)`; otherwise empty.
        EvmTypes.WordRange initCode;
    }

    /// @dev One step: the witness and the working values.
    struct Run {
        EvmTypes.EvmState e;
        bytes code;
        uint256[] top;
        bytes32 rest;
        CreateWitness w;
        uint256 reads;
        uint256 cost;
        uint256 memSize;
        uint256 forwarded;
        bytes initCode;
    }

    /// @inheritdoc IEvmStepVerifier
    function step(MachineState.State memory pre, bytes calldata proof) external pure returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 8) revert UnsupportedStep(MachineState.IN_TX);
        Run memory r;
        (r.e, r.code, r.top, r.rest, r.w) =
            abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, CreateWitness));
        uint256 op = EvmFrame.open(pre, r.e, r.code, true);
        if (op != CREATE && op != CREATE2) revert UnsupportedStep(MachineState.IN_TX);
        bytes32 computed = _substate(r.w);
        if (computed != r.e.substate) revert EvmStateVerifier.SubstateMismatch(r.e.substate, computed);
        r.memSize = r.e.memSize;
        // CREATE: value offset len; CREATE2: value offset len salt.
        r.reads = op == CREATE2 ? 4 : 3;
        uint256 outcome = _create(pre, r, op);
        if (outcome == FRAME) return MachineState.hash(pre);
        // A halt opens no init code.
        if (outcome == EvmFrame.EXCEPTION && !EvmFrame.isEmpty(r.w.initCode)) revert UnexpectedWords();
        return EvmFrame.post(pre, r.e, outcome, r.cost, r.memSize);
    }

    /// @dev The creation: its halts and gas in revm's order, then its effect.
    function _create(MachineState.State memory pre, Run memory r, uint256 op) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        if (!EvmFrame.openStack(e, r.top, r.rest, r.reads)) return EvmFrame.EXCEPTION;
        if (e.isStatic) return EvmFrame.EXCEPTION;
        uint256 offset = r.top[1];
        uint256 len = r.top[2];
        if (len > EvmFrame.MAX_U64) return EvmFrame.EXCEPTION;
        uint256 words = (len + 31) / 32;
        if (len != 0) {
            if (len > MAX_INITCODE_SIZE) return EvmFrame.EXCEPTION;
            r.cost = INITCODE_WORD * words;
            if (r.cost > e.gas) return EvmFrame.EXCEPTION;
            bool ok;
            (ok, r.memSize, r.cost) = EvmFrame.callRange(r.memSize, r.cost, e.gas, offset, len);
            if (!ok) return EvmFrame.EXCEPTION;
        }
        r.cost += CREATE_GAS + (op == CREATE2 ? KECCAK_WORD * words : 0);
        if (r.cost > e.gas) return EvmFrame.EXCEPTION;
        uint256 left = e.gas - r.cost;
        r.forwarded = left - left / 64;
        r.cost += r.forwarded;
        // From here the instruction does not halt.
        if (len == 0) {
            if (!EvmFrame.isEmpty(r.w.initCode)) revert UnexpectedWords();
        } else {
            // At most 49,152 bytes (checked above): one range of up to `MAX_INITCODE_WORDS` words.
            r.initCode = EvmFrame.readRangeUpTo(r.w.initCode, e.memRoot, offset, len, 0, EvmFrame.MAX_INITCODE_WORDS);
        }
        return _frameCreation(pre, r, op);
    }

    /// @dev revm's `make_create_frame`: the creation fails, collides or starts the init frame.
    function _frameCreation(MachineState.State memory pre, Run memory r, uint256 op) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        // revm's frame creation: a creator at depth 1024 cannot create; nor one whose balance is
        // below the value. The forwarded gas comes back, nothing else changes.
        if (e.depth >= EvmFrame.CALL_DEPTH_LIMIT) return _fail(r, false);
        Accounts.Account memory self = Accounts.read(pre.stateRoot, Accounts.key(e.self), r.w.selfProof);
        if (self.balance < r.top[0]) return _fail(r, false);
        // revm's nonce overflow path (the creation returns without a frame): not proven.
        if (self.nonce == EvmFrame.MAX_U64) revert UnsupportedStep(MachineState.IN_TX);
        // The nonce is bumped before the checkpoint: it stays whatever follows.
        uint256 nonce = self.nonce;
        self.nonce = nonce + 1;
        pre.stateRoot = MerkleTrie.update(pre.stateRoot, Accounts.key(e.self), Accounts.encode(self), r.w.selfProof);
        address created = op == CREATE
            ? createAddress(e.self, nonce)
            : create2Address(e.self, bytes32(r.top[3]), keccak256(r.initCode));
        // The new address becomes warm (no gas), before the checkpoint.
        bytes32 warmKey = keccak256(abi.encodePacked(created));
        (bool warm,) = MerkleTrie.get(r.w.warmAccounts, warmKey, r.w.warmProof);
        if (!warm) r.w.warmAccounts = MerkleTrie.update(r.w.warmAccounts, warmKey, hex"01", r.w.warmProof);
        e.substate = _substate(r.w);
        Accounts.Account memory acct = Accounts.read(pre.stateRoot, Accounts.key(created), r.w.newProof);
        // A collision fails the creation after the nonce bump and the warm access; the forwarded
        // gas is spent.
        if (acct.codeHash != Accounts.EMPTY_CODE_HASH || acct.nonce != 0) return _fail(r, true);
        // An account with storage but no code nor nonce: revm would keep its storage unseen.
        if (acct.storageRoot != MerkleTrie.EMPTY_ROOT) revert UnsupportedStep(MachineState.IN_TX);
        _start(pre, r, created, acct);
        return FRAME;
    }

    /// @dev The init frame starts (docs/evm-steps.md section 10): the new account gets nonce 1 and
    ///      the value (the creator debited), the caller is saved as it resumes in a `CallerFrame`
    ///      with the snapshots a failing init frame restores and the new address, and the machine's
    ///      `evm` becomes the init frame's hash.
    function _start(MachineState.State memory pre, Run memory r, address created, Accounts.Account memory acct)
        private
        pure
    {
        EvmTypes.EvmState memory e = r.e;
        uint256 value = r.top[0];
        // The snapshots: the root after the nonce bump, the substate after the new address's access.
        EvmTypes.CallerFrame memory c;
        c.stateRoot = pre.stateRoot;
        c.substate = e.substate;
        c.refund = pre.refund;
        c.created = created;
        // Balances above 2^256 together: no state holds them.
        if (acct.balance > type(uint256).max - value) revert InvalidPreState();
        acct.nonce = 1;
        acct.balance += value;
        acct.storageRoot = MerkleTrie.EMPTY_ROOT;
        acct.codeHash = Accounts.EMPTY_CODE_HASH;
        pre.stateRoot = MerkleTrie.update(pre.stateRoot, Accounts.key(created), Accounts.encode(acct), r.w.newProof);
        if (value != 0) {
            Accounts.Account memory self = Accounts.read(pre.stateRoot, Accounts.key(e.self), r.w.selfAfterProof);
            // The creator's balance was checked against the value (another account was written since).
            self.balance -= value;
            pre.stateRoot =
                MerkleTrie.update(pre.stateRoot, Accounts.key(e.self), Accounts.encode(self), r.w.selfAfterProof);
        }
        // A memory past 4 GiB (over 3 * 10^13 gas) does not fit the state.
        if (r.memSize > type(uint32).max) revert UnsupportedStep(MachineState.IN_TX);
        EvmTypes.EvmState memory f;
        f.txHash = e.txHash;
        f.txStartRoot = e.txStartRoot;
        // The transaction's recipient stays warm at every depth: at depth 0 it enters warmAccounts.
        if (e.depth == 0) {
            r.w.warmAccounts =
                MerkleTrie.update(r.w.warmAccounts, keccak256(abi.encodePacked(e.self)), hex"01", r.w.frameWarmProof);
        }
        f.substate = _substate(r.w);
        f.depth = e.depth + 1;
        f.self = created;
        f.caller = e.self;
        f.value = value;
        f.codeHash = keccak256(r.initCode);
        f.calldataRoot = WordTree.EMPTY_ROOT;
        f.returnDataRoot = WordTree.EMPTY_ROOT;
        f.memRoot = WordTree.EMPTY_ROOT;
        // At most 63/64 of a 64-bit gas.
        // forge-lint: disable-next-line(unsafe-typecast)
        f.gas = uint64(r.forwarded);
        // The caller as it resumes.
        e.pc += 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(r.reads);
        e.stack = r.rest;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(r.memSize);
        // The cost (the forwarded gas included) is at most the gas left.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas -= uint64(r.cost);
        c.frame = EvmTypes.hash(e);
        f.parent = EvmTypes.hash(c);
        pre.evm = EvmTypes.hash(f);
    }

    /// @dev A creation that fails without a frame: the caller goes on with its items popped, 0
    ///      pushed and empty return data; the forwarded gas comes back unless `spent` (a collision).
    function _fail(Run memory r, bool spent) private pure returns (uint256) {
        EvmTypes.EvmState memory e = r.e;
        if (!spent) r.cost -= r.forwarded;
        e.stack = StackHash.push(r.rest, 0);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(r.reads - 1); // 2 or 3
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.returnDataSize = 0;
        e.pc += 1;
        return EvmFrame.CONTINUE;
    }

    /// @notice CREATE's address: `keccak256(rlp([creator, nonce]))[12:]`.
    function createAddress(address creator, uint256 nonce) public pure returns (address) {
        bytes[] memory items = new bytes[](2);
        items[0] = RLPWriter.writeAddress(creator);
        items[1] = RLPWriter.writeUint(nonce);
        return address(uint160(uint256(keccak256(RLPWriter.writeList(items)))));
    }

    /// @notice CREATE2's address (EIP-1014): `keccak256(0xff ‖ creator ‖ salt ‖ initCodeHash)[12:]`.
    function create2Address(address creator, bytes32 salt, bytes32 initCodeHash) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), creator, salt, initCodeHash)))));
    }

    function _substate(CreateWitness memory w) private pure returns (bytes32) {
        return EvmFrame.substateHash(w.warmSlots, w.transientStorage, w.warmAccounts);
    }
}
