// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "../test/base/Vm.sol";
import {VeriToken} from "../src/VeriToken.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {TaskMarket} from "../src/TaskMarket.sol";
import {JuryAdjudicator} from "../src/JuryAdjudicator.sol";
import {PrevrandaoRandomness} from "../src/PrevrandaoRandomness.sol";
import {JuryParams} from "../src/types/Ids.sol";

/// @notice Deploys the protocol in the documented order (docs/protocol.md "Deployment") with the
///         default parameters. The Python deployer (deploy/) does the same with web3; this script is
///         the Foundry route:
///         forge script contracts/script/Deploy.s.sol --rpc-url $RPC --broadcast
///         Env: VERITRAIN_DEPLOYER_KEY (else forge's --private-key/--account), VERITRAIN_TOKEN (an
///         existing ERC20; else a VeriToken is deployed), VERITRAIN_INITIAL_SUPPLY.
contract Deploy {
    bool public constant IS_SCRIPT = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function defaultJuryParams() public pure returns (JuryParams memory) {
        return JuryParams({
            challengeBond: 100e18,
            slashAmount: 500e18,
            jurorPenalty: 10e18,
            drawDelay: 2,
            commitWindow: 30,
            revealWindow: 30,
            jailBlocks: 1000,
            challengerShareBps: 5000,
            jurorFeeBps: 2000,
            jurySize: 3
        });
    }

    function run()
        external
        returns (address token, address stakeManager, address market, address randomness, address adjudicator)
    {
        uint256 key = vm.envOr("VERITRAIN_DEPLOYER_KEY", uint256(0));
        if (key == 0) vm.startBroadcast();
        else vm.startBroadcast(key);
        token = vm.envOr("VERITRAIN_TOKEN", address(0));
        if (token == address(0)) {
            token = address(new VeriToken(vm.envOr("VERITRAIN_INITIAL_SUPPLY", uint256(1_000_000e18))));
        }
        StakeManager s = new StakeManager(token, 200);
        TaskMarket m = new TaskMarket(token, address(s), 1000);
        randomness = address(new PrevrandaoRandomness());
        adjudicator = address(new JuryAdjudicator(token, address(s), address(m), randomness, defaultJuryParams()));
        s.wire(address(m), adjudicator);
        m.setAdjudicator(adjudicator);
        vm.stopBroadcast();
        return (token, address(s), address(m), randomness, adjudicator);
    }
}
