/*
 * Fused loss and gradient-flow field of the two-layer tanh network.
 *
 * For rows i in [start, stop) of the data (inputs X (n x d), weights p, targets y)
 * and parameters theta = [a (m), W (m x d, row-major)]:
 *
 *     s_ik = tanh(w_k . x_i),   e_i = sum_k a_k s_ik - y_i,   R = 1/2 sum_i p_i e_i^2,
 *     -dR/da_k  = -sum_i p_i e_i s_ik,
 *     -dR/dw_kj = -a_k sum_i p_i e_i (1 - s_ik^2) x_ij.
 *
 * The rows are taken ROW_BLOCK at a time: their pre-activations and tanh values
 * fill a buffer of ROW_BLOCK x m that stays in cache, the residuals follow, and
 * one sweep over the neurons adds the block's share of the gradient, so the
 * n x m array of the NumPy path is never written.  sigma' = 1 - sigma^2 is used
 * as c_j - sum_r b_rj s_rk^2 with b_rj = p_r e_r x_rj and c_j = sum_r b_rj, as
 * in the NumPy path.
 *
 * The loops over neurons are vectorised by the compiler; tanh comes from glibc's
 * vector math library (libmvec) through its OpenMP "declare simd" variants, and
 * the kernel is compiled for AVX-512, AVX2 and baseline x86-64 with run-time
 * dispatch, so one build runs on any x86-64 machine.  setup.py builds this module
 * only where that works; elsewhere verify.engine.kernels uses the NumPy path.
 * The input dimension d is a compile-time constant of each kernel (1..MAX_D).
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
double tanh(double);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* Raised whenever the calling convention changes, so that a stale build is not used. */
#define FUSED_VERSION 2
#define ROW_BLOCK 8 /* rows sharing one sweep over the gradient accumulators (16 spills registers) */
#define MAX_D 8     /* input dimensions with a kernel */
#define ALIGN 8     /* doubles per 64-byte cache line */

/* Doubles of work space: W^T, a, the gradient accumulators and the row buffer,
 * each row padded to a cache line, plus the slack used to align the start. */
static Py_ssize_t work_items(Py_ssize_t m, Py_ssize_t d)
{
    const Py_ssize_t ld = (m + ALIGN - 1) / ALIGN * ALIGN;
    return ld * (2 * d + 2 + ROW_BLOCK) + ALIGN;
}

#define KERNEL_ARGS const double *restrict X, const double *restrict p, const double *restrict y, \
                    const double *restrict theta, Py_ssize_t m, Py_ssize_t start, Py_ssize_t stop, \
                    double *restrict out, double *restrict work

/* D is a compile-time constant after inlining, so the loops over input coordinates
 * and block rows unroll and the loops over neurons vectorise, tanh included. */
