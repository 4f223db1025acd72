// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks.
interface VmEvmWitness {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonBytesArray(string calldata json, string calldata key) external pure returns (bytes[] memory);
    function toString(uint256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function skip(bool skipTest, string calldata reason) external;
}

/// @notice The base of the suites that replay the real EVM steps the Rust step machine produced from
///         revm (`core/src/fault/evm.rs` writes test/fixtures/evm_steps.json: `chainId`, and per
///         step `opcodes`, `pres`, `proofs`, `posts`) and then change one thing in a witness. It
///         holds what those suites share: loading the file (the test skipped while it does not
///         exist), the witness kind, the steps of one kind, their pre-states and labels, and the
///         changes to a trie proof or a frame with the checks that follow them. What a witness
///         kind's body is (its decoding and encoding) and which opcodes it proves stay in each suite.
abstract contract EvmWitnessTest is Test {
    VmEvmWitness internal constant VM_X = VmEvmWitness(address(uint160(uint256(keccak256("hevm cheat code")))));
    string internal constant FIXTURES = "test/fixtures/evm_steps.json";

    /// @dev The fixture file's arrays.
    struct Fixtures {
        uint64 chainId;
        uint256[] opcodes;
        bytes[] pres;
        bytes[] proofs;
        bytes[] posts;
    }

    /// @dev One fixture step: the abi-encoded pre-state, the witness, the honest post-state's hash,
    ///      its phase and the abi-encoded post-state.
    struct Step {
        uint256 index;
        uint256 op;
        bytes pre;
        bytes proof;
        bytes32 post;
        uint8 postPhase;
        bytes postState;
    }

    // ------------------------------------------------------------------------------------------
    // Loading

    /// @dev The fixture file; skips the test when it does not exist.
    function fixtures() internal returns (bool found, Fixtures memory f) {
        string memory json;
        try VM_X.readFile(FIXTURES) returns (string memory j) {
            json = j;
        } catch {
            VM_X.skip(true, "test/fixtures/evm_steps.json does not exist yet (written by core/src/fault/evm.rs)");
            return (false, f);
        }
        f.chainId = uint64(VM_X.parseJsonUint(json, ".chainId"));
        f.opcodes = VM_X.parseJsonUintArray(json, ".opcodes");
        f.pres = VM_X.parseJsonBytesArray(json, ".pres");
        f.proofs = VM_X.parseJsonBytesArray(json, ".proofs");
        f.posts = VM_X.parseJsonBytesArray(json, ".posts");
        assertEq(f.pres.length, f.opcodes.length);
        assertEq(f.proofs.length, f.opcodes.length);
        assertEq(f.posts.length, f.opcodes.length);
        return (true, f);
    }

    function kindOf(bytes memory proof) internal pure returns (uint256) {
        // The kind is the witness's first word (abi.encode(uint8 kind, bytes body)).
        // forge-lint: disable-next-line(unsafe-typecast)
        return proof.length < 32 ? type(uint256).max : uint256(bytes32(proof));
    }

    /// @dev The fixture steps whose witness is of `kind` (there is at least one), or none, and the
    ///      test skipped, when the file does not exist.
    function stepsOfKind(uint256 kind) internal returns (Step[] memory steps) {
        (bool found, Fixtures memory f) = fixtures();
        if (!found) return steps;
        return stepsOfKind(f, kind);
    }

    /// @dev The steps of `f` whose witness is of `kind` (there is at least one); for a test that
    ///      also reads `f` (loading the file twice would take twice its memory).
    function stepsOfKind(Fixtures memory f, uint256 kind) internal returns (Step[] memory steps) {
        uint256 n;
        for (uint256 i; i < f.proofs.length; ++i) {
            if (kindOf(f.proofs[i]) == kind) ++n;
        }
        steps = new Step[](n);
        n = 0;
        for (uint256 i; i < f.proofs.length; ++i) {
            if (kindOf(f.proofs[i]) != kind) continue;
            MachineState.State memory post = abi.decode(f.posts[i], (MachineState.State));
            steps[n++] = Step(i, f.opcodes[i], f.pres[i], f.proofs[i], keccak256(f.posts[i]), post.phase, f.posts[i]);
        }
        assertGt(steps.length, 0);
    }

    /// @dev A fresh copy of the step's pre-state.
    function preOf(Step memory s) internal pure returns (MachineState.State memory) {
        return abi.decode(s.pre, (MachineState.State));
    }

    /// @dev The step's pre-state with `evm` set to the hash of the frame `e` (so the frame check passes).
    function preFor(Step memory s, EvmTypes.EvmState memory e) internal pure returns (MachineState.State memory pre) {
        pre = preOf(s);
        pre.evm = EvmTypes.hash(e);
    }

    function label(Step memory s, string memory what) internal pure returns (string memory) {
        return string.concat(what, ": evm step ", VM_X.toString(s.index), " opcode ", VM_X.toString(s.op));
    }

    // ------------------------------------------------------------------------------------------
    // Proof and frame surgery

    /// @dev `p` without node `k`.
    function without(bytes[] memory p, uint256 k) internal pure returns (bytes[] memory out) {
        out = new bytes[](p.length - 1);
        for (uint256 i; i < out.length; ++i) {
            out[i] = p[i < k ? i : i + 1];
        }
    }

    /// @dev A copy of `data` with its byte `at` flipped (xor 1).
    function flip(bytes memory data, uint256 at) internal pure returns (bytes memory out) {
        out = bytes.concat(data);
        out[at] = out[at] ^ bytes1(0x01);
    }

    /// @dev A copy of `p` whose node `k` has its byte `at` (modulo the node's length) flipped.
    function flipped(bytes[] memory p, uint256 k, uint256 at) internal pure returns (bytes[] memory out) {
        out = new bytes[](p.length);
        for (uint256 i; i < p.length; ++i) {
            out[i] = i == k ? flip(p[i], at % p[i].length) : bytes.concat(p[i]);
        }
    }

    /// @dev True when `reason` is one of MerkleTrie's errors.
    function isTrieError(bytes memory reason) internal pure returns (bool) {
        if (reason.length < 4) return false;
        // The selector is the revert data's first four bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 sel = bytes4(reason);
        return sel == MerkleTrie.InvalidProofNodeHash.selector || sel == MerkleTrie.ProofTooShort.selector
            || sel == MerkleTrie.ProofTooLong.selector || sel == MerkleTrie.UnexpectedNode.selector
            || sel == MerkleTrie.MissingSibling.selector;
    }

    /// @dev Asserts that `verifier` refuses the witness with one of MerkleTrie's errors, and (were it
    ///      not) that it does not prove the honest post-state.
    function assertTrieRejects(IEvmStepVerifier verifier, Step memory s, bytes memory proof, string memory what)
        internal
        view
    {
        try verifier.step(preOf(s), proof) returns (bytes32 h) {
            assertTrue(h != s.post, label(s, string.concat(what, " proves the honest post-state")));
            assertTrue(false, label(s, string.concat(what, " is accepted")));
        } catch (bytes memory reason) {
            assertTrue(isTrieError(reason), label(s, string.concat(what, " reverts with another error")));
        }
    }

    /// @dev `e` with field `field` changed: 0 gas, 1 pc, 2 substate, 3 stack size, 4 stack hash,
    ///      5 static flag, 6 start root, 7 address, 8 depth, 9 memory size, 10 return data size.
    function mutateEvm(EvmTypes.EvmState memory e, uint256 field) internal pure {
        if (field == 0) e.gas ^= 1;
        else if (field == 1) e.pc ^= 1;
        else if (field == 2) e.substate ^= bytes32(uint256(1));
        else if (field == 3) e.stackSize ^= 1;
        else if (field == 4) e.stack ^= bytes32(uint256(1));
        else if (field == 5) e.isStatic = !e.isStatic;
        else if (field == 6) e.txStartRoot ^= bytes32(uint256(1));
        else if (field == 7) e.self = address(uint160(e.self) ^ 1);
        else if (field == 8) e.depth ^= 1;
        else if (field == 9) e.memSize ^= 32;
        else e.returnDataSize ^= 1;
    }
}
