/* The x86 SSE scalar instructions the Float32 library must match, with the operand order fixed
 * by inline assembly (a C compiler may swap the operands of a commutative operation, which
 * changes which NaN comes out). Reads little-endian uint32 operands from stdin (arity per op,
 * interleaved), writes one uint32 result per case to stdout.
 *   usage: sse_ops OP     OP in add sub mul div sqrt cvtsi2ss cvttss2si maxss minss
 * The default MXCSR (round to nearest even, no FTZ/DAZ) is what a fresh process has. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint32_t (*op_fn)(const uint32_t *in);

static float f_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t u_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* "op b, a" in AT&T syntax is Intel "op a, b": a is the first source and the destination. */
#define SSE_BINARY(name, insn)                                                        \
    static uint32_t name(const uint32_t *in) {                                        \
        float a = f_of(in[0]), b = f_of(in[1]);                                       \
        __asm__(insn " %1, %0" : "+x"(a) : "x"(b));                                   \
        return u_of(a);                                                               \
    }
SSE_BINARY(op_add, "addss")
SSE_BINARY(op_sub, "subss")
SSE_BINARY(op_mul, "mulss")
SSE_BINARY(op_div, "divss")
SSE_BINARY(op_max, "maxss")
SSE_BINARY(op_min, "minss")

static uint32_t op_sqrt(const uint32_t *in) {
    float a = f_of(in[0]), r;
    __asm__("sqrtss %1, %0" : "=x"(r) : "x"(a));
    return u_of(r);
}

static uint32_t op_cvtsi2ss(const uint32_t *in) {
    int32_t i = (int32_t)in[0];
    float r;
    __asm__("cvtsi2ssl %1, %0" : "=x"(r) : "r"(i));
    return u_of(r);
}

static uint32_t op_cvttss2si(const uint32_t *in) {
    float a = f_of(in[0]);
    int32_t r;
    __asm__("cvttss2si %1, %0" : "=r"(r) : "x"(a));
    return (uint32_t)r;
}

int main(int argc, char **argv) {
    static const struct { const char *name; op_fn fn; int arity; } ops[] = {
        {"add", op_add, 2}, {"sub", op_sub, 2}, {"mul", op_mul, 2}, {"div", op_div, 2},
        {"maxss", op_max, 2}, {"minss", op_min, 2}, {"sqrt", op_sqrt, 1},
        {"cvtsi2ss", op_cvtsi2ss, 1}, {"cvttss2si", op_cvttss2si, 1},
    };
    if (argc != 2) { fprintf(stderr, "usage: sse_ops OP\n"); return 2; }
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (strcmp(argv[1], ops[k].name) != 0) continue;
        uint32_t in[3], out;
        while (fread(in, 4, (size_t)ops[k].arity, stdin) == (size_t)ops[k].arity) {
            out = ops[k].fn(in);
            fwrite(&out, 4, 1, stdout);
        }
        return 0;
    }
    fprintf(stderr, "sse_ops: unknown op %s\n", argv[1]);
    return 2;
}
