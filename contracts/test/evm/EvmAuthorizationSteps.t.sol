// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MachineState} from "../../src/fault/MachineState.sol";
import {MerkleTrie} from "../../src/fault/MerkleTrie.sol";
import {Accounts} from "../../src/fault/Accounts.sol";
import {RLPWriter} from "../../src/fault/RLPWriter.sol";
import {TxDecoder} from "../../src/fault/TxDecoder.sol";
import {EvmTypes} from "../../src/fault/evm/EvmTypes.sol";
import {IEvmStepVerifier} from "../../src/fault/evm/IEvmStepVerifier.sol";
import {EvmAuthorizationVerifier} from "../../src/fault/evm/EvmAuthorizationVerifier.sol";
import {AccountWorld} from "./AccountWorld.sol";
import {EvmStepHelpers} from "./EvmStepHelpers.sol";
import {AccessListModel} from "./AccessListModel.sol";

/// @dev Exposes `TxDecoder`'s authorization functions and `EvmTypes.authorizationMarker` to the tests.
contract AuthorizationDecoderHarness {
    function count(bytes memory raw) external pure returns (uint256) {
        return TxDecoder.authorizationCount(raw);
    }

    function at(bytes memory raw, uint256 index) external pure returns (TxDecoder.Authorization memory) {
        return TxDecoder.authorization(raw, index);
    }

    function marker(bytes32 txHash, uint256 applied, bytes32 warmSlots, bytes32 warmAccounts)
        external
        pure
        returns (bytes32)
    {
        return EvmTypes.authorizationMarker(txHash, applied, warmSlots, warmAccounts);
    }
}

