// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../src/fault/MachineState.sol";

/// @notice One-bit changes of a machine state's fields, for tests that check a claim differing in
///         any one field has another hash.
library StateMutation {
    /// @notice Changes field `field` (0 to 14, in `MachineState.State`'s order) of `s` by one bit;
    ///         applying it twice restores `s`.
    function mutate(MachineState.State memory s, uint256 field) internal pure {
        if (field == 0) s.phase ^= 1;
        else if (field == 1) s.stateRoot ^= bytes32(uint256(1));
        else if (field == 2) s.inputs ^= bytes32(uint256(1));
        else if (field == 3) s.blockItem ^= bytes32(uint256(1));
        else if (field == 4) s.blockGasUsed ^= 1;
        else if (field == 5) s.txsLeft ^= 1;
        else if (field == 6) s.caller = address(uint160(s.caller) ^ 1);
        else if (field == 7) s.txGasLimit ^= 1;
        else if (field == 8) s.effectiveGasPrice ^= 1;
        else if (field == 9) s.priorityFee ^= 1;
        else if (field == 10) s.gasLeft ^= 1;
        else if (field == 11) s.refund ^= 1;
        else if (field == 12) s.floorGas ^= 1;
        else if (field == 13) s.success = !s.success;
        else s.evm ^= bytes32(uint256(1));
    }
}
