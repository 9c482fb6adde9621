/*
 * Fused loss and gradient-flow field of the two-layer network with sigma(s) = g(c s),
 * g one of tanh, sin and erf and c a real constant.
 *
 * For rows i in [start, stop) of the data (inputs X (n x d), weights p, targets y)
 * and parameters theta = [a (m), W (m x d, row-major)]:
 *
 *     u_ik = c w_k . x_i,   s_ik = g(u_ik),   e_i = sum_k a_k s_ik - y_i,   R = 1/2 sum_i p_i e_i^2,
 *     -dR/da_k  = -sum_i p_i e_i s_ik,
 *     -dR/dw_kj = -c a_k sum_i p_i e_i g'(u_ik) x_ij,
 *
 * with g' = 1 - g^2 for tanh, cos for sin and 2/sqrt(pi) exp(-u^2) for erf.  The
 * constant c is folded into the copy of W the kernel makes.
 *
 * The rows are taken ROW_BLOCK at a time (a short last block padded with zero rows).  One sweep
 * over the neurons, vectorised over them, loads the D entries of each neuron's w_k once and computes
 * the block's ROW_BLOCK x D pre-activations and their g (a small GEMM per block, the inputs held as
 * broadcast scalars) into a buffer of ROW_BLOCK x m that stays in cache (sin and erf fill a second
 * one with g'); the residuals follow, and a second sweep adds the block's share of the gradient, so
 * the n x m array of the NumPy path is never written.  For tanh, g' = 1 - g^2 is used as
 * c_j - sum_r b_rj s_rk^2 with b_rj = p_r e_r x_rj and c_j = sum_r b_rj, as in the NumPy path, so
 * that one transcendental function per entry suffices.
 *
 * tanh is computed inline (tanh_inline below, through expm1 with a polynomial: no call, so the sweep
 * keeps its values in registers); sin, cos, erf and exp come from glibc's vector math library
 * (libmvec, glibc >= 2.35 for erf) through their OpenMP "declare simd" variants.  The kernel is
 * compiled for AVX-512, AVX2 and baseline x86-64 with run-time dispatch, so one build runs on any
 * x86-64 machine.  setup.py builds this module only where that works; elsewhere
 * verify.multistage.engine.kernels uses the NumPy path.  The input dimension d and the activation
 * are compile-time constants of each kernel.
 *
 * The kernel exists in double and, on request (the precision argument), in float: the same loops in
 * _fused_rows.h, included once for each type, with a float inline tanh and libmvec's float vector
 * functions; the arguments, theta, the output and the loss stay double in both.
 *
 * The GIL is released during the loops: callers may run disjoint row ranges in
 * several threads, each with its own work array, and add up the outputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double erf(double);
#pragma omp declare simd notinbranch
float sinf(float);
#pragma omp declare simd notinbranch
float cosf(float);
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float erff(float);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* Raised whenever the calling convention changes, so that a stale build is not used. */
#define FUSED_VERSION 5
#define ROW_BLOCK 8 /* rows sharing one sweep over the gradient accumulators (16 spills registers) */
#define MAX_D 8     /* input dimensions with a kernel */
#define ALIGN 8     /* doubles per 64-byte cache line */

/* The activations g with a kernel (the codes are part of the calling convention). */
enum { ACT_TANH = 0, ACT_SIN = 1, ACT_ERF = 2, ACT_COUNT = 3 };

/* Doubles of work space: W^T, a, the gradient accumulators and the row buffers of g and g',
 * each row padded to a cache line, plus the slack used to align the start.  The float kernel's rows
 * (m rounded up to 16 floats) take at most as many bytes, so one work array serves both. */
static Py_ssize_t work_items(Py_ssize_t m, Py_ssize_t d)
{
    const Py_ssize_t ld = (m + ALIGN - 1) / ALIGN * ALIGN;
    return ld * (2 * d + 2 + 2 * ROW_BLOCK) + ALIGN;
}

#define KERNEL_ARGS const double *restrict X, const double *restrict p, const double *restrict y, \
                    const double *restrict theta, Py_ssize_t m, Py_ssize_t start, Py_ssize_t stop, \
                    double *restrict out, double *restrict work, double scale

