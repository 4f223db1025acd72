// SPDX-License-Identifier: MIT
// Compiled by compile.mjs (solcjs 0.8.30) into amm.json; keep the two in step.
pragma solidity 0.8.30;

/// @dev The part of an ERC-20 (`TestToken`) the pair uses.
interface IPairToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
}

/// @title TestPair
/// @notice A minimal constant-product AMM pair (Uniswap v2's rules, without its flash swaps,
///         oracle or LP token) over two ERC-20s, used by the tests of the fault-proof machine
///         as a real contract that calls other contracts: `addLiquidity` pulls both tokens with
///         `transferFrom` and credits liquidity shares; `swap` pulls the input with
///         `transferFrom`, pays the output with `transfer` (x * y = k after a 0.3% fee on the
///         input) and takes its reserves from the tokens' `balanceOf` (STATICCALLs).
/// @dev The token addresses are in storage rather than immutables so that the runtime code
///      alone (`deployedBytecode`) works in a genesis: layout token0 at slot 0, token1 at 1,
///      reserve0 at 2, reserve1 at 3, totalLiquidity at 4, liquidityOf at 5.
contract TestPair {
    address public token0;
    address public token1;
    uint256 public reserve0;
    uint256 public reserve1;
    uint256 public totalLiquidity;
    mapping(address => uint256) public liquidityOf;

    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1, uint256 liquidity);
    event Swap(address indexed trader, address indexed tokenIn, uint256 amountIn, uint256 amountOut);
    event Sync(uint256 reserve0, uint256 reserve1);

    constructor(address token0_, address token1_) {
        require(token0_ != address(0) && token1_ != address(0) && token0_ != token1_, "bad tokens");
        token0 = token0_;
        token1 = token1_;
    }

    /// @notice Pulls `amount0` of token0 and `amount1` of token1 from the caller (who approved
    ///         the pair) and credits liquidity shares: sqrt(amount0 * amount1) for the first
    ///         deposit, the smaller proportional share after it.
    function addLiquidity(uint256 amount0, uint256 amount1) external returns (uint256 liquidity) {
        require(amount0 > 0 && amount1 > 0, "zero amount");
        uint256 total = totalLiquidity;
        if (total == 0) {
            liquidity = _sqrt(amount0 * amount1);
        } else {
            liquidity = _min(amount0 * total / reserve0, amount1 * total / reserve1);
        }
        require(liquidity > 0, "no liquidity minted");
        _pull(token0, amount0);
        _pull(token1, amount1);
        totalLiquidity = total + liquidity;
        liquidityOf[msg.sender] += liquidity;
        emit LiquidityAdded(msg.sender, amount0, amount1, liquidity);
        _sync();
    }

    /// @notice Swaps `amountIn` of `tokenIn` (pulled from the caller, who approved the pair) for
    ///         the other token; reverts when the output would be below `minOut`.
    function swap(address tokenIn, uint256 amountIn, uint256 minOut) external returns (uint256 amountOut) {
        require(amountIn > 0, "zero input");
        address in0 = token0;
        address in1 = token1;
        require(tokenIn == in0 || tokenIn == in1, "unknown token");
        bool zeroForOne = tokenIn == in0;
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        require(reserveIn > 0 && reserveOut > 0, "no liquidity");
        amountOut = getAmountOut(amountIn, reserveIn, reserveOut);
        require(amountOut > 0 && amountOut >= minOut, "insufficient output");
        _pull(tokenIn, amountIn);
        require(IPairToken(zeroForOne ? in1 : in0).transfer(msg.sender, amountOut), "transfer failed");
        emit Swap(msg.sender, tokenIn, amountIn, amountOut);
        _sync();
    }

    /// @notice The output of `amountIn` against the reserves, after the 0.3% fee (x * y = k).
    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        uint256 amountInWithFee = amountIn * 997;
        return amountInWithFee * reserveOut / (reserveIn * 1000 + amountInWithFee);
    }

    function _pull(address token, uint256 amount) internal {
        require(IPairToken(token).transferFrom(msg.sender, address(this), amount), "transferFrom failed");
    }

    /// @dev The reserves become the pair's balances (which covers tokens sent to it directly).
    function _sync() internal {
        uint256 balance0 = IPairToken(token0).balanceOf(address(this));
        uint256 balance1 = IPairToken(token1).balanceOf(address(this));
        reserve0 = balance0;
        reserve1 = balance1;
        emit Sync(balance0, balance1);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev Babylonian square root, rounded down.
    function _sqrt(uint256 y) internal pure returns (uint256 z) {
        if (y > 3) {
            z = y;
            uint256 x = y / 2 + 1;
            while (x < z) {
                z = x;
                x = (y / x + x) / 2;
            }
        } else if (y != 0) {
            z = 1;
        }
    }
}