/// @notice The authorization steps of an EIP-7702 transaction (kind 12, `EvmAuthorizationVerifier`,
///         docs/evm-steps.md sections 1.2, 2 and 6): signed type-4 transactions whose authorizations
///         are signed here, stepped from the entry marker (index 0, with the access list's warmings)
///         or from the authorization marker (index >= 1) on small state tries (`AccountWorld`).
///         Every expected post-state is built here from scratch: the authority's account after
///         revm 43's `apply_auth_list` (nonce + 1, the designator's code hash, 12,500 refunded when it
///         existed), the warm tries from their final sets of keys, the marker as
///         `keccak256(abi.encode(txHash, applied, warmSlots, warmAccounts))`. Then the skipped
///         authorizations, the refusals and the tampered witnesses, and the decoder's functions.
contract EvmAuthorizationStepsTest is EvmStepHelpers, AccessListModel {
    uint256 internal constant SENDER_KEY = 0xA11CE;
    uint256 internal constant AUTH_KEY = 0xB0B;
    uint256 internal constant AUTH2_KEY = 0xC0C;
    address internal constant TO = address(0xC0DE);
    address internal constant DELEGATE = address(0xDE1E);
    address internal constant OTHER = address(0xBEEF);
    uint64 internal constant NONCE = 3;
    uint64 internal constant GAS_LIMIT = 1_000_000;
    uint64 internal constant GAS_LEFT = 600_000;
    uint64 internal constant REFUND = 12_500;
    uint256 internal constant SECP256K1N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
    bytes32 internal constant EMPTY_CODE_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    bytes internal constant CODE = hex"6001600201600035f3";
    bytes internal constant BENEFICIARY_CODE = hex"600160005500";
    bytes internal constant DATA = hex"a9059cbb0102030405";

    EvmAuthorizationVerifier internal auth;
    AuthorizationDecoderHarness internal decoder;

    /// @dev One authorization tuple as the list holds it.
    struct Auth {
        uint256 chainId;
        address target;
        uint64 nonce;
        uint256 yParity;
        uint256 r;
        uint256 s;
    }

    /// @dev A type-4 transaction, the state it is stepped in and the step's witness.
    struct AuthCase {
        uint8 txType;
        address to;
        Auth[] auths;
        AccountWorld.AccessList al;
        address sender;
        AccountWorld.World world;
        MachineState.BlockItem blk;
        bytes rawTx;
        MachineState.State pre;
        uint256 index;
        bytes32 warmSlots;
        bytes32 warmAccounts;
        bytes[][] accessProofs;
        bytes[] authorityProof;
        bytes authorityCode;
        bytes[] warmProof;
    }

    function setUp() public override {
        super.setUp();
        auth = new EvmAuthorizationVerifier(CHAIN_ID);
        decoder = new AuthorizationDecoderHarness();
    }

    // ------------------------------------------------------------------------------------------
    // Authorizations and transactions

    function designator(address a) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"ef0100", a);
    }

    function authDigest(uint256 chainId, address target, uint64 nonce) internal pure returns (bytes32) {
        bytes[] memory f = new bytes[](3);
        f[0] = RLPWriter.writeUint(chainId);
        f[1] = RLPWriter.writeAddress(target);
        f[2] = RLPWriter.writeUint(nonce);
        return keccak256(bytes.concat(hex"05", RLPWriter.writeList(f)));
    }

    function signAuth(uint256 pk, uint256 chainId, address target, uint64 nonce) internal returns (Auth memory a) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, authDigest(chainId, target, nonce));
        a = Auth(chainId, target, nonce, v - 27, uint256(r), uint256(s));
    }

    function authRlp(Auth memory a) internal pure returns (bytes memory) {
        bytes[] memory f = new bytes[](6);
        f[0] = RLPWriter.writeUint(a.chainId);
        f[1] = RLPWriter.writeAddress(a.target);
        f[2] = RLPWriter.writeUint(a.nonce);
        f[3] = RLPWriter.writeUint(a.yParity);
        f[4] = RLPWriter.writeUint(a.r);
        f[5] = RLPWriter.writeUint(a.s);
        return RLPWriter.writeList(f);
    }

    function auths1(Auth memory a) internal pure returns (Auth[] memory out) {
        out = new Auth[](1);
        out[0] = a;
    }

    function auths2(Auth memory a, Auth memory b) internal pure returns (Auth[] memory out) {
        out = new Auth[](2);
        out[0] = a;
        out[1] = b;
    }

    /// @dev The signed transaction: type 4 with `c.auths`, or type 2 (no authorization list).
    function signed(AuthCase memory c) internal returns (bytes memory) {
        bytes[] memory f = new bytes[](c.txType == 4 ? 10 : 9);
        f[0] = RLPWriter.writeUint(CHAIN_ID);
        f[1] = RLPWriter.writeUint(NONCE);
        f[2] = RLPWriter.writeUint(2);
        f[3] = RLPWriter.writeUint(9);
        f[4] = RLPWriter.writeUint(GAS_LIMIT);
        f[5] = RLPWriter.writeAddress(c.to);
        f[6] = RLPWriter.writeUint(0);
        f[7] = RLPWriter.writeBytes(DATA);
        f[8] = AccountWorld.accessListRlp(c.al);
        if (c.txType == 4) {
            bytes[] memory list = new bytes[](c.auths.length);
            for (uint256 i; i < list.length; ++i) {
                list[i] = authRlp(c.auths[i]);
            }
            f[9] = RLPWriter.writeList(list);
        }
        return signedTyped(bytes1(c.txType), SENDER_KEY, f);
    }

    /// @dev A type-4 transaction to TO with the authorizations `as_`, in a world of the sender (its
    ///      nonce bumped by the start step), TO and the beneficiary (contracts) and OTHER (an EOA).
    function base(Auth[] memory as_) internal returns (AuthCase memory c) {
        c.txType = 4;
        c.to = TO;
        c.auths = as_;
        c.al = emptyList();
        c.sender = vm.addr(SENDER_KEY);
        c.blk = blockItem();
        c.world.who = new address[](4);
        c.world.accounts = new Accounts.Account[](4);
        (c.world.who[0], c.world.who[1], c.world.who[2], c.world.who[3]) = (c.sender, TO, BENEFICIARY, OTHER);
        c.world.accounts[0] = AccountWorld.account(NONCE + 1, 10 ether, EMPTY_CODE_HASH);
        c.world.accounts[1] = AccountWorld.account(1, 5, keccak256(CODE));
        c.world.accounts[2] = AccountWorld.account(1, 0, keccak256(BENEFICIARY_CODE));
        c.world.accounts[3] = AccountWorld.account(0, 1, EMPTY_CODE_HASH);
    }

    /// @dev `c` with `a`'s account `acct` and code `code` (the authority's).
    function withAuthority(AuthCase memory c, address a, Accounts.Account memory acct, bytes memory code)
        internal
        pure
        returns (AuthCase memory)
    {
        c.world = AccountWorld.withAccount(c.world, a, acct);
        c.authorityCode = code;
        return c;
    }

    function overCap(AuthCase memory c) internal pure returns (bool) {
        return warmings(c.al) > 64;
    }

    /// @dev Warm from the start (section 2): the sender, the recipient, the beneficiary, a precompile.
    function warmFromStart(AuthCase memory c, address a) internal pure returns (bool) {
        return a == c.sender || a == c.to || a == c.blk.beneficiary || (uint160(a) >= 1 && uint160(a) <= 0x11);
    }

    /// @dev The raw transaction, the pre-state at the entry marker and the index-0 witness for
    ///      `authority` (0: a skipped authorization, no proofs).
    function build(AuthCase memory src, address authority) internal returns (AuthCase memory c) {
        c = clone(src);
        c.rawTx = signed(c);
        c.pre = entryPre(c.sender, AccountWorld.rootOf(c.world), c.rawTx, GAS_LIMIT, GAS_LEFT);
        c.pre.blockItem = MachineState.itemHash(c.blk);
        c.accessProofs = new bytes[][](0);
        bytes32[] memory accounts = new bytes32[](0);
        if (!overCap(c)) (accounts,, c.accessProofs) = warmed(c.al);
        c.authorityProof = new bytes[](0);
        c.warmProof = new bytes[](0);
        if (authority == address(0)) {
            c.authorityCode = "";
            return c;
        }
        c.authorityProof = AccountWorld.proofOf(c.world, authority);
        if (!overCap(c) && !warmFromStart(c, authority)) {
            c.warmProof = this.warmProof(accounts, keccak256(abi.encodePacked(authority)));
        }
        return c;
    }

    /// @dev A deep copy of `c`.
    function clone(AuthCase memory c) internal pure returns (AuthCase memory) {
        return abi.decode(abi.encode(c), (AuthCase));
    }

    function witness(AuthCase memory c) internal pure returns (bytes memory) {
        return abi.encode(
            uint8(12),
            abi.encode(
                c.rawTx,
                c.index,
                c.warmSlots,
                c.warmAccounts,
                c.accessProofs,
                c.authorityProof,
                c.authorityCode,
                c.warmProof,
                c.blk
            )
        );
    }

    function run(AuthCase memory c) internal view returns (bytes32) {
        return auth.step(c.pre, witness(c));
    }

    function expectRefused(AuthCase memory c, bytes memory reason) internal {
        bytes memory proof = witness(c);
        vm.expectRevert(reason);
        auth.step(c.pre, proof);
    }

    // ------------------------------------------------------------------------------------------
    // Expected post-states, from scratch

    function key(address a) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(a));
    }

    function keys1(address a) internal pure returns (bytes32[] memory k) {
        k = new bytes32[](1);
        k[0] = key(a);
    }

    function noKeys32() internal pure returns (bytes32[] memory) {
        return new bytes32[](0);
    }

    /// @dev The post-state: `world` after, `refund`, and the marker of `c.index + 1` applied over
    ///      the tries of roots `slotsRoot` and `accountsRoot`.
    function postOf(
        AuthCase memory c,
        AccountWorld.World memory world,
        uint64 refund,
        bytes32 slotsRoot,
        bytes32 accountsRoot
    ) internal pure returns (bytes32) {
        MachineState.State memory s = copyState(c.pre);
        s.stateRoot = AccountWorld.rootOf(world);
        s.refund = refund;
        s.evm = keccak256(abi.encode(keccak256(c.rawTx), c.index + 1, slotsRoot, accountsRoot));
        return MachineState.hash(s);
    }

    /// @dev The post-state with the warm tries of the key sets `slots` and `accounts`.
    function postWith(
        AuthCase memory c,
        AccountWorld.World memory world,
        uint64 refund,
        bytes32[] memory slots,
        bytes32[] memory accounts
    ) internal view returns (bytes32) {
        return postOf(c, world, refund, this.warmRoot(slots), this.warmRoot(accounts));
    }

    /// @dev `c.world` with `a` applied to: nonce `nonce`, its balance, the code hash of `code`.
    function delegated(AuthCase memory c, address a, uint256 nonce, bytes memory code)
        internal
        pure
        returns (AccountWorld.World memory)
    {
        Accounts.Account memory acct = AccountWorld.accountOf(c.world, a);
        return AccountWorld.withAccount(c.world, a, AccountWorld.account(nonce, acct.balance, keccak256(code)));
    }

    // ------------------------------------------------------------------------------------------
    // Applied

    /// @notice An absent authority: created with nonce 1, balance 0, the designator's code hash;
    ///         no refund; warmed into the empty warm-account trie. `EvmStepVerifier` (through
    ///         `OneStepVerifier`) routes kind 12 to the same result. Gas of one applied step.
    function test_appliedToAbsentAuthority() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0))), a);
        assertEq(c.authorityCode.length, 0);
        // By hand: a new account {nonce 1, balance 0, empty storage, keccak(0xef0100 ‖ DELEGATE)}.
        AccountWorld.World memory after_ = AccountWorld.withAccount(
            c.world, a, Accounts.Account(true, 1, 0, MerkleTrie.EMPTY_ROOT, keccak256(designator(DELEGATE)))
        );
        bytes32 post = postWith(c, after_, 0, noKeys32(), keys1(a));
        bytes memory proof = witness(c);
        uint256 before = gasleft();
        bytes32 got = auth.step(c.pre, proof);
        uint256 used = before - gasleft();
        emit log_named_uint("gas of one applied kind-12 step (absent authority, whole step call)", used);
        assertEq(got, post);
        assertEq(verifier.step(abi.encode(c.pre), proof), post);
        assertEq(address(evm.AUTHORIZATION()).code, address(auth).code);
    }

    /// @notice An existing EOA (nonce 7, a balance) authorizes with nonce 7: nonce 8, the
    ///         designator, 12,500 refunded (on top of a refund already there), balance kept.
    function test_appliedToExistingEoa() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 7)));
        c = build(withAuthority(c, a, AccountWorld.account(7, 3 ether, EMPTY_CODE_HASH), ""), a);
        c.pre.refund = 100;
        bytes32 post = postWith(c, delegated(c, a, 8, designator(DELEGATE)), 100 + REFUND, noKeys32(), keys1(a));
        uint256 before = gasleft();
        bytes32 got = run(c);
        emit log_named_uint("gas of one applied kind-12 step (existing EOA, whole step call)", before - gasleft());
        assertEq(got, post);
    }

    /// @notice An authority already delegated (to OTHER) re-delegates to DELEGATE: its code is a
    ///         designator, so it applies; the code hash is replaced, the refund counted.
    function test_redelegation() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, 0, DELEGATE, 2)));
        c = build(withAuthority(c, a, AccountWorld.account(2, 1, keccak256(designator(OTHER))), designator(OTHER)), a);
        assertEq(run(c), postWith(c, delegated(c, a, 3, designator(DELEGATE)), REFUND, noKeys32(), keys1(a)));
    }

    /// @notice The clearing authorization (target 0) of a delegated authority: the empty code hash
    ///         (not the designator of 0), the nonce bumped, refunded.
    function test_clearingAuthorization() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, address(0), 5)));
        c = build(withAuthority(c, a, AccountWorld.account(5, 9, keccak256(designator(OTHER))), designator(OTHER)), a);
        AccountWorld.World memory after_ =
            AccountWorld.withAccount(c.world, a, AccountWorld.account(6, 9, EMPTY_CODE_HASH));
        assertEq(run(c), postWith(c, after_, REFUND, noKeys32(), keys1(a)));
        // Applied to an absent authority: created with no code, nonce 1.
        AuthCase memory d = build(base(auths1(signAuth(AUTH2_KEY, CHAIN_ID, address(0), 0))), vm.addr(AUTH2_KEY));
        after_ = AccountWorld.withAccount(d.world, vm.addr(AUTH2_KEY), AccountWorld.account(1, 0, EMPTY_CODE_HASH));
        assertEq(run(d), postWith(d, after_, 0, noKeys32(), keys1(vm.addr(AUTH2_KEY))));
    }

    /// @notice Chain id 0 and ours apply; another chain's authorization is skipped: nothing read,
    ///         nothing warmed, the marker of one applied over the empty tries.
    function test_chainIds() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = build(base(auths1(signAuth(AUTH_KEY, 0, DELEGATE, 0))), a);
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), 0, noKeys32(), keys1(a)));
        c = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0))), a);
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), 0, noKeys32(), keys1(a)));
        c = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID + 1, DELEGATE, 0))), address(0));
        assertEq(run(c), postOf(c, c.world, 0, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT));
        // A chain id wider than 64 bits whose low bits are ours: skipped too.
        c = build(base(auths1(signAuth(AUTH_KEY, (uint256(1) << 64) + CHAIN_ID, DELEGATE, 0))), address(0));
        assertEq(run(c), postOf(c, c.world, 0, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT));
    }

    // ------------------------------------------------------------------------------------------
    // Warmed only

    /// @notice A nonce other than the authority's: the authority is loaded (warmed) and nothing
    ///         else happens: the state and the refund stay.
    function test_nonceMismatchWarmsOnly() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 4)));
        c = build(withAuthority(c, a, AccountWorld.account(5, 1, EMPTY_CODE_HASH), ""), a);
        c.pre.refund = 77;
        assertEq(run(c), postWith(c, c.world, 77, noKeys32(), keys1(a)));
        // An absent authority with nonce 1 (absent means nonce 0): warmed only.
        AuthCase memory d = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 1))), a);
        assertEq(run(d), postWith(d, d.world, 0, noKeys32(), keys1(a)));
    }

    /// @notice An authority with real code (not a designator), even at the right nonce: warmed only.
    ///         So is 23-byte code that is not a designator.
    function test_authorityWithCodeWarmsOnly() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 1)));
        c = build(withAuthority(c, a, AccountWorld.account(1, 0, keccak256(CODE)), CODE), a);
        assertEq(run(c), postWith(c, c.world, 0, noKeys32(), keys1(a)));
        bytes memory almost = abi.encodePacked(hex"ef0101", OTHER);
        c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 1)));
        c = build(withAuthority(c, a, AccountWorld.account(1, 0, keccak256(almost)), almost), a);
        assertEq(run(c), postWith(c, c.world, 0, noKeys32(), keys1(a)));
    }

    // ------------------------------------------------------------------------------------------
    // Warm from the start

    /// @notice The sender delegates itself: its nonce is the one after the start step's bump
    ///         (NONCE + 1); warm from the start (nothing inserted, no warm proof); it existed:
    ///         refunded. The nonce of the transaction itself (NONCE) does not apply.
    function test_authorityIsSender() public {
        address s = vm.addr(SENDER_KEY);
        AuthCase memory c = build(base(auths1(signAuth(SENDER_KEY, CHAIN_ID, DELEGATE, NONCE + 1))), s);
        assertEq(c.warmProof.length, 0);
        assertEq(run(c), postWith(c, delegated(c, s, NONCE + 2, designator(DELEGATE)), REFUND, noKeys32(), noKeys32()));
        c.warmProof = this.warmProof(keys1(OTHER), key(s));
        expectRefused(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));

        c = build(base(auths1(signAuth(SENDER_KEY, CHAIN_ID, DELEGATE, NONCE))), s);
        assertEq(run(c), postWith(c, c.world, 0, noKeys32(), noKeys32()));
    }

    /// @notice The authority is the transaction's recipient (an EOA): warm from the start.
    function test_authorityIsRecipient() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        c.to = a;
        c = build(withAuthority(c, a, AccountWorld.account(0, 4, EMPTY_CODE_HASH), ""), a);
        assertEq(c.warmProof.length, 0);
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), REFUND, noKeys32(), noKeys32()));
        c.warmProof = this.warmProof(keys1(OTHER), key(a));
        expectRefused(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice The authority is the block's beneficiary: warm from the start, also after an access
    ///         list (whose warmings alone fill the tries).
    function test_authorityIsBeneficiary() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        c.blk.beneficiary = a;
        c.al = with(emptyList(), OTHER, noKeys());
        c = build(c, a);
        assertEq(c.warmProof.length, 0);
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), 0, noKeys32(), keys1(OTHER)));
        c.warmProof = this.warmProof(keys1(OTHER), key(a));
        expectRefused(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    // ------------------------------------------------------------------------------------------
    // Skipped

    /// @dev A valid signature of AUTH for `(CHAIN_ID, DELEGATE, 0)` made invalid by `how`:
    ///      1 y-parity 2, 2 high s, 3 r = 0, 4 s = 0, 5 r >= n.
    function broken(uint256 how) internal returns (Auth memory a) {
        a = signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0);
        if (how == 1) a.yParity = 2;
        if (how == 2) (a.s, a.yParity) = (SECP256K1N - a.s, 1 - a.yParity);
        if (how == 3) a.r = 0;
        if (how == 4) a.s = 0;
        if (how == 5) a.r = SECP256K1N + 1;
    }

    /// @notice Signatures revm refuses: y-parity 2, a high s (which L1's ecrecover would accept:
    ///         checked here), r = 0, s = 0, r >= n. Skipped: root, refund and tries unchanged.
    function test_badSignaturesSkipped() public {
        for (uint256 how = 1; how <= 5; ++how) {
            AuthCase memory c = build(base(auths1(broken(how))), address(0));
            c.pre.refund = 5;
            assertEq(run(c), postOf(c, c.world, 5, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT));
        }
        // The high-s signature does recover AUTH on L1.
        Auth memory h = broken(2);
        assertEq(
            ecrecover(
                authDigest(CHAIN_ID, DELEGATE, 0),
                // forge-lint: disable-next-line(unsafe-typecast)
                uint8(27 + h.yParity),
                bytes32(h.r),
                bytes32(h.s)
            ),
            vm.addr(AUTH_KEY)
        );
    }

    /// @notice Nonce 2^64 - 1 (which could not be bumped) is skipped, even for an authority whose
    ///         nonce it is.
    function test_maxNonceSkipped() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, type(uint64).max)));
        c = build(withAuthority(c, a, AccountWorld.account(type(uint64).max, 1, EMPTY_CODE_HASH), ""), address(0));
        assertEq(run(c), postOf(c, c.world, 0, MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT));
    }

    /// @notice A skipped authorization takes no authority proof, code or warm proof.
    function test_skippedTakesNoProofs() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID + 1, DELEGATE, 0)));
        c = build(withAuthority(c, a, AccountWorld.account(0, 1, EMPTY_CODE_HASH), ""), address(0));
        bytes memory unexpected = abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector);
        AuthCase memory x = build(c, address(0));
        x.authorityProof = AccountWorld.proofOf(x.world, a);
        expectRefused(x, unexpected);
        x = build(c, address(0));
        x.authorityCode = hex"00";
        expectRefused(x, unexpected);
        x = build(c, address(0));
        x.warmProof = this.warmProof(keys1(OTHER), key(a));
        expectRefused(x, unexpected);
    }

    // ------------------------------------------------------------------------------------------
    // Chains of authorizations, access lists

    /// @notice Two authorizations of the same (absent) authority: index 0 creates it with nonce 1;
    ///         index 1, from the marker index 0 left, sees nonce 1, applies again (it exists now:
    ///         refunded) with the warm proof an inclusion proof (the root stays).
    function test_twoInARow() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c =
            base(auths2(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0), signAuth(AUTH_KEY, CHAIN_ID, OTHER, 1)));
        c = build(c, a);
        AccountWorld.World memory w1 = delegated(c, a, 1, designator(DELEGATE));
        bytes32 post0 = postWith(c, w1, 0, noKeys32(), keys1(a));
        assertEq(run(c), post0);

        // Index 1: the pre-state is index 0's post-state, built from scratch.
        AuthCase memory d = build(c, a);
        d.index = 1;
        d.world = w1;
        d.pre.stateRoot = AccountWorld.rootOf(w1);
        d.warmSlots = MerkleTrie.EMPTY_ROOT;
        d.warmAccounts = this.warmRoot(keys1(a));
        d.pre.evm = keccak256(abi.encode(keccak256(c.rawTx), uint256(1), d.warmSlots, d.warmAccounts));
        assertEq(MachineState.hash(d.pre), post0);
        d.authorityProof = AccountWorld.proofOf(w1, a);
        d.authorityCode = designator(DELEGATE);
        d.warmProof = this.warmProof(keys1(a), key(a));
        d.accessProofs = new bytes[][](0);
        AccountWorld.World memory w2 =
            AccountWorld.withAccount(w1, a, AccountWorld.account(2, 0, keccak256(designator(OTHER))));
        assertEq(run(d), postWith(d, w2, REFUND, noKeys32(), keys1(a)));

        // Index 1 from a state that is not the marker of index 0's tries.
        AuthCase memory e = build(c, a);
        e.index = 1;
        e.warmAccounts = d.warmAccounts;
        e.warmSlots = d.warmSlots;
        e.pre.evm = keccak256("not the marker");
        expectRefused(
            e,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmStateMismatch.selector,
                e.pre.evm,
                keccak256(abi.encode(keccak256(c.rawTx), uint256(1), d.warmSlots, d.warmAccounts))
            )
        );
        // Index 1 takes no access proofs.
        d.accessProofs = new bytes[][](1);
        expectRefused(d, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
    }

    /// @notice Index 0 with an access list: the list's warmings (OTHER and its key), then the cold
    ///         authority inserted beside them; an authority the list names keeps the roots (an
    ///         inclusion proof).
    function test_accessListThenAuthority() public {
        address a = vm.addr(AUTH_KEY);
        bytes32 k = keccak256("k");
        bytes32[] memory ks = new bytes32[](1);
        ks[0] = k;
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        c.al = with(emptyList(), OTHER, ks);
        c = build(c, a);
        bytes32[] memory slots = new bytes32[](1);
        slots[0] = keccak256(abi.encodePacked(OTHER, k));
        bytes32[] memory accounts = new bytes32[](2);
        (accounts[0], accounts[1]) = (key(OTHER), key(a));
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), 0, slots, accounts));
        // Without the list's proofs: refused.
        c.accessProofs = new bytes[][](0);
        expectRefused(c, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));

        // The list names the authority: its insertion is an inclusion proof.
        AuthCase memory d = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        d.al = with(with(emptyList(), OTHER, ks), a, noKeys());
        d = build(d, a);
        assertEq(run(d), postWith(d, delegated(d, a, 1, designator(DELEGATE)), 0, slots, accounts));
    }

    /// @notice An access list over 64 entries: nothing warmed, the marker's roots are (1, 0), the
    ///         authorization still applies, no warm proof (refused); the next index follows that
    ///         marker.
    function test_accessListOverCap() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c =
            base(auths2(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0), signAuth(AUTH2_KEY, CHAIN_ID, DELEGATE, 0)));
        for (uint256 i; i < 65; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            c.al = with(c.al, address(uint160(0x1000 + i)), noKeys());
        }
        c = build(c, a);
        assertEq(c.accessProofs.length, 0);
        assertEq(c.warmProof.length, 0);
        AccountWorld.World memory w1 = delegated(c, a, 1, designator(DELEGATE));
        bytes32 post0 = postOf(c, w1, 0, bytes32(uint256(1)), 0);
        assertEq(run(c), post0);
        AuthCase memory x = build(c, a);
        x.warmProof = this.warmProof(keys1(OTHER), key(a));
        expectRefused(x, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
        x = build(c, a);
        x.accessProofs = new bytes[][](65);
        expectRefused(x, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));

        // Index 1 (AUTH2, absent) from the marker (1, 0).
        address b = vm.addr(AUTH2_KEY);
        AuthCase memory d = build(c, b);
        d.index = 1;
        d.world = w1;
        d.pre.stateRoot = AccountWorld.rootOf(w1);
        (d.warmSlots, d.warmAccounts) = (bytes32(uint256(1)), 0);
        d.pre.evm = keccak256(abi.encode(keccak256(c.rawTx), uint256(1), bytes32(uint256(1)), bytes32(0)));
        assertEq(MachineState.hash(d.pre), post0);
        d.authorityProof = AccountWorld.proofOf(w1, b);
        AccountWorld.World memory w2 =
            AccountWorld.withAccount(w1, b, AccountWorld.account(1, 0, keccak256(designator(DELEGATE))));
        assertEq(run(d), postOf(d, w2, 0, bytes32(uint256(1)), 0));
    }

    // ------------------------------------------------------------------------------------------
    // Refusals

    /// @notice The phase, the kind, the transaction (undecodable, not EIP-7702) and the index.
    function test_refusals() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0))), a);
        bytes memory unsupported = abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.IN_TX);

        MachineState.State memory done = copyState(c.pre);
        done.phase = MachineState.TX_EXECUTED;
        bytes memory proof = witness(c);
        vm.expectRevert(abi.encodeWithSelector(IEvmStepVerifier.UnsupportedStep.selector, MachineState.TX_EXECUTED));
        auth.step(done, proof);

        bytes memory body = abi.encode(
            c.rawTx,
            c.index,
            c.warmSlots,
            c.warmAccounts,
            c.accessProofs,
            c.authorityProof,
            c.authorityCode,
            c.warmProof,
            c.blk
        );
        vm.expectRevert(unsupported);
        auth.step(c.pre, abi.encode(uint8(13), body));
        vm.expectRevert(unsupported);
        auth.step(c.pre, abi.encode(uint8(11), body));
        assertEq(auth.step(c.pre, abi.encode(uint8(12), body)), run(c));

        // Index 1 of a list of one.
        AuthCase memory x = build(c, a);
        x.index = 1;
        expectRefused(x, unsupported);

        // A type-2 transaction (no authorization list).
        AuthCase memory t2 = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        t2.txType = 2;
        expectRefused(build(t2, a), unsupported);

        // A transaction that does not decode (one byte cut off).
        x = build(c, a);
        bytes memory cut = new bytes(x.rawTx.length - 1);
        for (uint256 i; i < cut.length; ++i) {
            cut[i] = x.rawTx[i];
        }
        x.rawTx = cut;
        expectRefused(x, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));
    }

    /// @notice The entry marker at index 0 (and its witness roots 0), the authorization marker at
    ///         index >= 1, the block item.
    function test_markersAndBlockItem() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0))), a);
        AuthCase memory x = build(c, a);
        x.pre.evm = keccak256("x");
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmStateMismatch.selector, x.pre.evm, keccak256(abi.encodePacked(keccak256(c.rawTx)))
            )
        );
        // An authorization marker (of 0 applied) is not the entry marker.
        x = build(c, a);
        x.pre.evm = keccak256(abi.encode(keccak256(c.rawTx), uint256(0), MerkleTrie.EMPTY_ROOT, MerkleTrie.EMPTY_ROOT));
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmStateMismatch.selector, x.pre.evm, keccak256(abi.encodePacked(keccak256(c.rawTx)))
            )
        );
        x = build(c, a);
        x.warmSlots = MerkleTrie.EMPTY_ROOT;
        expectRefused(x, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));
        x = build(c, a);
        x.warmAccounts = bytes32(uint256(1));
        expectRefused(x, abi.encodeWithSelector(IEvmStepVerifier.UnexpectedProof.selector));

        x = build(c, a);
        x.blk.number += 1;
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.BlockItemMismatch.selector, x.pre.blockItem, MachineState.itemHash(x.blk)
            )
        );
    }

    /// @notice A refund counter that 12,500 would take past 2^64 - 1: `InvalidPreState`, never a
    ///         panic; one that it takes exactly there is fine. (An authority that only warms or was
    ///         absent adds nothing: no refusal.)
    function test_refundNearMax() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0)));
        c = build(withAuthority(c, a, AccountWorld.account(0, 1, EMPTY_CODE_HASH), ""), a);
        c.pre.refund = type(uint64).max - REFUND;
        assertEq(run(c), postWith(c, delegated(c, a, 1, designator(DELEGATE)), type(uint64).max, noKeys32(), keys1(a)));
        c.pre.refund = type(uint64).max - REFUND + 1;
        expectRefused(c, abi.encodeWithSelector(IEvmStepVerifier.InvalidPreState.selector));

        AuthCase memory d = build(base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0))), a);
        d.pre.refund = type(uint64).max;
        assertEq(run(d), postWith(d, delegated(d, a, 1, designator(DELEGATE)), type(uint64).max, noKeys32(), keys1(a)));
    }

    // ------------------------------------------------------------------------------------------
    // Tampered witnesses

    /// @notice The authority's proof with a modified root node, or of another account; its code not
    ///         its code hash's; the warm proof with a modified node, or missing.
    function test_tampered() public {
        address a = vm.addr(AUTH_KEY);
        AuthCase memory c = base(auths1(signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 4)));
        c.al = with(emptyList(), OTHER, noKeys());
        c = build(withAuthority(c, a, AccountWorld.account(4, 1, keccak256(designator(OTHER))), designator(OTHER)), a);
        bytes32[] memory accounts = new bytes32[](2);
        (accounts[0], accounts[1]) = (key(OTHER), key(a));
        assertEq(run(c), postWith(c, delegated(c, a, 5, designator(DELEGATE)), REFUND, noKeys32(), accounts));

        AuthCase memory x = build(c, a);
        x.authorityProof[0][5] ^= 0x01;
        expectRefused(
            x,
            abi.encodeWithSelector(
                MerkleTrie.InvalidProofNodeHash.selector, 0, x.pre.stateRoot, keccak256(x.authorityProof[0])
            )
        );

        // The proof of OTHER's account: it leaves the authority's path where the two part (the
        // node there is not the one its parent references).
        x = build(c, a);
        x.authorityProof = AccountWorld.proofOf(x.world, OTHER);
        expectRefused(x, partingError(AccountWorld.proofOf(x.world, a), x.authorityProof));

        x = build(c, a);
        x.authorityCode = designator(DELEGATE);
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(designator(OTHER)), keccak256(designator(DELEGATE))
            )
        );
        x = build(c, a);
        x.authorityCode = "";
        expectRefused(
            x,
            abi.encodeWithSelector(
                IEvmStepVerifier.EvmCodeMismatch.selector, keccak256(designator(OTHER)), EMPTY_CODE_HASH
            )
        );

        // The warm trie holds OTHER alone (one leaf, its root node): a modified node.
        x = build(c, a);
        assertEq(x.warmProof.length, 1);
        x.warmProof[0][3] ^= 0x01;
        bytes32 warmRoot = this.warmRoot(keys1(OTHER));
        expectRefused(
            x, abi.encodeWithSelector(MerkleTrie.InvalidProofNodeHash.selector, 0, warmRoot, keccak256(x.warmProof[0]))
        );
        x = build(c, a);
        x.warmProof = new bytes[](0);
        expectRefused(x, abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, 0));
    }

    /// @dev The error of walking the path of `good` (nodes referenced by hash) with the proof `bad`.
    function partingError(bytes[] memory good, bytes[] memory bad) internal pure returns (bytes memory) {
        uint256 i;
        while (i < good.length && i < bad.length && keccak256(good[i]) == keccak256(bad[i])) {
            ++i;
        }
        assertGt(i, 0);
        assertLt(i, good.length);
        if (i == bad.length) return abi.encodeWithSelector(MerkleTrie.ProofTooShort.selector, i);
        return
            abi.encodeWithSelector(MerkleTrie.InvalidProofNodeHash.selector, i, keccak256(good[i]), keccak256(bad[i]));
    }

    // ------------------------------------------------------------------------------------------
    // The decoder's functions

    /// @notice `authorizationCount` and `authorization` of a two-tuple list; the digest against a
    ///         hand-written RLP; the marker's preimage.
    function test_decoder() public {
        Auth memory a0 = signAuth(AUTH_KEY, CHAIN_ID, DELEGATE, 0);
        Auth memory a1 = Auth(0, address(0), 300, 1, 5, 6);
        AuthCase memory c = build(base(auths2(a0, a1)), address(0));
        assertEq(decoder.count(c.rawTx), 2);
        TxDecoder.Authorization memory d0 = decoder.at(c.rawTx, 0);
        assertEq(d0.chainId, CHAIN_ID);
        assertEq(d0.target, DELEGATE);
        assertEq(d0.nonce, 0);
        assertEq(d0.yParity, a0.yParity);
        assertEq(d0.r, a0.r);
        assertEq(d0.s, a0.s);
        // keccak256(0x05 ‖ rlp([0xa455, DELEGATE, 0])): a list of 3 + 21 + 1 = 25 bytes (0xd9).
        bytes memory handRlp = abi.encodePacked(hex"05d982a45594", DELEGATE, hex"80");
        assertEq(d0.digest, keccak256(handRlp));
        TxDecoder.Authorization memory d1 = decoder.at(c.rawTx, 1);
        assertEq(d1.chainId, 0);
        assertEq(d1.target, address(0));
        assertEq(d1.nonce, 300);
        assertEq(d1.yParity, 1);
        assertEq(d1.r, 5);
        assertEq(d1.s, 6);
        // rlp([0, 0x00..00, 300]) = 0xd9 80 94 00*20 82 012c (1 + 21 + 3 = 25 bytes).
        assertEq(d1.digest, keccak256(abi.encodePacked(hex"05d98094", address(0), hex"82012c")));

        AuthCase memory t2 = base(auths1(a0));
        t2.txType = 2;
        assertEq(decoder.count(build(t2, address(0)).rawTx), 0);

        bytes32 h = keccak256("h");
        assertEq(
            decoder.marker(h, 3, bytes32(uint256(1)), bytes32(0)),
            keccak256(bytes.concat(h, bytes32(uint256(3)), bytes32(uint256(1)), bytes32(0)))
        );
    }
}