/* tanh(x) inline, so that the loops over neurons keep their values in registers instead of calling
 * libmvec's vector tanh (1.8 ns a value against 0.76 ns for this one on the AVX-512 EPYC of
 * benchmarks/README.md): tanh|x| = -e / (2 + e) with e = expm1(-2u), u = |x|, and
 * expm1(-2u) = 2^k (1 + p) - 1 with k = round(-2u / ln 2), r = u + k ln 2 / 2 (|r| <= ln 2 / 4) and
 * p = expm1(-2r) = r (-2 + r Q(r)), Q(r) = 4 q(-2r) for q a degree-9 fit to (expm1(v) - v) / v^2 on
 * |v| <= ln 2 / 2 (mpmath's chebyfit, error 1.05e-16 in q, below 4e-17 relative in p; the powers of -2
 * scale its coefficients exactly).  k ln 2 / 2 takes ln 2's leading double only: the error, below
 * 58 * 2^-56 in r, is multiplied by 2^k in e and stays under 0.1 ulp.  For u <= 0.173 (k = 0) e = p,
 * so small arguments keep their relative accuracy; within 3 ulps of tanh over 2e7 arguments from 1e-7
 * to 25.  u is clamped at 20, where tanh is 1 in double; NaN propagates. */
static inline __attribute__((always_inline)) double tanh_inline(double x)
{
    const double u = fabs(x) > 20.0 ? 20.0 : fabs(x);                 /* [0, 20], or NaN */
    const double shifter = 0x1.8p52 + 1023.0;
    double kd = fma(u, -0x1.71547652b82fep1, shifter);               /* round(-2u / ln 2) + 1023 in the low bits */
    uint64_t kbits;
    memcpy(&kbits, &kd, sizeof kbits);
    kd -= shifter;
    const double r = fma(kd, 0x1.62e42fefa39efp-2, u);              /* -(y - k ln 2) / 2 for y = -2u */
    double q = -5.1405589494805136e-05;
    q = fma(q, r, 0.0002828297056809958);
    q = fma(q, r, -0.0014109321451518497);
    q = fma(q, r, 0.00634918945176432);
    q = fma(q, r, -0.02539682542470863);
    q = fma(q, r, 0.08888888907016779);
    q = fma(q, r, -0.26666666666656197);
    q = fma(q, r, 0.6666666666659861);
    q = fma(q, r, -1.3333333333333335);
    q = fma(q, r, 2.0000000000000004);
    const double p = r * fma(r, q, -2.0);                            /* expm1(-2r) */
    const uint64_t tbits = kbits << 52;                              /* the bits of 2^k: (k + 1023) << 52 */
    double t;                                                        /* 2^k, k in [-58, 0] */
    memcpy(&t, &tbits, sizeof t);
    const double e = fma(t, p, t - 1.0);                             /* expm1(-2u) in (-1, 0] */
    return copysign(e / (2.0 + e), x);                               /* e / (2 + e) = -tanh|x| */
}

/* tanh(x) in float, as tanh_inline: e = expm1(-2u) = 2^k (1 + p) - 1 with k = round(-2u / ln 2),
 * r = u + k ln 2 / 2 (|r| <= ln 2 / 4) and p = expm1(-2r) = r (-2 + r Q(r)), Q the Taylor polynomial of
 * degree 5 (the next term, 0.0064 r^6, is below 1.5e-8 relative in p); ln 2 / 2 rounded to float costs
 * under 0.4 ulp (its error times |k| is multiplied by 2^k in e).  u is clamped at 9, where tanh is 1 in
 * float; NaN propagates. */
static inline __attribute__((always_inline)) float tanhf_inline(float x)
{
    const float u = fabsf(x) > 9.0f ? 9.0f : fabsf(x);
    const float shifter = 0x1.8p23f + 127.0f;
    float kd = fmaf(u, -0x1.715476p1f, shifter);                     /* round(-2u / ln 2) + 127 in the low bits */
    uint32_t kbits;
    memcpy(&kbits, &kd, sizeof kbits);
    kd -= shifter;
    const float r = fmaf(kd, 0x1.62e430p-2f, u);
    float q = -0.025396825745701790f;
    q = fmaf(q, r, 0.088888891041278839f);
    q = fmaf(q, r, -0.26666668057441711f);
    q = fmaf(q, r, 0.66666668653488159f);
    q = fmaf(q, r, -1.3333333730697632f);
    q = fmaf(q, r, 2.0f);
    const float p = r * fmaf(r, q, -2.0f);
    const uint32_t tbits = kbits << 23;                              /* (k + 127) << 23: 2^k, k in [-26, 0] */
    float t;
    memcpy(&t, &tbits, sizeof t);
    const float e = fmaf(t, p, t - 1.0f);
    return copysignf(e / (2.0f + e), x);
}

/* The rows kernel twice: in double (the default) and in float (on request: a quarter of the accuracy's
 * digits, twice the vector width); its inputs, theta, the loss and the output stay double. */
