// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStepVerifier
/// @notice One step of the fault-proof machine (docs/fault-proof.md section 4): given the
///         agreed pre-state (`abi.encode(MachineState.State)`, whose hash the caller has checked)
///         and the step's witness (section 5), returns the hash of the post-state. Reverts when
///         the witness does not prove the step or the step is not provable yet.
interface IStepVerifier {
    function step(bytes calldata preState, bytes calldata proof) external view returns (bytes32 postStateHash);
}
