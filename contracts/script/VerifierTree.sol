// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {EvmEntryVerifier} from "../src/fault/evm/EvmEntryVerifier.sol";
import {EvmStepVerifier} from "../src/fault/evm/EvmStepVerifier.sol";
import {EvmCopyVerifier} from "../src/fault/evm/EvmCopyVerifier.sol";
import {EvmStateVerifier} from "../src/fault/evm/EvmStateVerifier.sol";
import {EvmCallVerifier} from "../src/fault/evm/EvmCallVerifier.sol";
import {EvmPrecompileCallVerifier} from "../src/fault/evm/EvmPrecompileCallVerifier.sol";
import {EvmReturnVerifier} from "../src/fault/evm/EvmReturnVerifier.sol";
import {EvmCreateVerifier} from "../src/fault/evm/EvmCreateVerifier.sol";
import {EvmCreationTxVerifier} from "../src/fault/evm/EvmCreationTxVerifier.sol";
import {EvmSelfDestructVerifier} from "../src/fault/evm/EvmSelfDestructVerifier.sol";
import {EvmAuthorizationVerifier} from "../src/fault/evm/EvmAuthorizationVerifier.sol";
import {EvmAuthorizedEntryVerifier} from "../src/fault/evm/EvmAuthorizedEntryVerifier.sol";

/// @title VerifierTree
/// @notice The one-step verifier's deployment, shared by `Deploy.s.sol` and the forge tests:
///         `EvmEntryVerifier`, `EvmCopyVerifier`, `EvmStateVerifier`, then `EvmPrecompileCallVerifier`,
///         `EvmReturnVerifier`, `EvmCreateVerifier`, `EvmCreationTxVerifier`, `EvmSelfDestructVerifier`
///         under `EvmCallVerifier`, `EvmAuthorizationVerifier`, `EvmAuthorizedEntryVerifier`, then
///         `EvmStepVerifier` (which creates `EvmDelegatedEntryVerifier`)
///         and `OneStepVerifier` (docs/evm-steps.md section 6). Each verifier is its own creation:
///         together their creation code would pass EIP-3860's limit. The Rust deployers
///         (core/tests/it/evm_step_fuzz.rs, challenger/tests/dispute.rs) follow the same order.
library VerifierTree {
    /// @notice The EVM step verifiers for the L2 chain `chainId`.
    function evmStepVerifier(uint64 chainId) internal returns (EvmStepVerifier) {
        return new EvmStepVerifier(
            chainId,
            new EvmEntryVerifier(chainId),
            new EvmCopyVerifier(),
            new EvmStateVerifier(),
            new EvmCallVerifier(
                new EvmPrecompileCallVerifier(),
                new EvmReturnVerifier(),
                new EvmCreateVerifier(),
                new EvmCreationTxVerifier(chainId),
                new EvmSelfDestructVerifier()
            ),
            new EvmAuthorizationVerifier(chainId),
            new EvmAuthorizedEntryVerifier(chainId)
        );
    }

    /// @notice The one-step verifier over `evmStepVerifier(chainId)`.
    function oneStepVerifier(uint64 chainId) internal returns (OneStepVerifier) {
        return new OneStepVerifier(chainId, evmStepVerifier(chainId));
    }
}
