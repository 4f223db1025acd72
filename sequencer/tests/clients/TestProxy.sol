// SPDX-License-Identifier: MIT
// Compiled by compile.mjs (solcjs 0.8.30) into proxy.json; keep the two in step.
pragma solidity 0.8.30;

/// @title TestProxy
/// @notice A minimal EIP-1967 proxy, used by the tests of the fault-proof machine as a real
///         contract that runs another's code in its own storage: every call is forwarded with
///         DELEGATECALL to the implementation whose address is in the EIP-1967 implementation
///         slot, and returns or reverts with the callee's output.
contract TestProxy {
    /// @dev `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`.
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    constructor(address implementation) {
        require(implementation.code.length > 0, "implementation has no code");
        assembly {
            sstore(IMPLEMENTATION_SLOT, implementation)
        }
        emit Upgraded(implementation);
    }

    fallback() external payable {
        _delegate();
    }

    receive() external payable {
        _delegate();
    }

    function _delegate() internal {
        assembly {
            let implementation := sload(IMPLEMENTATION_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), implementation, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}
