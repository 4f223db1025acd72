// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script} from "forge-std/Script.sol";
import {Rollup} from "../src/Rollup.sol";

/// @notice Deploys the Rollup contract. Run through anvil-scripts/deploy.sh, which passes the
///         parameters and writes the addresses as JSON.
/// @dev Devnet defaults vs production:
///        bond:             DEVNET_BOND (0.01 ether)   vs enough to pay a full dispute (>= 1 ether)
///        challenge period: DEVNET_CHALLENGE_PERIOD (5 minutes) vs PRODUCTION_CHALLENGE_PERIOD (7 days)
///        batcher:          the deploying key            vs the batcher service's own key
contract Deploy is Script {
    uint256 public constant DEVNET_BOND = 0.01 ether;
    uint256 public constant DEVNET_CHALLENGE_PERIOD = 5 minutes;
    uint256 public constant PRODUCTION_CHALLENGE_PERIOD = 7 days;

    /// @param batcher account allowed to submit batches
    /// @param bond minimum bond per batch, in wei
    /// @param challengePeriod seconds
    /// @param genesisStateRoot state root of L2 block 0 (the sequencer's genesis)
    /// @param disputeGameFactory set on the new contract when not zero (the broadcaster is its owner)
    function run(
        address batcher,
        uint256 bond,
        uint256 challengePeriod,
        bytes32 genesisStateRoot,
        address disputeGameFactory
    ) public returns (Rollup rollup) {
        vm.startBroadcast();
        rollup = new Rollup(batcher, bond, challengePeriod, genesisStateRoot);
        if (disputeGameFactory != address(0)) rollup.setDisputeGameFactory(disputeGameFactory);
        vm.stopBroadcast();
    }
}
