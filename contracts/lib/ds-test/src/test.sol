// SPDX-License-Identifier: MIT
pragma solidity >=0.8.13 <0.9.0;

// Minimal stand-in for dapphub's ds-test, written for this project.
//
// Why: the npm package forge-std@1.1.2 (the only forge-std on npm, see
// DEVELOPERS.md) imports "ds-test/test.sol" but does not ship it, and this
// machine cannot fetch the original. This file provides the DSTest surface that
// forge-std's Test.sol uses. Assertions are forge's native cheatcode assertions,
// so a failed assertion reverts with "<message>: <left> != <right>" and stops
// the test (forge 1.x semantics); fail() marks the test failed without
// reverting, like today's forge-std.

/// @dev The assertion cheatcodes of forge 1.x, at the cheatcode address.
interface NativeAssertions {
    function assertTrue(bool condition, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(int256 left, int256 right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata error) external pure;
    function assertEqDecimal(uint256 left, uint256 right, uint256 decimals, string calldata error) external pure;
    function assertEqDecimal(int256 left, int256 right, uint256 decimals, string calldata error) external pure;
    function assertGt(uint256 left, uint256 right, string calldata error) external pure;
    function assertGt(int256 left, int256 right, string calldata error) external pure;
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(int256 left, int256 right, string calldata error) external pure;
    function assertLt(uint256 left, uint256 right, string calldata error) external pure;
    function assertLt(int256 left, int256 right, string calldata error) external pure;
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    function assertLe(int256 left, int256 right, string calldata error) external pure;
    function load(address target, bytes32 slot) external view returns (bytes32);
    function store(address target, bytes32 slot, bytes32 value) external;
}

contract DSTest {
    event log(string);
    event logs(bytes);

    event log_address(address);
    event log_bytes32(bytes32);
    event log_int(int256);
    event log_uint(uint256);
    event log_bytes(bytes);
    event log_string(string);

    event log_named_address(string key, address val);
    event log_named_bytes32(string key, bytes32 val);
    event log_named_decimal_int(string key, int256 val, uint256 decimals);
    event log_named_decimal_uint(string key, uint256 val, uint256 decimals);
    event log_named_int(string key, int256 val);
    event log_named_uint(string key, uint256 val);
    event log_named_bytes(string key, bytes val);
    event log_named_string(string key, string val);

    bool public IS_TEST = true;
    bool private _failed;

    address constant HEVM_ADDRESS = address(bytes20(uint160(uint256(keccak256("hevm cheat code")))));
    NativeAssertions private constant _native = NativeAssertions(HEVM_ADDRESS);

    /// @notice True when fail() was called in this test (forge also reads the cheatcode slot).
    function failed() public view returns (bool) {
        if (_failed) return true;
        return _native.load(HEVM_ADDRESS, bytes32("failed")) != bytes32(0);
    }

    /// @notice Marks the test failed without stopping it.
    function fail() internal virtual {
        _native.store(HEVM_ADDRESS, bytes32("failed"), bytes32(uint256(1)));
        _failed = true;
    }

    function assertTrue(bool condition) internal pure {
        _native.assertTrue(condition, "assertion failed");
    }

    function assertTrue(bool condition, string memory err) internal pure {
        _native.assertTrue(condition, err);
    }

    function assertEq(address a, address b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq(address a, address b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq(bytes32 a, bytes32 b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEq32(bytes32 a, bytes32 b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq32(bytes32 a, bytes32 b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEq(int256 a, int256 b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq(int256 a, int256 b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEqDecimal(int256 a, int256 b, uint256 decimals) internal pure {
        _native.assertEqDecimal(a, b, decimals, "assertion failed");
    }

    function assertEqDecimal(uint256 a, uint256 b, uint256 decimals) internal pure {
        _native.assertEqDecimal(a, b, decimals, "assertion failed");
    }

    function assertEq(string memory a, string memory b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq(string memory a, string memory b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertEq0(bytes memory a, bytes memory b) internal pure {
        _native.assertEq(a, b, "assertion failed");
    }

    function assertEq0(bytes memory a, bytes memory b, string memory err) internal pure {
        _native.assertEq(a, b, err);
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        _native.assertGt(a, b, "assertion failed");
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal pure {
        _native.assertGt(a, b, err);
    }

    function assertGt(int256 a, int256 b) internal pure {
        _native.assertGt(a, b, "assertion failed");
    }

    function assertGt(int256 a, int256 b, string memory err) internal pure {
        _native.assertGt(a, b, err);
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        _native.assertGe(a, b, "assertion failed");
    }

    function assertGe(uint256 a, uint256 b, string memory err) internal pure {
        _native.assertGe(a, b, err);
    }

    function assertGe(int256 a, int256 b) internal pure {
        _native.assertGe(a, b, "assertion failed");
    }

    function assertGe(int256 a, int256 b, string memory err) internal pure {
        _native.assertGe(a, b, err);
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        _native.assertLt(a, b, "assertion failed");
    }

    function assertLt(uint256 a, uint256 b, string memory err) internal pure {
        _native.assertLt(a, b, err);
    }

    function assertLt(int256 a, int256 b) internal pure {
        _native.assertLt(a, b, "assertion failed");
    }

    function assertLt(int256 a, int256 b, string memory err) internal pure {
        _native.assertLt(a, b, err);
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        _native.assertLe(a, b, "assertion failed");
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal pure {
        _native.assertLe(a, b, err);
    }

    function assertLe(int256 a, int256 b) internal pure {
        _native.assertLe(a, b, "assertion failed");
    }

    function assertLe(int256 a, int256 b, string memory err) internal pure {
        _native.assertLe(a, b, err);
    }
}
