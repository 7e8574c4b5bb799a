// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {IJuryAdjudicator} from "../../src/interfaces/IJuryAdjudicator.sol";
import {DisputeState} from "../../src/libraries/DisputeState.sol";
import {JuryVote} from "../../src/libraries/JuryVote.sol";
import {DisputeId, DisputePhase, JuryParams, VoteView} from "../../src/types/Ids.sol";

contract JuryVoteTest is Test {
    DisputeId private constant ID = DisputeId.wrap(7);
    address private constant JUROR = address(0xA11CE);
    bytes32 private constant LEAF = keccak256("leaf");
    bytes32 private constant SALT = keccak256("salt");

    DisputeState.Dispute private _d;
    DisputeState.Vote private _v;
    JuryParams private _p;

    function setUp() public {
        vm.roll(100);
        _d.stage = DisputeState.Stage.Voting;
        _d.jurorCount = 3;
        _d.commitDeadline = 110;
        _d.revealDeadline = 120;
        _v.state = DisputeState.VoteState.Drawn;
        _p.drawExpiry = 10;
    }

    function commit(bytes32 c) external {
        JuryVote.commit(_d, _v, ID, JUROR, c, _p);
    }

    function reveal(bytes32 leaf, bytes32 salt) external {
        JuryVote.reveal(_d, _v, ID, JUROR, leaf, salt, _p);
    }

    function _committed() private {
        this.commit(JuryVote.commitment(ID, LEAF, SALT, JUROR));
    }

    /// @dev A commitment binds the dispute and the juror: another of either gives another hash.
    function test_commitment_otherJurorOrDispute_succeeds() public pure {
        bytes32 c = JuryVote.commitment(ID, LEAF, SALT, JUROR);
        assertEq(c, keccak256(abi.encode(ID, LEAF, SALT, JUROR)));
        assertTrue(c != JuryVote.commitment(ID, LEAF, SALT, address(0xB0B)));
        assertTrue(c != JuryVote.commitment(DisputeId.wrap(8), LEAF, SALT, JUROR));
    }

    /// @dev A drawn juror commits in the commit phase; the dispute counts the commit.
    function test_commit_drawnJuror_succeeds() public {
        _committed();
        assertEq(uint8(_v.state), uint8(DisputeState.VoteState.Committed));
        assertEq(_v.value, JuryVote.commitment(ID, LEAF, SALT, JUROR));
        assertEq(_d.commits, 1);
    }

    /// @dev No commit after the commit deadline: the dispute is in its reveal phase then.
    function test_commit_afterDeadline_reverts() public {
        vm.roll(111);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, ID, DisputePhase.Reveal));
        this.commit(bytes32(uint256(1)));
    }

    /// @dev An account that was not drawn cannot commit.
    function test_commit_notDrawn_reverts() public {
        _v.state = DisputeState.VoteState.None;
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotDrawnJuror.selector, ID, JUROR));
        this.commit(bytes32(uint256(1)));
    }

    /// @dev A juror commits once.
    function test_commit_twice_reverts() public {
        _committed();
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyCommitted.selector, ID, JUROR));
        this.commit(bytes32(uint256(1)));
    }

    /// @dev No reveal while other jurors may still commit (before the deadline, not all committed).
    function test_reveal_commitPhaseOpen_reverts() public {
        _committed();
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, ID, DisputePhase.Commit));
        this.reveal(LEAF, SALT);
    }

    /// @dev After the commit deadline the committed leaf is revealed and counted.
    function test_reveal_committedLeaf_succeeds() public {
        _committed();
        vm.roll(111);
        this.reveal(LEAF, SALT);
        assertEq(uint8(_v.state), uint8(DisputeState.VoteState.Revealed));
        assertEq(_v.value, LEAF);
        assertEq(_d.reveals, 1);
    }

    /// @dev Once every juror committed, the reveal opens before the commit deadline.
    function test_reveal_allCommitted_succeeds() public {
        _committed();
        _d.commits = _d.jurorCount;
        this.reveal(LEAF, SALT);
        assertEq(_d.reveals, 1);
    }

    /// @dev A leaf other than the committed one is refused.
    function test_reveal_otherLeaf_reverts() public {
        _committed();
        vm.roll(111);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.CommitmentMismatch.selector, ID, JUROR));
        this.reveal(keccak256("other"), SALT);
    }

    /// @dev A drawn juror that never committed has nothing to reveal.
    function test_reveal_uncommitted_reverts() public {
        vm.roll(111);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.NotCommitted.selector, ID, JUROR));
        this.reveal(LEAF, SALT);
    }

    /// @dev A ballot is revealed once.
    function test_reveal_twice_reverts() public {
        _committed();
        vm.roll(111);
        this.reveal(LEAF, SALT);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.AlreadyRevealed.selector, ID, JUROR));
        this.reveal(LEAF, SALT);
    }

    /// @dev No reveal after the reveal deadline.
    function test_reveal_afterDeadline_reverts() public {
        _committed();
        vm.roll(121);
        vm.expectRevert(abi.encodeWithSelector(IJuryAdjudicator.WrongPhase.selector, ID, DisputePhase.Resolvable));
        this.reveal(LEAF, SALT);
    }

    /// @dev The view shows the commitment while committed and only the leaf once revealed.
    function test_toView_committedThenRevealed_succeeds() public {
        _committed();
        VoteView memory c = JuryVote.toView(_v);
        assertTrue(c.committed && !c.revealed);
        assertEq(c.commitment, JuryVote.commitment(ID, LEAF, SALT, JUROR));
        assertEq(c.leaf, bytes32(0));
        vm.roll(111);
        this.reveal(LEAF, SALT);
        VoteView memory r = JuryVote.toView(_v);
        assertTrue(r.committed && r.revealed);
        assertEq(r.commitment, bytes32(0));
        assertEq(r.leaf, LEAF);
    }
}