#define REAL double
#define ROWS_KERNEL rows_kernel
#define LINE 8
#define FMA fma
#define TANH tanh_inline
#define SIN sin
#define COS cos
#define EXP exp
#define ERF erf
#include "_fused_rows.h"
#undef REAL
#undef ROWS_KERNEL
#undef LINE
#undef FMA
#undef TANH
#undef SIN
#undef COS
#undef EXP
#undef ERF
#define REAL float
#define ROWS_KERNEL rows_kernel_f32
#define LINE 16
#define FMA fmaf
#define TANH tanhf_inline
#define SIN sinf
#define COS cosf
#define EXP expf
#define ERF erff
#include "_fused_rows.h"

#define KERNEL(NAME, D, ACT)                                                                               \
    CLONES static double kernel_##NAME##_d##D(KERNEL_ARGS)                                                 \
    {                                                                                                      \
        return rows_kernel(X, p, y, theta, m, start, stop, out, work, scale, D, ACT);                     \
    }                                                                                                      \
    CLONES static double kernel_f32_##NAME##_d##D(KERNEL_ARGS)                                             \
    {                                                                                                      \
        return rows_kernel_f32(X, p, y, theta, m, start, stop, out, work, scale, D, ACT);                 \
    }
#define KERNELS_OF(NAME, ACT) \
    KERNEL(NAME, 1, ACT) KERNEL(NAME, 2, ACT) KERNEL(NAME, 3, ACT) KERNEL(NAME, 4, ACT) \
    KERNEL(NAME, 5, ACT) KERNEL(NAME, 6, ACT) KERNEL(NAME, 7, ACT) KERNEL(NAME, 8, ACT)
KERNELS_OF(tanh, ACT_TANH)
KERNELS_OF(sin, ACT_SIN)
KERNELS_OF(erf, ACT_ERF)

typedef double (*kernel_fn)(KERNEL_ARGS);
#define ROW_OF(NAME) {NULL, kernel_##NAME##_d1, kernel_##NAME##_d2, kernel_##NAME##_d3, kernel_##NAME##_d4, \
                      kernel_##NAME##_d5, kernel_##NAME##_d6, kernel_##NAME##_d7, kernel_##NAME##_d8}
#define ROW_F32(NAME) {NULL, kernel_f32_##NAME##_d1, kernel_f32_##NAME##_d2, kernel_f32_##NAME##_d3,        \
                       kernel_f32_##NAME##_d4, kernel_f32_##NAME##_d5, kernel_f32_##NAME##_d6,                \
                       kernel_f32_##NAME##_d7, kernel_f32_##NAME##_d8}
/* [precision][activation][d]: precision 0 double, 1 float */
static const kernel_fn KERNELS[2][ACT_COUNT][MAX_D + 1] = {{ROW_OF(tanh), ROW_OF(sin), ROW_OF(erf)},
                                                           {ROW_F32(tanh), ROW_F32(sin), ROW_F32(erf)}};

/* A C-contiguous float64 buffer of `count` items (at least `count` if `at_least`; any number if `count` < 0),
 * or an exception naming `name`. */
