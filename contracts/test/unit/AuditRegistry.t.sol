// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture, Traces} from "../shared/Fixture.sol";
import {AuditRegistry} from "../../src/AuditRegistry.sol";
import {IAuditRegistry} from "../../src/interfaces/IAuditRegistry.sol";
import {TaskId, DisputeId, SegmentRoots, AuditResult} from "../../src/types/Ids.sol";

contract AuditRegistryTest is Fixture {
    AuditRegistry internal registry;
    TaskId internal id;
    bytes32[] internal leaves;
    /// @dev Staked accounts that are not the task's node (juror0 and juror1 of the fixture).
    address internal auditor;
    address internal auditor2;

    function setUp() public override {
        super.setUp();
        registry = new AuditRegistry(address(market), address(stakes), dp.minAuditorStake);
        auditor = pool[0];
        auditor2 = pool[1];
        id = _createAndClaim();
        leaves = _commit(id, 0, 0, node);
    }

    /// @dev A commitment as an auditor names it: the roots from SegmentCommitted (the fixture
    ///      kept them), the block from the market's record.
    struct Held {
        bytes32 traceRoot;
        bytes32 endStateHash;
        uint64 committedAt;
    }

    function _held(TaskId t, uint256 k) internal view returns (Held memory) {
        SegmentRoots memory r = _roots(t, k);
        return Held(r.traceRoot, r.endStateHash, market.segment(t, k).committedAt);
    }

    /// @dev `who` attests `result` for segment k's commitment as the market holds it.
    function _attest(address who, uint256 k, AuditResult result) internal {
        _attestAs(who, k, _held(id, k), result);
    }

    /// @dev The attest call alone (so an expectRevert before it applies to it).
    function _attestAs(address who, uint256 k, Held memory s, AuditResult result) internal {
        vm.prank(who);
        registry.attest(id, k, s.traceRoot, s.endStateHash, s.committedAt, result);
    }

    function _commitment(uint256 k) internal view returns (bytes32) {
        Held memory s = _held(id, k);
        return registry.commitmentId(id, k, s.traceRoot, s.endStateHash, s.committedAt);
    }

    /// @dev A staked account attests Ok: the event names the commitment, the tally counts it.
    function test_attest_stakedAuditor_succeeds() public {
        Held memory s = _held(id, 0);
        bytes32 c = _commitment(0);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IAuditRegistry.AuditAttested(id, 0, auditor, c, s.traceRoot, s.endStateHash, s.committedAt, AuditResult.Ok);
        _attest(auditor, 0, AuditResult.Ok);
        assertEq(uint256(registry.resultOf(c, auditor)), uint256(AuditResult.Ok));
        (uint256 ok, uint256 fault) = registry.counts(c);
        assertEq(ok, 1);
        assertEq(fault, 0);
    }

    /// @dev Two independent auditors count twice; a Fault counts apart from the Oks.
    function test_attest_independentAuditors_countEach_succeeds() public {
        _attest(auditor, 0, AuditResult.Ok);
        _attest(auditor2, 0, AuditResult.Ok);
        _attest(pool[2], 0, AuditResult.Fault);
        (uint256 ok, uint256 fault) = registry.counts(_commitment(0));
        assertEq(ok, 2);
        assertEq(fault, 1);
    }

    /// @dev One attestation per auditor and commitment: a second one (even another result) reverts.
    function test_attest_twice_reverts() public {
        Held memory s = _held(id, 0);
        _attest(auditor, 0, AuditResult.Ok);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditRegistry.AlreadyAttested.selector, _commitment(0), auditor, AuditResult.Ok)
        );
        _attestAs(auditor, 0, s, AuditResult.Fault);
    }

    /// @dev The node cannot audit its own commitment, however much it has staked.
    function test_attest_byNode_reverts() public {
        Held memory s = _held(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IAuditRegistry.AuditorIsNode.selector, id, 0, node));
        _attestAs(node, 0, s, AuditResult.Ok);
    }

    /// @dev An account without minAuditorStake at stake cannot attest (a sybil pays the stake per identity).
    function test_attest_unstaked_reverts() public {
        Held memory s = _held(id, 0);
        address sybil = _actor("sybil", dp.minAuditorStake - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuditRegistry.AuditorStakeTooLow.selector, sybil, dp.minAuditorStake - 1, dp.minAuditorStake
            )
        );
        _attestAs(sybil, 0, s, AuditResult.Ok);
    }

    /// @dev Exactly minAuditorStake is enough.
    function test_attest_minimumStake_succeeds() public {
        address a = _actor("minimal", dp.minAuditorStake);
        _attest(a, 0, AuditResult.Ok);
        assertEq(uint256(registry.resultOf(_commitment(0), a)), uint256(AuditResult.Ok));
    }

    /// @dev A jailed account cannot attest.
    function test_attest_jailed_reverts() public {
        Held memory s = _held(id, 0);
        uint256 until = block.number + 10;
        vm.prank(address(jury));
        stakes.jail(auditor, until);
        vm.expectRevert(abi.encodeWithSelector(IAuditRegistry.AuditorJailed.selector, auditor, until));
        _attestAs(auditor, 0, s, AuditResult.Ok);
    }

    /// @dev None is not a result.
    function test_attest_noResult_reverts() public {
        Held memory s = _held(id, 0);
        vm.expectRevert(IAuditRegistry.NoResult.selector);
        _attestAs(auditor, 0, s, AuditResult.None);
    }

    /// @dev Only the current commitment can be attested: a wrong root, end state or block, or an
    ///      uncommitted segment, reverts.
    function test_attest_notCurrentCommitment_reverts() public {
        Held memory s = _held(id, 0);
        vm.startPrank(auditor);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditRegistry.NotCurrentCommitment.selector, id, 0, bytes32(uint256(1)), s.committedAt)
        );
        registry.attest(id, 0, bytes32(uint256(1)), s.endStateHash, s.committedAt, AuditResult.Ok);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditRegistry.NotCurrentCommitment.selector, id, 0, s.traceRoot, s.committedAt)
        );
        registry.attest(id, 0, s.traceRoot, keccak256("other end"), s.committedAt, AuditResult.Ok);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditRegistry.NotCurrentCommitment.selector, id, 0, s.traceRoot, s.committedAt - 1)
        );
        registry.attest(id, 0, s.traceRoot, s.endStateHash, s.committedAt - 1, AuditResult.Ok);
        vm.expectRevert(abi.encodeWithSelector(IAuditRegistry.NotCurrentCommitment.selector, id, 1, s.traceRoot, 0));
        registry.attest(id, 1, s.traceRoot, s.endStateHash, 0, AuditResult.Ok);
        vm.stopPrank();
    }

    /// @dev After a lost dispute reopens the task, the old commitment's attestations no longer
    ///      apply: the recommitted segment starts at zero and the old one cannot be attested.
    function test_attest_afterReopen_recommitStartsAtZero_succeeds() public {
        TaskId cheat = _createTask();
        id = cheat;
        vm.prank(node2);
        market.claimTask(cheat);
        bytes32[] memory bad = _commit(cheat, 0, 5, node2);
        bytes32 old = _commitment(0);
        Held memory s = _held(cheat, 0);
        _attest(auditor, 0, AuditResult.Fault);
        DisputeId d = _open(cheat, 0, 5, bad);
        _voteAll(d, _draw(d), Traces.honestLeaf(TaskId.unwrap(cheat), 5));
        jury.resolve(d);
        vm.prank(auditor2);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditRegistry.NotCurrentCommitment.selector, cheat, 0, s.traceRoot, s.committedAt)
        );
        registry.attest(cheat, 0, s.traceRoot, s.endStateHash, s.committedAt, AuditResult.Ok);
        vm.prank(node);
        market.claimTask(cheat);
        _commit(cheat, 0, 0, node);
        (uint256 ok, uint256 fault) = registry.counts(_commitment(0));
        assertEq(ok + fault, 0);
        _attest(auditor, 0, AuditResult.Ok);
        (ok,) = registry.counts(_commitment(0));
        assertEq(ok, 1);
        (, fault) = registry.counts(old);
        assertEq(fault, 1);
    }

    /// @dev The constructor refuses zero addresses.
    function test_constructor_zeroAddress_reverts() public {
        vm.expectRevert(IAuditRegistry.ZeroAddress.selector);
        new AuditRegistry(address(0), address(stakes), 1);
    }

    /// @dev An attestation stays cheap (per call, measured inside the test).
    function test_gas_attest_succeeds() public {
        Held memory s = _held(id, 0);
        uint256 g = gasleft();
        vm.prank(auditor);
        registry.attest(id, 0, s.traceRoot, s.endStateHash, s.committedAt, AuditResult.Ok);
        uint256 used = g - gasleft();
        emit log_named_uint("attest", used);
        assertLe(used, 80_000, "attest");
    }
}