static inline __attribute__((always_inline)) double rows_kernel(KERNEL_ARGS, const Py_ssize_t D)
{
    const Py_ssize_t ld = (m + ALIGN - 1) / ALIGN * ALIGN;
    double *base = (double *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    double *restrict Wt = base;            /* D rows of ld */
    double *restrict a = Wt + D * ld;      /* ld */
    double *restrict ga = a + ld;          /* ld */
    double *restrict gw = ga + ld;         /* D rows of ld */
    double *restrict s = gw + D * ld;      /* ROW_BLOCK rows of ld */
    const int field = out != NULL;

    for (Py_ssize_t k = 0; k < m; k++) {
        a[k] = theta[k];
        for (Py_ssize_t j = 0; j < D; j++)
            Wt[j * ld + k] = theta[m + k * D + j];
    }
    if (field) {
        memset(ga, 0, sizeof(double) * ld);
        memset(gw, 0, sizeof(double) * D * ld);
    }

    double loss = 0.0, c[MAX_D] = {0.0};
    for (Py_ssize_t i0 = start; i0 < stop; i0 += ROW_BLOCK) {
        const Py_ssize_t rows = stop - i0 < ROW_BLOCK ? stop - i0 : ROW_BLOCK;
        const double *xb = X + i0 * D;
        double pe[ROW_BLOCK];

        /* forward: pre-activations, tanh over the whole block, residuals */
        for (Py_ssize_t r = 0; r < rows; r++) {
            double *sr = s + r * ld;
#pragma omp simd aligned(sr, Wt : 64)
            for (Py_ssize_t k = 0; k < m; k++) {
                double z = xb[r * D] * Wt[k];
                for (Py_ssize_t j = 1; j < D; j++)
                    z += xb[r * D + j] * Wt[j * ld + k];
                sr[k] = z;
            }
        }
        const Py_ssize_t len = (rows - 1) * ld + m;
#pragma omp simd aligned(s : 64)
        for (Py_ssize_t k = 0; k < len; k++)
            s[k] = tanh(s[k]);
        for (Py_ssize_t r = 0; r < rows; r++) {
            const double *sr = s + r * ld;
            double f = 0.0;
#pragma omp simd aligned(sr, a : 64) reduction(+ : f)
            for (Py_ssize_t k = 0; k < m; k++)
                f += a[k] * sr[k];
            const double e = f - y[i0 + r];
            pe[r] = p[i0 + r] * e;
            loss += 0.5 * pe[r] * e;
        }
        if (!field)
            continue;

        /* backward: one sweep over the neurons for the whole block */
        double b[ROW_BLOCK][MAX_D];
        for (Py_ssize_t r = 0; r < ROW_BLOCK; r++)
            for (Py_ssize_t j = 0; j < D; j++) {
                b[r][j] = r < rows ? pe[r] * xb[r * D + j] : 0.0;
                c[j] += b[r][j];
            }
        for (Py_ssize_t r = rows; r < ROW_BLOCK; r++) {  /* a short last block: zero rows */
            pe[r] = 0.0;
            memset(s + r * ld, 0, sizeof(double) * ld);
        }
#pragma omp simd aligned(s, ga, gw : 64)
        for (Py_ssize_t k = 0; k < m; k++) {
            double sa = 0.0, sw[MAX_D];
            for (Py_ssize_t j = 0; j < D; j++)
                sw[j] = 0.0;
            for (Py_ssize_t r = 0; r < ROW_BLOCK; r++) {
                const double t = s[r * ld + k];
                const double t2 = t * t;
                sa += pe[r] * t;
                for (Py_ssize_t j = 0; j < D; j++)
                    sw[j] += b[r][j] * t2;
            }
            ga[k] += sa;
            for (Py_ssize_t j = 0; j < D; j++)
                gw[j * ld + k] -= sw[j];
        }
    }

    if (field)
        for (Py_ssize_t k = 0; k < m; k++) {
            out[k] = -ga[k];
            for (Py_ssize_t j = 0; j < D; j++)
                out[m + k * D + j] = -a[k] * (gw[j * ld + k] + c[j]);
        }
    return loss;
}

#define KERNEL(D) \
    CLONES static double kernel_d##D(KERNEL_ARGS) { return rows_kernel(X, p, y, theta, m, start, stop, out, work, D); }
KERNEL(1)
KERNEL(2)
KERNEL(3)
KERNEL(4)
KERNEL(5)
KERNEL(6)
KERNEL(7)
KERNEL(8)

typedef double (*kernel_fn)(KERNEL_ARGS);
static const kernel_fn KERNELS[MAX_D + 1] = {NULL, kernel_d1, kernel_d2, kernel_d3, kernel_d4,
                                            kernel_d5, kernel_d6, kernel_d7, kernel_d8};

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
"field_rows(X, p, y, theta, start, stop, out, work) -> float\n\n"
"Loss 1/2 sum p_i e_i^2 over rows [start, stop) of the tanh network; unless out is None,\n"
"writes those rows' share of -grad R into out (same layout as theta).  X is (n, d) with\n"
"1 <= d <= MAX_D, p and y are (n,), theta is [a (m), W (m x d)], work is scratch of at\n"
"least work_items(m, d) float64 items, one per concurrent call.");

static PyObject *field_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "field_rows takes 8 arguments");
        return NULL;
    }
    const Py_ssize_t start = PyLong_AsSsize_t(args[4]);
    const Py_ssize_t stop = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred())
        return NULL;
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
    loss = KERNELS[d](bX.buf, bp.buf, by.buf, bt.buf, m, start, stop, field ? bo.buf : NULL, bw.buf);
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
    "Fused loss and gradient-flow field of the two-layer tanh network (see verify.engine.kernels).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fused(void)
{
    PyObject *mod = PyModule_Create(&module);
    if (mod != NULL && (PyModule_AddIntConstant(mod, "VERSION", FUSED_VERSION) < 0
                        || PyModule_AddIntConstant(mod, "MAX_D", MAX_D) < 0
                        || PyModule_AddIntConstant(mod, "ROW_BLOCK", ROW_BLOCK) < 0)) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
