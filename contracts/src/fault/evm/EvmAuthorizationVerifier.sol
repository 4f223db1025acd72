// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEvmStepVerifier} from "./IEvmStepVerifier.sol";
import {EvmEntryBase} from "./EvmEntryBase.sol";
import {EvmTypes} from "./EvmTypes.sol";
import {EvmFrame} from "./EvmFrame.sol";
import {AccessList} from "./AccessList.sol";
import {MachineState} from "../MachineState.sol";
import {Accounts} from "../Accounts.sol";
import {MerkleTrie} from "../MerkleTrie.sol";
import {TxDecoder} from "../TxDecoder.sol";

/// @title EvmAuthorizationVerifier
/// @notice One authorization of an EIP-7702 transaction (kind 12; docs/evm-steps.md section 1.2,
///         EIP-7702 authorizations, with the substate of section 2 and the witness encoding of
///         section 6): the steps between the transaction's entry marker and its entry (kind 13)
///         replay revm 43's `apply_auth_list` one authorization at a time. The first also warms
///         the access list, as revm's `load_accounts` does before the list is applied. Between
///         these steps `evm` is the authorization marker (`EvmTypes.authorizationMarker`).
///         The chain id, the empty code's hash and the precompiles' range are the entry steps'
///         (`EvmEntryBase`); an authorization for another chain, not 0, is skipped.
contract EvmAuthorizationVerifier is EvmEntryBase {
    /// @dev EIP-7702's `PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE_COST` (25,000 - 12,500): refunded
    ///      for an authority that already existed, whose creation the intrinsic gas prepaid.
    uint64 internal constant EXISTING_AUTHORITY_REFUND = 12_500;

    /// @dev The kind-12 witness: `abi.encode(bytes rawTx, uint256 index, bytes32 warmSlots,
    ///      bytes32 warmAccounts, bytes[][] accessProofs, bytes[] authorityProof, bytes authorityCode,
    ///      bytes[] warmProof, MachineState.BlockItem blk)`.
    struct Authorization {
        bytes rawTx;
        /// @dev The authorization this step applies (the number applied before it).
        uint256 index;
        /// @dev The roots the authorization marker commits to before this step (0 and 0 at index 0:
        ///      the entry marker commits to none).
        bytes32 warmSlots;
        bytes32 warmAccounts;
        /// @dev Index 0 only: one proof per access-list warming (`AccessList.warm`).
        bytes[][] accessProofs;
        /// @dev The authority's account against `pre.stateRoot` (read, then written when applied).
        bytes[] authorityProof;
        /// @dev The authority's code (empty when it has none or is absent).
        bytes authorityCode;
        /// @dev `keccak256(authority)` in `warmAccounts`; empty when it is warm from the start or
        ///      the list is over the cap.
        bytes[] warmProof;
        /// @dev The block item (its beneficiary is warm from the start).
        MachineState.BlockItem blk;
    }

    /// @param chainId The L2 chain id.
    constructor(uint64 chainId) EvmEntryBase(chainId) {}

    /// @inheritdoc IEvmStepVerifier
    /// @dev In order: the transaction and the authorization's index; the marker and the warm tries
    ///      (at index 0 the access list's warmings); the block item; then the authorization is
    ///      skipped, only warms its authority, or is applied (section 1.2).
    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32) {
        if (pre.phase != MachineState.IN_TX) revert UnsupportedStep(pre.phase);
        (uint256 kind, bytes calldata body) = EvmTypes.split(proof);
        if (kind != 12) revert UnsupportedStep(MachineState.IN_TX);
        // The witness is the tuple of `Authorization`'s fields: decoded as the struct behind its
        // offset (nine values at once are too deep for the legacy code generator's stack).
        Authorization memory w = abi.decode(bytes.concat(bytes32(uint256(32)), body), (Authorization));
        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, CHAIN_ID);
        if (!ok) revert InvalidPreState();
        if (t.txType != TxDecoder.EIP7702 || w.index >= TxDecoder.authorizationCount(w.rawTx)) {
            revert UnsupportedStep(MachineState.IN_TX);
        }
        _openLists(pre, t, w);
        bytes32 computed = MachineState.itemHash(w.blk);
        if (computed != pre.blockItem) revert BlockItemMismatch(pre.blockItem, computed);

        TxDecoder.Authorization memory a = TxDecoder.authorization(w.rawTx, w.index);
        address authority = _authority(a);
        if (authority == address(0)) {
            // revm skips it before loading anything: no account read, nothing warmed.
            if (w.authorityProof.length != 0 || w.authorityCode.length != 0 || w.warmProof.length != 0) {
                revert UnexpectedProof();
            }
        } else {
            _apply(pre, t, w, a, authority);
        }
        pre.evm = EvmTypes.authorizationMarker(t.hash, w.index + 1, w.warmSlots, w.warmAccounts);
        return MachineState.hash(pre);
    }

    /// @dev Checks `pre.evm` and sets `w.warmSlots` and `w.warmAccounts` to the tries this step
    ///      starts from. The first authorization follows the entry marker and warms the access list
    ///      from empty tries (under the cap; over it the marker's roots are `(ACCESS_LIST_SUBSTATE,
    ///      0)`); a later one follows the authorization marker of the `index` before it.
    function _openLists(MachineState.State memory pre, TxDecoder.Tx memory t, Authorization memory w) private pure {
        bytes32 computed;
        if (w.index == 0) {
            computed = EvmTypes.entryMarker(t.hash);
            if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
            // The entry marker commits to no tries: the witness's roots are unused, so must be 0.
            if (w.warmSlots != 0 || w.warmAccounts != 0) revert UnexpectedProof();
            (bool marker, bytes32 warmSlots, bytes32 warmAccounts) = AccessList.warm(w.rawTx, t, w.accessProofs);
            if (marker) (warmSlots, warmAccounts) = (EvmFrame.ACCESS_LIST_SUBSTATE, 0);
            (w.warmSlots, w.warmAccounts) = (warmSlots, warmAccounts);
        } else {
            computed = EvmTypes.authorizationMarker(t.hash, w.index, w.warmSlots, w.warmAccounts);
            if (computed != pre.evm) revert EvmStateMismatch(pre.evm, computed);
            if (w.accessProofs.length != 0) revert UnexpectedProof();
        }
    }

    /// @dev The authority of `a`, or 0 when revm skips `a` before loading any account: another
    ///      chain's, a nonce that cannot be bumped, or a signature alloy-eip7702 0.6.3's
    ///      `recover_authority` refuses (a y-parity above 1 and an s above n/2 before recovery,
    ///      which L1's ecrecover would accept; r or s zero or >= n, or r not on the curve, after).
    function _authority(TxDecoder.Authorization memory a) private view returns (address) {
        if (a.chainId != 0 && a.chainId != CHAIN_ID) return address(0);
        if (a.nonce == type(uint64).max) return address(0);
        if (a.yParity > 1 || a.s > TxDecoder.SECP256K1N_HALF) return address(0);
        // yParity <= 1.
        // forge-lint: disable-next-line(unsafe-typecast)
        return ecrecover(a.digest, uint8(27 + a.yParity), bytes32(a.r), bytes32(a.s));
    }

    /// @dev revm's `apply_auth_list` for one recovered authority: the account is loaded, and so
    ///      warmed, before its code and nonce are looked at; code that is neither empty nor a
    ///      designator, or another nonce, leaves it only warmed; otherwise its nonce is bumped, its
    ///      code becomes `0xef0100 ‖ target` (none for target 0), and an authority that existed
    ///      (is in the trie) refunds 12,500.
    function _apply(
        MachineState.State memory pre,
        TxDecoder.Tx memory t,
        Authorization memory w,
        TxDecoder.Authorization memory a,
        address authority
    ) private pure {
        bytes32 key = keccak256(abi.encodePacked(authority));
        Accounts.Account memory acc = Accounts.read(pre.stateRoot, key, w.authorityProof);
        bytes32 codeHash = keccak256(w.authorityCode);
        if (codeHash != acc.codeHash) revert EvmCodeMismatch(acc.codeHash, codeHash);

        bool warmFromStart = authority == pre.caller || authority == t.to || authority == w.blk.beneficiary
            || uint160(authority) <= LAST_PRECOMPILE;
        if (w.warmSlots == EvmFrame.ACCESS_LIST_SUBSTATE || warmFromStart) {
            if (w.warmProof.length != 0) revert UnexpectedProof();
        } else {
            w.warmAccounts = MerkleTrie.update(w.warmAccounts, key, hex"01", w.warmProof);
        }

        if (w.authorityCode.length != 0) {
            (bool delegated,) = EvmFrame.delegation(w.authorityCode);
            if (!delegated) return;
        }
        if (a.nonce != acc.nonce) return;

        if (acc.exists) {
            // A refund counter this close to 2^64 is no trace's: never a panic.
            if (pre.refund > type(uint64).max - EXISTING_AUTHORITY_REFUND) revert InvalidPreState();
            pre.refund += EXISTING_AUTHORITY_REFUND;
        }
        // acc.nonce == a.nonce < 2^64 - 1.
        acc.nonce += 1;
        acc.codeHash = a.target == address(0) ? EMPTY_CODE_HASH : keccak256(abi.encodePacked(hex"ef0100", a.target));
        // An absent authority is read as nonce 0, balance 0, the empty storage root: created so.
        pre.stateRoot = MerkleTrie.update(pre.stateRoot, key, Accounts.encode(acc), w.authorityProof);
    }
}
