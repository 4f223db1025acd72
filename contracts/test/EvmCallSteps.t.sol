// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2 as console} from "forge-std/console2.sol";
import {MachineState} from "../src/fault/MachineState.sol";
import {MerkleTrie} from "../src/fault/MerkleTrie.sol";
import {Accounts} from "../src/fault/Accounts.sol";
import {EvmTypes} from "../src/fault/evm/EvmTypes.sol";
import {StackHash} from "../src/fault/evm/StackHash.sol";
import {WordTree} from "../src/fault/evm/WordTree.sol";
import {EvmCallVerifier} from "../src/fault/evm/EvmCallVerifier.sol";
import {EvmReturnVerifier} from "../src/fault/evm/EvmReturnVerifier.sol";
import {EvmCreateVerifier} from "../src/fault/evm/EvmCreateVerifier.sol";
import {EvmCreationTxVerifier} from "../src/fault/evm/EvmCreationTxVerifier.sol";
import {EvmSelfDestructVerifier} from "../src/fault/evm/EvmSelfDestructVerifier.sol";
import {EvmPrecompileCallVerifier} from "../src/fault/evm/EvmPrecompileCallVerifier.sol";
import {EvmStateVerifier} from "../src/fault/evm/EvmStateVerifier.sol";
import {IEvmStepVerifier} from "../src/fault/evm/IEvmStepVerifier.sol";
import {EvmWitnessTest} from "./evm/EvmWitnessTest.sol";

