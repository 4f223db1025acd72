// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VerifierTree} from "../../script/VerifierTree.sol";
import {Test} from "forge-std/Test.sol";
import {OneStepVerifier} from "../../src/fault/OneStepVerifier.sol";
import {MachineState} from "../../src/fault/MachineState.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {EvmStepVerifier} from "../../src/fault/evm/EvmStepVerifier.sol";

/// @dev A plain model of word trees: the whole array in memory, nodes computed recursively.
library WordModel {
    function words(bytes memory data) internal pure returns (bytes32[] memory out) {
        out = new bytes32[]((data.length + 31) / 32);
        bytes memory padded = bytes.concat(data, new bytes(out.length * 32 - data.length));
        for (uint256 i; i < out.length; ++i) {
            bytes32 w;
            assembly {
                w := mload(add(add(padded, 32), mul(i, 32)))
            }
            out[i] = w;
        }
    }

    function node(bytes32[] memory ws, uint256 level, uint256 index) internal pure returns (bytes32) {
        if ((index << level) >= ws.length) return WordTree.zero(level);
        if (level == 0) return ws[index];
        return keccak256(abi.encodePacked(node(ws, level - 1, 2 * index), node(ws, level - 1, 2 * index + 1)));
    }

    function root(bytes memory data) internal pure returns (bytes32) {
        return node(words(data), 20, 0);
    }

    function proof(bytes memory data, uint256 index) internal pure returns (EvmTypes.WordProof memory p) {
        bytes32[] memory ws = words(data);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.index = uint32(index);
        p.word = index < ws.length ? ws[index] : bytes32(0);
        for (uint256 l; l < 20; ++l) {
            p.siblings[l] = node(ws, l, (index >> l) ^ 1);
        }
    }
}

/// @dev Range proofs of the plain model (docs/evm-steps.md section 3): the words `first..last`
///      and, level by level from the words up, the left then the right neighbour of the range.
library RangeModel {
    function range(bytes memory data, uint256 first, uint256 last) internal pure returns (EvmTypes.WordRange memory r) {
        bytes32[] memory ws = WordModel.words(data);
        // forge-lint: disable-next-line(unsafe-typecast)
        r.first = uint32(first);
        r.words = new bytes32[](last - first + 1);
        for (uint256 i = first; i <= last; ++i) {
            r.words[i - first] = i < ws.length ? ws[i] : bytes32(0);
        }
        bytes32[] memory siblings = new bytes32[](40);
        uint256 n;
        (uint256 lo, uint256 hi) = (first, last);
        for (uint256 l; l < 20; ++l) {
            if (lo & 1 == 1) siblings[n++] = WordModel.node(ws, l, lo - 1);
            if (hi & 1 == 0) siblings[n++] = WordModel.node(ws, l, hi + 1);
            lo >>= 1;
            hi >>= 1;
        }
        r.siblings = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            r.siblings[i] = siblings[i];
        }
    }
}

