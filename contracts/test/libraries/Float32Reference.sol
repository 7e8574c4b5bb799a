// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Float32Reference
/// @notice A slow, plain second implementation of binary32 arithmetic for the fuzz tests: no
///         assembly, signed exponents, rounding one dropped bit at a time with an explicit guard
///         and sticky bit, a digit-by-digit square root. It shares no code with `Float32`.
library Float32Reference {
    uint32 internal constant QNAN_BIT = 0x400000;
    uint32 internal constant DEFAULT_NAN = 0xFFC00000;
    uint32 internal constant INF = 0x7F800000;

    struct Num {
        bool neg;
        uint256 m;
        int256 e; // value = (-1)^neg * m * 2^e
    }

    function isNaN(uint32 x) internal pure returns (bool) {
        return (x & 0x7FFFFFFF) > INF;
    }

    function isInf(uint32 x) internal pure returns (bool) {
        return (x & 0x7FFFFFFF) == INF;
    }

    function isZero(uint32 x) internal pure returns (bool) {
        return (x & 0x7FFFFFFF) == 0;
    }

    function decode(uint32 x) internal pure returns (Num memory n) {
        n.neg = x >= 0x80000000;
        uint256 field = (x >> 23) & 0xFF;
        uint256 frac = x & 0x7FFFFF;
        if (field == 0) {
            n.m = frac;
            n.e = -149;
        } else {
            n.m = frac + (1 << 23);
            n.e = int256(field) - 150;
        }
    }

    /// @dev Rounds (-1)^neg * (m + (sticky ? a positive amount below 1 : 0)) * 2^e to binary32.
    function round(bool neg, uint256 m, int256 e, bool sticky) internal pure returns (uint32) {
        uint32 sign = neg ? 0x80000000 : 0;
        if (m == 0 && !sticky) return sign;
        // gain precision where it is free
        while (!sticky && m != 0 && m < (1 << 23) && e > -149) {
            m <<= 1;
            e -= 1;
        }
        bool guard;
        while (m >= (1 << 24) || e < -149) {
            sticky = sticky || guard;
            guard = m & 1 == 1;
            m >>= 1;
            e += 1;
            if (m == 0 && e > -149) break;
        }
        if (guard && (sticky || m & 1 == 1)) {
            m += 1;
            if (m == (1 << 24)) {
                m = 1 << 23;
                e += 1;
            }
        }
        if (m < (1 << 23)) return sign | uint32(m); // subnormal (e == -149) or zero
        int256 biased = e + 150;
        if (biased >= 255) return sign | INF;
        return sign | uint32(uint256(biased) << 23) | uint32(m - (1 << 23));
    }

    function add(uint32 a, uint32 b) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isNaN(b)) return b | QNAN_BIT;
        if (isInf(a) && isInf(b)) return a == b ? a : DEFAULT_NAN;
        if (isInf(a)) return a;
        if (isInf(b)) return b;
        if (isZero(a) && isZero(b)) return a & b; // -0 only when both are -0
        if ((a & 0x7FFFFFFF) < (b & 0x7FFFFFFF)) (a, b) = (b, a);
        Num memory x = decode(a);
        Num memory y = decode(b);
        // far apart: the smaller is under 2^-26 ulp of the (normal) larger and cannot matter
        if (x.e - y.e > 50) return a;
        uint256 big = x.m << uint256(x.e - y.e);
        int256 vx = x.neg ? -int256(big) : int256(big);
        int256 vy = y.neg ? -int256(y.m) : int256(y.m);
        int256 v = vx + vy;
        if (v == 0) return 0;
        return round(v < 0, uint256(v < 0 ? -v : v), y.e, false);
    }

    function sub(uint32 a, uint32 b) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isNaN(b)) return b | QNAN_BIT;
        return add(a, b ^ 0x80000000);
    }

    function mul(uint32 a, uint32 b) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isNaN(b)) return b | QNAN_BIT;
        uint32 sign = (a ^ b) & 0x80000000;
        if (isInf(a) || isInf(b)) return (isZero(a) || isZero(b)) ? DEFAULT_NAN : sign | INF;
        Num memory x = decode(a);
        Num memory y = decode(b);
        return round(sign != 0, x.m * y.m, x.e + y.e, false);
    }

    function div(uint32 a, uint32 b) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isNaN(b)) return b | QNAN_BIT;
        uint32 sign = (a ^ b) & 0x80000000;
        if ((isInf(a) && isInf(b)) || (isZero(a) && isZero(b))) return DEFAULT_NAN;
        if (isInf(a) || isZero(b)) return sign | INF;
        if (isInf(b) || isZero(a)) return sign;
        Num memory x = decode(a);
        Num memory y = decode(b);
        uint256 num = x.m << 100;
        return round(sign != 0, num / y.m, x.e - y.e - 100, num % y.m != 0);
    }

    /// @dev floor(sqrt(n)), one result bit at a time from the top.
    function isqrt(uint256 n) internal pure returns (uint256 r) {
        for (uint256 bit = 1 << 126; bit != 0; bit >>= 1) {
            uint256 c = r | bit;
            if (c * c <= n) r = c;
        }
    }

    function sqrt(uint32 a) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isZero(a)) return a;
        if (a >= 0x80000000) return DEFAULT_NAN;
        if (a == INF) return a;
        Num memory x = decode(a);
        uint256 shift = 100 + (x.e % 2 != 0 ? 1 : 0);
        uint256 n = x.m << shift;
        uint256 r = isqrt(n);
        return round(false, r, (x.e - int256(shift)) / 2, r * r != n);
    }

    function fma(uint32 a, uint32 b, uint32 c) internal pure returns (uint32) {
        if (isNaN(a)) return a | QNAN_BIT;
        if (isNaN(b)) return b | QNAN_BIT;
        if (isNaN(c)) return c | QNAN_BIT;
        bool pneg = ((a ^ b) & 0x80000000) != 0;
        if (isInf(a) || isInf(b)) {
            if (isZero(a) || isZero(b)) return DEFAULT_NAN;
            uint32 p = (pneg ? 0x80000000 : 0) | INF;
            return isInf(c) && c != p ? DEFAULT_NAN : p;
        }
        if (isInf(c)) return c;
        Num memory x = decode(a);
        Num memory y = decode(b);
        Num memory z = decode(c);
        uint256 pm = x.m * y.m;
        int256 pe = x.e + y.e;
        if (pm == 0) return add(pneg ? 0x80000000 : 0, c);
        if (z.m == 0) return round(pneg, pm, pe, false);
        if (pe - z.e > 150) return round(pneg, pneg == z.neg ? pm << 2 : (pm << 2) - 1, pe - 2, true);
        if (z.e - pe > 150) {
            return round(z.neg, pneg == z.neg ? z.m << 2 : (z.m << 2) - 1, z.e - 2, true);
        }
        int256 e = pe < z.e ? pe : z.e;
        int256 vp = int256(pm << uint256(pe - e));
        int256 vz = int256(z.m << uint256(z.e - e));
        int256 v = (pneg ? -vp : vp) + (z.neg ? -vz : vz);
        if (v == 0) return 0;
        return round(v < 0, uint256(v < 0 ? -v : v), e, false);
    }

    function fromInt(int64 i) internal pure returns (uint32) {
        return round(i < 0, uint256(i < 0 ? -int256(i) : int256(i)), 0, false);
    }
}
