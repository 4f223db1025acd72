// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RLPWriter} from "./RLPWriter.sol";

/// @title TxDecoder
/// @notice Decodes a raw EIP-2718 transaction exactly as the L2's reference executor does
///         (alloy's `TxEnvelope::decode_2718_exact` followed by `core/src/tx.rs::check_envelope`
///         and revm 43's stateless validation), for the one-step verifier
///         (docs/fault-proof.md section 4). Accepted: legacy with EIP-155 replay protection,
///         EIP-2930, EIP-1559 and EIP-7702. Everything the reference would refuse before
///         looking at state makes `decode` return `ok == false` (the step skips the
///         transaction); it never reverts on bad input.
/// @dev RLP is decoded as strictly as alloy-rlp: canonical headers (no single byte below 0x80
///      wrapped in a string header, no long form for payloads under 56 bytes, no leading zero
///      in a length), integers without leading zeros and within their Rust type's width, fixed
///      size strings of exactly their size, list payloads consumed exactly and no trailing
///      bytes. Given a canonical encoding, the signing payload is the raw field bytes, so it is
///      hashed without re-encoding.
library TxDecoder {
    /// @notice Largest accepted encoded transaction (`core/src/tx.rs::MAX_TX_BYTES`).
    uint256 internal constant MAX_TX_BYTES = 128 * 1024;
    /// @notice EIP-3860 init code limit (Prague).
    uint256 internal constant MAX_INITCODE_SIZE = 0xc000;
    /// @notice secp256k1n / 2: alloy refuses signatures with a higher `s`.
    uint256 internal constant SECP256K1N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    uint8 internal constant LEGACY = 0;
    uint8 internal constant EIP2930 = 1;
    uint8 internal constant EIP1559 = 2;
    uint8 internal constant EIP7702 = 4;

    uint256 private constant TX_BASE = 21_000;
    uint256 private constant TX_CREATE = 32_000;
    uint256 private constant INITCODE_WORD = 2;
    uint256 private constant TOKEN_COST = 4;
    uint256 private constant FLOOR_TOKEN_COST = 10;
    uint256 private constant ACCESS_LIST_ADDRESS = 2400;
    uint256 private constant ACCESS_LIST_KEY = 1900;
    uint256 private constant AUTHORIZATION = 25_000;

    /// @notice The fields of a decoded transaction the machine needs.
    struct Tx {
        uint8 txType;
        uint64 nonce;
        uint64 gasLimit;
        /// @dev Legacy and EIP-2930: the gas price; EIP-1559 and EIP-7702: the max fee per gas.
        uint256 maxFee;
        /// @dev EIP-1559 and EIP-7702 only (zero otherwise).
        uint256 maxPriorityFee;
        bool isCreate;
        address to;
        uint256 value;
        uint256 dataLength;
        /// @dev 21000 (+ CREATE cost and init code words) + calldata + access list + authorizations.
        uint256 intrinsicGas;
        /// @dev EIP-7623: 21000 + 10 * tokens.
        uint256 floorGas;
        address sender;
        /// @dev keccak256(raw): the transaction hash.
        bytes32 hash;
        /// @dev The number of addresses its access list names (EIP-2930), duplicates counted.
        uint256 accessListAddresses;
        /// @dev The number of storage keys its access list names, duplicates counted.
        uint256 accessListKeys;
    }

    /// @dev A cursor over RLP in memory: absolute memory addresses `pos <= end`; `bad` once
    ///      anything failed to decode (later reads return zeros).
    struct Reader {
        uint256 pos;
        uint256 end;
        bool bad;
    }

    /// @dev The parts of the signing payload and signature found while decoding.
    struct Sig {
        uint256 fieldsStart;
        uint256 fieldsEnd;
        uint256 parity;
        uint256 r;
        uint256 s;
    }

    /// @notice Decodes and checks `raw` for the chain `chainId`: `ok` is false when the
    ///         reference executor would refuse it without looking at state (undecodable,
    ///         unsupported type, pre-EIP-155 legacy, wrong chain id, priority fee above fee cap,
    ///         bad or high-s signature, gas limit below the intrinsic gas or the EIP-7623 floor,
    ///         EIP-7702 without authorizations, oversized). The block-dependent checks (gas
    ///         limit, base fee) and the stateful ones are the verifier's.
    function decode(bytes memory raw, uint64 chainId) internal pure returns (bool ok, Tx memory t) {
        t.hash = keccak256(raw);
        if (raw.length == 0 || raw.length > MAX_TX_BYTES) return (false, t);
        uint256 base;
        assembly ("memory-safe") {
            base := add(raw, 32)
        }
        uint256 first = uint8(raw[0]);
        Reader memory r = Reader(base, base + raw.length, false);
        Sig memory sig;
        uint256 signedChainId;
        if (first >= 0xc0) {
            t.txType = LEGACY;
            signedChainId = _legacy(r, t, sig);
        } else if (first == EIP2930 || first == EIP1559 || first == EIP7702) {
            // forge-lint: disable-next-line(unsafe-typecast)
            t.txType = uint8(first);
            r.pos += 1;
            signedChainId = _typed(r, t, sig);
        } else {
            return (false, t);
        }
        if (r.bad || r.pos != r.end || signedChainId != chainId) return (false, t);
        if (t.txType == EIP1559 || t.txType == EIP7702) {
            if (t.maxPriorityFee > t.maxFee) return (false, t);
        }
        if (t.intrinsicGas > t.gasLimit || t.floorGas > t.gasLimit) return (false, t);
        if (sig.s > SECP256K1N_HALF) return (false, t);
        bytes32 digest = _signingHash(t.txType, sig, chainId);
        t.sender = ecrecover(digest, uint8(27 + sig.parity), bytes32(sig.r), bytes32(sig.s));
        if (t.sender == address(0)) return (false, t);
        return (true, t);
    }

    /// @notice The data field (call data or init code) of a transaction `decode` accepted.
    function callData(bytes memory raw) internal pure returns (bytes memory data) {
        uint256 base;
        assembly ("memory-safe") {
            base := add(raw, 32)
        }
        Reader memory r = Reader(base, base + raw.length, raw.length == 0);
        // Fields before the data: legacy nonce, gasPrice, gasLimit, to, value; EIP-2930 also the
        // chain id; EIP-1559 and EIP-7702 the chain id and two fees.
        uint256 skip = 5;
        if (raw.length > 0 && uint8(raw[0]) < 0xc0) {
            r.pos += 1;
            skip = uint8(raw[0]) == EIP2930 ? 6 : 7;
        }
        Reader memory list = _list(r);
        for (uint256 i; i < skip; ++i) {
            _item(list);
        }
        (uint256 start, uint256 length) = _string(list);
        data = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(data, 32), start, length)
        }
    }

    /// @notice The access list of a transaction `decode` accepted, in its RLP order: `addrs[i]` is
    ///         the i-th item's address and `keys[i]` its storage keys (duplicates kept). Empty for
    ///         a legacy transaction.
    function accessList(bytes memory raw) internal pure returns (address[] memory addrs, bytes32[][] memory keys) {
        uint256 base;
        assembly ("memory-safe") {
            base := add(raw, 32)
        }
        if (raw.length == 0 || uint8(raw[0]) >= 0xc0) return (addrs, keys);
        Reader memory r = Reader(base, base + raw.length, false);
        r.pos += 1;
        // Fields before the access list: the chain id, nonce, fee(s), gas limit, to, value, data.
        uint256 skip = uint8(raw[0]) == EIP2930 ? 7 : 8;
        Reader memory list = _list(r);
        for (uint256 i; i < skip; ++i) {
            _item(list);
        }
        Reader memory items = _list(list);
        addrs = new address[](_count(items));
        keys = new bytes32[][](addrs.length);
        for (uint256 i; i < addrs.length; ++i) {
            Reader memory item = _list(items);
            addrs[i] = _address(item);
            Reader memory slots = _list(item);
            bytes32[] memory k = new bytes32[](_count(slots));
            for (uint256 j; j < k.length; ++j) {
                (uint256 start,) = _string(slots);
                bytes32 word;
                assembly ("memory-safe") {
                    word := mload(start)
                }
                k[j] = word;
            }
            keys[i] = k;
        }
    }

    /// @notice One authorization of an EIP-7702 transaction (docs/evm-steps.md section 1.2), as its
    ///         authorization list holds it, and what its authority signed.
    struct Authorization {
        uint256 chainId;
        /// @dev The delegate (EIP-7702's `address`): the designator points there; 0 clears it.
        address target;
        uint64 nonce;
        uint256 yParity;
        uint256 r;
        uint256 s;
        /// @dev `keccak256(0x05 || rlp([chainId, address, nonce]))`.
        bytes32 digest;
    }

    /// @notice The number of authorizations of a transaction `decode` accepted (0 unless EIP-7702).
    function authorizationCount(bytes memory raw) internal pure returns (uint256) {
        if (raw.length == 0 || uint8(raw[0]) != EIP7702) return 0;
        return _count(_authorizations(raw));
    }

    /// @notice Authorization `index` (below `authorizationCount(raw)`) of an EIP-7702 transaction
    ///         `decode` accepted. Its fields are canonical RLP (`decode` checked them), so the signed
    ///         payload is the raw bytes of the first three under a new list header.
    function authorization(bytes memory raw, uint256 index) internal pure returns (Authorization memory a) {
        Reader memory list = _authorizations(raw);
        for (uint256 i; i < index; ++i) {
            _item(list);
        }
        Reader memory item = _list(list);
        uint256 start = item.pos;
        a.chainId = _uint(item, 32);
        a.target = _address(item);
        a.nonce = uint64(_uint(item, 8));
        uint256 length = item.pos - start;
        a.yParity = _uint(item, 1);
        a.r = _uint(item, 32);
        a.s = _uint(item, 32);
        bytes memory header = RLPWriter.writeHeader(length, true);
        bytes memory payload = new bytes(1 + header.length + length);
        bytes32 digest;
        assembly ("memory-safe") {
            let dst := add(payload, 32)
            mstore8(dst, 0x05)
            mcopy(add(dst, 1), add(header, 32), mload(header))
            mcopy(add(add(dst, 1), mload(header)), start, length)
            digest := keccak256(dst, mload(payload))
        }
        a.digest = digest;
    }

    /// @dev A reader over the authorization list of an EIP-7702 transaction `decode` accepted
    ///      (after the chain id, nonce, two fees, gas limit, to, value, data and access list).
    function _authorizations(bytes memory raw) private pure returns (Reader memory) {
        uint256 base;
        assembly ("memory-safe") {
            base := add(raw, 32)
        }
        Reader memory r = Reader(base + 1, base + raw.length, false);
        Reader memory fields = _list(r);
        for (uint256 i; i < 9; ++i) {
            _item(fields);
        }
        return _list(fields);
    }

    /// @dev The number of items left in `r` (its position unchanged).
    function _count(Reader memory r) private pure returns (uint256 n) {
        Reader memory c = Reader(r.pos, r.end, r.bad);
        while (!c.bad && c.pos < c.end) {
            _item(c);
            ++n;
        }
    }

    /// @dev rlp([nonce, gasPrice, gasLimit, to, value, data, v, r, s]); returns the EIP-155
    ///      chain id (type(uint256).max when v is not an EIP-155 value).
    function _legacy(Reader memory r, Tx memory t, Sig memory sig) private pure returns (uint256 chainId) {
        Reader memory list = _list(r);
        // The list must span the whole input.
        if (list.end != r.end) r.bad = true;
        sig.fieldsStart = list.pos;
        t.nonce = uint64(_uint(list, 8));
        t.maxFee = _uint(list, 16);
        t.gasLimit = uint64(_uint(list, 8));
        (t.isCreate, t.to) = _kind(list);
        t.value = _uint(list, 32);
        (uint256 dataStart, uint256 dataLength) = _string(list);
        sig.fieldsEnd = list.pos;
        uint256 v = _uint(list, 16);
        sig.r = _uint(list, 32);
        sig.s = _uint(list, 32);
        if (list.pos != list.end) list.bad = true;
        if (list.bad) r.bad = true;
        _gas(t, dataStart, dataLength, 0, 0, 0);
        // v = 27/28 is pre-EIP-155 (refused); v >= 35 carries the chain id; anything else fails to decode.
        if (v < 35) {
            chainId = type(uint256).max;
        } else {
            chainId = (v - 35) / 2;
            sig.parity = (v - 35) % 2;
        }
    }

    /// @dev type || rlp([chainId, nonce, (gasPrice | maxPriorityFee, maxFee), gasLimit, to, value,
    ///      data, accessList, (authorizationList,) yParity, r, s]); returns the chain id.
    function _typed(Reader memory r, Tx memory t, Sig memory sig) private pure returns (uint256 chainId) {
        Reader memory list = _list(r);
        if (list.end != r.end) r.bad = true;
        sig.fieldsStart = list.pos;
        chainId = _uint(list, 8);
        t.nonce = uint64(_uint(list, 8));
        if (t.txType == EIP2930) {
            t.maxFee = _uint(list, 16);
        } else {
            t.maxPriorityFee = _uint(list, 16);
            t.maxFee = _uint(list, 16);
        }
        t.gasLimit = uint64(_uint(list, 8));
        if (t.txType == EIP7702) {
            t.to = _address(list);
        } else {
            (t.isCreate, t.to) = _kind(list);
        }
        t.value = _uint(list, 32);
        (uint256 dataStart, uint256 dataLength) = _string(list);
        (uint256 accounts, uint256 keys) = _accessList(list);
        t.accessListAddresses = accounts;
        t.accessListKeys = keys;
        uint256 authorizations;
        if (t.txType == EIP7702) {
            authorizations = _authorizationList(list);
            // revm: an EIP-7702 transaction without authorizations is invalid.
            if (authorizations == 0) list.bad = true;
        }
        sig.fieldsEnd = list.pos;
        sig.parity = _uint(list, 1);
        if (sig.parity > 1) list.bad = true;
        sig.r = _uint(list, 32);
        sig.s = _uint(list, 32);
        if (list.pos != list.end) list.bad = true;
        if (list.bad) r.bad = true;
        _gas(t, dataStart, dataLength, accounts, keys, authorizations);
    }

    /// @dev Intrinsic gas and EIP-7623 floor (revm 43, Prague).
    function _gas(Tx memory t, uint256 dataStart, uint256 dataLength, uint256 accounts, uint256 keys, uint256 auths)
        private
        pure
    {
        t.dataLength = dataLength;
        uint256 nonZero = _nonZeroBytes(dataStart, dataLength);
        uint256 tokens = (dataLength - nonZero) + 4 * nonZero;
        uint256 gas = TX_BASE + tokens * TOKEN_COST + accounts * ACCESS_LIST_ADDRESS + keys * ACCESS_LIST_KEY + auths
            * AUTHORIZATION;
        if (t.isCreate) gas += TX_CREATE + INITCODE_WORD * ((dataLength + 31) / 32);
        t.intrinsicGas = gas;
        t.floorGas = TX_BASE + FLOOR_TOKEN_COST * tokens;
    }

    /// @dev The signing hash: EIP-155 for legacy, `keccak256(type || rlp(fields))` for typed.
    function _signingHash(uint8 txType, Sig memory sig, uint256 chainId) private pure returns (bytes32 digest) {
        uint256 fieldsLength = sig.fieldsEnd - sig.fieldsStart;
        bytes memory tail;
        if (txType == LEGACY) tail = abi.encodePacked(RLPWriter.writeUint(chainId), hex"8080");
        bytes memory header = RLPWriter.writeHeader(fieldsLength + tail.length, true);
        bytes memory prefix = txType == LEGACY ? bytes("") : abi.encodePacked(txType);
        bytes memory payload = new bytes(prefix.length + header.length + fieldsLength + tail.length);
        uint256 src = sig.fieldsStart;
        assembly ("memory-safe") {
            let dst := add(payload, 32)
            mcopy(dst, add(prefix, 32), mload(prefix))
            dst := add(dst, mload(prefix))
            mcopy(dst, add(header, 32), mload(header))
            dst := add(dst, mload(header))
            mcopy(dst, src, fieldsLength)
            dst := add(dst, fieldsLength)
            mcopy(dst, add(tail, 32), mload(tail))
            digest := keccak256(add(payload, 32), mload(payload))
        }
    }

    /// @dev Number of non-zero bytes in memory `[start, start + length)`, a word at a time.
    function _nonZeroBytes(uint256 start, uint256 length) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            let low7 := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let end := add(start, length)
            for { let p := start } lt(p, end) { p := add(p, 32) } {
                let w := mload(p)
                let left := sub(end, p)
                if lt(left, 32) {
                    // Keep only the bytes inside the range.
                    w := and(w, not(shr(mul(left, 8), not(0))))
                }
                // High bit of each byte set iff the byte is non-zero.
                let m := and(or(add(and(w, low7), low7), w), not(low7))
                count := add(count, shr(248, mul(shr(7, m), ones)))
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Strict RLP
    // ---------------------------------------------------------------------------------------

    /// @dev Parses the item at `r.pos` and moves past it. Returns the payload's memory range.
    function _item(Reader memory r) private pure returns (bool isList, uint256 start, uint256 length) {
        uint256 pos = r.pos;
        uint256 end = r.end;
        if (r.bad || pos >= end) {
            r.bad = true;
            return (false, end, 0);
        }
        uint256 b0 = _byteAt(pos);
        if (b0 < 0x80) {
            start = pos;
            length = 1;
        } else if (b0 <= 0xb7) {
            start = pos + 1;
            length = b0 - 0x80;
            // A single byte below 0x80 must stand for itself.
            if (length == 1 && (start >= end || _byteAt(start) < 0x80)) r.bad = true;
        } else if (b0 < 0xc0 || b0 > 0xf7) {
            isList = b0 > 0xf7;
            uint256 lenOfLen = isList ? b0 - 0xf7 : b0 - 0xb7;
            start = pos + 1 + lenOfLen;
            if (start > end) {
                r.bad = true;
                return (false, end, 0);
            }
            assembly ("memory-safe") {
                length := shr(sub(256, mul(8, lenOfLen)), mload(add(pos, 1)))
            }
            // No leading zero in the length, and the long form only for 56 bytes or more.
            if (_byteAt(pos + 1) == 0 || length < 56) r.bad = true;
        } else {
            isList = true;
            start = pos + 1;
            length = b0 - 0xc0;
        }
        if (start + length > end) {
            r.bad = true;
            return (false, end, 0);
        }
        if (r.bad) return (false, end, 0);
        r.pos = start + length;
    }

    /// @dev An unsigned integer of at most `maxBytes` bytes, without leading zeros.
    function _uint(Reader memory r, uint256 maxBytes) private pure returns (uint256 value) {
        (bool isList, uint256 start, uint256 length) = _item(r);
        if (isList || length > maxBytes || (length > 0 && _byteAt(start) == 0)) {
            r.bad = true;
            return 0;
        }
        if (length == 0 || r.bad) return 0;
        assembly ("memory-safe") {
            value := shr(sub(256, mul(8, length)), mload(start))
        }
    }

    /// @dev A byte string; returns its memory range.
    function _string(Reader memory r) private pure returns (uint256 start, uint256 length) {
        bool isList;
        (isList, start, length) = _item(r);
        if (isList) {
            r.bad = true;
            return (0, 0);
        }
    }

    /// @dev A string of exactly 20 bytes.
    function _address(Reader memory r) private pure returns (address a) {
        (uint256 start, uint256 length) = _string(r);
        if (length != 20) {
            r.bad = true;
            return address(0);
        }
        assembly ("memory-safe") {
            a := shr(96, mload(start))
        }
    }

    /// @dev `to` of a transaction that may create: the empty string for CREATE, else an address.
    function _kind(Reader memory r) private pure returns (bool isCreate, address to) {
        if (!r.bad && r.pos < r.end && _byteAt(r.pos) == 0x80) {
            r.pos += 1;
            return (true, address(0));
        }
        return (false, _address(r));
    }

    /// @dev A list; returns a reader over its payload.
    function _list(Reader memory r) private pure returns (Reader memory inner) {
        (bool isList, uint256 start, uint256 length) = _item(r);
        if (!isList) r.bad = true;
        inner = Reader(start, start + length, r.bad);
    }

    /// @dev rlp([[address, [bytes32, ...]], ...]); returns the counts of addresses and keys.
    function _accessList(Reader memory r) private pure returns (uint256 accounts, uint256 keys) {
        Reader memory list = _list(r);
        while (!list.bad && list.pos < list.end) {
            Reader memory item = _list(list);
            _address(item);
            Reader memory slots = _list(item);
            while (!slots.bad && slots.pos < slots.end) {
                (, uint256 length) = _string(slots);
                if (length != 32) slots.bad = true;
                keys++;
            }
            if (slots.bad || item.pos != item.end) item.bad = true;
            if (item.bad) list.bad = true;
            accounts++;
        }
        if (list.bad) r.bad = true;
    }

    /// @dev rlp([[chainId, address, nonce, yParity, r, s], ...]) (EIP-7702); returns the count.
    function _authorizationList(Reader memory r) private pure returns (uint256 count) {
        Reader memory list = _list(r);
        while (!list.bad && list.pos < list.end) {
            Reader memory item = _list(list);
            _uint(item, 32);
            _address(item);
            _uint(item, 8);
            _uint(item, 1);
            _uint(item, 32);
            _uint(item, 32);
            if (item.bad || item.pos != item.end) list.bad = true;
            count++;
        }
        if (list.bad) r.bad = true;
    }

    function _byteAt(uint256 ptr) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(ptr))
        }
    }
}
