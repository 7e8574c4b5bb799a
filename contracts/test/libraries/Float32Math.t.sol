// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float32Math} from "../../src/libraries/Float32Math.sol";
import {Float32Cheats} from "./Float32Cheats.sol";

/// @notice exp, log, erf and GELU: named cases (expected bits taken from the compiled C kernels)
///         and fuzz tests that draw random cases from the committed vectors.
contract Float32MathTest is Test {
    Float32Cheats internal constant CHEATS = Float32Cheats(address(vm));
    uint32 internal constant SNAN = 0x7F800001;

    /// @dev exp(1) and exp(-1) have the C kernel's bits.
    function test_exp_one_succeeds() public pure {
        assertEq(Float32Math.exp(0x3F800000), 0x402DF854);
        assertEq(Float32Math.exp(0xBF800000), 0x3EBC5AB2);
        assertEq(Float32Math.exp(0x80000000), 0x3F800000);
    }

    /// @dev exp clamps: 0 below -87.33654, +inf above 88.72283.
    function test_exp_clamps_succeeds() public pure {
        assertEq(Float32Math.exp(0xC2AEAC50), 0);
        assertEq(Float32Math.exp(0x42B17218), 0x7F800000);
        assertEq(Float32Math.exp(0xFF800000), 0);
    }

    /// @dev exp and log return a NaN input unchanged (a select in C, not an arithmetic op).
    function test_expLog_nanPassesThrough_succeeds() public pure {
        assertEq(Float32Math.exp(SNAN), SNAN);
        assertEq(Float32Math.log(0xFFA5A5A5), 0xFFA5A5A5);
    }

    /// @dev log(1) = 0, log(0.5), log of the smallest subnormal (scaled path).
    function test_log_values_succeeds() public pure {
        assertEq(Float32Math.log(0x3F800000), 0);
        assertEq(Float32Math.log(0x3F000000), 0xBF317218);
        assertEq(Float32Math.log(0x00000001), 0xC2CE8ED0);
        assertEq(Float32Math.log(0x3FB504F4), 0x3EB1721A);
    }

    /// @dev log(±0) = -inf, log(negative) = C's NAN 0x7FC00000 (positive), log(+inf) = +inf.
    function test_log_specials_succeeds() public pure {
        assertEq(Float32Math.log(0x80000000), 0xFF800000);
        assertEq(Float32Math.log(0xBF800000), 0x7FC00000);
        assertEq(Float32Math.log(0xFF800000), 0x7FC00000);
        assertEq(Float32Math.log(0x7F800000), 0x7F800000);
    }

    /// @dev erf on both branches and the ±1 plateau; signed zero kept.
    function test_erf_branches_succeeds() public pure {
        assertEq(Float32Math.erf(0x3F000000), 0x3F053F7B);
        assertEq(Float32Math.erf(0xBF800000), 0xBF57BB3C);
        assertEq(Float32Math.erf(0xC0A00000), 0xBF800000);
        assertEq(Float32Math.erf(0x80000000), 0x80000000);
    }

    /// @dev erf of a NaN is |x| quieted, as the SSE build computes 1 - (q*t) * exp(-x*x).
    function test_erf_nan_succeeds() public pure {
        assertEq(Float32Math.erf(0xFFA5A5A5), 0x7FE5A5A5);
    }

    /// @dev GELU values, and a NaN keeps its sign (0.5f * v is the first operand).
    function test_gelu_values_succeeds() public pure {
        assertEq(Float32Math.gelu(0x3F800000), 0x3F57625F);
        assertEq(Float32Math.gelu(0x40A00000), 0x409FFFFD);
        assertEq(Float32Math.gelu(0xC0A00000), 0xB5C80000);
        assertEq(Float32Math.gelu(0xFFC12345), 0xFFC12345);
    }

    /// @dev The committed cases of each function, read once (the fuzz runs share them).
    mapping(bytes32 op => uint256[]) internal inputs;
    mapping(bytes32 op => uint256[]) internal outputs;

    function setUp() public {
        string memory json = vm.readFile("tests/vectors/float32/vectors.json");
        string[4] memory ops = ["exp", "log", "erf", "gelu"];
        for (uint256 k; k < ops.length; ++k) {
            bytes32 key = bytes32(bytes(ops[k]));
            inputs[key] = CHEATS.parseJsonUintArray(json, string.concat(".", ops[k], ".a"));
            outputs[key] = CHEATS.parseJsonUintArray(json, string.concat(".", ops[k], ".r"));
        }
    }

    function _vectorCase(bytes32 op, uint256 seed) internal view returns (uint32, uint32) {
        uint256 i = seed % inputs[op].length;
        return (uint32(inputs[op][i]), uint32(outputs[op][i]));
    }

    /// @dev exp on a random committed case.
    function testFuzz_exp_vectors_succeeds(uint256 seed) public view {
        (uint32 x, uint32 want) = _vectorCase("exp", seed);
        assertEq(Float32Math.exp(x), want);
    }

    /// @dev log on a random committed case.
    function testFuzz_log_vectors_succeeds(uint256 seed) public view {
        (uint32 x, uint32 want) = _vectorCase("log", seed);
        assertEq(Float32Math.log(x), want);
    }

    /// @dev erf on a random committed case.
    function testFuzz_erf_vectors_succeeds(uint256 seed) public view {
        (uint32 x, uint32 want) = _vectorCase("erf", seed);
        assertEq(Float32Math.erf(x), want);
    }

    /// @dev GELU on a random committed case.
    function testFuzz_gelu_vectors_succeeds(uint256 seed) public view {
        (uint32 x, uint32 want) = _vectorCase("gelu", seed);
        assertEq(Float32Math.gelu(x), want);
    }
}
