// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "../test/base/Vm.sol";
import {JuryParams, MarketParams} from "../src/types/Ids.sol";
import {RefereeParams} from "../src/types/RefereeTypes.sol";

/// @notice The deployment parameters, read from deploy/params.json: the one file the Foundry script,
///         the forge fixture, the invariant suite and the Python deployer all read.
struct DeployParams {
    uint256 unbondingBlocks;
    uint256 minJurorStake;
    uint256 minAuditorStake;
    MarketParams market;
    JuryParams jury;
}

library DeployParamsFile {
    /// @dev Relative: Foundry resolves it against the project root. An absolute path built from
    ///      vm.projectRoot() made the gas of tests that read it depend on where the clone lies.
    string internal constant PATH = "deploy/params.json";

    /// @notice The parameters in deploy/params.json; the jury's and the market's treasury is `treasury`.
    function load(Vm vm, address treasury) internal view returns (DeployParams memory p) {
        string memory json = vm.readFile(PATH);
        p.unbondingBlocks = vm.parseJsonUint(json, ".stake.unbondingBlocks");
        p.minJurorStake = vm.parseJsonUint(json, ".stake.minJurorStake");
        p.minAuditorStake = vm.parseJsonUint(json, ".audit.minAuditorStake");
        p.market = _market(vm, json, treasury);
        p.jury = _jury(vm, json, treasury);
    }

    /// @notice The referee's parameters (deploy/params.json "referee").
    function referee(Vm vm) internal view returns (RefereeParams memory r) {
        string memory json = vm.readFile(PATH);
        r.challengeBond = uint128(vm.parseJsonUint(json, ".referee.challengeBond"));
        r.moveBlocks = uint64(vm.parseJsonUint(json, ".referee.moveBlocks"));
        r.jailBlocks = uint64(vm.parseJsonUint(json, ".referee.jailBlocks"));
    }

    function _market(Vm vm, string memory json, address treasury) private pure returns (MarketParams memory) {
        return MarketParams({
            stallSlashBps: uint16(vm.parseJsonUint(json, ".market.stallSlashBps")),
            disputeSlashBps: uint16(vm.parseJsonUint(json, ".market.disputeSlashBps")),
            requesterShareBps: uint16(vm.parseJsonUint(json, ".market.requesterShareBps")),
            maxSegmentSteps: uint64(vm.parseJsonUint(json, ".market.maxSegmentSteps")),
            maxChallengeWindow: uint64(vm.parseJsonUint(json, ".market.maxChallengeWindow")),
            maxSegmentDeadline: uint64(vm.parseJsonUint(json, ".market.maxSegmentDeadline")),
            minNodeStake: uint128(vm.parseJsonUint(json, ".market.minNodeStake")),
            maxReleases: uint8(vm.parseJsonUint(json, ".market.maxReleases")),
            releaseWindow: uint64(vm.parseJsonUint(json, ".market.releaseWindow")),
            treasury: treasury
        });
    }

    function _jury(Vm vm, string memory json, address treasury) private pure returns (JuryParams memory j) {
        j.challengeBond = uint128(vm.parseJsonUint(json, ".jury.challengeBond"));
        j.jurorPenalty = uint128(vm.parseJsonUint(json, ".jury.jurorPenalty"));
        j.drawDelay = uint64(vm.parseJsonUint(json, ".jury.drawDelay"));
        j.drawExpiry = uint64(vm.parseJsonUint(json, ".jury.drawExpiry"));
        j.commitWindow = uint64(vm.parseJsonUint(json, ".jury.commitWindow"));
        j.replayStepsPerBlock = uint64(vm.parseJsonUint(json, ".jury.replayStepsPerBlock"));
        j.revealWindow = uint64(vm.parseJsonUint(json, ".jury.revealWindow"));
        j.jailBlocks = uint64(vm.parseJsonUint(json, ".jury.jailBlocks"));
        j.challengerShareBps = uint16(vm.parseJsonUint(json, ".jury.challengerShareBps"));
        j.jurorFeeBps = uint16(vm.parseJsonUint(json, ".jury.jurorFeeBps"));
        j.jurySize = uint8(vm.parseJsonUint(json, ".jury.jurySize"));
        j.quorum = uint8(vm.parseJsonUint(json, ".jury.quorum"));
        j.treasury = treasury;
    }
}
