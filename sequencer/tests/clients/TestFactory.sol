// SPDX-License-Identifier: MIT
// Compiled by compile.mjs (solcjs 0.8.30) into factory.json; keep the two in step.
pragma solidity 0.8.30;

import {TestToken} from "./TestToken.sol";

/// @title TestFactory
/// @notice A CREATE2 factory of `TestToken`s, used by the tests of the fault-proof machine as a
///         real contract that creates contracts: `deploy` creates a token at the address its
///         salt and constructor arguments fix (the token's constructor runs in the init frame:
///         string storage, the mint to the factory, an event), records it and hands the whole
///         supply to the caller; `predict` computes that address; a salt used twice collides and
///         reverts.
contract TestFactory {
    address[] public tokens;

    event Deployed(address indexed token, bytes32 indexed salt);

    function deploy(bytes32 salt, string calldata name, string calldata symbol, uint256 supply)
        external
        returns (address token)
    {
        TestToken created = new TestToken{salt: salt}(name, symbol, supply);
        token = address(created);
        tokens.push(token);
        created.transfer(msg.sender, supply);
        emit Deployed(token, salt);
    }

    function predict(bytes32 salt, string calldata name, string calldata symbol, uint256 supply)
        external
        view
        returns (address)
    {
        bytes32 initCode = keccak256(abi.encodePacked(type(TestToken).creationCode, abi.encode(name, symbol, supply)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, initCode)))));
    }

    function count() external view returns (uint256) {
        return tokens.length;
    }
}
