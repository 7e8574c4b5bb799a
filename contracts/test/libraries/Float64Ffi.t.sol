// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../base/Test.sol";
import {Float64} from "../../src/libraries/Float64.sol";
import {Float32Cheats} from "./Float32Cheats.sol";

/// @notice The ci profile's differential run of Float64: F64_FFI_CASES (default 200,000) cases
///         per operation, fetched in batches from tests/vectors/float64/ffi_cases.py through
///         vm.ffi (Python's float and numpy computing the expected bits). Skipped outside
///         `FOUNDRY_PROFILE=ci`, the only profile with ffi enabled.
contract Float64FfiTest is Test {
    Float32Cheats internal constant CHEATS = Float32Cheats(address(vm));
    uint256 internal constant BATCH = 10_000;

    function _skipUnlessCi() internal returns (uint256 total) {
        bool ci = keccak256(bytes(CHEATS.envOr("FOUNDRY_PROFILE", string("default"))))
            == keccak256("ci");
        vm.skip(!ci);
        total = CHEATS.envOr("F64_FFI_CASES", uint256(200_000));
    }

    function _apply(bytes32 op, uint256 a, uint256 b) internal pure returns (uint256) {
        if (op == "add") return Float64.add(uint64(a), uint64(b));
        if (op == "div") return Float64.div(uint64(a), uint64(b));
        if (op == "min") return Float64.pyMin(uint64(a), uint64(b));
        if (op == "sqrt") return Float64.sqrt(uint64(a));
        if (op == "to_f32") return Float64.toFloat32(uint64(a));
        return Float64.fromFloat32(uint32(a));
    }

    /// @dev One batch in its own call frame (fresh memory); returns how many cases it checked.
    function checkBatch(string calldata op, uint256 seed, uint256 n) external returns (uint256) {
        string[] memory cmd = new string[](5);
        cmd[0] = ".venv/bin/python";
        cmd[1] = "tests/vectors/float64/ffi_cases.py";
        cmd[2] = op;
        cmd[3] = vm.toString(seed);
        cmd[4] = vm.toString(n);
        (uint256[] memory a, uint256[] memory b, uint256[] memory r) =
            abi.decode(CHEATS.ffi(cmd), (uint256[], uint256[], uint256[]));
        bytes32 key = bytes32(bytes(op));
        for (uint256 i; i < a.length; ++i) {
            uint256 got = _apply(key, a[i], b[i]);
            if (got != r[i]) {
                fail(string.concat(op, " seed ", vm.toString(seed), " case ", vm.toString(i), ": a=",
                    vm.toString(bytes32(a[i])), " b=", vm.toString(bytes32(b[i])), " got ",
                    vm.toString(bytes32(got))));
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

    /// @dev addsd.
    function test_add_ffi_succeeds() public {
        _run("add");
    }

    /// @dev divsd.
    function test_div_ffi_succeeds() public {
        _run("div");
    }

    /// @dev Python's min.
    function test_pyMin_ffi_succeeds() public {
        _run("min");
    }

    /// @dev sqrtsd.
    function test_sqrt_ffi_succeeds() public {
        _run("sqrt");
    }

    /// @dev cvtsd2ss.
    function test_toFloat32_ffi_succeeds() public {
        _run("to_f32");
    }

    /// @dev cvtss2sd.
    function test_fromFloat32_ffi_succeeds() public {
        _run("to_f64");
    }
}
