// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {WordTree} from "../../src/fault/evm/WordTree.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmStepHelpers, WordModel} from "./EvmStepHelpers.sol";

/// @dev The 256 recent block hashes of a block item as a word tree, built here on its own: the
///      256 words hashed level by level into an 8-level subtree (a heap: node i over 2i and
///      2i + 1, word k at 256 + k), whose root is then paired with the zero-subtree roots
///      `WordTree.zero(8..19)` up to depth 20.
library RecentHashesModel {
    uint256 internal constant WORDS = 256;
    uint256 internal constant LEVELS = 8;

    /// @dev Word k: the hash of block m with m % 256 == k and max(0, number - 256) <= m <= number - 1.
    function words(uint256 number) internal pure returns (bytes32[] memory w) {
        w = new bytes32[](WORDS);
        uint256 first = number >= WORDS ? number - WORDS : 0;
        for (uint256 m = first; m < number; ++m) {
            w[m % WORDS] = blockHash(m);
        }
    }

    /// @dev The hash the tests give block `m`.
    function blockHash(uint256 m) internal pure returns (bytes32) {
        return keccak256(abi.encode("L2 block", m));
    }

    function heap(bytes32[] memory w) internal pure returns (bytes32[] memory t) {
        t = new bytes32[](2 * WORDS);
        for (uint256 k; k < WORDS; ++k) {
            t[WORDS + k] = w[k];
        }
        for (uint256 i = WORDS - 1; i >= 1; --i) {
            t[i] = keccak256(abi.encodePacked(t[2 * i], t[2 * i + 1]));
        }
    }

    function root(bytes32[] memory w) internal pure returns (bytes32 node) {
        node = heap(w)[1];
        for (uint256 l = LEVELS; l < WordTree.WORD_DEPTH; ++l) {
            node = keccak256(abi.encodePacked(node, WordTree.zero(l)));
        }
    }

    function proof(bytes32[] memory w, uint256 index) internal pure returns (EvmTypes.WordProof memory p) {
        bytes32[] memory t = heap(w);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.index = uint32(index);
        p.word = w[index];
        for (uint256 l; l < LEVELS; ++l) {
            p.siblings[l] = t[((WORDS + index) >> l) ^ 1];
        }
        for (uint256 l = LEVELS; l < WordTree.WORD_DEPTH; ++l) {
            p.siblings[l] = WordTree.zero(l);
        }
    }
}

