// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VerifierTree} from "../script/VerifierTree.sol";
import {Test} from "forge-std/Test.sol";
import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {EvmCallVerifier} from "../src/fault/evm/EvmCallVerifier.sol";
import {EvmCreateVerifier} from "../src/fault/evm/EvmCreateVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {MerkleTrie} from "../src/fault/MerkleTrie.sol";
import {RLPReader} from "../src/fault/RLPReader.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {EvmStateVerifier} from "../src/fault/evm/EvmStateVerifier.sol";
import {Accounts} from "../src/fault/Accounts.sol";
import {EvmPrecompileCallVerifier} from "../src/fault/evm/EvmPrecompileCallVerifier.sol";
import {EvmDelegatedEntryVerifier} from "../src/fault/evm/EvmDelegatedEntryVerifier.sol";
import {EvmAuthorizationVerifier} from "../src/fault/evm/EvmAuthorizationVerifier.sol";
import {EvmAuthorizedEntryVerifier} from "../src/fault/evm/EvmAuthorizedEntryVerifier.sol";

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks.
interface VmJsonFuzz {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function toString(uint256 value) external pure returns (string memory);
}

/// @notice Fuzzing of the one-step verifier's witness decoding: random and mutated `preState` and
///         `proof` bytes, starting from the real steps of test/fixtures/steps.json (written by
///         `core/tests/it/step_fixtures.rs`). Every call either returns (and the same call returns
///         the same hash again) or reverts with one of the verifier's or its libraries' custom
///         errors, or with the empty revert of Solidity's `abi.decode` on malformed ABI data; never
///         a `Panic(uint256)` (overflow, out-of-bounds index, ...) and never out of gas under
///         `GAS_CAP`. Runs: `[fuzz] runs` of foundry.toml (`FOUNDRY_FUZZ_RUNS` for the long run,
///         see anvil-scripts/fuzz.sh).
contract OneStepVerifierFuzzTest is Test {
    VmJsonFuzz internal constant VM_JSON = VmJsonFuzz(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Gas for one step: the EIP-7825 transaction gas cap (2^24), far above any real step.
    uint256 internal constant GAS_CAP = 16_777_216;
    /// @dev `Panic(uint256)`.
    bytes4 internal constant PANIC = 0x4e487b71;
    string internal constant FIXTURES = "test/fixtures/steps.json";

    OneStepVerifier internal verifier;
    uint256 internal steps;

    /// @dev The one-step verifier with its EVM step verifiers, as script/Deploy.s.sol deploys them.
    function deploy(uint64 chainId) internal returns (OneStepVerifier) {
        return VerifierTree.oneStepVerifier(chainId);
    }

    function setUp() public {
        string memory json = VM_JSON.readFile(FIXTURES);
        verifier = deploy(uint64(VM_JSON.parseJsonUint(json, ".chainId")));
        steps = VM_JSON.parseJsonUintArray(json, ".kinds").length;
        assertGt(steps, 50);
    }

    function _fixture(string memory key, uint256 i) internal view returns (bytes memory) {
        return
            VM_JSON.parseJsonBytes(VM_JSON.readFile(FIXTURES), string.concat(".", key, "[", VM_JSON.toString(i), "]"));
    }

    function _pre(uint256 i) internal view returns (bytes memory) {
        return _fixture("pres", i);
    }

    function _proof(uint256 i) internal view returns (bytes memory) {
        return _fixture("proofs", i);
    }

    // ------------------------------------------------------------------------------------------
    // Targets

    /// @notice A real pre-state with its witness mutated.
    function testFuzz_mutatedProof(uint256 index, uint256 pos, uint256 op, bytes32 noise) public view {
        uint256 i = index % steps;
        _check(_pre(i), _mutate(_proof(i), pos, op, noise));
    }

    /// @notice A real witness with its pre-state mutated (a state the trace never contains).
    function testFuzz_mutatedPreState(uint256 index, uint256 pos, uint256 op, bytes32 noise) public view {
        uint256 i = index % steps;
        _check(_mutate(_pre(i), pos, op, noise), _proof(i));
    }

    /// @notice Both mutated, twice each.
    function testFuzz_mutatedBoth(uint256 index, uint256[4] memory pos, uint256[4] memory op, bytes32 noise)
        public
        view
    {
        uint256 i = index % steps;
        bytes memory pre = _mutate(_mutate(_pre(i), pos[0], op[0], noise), pos[1], op[1], ~noise);
        bytes memory proof = _mutate(_mutate(_proof(i), pos[2], op[2], noise), pos[3], op[3], ~noise);
        _check(pre, proof);
    }

    /// @notice A real pre-state with random bytes as witness, and random bytes as both.
    function testFuzz_randomBytes(uint256 index, bytes memory a, bytes memory b) public view {
        _check(_pre(index % steps), a);
        _check(a, b);
    }

    // ------------------------------------------------------------------------------------------
    // Checks

    /// @dev One step: returns deterministically or reverts with an allowed reason, within GAS_CAP.
    function _check(bytes memory pre, bytes memory proof) internal view {
        uint256 before = gasleft();
        try verifier.step{gas: GAS_CAP}(pre, proof) returns (bytes32 post) {
            assertEq(verifier.step{gas: GAS_CAP}(pre, proof), post, "not deterministic");
        } catch (bytes memory reason) {
            uint256 used = before - gasleft();
            if (reason.length == 0) {
                // abi.decode of malformed data reverts without data; running out of gas does too.
                assertLt(used, GAS_CAP - GAS_CAP / 64, "out of gas");
                return;
            }
            assertGe(reason.length, 4, "short revert data");
            // The first four bytes are the selector.
            // forge-lint: disable-next-line(unsafe-typecast)
            bytes4 selector = bytes4(reason);
            if (selector == PANIC) {
                uint256 code;
                assembly {
                    code := mload(add(reason, 36))
                }
                // Solidity's ABI decoder panics with 0x41 on a length above 2^64 before it checks
                // the bounds: allowed only when decoding alone panics so.
                if (code != 0x41 || !_decoderPanics(pre, proof)) {
                    revert(string.concat("Panic(0x", _hex(code), ")"));
                }
                return;
            }
            assertTrue(_known(selector), "revert reason is not a custom error of the verifier");
        }
    }

    function _decoderPanics(bytes memory pre, bytes memory proof) internal view returns (bool) {
        try this.abiDecode(pre, proof) {
            return false;
        } catch (bytes memory reason) {
            return keccak256(reason) == keccak256(abi.encodeWithSelector(PANIC, uint256(0x41)));
        }
    }

    /// @dev Only the `abi.decode` calls `OneStepVerifier.step` makes for this pre-state.
    function abiDecode(bytes calldata pre, bytes calldata proof) external pure {
        MachineState.State memory s = abi.decode(pre, (MachineState.State));
        if (s.phase == MachineState.BETWEEN_BLOCKS && s.inputs != bytes32(0)) {
            abi.decode(proof, (MachineState.BlockItem, bytes32));
        } else if (s.phase == MachineState.IN_BLOCK && s.txsLeft != 0 && s.inputs != bytes32(0)) {
            abi.decode(proof, (MachineState.BlockItem, bytes, bytes32, bytes[], bytes[], bytes));
        } else if (s.phase == MachineState.TX_EXECUTED) {
            abi.decode(proof, (MachineState.BlockItem, bytes[], bytes[]));
        } else if (
            s.phase == MachineState.IN_TX && proof.length >= 96
                && (uint256(bytes32(proof[0:32])) <= 6
                    || uint256(bytes32(proof[0:32])) == 8
                    || uint256(bytes32(proof[0:32])) >= 9
                    && uint256(bytes32(proof[0:32])) != 10
                    && uint256(bytes32(proof[0:32])) <= 13)
        ) {
            (uint8 kind, bytes memory body) = abi.decode(proof, (uint8, bytes));
            if (kind == 0) {
                abi.decode(body, (bytes, bytes[], bytes[], bytes, bytes[][]));
            } else if (kind == 9) {
                abi.decode(body, (bytes, bytes[], bytes[], bytes[][]));
            } else if (kind == 2) {
                abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordRange[]));
            } else if (kind == 6) {
                abi.decode(
                    body,
                    (
                        EvmTypes.FrameEnd,
                        EvmTypes.CallerFrame,
                        EvmTypes.EvmState,
                        EvmTypes.WordRange,
                        EvmTypes.WordRange,
                        bytes[]
                    )
                );
            } else if (kind == 11) {
                // Kinds 11 to 13 decode their witness as one struct behind an offset.
                abi.decode(bytes.concat(bytes32(uint256(32)), body), (EvmDelegatedEntryVerifier.DelegatedEntry));
            } else if (kind == 12) {
                abi.decode(bytes.concat(bytes32(uint256(32)), body), (EvmAuthorizationVerifier.Authorization));
            } else if (kind == 13) {
                abi.decode(bytes.concat(bytes32(uint256(32)), body), (EvmAuthorizedEntryVerifier.AuthorizedEntry));
            } else if (kind == 8) {
                abi.decode(body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmCreateVerifier.CreateWitness));
            } else if (kind == 5) {
                abi.decode(
                    body,
                    (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmPrecompileCallVerifier.PrecompileCallWitness)
                );
            } else if (kind == 4) {
                abi.decode(
                    body,
                    (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmCallVerifier.CallWitness, MachineState.BlockItem)
                );
            } else if (kind == 3) {
                abi.decode(
                    body,
                    (
                        EvmTypes.EvmState,
                        bytes,
                        uint256[],
                        bytes32,
                        EvmStateVerifier.StateWitness,
                        MachineState.BlockItem
                    )
                );
            } else {
                abi.decode(
                    body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmTypes.WordProof[], MachineState.BlockItem)
                );
            }
        }
    }

    function _known(bytes4 s) internal pure returns (bool) {
        return s == OneStepVerifier.UnsupportedStep.selector || s == OneStepVerifier.UnexpectedProof.selector
            || s == OneStepVerifier.InputsMismatch.selector || s == OneStepVerifier.BlockItemMismatch.selector
            || s == OneStepVerifier.SenderCodeMismatch.selector || s == OneStepVerifier.MalformedAccount.selector
            || s == OneStepVerifier.InvalidPreState.selector || s == MerkleTrie.InvalidProofNodeHash.selector
            || s == MerkleTrie.ProofTooShort.selector || s == MerkleTrie.ProofTooLong.selector
            || s == MerkleTrie.UnexpectedNode.selector || s == MerkleTrie.MissingSibling.selector
            || s == RLPReader.RLPOutOfBounds.selector || s == RLPReader.RLPNonCanonical.selector
            || s == RLPReader.RLPNotAList.selector || s == RLPReader.RLPNotAString.selector
            || s == RLPReader.RLPTrailingBytes.selector || s == RLPReader.RLPInvalidUint.selector
            || s == RLPReader.RLPInvalidLength.selector || s == IEvmStepVerifier.EvmStateMismatch.selector
            || s == IEvmStepVerifier.EvmCodeMismatch.selector || s == IEvmStepVerifier.StackMismatch.selector
            || s == IEvmStepVerifier.WordProofMismatch.selector || s == IEvmStepVerifier.UnexpectedWords.selector
            || s == EvmStateVerifier.SubstateMismatch.selector || s == IEvmStepVerifier.BlockItemMismatch.selector
            || s == Accounts.MalformedAccount.selector || s == EvmPrecompileCallVerifier.PrecompileFailed.selector;
    }

    function _hex(uint256 v) internal pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(2);
        out[0] = digits[(v >> 4) & 15];
        out[1] = digits[v & 15];
        return string(out);
    }

    // ------------------------------------------------------------------------------------------
    // Mutations

    /// @dev One mutation of `data` chosen by `op`: flip a byte, overwrite an ABI word with noise or
    ///      a small number (offsets, lengths, phases, counters), nudge a word by ±1, truncate,
    ///      append noise, or overwrite a byte inside the last third (the trie nodes, the raw
    ///      transaction).
    function _mutate(bytes memory data, uint256 pos, uint256 op, bytes32 noise)
        internal
        pure
        returns (bytes memory out)
    {
        uint256 n = data.length;
        op %= 8;
        if (op == 6) {
            out = bytes.concat(data, noise);
            return out;
        }
        if (n == 0) return abi.encodePacked(noise);
        out = data;
        if (op == 0) {
            // Truncating the noise to one byte is the point.
            // forge-lint: disable-next-line(unsafe-typecast)
            out[pos % n] = bytes1(uint8(out[pos % n]) ^ uint8(uint256(noise) | 1));
        } else if (op == 1 || op == 2 || op == 3) {
            uint256 words = n / 32;
            if (words == 0) return _truncate(out, pos % n);
            uint256 at = 32 * (pos % words);
            uint256 word;
            assembly {
                word := mload(add(add(out, 32), at))
            }
            if (op == 1) {
                word = uint256(noise);
            } else if (op == 2) {
                word = uint256(noise) % 1024;
            } else {
                unchecked {
                    word = uint256(noise) & 1 == 0 ? word + 1 : word - 1;
                }
            }
            assembly {
                mstore(add(add(out, 32), at), word)
            }
        } else if (op == 4) {
            return _truncate(out, pos % n);
        } else if (op == 5) {
            uint256 at = n - 1 - (pos % (n / 3 + 1));
            out[at] = noise[0];
        } else {
            out[pos % n] = noise[1];
        }
    }

    function _truncate(bytes memory data, uint256 len) internal pure returns (bytes memory out) {
        out = data;
        assembly {
            mstore(out, len)
        }
    }
}
