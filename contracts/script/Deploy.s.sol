// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "../test/base/Vm.sol";
import {VeriToken} from "../src/VeriToken.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {TaskMarket} from "../src/TaskMarket.sol";
import {JuryAdjudicator} from "../src/JuryAdjudicator.sol";
import {OneStepAdjudicator} from "../src/OneStepAdjudicator.sol";
import {StepEvaluator} from "../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../src/referee/StepPrograms.sol";
import {PrevrandaoRandomness} from "../src/PrevrandaoRandomness.sol";
import {AuditRegistry} from "../src/AuditRegistry.sol";
import {DeployParams, DeployParamsFile} from "./DeployParams.sol";

/// @notice Deploys the protocol in the documented order (docs/protocol.md "Deployment") with the
///         parameters of deploy/params.json (the one source the Python deployer and the tests read
///         too). The Python deployer (deploy/) does the same with web3; this script is the Foundry
///         route:
///         forge script contracts/script/Deploy.s.sol --rpc-url $RPC --broadcast
///         Env: VERITRAIN_DEPLOYER_KEY (else forge's --private-key/--account), VERITRAIN_TOKEN (an
///         existing ERC20; else a VeriToken is deployed), VERITRAIN_INITIAL_SUPPLY,
///         VERITRAIN_TREASURY (receives juror penalties, stall slashes and forfeited segment pay;
///         default: the deployer).
contract Deploy {
    bool public constant IS_SCRIPT = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function run()
        external
        returns (
            address token,
            address stakeManager,
            address market,
            address randomness,
            address adjudicator,
            address auditRegistry,
            address referee
        )
    {
        uint256 key = vm.envOr("VERITRAIN_DEPLOYER_KEY", uint256(0));
        if (key == 0) vm.startBroadcast();
        else vm.startBroadcast(key);
        DeployParams memory p = DeployParamsFile.load(vm, vm.envOr("VERITRAIN_TREASURY", msg.sender));
        token = vm.envOr("VERITRAIN_TOKEN", address(0));
        if (token == address(0)) {
            token = address(new VeriToken(vm.envOr("VERITRAIN_INITIAL_SUPPLY", uint256(1_000_000e18))));
        }
        StakeManager s = new StakeManager(token, p.unbondingBlocks, p.minJurorStake);
        TaskMarket m = new TaskMarket(token, address(s), p.market);
        randomness = address(new PrevrandaoRandomness());
        adjudicator = address(new JuryAdjudicator(token, address(s), address(m), randomness, p.jury));
        referee = address(
            new OneStepAdjudicator(
                token, address(s), address(m), new StepEvaluator(new StepPrograms()), DeployParamsFile.referee(vm)
            )
        );
        s.wire(address(m), adjudicator, referee);
        m.setAdjudicators(adjudicator, referee);
        auditRegistry = address(new AuditRegistry(address(m), address(s), p.minAuditorStake));
        vm.stopBroadcast();
        return (token, address(s), address(m), randomness, adjudicator, auditRegistry, referee);
    }
}