/// @notice Calls without a frame (docs/evm-steps.md section 4, witness kind 4) on `EvmCallVerifier`
///         called directly, with the real steps the Rust step machine produced from revm
///         (test/fixtures/evm_steps.json): every kind-4 step replays to its post-state and matches a
///         gas model written here from the spec, and a witness with one thing changed (the
///         substate's preimage, the frame, the code, the stack, the block item, a trie proof, the
///         callee, the access-list marker, the depth, the opcode, the kind, the phase) reverts with
///         the precise error, or at least never proves the honest post-state. Skipped while the
///         fixture file does not exist.
contract EvmCallStepsTest is EvmWitnessTest {
    uint8 internal constant CALL_KIND = 4;

    // The call opcodes.
    uint256 internal constant CALL = 0xf1;
    uint256 internal constant CALLCODE = 0xf2;
    uint256 internal constant DELEGATECALL = 0xf4;
    uint256 internal constant STATICCALL = 0xfa;

    // Gas (docs/evm-steps.md section 4, "Calls without a frame").
    uint256 internal constant WARM_ACCESS = 100;
    uint256 internal constant COLD_EXTRA = 2500;
    uint256 internal constant VALUE_COST = 9000;
    uint256 internal constant NEW_ACCOUNT_COST = 25_000;
    uint256 internal constant STIPEND = 2300;
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    // The trie proofs of a `CallWitness`, by position.
    uint256 internal constant WARM_PROOF = 0;
    uint256 internal constant CALLEE_PROOF = 1;
    uint256 internal constant SELF_PROOF = 2;

    EvmCallVerifier internal verifier;

    /// @dev A kind-4 witness's body, decoded.
    struct Body {
        EvmTypes.EvmState evm;
        bytes code;
        uint256[] top;
        bytes32 rest;
        EvmCallVerifier.CallWitness w;
        MachineState.BlockItem blk;
    }

    /// @dev What the spec says a call step does (`model`): whether it halts, its operands, its
    ///      net cost, the memory size, warm accounts and state root after it, and its result.
    struct Model {
        bool halts;
        uint256 value;
        address to;
        bool cold;
        bool newAccount;
        uint256 memCost;
        uint256 cost;
        uint256 memSize;
        bytes32 warmAccounts;
        bool ok;
        bytes32 stateRoot;
    }

    function setUp() public {
        verifier = new EvmCallVerifier(
            new EvmPrecompileCallVerifier(),
            new EvmReturnVerifier(),
            new EvmCreateVerifier(),
            new EvmCreationTxVerifier(42_069),
            new EvmSelfDestructVerifier()
        );
    }

    // ------------------------------------------------------------------------------------------
    // Loading and re-encoding

    /// @dev The kind-4 steps of the fixture file (none when it does not exist).
    function callSteps() internal returns (Step[] memory) {
        return stepsOfKind(CALL_KIND);
    }

    function decode(bytes memory proof) internal pure returns (Body memory b) {
        (, bytes memory body) = abi.decode(proof, (uint8, bytes));
        (b.evm, b.code, b.top, b.rest, b.w, b.blk) = abi.decode(
            body, (EvmTypes.EvmState, bytes, uint256[], bytes32, EvmCallVerifier.CallWitness, MachineState.BlockItem)
        );
    }

    function encode(Body memory b) internal pure returns (bytes memory) {
        return abi.encode(CALL_KIND, abi.encode(b.evm, b.code, b.top, b.rest, b.w, b.blk));
    }

    /// @dev The stack items the call reads: `gas to value inOffset inLen outOffset outLen` for CALL
    ///      and CALLCODE, without `value` for DELEGATECALL and STATICCALL.
    function reads(uint256 op) internal pure returns (uint256) {
        return op == CALL || op == CALLCODE ? 7 : 6;
    }

    /// @dev True when the step opens its stack items (no stack underflow).
    function opensStack(Step memory s, Body memory b) internal pure returns (bool) {
        return b.evm.stackSize >= reads(s.op);
    }

    /// @dev True when the step continues the frame (the honest post is still IN_TX).
    function continues(Step memory s) internal pure returns (bool) {
        return s.postPhase == MachineState.IN_TX;
    }

    /// @dev The frame's substate (docs/evm-steps.md section 2): 0 when the three tries are empty.
    function substateOf(bytes32 warmSlots, bytes32 transientStorage, bytes32 warmAccounts)
        internal
        pure
        returns (bytes32)
    {
        bytes32 empty = MerkleTrie.EMPTY_ROOT;
        if (warmSlots == empty && transientStorage == empty && warmAccounts == empty) return 0;
        return keccak256(abi.encode(warmSlots, transientStorage, warmAccounts));
    }

    // ------------------------------------------------------------------------------------------
    // Proof surgery

    function proofField(EvmCallVerifier.CallWitness memory w, uint256 field) internal pure returns (bytes[] memory) {
        if (field == WARM_PROOF) return w.warmProof;
        if (field == CALLEE_PROOF) return w.calleeProof;
        return w.selfProof;
    }

    function setProofField(EvmCallVerifier.CallWitness memory w, uint256 field, bytes[] memory p) internal pure {
        if (field == WARM_PROOF) w.warmProof = p;
        else if (field == CALLEE_PROOF) w.calleeProof = p;
        else w.selfProof = p;
    }

    /// @dev Asserts that the witness does not prove the honest post-state (it reverts, or proves
    ///      another one); returns 0 when it reverted `UnsupportedStep(2)`, 1 with a MerkleTrie error,
    ///      2 with another error, 3 when it proved another post-state.
    function assertNotHonest(Step memory s, MachineState.State memory pre, bytes memory proof, string memory what)
        internal
        view
        returns (uint256 outcome)
    {
        try verifier.step(pre, proof) returns (bytes32 h) {
            assertTrue(h != s.post, label(s, string.concat(what, " proves the honest post-state")));
            return 3;
        } catch (bytes memory reason) {
            bytes memory unsupported =
                abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
            if (keccak256(reason) == keccak256(unsupported)) return 0;
            return isTrieError(reason) ? 1 : 2;
        }
    }

    // ------------------------------------------------------------------------------------------
    // The model (docs/evm-steps.md section 4, "Calls without a frame")

    /// @dev Adds the memory expansion of `len` bytes at `offset` to `m` (none for `len` 0: its
    ///      offset is not looked at). False when the call halts: an operand past 64 bits, or an
    ///      end past 2^64.
    function grow(Model memory m, uint256 offset, uint256 len) internal pure returns (bool) {
        if (len > type(uint64).max) return false;
        if (len == 0) return true;
        if (offset > type(uint64).max || offset + len > type(uint64).max) return false;
        uint256 oldWords = m.memSize / 32;
        uint256 newWords = (offset + len + 31) / 32;
        if (newWords <= oldWords) return true;
        uint256 extra = 3 * newWords + newWords * newWords / 512 - (3 * oldWords + oldWords * oldWords / 512);
        m.memCost += extra;
        m.cost += extra;
        m.memSize = newWords * 32;
        return true;
    }

    /// @dev Whether `to` is warm before the call: in `warmAccounts`, or warm from the start (the
    ///      machine's caller, the frame's account (the recipient at depth 0), the block's
    ///      beneficiary, the precompiles 0x01..0x11).
    function isWarm(MachineState.State memory pre, Body memory b, address to) internal pure returns (bool) {
        (bool found,) = MerkleTrie.get(b.w.warmAccounts, keccak256(abi.encodePacked(to)), b.w.warmProof);
        return found || to == pre.caller || to == b.evm.self || to == b.blk.beneficiary
            || (uint160(to) != 0 && uint160(to) <= LAST_PRECOMPILE);
    }

    /// @dev What the spec says the call of `b` from `pre` does: its gas is 100, the memory
    ///      expansion of the argument then the output range, 9000 with a value, 2500 for a cold
    ///      callee, 25,000 for a CALL with a value to an empty callee, less the 2300 stipend with a
    ///      value; it halts when the stack is short, on a CALL with a value in a static frame, or
    ///      when the gas left does not cover the cost. With a value, the call fails when the frame's
    ///      balance is below it; a CALL that does not fail moves it.
    function model(MachineState.State memory pre, Body memory b, uint256 op) internal pure returns (Model memory m) {
        EvmTypes.EvmState memory e = b.evm;
        uint256 n = reads(op);
        m.memSize = e.memSize;
        m.warmAccounts = b.w.warmAccounts;
        m.stateRoot = pre.stateRoot;
        if (e.stackSize < n) {
            m.halts = true;
            return m;
        }
        uint256[] memory top = b.top;
        m.value = n == 7 ? top[2] : 0;
        // forge-lint: disable-next-line(unsafe-typecast)
        m.to = address(uint160(top[1]));
        m.cost = WARM_ACCESS;
        m.halts = (op == CALL && e.isStatic && m.value != 0) || !grow(m, top[n - 4], top[n - 3])
            || !grow(m, top[n - 2], top[n - 1]);
        if (m.value != 0) m.cost += VALUE_COST;
        if (m.halts || m.cost > e.gas) {
            m.halts = true;
            return m;
        }
        m.cold = !isWarm(pre, b, m.to);
        if (m.cold) m.cost += COLD_EXTRA;
        if (m.cost > e.gas) {
            m.halts = true;
            return m;
        }
        bytes32 toKey = keccak256(abi.encodePacked(m.to));
        if (m.cold) m.warmAccounts = MerkleTrie.update(b.w.warmAccounts, toKey, hex"01", b.w.warmProof);
        Accounts.Account memory callee = Accounts.read(pre.stateRoot, toKey, b.w.calleeProof);
        m.newAccount = op == CALL && m.value != 0 && Accounts.isEmpty(callee);
        if (m.newAccount) m.cost += NEW_ACCOUNT_COST;
        if (m.cost > e.gas) {
            m.halts = true;
            return m;
        }
        m.ok = true;
        if (m.value == 0) return m;
        m.cost -= STIPEND;
        bytes32 root = pre.stateRoot;
        if (op == CALL) {
            // A credit past 2^256 saturates (the witness's `selfProof` is against that root): the
            // frame's balance is then below the value, and the call fails.
            callee.balance = callee.balance > type(uint256).max - m.value ? type(uint256).max : callee.balance + m.value;
            root = MerkleTrie.update(root, toKey, Accounts.encode(callee), b.w.calleeProof);
        }
        bytes32 selfKey = keccak256(abi.encodePacked(e.self));
        Accounts.Account memory self = Accounts.read(root, selfKey, b.w.selfProof);
        m.ok = self.balance >= m.value;
        if (m.ok && op == CALL) {
            self.balance -= m.value;
            m.stateRoot = MerkleTrie.update(root, selfKey, Accounts.encode(self), b.w.selfProof);
        }
    }

    /// @dev The frame after a call that does not halt, pushing `success`, with `gas` left.
    function frameAfter(Body memory b, Model memory m, uint256 op, uint256 success, uint256 gas)
        internal
        pure
        returns (EvmTypes.EvmState memory e)
    {
        e = abi.decode(abi.encode(b.evm), (EvmTypes.EvmState));
        e.pc += 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        e.stackSize -= uint16(reads(op) - 1);
        e.stack = StackHash.push(b.rest, success);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.gas = uint64(gas);
        // forge-lint: disable-next-line(unsafe-typecast)
        e.memSize = uint32(m.memSize);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.returnDataSize = 0;
        e.substate = substateOf(b.w.warmSlots, b.w.transientStorage, m.warmAccounts);
    }

    /// @dev The post-state's hash of a call that does not halt, pushing `success`, with `gas` left.
    function postAfter(Step memory s, Body memory b, Model memory m, uint256 success, uint256 gas)
        internal
        pure
        returns (bytes32)
    {
        MachineState.State memory post = preOf(s);
        post.stateRoot = m.stateRoot;
        post.evm = EvmTypes.hash(frameAfter(b, m, s.op, success, gas));
        return MachineState.hash(post);
    }

    /// @dev The post-state's hash of an exceptional halt of the depth-0 frame (docs/evm-steps.md
    ///      section 4, "Halting at depth 0").
    function haltPost(Step memory s, Body memory b) internal pure returns (bytes32) {
        MachineState.State memory post = preOf(s);
        post.phase = MachineState.TX_EXECUTED;
        post.evm = bytes32(0);
        post.success = false;
        post.stateRoot = b.evm.txStartRoot;
        post.gasLeft = 0;
        post.refund = 0;
        return MachineState.hash(post);
    }

    /// @dev The result the honest post-state pushes (1 or 0) under the model's gas, or 2 when
    ///      neither matches.
    function pushed(Step memory s, Body memory b, Model memory m) internal pure returns (uint256) {
        uint256 gas = b.evm.gas - m.cost;
        if (postAfter(s, b, m, 1, gas) == s.post) return 1;
        if (postAfter(s, b, m, 0, gas) == s.post) return 0;
        return 2;
    }

    /// @dev The gas left (and result) under which the honest post-state matches the model in every
    ///      other field: a search of the 40,000 gas below the frame's. (type(uint256).max, 2) when
    ///      none does.
    function searchGas(Step memory s, Body memory b, Model memory m)
        internal
        pure
        returns (uint256 gas, uint256 success)
    {
        uint256 low = b.evm.gas > 40_000 ? b.evm.gas - 40_000 : 0;
        for (gas = b.evm.gas + 1; gas > low;) {
            --gas;
            for (success = 0; success < 2; ++success) {
                if (postAfter(s, b, m, success, gas) == s.post) return (gas, success);
            }
        }
        return (type(uint256).max, 2);
    }

    // ------------------------------------------------------------------------------------------
    // Honest steps

    /// @notice Every kind-4 fixture step gives the Rust (revm) post-state on EvmCallVerifier called
    ///         directly, its witness re-encodes to itself, each call opcode is exercised, and the
    ///         steps that halt, fail on the balance (push 0) or move a value are counted.
    function test_replayCallSteps() public {
        Step[] memory steps = callSteps();
        if (steps.length == 0) return;
        uint256[4] memory ops = [CALL, CALLCODE, DELEGATECALL, STATICCALL];
        string[4] memory names = ["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"];
        uint256[4] memory counts;
        uint256[4] memory halts;
        uint256[4] memory fails;
        uint256[4] memory moves;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            assertEq(verifier.step(preOf(s), s.proof), s.post, label(s, "replay"));
            assertEq(keccak256(encode(decode(s.proof))), keccak256(s.proof), label(s, "re-encoding"));
            Body memory b = decode(s.proof);
            MachineState.State memory post = abi.decode(s.postState, (MachineState.State));
            bool known;
            for (uint256 k; k < ops.length; ++k) {
                if (ops[k] != s.op) continue;
                known = true;
                ++counts[k];
                if (!continues(s)) {
                    ++halts[k];
                    continue;
                }
                // A callee with code: the gas model covers calls that run no code.
                if (b.w.calleeCode.length != 0) continue;
                if (post.stateRoot != preOf(s).stateRoot) ++moves[k];
                if (pushed(s, b, model(preOf(s), b, s.op)) == 0) ++fails[k];
            }
            assertTrue(known, label(s, "not a call opcode"));
        }
        for (uint256 k; k < ops.length; ++k) {
            console.log(names[k]);
            console.log("  steps, halting:", counts[k], halts[k]);
            console.log("  failing (push 0), moving a value:", fails[k], moves[k]);
            assertGt(counts[k], 0, names[k]);
        }
        console.log("kind-4 steps replayed on EvmCallVerifier:", steps.length);
    }

    /// @notice The gas model of docs/evm-steps.md section 4, computed here from the witness: every
    ///         kind-4 fixture step halts exactly when the model says so (to the exceptional-halt
    ///         post-state), and every other one gives the post-state of the model's frame (pc + 1,
    ///         the items popped and the result pushed, the model's gas and memory size, empty return
    ///         data, the callee warm) and state root, pushing the model's result.
    function test_gasModel() public {
        Step[] memory steps = callSteps();
        uint256 checked;
        uint256 mismatches;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory b = decode(s.proof);
            // A callee with code (a frame starts, or the call fails before it): the model covers
            // calls that run no code; frame starts are checked by the fixture replay and
            // EvmFrameSteps.
            if (b.w.calleeCode.length != 0) continue;
            MachineState.State memory pre = preOf(s);
            Model memory m = model(pre, b, s.op);
            assertEq(m.halts, !continues(s), label(s, "model halts"));
            if (m.halts) {
                assertEq(haltPost(s, b), s.post, label(s, "exceptional halt"));
                string memory why = !opensStack(s, b)
                    ? "halts: stack underflow"
                    : m.cost > b.evm.gas ? "halts: out of gas" : "halts: a static value or an operand past 64 bits";
                console.log(label(s, why));
                console.log("  gas before, model cost:", b.evm.gas, m.cost);
                continue;
            }
            ++checked;
            uint256 expectedGas = b.evm.gas - m.cost;
            uint256 result = pushed(s, b, m);
            console.log(label(s, "call"));
            console.log("  to, value:", VM_X.toString(m.to), m.value);
            console.log("  gas before, model cost, memory cost:", b.evm.gas, m.cost, m.memCost);
            console.log("  cold, new account, model result:", m.cold ? 1 : 0, m.newAccount ? 1 : 0, m.ok ? 1 : 0);
            if (result == 2) {
                ++mismatches;
                (uint256 gas, uint256 success) = searchGas(s, b, m);
                console.log("  MISMATCH: gas left by the model, by the verifier (2^256-1: none within 40,000):");
                console.log("   ", expectedGas, gas);
                console.log("  result the verifier pushed (2: none found):", success);
                continue;
            }
            assertEq(result, m.ok ? 1 : 0, label(s, "result"));
            assertEq(abi.decode(s.postState, (MachineState.State)).stateRoot, m.stateRoot, label(s, "state root"));
        }
        assertGt(checked, 0);
        assertEq(mismatches, 0, "steps whose gas or frame differ from the model");
        console.log("kind-4 steps checked against the gas model (continuing):", checked);
    }

    // ------------------------------------------------------------------------------------------
    // Wrong witnesses

    /// @notice A substate preimage (warmSlots, transientStorage or warmAccounts) that does not hash
    ///         to the frame's `substate`, or the empty preimage of a non-empty substate (claiming
    ///         nothing is warm), reverts `SubstateMismatch(substate, computed)`.
    function test_substatePreimageChanged() public {
        Step[] memory steps = callSteps();
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
                bytes32 computed = substateOf(b.w.warmSlots, b.w.transientStorage, b.w.warmAccounts);
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
    ///         stack size or hash, static flag, start root, address, memory size, return data size
    ///         or depth changed) reverts `EvmStateMismatch(pre.evm, computed)`.
    function test_evmStateChanged() public {
        Step[] memory steps = callSteps();
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            for (uint256 field; field < 11; ++field) {
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
    }

    /// @notice Code that does not hash to the frame's `codeHash` (the opcode's byte flipped, a byte
    ///         appended, the last byte dropped) reverts `EvmCodeMismatch(codeHash, computed)`.
    function test_codeChanged() public {
        Step[] memory steps = callSteps();
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

    /// @notice A stack opening that does not give the frame's stack (a top item changed: the gas,
    ///         the callee, the last range operand; the rest's hash changed; an item too many or too
    ///         few; for a stack underflow, any item) reverts `StackMismatch()`.
    function test_stackChanged() public {
        Step[] memory steps = callSteps();
        uint256 opened;
        uint256 underflows;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            Body memory honest = decode(s.proof);
            bool open = opensStack(s, honest);
            if (open) ++opened;
            else ++underflows;
            for (uint256 how; how < 6; ++how) {
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
                } else if (how == 2) {
                    b.top[0] ^= 1;
                } else if (how == 3) {
                    b.top[1] ^= 1;
                } else if (how == 4) {
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
        assertGt(underflows, 0);
    }

    /// @notice A call that gets past its memory and value costs (every continuing step) with a block
    ///         item other than the state's (its number, beneficiary or transaction count changed)
    ///         reverts `BlockItemMismatch(blockItem, computed)`: the beneficiary decides the callee's
    ///         warmth.
    function test_blockItemWrong() public {
        Step[] memory steps = callSteps();
        uint256 tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (!continues(s)) continue;
            for (uint256 how; how < 3; ++how) {
                Body memory b = decode(s.proof);
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

    /// @notice The trie proofs of a continuing call (`warmProof`, `calleeProof`, and `selfProof` when
    ///         not empty) with a node removed or a byte flipped (the node's first, middle and last
    ///         byte) revert with a MerkleTrie error and never prove the honest post-state.
    function test_trieProofsTampered() public {
        Step[] memory steps = callSteps();
        uint256[3] memory tried;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (!continues(s)) continue;
            // One external call per step: its memory is dropped after it.
            uint256[3] memory more = this.checkTrieProofsTampered(s);
            for (uint256 field; field < 3; ++field) {
                tried[field] += more[field];
            }
        }
        console.log("proof nodes tampered (warm, callee, self):", tried[0], tried[1], tried[2]);
        assertGt(tried[WARM_PROOF] + tried[CALLEE_PROOF], 0);
        assertGt(tried[SELF_PROOF], 0);
    }

    /// @dev The tampered proofs of `test_trieProofsTampered` for one step; the nodes tampered, by proof.
    function checkTrieProofsTampered(Step memory s) external view returns (uint256[3] memory tried) {
        Body memory honest = decode(s.proof);
        for (uint256 field; field < 3; ++field) {
            bytes[] memory p = proofField(honest.w, field);
            for (uint256 k; k < p.length; ++k) {
                string memory what = string.concat("proof ", VM_X.toString(field), " node ", VM_X.toString(k));
                Body memory b = decode(s.proof);
                setProofField(b.w, field, without(p, k));
                assertTrieRejects(verifier, s, encode(b), string.concat(what, " removed"));
                uint256[3] memory positions = [0, p[k].length / 2, p[k].length - 1];
                for (uint256 at; at < positions.length; ++at) {
                    b = decode(s.proof);
                    setProofField(b.w, field, flipped(p, k, positions[at]));
                    assertTrieRejects(verifier, s, encode(b), string.concat(what, " flipped"));
                }
                ++tried[field];
            }
        }
    }

    /// @notice A CALL whose value moved (its post state root differs from the pre-state's), given
    ///         the callee's proof as the frame's account proof (the wrong account) or the frame's as
    ///         the callee's, never proves the honest post-state (it reverts, or proves another one).
    function test_selfProofOfTheCallee() public {
        Step[] memory steps = callSteps();
        uint256 tried;
        uint256 reverted;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (s.op != CALL || !continues(s)) continue;
            MachineState.State memory post = abi.decode(s.postState, (MachineState.State));
            if (post.stateRoot == preOf(s).stateRoot) continue;
            for (uint256 how; how < 2; ++how) {
                Body memory b = decode(s.proof);
                if (how == 0) b.w.selfProof = b.w.calleeProof;
                else b.w.calleeProof = b.w.selfProof;
                try verifier.step(preOf(s), encode(b)) returns (bytes32 h) {
                    assertTrue(h != s.post, label(s, "the other account's proof proves the honest post-state"));
                } catch {
                    ++reverted;
                }
                ++tried;
            }
        }
        assertGt(tried, 0);
        console.log("value moves with the other account's proof tried, reverted:", tried, reverted);
    }

    /// @notice A continuing call whose callee (stack item 1) is patched to the precompile 0x04, with
    ///         the frame's stack and `pre.evm` recomputed, never proves the honest post-state: a call
    ///         reaching a precompile is a rest-of-transaction step (`UnsupportedStep(2)`), or the
    ///         witness's callee proof does not open the precompile's account.
    function test_calleeIsPrecompile() public {
        Step[] memory steps = callSteps();
        uint256 tried;
        uint256[4] memory outcomes;
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            if (!continues(s)) continue;
            Body memory b = decode(s.proof);
            b.top[1] = 0x04;
            b.evm.stack = StackHash.build(b.top, b.rest);
            ++outcomes[assertNotHonest(s, preFor(s, b.evm), encode(b), "callee 0x04")];
            ++tried;
        }
        assertGt(tried, 0);
        assertGt(outcomes[0], 0);
        console.log("calls patched to the precompile 0x04:", tried);
        console.log("  reverting UnsupportedStep(2), a MerkleTrie error:", outcomes[0], outcomes[1]);
        console.log("  reverting otherwise, proving another post-state:", outcomes[2], outcomes[3]);
    }

    /// @notice A frame with the access-list marker as its substate (with `pre.evm` its hash) reverts
    ///         `UnsupportedStep(2)`: a rest-of-transaction step. (Any depth is valid: section 9.)
    function test_accessListMarker() public {
        Step[] memory steps = callSteps();
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

    /// @notice A kind-4 witness whose opcode is not a call (`code[pc]` patched to ADD, BALANCE, SLOAD,
    ///         CREATE or SELFDESTRUCT, with `codeHash` and `pre.evm` recomputed; or `pc` past the
    ///         code, STOP) reverts `UnsupportedStep(2)`.
    function test_notCallOpcode() public {
        Step[] memory steps = callSteps();
        uint8[5] memory others = [0x01, 0x31, 0x54, 0xf0, 0xff];
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
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
    }

    /// @notice A kind-4 body labelled with another kind (0, 1, 2, 3, 9; kind 5 goes to the precompile verifier, 6 to the return verifier, 8 to the create verifier) and the empty
    ///         rest-of-transaction witness revert `UnsupportedStep(2)`, and a pre-state whose phase
    ///         is not IN_TX (0, 1, 3, 7) reverts `UnsupportedStep(phase)`.
    function test_otherKindsAndPhases() public {
        Step[] memory steps = callSteps();
        bytes memory unsupported = abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);
        uint8[6] memory kinds = [0, 1, 2, 3, 7, 10];
        uint8[4] memory phases =
            [MachineState.BETWEEN_BLOCKS, MachineState.IN_BLOCK, MachineState.TX_EXECUTED, uint8(7)];
        for (uint256 i; i < steps.length; ++i) {
            Step memory s = steps[i];
            (, bytes memory body) = abi.decode(s.proof, (uint8, bytes));
            for (uint256 k; k < kinds.length; ++k) {
                bytes memory proof = abi.encode(kinds[k], body);
                MachineState.State memory pre = preOf(s);
                vm.expectRevert(unsupported);
                verifier.step(pre, proof);
            }
            MachineState.State memory pre0 = preOf(s);
            vm.expectRevert(unsupported);
            verifier.step(pre0, "");
            for (uint256 k; k < phases.length; ++k) {
                MachineState.State memory pre = preOf(s);
                pre.phase = phases[k];
                bytes memory proof = s.proof;
                vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, phases[k]));
                verifier.step(pre, proof);
            }
        }
    }
}
