/* The rows kernel in REAL (double or float; see _fused.c, which includes this file once for each).
 * D and ACT are compile-time constants after inlining, so the loops over input coordinates
 * and block rows unroll and the loops over neurons vectorise, the vector functions included. */
static inline __attribute__((always_inline)) double ROWS_KERNEL(KERNEL_ARGS, const Py_ssize_t D, const int ACT)
{
    const Py_ssize_t ld = (m + LINE - 1) / LINE * LINE;
    REAL *base = (REAL *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    REAL *restrict Wt = base;            /* D rows of ld */
    REAL *restrict a = Wt + D * ld;      /* ld */
    REAL *restrict ga = a + ld;          /* ld */
    REAL *restrict gw = ga + ld;         /* D rows of ld */
    REAL *restrict s = gw + D * ld;      /* ROW_BLOCK rows of ld */
    REAL *restrict ds = s + ROW_BLOCK * ld; /* ROW_BLOCK rows of ld: g' (sin and erf) */
    const int field = out != NULL;

    for (Py_ssize_t k = 0; k < m; k++) {
        a[k] = (REAL)theta[k];
        for (Py_ssize_t j = 0; j < D; j++)
            Wt[j * ld + k] = (REAL)(ACT == ACT_TANH && scale == 1.0 ? theta[m + k * D + j] : scale * theta[m + k * D + j]);
    }
    if (field) {
        memset(ga, 0, sizeof(REAL) * ld);
        memset(gw, 0, sizeof(REAL) * D * ld);
    }

    double loss = 0.0, c[MAX_D] = {0.0};
    for (Py_ssize_t i0 = start; i0 < stop; i0 += ROW_BLOCK) {
        const Py_ssize_t rows = stop - i0 < ROW_BLOCK ? stop - i0 : ROW_BLOCK;
        /* the block's inputs, a short last block padded with zero rows: their pre-activations are 0, so
         * g = 0 for tanh, sin and erf, and their weights pe below are 0 */
        REAL xb[ROW_BLOCK * MAX_D], pe[ROW_BLOCK];
        for (Py_ssize_t r = 0; r < ROW_BLOCK; r++)
            for (Py_ssize_t j = 0; j < D; j++)
                xb[r * D + j] = r < rows ? (REAL)X[(i0 + r) * D + j] : 0;

        /* forward: for each vector of neurons, the block's pre-activations from the D rows of W^T loaded
         * once, and g (and g') of all ROW_BLOCK rows */
#pragma omp simd aligned(s, ds, Wt : 64)
        for (Py_ssize_t k = 0; k < m; k++) {
            REAL w[MAX_D];
#pragma GCC unroll 8
            for (Py_ssize_t j = 0; j < D; j++)
                w[j] = Wt[j * ld + k];
#pragma GCC unroll 16
            for (Py_ssize_t r = 0; r < ROW_BLOCK; r++) {
                REAL z = xb[r * D] * w[0];
#pragma GCC unroll 8
                for (Py_ssize_t j = 1; j < D; j++)
                    z = FMA(xb[r * D + j], w[j], z);
                if (ACT == ACT_TANH) {
                    s[r * ld + k] = TANH(z);
                } else if (ACT == ACT_SIN) {
                    s[r * ld + k] = z; /* sin and cos below, in loops of their own (vectorised there) */
                } else {
                    s[r * ld + k] = ERF(z);
                    if (field)
                        ds[r * ld + k] = (REAL)1.1283791670955126 * EXP(-z * z); /* 2 / sqrt(pi) */
                }
            }
        }
        if (ACT == ACT_SIN) {
            const Py_ssize_t len = ROW_BLOCK * ld;
            if (field) {
#pragma omp simd aligned(s, ds : 64)
                for (Py_ssize_t k = 0; k < len; k++)
                    ds[k] = COS(s[k]);
            }
#pragma omp simd aligned(s : 64)
            for (Py_ssize_t k = 0; k < len; k++)
                s[k] = SIN(s[k]);
        }
        for (Py_ssize_t r = 0; r < rows; r++) {
            const REAL *sr = s + r * ld;
            REAL f = 0;
#pragma omp simd aligned(sr, a : 64) reduction(+ : f)
            for (Py_ssize_t k = 0; k < m; k++)
                f += a[k] * sr[k];
            const double e = (double)f - y[i0 + r], pe_r = p[i0 + r] * e;
            pe[r] = (REAL)pe_r;
            loss += 0.5 * pe_r * e;
        }
        if (!field)
            continue;

        /* backward: one sweep over the neurons for the whole block */
        REAL b[ROW_BLOCK * MAX_D];
        for (Py_ssize_t r = rows; r < ROW_BLOCK; r++)
            pe[r] = 0;
        for (Py_ssize_t r = 0; r < ROW_BLOCK; r++)
            for (Py_ssize_t j = 0; j < D; j++) {
                b[r * D + j] = pe[r] * xb[r * D + j];
                c[j] += b[r * D + j];
            }
#pragma omp simd aligned(s, ds, ga, gw : 64)
        for (Py_ssize_t k = 0; k < m; k++) {
            REAL sa = 0, sw[MAX_D];
#pragma GCC unroll 8
            for (Py_ssize_t j = 0; j < D; j++)
                sw[j] = 0;
#pragma GCC unroll 16
            for (Py_ssize_t r = 0; r < ROW_BLOCK; r++) {
                const REAL g = s[r * ld + k];
                const REAL t = ACT == ACT_TANH ? g * g : ds[r * ld + k];
                sa = FMA(pe[r], g, sa);
#pragma GCC unroll 8
                for (Py_ssize_t j = 0; j < D; j++)
                    sw[j] = FMA(b[r * D + j], t, sw[j]);
            }
            ga[k] += sa;
#pragma GCC unroll 8
            for (Py_ssize_t j = 0; j < D; j++)
                gw[j * ld + k] = ACT == ACT_TANH ? gw[j * ld + k] - sw[j] : gw[j * ld + k] + sw[j];
        }
    }

    if (field)
        for (Py_ssize_t k = 0; k < m; k++) {
            out[k] = -(double)ga[k];
            const double ca = ACT == ACT_TANH && scale == 1.0 ? theta[k] : scale * theta[k];
            for (Py_ssize_t j = 0; j < D; j++)
                out[m + k * D + j] = -ca * (ACT == ACT_TANH ? (double)gw[j * ld + k] + c[j] : (double)gw[j * ld + k]);
        }
    return loss;
}

