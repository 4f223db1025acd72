// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VerifierTree} from "../script/VerifierTree.sol";
import {console2 as console} from "forge-std/console2.sol";
import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {StateMutation} from "./StateMutation.sol";
import {EvmWitnessTest} from "./evm/EvmWitnessTest.sol";

/// @notice The EVM steps the Rust side generates (`core/src/fault/evm.rs` writes
///         test/fixtures/evm_steps.json: `chainId`, and per step `opcodes` (256 for an entry step),
///         `pres`, `proofs`, `posts`), replayed through `OneStepVerifier.step`: every step gives the
///         Rust post-state, and a post-state differing in any one field has another hash. Skipped
///         while the file does not exist.
contract EvmFixturesTest is EvmWitnessTest {
    uint256 internal constant ENTRY = 256;
    /// @dev The label the Rust fixtures give a return step (kind 6).
    uint256 internal constant RETURN_STEP = 257;

    function test_replayRustEvmSteps() public {
        (bool found, Fixtures memory f) = fixtures();
        if (!found) return;
        OneStepVerifier verifier = VerifierTree.oneStepVerifier(f.chainId);
        uint256 groups = 17;
        uint256[][] memory gas = new uint256[][](groups);
        uint256[] memory counts = new uint256[](groups);
        for (uint256 g; g < groups; ++g) {
            gas[g] = new uint256[](f.opcodes.length);
        }
        for (uint256 i; i < f.opcodes.length; ++i) {
            string memory what = string.concat("evm step ", VM_X.toString(i), " opcode ", VM_X.toString(f.opcodes[i]));
            uint256 before = gasleft();
            bytes32 post = verifier.step(f.pres[i], f.proofs[i]);
            uint256 used = before - gasleft();
            assertEq(post, keccak256(f.posts[i]), what);
            uint256 g = group(f.opcodes[i]);
            gas[g][counts[g]++] = used;
            // One decoded claim, each change undone after its check (every change is its own inverse):
            // the replay's memory (quadratic gas) does not grow with 15 copies per step.
            MachineState.State memory claim = abi.decode(f.posts[i], (MachineState.State));
            for (uint256 field; field < 15; ++field) {
                StateMutation.mutate(claim, field);
                assertTrue(MachineState.hash(claim) != post, what);
                StateMutation.mutate(claim, field);
            }
        }
        string[17] memory names = [
            "entry",
            "arithmetic/bitwise",
            "EXP",
            "context",
            "PUSH/DUP/SWAP/POP/JUMPDEST",
            "MLOAD/MSTORE/MSTORE8",
            "CALLDATALOAD",
            "JUMP/JUMPI",
            "STOP/RETURN/REVERT",
            "other (halts)",
            "KECCAK256/copies",
            "LOG0-LOG4",
            "state access (SLOAD/SSTORE/TLOAD/TSTORE/BALANCE/EXT*/SELFBALANCE)",
            "calls (without a frame, to a precompile, or starting a frame)",
            "return steps (kind 6)",
            "EXTCODECOPY (kind 7)",
            "BLOCKHASH (one word of the recent hashes, or 0 out of reach)"
        ];
        for (uint256 g; g < groups; ++g) {
            if (counts[g] == 0) continue;
            (uint256 median, uint256 worst) = medianAndMax(gas[g], counts[g]);
            console.log(string.concat(names[g], " (steps, median gas, worst gas)"), counts[g], median, worst);
        }
        console.log("evm steps replayed:", f.opcodes.length);
    }

    function group(uint256 op) internal pure returns (uint256) {
        if (op == ENTRY) return 0;
        if (op == RETURN_STEP) return 14;
        if (op == 0x3c) return 15;
        if (op == 0x31 || op == 0x3b || op == 0x3f || op == 0x47) return 12;
        if (op == 0xf1 || op == 0xf2 || op == 0xf4 || op == 0xfa) return 13;
        if (op == 0x0a) return 2;
        if ((op >= 0x01 && op <= 0x0b) || (op >= 0x10 && op <= 0x1d)) return 1;
        if (op == 0x35) return 6;
        if (op == 0x40) return 16;
        if (op == 0x20 || op == 0x37 || op == 0x39 || op == 0x3e || op == 0x5e) return 10;
        if ((op >= 0x30 && op <= 0x4a) || op == 0x58 || op == 0x59 || op == 0x5a) return 3;
        if ((op >= 0x5f && op <= 0x9f) || op == 0x50 || op == 0x5b) return 4;
        if (op >= 0x51 && op <= 0x53) return 5;
        if (op == 0x56 || op == 0x57) return 7;
        if (op == 0x00 || op == 0xf3 || op == 0xfd) return 8;
        if (op >= 0xa0 && op <= 0xa4) return 11;
        if (op == 0x54 || op == 0x55 || op == 0x5c || op == 0x5d) return 12;
        return 9;
    }

    function medianAndMax(uint256[] memory values, uint256 n) internal pure returns (uint256 median, uint256 worst) {
        for (uint256 i = 1; i < n; ++i) {
            uint256 v = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > v) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = v;
        }
        return (values[n / 2], values[n - 1]);
    }
}
