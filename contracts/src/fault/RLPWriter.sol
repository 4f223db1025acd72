// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RLPWriter
/// @notice Canonical RLP encoding of strings, unsigned integers, addresses and lists.
library RLPWriter {
    /// @notice Encodes `data` as an RLP string (a single byte below 0x80 is its own encoding).
    function writeBytes(bytes memory data) internal pure returns (bytes memory out) {
        uint256 len = data.length;
        if (len == 1 && uint8(data[0]) < 0x80) return data;
        out = _withHeader(len, 0x80);
        assembly ("memory-safe") {
            let outLen := mload(out)
            mcopy(add(add(out, 0x20), sub(outLen, len)), add(data, 0x20), len)
        }
    }

    /// @notice Encodes `value` as a canonical RLP integer (big-endian, no leading zero; 0 is 0x80).
    function writeUint(uint256 value) internal pure returns (bytes memory out) {
        if (value < 0x80) {
            out = new bytes(1);
            // forge-lint: disable-next-line(unsafe-typecast)
            out[0] = value == 0 ? bytes1(0x80) : bytes1(uint8(value)); // value < 0x80
            return out;
        }
        uint256 len = _byteLength(value);
        out = new bytes(len + 1);
        assembly ("memory-safe") {
            mstore8(add(out, 0x20), add(0x80, len))
            // The value's big-endian bytes, right after the prefix (the word write stays inside `out`
            // because `len` bytes are shifted to the top of the word).
            mstore(add(out, 0x21), shl(mul(8, sub(32, len)), value))
        }
    }

    /// @notice Encodes `value` as a 20-byte RLP string.
    function writeAddress(address value) internal pure returns (bytes memory out) {
        out = new bytes(21);
        assembly ("memory-safe") {
            mstore8(add(out, 0x20), 0x94)
            mstore(add(out, 0x21), shl(96, value))
        }
    }

    /// @notice Encodes `value` as a 32-byte RLP string.
    function writeBytes32(bytes32 value) internal pure returns (bytes memory out) {
        out = new bytes(33);
        assembly ("memory-safe") {
            mstore8(add(out, 0x20), 0xa0)
            mstore(add(out, 0x21), value)
        }
    }

    /// @notice Encodes `value` as an RLP integer (true = 0x01, false = 0x80).
    function writeBool(bool value) internal pure returns (bytes memory out) {
        out = new bytes(1);
        out[0] = value ? bytes1(0x01) : bytes1(0x80);
    }

    /// @notice Wraps already-encoded items, concatenated in `payload`, in a list header.
    function writeList(bytes memory payload) internal pure returns (bytes memory out) {
        uint256 len = payload.length;
        out = _withHeader(len, 0xc0);
        assembly ("memory-safe") {
            let outLen := mload(out)
            mcopy(add(add(out, 0x20), sub(outLen, len)), add(payload, 0x20), len)
        }
    }

    /// @notice Encodes a list of already-encoded items.
    function writeList(bytes[] memory items) internal pure returns (bytes memory out) {
        uint256 total;
        uint256 n = items.length;
        for (uint256 i; i < n; ++i) {
            total += items[i].length;
        }
        out = _withHeader(total, 0xc0);
        assembly ("memory-safe") {
            let dst := add(add(out, 0x20), sub(mload(out), total))
            let ptr := add(items, 0x20)
            for { let end := add(ptr, mul(n, 0x20)) } lt(ptr, end) { ptr := add(ptr, 0x20) } {
                let item := mload(ptr)
                let itemLen := mload(item)
                mcopy(dst, add(item, 0x20), itemLen)
                dst := add(dst, itemLen)
            }
        }
    }

    /// @notice The header of a string (`isList` false) or list with a payload of `length` bytes.
    function writeHeader(uint256 length, bool isList) internal pure returns (bytes memory out) {
        uint256 base = isList ? 0xc0 : 0x80;
        if (length < 56) {
            out = new bytes(1);
            // forge-lint: disable-next-line(unsafe-typecast)
            out[0] = bytes1(uint8(base + length)); // at most 0xf7
        } else {
            uint256 lenLen = _byteLength(length);
            out = new bytes(1 + lenLen);
            assembly ("memory-safe") {
                mstore8(add(out, 0x20), add(add(base, 55), lenLen))
                mstore(add(out, 0x21), shl(mul(8, sub(32, lenLen)), length))
            }
        }
    }

    /// @dev A fresh buffer of header + `length` bytes, the header written (short form below 56 bytes).
    function _withHeader(uint256 length, uint256 base) private pure returns (bytes memory out) {
        if (length < 56) {
            out = new bytes(length + 1);
            assembly ("memory-safe") {
                mstore8(add(out, 0x20), add(base, length))
            }
        } else {
            uint256 lenLen = _byteLength(length);
            out = new bytes(1 + lenLen + length);
            assembly ("memory-safe") {
                mstore8(add(out, 0x20), add(add(base, 55), lenLen))
                // Written before the payload is copied in, so the word's tail is overwritten later.
                mstore(add(out, 0x21), shl(mul(8, sub(32, lenLen)), length))
            }
        }
    }

    /// @dev Number of bytes of `value` without leading zeros (value > 0).
    function _byteLength(uint256 value) private pure returns (uint256 n) {
        if (value >> 128 != 0) {
            value >>= 128;
            n += 16;
        }
        if (value >> 64 != 0) {
            value >>= 64;
            n += 8;
        }
        if (value >> 32 != 0) {
            value >>= 32;
            n += 4;
        }
        if (value >> 16 != 0) {
            value >>= 16;
            n += 2;
        }
        if (value >> 8 != 0) {
            value >>= 8;
            n += 1;
        }
        return n + 1;
    }
}
