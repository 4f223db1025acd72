// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccountWorld} from "./AccountWorld.sol";

/// @notice EIP-2930 access lists for the entry steps' tests (kinds 0, 9 and 11): building a list,
///         counting its warmings and modelling them (docs/evm-steps.md section 2) independently of
///         `AccessList.sol`. Shared by `EvmAccessListSteps.t.sol` and `EvmDelegatedEntrySteps.t.sol`.
abstract contract AccessListModel {
    function emptyList() internal pure returns (AccountWorld.AccessList memory al) {
        al.addrs = new address[](0);
        al.keys = new bytes32[][](0);
    }

    /// @dev `al` with `a` and its keys `ks` added last.
    function with(AccountWorld.AccessList memory al, address a, bytes32[] memory ks)
        internal
        pure
        returns (AccountWorld.AccessList memory out)
    {
        uint256 n = al.addrs.length;
        out.addrs = new address[](n + 1);
        out.keys = new bytes32[][](n + 1);
        for (uint256 i; i < n; ++i) {
            out.addrs[i] = al.addrs[i];
            out.keys[i] = al.keys[i];
        }
        out.addrs[n] = a;
        out.keys[n] = ks;
    }

    function noKeys() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    /// @dev The entries of `al` the entry step warms: each address and each key, duplicates counted.
    function warmings(AccountWorld.AccessList memory al) internal pure returns (uint256 n) {
        for (uint256 i; i < al.addrs.length; ++i) {
            n += 1 + al.keys[i].length;
        }
    }

    /// @dev The distinct warm-account and warm-slot keys of `al`, and one proof per warming in RLP
    ///      order (each proof built in its own call: the model's memory is not freed within a call,
    ///      and 64 proofs in one call run out of gas).
    function warmed(AccountWorld.AccessList memory al)
        internal
        view
        returns (bytes32[] memory accounts, bytes32[] memory slots, bytes[][] memory proofs)
    {
        proofs = new bytes[][](warmings(al));
        accounts = new bytes32[](0);
        slots = new bytes32[](0);
        uint256 n;
        for (uint256 i; i < al.addrs.length; ++i) {
            bytes32 key = keccak256(abi.encodePacked(al.addrs[i]));
            proofs[n++] = this.warmProof(accounts, key);
            accounts = AccountWorld.plus(accounts, key);
            for (uint256 j; j < al.keys[i].length; ++j) {
                key = keccak256(abi.encodePacked(al.addrs[i], al.keys[i][j]));
                proofs[n++] = this.warmProof(slots, key);
                slots = AccountWorld.plus(slots, key);
            }
        }
    }

    function warmProof(bytes32[] memory keys, bytes32 target) external pure returns (bytes[] memory) {
        return AccountWorld.warmProof(keys, target);
    }

    function warmRoot(bytes32[] memory keys) external pure returns (bytes32) {
        return AccountWorld.warmRoot(keys);
    }
}
