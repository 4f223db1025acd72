// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Counter} from "../src/Counter.sol";

/// The cheatcodes this script uses (forge's cheatcode address), so no forge-std is needed.
interface Vm {
    function startBroadcast() external;
    function stopBroadcast() external;
}

/// Deploys Counter and calls increment() twice: three broadcast transactions.
/// forge script script/Counter.s.sol --rpc-url <url> --private-key <key> --broadcast
contract CounterScript {
    bool public IS_SCRIPT = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run() external returns (Counter counter) {
        vm.startBroadcast();
        counter = new Counter();
        counter.increment();
        counter.increment();
        vm.stopBroadcast();
        require(counter.number() == 2, "counter should be 2");
    }
}
