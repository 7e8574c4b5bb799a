// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {Float32Math} from "../../src/libraries/Float32Math.sol";
import {Float32Cheats} from "./Float32Cheats.sol";

/// @notice Float32 and Float32Math against tests/vectors/float32/vectors.json: results of the real
///         x86 instructions and the compiled C kernels (make_vectors.py writes the file).
contract Float32VectorsTest is Test {
    Float32Cheats internal constant CHEATS = Float32Cheats(address(vm));
    string internal json;

    enum Op {
        Add,
        Sub,
        Mul,
        Div,
        Sqrt,
        Fma,
        Max,
        Min,
        FromInt,
        ToInt,
        Exp,
        Log,
        Erf,
        Gelu
    }

    function setUp() public {
        json = vm.readFile("tests/vectors/float32/vectors.json");
    }

    function _col(string memory op, string memory col) internal view returns (uint256[] memory) {
        return CHEATS.parseJsonUintArray(json, string.concat(".", op, ".", col));
    }

    /// @dev The library's answer for one case (b and c unused by the unary operations).
    function _apply(Op op, uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        if (op == Op.Add) return Float32.add(a, b);
        if (op == Op.Sub) return Float32.sub(a, b);
        if (op == Op.Mul) return Float32.mul(a, b);
        if (op == Op.Div) return Float32.div(a, b);
        if (op == Op.Sqrt) return Float32.sqrt(a);
        if (op == Op.Fma) return Float32.fma(a, b, c);
        if (op == Op.Max) return Float32.max(a, b);
        if (op == Op.Min) return Float32.min(a, b);
        if (op == Op.FromInt) return Float32.fromInt(int32(a));
        if (op == Op.ToInt) return uint32(Float32.toInt(a));
        if (op == Op.Exp) return Float32Math.exp(a);
        if (op == Op.Log) return Float32Math.log(a);
        if (op == Op.Erf) return Float32Math.erf(a);
        return Float32Math.gelu(a);
    }

    function _check(Op op, string memory name, uint256 arity) internal view {
        uint256[] memory a = _col(name, "a");
        uint256[] memory b = arity > 1 ? _col(name, "b") : a;
        uint256[] memory c = arity > 2 ? _col(name, "c") : a;
        uint256[] memory r = _col(name, "r");
        assertGt(a.length, 100);
        for (uint256 i; i < a.length; ++i) {
            uint32 got = _apply(op, uint32(a[i]), uint32(b[i]), uint32(c[i]));
            if (got != r[i]) {
                fail(string.concat(name, " case ", vm.toString(i), ": a=", vm.toString(bytes32(a[i])),
                    " b=", vm.toString(bytes32(b[i])), " got ", vm.toString(bytes32(uint256(got))),
                    " want ", vm.toString(bytes32(r[i]))));
            }
        }
    }

    /// @dev addss on edge classes and random operands.
    function test_add_vectors_succeeds() public view {
        _check(Op.Add, "add", 2);
    }

    /// @dev subss.
    function test_sub_vectors_succeeds() public view {
        _check(Op.Sub, "sub", 2);
    }

    /// @dev mulss.
    function test_mul_vectors_succeeds() public view {
        _check(Op.Mul, "mul", 2);
    }

    /// @dev divss.
    function test_div_vectors_succeeds() public view {
        _check(Op.Div, "div", 2);
    }

    /// @dev sqrtss.
    function test_sqrt_vectors_succeeds() public view {
        _check(Op.Sqrt, "sqrt", 1);
    }

    /// @dev glibc fmaf values, first-NaN-of-(a, b, c) rule.
    function test_fma_vectors_succeeds() public view {
        _check(Op.Fma, "fma", 3);
    }

    /// @dev maxss.
    function test_max_vectors_succeeds() public view {
        _check(Op.Max, "max", 2);
    }

    /// @dev minss.
    function test_min_vectors_succeeds() public view {
        _check(Op.Min, "min", 2);
    }

    /// @dev cvtsi2ss on int32 inputs.
    function test_fromInt_vectors_succeeds() public view {
        _check(Op.FromInt, "cvtsi2ss", 1);
    }

    /// @dev cvttss2si.
    function test_toInt_vectors_succeeds() public view {
        _check(Op.ToInt, "cvttss2si", 1);
    }

    /// @dev rk_exp from the compiled kernels.
    function test_exp_vectors_succeeds() public view {
        _check(Op.Exp, "exp", 1);
    }

    /// @dev rk_log.
    function test_log_vectors_succeeds() public view {
        _check(Op.Log, "log", 1);
    }

    /// @dev rk_erf.
    function test_erf_vectors_succeeds() public view {
        _check(Op.Erf, "erf", 1);
    }

    /// @dev rk_gelu.
    function test_gelu_vectors_succeeds() public view {
        _check(Op.Gelu, "gelu", 1);
    }

    /// @dev lt (bit 0), le (bit 1) and eq (bit 2) against numpy's IEEE comparisons.
    function test_compare_vectors_succeeds() public view {
        uint256[] memory a = _col("compare", "a");
        uint256[] memory b = _col("compare", "b");
        uint256[] memory r = _col("compare", "r");
        for (uint256 i; i < a.length; ++i) {
            (uint32 x, uint32 y) = (uint32(a[i]), uint32(b[i]));
            uint256 got = (Float32.lt(x, y) ? 1 : 0) | (Float32.le(x, y) ? 2 : 0)
                | (Float32.eq(x, y) ? 4 : 0);
            assertEq(got, r[i], string.concat("compare case ", vm.toString(i)));
        }
    }
}
