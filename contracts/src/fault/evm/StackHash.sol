// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StackHash
/// @notice The stack hash of docs/evm-steps.md section 2: the empty stack hashes to 0, pushing `x`
///         onto a stack of hash `h` gives `keccak256(abi.encodePacked(uint256 x, bytes32 h))`.
library StackHash {
    function push(bytes32 h, uint256 x) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore(0, x)
            mstore(32, h)
            r := keccak256(0, 64)
        }
    }

    /// @notice The hash of the stack whose top items are `top` (top first) above a rest hashing to `rest`.
    function build(uint256[] memory top, bytes32 rest) internal pure returns (bytes32 h) {
        h = rest;
        for (uint256 i = top.length; i > 0; --i) {
            h = push(h, top[i - 1]);
        }
    }
}
