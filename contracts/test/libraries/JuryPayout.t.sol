// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {JuryPayout} from "../../src/libraries/JuryPayout.sol";
import {Outcome} from "../../src/types/Ids.sol";

contract JuryPayoutTest is Test {
    function _split(uint8 result, uint128 bond, uint128 slashed, uint256 cBps, uint256 fBps, uint256 jurors)
        internal
        pure
        returns (Outcome o, JuryPayout.Split memory x, uint256 s, uint256 j)
    {
        o = Outcome(bound(result, 1, 3));
        j = bound(jurors, 0, 32);
        s = o == Outcome.NodeWrong ? slashed : 0;
        x = JuryPayout.split(o, bond, s, bound(cBps, 0, 10_000), bound(fBps, 0, 10_000), j);
    }

    /// @dev Every token in (bond + slash) is paid out, in every outcome.
    function testFuzz_split_conservesTokens(uint8 r, uint128 bond, uint128 slashed, uint256 c, uint256 f, uint256 n)
        public
        pure
    {
        (, JuryPayout.Split memory x, uint256 s, uint256 j) = _split(r, bond, slashed, c, f, n);
        assertEq(x.toChallenger + x.toNode + x.perJuror * j + x.jurorDust, uint256(bond) + s);
    }

    /// @dev Only a NodeRight pays the node; only NodeWrong and Void pay the challenger.
    function testFuzz_split_partiesByOutcome(uint8 r, uint128 bond, uint128 slashed, uint256 c, uint256 f, uint256 n)
        public
        pure
    {
        (Outcome o, JuryPayout.Split memory x,,) = _split(r, bond, slashed, c, f, n);
        if (o != Outcome.NodeRight) assertEq(x.toNode, 0, "node paid outside NodeRight");
        if (o == Outcome.NodeRight) assertEq(x.toChallenger, 0, "losing challenger paid");
    }

    /// @dev Finding 4: with jurors to pay and a non-zero fee, jurors are paid in every outcome.
    function testFuzz_split_jurorsPaidEveryOutcome(uint8 r, uint128 bond, uint128 slashed, uint256 c, uint256 n)
        public
        pure
    {
        bond = uint128(bound(bond, 10_000, type(uint128).max));
        (, JuryPayout.Split memory x,, uint256 j) = _split(r, bond, slashed, c, 10_000, bound(n, 1, 32));
        assertGt(x.perJuror * j + x.jurorDust, 0);
    }

    /// @dev Void returns the bond less the fee to the challenger.
    function test_split_void_succeeds() public pure {
        JuryPayout.Split memory x = JuryPayout.split(Outcome.Void, 100, 0, 5000, 2000, 3);
        assertEq(x.toChallenger, 80);
        assertEq(x.perJuror * 3 + x.jurorDust, 20);
    }
}
