// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float64} from "../../src/libraries/Float64.sol";

/// @notice Float64 against tests/vectors/float64/vectors.json: results of Python's float and
///         numpy's float32/float64 casts, NaNs by the x86 rule (make_vectors.py writes the file).
contract Float64VectorsTest is Test {
    string internal constant PATH = "tests/vectors/float64/vectors.json";

    enum Op {
        Add,
        Div,
        Sqrt,
        PyMin,
        ToF32,
        ToF64
    }

    function _apply(Op op, uint256 a, uint256 b) internal pure returns (uint256) {
        if (op == Op.Add) return Float64.add(uint64(a), uint64(b));
        if (op == Op.Div) return Float64.div(uint64(a), uint64(b));
        if (op == Op.Sqrt) return Float64.sqrt(uint64(a));
        if (op == Op.PyMin) return Float64.pyMin(uint64(a), uint64(b));
        if (op == Op.ToF32) return Float64.toFloat32(uint64(a));
        return Float64.fromFloat32(uint32(a));
    }

    function _check(Op op, string memory name, uint256 least) internal view {
        // read here, not kept in storage (1.7 MB)
        string memory json = vm.readFile(PATH);
        bytes memory raw = vm.parseJsonBytes(json, string.concat(".ops.", name, ".abi"));
        (uint256[] memory a, uint256[] memory b, uint256[] memory r) =
            abi.decode(raw, (uint256[], uint256[], uint256[]));
        assertGe(a.length, least, "cases");
        assertEq(a.length, vm.parseJsonUint(json, string.concat(".ops.", name, ".count")));
        for (uint256 i; i < a.length; ++i) {
            uint256 got = _apply(op, a[i], b[i]);
            if (got != r[i]) {
                fail(string.concat(name, " case ", vm.toString(i), ": a=", vm.toString(bytes32(a[i])),
                    " b=", vm.toString(bytes32(b[i])), " got ", vm.toString(bytes32(got)),
                    " want ", vm.toString(bytes32(r[i]))));
            }
        }
    }

    /// @dev addsd: specials x specials, ties, carries, cancellation, sticky terms, random.
    function test_add_vectors_succeeds() public view {
        _check(Op.Add, "add", 1500);
    }

    /// @dev divsd: specials, underflow to subnormals and zero, overflow, exact quotients.
    function test_div_vectors_succeeds() public view {
        _check(Op.Div, "div", 1500);
    }

    /// @dev sqrtsd: negatives (default NaN), subnormals, squares and their neighbours.
    function test_sqrt_vectors_succeeds() public view {
        _check(Op.Sqrt, "sqrt", 1000);
    }

    /// @dev Python's min(a, b) (b < a ? b : a) on specials and random pairs.
    function test_pyMin_vectors_succeeds() public view {
        _check(Op.PyMin, "min", 1000);
    }

    /// @dev cvtsd2ss: ties to even (normal and subnormal), the overflow boundary, NaN payloads.
    function test_toFloat32_vectors_succeeds() public view {
        _check(Op.ToF32, "to_f32", 1000);
    }

    /// @dev cvtss2sd: exact widening of every subnormal top bit, specials, NaN payloads.
    function test_fromFloat32_vectors_succeeds() public view {
        _check(Op.ToF64, "to_f64", 500);
    }

    /// @dev Spot values: 1 + 2^-53 is a tie (to even: 1), 2^-1074 / 2 ties to 0, sqrt(-0) = -0.
    function test_add_tieToEven_succeeds() public pure {
        assertEq(Float64.add(Float64.ONE, 0x3CA0000000000000), Float64.ONE);
        assertEq(Float64.add(Float64.ONE, 0x3CB8000000000000), 0x3FF0000000000002);
        assertEq(Float64.div(1, 0x4000000000000000), 0);
        assertEq(Float64.div(3, 0x4000000000000000), 2);
        assertEq(Float64.sqrt(Float64.SIGN), Float64.SIGN);
        assertEq(Float64.sqrt(0xBFF0000000000000), Float64.DEFAULT_NAN);
        assertEq(Float64.add(Float64.POS_INF, Float64.NEG_INF), Float64.DEFAULT_NAN);
    }

    /// @dev A value survives the round trip float32 -> binary64 -> float32 bit for bit.
    function testFuzz_roundTrip_succeeds(uint32 a) public pure {
        uint32 back = Float64.toFloat32(Float64.fromFloat32(a));
        // a NaN comes back quieted, everything else unchanged
        bool nan = a & 0x7FFFFFFF > 0x7F800000;
        assertEq(back, nan ? a | 0x400000 : a);
    }
}