/// @dev Builds frames, witnesses and expected post-states of EVM instruction steps.
abstract contract EvmStepHelpers is Test {
    uint64 internal constant CHAIN_ID = 42_069;
    address internal constant SELF = address(0xC0DE);
    address internal constant CALLER = address(0xCA11E7);
    address internal constant BENEFICIARY = address(0xFEE);
    bytes32 internal constant TX_HASH = keccak256("tx");
    bytes32 internal constant START_ROOT = keccak256("start root");
    bytes32 internal constant ROOT_AFTER_VALUE = keccak256("root after value");

    OneStepVerifier internal verifier;
    EvmStepVerifier internal evm;

    /// @dev One frame, in a readable form.
    struct Frame {
        bytes code;
        uint256[] stack; // bottom first
        bytes mem; // memSize bytes
        bytes data; // call data
        uint256 pc;
        uint256 gas;
        uint256 value;
        uint256 returnDataSize;
    }

    function setUp() public virtual {
        evm = VerifierTree.evmStepVerifier(CHAIN_ID);
        verifier = new OneStepVerifier(CHAIN_ID, evm);
    }

    function blockItem() internal pure returns (MachineState.BlockItem memory b) {
        b.number = 1234;
        b.timestamp = 1_700_000_000;
        b.gasLimit = 30_000_000;
        b.baseFee = 7;
        b.beneficiary = BENEFICIARY;
        b.prevrandao = keccak256("randao");
        b.l1OriginNumber = 99;
        b.l1OriginHash = keccak256("l1");
        b.txCount = 3;
    }

    function frame(bytes memory code, uint256[] memory stack) internal pure returns (Frame memory f) {
        f.code = code;
        f.stack = stack;
        f.gas = 100_000;
    }

    function copy(Frame memory f) internal pure returns (Frame memory g) {
        g = abi.decode(abi.encode(f), (Frame));
    }

    function stackHash(uint256[] memory stack, uint256 count) internal pure returns (bytes32 h) {
        for (uint256 i; i < count; ++i) {
            h = keccak256(abi.encodePacked(stack[i], h));
        }
    }

    /// @dev The top `reads` items of `f`'s stack (none when it holds fewer) and the rest's hash.
    function opening(Frame memory f, uint256 reads) internal pure returns (uint256[] memory top, bytes32 rest) {
        uint256 n = f.stack.length;
        top = new uint256[](n >= reads ? reads : 0);
        for (uint256 i; i < top.length; ++i) {
            top[i] = f.stack[n - 1 - i];
        }
        rest = stackHash(f.stack, n - top.length);
    }

    function state(Frame memory f) internal pure returns (EvmTypes.EvmState memory e) {
        e.txHash = TX_HASH;
        e.txStartRoot = START_ROOT;
        e.self = SELF;
        e.caller = CALLER;
        e.value = f.value;
        e.codeHash = keccak256(f.code);
        e.calldataRoot = WordModel.root(f.data);
        e.calldataSize = uint32(f.data.length);
        e.returnDataRoot = WordTree.EMPTY_ROOT;
        e.returnDataSize = uint32(f.returnDataSize);
        e.pc = uint32(f.pc);
        e.gas = uint64(f.gas);
        e.stackSize = uint16(f.stack.length);
        e.stack = stackHash(f.stack, f.stack.length);
        e.memSize = uint32(f.mem.length);
        e.memRoot = WordModel.root(f.mem);
    }

    function machine(Frame memory f) internal pure returns (MachineState.State memory s) {
        s.phase = MachineState.IN_TX;
        s.stateRoot = ROOT_AFTER_VALUE;
        s.inputs = keccak256("inputs");
        s.blockItem = MachineState.itemHash(blockItem());
        s.blockGasUsed = 21_000;
        s.txsLeft = 2;
        s.caller = CALLER;
        s.txGasLimit = 200_000;
        s.effectiveGasPrice = 9;
        s.priorityFee = 2;
        s.gasLeft = 150_000;
        s.floorGas = 21_000;
        s.evm = EvmTypes.hash(state(f));
    }

    /// @dev The instruction witness for `f` opening the top `reads` items.
    function witness(Frame memory f, uint256 reads, EvmTypes.WordProof[] memory words)
        internal
        pure
        returns (bytes memory)
    {
        return witnessWith(f, reads, words, blockItem());
    }

    function witnessWith(
        Frame memory f,
        uint256 reads,
        EvmTypes.WordProof[] memory words,
        MachineState.BlockItem memory blk
    ) internal pure returns (bytes memory) {
        uint256 n = f.stack.length;
        uint256[] memory top;
        bytes32 rest;
        if (n >= reads) {
            top = new uint256[](reads);
            for (uint256 i; i < reads; ++i) {
                top[i] = f.stack[n - 1 - i];
            }
            rest = stackHash(f.stack, n - reads);
        } else {
            top = new uint256[](0);
            rest = stackHash(f.stack, n);
        }
        return abi.encode(uint8(1), abi.encode(state(f), f.code, top, rest, words, blk));
    }

    /// @dev The stage-2 witness (kind 2) for `f` opening the top `reads` items.
    function rangeWitness(Frame memory f, uint256 reads, EvmTypes.WordRange[] memory ranges)
        internal
        pure
        returns (bytes memory)
    {
        uint256 n = f.stack.length;
        uint256[] memory top = new uint256[](n >= reads ? reads : 0);
        for (uint256 i; i < top.length; ++i) {
            top[i] = f.stack[n - 1 - i];
        }
        bytes32 rest = stackHash(f.stack, n - top.length);
        return abi.encode(uint8(2), abi.encode(state(f), f.code, top, rest, ranges));
    }

    function noWords() internal pure returns (EvmTypes.WordProof[] memory) {
        return new EvmTypes.WordProof[](0);
    }

    function step(Frame memory f, bytes memory proof) internal view returns (bytes32) {
        return verifier.step(abi.encode(machine(f)), proof);
    }

    /// @dev The post-state hash when the frame goes on as `post`.
    function continued(Frame memory pre, Frame memory post) internal pure returns (bytes32) {
        MachineState.State memory s = machine(pre);
        s.evm = EvmTypes.hash(state(post));
        return MachineState.hash(s);
    }

    /// @dev The post-state hash when the frame ends: `kind` 1 STOP/RETURN, 2 REVERT, 3 exceptional.
    function halted(Frame memory pre, uint256 kind, uint256 cost) internal pure returns (bytes32) {
        MachineState.State memory s = machine(pre);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.refund = 0;
        s.success = kind == 1;
        if (kind != 1) s.stateRoot = START_ROOT;
        // forge-lint: disable-next-line(unsafe-typecast)
        s.gasLeft = kind == 3 ? 0 : uint64(pre.gas - cost);
        return MachineState.hash(s);
    }

    /// @dev `s` with its frame ended into the returning state (`FrameEnd`) under `parent`: the
    ///      frame's `substate` kept on success (outcome 1) only; the post-state's hash.
    function frameEnded(
        MachineState.State memory s,
        bytes32 parent,
        bytes32 substate,
        uint8 outcome,
        uint256 gasLeft,
        bytes32 memRoot,
        uint256 outOffset,
        uint256 outSize
    ) internal pure returns (bytes32) {
        EvmTypes.FrameEnd memory end;
        end.parent = parent;
        end.outcome = outcome;
        // forge-lint: disable-next-line(unsafe-typecast)
        end.gasLeft = uint64(gasLeft);
        end.substate = outcome == 1 ? substate : bytes32(0);
        end.memRoot = memRoot;
        // forge-lint: disable-next-line(unsafe-typecast)
        end.outOffset = uint32(outOffset);
        // forge-lint: disable-next-line(unsafe-typecast)
        end.outSize = uint32(outSize);
        s.evm = keccak256(abi.encode(end));
        return MachineState.hash(s);
    }

    function copyState(MachineState.State memory s) internal pure returns (MachineState.State memory) {
        return abi.decode(abi.encode(s), (MachineState.State));
    }

    /// @dev The EIP-1559 transaction (type 2) of the nine unsigned `fields` (RLP items), signed
    ///      with `key`.
    function signedTx(uint256 key, bytes[] memory fields) internal returns (bytes memory) {
        return signedTyped(0x02, key, fields);
    }

    /// @dev The typed (EIP-2718) transaction of type `txType` and unsigned `fields` (RLP items),
    ///      signed with `key`: the fields, then yParity, r and s.
    function signedTyped(bytes1 txType, uint256 key, bytes[] memory fields) internal returns (bytes memory) {
        bytes32 digest = keccak256(bytes.concat(txType, RLPWriter.writeList(fields)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        uint256 n = fields.length;
        bytes[] memory all = new bytes[](n + 3);
        for (uint256 i; i < n; ++i) {
            all[i] = fields[i];
        }
        all[n] = RLPWriter.writeUint(v - 27);
        all[n + 1] = RLPWriter.writeUint(uint256(r));
        all[n + 2] = RLPWriter.writeUint(uint256(s));
        return bytes.concat(txType, RLPWriter.writeList(all));
    }

    /// @dev The `IN_TX` state at the entry marker of `rawTx` sent by `sender` over `stateRoot`:
    ///      the block's last transaction, 21,000 gas used before it, gas price 9 (tip 2).
    function entryPre(address sender, bytes32 stateRoot, bytes memory rawTx, uint64 gasLimit, uint64 gasLeft)
        internal
        pure
        returns (MachineState.State memory pre)
    {
        pre.phase = MachineState.IN_TX;
        pre.stateRoot = stateRoot;
        pre.inputs = keccak256("inputs");
        pre.blockItem = MachineState.itemHash(blockItem());
        pre.blockGasUsed = 21_000;
        pre.txsLeft = 1;
        pre.caller = sender;
        pre.txGasLimit = gasLimit;
        pre.effectiveGasPrice = 9;
        pre.priorityFee = 2;
        pre.gasLeft = gasLeft;
        pre.floorGas = 21_000;
        pre.evm = EvmTypes.entryMarker(keccak256(rawTx));
    }

    // ------------------------------------------------------------------------------------------
    // Small builders

    function one(uint256 a) internal pure returns (uint256[] memory s) {
        s = new uint256[](1);
        s[0] = a;
    }

    /// @dev A stack whose top is `a`, then `b` (bottom first: b, a).
    function two(uint256 a, uint256 b) internal pure returns (uint256[] memory s) {
        s = new uint256[](2);
        s[0] = b;
        s[1] = a;
    }

    function three(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory s) {
        s = new uint256[](3);
        s[0] = c;
        s[1] = b;
        s[2] = a;
    }

    function none() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    /// @dev `below` with `items` pushed (the last one on top).
    function pushed(uint256[] memory below, uint256[] memory items) internal pure returns (uint256[] memory s) {
        s = new uint256[](below.length + items.length);
        for (uint256 i; i < below.length; ++i) {
            s[i] = below[i];
        }
        for (uint256 i; i < items.length; ++i) {
            s[below.length + i] = items[i];
        }
    }

    /// @dev `s` without its top `n` items.
    function popped(uint256[] memory s, uint256 n) internal pure returns (uint256[] memory out) {
        out = new uint256[](s.length - n);
        for (uint256 i; i < out.length; ++i) {
            out[i] = s[i];
        }
    }

    function op(uint8 code) internal pure returns (bytes memory) {
        return abi.encodePacked(code);
    }

    function proofs1(EvmTypes.WordProof memory a) internal pure returns (EvmTypes.WordProof[] memory w) {
        w = new EvmTypes.WordProof[](1);
        w[0] = a;
    }

    function proofs2(EvmTypes.WordProof memory a, EvmTypes.WordProof memory b)
        internal
        pure
        returns (EvmTypes.WordProof[] memory w)
    {
        w = new EvmTypes.WordProof[](2);
        w[0] = a;
        w[1] = b;
    }

    function ranges1(EvmTypes.WordRange memory a) internal pure returns (EvmTypes.WordRange[] memory r) {
        r = new EvmTypes.WordRange[](1);
        r[0] = a;
    }

    function ranges2(EvmTypes.WordRange memory a, EvmTypes.WordRange memory b)
        internal
        pure
        returns (EvmTypes.WordRange[] memory r)
    {
        r = new EvmTypes.WordRange[](2);
        r[0] = a;
        r[1] = b;
    }

    function noRanges() internal pure returns (EvmTypes.WordRange[] memory) {
        return new EvmTypes.WordRange[](0);
    }

    /// @dev `len` pseudo-random bytes from `seed`.
    function pattern(uint256 len, uint256 seed) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = bytes1(uint8(uint256(keccak256(abi.encode(seed, i)))));
        }
    }

    /// @dev `mem` grown (zero-filled) to at least `size` bytes.
    function grown(bytes memory mem, uint256 size) internal pure returns (bytes memory) {
        if (size <= mem.length) return bytes.concat(mem);
        return bytes.concat(mem, new bytes(size - mem.length));
    }

    function memoryCost(uint256 words) internal pure returns (uint256) {
        return 3 * words + words * words / 512;
    }
}
