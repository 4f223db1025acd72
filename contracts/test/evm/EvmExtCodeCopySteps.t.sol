// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {EvmStateVerifier} from "../../src/fault/evm/EvmStateVerifier.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmWitnessTest} from "./EvmWitnessTest.sol";

/// @notice EXTCODECOPY (docs/evm-steps.md sections 4 and 6, witness kind 7) on `EvmStateVerifier`
///         called directly, with the real steps the Rust step machine produced from revm
///         (test/fixtures/evm_steps.json: cold and warm, an absent account, a contract, the frame's
///         own code, a precompile, an existing empty account, an EIP-7702 delegation, offsets past
///         the code's end, a zero length, out of gas on the cold access and on the memory): every
///         kind-7 step replays to its post-state, and a witness with one thing changed (a tampered
///         account proof, the wrong code, a wrong warm proof, a wrong substate preimage, the
///         destination range, the block item, the kind, the access-list marker) reverts with the
///         precise error, or at least never proves the honest post-state. Skipped while the fixture
///         file does not exist.
contract EvmExtCodeCopyStepsTest is EvmWitnessTest {
    uint8 internal constant KIND = 7;
    uint256 internal constant EXTCODECOPY = 0x3c;
    bytes32 internal constant EMPTY_CODE_HASH = keccak256("");

    EvmStateVerifier internal verifier;

    /// @dev A kind-7 witness's body, decoded.
    struct Body {
        EvmTypes.EvmState evm;
        bytes code;
        uint256[] top;
        bytes32 rest;
        EvmStateVerifier.StateWitness w;
        MachineState.BlockItem blk;
        EvmTypes.WordRange dest;
    }

    function setUp() public {
        verifier = new EvmStateVerifier();
    }

    // ------------------------------------------------------------------------------------------
    // Loading and re-encoding

    /// @dev The kind-7 steps of the fixture file (none, and the test skipped, when it does not exist).
    function steps() internal returns (Step[] memory out) {
        out = stepsOfKind(KIND);
        if (out.length != 0) assertGt(out.length, 10, "the fixtures hold EXTCODECOPY steps");
    }

    /// @dev True when the instruction ran to its end (no halt): it read the account and wrote its range. It
    ///      ran when the frame goes on with the next pc (every fixture halt is at depth 0, into
    ///      TX_EXECUTED).
    function completes(Step memory s) internal pure returns (bool) {
        return s.postPhase == MachineState.IN_TX && decode(s.proof).evm.depth == 0;
    }

    function decode(bytes memory proof) internal pure returns (Body memory b) {
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (b.evm, b.code, b.top, b.rest, b.w, b.blk, b.dest) = abi.decode(
            body,
            (
                EvmTypes.EvmState,
                bytes,
                uint256[],
                bytes32,
                EvmStateVerifier.StateWitness,
                MachineState.BlockItem,
                EvmTypes.WordRange
            )
        );
    }

    function encode(Body memory b) internal pure returns (bytes memory) {
        return encode(KIND, b);
    }

    function encode(uint8 kind, Body memory b) internal pure returns (bytes memory) {
        return abi.encode(kind, abi.encode(b.evm, b.code, b.top, b.rest, b.w, b.blk, b.dest));
    }

    /// @dev Whether the verifier proves `proof` to `post` (false when it reverts or proves another).
    function proves(MachineState.State memory pre, bytes memory proof, bytes32 post) internal view returns (bool) {
        try verifier.step(pre, proof) returns (bytes32 computed) {
            return computed == post;
        } catch {
            return false;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Honest steps

    function test_everyStepReplays() public {
        Step[] memory all = steps();
        uint256 ran;
        uint256 copied;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            assertEq(verifier.step(preOf(s), s.proof), s.post, label(s, "replay"));
            if (!completes(s)) continue;
            ++ran;
            if (decode(s.proof).dest.words.length != 0) ++copied;
        }
        assertGt(ran, 8, "steps that run");
        assertGt(copied, 6, "steps that write memory");
    }

    // ------------------------------------------------------------------------------------------
    // Wrong witnesses

    /// @notice A byte of the account proof changed: the proof no longer opens the state root.
    function test_tamperedAccountProof() public {
        Step[] memory all = steps();
        uint256 checked;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            if (!completes(s)) continue;
            Body memory b = decode(s.proof);
            for (uint256 n; n < b.w.accountProof.length; ++n) {
                Body memory t = decode(s.proof);
                t.w.accountProof[n] = flip(t.w.accountProof[n], t.w.accountProof[n].length - 1);
                assertFalse(proves(preOf(s), encode(t), s.post), label(s, "tampered account proof"));
                ++checked;
            }
            // Another account's proof: the address's is not there.
            if (b.w.accountProof.length > 1) {
                Body memory t = decode(s.proof);
                bytes[] memory shorter = new bytes[](1);
                shorter[0] = t.w.accountProof[0];
                t.w.accountProof = shorter;
                assertFalse(proves(preOf(s), encode(t), s.post), label(s, "truncated account proof"));
            }
        }
        assertGt(checked, 10);
    }

    /// @notice Code that does not hash to the account's code hash: `EvmCodeMismatch`.
    function test_wrongCode() public {
        Step[] memory all = steps();
        uint256 checked;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            if (!completes(s)) continue;
            Body memory b = decode(s.proof);
            if (b.w.extCode.length == 0) continue;
            bytes32 codeHash = keccak256(b.w.extCode);
            // One byte changed, one byte more, none.
            bytes[3] memory wrong = [flip(b.w.extCode, 0), bytes.concat(b.w.extCode, hex"00"), bytes("")];
            for (uint256 k; k < wrong.length; ++k) {
                Body memory t = decode(s.proof);
                t.w.extCode = wrong[k];
                vm.expectRevert(
                    abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, codeHash, keccak256(wrong[k]))
                );
                verifier.step(preOf(s), encode(t));
            }
            ++checked;
        }
        assertGt(checked, 4, "steps copying a contract's code (a delegation's included)");
    }

    /// @notice A code given for an account without code: refused when the account exists (its code
    ///         hash is the empty one), ignored when it is absent (nothing to copy either way).
    function test_codeForAnAccountWithoutCode() public {
        Step[] memory all = steps();
        uint256 refused;
        uint256 ignored;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            if (!completes(s)) continue;
            Body memory b = decode(s.proof);
            if (b.w.extCode.length != 0) continue;
            b.w.extCode = hex"6001";
            try verifier.step(preOf(s), encode(b)) returns (bytes32 post) {
                assertEq(post, s.post, label(s, "an absent account's code is not read"));
                ++ignored;
            } catch (bytes memory reason) {
                assertEq(
                    reason,
                    abi.encodeWithSelector(
                        IEvmStepVerifier.EvmCodeMismatch.selector, EMPTY_CODE_HASH, keccak256(hex"6001")
                    ),
                    label(s, "an existing account without code")
                );
                ++refused;
            }
        }
        assertGt(ignored, 0, "absent accounts");
        assertGt(refused, 0, "existing accounts without code");
    }

    /// @notice A wrong proof of the address in the warm accounts: a byte changed, or the proof
    ///         dropped (a warm address shown cold would cost 2500 more and insert it again).
    function test_wrongWarmProof() public {
        Step[] memory all = steps();
        uint256 checked;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            if (!completes(s)) continue;
            Body memory b = decode(s.proof);
            for (uint256 n; n < b.w.warmProof.length; ++n) {
                Body memory t = decode(s.proof);
                t.w.warmProof[n] = flip(t.w.warmProof[n], t.w.warmProof[n].length - 1);
                assertFalse(proves(preOf(s), encode(t), s.post), label(s, "tampered warm proof"));
                ++checked;
            }
            if (b.w.warmProof.length != 0) {
                Body memory t = decode(s.proof);
                t.w.warmProof = new bytes[](0);
                assertFalse(proves(preOf(s), encode(t), s.post), label(s, "no warm proof"));
            }
        }
        assertGt(checked, 5);
    }

    /// @notice A substate preimage that does not hash to the frame's substate: `SubstateMismatch`.
    function test_wrongSubstatePreimage() public {
        Step[] memory all = steps();
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            for (uint256 field; field < 3; ++field) {
                Body memory t = decode(s.proof);
                if (field == 0) t.w.warmSlots ^= bytes32(uint256(1));
                else if (field == 1) t.w.transientStorage ^= bytes32(uint256(1));
                else t.w.warmAccounts ^= bytes32(uint256(1));
                vm.expectRevert(
                    abi.encodeWithSelector(
                        EvmStateVerifier.SubstateMismatch.selector,
                        t.evm.substate,
                        verifier.substateHash(t.w.warmSlots, t.w.transientStorage, t.w.warmAccounts)
                    )
                );
                verifier.step(preOf(s), encode(t));
            }
        }
    }

    /// @notice The destination range: a changed word (`WordProofMismatch(0)`), another span, a
    ///         missing range, or a range where nothing is written (`UnexpectedWords`).
    function test_wrongDestination() public {
        Step[] memory all = steps();
        uint256 written;
        uint256 unwritten;
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            Body memory b = decode(s.proof);
            if (b.dest.words.length == 0) {
                // Nothing written (a zero length, or a halt): no range may be given.
                Body memory t = decode(s.proof);
                t.dest.words = new bytes32[](1);
                vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
                verifier.step(preOf(s), encode(t));
                ++unwritten;
                continue;
            }
            Body memory changed = decode(s.proof);
            changed.dest.words[0] ^= bytes32(uint256(1));
            vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
            verifier.step(preOf(s), encode(changed));

            Body memory shifted = decode(s.proof);
            shifted.dest.first += 1;
            vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            verifier.step(preOf(s), encode(shifted));

            Body memory missing = decode(s.proof);
            delete missing.dest;
            vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
            verifier.step(preOf(s), encode(missing));
            ++written;
        }
        assertGt(written, 6);
        assertGt(unwritten, 3, "zero lengths and halts");
    }

    /// @notice The block item (its beneficiary starts warm) must be the machine's.
    function test_wrongBlockItem() public {
        Step[] memory all = steps();
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            if (!completes(s)) continue;
            Body memory t = decode(s.proof);
            t.blk.timestamp ^= 1;
            MachineState.State memory pre = preOf(s);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IEvmStepVerifier.BlockItemMismatch.selector, pre.blockItem, MachineState.itemHash(t.blk)
                )
            );
            verifier.step(pre, encode(t));
        }
    }

    /// @notice The frame, the code and the stack opening are checked as for every instruction.
    function test_wrongFrameCodeOrStack() public {
        Step[] memory all = steps();
        Step memory s = all[0];
        Body memory b = decode(s.proof);

        Body memory t = decode(s.proof);
        t.evm.gas += 1;
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmStateMismatch.selector, preOf(s).evm, EvmTypes.hash(t.evm))
        );
        verifier.step(preOf(s), encode(t));

        t = decode(s.proof);
        t.code = bytes.concat(t.code, hex"00");
        vm.expectRevert(
            abi.encodeWithSelector(IEvmStepVerifier.EvmCodeMismatch.selector, b.evm.codeHash, keccak256(t.code))
        );
        verifier.step(preOf(s), encode(t));

        for (uint256 i; i < all.length; ++i) {
            t = decode(all[i].proof);
            if (t.top.length == 0) continue;
            t.top[t.top.length - 1] ^= 1;
            vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
            verifier.step(preOf(all[i]), encode(t));
        }
    }

    /// @notice EXTCODECOPY takes kind 7 only, and kind 7 EXTCODECOPY only; a frame under the
    ///         access-list marker is not provable yet.
    function test_kindsAndAccessListMarker() public {
        Step[] memory all = steps();
        bytes memory unsupported = abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
        for (uint256 i; i < all.length; ++i) {
            Step memory s = all[i];
            Body memory b = decode(s.proof);
            // As a kind-3 witness (its first six fields decode the same).
            vm.expectRevert(unsupported);
            verifier.step(preOf(s), encode(3, b));
            uint8[3] memory others = [0, 2, 8];
            for (uint256 k; k < others.length; ++k) {
                vm.expectRevert(unsupported);
                verifier.step(preOf(s), encode(others[k], b));
            }
            // Another opcode under a kind-7 witness (EXTCODESIZE at the same pc).
            Body memory t = decode(s.proof);
            t.code[t.evm.pc] = 0x3b;
            t.evm.codeHash = keccak256(t.code);
            vm.expectRevert(unsupported);
            verifier.step(preFor(s, t.evm), encode(t));
            // The access-list marker.
            t = decode(s.proof);
            t.evm.substate = bytes32(uint256(1));
            vm.expectRevert(unsupported);
            verifier.step(preFor(s, t.evm), encode(t));
        }
    }
}
