// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {MerkleTrie} from "../src/fault/MerkleTrie.sol";
import {RLPReader} from "../src/fault/RLPReader.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {EvmStateVerifier} from "../src/fault/evm/EvmStateVerifier.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {EvmWitnessTest} from "./evm/EvmWitnessTest.sol";

/// @notice Stage 3 of docs/evm-steps.md (state access, witness kind 3) on `EvmStateVerifier` called
///         directly, with the real steps the Rust step machine produced from revm
///         (test/fixtures/evm_steps.json): every kind-3 step replays to its post-state, and a witness
///         with one thing changed (the substate's preimage, the frame, the code, the stack, a trie
///         proof, the block item, the external code, the access-list marker, the opcode, the kind,
///         the phase) reverts with the precise error, or at least never proves the honest post-state.
///         Skipped while the fixture file does not exist.
contract EvmStateStepsTest is EvmWitnessTest {
    uint8 internal constant STATE_KIND = 3;
    uint256 internal constant CALL_STIPEND = 2300;

    // The state-access opcodes.
    uint256 internal constant BALANCE = 0x31;
    uint256 internal constant EXTCODESIZE = 0x3b;
    uint256 internal constant EXTCODEHASH = 0x3f;
    uint256 internal constant SELFBALANCE = 0x47;
    uint256 internal constant SLOAD = 0x54;
    uint256 internal constant SSTORE = 0x55;
    uint256 internal constant TLOAD = 0x5c;
    uint256 internal constant TSTORE = 0x5d;

    // The trie proofs of a `StateWitness`, by position.
    uint256 internal constant WARM_PROOF = 0;
    uint256 internal constant ACCOUNT_PROOF = 1;
    uint256 internal constant STORAGE_PROOF = 2;
    uint256 internal constant ORIGINAL_ACCOUNT_PROOF = 3;
    uint256 internal constant ORIGINAL_STORAGE_PROOF = 4;
    uint256 internal constant TRANSIENT_PROOF = 5;

    EvmStateVerifier internal verifier;

    /// @dev A kind-3 witness's body, decoded.
    struct Body {
        EvmTypes.EvmState evm;
        bytes code;
        uint256[] top;
        bytes32 rest;
        EvmStateVerifier.StateWitness w;
        MachineState.BlockItem blk;
    }

    function setUp() public {
        verifier = new EvmStateVerifier();
    }

    // ------------------------------------------------------------------------------------------
    // Loading and re-encoding

    /// @dev The kind-3 steps of the fixture file (none when it does not exist), with the phase of a
    ///      step that ends a frame at depth >= 1 counted as TX_EXECUTED.
    function stateSteps() internal returns (Step[] memory steps) {
        steps = stepsOfKind(STATE_KIND);
        for (uint256 i; i < steps.length; ++i) {
            // A state-access step ends its frame only by an exceptional halt; at depth >= 1 the
            // machine stays IN_TX in a returning state: counted as a halt (TX_EXECUTED) here.
            Step memory s = steps[i];
            EvmTypes.EvmState memory e = decode(s.proof).evm;
            if (s.postPhase == MachineState.IN_TX && e.depth != 0) {
                EvmTypes.FrameEnd memory end;
                end.parent = e.parent;
                end.outcome = 3;
                MachineState.State memory post = abi.decode(s.postState, (MachineState.State));
                if (post.evm == EvmTypes.hash(end)) s.postPhase = MachineState.TX_EXECUTED;
            }
        }
    }

    function decode(bytes memory proof) internal pure returns (Body memory b) {
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (b.evm, b.code, b.top, b.rest, b.w, b.blk) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmStateVerifier.StateWitness, MachineState.BlockItem)
        );
    }

    function encode(Body memory b) internal pure returns (bytes memory) {
        return abi.encode(STATE_KIND, abi.encode(b.evm, b.code, b.top, b.rest, b.w, b.blk));
    }

    /// @dev The stack items the instruction reads (docs/evm-steps.md section 4, "State access").
    function reads(uint256 op) internal pure returns (uint256) {
        if (op == SSTORE || op == TSTORE) return 2;
        if (op == SELFBALANCE) return 0;
        return 1;
    }

    /// @dev True when the step opens its stack items (no stack underflow).
    function opensStack(Step memory s, Body memory b) internal pure returns (bool) {
        return b.evm.stackSize >= reads(s.op);
    }

    // ------------------------------------------------------------------------------------------
    // Proof surgery

    function proofField(EvmStateVerifier.StateWitness memory w, uint256 field) internal pure returns (bytes[] memory) {
        if (field == WARM_PROOF) return w.warmProof;
        if (field == ACCOUNT_PROOF) return w.accountProof;
        if (field == STORAGE_PROOF) return w.storageProof;
        if (field == ORIGINAL_ACCOUNT_PROOF) return w.originalAccountProof;
        if (field == ORIGINAL_STORAGE_PROOF) return w.originalStorageProof;
        return w.transientProof;
    }

    function setProofField(EvmStateVerifier.StateWitness memory w, uint256 field, bytes[] memory p) internal pure {
        if (field == WARM_PROOF) w.warmProof = p;
        else if (field == ACCOUNT_PROOF) w.accountProof = p;
        else if (field == STORAGE_PROOF) w.storageProof = p;
        else if (field == ORIGINAL_ACCOUNT_PROOF) w.originalAccountProof = p;
        else if (field == ORIGINAL_STORAGE_PROOF) w.originalStorageProof = p;
        else w.transientProof = p;
    }

    /// @dev The account leaf of `account` in the trie `root` opened by `proof` (empty when absent).
    function accountLeaf(bytes32 root, address account, bytes[] memory proof)
        internal
        pure
        returns (bool found, bytes memory leaf)
    {
        return MerkleTrie.get(root, keccak256(abi.encodePacked(account)), proof);
    }

    /// @dev Whether the slot an SLOAD witness opens is in its frame's storage.
    function slotPresent(Step memory s, Body memory b) internal pure returns (bool) {
        (bool found, bytes memory leaf) = accountLeaf(preOf(s).stateRoot, b.evm.self, b.w.accountProof);
        if (!found) return false;
        (uint256[] memory offsets,) = RLPReader.readList(leaf);
        bytes32 storageRoot = RLPReader.readBytes32(leaf, offsets[2]);
        (bool present,) = MerkleTrie.get(storageRoot, keccak256(abi.encode(b.top[0])), b.w.storageProof);
        return present;
    }

    // ------------------------------------------------------------------------------------------
    // Honest steps

    /// @notice Every kind-3 fixture step gives the Rust (revm) post-state on EvmStateVerifier called
    ///         directly, its witness re-encodes to itself, and each state-access opcode is exercised.
    function test_replayStateSteps() public {
        Step[] memory steps = stateSteps();
        if (steps.length == 0) return;
        uint256[8] memory ops = [SLOAD, SSTORE, TLOAD, TSTORE, BALANCE, EXTCODESIZE, EXTCODEHASH, SELFBALANCE];
        string[8] memory names =
            ["SLOAD", "SSTORE", "TLOAD", "TSTORE", "BALANCE", "EXTCODESIZE", "EXTCODEHASH", "SELFBALANCE"];
        uint256[8] memory counts;
        uint256[8] memory halts;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            assertEq(verifier.step(preOf(s), s.proof), s.post, label(s, "replay"));
            assertEq(keccak256(encode(decode(s.proof))), keccak256(s.proof), label(s, "re-encoding"));
            bool known;
            for (uint256 k; k < ops.length; ++k) {
                if (ops[k] != s.op) continue;
                known = true;
                ++counts[k];
                if (s.postPhase != MachineState.IN_TX) ++halts[k];
            }
            assertTrue(known, label(s, "not a state-access opcode"));
        }
        for (uint256 k; k < ops.length; ++k) {
            console.log(string.concat(names[k], " (steps, of which halting)"), counts[k], halts[k]);
            assertGt(counts[k], 0, names[k]);
        }
        console.log("kind-3 steps replayed on EvmStateVerifier:", steps.length);
    }

    // ------------------------------------------------------------------------------------------
    // Wrong witnesses

    /// @notice A substate preimage (warmSlots, transientStorage or warmAccounts) that does not hash
    ///         to the frame's `substate`, or the empty preimage of a non-empty substate (claiming
    ///         nothing is warm), reverts `SubstateMismatch(substate, computed)`.
    function test_substatePreimageChanged() public {
        Step[] memory steps = stateSteps();
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            for (uint256 field; field < 4; ++field) {
                Body memory b = decode(s.proof);
                if (field == 0) {
                    b.w.warmSlots ^= bytes32(uint256(1));
                } else if (field == 1) {
                    b.w.transientStorage ^= bytes32(uint256(1));
                } else if (field == 2) {
                    b.w.warmAccounts ^= bytes32(uint256(1));
                } else {
                    if (b.evm.substate == 0) continue;
                    (b.w.warmSlots, b.w.transientStorage, b.w.warmAccounts) =
                    (MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT);
                }
                bytes32 computed = verifier.substateHash(b.w.warmSlots, b.w.transientStorage, b.w.warmAccounts);
                assertTrue(computed != b.evm.substate, label(s, "substate"));
                bytes memory proof = encode(b);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(
                    abi.encodeWithSelector(EvmStateVerifier.SubstateMismatch.selector, b.evm.substate, computed)
                );
                verifier.step(pre, proof);
            }
        }
    }

    /// @notice A frame (`EvmState`) other than the one `pre.evm` commits to (its gas, pc, substate,
    ///         stack, static flag, start root, address or depth changed) reverts
    ///         `EvmStateMismatch(pre.evm, computed)`.
    function test_evmStateChanged() public {
        Step[] memory steps = stateSteps();
        for (uint256 i; i < steps.length; ++i) {
            // One external call per step: its memory is dropped after it (the fixture file alone
            // takes most of this call's memory).
            this.checkEvmStateChanged(steps[i]);
        }
    }

    /// @dev The nine changed frames of `test_evmStateChanged` for one step.
    function checkEvmStateChanged(Step memory s) external {
        for (uint256 field; field < 9; ++field) {
            Body memory b = decode(s.proof);
            mutateEvm(b.evm, field);
            bytes memory proof = encode(b);
            MachineState.State memory pre = preOf(s);
            vm.expectRevert(
                abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, pre.evm, EvmTypes.hash(b.evm))
            );
            verifier.step(pre, proof);
        }
    }

    /// @notice Code that does not hash to the frame's `codeHash` (the opcode's byte flipped, a byte
    ///         appended, the last byte dropped) reverts `EvmCodeMismatch(codeHash, computed)`.
    function test_codeChanged() public {
        Step[] memory steps = stateSteps();
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            for (uint256 how; how < 3; ++how) {
                Body memory b = decode(s.proof);
                if (how == 0) {
                    b.code[b.evm.pc] ^= bytes1(0x80);
                } else if (how == 1) {
                    b.code = bytes.concat(b.code, hex"00");
                } else {
                    bytes memory shorter = new bytes(b.code.length - 1);
                    for (uint256 k; k < shorter.length; ++k) {
                        shorter[k] = b.code[k];
                    }
                    b.code = shorter;
                }
                bytes memory proof = encode(b);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(
                    abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, b.evm.codeHash, keccak256(b.code))
                );
                verifier.step(pre, proof);
            }
        }
    }

    /// @notice A stack opening that does not give the frame's stack (a top item changed, the rest's
    ///         hash changed, an item too many or too few; for a stack underflow, any item) reverts
    ///         `StackMismatch()`. In two halves of the steps: all of them in one test came within 6% of
    ///         the test's gas limit (2^30), most of it the memory of the decoded witnesses.
    function test_stackChangedFirstHalf() public {
        stackChanged(0);
    }

    /// @notice `test_stackChangedFirstHalf` on the second half of the steps.
    function test_stackChangedSecondHalf() public {
        stackChanged(1);
    }

    function stackChanged(uint256 half) internal {
        Step[] memory steps = stateSteps();
        uint256 opened;
        for (uint256 i = half * steps.length / 2; i < (half + 1) * steps.length / 2; ++i) {
            Step memory s = steps[i];
            Body memory honest = decode(s.proof);
            bool open = opensStack(s, honest);
            if (open) ++opened;
            for (uint256 how; how < 5; ++how) {
                Body memory b = decode(s.proof);
                if (how == 0) {
                    // One item too many (for an underflow: any item at all).
                    uint256[] memory more = new uint256[](b.top.length + 1);
                    for (uint256 k; k < b.top.length; ++k) {
                        more[k] = b.top[k];
                    }
                    b.top = more;
                } else if (!open) {
                    // Underflow: the rest is not looked at, and there are no items to change.
                    continue;
                } else if (how == 1) {
                    b.rest ^= bytes32(uint256(1));
                } else if (b.top.length == 0) {
                    continue;
                } else if (how == 2) {
                    b.top[0] ^= 1;
                } else if (how == 3) {
                    b.top[b.top.length - 1] ^= 2;
                } else {
                    uint256[] memory fewer = new uint256[](b.top.length - 1);
                    for (uint256 k; k < fewer.length; ++k) {
                        fewer[k] = b.top[k];
                    }
                    b.top = fewer;
                }
                bytes memory proof = encode(b);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
                verifier.step(pre, proof);
            }
        }
        assertGt(opened, 0);
    }

    /// @notice An SLOAD or SSTORE (that reads its slot) whose `accountProof` has a node removed or a
    ///         byte flipped reverts with a MerkleTrie error and never proves the honest post-state. In
    ///         two halves of the steps (as `test_stackChangedFirstHalf`).
    function test_accountProofTamperedFirstHalf() public {
        accountProofTampered(0);
    }

    /// @notice `test_accountProofTamperedFirstHalf` on the second half of the steps.
    function test_accountProofTamperedSecondHalf() public {
        accountProofTampered(1);
    }

    function accountProofTampered(uint256 half) internal {
        Step[] memory steps = stateSteps();
        uint256 tried;
        for (uint256 i = half * steps.length / 2; i < (half + 1) * steps.length / 2; ++i) {
            Step memory s = steps[i];
            if ((s.op != SLOAD && s.op != SSTORE) || s.postPhase != MachineState.IN_TX) continue;
            Body memory honest = decode(s.proof);
            uint256 nodes = honest.w.accountProof.length;
            assertGt(nodes, 0, label(s, "account proof"));
            for (uint256 k; k < nodes; ++k) {
                Body memory b = decode(s.proof);
                b.w.accountProof = without(honest.w.accountProof, k);
                assertTrieRejects(
                    verifier, s, encode(b), string.concat("account proof without node ", VM_X.toString(k))
                );
                uint256 len = honest.w.accountProof[k].length;
                uint256[3] memory positions = [0, len / 2, len - 1];
                for (uint256 at; at < positions.length; ++at) {
                    // The node's first byte (its RLP header), a middle one and its last one.
                    b = decode(s.proof);
                    b.w.accountProof = flipped(honest.w.accountProof, k, positions[at]);
                    assertTrieRejects(
                        verifier, s, encode(b), string.concat("account proof node ", VM_X.toString(k), " flipped")
                    );
                    ++tried;
                }
            }
        }
        assertGt(tried, 0);
    }

    /// @notice Every other trie proof a continuing step uses (warm slots and accounts, the account of
    ///         BALANCE/EXTCODESIZE/EXTCODEHASH/SELFBALANCE, storage, the original account and slot,
    ///         transient storage) with a node removed or a byte flipped reverts with a MerkleTrie
    ///         error and never proves the honest post-state.
    function test_otherTrieProofsTampered() public {
        Step[] memory steps = stateSteps();
        uint256 tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (s.postPhase != MachineState.IN_TX) continue;
            // One decoded witness per step, its proof put back after each change (a fresh decoding
            // per change would grow the test's memory, whose gas is quadratic, past the limit).
            Body memory b = decode(s.proof);
            for (uint256 field; field < 6; ++field) {
                // SLOAD's and SSTORE's account proofs: test_accountProofTampered.
                if (field == ACCOUNT_PROOF && (s.op == SLOAD || s.op == SSTORE)) continue;
                bytes[] memory p = proofField(b.w, field);
                for (uint256 k; k < p.length; ++k) {
                    string memory what = string.concat("proof ", VM_X.toString(field), " node ", VM_X.toString(k));
                    setProofField(b.w, field, without(p, k));
                    assertTrieRejects(verifier, s, encode(b), string.concat(what, " removed"));
                    setProofField(b.w, field, flipped(p, k, p[k].length / 2));
                    assertTrieRejects(verifier, s, encode(b), string.concat(what, " flipped"));
                    setProofField(b.w, field, p);
                    ++tried;
                }
            }
        }
        assertGt(tried, 0);
    }

    /// @notice An SSTORE that reads the slot's original value (its `originalStorageProof` is not
    ///         empty) reverts `ProofTooShort(0)` when that proof, or the `originalAccountProof`, is
    ///         emptied: the original value cannot be claimed to be 0 by leaving its proof out.
    function test_sstoreOriginalProofEmptied() public {
        Step[] memory steps = stateSteps();
        uint256 tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory b = decode(s.proof);
            if (
                s.op != SSTORE || b.w.originalStorageProof.length == 0 || b.evm.isStatic || b.evm.gas <= CALL_STIPEND
                    || !opensStack(s, b)
            ) continue;
            b.w.originalStorageProof = new bytes[](0);
            bytes memory proof = encode(b);
            MachineState.State memory pre = preOf(s);
            vm.expectRevert(abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
            verifier.step(pre, proof);

            b = decode(s.proof);
            b.w.originalAccountProof = new bytes[](0);
            proof = encode(b);
            vm.expectRevert(abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
            verifier.step(pre, proof);
            ++tried;
        }
        assertGt(tried, 0);
    }

    /// @notice An SLOAD of a slot that is in storage, given the `storageProof` of another fixture
    ///         step (SLOAD or SSTORE) of a different slot, never proves the honest post-state (it
    ///         reverts, or proves another one).
    function test_sloadStorageProofOfAnotherSlot() public {
        Step[] memory steps = stateSteps();
        uint256 tried;
        uint256 reverted;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (s.op != SLOAD || s.postPhase != MachineState.IN_TX) continue;
            Body memory honest = decode(s.proof);
            // An absent slot's exclusion may be shown by another key's proof too (`get` ignores the
            // nodes after the path): that proof proves the honest value, 0.
            if (!slotPresent(s, honest)) continue;
            for (uint256 j; j < steps.length; ++j) {
                if (steps[j].op != SLOAD && steps[j].op != SSTORE) continue;
                Body memory donor = decode(steps[j].proof);
                if (donor.top.length == 0 || donor.top[0] == honest.top[0] || donor.w.storageProof.length == 0) {
                    continue;
                }
                Body memory b = decode(s.proof);
                b.w.storageProof = donor.w.storageProof;
                try verifier.step(preOf(s), encode(b)) returns (bytes32 h) {
                    assertTrue(
                        h != s.post, label(s, string.concat("storage proof of step ", VM_X.toString(steps[j].index)))
                    );
                } catch {
                    ++reverted;
                }
                ++tried;
            }
        }
        assertGt(tried, 0);
        console.log("SLOAD storage proofs of other slots tried, reverted:", tried, reverted);
    }

    /// @notice BALANCE, EXTCODESIZE and EXTCODEHASH (which read the block's beneficiary) with a block
    ///         item other than the state's revert `BlockItemMismatch(blockItem, computed)`.
    function test_blockItemWrong() public {
        Step[] memory steps = stateSteps();
        uint256 tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory b = decode(s.proof);
            // The block is checked once the address is open and the warm cost is paid.
            if ((s.op != BALANCE && s.op != EXTCODESIZE && s.op != EXTCODEHASH) || !opensStack(s, b) || b.evm.gas < 100)
            {
                continue;
            }
            for (uint256 how; how < 3; ++how) {
                b = decode(s.proof);
                if (how == 0) b.blk.number += 1;
                else if (how == 1) b.blk.beneficiary = address(uint160(b.blk.beneficiary) ^ 1);
                else b.blk.txCount ^= 1;
                bytes memory proof = encode(b);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IEvmStepVerifier.BlockItemMismatch.selector, pre.blockItem, MachineState.itemHash(b.blk)
                    )
                );
                verifier.step(pre, proof);
            }
            ++tried;
        }
        assertGt(tried, 0);
    }

    /// @notice EXTCODESIZE of an existing account with `extCode` that does not hash to the account's
    ///         code hash (a byte appended, or emptied) reverts `EvmCodeMismatch(codeHash, computed)`.
    function test_extCodeChanged() public {
        Step[] memory steps = stateSteps();
        uint256 tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory honest = decode(s.proof);
            if (s.op != EXTCODESIZE || s.postPhase != MachineState.IN_TX) continue;
            // forge-lint: disable-next-line(unsafe-typecast)
            address account = address(uint160(honest.top[0]));
            (bool found,) = accountLeaf(preOf(s).stateRoot, account, honest.w.accountProof);
            // An absent account has no code: the witness's is not looked at.
            if (!found) continue;
            for (uint256 how; how < 2; ++how) {
                if (how == 1 && honest.w.extCode.length == 0) continue;
                Body memory b = decode(s.proof);
                b.w.extCode = how == 0 ? bytes.concat(b.w.extCode, hex"00") : bytes("");
                bytes memory proof = encode(b);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(honest.w.extCode), keccak256(b.w.extCode)
                    )
                );
                verifier.step(pre, proof);
            }
            ++tried;
        }
        assertGt(tried, 0);
    }

    /// @notice A frame with the access-list marker as its substate (with `pre.evm` its hash) reverts
    ///         `UnsupportedStep(2)`: a rest-of-transaction step. (Any depth is valid: section 9.)
    function test_accessListMarker() public {
        Step[] memory steps = stateSteps();
        assertEq(verifier.ACCESS_LIST_SUBSTATE(), bytes32(uint256(1)));
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory b = decode(s.proof);
            b.evm.substate = bytes32(uint256(1));
            bytes memory proof = encode(b);
            MachineState.State memory pre = preFor(s, b.evm);
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
            verifier.step(pre, proof);
        }
    }

    /// @notice A kind-3 witness whose opcode is not a state-access instruction (`code[pc]` patched to
    ///         ADD, STOP, KECCAK256, EXTCODECOPY, MCOPY, CALL or INVALID, with `codeHash` and
    ///         `pre.evm` recomputed; or `pc` past the code, STOP) reverts `UnsupportedStep(2)`.
    function test_notStateAccessOpcode() public {
        Step[] memory steps = stateSteps();
        for (uint256 i; i < steps.length; ++i) {
            // One external call per step: its memory is dropped after it.
            this.checkNotStateAccessOpcode(steps[i]);
        }
    }

    /// @dev The eight patched opcodes of `test_notStateAccessOpcode` for one step.
    function checkNotStateAccessOpcode(Step memory s) external {
        uint8[7] memory others = [0x01, 0x00, 0x20, 0x3c, 0x5e, 0xf1, 0xfe];
        for (uint256 k; k <= others.length; ++k) {
            Body memory b = decode(s.proof);
            if (k < others.length) {
                b.code[b.evm.pc] = bytes1(others[k]);
                b.evm.codeHash = keccak256(b.code);
            } else {
                // forge-lint: disable-next-line(unsafe-typecast)
                b.evm.pc = uint32(b.code.length);
            }
            bytes memory proof = encode(b);
            MachineState.State memory pre = preFor(s, b.evm);
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX));
            verifier.step(pre, proof);
        }
    }

    /// @notice Witnesses of another kind (a kind-3 body labelled 0, 1, 2, 4 or 255; the real kind-0 and
    ///         kind-1 fixture steps; the empty rest-of-transaction witness) revert
    ///         `UnsupportedStep(2)`, and a pre-state whose phase is not IN_TX reverts
    ///         `UnsupportedStep(phase)`.
    function test_otherKindsAndPhases() public {
        (bool found, Fixtures memory f) = fixtures();
        if (!found) return;
        Step[] memory steps = stepsOfKind(f, STATE_KIND);
        bytes memory unsupported = abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
        Step memory s = steps[0];
        (, bytes memory body) = abi.decode(s.proof, (uint8, bytes));
        uint8[5] memory kinds = [0, 1, 2, 4, 255];
        for (uint256 k; k < kinds.length; ++k) {
            bytes memory proof = abi.encode(kinds[k], body);
            MachineState.State memory pre = preOf(s);
            vm.expectRevert(unsupported);
            verifier.step(pre, proof);
        }
        MachineState.State memory pre0 = preOf(s);
        vm.expectRevert(unsupported);
        verifier.step(pre0, "");

        // The real entry (kind 0) and instruction (kind 1) steps, with their own pre-states.
        bool[2] memory seen;
        for (uint256 i; i < f.proofs.length; ++i) {
            uint256 kind = kindOf(f.proofs[i]);
            if (kind > 1 || seen[kind]) continue;
            seen[kind] = true;
            MachineState.State memory pre = abi.decode(f.pres[i], (MachineState.State));
            bytes memory proof = f.proofs[i];
            vm.expectRevert(unsupported);
            verifier.step(pre, proof);
        }
        assertTrue(seen[0] && seen[1]);

        // Every other phase, with an honest kind-3 witness.
        uint8[4] memory phases =
            [MachineState.BETWEEN_BLOCKS, MachineState.IN_BLOCK, MachineState.TX_EXECUTED, uint8(7)];
        for (uint256 i; i < steps.length; ++i) {
            for (uint256 k; k < phases.length; ++k) {
                MachineState.State memory pre = preOf(steps[i]);
                pre.phase = phases[k];
                bytes memory proof = steps[i].proof;
                vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, phases[k]));
                verifier.step(pre, proof);
            }
        }
    }
}
