// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VerifierTree} from "../script/VerifierTree.sol";
import {Test} from "forge-std/Test.sol";
import {console2 as console} from "forge-std/console2.sol";
import {OneStepVerifier} from "../src/fault/OneStepVerifier.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {StateMutation} from "./StateMutation.sol";
import {TxDecoder} from "../src/fault/TxDecoder.sol";

/// @dev Exposes the decoder library.
contract TxDecoderHarness {
    function decode(bytes memory raw, uint64 chainId) external pure returns (bool ok, TxDecoder.Tx memory t) {
        return TxDecoder.decode(raw, chainId);
    }
}

/// @dev Cheatcodes of forge 1.x that the npm forge-std@1.1.2 Vm interface lacks.
interface VmJson {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonBytesArray(string calldata json, string calldata key) external pure returns (bytes[] memory);
    function toString(uint256 value) external pure returns (string memory);
}

/// @notice The one-step verifier against the steps the Rust step machine generates
///         (`core/tests/it/step_fixtures.rs` writes test/fixtures/steps.json): every step's post
///         hash, refusals of EVM execution, tampered witnesses and wrong post-state claims.
contract OneStepVerifierTest is Test {
    VmJson internal constant VM_JSON = VmJson(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant FINISHED = 0;
    uint256 internal constant BLOCK_START = 1;
    uint256 internal constant BLOCK_END = 2;
    uint256 internal constant TX_START = 3;
    uint256 internal constant EVM = 4;
    uint256 internal constant TX_END = 5;
    uint256 internal constant KINDS = 6;

    struct Fixtures {
        uint64 chainId;
        /// @dev The steps from this index on run over a state of 100,000 accounts.
        uint256 bigStateFrom;
        uint256[] kinds;
        bytes[] pres;
        bytes[] proofs;
        bytes[] posts;
    }

    OneStepVerifier internal verifier;

    /// @dev The one-step verifier with its EVM step verifiers, as script/Deploy.s.sol deploys them.
    function deploy(uint64 chainId) internal returns (OneStepVerifier) {
        return VerifierTree.oneStepVerifier(chainId);
    }

    function setUp() public {
        verifier = deploy(load().chainId);
    }

    function load() internal view returns (Fixtures memory f) {
        string memory json = VM_JSON.readFile("test/fixtures/steps.json");
        f.chainId = uint64(VM_JSON.parseJsonUint(json, ".chainId"));
        f.bigStateFrom = VM_JSON.parseJsonUint(json, ".bigStateFrom");
        f.kinds = VM_JSON.parseJsonUintArray(json, ".kinds");
        f.pres = VM_JSON.parseJsonBytesArray(json, ".pres");
        f.proofs = VM_JSON.parseJsonBytesArray(json, ".proofs");
        f.posts = VM_JSON.parseJsonBytesArray(json, ".posts");
        assertEq(f.pres.length, f.kinds.length);
        assertEq(f.proofs.length, f.kinds.length);
        assertEq(f.posts.length, f.kinds.length);
    }

    /// @notice Every provable step gives the Rust machine's post-state (EVM entry and stage-1
    ///         instructions included); the rest-of-transaction step is refused.
    ///         Logs the gas of each kind of step (median and worst), over the small states of the
    ///         hand-made batches and over a state of 100,000 accounts.
    function test_stepsOfTheRustMachine() public {
        Fixtures memory f = load();
        uint256[][] memory gas = new uint256[][](2 * KINDS);
        uint256[] memory counts = new uint256[](2 * KINDS);
        for (uint256 k; k < 2 * KINDS; ++k) {
            gas[k] = new uint256[](f.kinds.length);
        }
        for (uint256 i; i < f.kinds.length; ++i) {
            uint256 kind = f.kinds[i];
            MachineState.State memory pre = abi.decode(f.pres[i], (MachineState.State));
            if (kind == EVM) assertEq(pre.phase, MachineState.IN_TX);
            if (kind == EVM && f.proofs[i].length == 0) {
                // The rest of a transaction (docs/evm-steps.md section 5): not provable yet.
                vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
                verifier.step(f.pres[i], f.proofs[i]);
                continue;
            }
            uint256 before = gasleft();
            bytes32 post = verifier.step(f.pres[i], f.proofs[i]);
            uint256 used = before - gasleft();
            uint256 slot = i < f.bigStateFrom ? kind : KINDS + kind;
            gas[slot][counts[slot]++] = used;
            assertEq(post, keccak256(f.posts[i]), string.concat("step ", VM_JSON.toString(i)));
            if (kind == FINISHED) assertEq(post, keccak256(f.pres[i]));
        }
        string[6] memory names = ["finished", "block start", "block end", "transaction start", "evm", "transaction end"];
        for (uint256 slot; slot < 2 * KINDS; ++slot) {
            if (counts[slot] == 0) continue;
            (uint256 median, uint256 worst) = medianAndMax(gas[slot], counts[slot]);
            console.log(
                string.concat(names[slot % KINDS], slot < KINDS ? " (small state)" : " (100,000 accounts)"),
                median,
                worst
            );
        }
        for (uint256 k; k < KINDS; ++k) {
            if (k != EVM) assertGt(counts[k], 0);
        }
    }

    /// @notice A transaction start proven with the chain's id differs under another chain id
    ///         (the transactions are skipped there), so the id is really checked.
    function test_chainIdIsChecked() public {
        Fixtures memory f = load();
        OneStepVerifier other = deploy(f.chainId + 1);
        uint256 differing;
        for (uint256 i; i < f.kinds.length; ++i) {
            if (f.kinds[i] != TX_START) continue;
            MachineState.State memory post = abi.decode(f.posts[i], (MachineState.State));
            bytes32 there = other.step(f.pres[i], f.proofs[i]);
            if (post.phase == MachineState.IN_BLOCK) {
                assertEq(there, keccak256(f.posts[i]));
            } else {
                assertTrue(there != keccak256(f.posts[i]));
                ++differing;
            }
        }
        assertGt(differing, 10);
    }

    /// @notice A tampered witness reverts or proves another post-state.
    function test_tamperedWitnesses() public view {
        Fixtures memory f = load();
        uint256 tampered;
        for (uint256 i; i < f.kinds.length; ++i) {
            uint256 kind = f.kinds[i];
            if (kind == EVM) continue;
            bytes32 expected = keccak256(f.posts[i]);
            bytes[] memory variants = tamper(kind, f.proofs[i]);
            for (uint256 v; v < variants.length; ++v) {
                try verifier.step(f.pres[i], variants[v]) returns (bytes32 post) {
                    assertTrue(
                        post != expected, string.concat("step ", VM_JSON.toString(i), " variant ", VM_JSON.toString(v))
                    );
                } catch {}
                ++tampered;
            }
        }
        assertGt(tampered, 200);
    }

    /// @notice A claimed post-state that differs from the true one in any single field has another hash.
    function test_wrongPostClaims() public view {
        Fixtures memory f = load();
        for (uint256 i; i < f.kinds.length; ++i) {
            if (f.kinds[i] == EVM) continue;
            bytes32 post = verifier.step(f.pres[i], f.proofs[i]);
            MachineState.State memory truth = abi.decode(f.posts[i], (MachineState.State));
            for (uint256 field; field < 15; ++field) {
                MachineState.State memory claim = abi.decode(f.posts[i], (MachineState.State));
                StateMutation.mutate(claim, field);
                assertTrue(MachineState.hash(claim) != post);
                assertTrue(keccak256(abi.encode(claim)) != keccak256(abi.encode(truth)));
            }
        }
    }

    /// @notice The decoder accepts exactly what alloy and derivation's stateless checks accept
    ///         (valid transactions of every type and mutations of them), with the same fields,
    ///         sender, intrinsic gas and floor.
    function test_decoderAgreesWithAlloy() public {
        string memory json = VM_JSON.readFile("test/fixtures/steps.json");
        uint64 chainId = uint64(VM_JSON.parseJsonUint(json, ".chainId"));
        bytes[] memory raws = VM_JSON.parseJsonBytesArray(json, ".decodeRaws");
        bytes[] memory expected = VM_JSON.parseJsonBytesArray(json, ".decodeExpected");
        assertEq(raws.length, expected.length);
        TxDecoderHarness harness = new TxDecoderHarness();
        uint256 accepted;
        for (uint256 i; i < raws.length; ++i) {
            (bool ok, TxDecoder.Tx memory t) = harness.decode(raws[i], chainId);
            string memory label = string.concat("vector ", VM_JSON.toString(i));
            if (expected[i].length == 0) {
                assertTrue(!ok, label);
                continue;
            }
            assertTrue(ok, label);
            assertEq(keccak256(abi.encode(t)), keccak256(expected[i]), label);
            ++accepted;
        }
        assertGt(accepted, 20);
    }

    /// @notice Phases without a provable step.
    function test_unknownPhasesAreRefused() public {
        MachineState.State memory s;
        s.phase = 4;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, uint8(4)));
        verifier.step(abi.encode(s), "");
        s.phase = MachineState.IN_TX;
        vm.expectRevert(abi.encodeWithSelector(OneStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
        verifier.step(abi.encode(s), "");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers

    /// @dev Variants of a step's witness, each changing one proven thing.
    function tamper(uint256 kind, bytes memory proof) internal pure returns (bytes[] memory out) {
        out = new bytes[](8);
        uint256 n;
        if (proof.length == 0) {
            out[n++] = hex"00";
        } else if (kind == BLOCK_START) {
            (MachineState.BlockItem memory item, bytes32 tail) = abi.decode(proof, (MachineState.BlockItem, bytes32));
            out[n++] = abi.encode(item, tail ^ bytes32(uint256(1)));
            item.txCount += 1;
            out[n++] = abi.encode(item, tail);
        } else if (kind == TX_START) {
            out = tamperTxStart(proof);
            n = out.length;
        } else if (kind == TX_END) {
            (MachineState.BlockItem memory blk, bytes[] memory callerProof, bytes[] memory beneficiaryProof) =
                abi.decode(proof, (MachineState.BlockItem, bytes[], bytes[]));
            blk.beneficiary = address(uint160(blk.beneficiary) ^ 1);
            out[n++] = abi.encode(blk, callerProof, beneficiaryProof);
            blk.beneficiary = address(uint160(blk.beneficiary) ^ 1);
            out[n++] = abi.encode(blk, flip(callerProof, 0), beneficiaryProof);
            out[n++] = abi.encode(blk, callerProof, flip(beneficiaryProof, 0));
            if (callerProof.length > 1) {
                out[n++] = abi.encode(blk, flip(callerProof, callerProof.length - 1), beneficiaryProof);
            }
            out[n++] = abi.encode(blk, callerProof, new bytes[](0));
        } else {
            out[n++] = bytes.concat(proof, hex"00");
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    struct TxStart {
        MachineState.BlockItem blk;
        bytes rawTx;
        bytes32 tail;
        bytes[] senderProof;
        bytes[] recipientProof;
        bytes senderCode;
    }

    function tamperTxStart(bytes memory proof) internal pure returns (bytes[] memory out) {
        out = new bytes[](8);
        uint256 n;
        TxStart memory w;
        (w.blk, w.rawTx, w.tail, w.senderProof, w.recipientProof, w.senderCode) =
            abi.decode(proof, (MachineState.BlockItem, bytes, bytes32, bytes[], bytes[], bytes));
        out[n++] = encode(w, w.blk, bytes.concat(w.rawTx, hex"00"), w.tail);
        out[n++] = encode(w, w.blk, w.rawTx, w.tail ^ bytes32(uint256(1)));
        MachineState.BlockItem memory other = abi.decode(abi.encode(w.blk), (MachineState.BlockItem));
        other.baseFee += 1;
        out[n++] = encode(w, other, w.rawTx, w.tail);
        if (w.senderProof.length > 0) {
            bytes[] memory good = w.senderProof;
            w.senderProof = flip(good, 0);
            out[n++] = encode(w, w.blk, w.rawTx, w.tail);
            w.senderProof = flip(good, good.length - 1);
            out[n++] = encode(w, w.blk, w.rawTx, w.tail);
            w.senderProof = good;
        }
        if (w.recipientProof.length > 0) {
            bytes[] memory good = w.recipientProof;
            w.recipientProof = flip(good, good.length - 1);
            out[n++] = encode(w, w.blk, w.rawTx, w.tail);
            w.recipientProof = good;
        }
        if (w.senderCode.length > 0) {
            w.senderCode = bytes.concat(w.senderCode, hex"00");
            out[n++] = encode(w, w.blk, w.rawTx, w.tail);
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    function encode(TxStart memory w, MachineState.BlockItem memory blk, bytes memory rawTx, bytes32 tail)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(blk, rawTx, tail, w.senderProof, w.recipientProof, w.senderCode);
    }

    /// @dev A copy of `proof` with one byte of node `index` changed.
    function flip(bytes[] memory proof, uint256 index) internal pure returns (bytes[] memory out) {
        out = new bytes[](proof.length);
        for (uint256 i; i < proof.length; ++i) {
            out[i] = bytes.concat(proof[i]);
        }
        if (proof.length == 0) return out;
        bytes memory node = out[index];
        node[node.length / 2] = node[node.length / 2] ^ 0x01;
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
