// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float32} from "../../src/libraries/Float32.sol";
import {Float32Math} from "../../src/libraries/Float32Math.sol";
import {Float32Cheats} from "./Float32Cheats.sol";

/// @notice The ci profile's large differential run: F32_FFI_CASES (default 10^6) cases per
///         operation, fetched in batches from tests/vectors/float32/ffi_cases.py through vm.ffi
///         (x86 instructions and compiled kernels computing the expected bits). Skipped outside
///         `FOUNDRY_PROFILE=ci`, the only profile with ffi enabled.
contract Float32FfiTest is Test {
    Float32Cheats internal constant CHEATS = Float32Cheats(address(vm));
    uint256 internal constant BATCH = 10_000;

    function _skipUnlessCi() internal returns (uint256 total) {
        bool ci = keccak256(bytes(CHEATS.envOr("FOUNDRY_PROFILE", string("default"))))
            == keccak256("ci");
        vm.skip(!ci);
        total = CHEATS.envOr("F32_FFI_CASES", uint256(1_000_000));
    }

    function _apply(bytes32 op, uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        if (op == "add") return Float32.add(a, b);
        if (op == "sub") return Float32.sub(a, b);
        if (op == "mul") return Float32.mul(a, b);
        if (op == "div") return Float32.div(a, b);
        if (op == "fma") return Float32.fma(a, b, c);
        if (op == "sqrt") return Float32.sqrt(a);
        if (op == "cvtsi2ss") return Float32.fromInt(int32(a));
        if (op == "cvttss2si") return uint32(Float32.toInt(a));
        if (op == "exp") return Float32Math.exp(a);
        if (op == "log") return Float32Math.log(a);
        if (op == "erf") return Float32Math.erf(a);
        return Float32Math.gelu(a);
    }

    /// @dev One batch in its own call frame (fresh memory); returns how many cases it checked.
    function checkBatch(string calldata op, uint256 seed, uint256 n) external returns (uint256) {
        string[] memory cmd = new string[](5);
        cmd[0] = ".venv/bin/python";
        cmd[1] = "tests/vectors/float32/ffi_cases.py";
        cmd[2] = op;
        cmd[3] = vm.toString(seed);
        cmd[4] = vm.toString(n);
        (uint256[] memory a, uint256[] memory b, uint256[] memory c, uint256[] memory r) =
            abi.decode(CHEATS.ffi(cmd), (uint256[], uint256[], uint256[], uint256[]));
        bytes32 key = bytes32(bytes(op));
        for (uint256 i; i < a.length; ++i) {
            uint32 got = _apply(key, uint32(a[i]), uint32(b[i]), uint32(c[i]));
            if (got != r[i]) {
                fail(string.concat(op, " seed ", vm.toString(seed), " case ", vm.toString(i), ": a=",
                    vm.toString(bytes32(a[i])), " got ", vm.toString(bytes32(uint256(got)))));
            }
        }
        return a.length;
    }

    function _run(string memory op) internal {
        uint256 total = _skipUnlessCi();
        uint256 done;
        for (uint256 seed = 1; done < total; ++seed) {
            uint256 n = total - done < BATCH ? total - done : BATCH;
            done += this.checkBatch(op, seed, n);
        }
        assertGe(done, total);
    }

    /// @dev addss, F32_FFI_CASES cases.
    function test_add_ffi_succeeds() public {
        _run("add");
    }

    /// @dev subss.
    function test_sub_ffi_succeeds() public {
        _run("sub");
    }

    /// @dev mulss.
    function test_mul_ffi_succeeds() public {
        _run("mul");
    }

    /// @dev divss.
    function test_div_ffi_succeeds() public {
        _run("div");
    }

    /// @dev fma (glibc fmaf).
    function test_fma_ffi_succeeds() public {
        _run("fma");
    }

    /// @dev sqrtss.
    function test_sqrt_ffi_succeeds() public {
        _run("sqrt");
    }

    /// @dev cvtsi2ss.
    function test_fromInt_ffi_succeeds() public {
        _run("cvtsi2ss");
    }

    /// @dev cvttss2si.
    function test_toInt_ffi_succeeds() public {
        _run("cvttss2si");
    }

    /// @dev rk_exp.
    function test_exp_ffi_succeeds() public {
        _run("exp");
    }

    /// @dev rk_log.
    function test_log_ffi_succeeds() public {
        _run("log");
    }

    /// @dev rk_erf.
    function test_erf_ffi_succeeds() public {
        _run("erf");
    }

    /// @dev rk_gelu.
    function test_gelu_ffi_succeeds() public {
        _run("gelu");
    }
}
