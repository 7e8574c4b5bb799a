// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {IOneStepAdjudicator, Opening} from "../../src/interfaces/IOneStepAdjudicator.sol";
import {StepEvaluator} from "../../src/referee/StepEvaluator.sol";
import {StepPrograms} from "../../src/referee/StepPrograms.sol";
import {StepOp} from "../../src/referee/StepOp.sol";

/// @notice The referee's input bindings on a real traced tiny step (keccak-v2 schedule, state
///         hash v2): tests/vectors/trace/batch_bindings.json from make_batch_vectors.py. Every
///         vector's operands, opened against the real dataset's sampleRoot, the state before and
///         opRoot, give binary32 results equal to the traced bits.
contract RefereeBatchVectorsTest is Test {
    StepEvaluator internal evaluator;
    string internal json;

    function setUp() public {
        evaluator = new StepEvaluator(new StepPrograms());
        json = vm.readFile("tests/vectors/trace/batch_bindings.json");
    }

    function _vector(uint256 i)
        internal
        view
        returns (StepEvaluator.Ctx memory c, StepOp memory op, bytes memory results, Opening[] memory w)
    {
        bytes memory raw = vm.parseJsonBytes(json, string.concat(".vectors[", vm.toString(i), "].abi"));
        (c, op, results, w) = abi.decode(raw, (StepEvaluator.Ctx, StepOp, bytes, Opening[]));
    }

    /// @dev Every vector evaluates to the node's (the tracer's) bits.
    function test_evaluate_realBatchVectors_succeeds() public view {
        uint256 n = vm.parseJsonUint(json, ".count");
        assertTrue(n > 0, "vectors");
        uint256 batchRows;
        for (uint256 i; i < n; ++i) {
            (StepEvaluator.Ctx memory c, StepOp memory op, bytes memory r, Opening[] memory w) = _vector(i);
            (, uint64 computed, uint64 claimed) = evaluator.evaluate(c, op, r, w);
            assertEq(computed, claimed, string.concat("vector ", vm.toString(i)));
            for (uint256 k; k < w.length; ++k) {
                if (w[k].dims.length == 0 && w[k].chunk.length == 4 * c.seqLen) ++batchRows;
            }
        }
        assertTrue(batchRows > 0, "batch rows opened against the dataset");
    }

    /// @dev A batch row with one token changed does not prove against sampleRoot.
    function test_evaluate_tamperedBatchRow_reverts() public {
        uint256 n = vm.parseJsonUint(json, ".count");
        for (uint256 i; i < n; ++i) {
            (StepEvaluator.Ctx memory c, StepOp memory op, bytes memory r, Opening[] memory w) = _vector(i);
            if (w.length == 0 || w[0].dims.length != 0 || w[0].chunk.length != 4 * c.seqLen) continue;
            w[0].chunk[0] = bytes1(uint8(w[0].chunk[0]) ^ 1);
            try evaluator.evaluate(c, op, r, w) {
                revert("a tampered row proved");
            } catch (bytes memory err) {
                assertEq(bytes4(err), IOneStepAdjudicator.InputNotProven.selector);
            }
            return;
        }
        revert("no vector opens a batch row first");
    }
}
