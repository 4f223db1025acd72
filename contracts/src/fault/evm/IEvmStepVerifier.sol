// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../MachineState.sol";

/// @title IEvmStepVerifier
/// @notice One step of the fault-proof machine from a state in phase `IN_TX` (docs/evm-steps.md):
///         `proof = abi.encode(uint8 kind, bytes body)`, kind 0 the entry step, kind 1 an
///         instruction step (section 6). Returns the post-state's hash; reverts when the witness
///         does not prove the step or the step is not provable yet (`UnsupportedStep(2)`).
///         The caller (`OneStepVerifier`) has decoded the agreed pre-state.
interface IEvmStepVerifier {
    /// @notice The step is not provable on L1 yet (a rest-of-transaction step), or the phase is not `IN_TX`.
    error UnsupportedStep(uint8 phase);
    /// @notice `pre.evm` is neither the hash of the `EvmState` given nor (entry) the transaction's entry marker.
    error EvmStateMismatch(bytes32 expected, bytes32 computed);
    /// @notice The code given does not hash to the frame's (entry: the recipient's) code hash.
    error EvmCodeMismatch(bytes32 expected, bytes32 computed);
    /// @notice `stackTop` and `stackRest` do not open the frame's stack as the instruction needs.
    error StackMismatch();
    /// @notice Word proof number `index` (position in `words`) does not open its tree's current root.
    error WordProofMismatch(uint256 index);
    /// @notice Wrong number of word proofs, or a proof of another word than the instruction accesses.
    error UnexpectedWords();
    /// @notice The block item given does not hash to the state's `blockItem`.
    error BlockItemMismatch(bytes32 blockItem, bytes32 computed);
    /// @notice The account trie holds a value under `key` that is not an account.
    error MalformedAccount(bytes32 key);
    /// @notice A pre-state no trace reaches (entry: a transaction that does not decode, a recipient
    ///         without code, a caller that cannot pay the value).
    error InvalidPreState();
    /// @notice The entry step of a transaction without value takes no caller proof.
    error UnexpectedProof();

    function step(MachineState.State memory pre, bytes calldata proof) external view returns (bytes32 postStateHash);
}
