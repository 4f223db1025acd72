// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RLPReader
/// @notice Reads RLP items in place from a `bytes memory` buffer, addressed by byte offsets. Every
///         read checks bounds and canonical form (the encoding Ethereum hashes): a single byte below
///         0x80 must stand alone, short lengths must use the short form, long lengths carry no
///         leading zero bytes, integers carry no leading zero bytes. An "item" at `offset` is the
///         whole encoding (header and payload); `readHeader` gives its payload.
/// @dev List readers return, for each element, the offset of its header and its total length, so
///      a caller can read elements with the other functions or hash/copy them raw.
library RLPReader {
    /// @notice The item (or its header) at `offset` runs past the end of the data or of its list.
    error RLPOutOfBounds(uint256 offset);
    /// @notice The item at `offset` is not in canonical form.
    error RLPNonCanonical(uint256 offset);
    /// @notice A list was expected at `offset`.
    error RLPNotAList(uint256 offset);
    /// @notice A string was expected at `offset`.
    error RLPNotAString(uint256 offset);
    /// @notice The data holds bytes after the item that should span it all.
    error RLPTrailingBytes(uint256 end, uint256 length);
    /// @notice The string at `offset` is not a canonical unsigned integer (more than 32 bytes or a leading zero).
    error RLPInvalidUint(uint256 offset);
    /// @notice The string at `offset` has `length` bytes where exactly `expected` are required.
    error RLPInvalidLength(uint256 offset, uint256 expected, uint256 length);

    /// @notice Decodes the header of the item at `offset`.
    /// @return isList Whether the item is a list.
    /// @return payloadOffset Offset of the payload (for a single byte below 0x80: the byte itself).
    /// @return payloadLength Length of the payload; `payloadOffset + payloadLength` is the item's end.
    function readHeader(bytes memory data, uint256 offset)
        internal
        pure
        returns (bool isList, uint256 payloadOffset, uint256 payloadLength)
    {
        uint256 dataLength = data.length;
        if (offset >= dataLength) revert RLPOutOfBounds(offset);
        uint256 prefix;
        assembly ("memory-safe") {
            prefix := byte(0, mload(add(add(data, 0x20), offset)))
        }
        if (prefix < 0x80) {
            return (false, offset, 1);
        }
        if (prefix < 0xb8) {
            payloadLength = prefix - 0x80;
            payloadOffset = offset + 1;
            if (payloadLength == 1) {
                if (payloadOffset >= dataLength) revert RLPOutOfBounds(offset);
                uint256 b;
                assembly ("memory-safe") {
                    b := byte(0, mload(add(add(data, 0x20), payloadOffset)))
                }
                if (b < 0x80) revert RLPNonCanonical(offset);
            }
        } else if (prefix < 0xc0) {
            (payloadOffset, payloadLength) = _longLength(data, offset, prefix - 0xb7);
        } else if (prefix < 0xf8) {
            isList = true;
            payloadLength = prefix - 0xc0;
            payloadOffset = offset + 1;
        } else {
            isList = true;
            (payloadOffset, payloadLength) = _longLength(data, offset, prefix - 0xf7);
        }
        if (payloadOffset + payloadLength > dataLength) revert RLPOutOfBounds(offset);
    }

    /// @notice Offset just past the item at `offset`.
    function itemEnd(bytes memory data, uint256 offset) internal pure returns (uint256) {
        (, uint256 payloadOffset, uint256 payloadLength) = readHeader(data, offset);
        return payloadOffset + payloadLength;
    }

    /// @notice The elements of the list that is the whole of `data` (no trailing bytes allowed).
    /// @return offsets Offset of each element's header.
    /// @return lengths Total length (header included) of each element.
    function readList(bytes memory data) internal pure returns (uint256[] memory offsets, uint256[] memory lengths) {
        uint256 end;
        (offsets, lengths, end) = readList(data, 0);
        if (end != data.length) revert RLPTrailingBytes(end, data.length);
    }

    /// @notice The elements of the list at `offset`.
    /// @return offsets Offset of each element's header.
    /// @return lengths Total length (header included) of each element.
    /// @return end Offset just past the list.
    function readList(bytes memory data, uint256 offset)
        internal
        pure
        returns (uint256[] memory offsets, uint256[] memory lengths, uint256 end)
    {
        (bool isList, uint256 p, uint256 payloadLength) = readHeader(data, offset);
        if (!isList) revert RLPNotAList(offset);
        end = p + payloadLength;
        uint256 count;
        for (uint256 q = p; q < end; ++count) {
            uint256 next = itemEnd(data, q);
            if (next > end) revert RLPOutOfBounds(q);
            q = next;
        }
        offsets = new uint256[](count);
        lengths = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 next = itemEnd(data, p);
            offsets[i] = p;
            lengths[i] = next - p;
            p = next;
        }
    }

    /// @notice Number of elements of the list at `offset` (validates each element's header).
    function listLength(bytes memory data, uint256 offset) internal pure returns (uint256 count) {
        (bool isList, uint256 p, uint256 payloadLength) = readHeader(data, offset);
        if (!isList) revert RLPNotAList(offset);
        uint256 end = p + payloadLength;
        for (; p < end; ++count) {
            uint256 next = itemEnd(data, p);
            if (next > end) revert RLPOutOfBounds(p);
            p = next;
        }
    }

    /// @notice The payload of the string at `offset`, copied.
    function readBytes(bytes memory data, uint256 offset) internal pure returns (bytes memory out) {
        (bool isList, uint256 p, uint256 len) = readHeader(data, offset);
        if (isList) revert RLPNotAString(offset);
        out = slice(data, p, len);
    }

    /// @notice The string at `offset` as a canonical unsigned integer (at most 32 bytes, no leading zero; 0 is 0x80).
    function readUint(bytes memory data, uint256 offset) internal pure returns (uint256 value) {
        (bool isList, uint256 p, uint256 len) = readHeader(data, offset);
        if (isList) revert RLPNotAString(offset);
        if (len == 0) return 0;
        if (len > 32) revert RLPInvalidUint(offset);
        assembly ("memory-safe") {
            value := shr(mul(8, sub(32, len)), mload(add(add(data, 0x20), p)))
        }
        // A single byte below 0x80 is its own encoding (readHeader); a zero first byte is a leading zero.
        if (value >> (8 * (len - 1)) == 0) revert RLPInvalidUint(offset);
    }

    /// @notice The string at `offset` as an address (exactly 20 bytes).
    function readAddress(bytes memory data, uint256 offset) internal pure returns (address value) {
        (bool isList, uint256 p, uint256 len) = readHeader(data, offset);
        if (isList) revert RLPNotAString(offset);
        if (len != 20) revert RLPInvalidLength(offset, 20, len);
        assembly ("memory-safe") {
            value := shr(96, mload(add(add(data, 0x20), p)))
        }
    }

    /// @notice The string at `offset` as a bytes32 (exactly 32 bytes).
    function readBytes32(bytes memory data, uint256 offset) internal pure returns (bytes32 value) {
        (bool isList, uint256 p, uint256 len) = readHeader(data, offset);
        if (isList) revert RLPNotAString(offset);
        if (len != 32) revert RLPInvalidLength(offset, 32, len);
        assembly ("memory-safe") {
            value := mload(add(add(data, 0x20), p))
        }
    }

    /// @notice A copy of `data[offset : offset + length]`.
    function slice(bytes memory data, uint256 offset, uint256 length) internal pure returns (bytes memory out) {
        if (offset + length > data.length) revert RLPOutOfBounds(offset);
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(data, 0x20), offset), length)
        }
    }

    /// @notice keccak256 of `data[offset : offset + length]`, without copying.
    function hashRange(bytes memory data, uint256 offset, uint256 length) internal pure returns (bytes32 h) {
        if (offset + length > data.length) revert RLPOutOfBounds(offset);
        assembly ("memory-safe") {
            h := keccak256(add(add(data, 0x20), offset), length)
        }
    }

    /// @dev Long-form length: `lengthOfLength` big-endian bytes after the prefix, no leading zero, value >= 56.
    function _longLength(bytes memory data, uint256 offset, uint256 lengthOfLength)
        private
        pure
        returns (uint256 payloadOffset, uint256 payloadLength)
    {
        payloadOffset = offset + 1 + lengthOfLength;
        if (payloadOffset > data.length) revert RLPOutOfBounds(offset);
        uint256 first;
        assembly ("memory-safe") {
            let word := mload(add(add(data, 0x21), offset))
            first := byte(0, word)
            payloadLength := shr(mul(8, sub(32, lengthOfLength)), word)
        }
        if (first == 0 || payloadLength < 56) revert RLPNonCanonical(offset);
    }
}
