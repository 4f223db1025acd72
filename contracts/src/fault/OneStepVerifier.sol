// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStepVerifier} from "./IStepVerifier.sol";
import {MachineState} from "./MachineState.sol";
import {Accounts} from "./Accounts.sol";
import {MerkleTrie} from "./MerkleTrie.sol";
import {TxDecoder} from "./TxDecoder.sol";
import {IEvmStepVerifier} from "./evm/IEvmStepVerifier.sol";
import {AccessList} from "./evm/AccessList.sol";

/// @title OneStepVerifier
/// @notice The one-step verifier of the fault-proof machine (docs/fault-proof.md sections 4 and 5):
///         finished (identity), block start, block end, transaction start (decoding, validity
///         checks, fee prepayment and, for a transaction that runs no EVM code, the value
///         transfer) and transaction end (refund and fees). A pre-state in phase `IN_TX` goes to
///         the EVM step verifier `EVM` (docs/evm-steps.md: the entry and the stage-1 instruction
///         steps; `UnsupportedStep(2)` for the rest). Mirrored off chain by `core/src/fault/step.rs`
///         and `core/src/fault/evm.rs`.
/// @dev A transaction the reference executor would skip is a valid step that consumes the item
///      and changes nothing else; only a witness that does not prove the step reverts.
contract OneStepVerifier is IStepVerifier {
    /// @notice keccak256 of empty code.
    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    /// @notice Highest precompile address on Prague (0x01..0x11).
    uint256 internal constant LAST_PRECOMPILE = 0x11;

    /// @notice The L2 chain id transactions must carry.
    uint64 public immutable CHAIN_ID;
    /// @notice The verifier of the `IN_TX` steps (docs/evm-steps.md).
    IEvmStepVerifier public immutable EVM;

    /// @notice No step is provable from a state of this phase (an unknown phase; `IN_TX`: a step the EVM
    ///         verifier does not prove yet, which it reverts with the same error).
    error UnsupportedStep(uint8 phase);
    /// @notice The step takes no witness and a non-empty one was given.
    error UnexpectedProof();
    /// @notice The consumed item and tail do not hash to the state's `inputs`.
    error InputsMismatch(bytes32 inputs, bytes32 computed);
    /// @notice The block item given does not hash to the state's `blockItem`.
    error BlockItemMismatch(bytes32 blockItem, bytes32 computed);
    /// @notice The sender's code given does not hash to its code hash.
    error SenderCodeMismatch(bytes32 codeHash, bytes32 computed);
    /// @notice The account trie holds a value under `key` that is not an account.
    error MalformedAccount(bytes32 key);
    /// @notice A `TX_EXECUTED` pre-state no trace reaches: gas left or floor above the gas limit, or
    ///         prices the transaction start step would not have produced.
    error InvalidPreState();

    /// @dev The transaction start witness.
    struct TxStartWitness {
        MachineState.BlockItem blk;
        bytes rawTx;
        bytes32 tail;
        bytes[] senderProof;
        bytes[] recipientProof;
        bytes senderCode;
    }

    /// @dev Working values of a transaction start.
    struct TxRun {
        bytes32 senderKey;
        Accounts.Account sender;
        uint256 price;
        uint256 prepaid;
        bool evm;
    }

    constructor(uint64 chainId, IEvmStepVerifier evm) {
        CHAIN_ID = chainId;
        EVM = evm;
    }

    /// @inheritdoc IStepVerifier
    function step(bytes calldata preState, bytes calldata proof) external view returns (bytes32 postStateHash) {
        MachineState.State memory s = abi.decode(preState, (MachineState.State));
        if (s.phase == MachineState.BETWEEN_BLOCKS) {
            if (s.inputs == bytes32(0)) {
                _noProof(proof);
                return MachineState.hash(s);
            }
            return MachineState.hash(_blockStart(s, proof));
        }
        if (s.phase == MachineState.IN_BLOCK) {
            if (s.txsLeft == 0) {
                _noProof(proof);
                return MachineState.hash(_between(s.stateRoot, s.inputs));
            }
            return MachineState.hash(_txStart(s, proof, CHAIN_ID));
        }
        if (s.phase == MachineState.TX_EXECUTED) return MachineState.hash(_txEnd(s, proof));
        if (s.phase == MachineState.IN_TX) return EVM.step(s, proof);
        revert UnsupportedStep(s.phase);
    }

    // ------------------------------------------------------------------------------------------
    // Blocks

    /// @dev Consumes a block item: `proof = abi.encode(BlockItem item, bytes32 tail)`.
    function _blockStart(MachineState.State memory s, bytes calldata proof)
        private
        pure
        returns (MachineState.State memory post)
    {
        (MachineState.BlockItem memory item, bytes32 tail) = abi.decode(proof, (MachineState.BlockItem, bytes32));
        bytes32 itemHash = MachineState.itemHash(item);
        _consume(s.inputs, itemHash, tail);
        post = _inBlock(s.stateRoot, tail, itemHash, 0, item.txCount);
    }

    // ------------------------------------------------------------------------------------------
    // Transaction start

    /// @dev `proof = abi.encode(BlockItem block, bytes rawTx, bytes32 tail, bytes[] senderProof,
    ///      bytes[] recipientProof, bytes senderCode)`; empty when the inputs are exhausted.
    function _txStart(MachineState.State memory s, bytes calldata proof, uint64 chainId)
        private
        pure
        returns (MachineState.State memory post)
    {
        if (s.inputs == bytes32(0)) {
            // The inputs ran out before the block's transactions did: the block ends.
            _noProof(proof);
            return _inBlock(s.stateRoot, 0, s.blockItem, s.blockGasUsed, 0);
        }
        TxStartWitness memory w;
        (w.blk, w.rawTx, w.tail, w.senderProof, w.recipientProof, w.senderCode) =
            abi.decode(proof, (MachineState.BlockItem, bytes, bytes32, bytes[], bytes[], bytes));
        _consume(s.inputs, keccak256(w.rawTx), w.tail);
        _checkBlock(s, w.blk);
        // Skipped unless proven otherwise: the item is consumed, nothing else changes.
        post = _inBlock(s.stateRoot, w.tail, s.blockItem, s.blockGasUsed, s.txsLeft - 1);

        (bool ok, TxDecoder.Tx memory t) = TxDecoder.decode(w.rawTx, chainId);
        if (!ok) return post;
        // Not part of the chain (core/src/tx.rs `check_provable`): a call straight to a precompile
        // the EVM steps do not price (any, for EIP-7702), an access list longer than an entry warms.
        if (!t.isCreate && _isPrecompile(t.to) && (t.txType == TxDecoder.EIP7702 || !_isPriced(t.to))) return post;
        if (t.accessListAddresses + t.accessListKeys > AccessList.MAX_ACCESS_LIST_WARMINGS) return post;
        // Block-dependent checks (BlockOutcome::precheck and revm's validate_tx_env).
        if (uint256(s.blockGasUsed) + t.gasLimit > w.blk.gasLimit) return post;
        if (t.maxFee < w.blk.baseFee) return post;
        if (t.nonce == type(uint64).max) return post;
        if (t.isCreate && t.dataLength > TxDecoder.MAX_INITCODE_SIZE) return post;

        // The sender (revm's validate_against_state_and_deduct_caller).
        TxRun memory run;
        run.senderKey = keccak256(abi.encodePacked(t.sender));
        run.sender = Accounts.read(s.stateRoot, run.senderKey, w.senderProof);
        if (run.sender.codeHash != EMPTY_CODE_HASH) {
            bytes32 codeHash = keccak256(w.senderCode);
            if (codeHash != run.sender.codeHash) revert SenderCodeMismatch(run.sender.codeHash, codeHash);
            if (!_isDelegation(w.senderCode)) return post;
        }
        if (run.sender.nonce != t.nonce) return post;
        uint256 maxCost = uint256(t.gasLimit) * t.maxFee;
        if (maxCost > type(uint128).max || t.value > type(uint256).max - maxCost) return post;
        if (run.sender.balance < maxCost + t.value) return post;

        // Valid: the sender prepays the gas at the effective price and its nonce moves.
        run.price = t.maxFee;
        if (t.txType == TxDecoder.EIP1559 || t.txType == TxDecoder.EIP7702) {
            uint256 capped = uint256(w.blk.baseFee) + t.maxPriorityFee;
            if (capped < run.price) run.price = capped;
        }
        run.prepaid = uint256(t.gasLimit) * run.price;
        run.sender.nonce += 1;
        run.sender.balance -= run.prepaid;
        run.evm = t.isCreate || t.txType == TxDecoder.EIP7702 || _isPrecompile(t.to);

        bytes32 root;
        if (run.evm) {
            root = MerkleTrie.update(s.stateRoot, run.senderKey, Accounts.encode(run.sender), w.senderProof);
        } else {
            (root, run.evm) = _transfer(s.stateRoot, t, run, w);
        }

        post.phase = run.evm ? MachineState.IN_TX : MachineState.TX_EXECUTED;
        post.stateRoot = root;
        post.caller = t.sender;
        post.txGasLimit = t.gasLimit;
        post.effectiveGasPrice = run.price;
        post.priorityFee = run.price - w.blk.baseFee;
        post.gasLeft = uint64(t.gasLimit - t.intrinsicGas);
        post.floorGas = uint64(t.floorGas);
        post.success = !run.evm;
        post.evm = run.evm ? keccak256(abi.encodePacked(t.hash)) : bytes32(0);
    }

    /// @dev A call to an address that is not a precompile: the sender also pays the value, then the
    ///      recipient (proven against the root the sender's update left) receives it. A recipient
    ///      with code turns the step into EVM execution: the sender's update is then redone without
    ///      the value, from the same sender proof. Returns the root and whether the EVM runs.
    function _transfer(bytes32 root, TxDecoder.Tx memory t, TxRun memory run, TxStartWitness memory w)
        private
        pure
        returns (bytes32 newRoot, bool evm)
    {
        Accounts.Account memory sender = run.sender;
        sender.balance -= t.value;
        bytes32 afterSender = MerkleTrie.update(root, run.senderKey, Accounts.encode(sender), w.senderProof);
        bytes32 recipientKey = keccak256(abi.encodePacked(t.to));
        Accounts.Account memory recipient = Accounts.read(afterSender, recipientKey, w.recipientProof);
        if (recipient.codeHash != EMPTY_CODE_HASH) {
            sender.balance += t.value;
            return (MerkleTrie.update(root, run.senderKey, Accounts.encode(sender), w.senderProof), true);
        }
        return (_credit(afterSender, recipientKey, recipient, t.value, w.recipientProof), false);
    }

    // ------------------------------------------------------------------------------------------
    // Transaction end

    /// @dev `proof = abi.encode(BlockItem block, bytes[] callerProof, bytes[] beneficiaryProof)`.
    function _txEnd(MachineState.State memory s, bytes calldata proof)
        private
        pure
        returns (MachineState.State memory post)
    {
        (MachineState.BlockItem memory blk, bytes[] memory callerProof, bytes[] memory beneficiaryProof) =
            abi.decode(proof, (MachineState.BlockItem, bytes[], bytes[]));
        _checkBlock(s, blk);
        // The start step left gasLeft and floorGas <= txGasLimit, priorityFee <= effectiveGasPrice and
        // txGasLimit * effectiveGasPrice <= 2^128; refuse any other state rather than overflow.
        if (
            s.gasLeft > s.txGasLimit || s.floorGas > s.txGasLimit || s.effectiveGasPrice > type(uint128).max
                || s.priorityFee > s.effectiveGasPrice
        ) revert InvalidPreState();
        uint256 used = _gasUsed(s);
        bytes32 root = _pay(s.stateRoot, s.caller, (s.txGasLimit - used) * s.effectiveGasPrice, callerProof);
        root = _pay(root, blk.beneficiary, used * s.priorityFee, beneficiaryProof);
        // The block gas limit (a uint64) bounds blockGasUsed + used: the start step checked the gas limit.
        // forge-lint: disable-next-line(unsafe-typecast)
        post = _inBlock(root, s.inputs, s.blockItem, uint64(s.blockGasUsed + used), s.txsLeft);
    }

    /// @dev Gas the transaction is charged: `max(spent - min(refund, spent / 5), floorGas)`.
    function _gasUsed(MachineState.State memory s) private pure returns (uint256 used) {
        uint256 spent = uint256(s.txGasLimit) - s.gasLeft;
        uint256 refund = s.refund;
        if (refund > spent / 5) refund = spent / 5;
        used = spent - refund;
        if (used < s.floorGas) used = s.floorGas;
    }

    /// @dev Credits `amount` to `account`, proven by `proof` against `root`.
    function _pay(bytes32 root, address account, uint256 amount, bytes[] memory proof) private pure returns (bytes32) {
        bytes32 key = keccak256(abi.encodePacked(account));
        return _credit(root, key, Accounts.read(root, key, proof), amount, proof);
    }

    // ------------------------------------------------------------------------------------------
    // Accounts

    /// @dev Adds `amount` to the balance of the touched account `a` (read under `key`): an account
    ///      left empty is deleted (EIP-161; revm touches it even for a zero amount), an absent one
    ///      that stays empty stays absent, and a zero amount changes nothing else.
    function _credit(bytes32 root, bytes32 key, Accounts.Account memory a, uint256 amount, bytes[] memory proof)
        private
        pure
        returns (bytes32)
    {
        a.balance += amount;
        if (a.nonce == 0 && a.balance == 0 && a.codeHash == EMPTY_CODE_HASH) {
            return a.exists ? MerkleTrie.update(root, key, "", proof) : root;
        }
        if (amount == 0 && a.exists) return root;
        return MerkleTrie.update(root, key, Accounts.encode(a), proof);
    }

    // ------------------------------------------------------------------------------------------
    // Helpers

    function _inBlock(bytes32 stateRoot, bytes32 inputs, bytes32 blockItem, uint64 blockGasUsed, uint32 txsLeft)
        private
        pure
        returns (MachineState.State memory post)
    {
        post.phase = MachineState.IN_BLOCK;
        post.stateRoot = stateRoot;
        post.inputs = inputs;
        post.blockItem = blockItem;
        post.blockGasUsed = blockGasUsed;
        post.txsLeft = txsLeft;
    }

    function _between(bytes32 stateRoot, bytes32 inputs) private pure returns (MachineState.State memory post) {
        post.stateRoot = stateRoot;
        post.inputs = inputs;
    }

    function _consume(bytes32 inputs, bytes32 itemHash, bytes32 tail) private pure {
        bytes32 computed = MachineState.consume(itemHash, tail);
        if (computed != inputs) revert InputsMismatch(inputs, computed);
    }

    function _checkBlock(MachineState.State memory s, MachineState.BlockItem memory blk) private pure {
        bytes32 computed = MachineState.itemHash(blk);
        if (computed != s.blockItem) revert BlockItemMismatch(s.blockItem, computed);
    }

    function _noProof(bytes calldata proof) private pure {
        if (proof.length != 0) revert UnexpectedProof();
    }

    /// @dev ECRECOVER, SHA256, RIPEMD160, IDENTITY or BLAKE2F: a transaction to one is one EVM step
    ///      (docs/evm-steps.md section 1.1).
    function _isPriced(address a) private pure returns (bool) {
        return uint160(a) <= 4 || uint160(a) == 9;
    }

    function _isPrecompile(address a) private pure returns (bool) {
        return uint160(a) != 0 && uint160(a) <= LAST_PRECOMPILE;
    }

    /// @dev EIP-7702 delegation designator: 0xef0100 || address.
    function _isDelegation(bytes memory code) private pure returns (bool) {
        return code.length == 23 && code[0] == 0xef && code[1] == 0x01 && code[2] == 0x00;
    }
}