static int get_doubles(PyObject *obj, Py_buffer *view, const char *name, Py_ssize_t count, int writable, int at_least)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *fmt = view->format;
    if (fmt != NULL && (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@'))
        fmt++;
    if (fmt == NULL || strcmp(fmt, "d") != 0 || view->itemsize != 8) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous float64 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    const Py_ssize_t items = view->len / 8;
    if (count >= 0 && (at_least ? items < count : items != count)) {
        PyErr_Format(PyExc_ValueError, "%s has %zd items, expected %s%zd", name, items, at_least ? "at least " : "",
                     count);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(field_rows_doc,
"field_rows(X, p, y, theta, start, stop, out, work, activation, scale, precision) -> float\n\n"
"Loss 1/2 sum p_i e_i^2 over rows [start, stop) of the network with sigma(s) = g(scale s),\n"
"g = ACTIVATIONS[activation] (0 tanh, 1 sin, 2 erf); unless out is None, writes those rows'\n"
"share of -grad R into out (same layout as theta).  X is (n, d) with 1 <= d <= MAX_D, p and y\n"
"are (n,), theta is [a (m), W (m x d)], work is scratch of at least work_items(m, d) float64\n"
"items, one per concurrent call, and scale is a finite nonzero float.  precision 0 computes in\n"
"double, 1 in float (the inputs, theta, out and the loss stay float64; the loss is summed in double).");

static PyObject *field_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "field_rows takes 11 arguments");
        return NULL;
    }
    const Py_ssize_t start = PyLong_AsSsize_t(args[4]);
    const Py_ssize_t stop = PyLong_AsSsize_t(args[5]);
    const long act = PyLong_AsLong(args[8]);
    const double scale = PyFloat_AsDouble(args[9]);
    const long precision = PyLong_AsLong(args[10]);
    if (PyErr_Occurred())
        return NULL;
    if (precision != 0 && precision != 1) {
        PyErr_Format(PyExc_ValueError, "precision %ld is not 0 (double) or 1 (float)", precision);
        return NULL;
    }
    if (act < 0 || act >= ACT_COUNT) {
        PyErr_Format(PyExc_ValueError, "activation code %ld is not one of 0 (tanh), 1 (sin), 2 (erf)", act);
        return NULL;
    }
    if (!isfinite(scale) || scale == 0.0) {
        PyErr_Format(PyExc_ValueError, "scale must be finite and nonzero, not %g", scale);
        return NULL;
    }
    const int field = args[6] != Py_None;
    Py_buffer bp, bX, bt, by, bw, bo = {0};
    PyObject *result = NULL;
    /* p, X and theta fix n, d and m; the other arrays are checked against them */
    if (get_doubles(args[1], &bp, "p", -1, 0, 0) < 0)
        return NULL;
    if (get_doubles(args[0], &bX, "X", -1, 0, 0) < 0)
        goto release_p;
    if (get_doubles(args[3], &bt, "theta", -1, 0, 0) < 0)
        goto release_X;
    const Py_ssize_t n = bp.len / 8, nd = bX.len / 8, size = bt.len / 8;
    const Py_ssize_t d = n > 0 ? nd / n : 0;
    if (n <= 0 || d < 1 || d > MAX_D || nd != n * d || size % (d + 1) != 0 || size == 0) {
        PyErr_Format(PyExc_ValueError, "need X (n, d) with n = len(p) > 0, 1 <= d <= %d, and theta of m (d + 1) items",
                     MAX_D);
        goto release_theta;
    }
    const Py_ssize_t m = size / (d + 1);
    if (start < 0 || stop > n || start > stop) {
        PyErr_Format(PyExc_ValueError, "row range [%zd, %zd) is outside [0, %zd)", start, stop, n);
        goto release_theta;
    }
    if (get_doubles(args[2], &by, "y", n, 0, 0) < 0)
        goto release_theta;
    if (get_doubles(args[7], &bw, "work", work_items(m, d), 1, 1) < 0)
        goto release_y;
    if (field && get_doubles(args[6], &bo, "out", m * (d + 1), 1, 0) < 0)
        goto release_work;
    double loss;
    Py_BEGIN_ALLOW_THREADS
    loss = KERNELS[precision][act][d](bX.buf, bp.buf, by.buf, bt.buf, m, start, stop, field ? bo.buf : NULL, bw.buf, scale);
    Py_END_ALLOW_THREADS
    result = PyFloat_FromDouble(loss);
    if (field)
        PyBuffer_Release(&bo);
release_work:
    PyBuffer_Release(&bw);
release_y:
    PyBuffer_Release(&by);
release_theta:
    PyBuffer_Release(&bt);
release_X:
    PyBuffer_Release(&bX);
release_p:
    PyBuffer_Release(&bp);
    return result;
}

PyDoc_STRVAR(work_items_doc, "work_items(m, d) -> int\n\nItems of the work array field_rows needs.");

static PyObject *py_work_items(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "work_items takes 2 arguments");
        return NULL;
    }
    const Py_ssize_t m = PyLong_AsSsize_t(args[0]), d = PyLong_AsSsize_t(args[1]);
    if (PyErr_Occurred())
        return NULL;
    if (m < 1 || d < 1 || d > MAX_D) {
        PyErr_Format(PyExc_ValueError, "need m >= 1 and 1 <= d <= %d", MAX_D);
        return NULL;
    }
    return PyLong_FromSsize_t(work_items(m, d));
}

static PyMethodDef methods[] = {
    {"field_rows", (PyCFunction)(void (*)(void))field_rows, METH_FASTCALL, field_rows_doc},
    {"work_items", (PyCFunction)(void (*)(void))py_work_items, METH_FASTCALL, work_items_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fused",
    "Fused loss and gradient-flow field of the two-layer tanh, sin and erf networks "
    "(see verify.multistage.engine.kernels).",
    -1, methods, NULL, NULL, NULL, NULL,
};

/* ACTIVATIONS: the names of the activation codes, in order. */
static int add_activations(PyObject *mod)
{
    PyObject *names = Py_BuildValue("(sss)", "tanh", "sin", "erf");
    if (names == NULL)
        return -1;
    if (PyModule_AddObject(mod, "ACTIVATIONS", names) < 0) {
        Py_DECREF(names);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__fused(void)
{
    PyObject *mod = PyModule_Create(&module);
    if (mod != NULL && (PyModule_AddIntConstant(mod, "VERSION", FUSED_VERSION) < 0
                        || PyModule_AddIntConstant(mod, "MAX_D", MAX_D) < 0
                        || PyModule_AddIntConstant(mod, "ROW_BLOCK", ROW_BLOCK) < 0
                        || add_activations(mod) < 0)) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