/// @notice BLOCKHASH (0x40) as a stage-1 instruction (docs/evm-steps.md section 12), hand-built,
///         through `OneStepVerifier.step`: a block among the 256 before the current one reads word
///         `n % 256` of the block item's `recentHashes` (opened by one word proof), any other block
///         gives 0 with no word proof; static gas 20; the halts before it (no proof consumed); and
///         every way the witness can be wrong.
contract EvmBlockHashStepsTest is EvmStepHelpers {
    uint256 internal constant MAX = type(uint256).max;
    uint256 internal constant FILLER = 0x1111;
    uint256 internal constant GAS = 20;
    /// @dev The helpers' block number.
    uint256 internal constant NUMBER = 1234;

    // ------------------------------------------------------------------------------------------
    // Helpers

    /// @dev The helpers' block item, at block `number`, with its recent hashes.
    function blockAt(uint256 number) internal pure returns (MachineState.BlockItem memory b) {
        b = blockItem();
        // forge-lint: disable-next-line(unsafe-typecast)
        b.number = uint64(number);
        b.recentHashes = RecentHashesModel.root(RecentHashesModel.words(number));
    }

    function proofOf(uint256 number, uint256 n) internal pure returns (EvmTypes.WordProof memory) {
        return RecentHashesModel.proof(RecentHashesModel.words(number), n % 256);
    }

    /// @dev BLOCKHASH at pc 1 of `5b40` over [FILLER, n].
    function blockHashFrame(uint256 n) internal pure returns (Frame memory f) {
        f = frame(hex"5b40", two(n, FILLER));
        f.pc = 1;
    }

    function machineWith(Frame memory f, MachineState.BlockItem memory blk)
        internal
        pure
        returns (MachineState.State memory s)
    {
        s = machine(f);
        s.blockItem = MachineState.itemHash(blk);
    }

    /// @dev The step of `f` under block `blk` with the witness's block item `witnessBlk`.
    function stepAs(
        Frame memory f,
        MachineState.BlockItem memory blk,
        MachineState.BlockItem memory witnessBlk,
        EvmTypes.WordProof[] memory words
    ) internal view returns (bytes32) {
        return verifier.step(abi.encode(machineWith(f, blk)), witnessWith(f, 1, words, witnessBlk));
    }

    function stepIn(Frame memory f, MachineState.BlockItem memory blk, EvmTypes.WordProof[] memory words)
        internal
        view
        returns (bytes32)
    {
        return stepAs(f, blk, blk, words);
    }

    /// @dev The post-state hash of BLOCKHASH over `pre` pushing `result`: n replaced by it, pc + 1, gas - 20.
    function pushedResult(Frame memory pre, MachineState.BlockItem memory blk, uint256 result)
        internal
        pure
        returns (bytes32)
    {
        Frame memory post = copy(pre);
        post.stack = pushed(popped(pre.stack, 1), one(result));
        post.pc = pre.pc + 1;
        post.gas = pre.gas - GAS;
        return continuedAs(pre, post, blk);
    }

    function continuedAs(Frame memory pre, Frame memory post, MachineState.BlockItem memory blk)
        internal
        pure
        returns (bytes32)
    {
        MachineState.State memory s = machineWith(pre, blk);
        s.evm = EvmTypes.hash(state(post));
        return MachineState.hash(s);
    }

    /// @dev The post-state hash of an exceptional halt at depth 0: the transaction has executed,
    ///      failed, with no gas left and the state root back at its start.
    function exceptionAs(Frame memory pre, MachineState.BlockItem memory blk) internal pure returns (bytes32) {
        MachineState.State memory s = machineWith(pre, blk);
        s.phase = MachineState.TX_EXECUTED;
        s.evm = bytes32(0);
        s.refund = 0;
        s.success = false;
        s.stateRoot = START_ROOT;
        s.gasLeft = 0;
        return MachineState.hash(s);
    }

    /// @dev BLOCKHASH of `n` at block `number` reads word n % 256 (one word proof) and pushes `expected`.
    function checkInRange(uint256 number, uint256 n, bytes32 expected) internal view {
        MachineState.BlockItem memory blk = blockAt(number);
        Frame memory pre = blockHashFrame(n);
        EvmTypes.WordProof memory p = proofOf(number, n);
        assertEq(p.word, expected, "the word of block n");
        assertEq(stepIn(pre, blk, proofs1(p)), pushedResult(pre, blk, uint256(expected)));
    }

    /// @dev BLOCKHASH of `n` at block `number` pushes 0 without a word proof, and refuses one.
    function checkOutOfRange(uint256 number, uint256 n) internal {
        MachineState.BlockItem memory blk = blockAt(number);
        Frame memory pre = blockHashFrame(n);
        assertEq(stepIn(pre, blk, noWords()), pushedResult(pre, blk, 0));
        // The word n % 256 is there (block n % 256 + 256 j is in range), but is not to be read.
        EvmTypes.WordProof[] memory extra = proofs1(proofOf(number, n));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, extra);
    }

    // ------------------------------------------------------------------------------------------
    // The model

    /// @notice The test's tree of recent hashes is a word tree: the helpers' plain model and
    ///         `WordTree.root` give the same root, and its proofs verify.
    function test_recentHashesTreeIsAWordTree() public pure {
        bytes32[] memory w = RecentHashesModel.words(NUMBER);
        bytes memory data = abi.encodePacked(w);
        bytes32 r = RecentHashesModel.root(w);
        assertEq(r, WordModel.root(data));
        assertEq(r, WordTree.root(data));
        assertEq(RecentHashesModel.root(new bytes32[](256)), WordTree.EMPTY_ROOT);
        uint256[4] memory indexes = [uint256(0), 1, 209, 255];
        for (uint256 i; i < indexes.length; ++i) {
            EvmTypes.WordProof memory p = RecentHashesModel.proof(w, indexes[i]);
            assertTrue(WordTree.verify(r, p));
            assertEq(keccak256(abi.encode(p)), keccak256(abi.encode(WordModel.proof(data, indexes[i]))));
        }
        // Block 5: blocks 0..4 only, the rest zero.
        w = RecentHashesModel.words(5);
        assertEq(w[0], RecentHashesModel.blockHash(0));
        assertEq(w[4], RecentHashesModel.blockHash(4));
        assertEq(w[5], bytes32(0));
        assertEq(w[255], bytes32(0));
    }

    // ------------------------------------------------------------------------------------------
    // In range: one word proof

    function test_previousBlock() public view {
        checkInRange(NUMBER, NUMBER - 1, RecentHashesModel.blockHash(NUMBER - 1));
    }

    function test_oldestBlock() public view {
        checkInRange(NUMBER, NUMBER - 256, RecentHashesModel.blockHash(NUMBER - 256));
    }

    /// @notice Every one of the 256 blocks before the current one, each from its own word.
    function test_everyBlockInRange() public view {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        bytes32[] memory w = RecentHashesModel.words(NUMBER);
        for (uint256 n = NUMBER - 256; n < NUMBER; ++n) {
            Frame memory pre = blockHashFrame(n);
            EvmTypes.WordProof memory p = RecentHashesModel.proof(w, n % 256);
            assertEq(stepIn(pre, blk, proofs1(p)), pushedResult(pre, blk, uint256(RecentHashesModel.blockHash(n))));
        }
    }

    /// @notice A block number below 256: the genesis block's word (0) and the others up to number - 1.
    function test_earlyBlock() public {
        checkInRange(5, 0, RecentHashesModel.blockHash(0));
        checkInRange(5, 4, RecentHashesModel.blockHash(4));
        checkOutOfRange(5, 5);
        checkOutOfRange(5, 6);
        checkOutOfRange(5, 256); // word 0 is block 0, not block 256
        // Block 256: block 0 is the oldest in range; at block 257 it is out.
        checkInRange(256, 0, RecentHashesModel.blockHash(0));
        checkInRange(257, 1, RecentHashesModel.blockHash(1));
        checkOutOfRange(257, 0);
        // Block 1 reads the genesis block; block 0 (no block before it) reads nothing.
        checkInRange(1, 0, RecentHashesModel.blockHash(0));
        checkOutOfRange(0, 0);
    }

    /// @notice Exactly 20 gas: the instruction runs and leaves none; a full stack is no overflow.
    function test_exactGasAndFullStack() public view {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        pre.gas = GAS;
        bytes32 expected = pushedResult(pre, blk, uint256(RecentHashesModel.blockHash(NUMBER - 1)));
        assertEq(stepIn(pre, blk, proofs1(proofOf(NUMBER, NUMBER - 1))), expected);
        uint256[] memory full = new uint256[](1024);
        full[1023] = NUMBER - 7;
        pre = frame(hex"40", full);
        assertEq(
            stepIn(pre, blk, proofs1(proofOf(NUMBER, NUMBER - 7))),
            pushedResult(pre, blk, uint256(RecentHashesModel.blockHash(NUMBER - 7)))
        );
    }

    // ------------------------------------------------------------------------------------------
    // Out of range: 0, no word proof

    function test_tooOld() public {
        checkOutOfRange(NUMBER, NUMBER - 257);
        checkOutOfRange(NUMBER, 0);
    }

    function test_currentAndFutureBlocks() public {
        checkOutOfRange(NUMBER, NUMBER);
        checkOutOfRange(NUMBER, NUMBER + 1);
        checkOutOfRange(NUMBER, NUMBER + 256);
    }

    /// @notice Numbers past 64 bits are not truncated: 2^64 + (number - 1) is not block number - 1.
    function test_hugeNumbers() public {
        checkOutOfRange(NUMBER, (1 << 64) + NUMBER - 1);
        checkOutOfRange(NUMBER, MAX);
        checkOutOfRange(NUMBER, MAX - 255);
        checkOutOfRange(NUMBER, (1 << 255) + NUMBER - 1);
    }

    // ------------------------------------------------------------------------------------------
    // Halts before the instruction: no word proof

    function test_outOfGas() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        pre.gas = GAS - 1;
        assertEq(stepIn(pre, blk, noWords()), exceptionAs(pre, blk));
        EvmTypes.WordProof[] memory words = proofs1(proofOf(NUMBER, NUMBER - 1));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
    }

    function test_emptyStack() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = frame(hex"40", none());
        assertEq(stepIn(pre, blk, noWords()), exceptionAs(pre, blk));
        EvmTypes.WordProof[] memory words = proofs1(proofOf(NUMBER, 0));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
        // The stack's item given although there is none.
        bytes memory proof =
            abi.encode(uint8(1), abi.encode(state(pre), pre.code, one(NUMBER - 1), bytes32(0), noWords(), blk));
        MachineState.State memory s = machineWith(pre, blk);
        vm.expectRevert(IEvmStepVerifier.StackMismatch.selector);
        verifier.step(abi.encode(s), proof);
    }

    // ------------------------------------------------------------------------------------------
    // Refused witnesses

    function test_wrongWord() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        EvmTypes.WordProof memory p = proofOf(NUMBER, NUMBER - 1);
        p.word ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        stepIn(pre, blk, proofs1(p));
        // A tampered sibling.
        p = proofOf(NUMBER, NUMBER - 1);
        p.siblings[3] ^= bytes32(uint256(1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        stepIn(pre, blk, proofs1(p));
        // Zero, proven against the empty tree.
        p = WordModel.proof("", (NUMBER - 1) % 256);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        stepIn(pre, blk, proofs1(p));
        // The right word of another block's tree (block NUMBER + 1 holds the same word).
        p = proofOf(NUMBER + 1, NUMBER - 1);
        assertEq(p.word, RecentHashesModel.blockHash(NUMBER - 1));
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.WordProofMismatch.selector, 0));
        stepIn(pre, blk, proofs1(p));
    }

    function test_wrongIndex() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        bytes32[] memory w = RecentHashesModel.words(NUMBER);
        // The next word, the previous one.
        EvmTypes.WordProof[] memory words = proofs1(RecentHashesModel.proof(w, NUMBER % 256));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
        words = proofs1(RecentHashesModel.proof(w, (NUMBER - 2) % 256));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
        // Word n % 256 + 256 of the tree (zero, and a valid proof), or word n itself: not n % 256.
        words = proofs1(WordModel.proof(abi.encodePacked(w), (NUMBER - 1) % 256 + 256));
        assertTrue(WordTree.verify(blk.recentHashes, words[0]));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
        words = proofs1(WordModel.proof(abi.encodePacked(w), NUMBER - 1));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, words);
    }

    function test_missingOrExtraProof() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, noWords());
        EvmTypes.WordProof memory p = proofOf(NUMBER, NUMBER - 1);
        EvmTypes.WordProof[] memory twice = proofs2(p, p);
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, twice);
        // An out-of-range number with the word its low byte names.
        pre = blockHashFrame(NUMBER - 257);
        EvmTypes.WordProof[] memory extra = proofs1(proofOf(NUMBER, NUMBER - 257));
        vm.expectRevert(IEvmStepVerifier.UnexpectedWords.selector);
        stepIn(pre, blk, extra);
    }

    /// @notice A block item whose recent hashes (or number) differ from the state's is refused
    ///         before anything is read, even with a proof that opens the tampered root.
    function test_tamperedRecentHashes() public {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        MachineState.BlockItem memory lie = blockAt(NUMBER);
        bytes32[] memory w = RecentHashesModel.words(NUMBER);
        w[(NUMBER - 1) % 256] = keccak256("forged");
        lie.recentHashes = RecentHashesModel.root(w);
        EvmTypes.WordProof[] memory words = proofs1(RecentHashesModel.proof(w, (NUMBER - 1) % 256));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, MachineState.itemHash(blk), MachineState.itemHash(lie)
            )
        );
        stepAs(pre, blk, lie, words);
        // Zero recent hashes (the item of the helpers' other tests, at the same number).
        lie = blockItem();
        vm.expectRevert(
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, MachineState.itemHash(blk), MachineState.itemHash(lie)
            )
        );
        stepAs(pre, blk, lie, noWords());
        // Another number with the same recent hashes: block NUMBER + 300 would make n too old.
        lie = blockAt(NUMBER);
        // forge-lint: disable-next-line(unsafe-typecast)
        lie.number = uint64(NUMBER + 300);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, MachineState.itemHash(blk), MachineState.itemHash(lie)
            )
        );
        stepAs(pre, blk, lie, noWords());
    }

    /// @notice The proven post-state is the computed one only: a claim with another result, gas,
    ///         pc or stack has another hash.
    function test_otherClaimsDiffer() public view {
        MachineState.BlockItem memory blk = blockAt(NUMBER);
        Frame memory pre = blockHashFrame(NUMBER - 1);
        uint256 result = uint256(RecentHashesModel.blockHash(NUMBER - 1));
        bytes32 post = stepIn(pre, blk, proofs1(proofOf(NUMBER, NUMBER - 1)));
        assertEq(post, pushedResult(pre, blk, result));
        assertTrue(post != pushedResult(pre, blk, 0));
        assertTrue(post != pushedResult(pre, blk, uint256(RecentHashesModel.blockHash(NUMBER - 2))));
        assertTrue(post != pushedResult(pre, blk, result ^ 1));
        Frame memory claim = copy(pre);
        claim.stack = pushed(popped(pre.stack, 1), one(result));
        claim.pc = pre.pc + 1;
        claim.gas = pre.gas - 2; // priced as the other block context instructions
        assertTrue(post != continuedAs(pre, claim, blk));
        claim.gas = pre.gas - GAS;
        assertEq(post, continuedAs(pre, claim, blk));
        claim.pc = pre.pc;
        assertTrue(post != continuedAs(pre, claim, blk));
        claim.pc = pre.pc + 1;
        claim.stack = pushed(pre.stack, one(result));
        assertTrue(post != continuedAs(pre, claim, blk));
        assertTrue(post != exceptionAs(pre, blk));
        // The out-of-range result: 0, not the word its low byte names.
        pre = blockHashFrame(NUMBER - 257);
        post = stepIn(pre, blk, noWords());
        assertEq(post, pushedResult(pre, blk, 0));
        assertTrue(post != pushedResult(pre, blk, uint256(RecentHashesModel.blockHash(NUMBER - 1))));
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz

    /// @notice Any block number and n (near the block or anywhere): the hash of block n when it
    ///         is one of the 256 before, with its word proof; 0 otherwise, without one.
    function testFuzz_blockHash(uint64 number, uint256 n, bool near) public view {
        if (near) {
            // number - 300 .. number + 43, wrapping past 0 into huge numbers.
            unchecked {
                n = uint256(number) - 300 + (n % 344);
            }
        }
        MachineState.BlockItem memory blk = blockAt(number);
        Frame memory pre = blockHashFrame(n);
        bool inRange = n < number && number - n <= 256;
        uint256 expected = inRange ? uint256(RecentHashesModel.blockHash(n)) : 0;
        EvmTypes.WordProof[] memory words = inRange ? proofs1(proofOf(number, n)) : noWords();
        assertEq(stepIn(pre, blk, words), pushedResult(pre, blk, expected));
    }
}
