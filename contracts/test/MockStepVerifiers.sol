// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStepVerifier} from "../src/fault/IStepVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";

/// @notice A model of one commitment's true step trace, for the dispute game tests. State `i` of
///         the trace is the byte string `preimage(i)` and its hash `hashAt(i) = keccak256(preimage(i))`:
///           - state 0 is the real initial machine state (`MachineState.initialHash(prev, inputs)`);
///           - state 2^40 is the real final machine state of the TRUE post-state root;
///           - state `i` in between is `abi.encode(seed, i)`.
///         `step(preimage(i), abi.encode(i))` returns `hashAt(i + 1)`; anything that is not a
///         state of the trace at the index named by the proof reverts (a witness that proves
///         nothing), like the real verifier does for a bad witness.
contract TraceVerifier is IStepVerifier {
    uint256 public constant LENGTH = uint256(1) << 40;

    bytes32 public seed;
    bytes32 public prevStateRoot;
    bytes32 public inputsRoot;
    bytes32 public truePostStateRoot;

    function configure(bytes32 seed_, bytes32 prev, bytes32 inputs, bytes32 truePost) external {
        seed = seed_;
        prevStateRoot = prev;
        inputsRoot = inputs;
        truePostStateRoot = truePost;
    }

    function preimage(uint256 i) public view returns (bytes memory) {
        MachineState.State memory s;
        if (i == 0) {
            s.stateRoot = prevStateRoot;
            s.inputs = inputsRoot;
            return abi.encode(s);
        }
        if (i == LENGTH) {
            s.stateRoot = truePostStateRoot;
            return abi.encode(s);
        }
        return abi.encode(seed, i);
    }

    function hashAt(uint256 i) public view returns (bytes32) {
        return keccak256(preimage(i));
    }

    function step(bytes calldata preState, bytes calldata proof) external view returns (bytes32) {
        uint256 i = abi.decode(proof, (uint256));
        require(i < LENGTH && keccak256(preState) == hashAt(i), "TraceVerifier: not the trace's state");
        return hashAt(i + 1);
    }
}

/// @notice A verifier whose answer is its witness: `step(pre, abi.encode(post))` returns `post`;
///         an empty witness reverts (an unprovable step). Lets tests and the invariant handler
///         pick a step's outcome, and costs next to nothing (for gas figures).
contract ScriptedVerifier is IStepVerifier {
    function step(bytes calldata, bytes calldata proof) external pure returns (bytes32) {
        require(proof.length == 32, "ScriptedVerifier: unprovable");
        return abi.decode(proof, (bytes32));
    }
}
