// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script} from "forge-std/Script.sol";
import {Rollup} from "../src/Rollup.sol";
import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {DisputeGames} from "../src/DisputeGames.sol";
import {VerifierTree} from "./VerifierTree.sol";
import {IStepVerifier} from "../src/fault/IStepVerifier.sol";

/// @notice Deploys the L1 contracts: the Rollup, the one-step verifier (with its EVM step
///         verifiers, `VerifierTree`) and the
///         DisputeGames factory. Run through anvil-scripts/deploy.sh, which passes the parameters and writes
///         the addresses as JSON.
/// @dev Devnet defaults vs production:
///        bond:             DEVNET_BOND (0.01 ether)   vs enough to pay a full dispute (>= 1 ether)
///        challenge period: DEVNET_CHALLENGE_PERIOD (5 minutes) vs PRODUCTION_CHALLENGE_PERIOD (7 days)
///        batcher:          the deploying key            vs the batcher service's own key
///      The Rollup's constructor does not know the factory and the factory's needs the Rollup,
///      so the Rollup comes first and the broadcaster, its owner, sets the factory:
///        challenge bond:   DEVNET_CHALLENGE_BOND (0.05 ether) vs >= the Rollup bond + a dispute's gas
///        move bond base:   DEVNET_MOVE_BOND_BASE (0.001 ether) vs a few move transactions' gas
///        clock per side:   DEVNET_MAX_CLOCK (10 minutes)    vs PRODUCTION_MAX_CLOCK (3.5 days)
contract Deploy is Script {
    uint256 public constant DEVNET_BOND = 0.01 ether;
    uint256 public constant DEVNET_CHALLENGE_PERIOD = 5 minutes;
    uint256 public constant PRODUCTION_CHALLENGE_PERIOD = 7 days;
    uint256 public constant DEVNET_CHALLENGE_BOND = 0.05 ether;
    uint256 public constant DEVNET_MOVE_BOND_BASE = 0.001 ether;
    uint64 public constant DEVNET_MAX_CLOCK = 10 minutes;
    uint64 public constant PRODUCTION_MAX_CLOCK = 3.5 days;

    /// @notice Deploys the Rollup, the one-step verifier and the DisputeGames factory, and makes
    ///         the factory the Rollup's dispute game factory (the broadcaster is the Rollup's owner).
    /// @param batcher account allowed to submit batches
    /// @param bond minimum bond per batch, in wei
    /// @param challengePeriod seconds
    /// @param genesisStateRoot state root of L2 block 0 (the sequencer's genesis)
    /// @param l2ChainId the L2 chain id (the verifier checks transactions' chain ids against it)
    /// @param challengeBond `DisputeGames.open`'s bond, at least `bond`
    /// @param moveBondBase move bond at depth 0
    /// @param maxClockSeconds each side's total time in a game
    function run(
        address batcher,
        uint256 bond,
        uint256 challengePeriod,
        bytes32 genesisStateRoot,
        uint64 l2ChainId,
        uint256 challengeBond,
        uint256 moveBondBase,
        uint64 maxClockSeconds
    ) public returns (Rollup rollup, OneStepVerifier verifier, DisputeGames games) {
        vm.startBroadcast();
        rollup = new Rollup(batcher, bond, challengePeriod, genesisStateRoot);
        verifier = VerifierTree.oneStepVerifier(l2ChainId);
        games = new DisputeGames(rollup, IStepVerifier(address(verifier)), challengeBond, moveBondBase, maxClockSeconds);
        rollup.setDisputeGameFactory(address(games));
        vm.stopBroadcast();
    }
}
