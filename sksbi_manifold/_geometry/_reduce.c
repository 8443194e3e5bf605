/* Fused reductions of GEMM distance blocks (see _reduce_impl.h).
 *
 * Python calls these from sksbi_manifold._geometry.distances, one call per
 * row block; the GIL is released so blocks run in parallel threads.
 * Arguments are C-contiguous numpy arrays whose shapes the Python wrapper
 * has checked; the byte lengths are re-checked here so a wrong call raises
 * instead of reading out of bounds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_ALL = 0, MODE_UPPER = 1, MODE_NO_SELF = 2 };

#define LSE_CUT 60.0 /* e^-60 ~ 1e-26: negligible next to the largest term */

struct block {
    const void *G, *xx, *yy, *X, *Y;
    Py_ssize_t b, m, dim, row0, col0;
    int mode;
    double tol;
};

/* Columns of row i to visit: from `start` on, skipping `self` (-1: none). */
struct span {
    Py_ssize_t start, self;
};

static inline struct span pair_span(const struct block *bk, Py_ssize_t i)
{
    struct span s = {0, -1};
    Py_ssize_t diag = bk->row0 + i - bk->col0; /* column of the self pair */
    if (bk->mode == MODE_UPPER)
        s.start = diag + 1 < 0 ? 0 : diag + 1;
    else if (bk->mode == MODE_NO_SELF)
        s.self = diag;
    return s;
}

/* Number of ascending `edges` below v: branchless binary search. */
static inline Py_ssize_t count_below(const double *edges, Py_ssize_t n, double v)
{
    if (n == 0)
        return 0;
    const double *base = edges;
    while (n > 1) {
        Py_ssize_t half = n >> 1;
        base = base[half] < v ? base + half : base;
        n -= half;
    }
    return (base - edges) + (*base < v);
}

/* Bins of a radius scan (tens of edges, most pairs beyond the last one, the
 * rest spread over the bins). The bit pattern of a positive double grows
 * with its value, so its exponent and top LUT_BITS mantissa bits index cells
 * a factor <= 2^(1/128) wide. A cell is clean when every value within the
 * rounding slack of it falls in one bin and is far from zero (where the GEMM
 * form cancels): the table holds that bin, and one load bins a pair without
 * any compare. The few cells near an edge, and values outside the table,
 * are dirty (-1): the caller bins them with the full rounding check. */
#define LUT_BITS 7
#define LUT_SHIFT (52 - LUT_BITS)
#define LUT_MAX_CELLS (1 << 16)

struct edge_index {
    double *ext;       /* edges + [inf]: ext[t] is safe for t <= n */
    uint64_t key0;     /* cell of the smallest positive edge */
    int64_t size;      /* table cells; 0: no table */
    int32_t *bin;      /* bin of each clean cell, -1 for a dirty one */
    double below_lo, below_hi; /* values in between lie below every */
    Py_ssize_t below_bin;      /* positive edge, clean: this bin */
};

static inline uint64_t cell_of(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits >> LUT_SHIFT;
}

static inline double cell_start(uint64_t cell)
{
    uint64_t bits = cell << LUT_SHIFT;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void edge_index_free(struct edge_index *ix)
{
    free(ix->ext);
    free(ix->bin);
}

/* `slack` bounds the rounding error of every value that will be looked up. */
static void edge_index_table(struct edge_index *ix, const double *e,
                             Py_ssize_t n, double slack)
{
    Py_ssize_t p = 0;
    while (p < n && !(e[p] > 0.0))
        p++; /* zero edges (self pairs) stay below the table */
    if (p == n || !isfinite(e[n - 1]))
        return;
    uint64_t k0 = cell_of(e[p]), span = cell_of(e[n - 1]) - k0 + 1;
    if (span > LUT_MAX_CELLS || (ix->bin = malloc(span * 4)) == NULL)
        return;
    for (uint64_t c = 0; c < span; c++) {
        double lo = cell_start(k0 + c), hi = cell_start(k0 + c + 1);
        Py_ssize_t t = count_below(e, n, lo - slack);
        int clean = lo > 4.0 * slack && t == count_below(e, n, hi + slack);
        ix->bin[c] = clean ? (int32_t)t : -1;
    }
    ix->key0 = k0;
    ix->size = (int64_t)span;
    ix->below_lo = 4.0 * slack;
    ix->below_hi = cell_start(k0) - slack;
    ix->below_bin = p;
}

/* Returns -1 when out of memory; release with edge_index_free. */
static int edge_index_init(struct edge_index *ix, const double *edges,
                           Py_ssize_t n, double slack)
{
    *ix = (struct edge_index){NULL, 0, 0, NULL, INFINITY, -INFINITY, 0};
    if ((ix->ext = malloc((n + 1) * sizeof(double))) == NULL)
        return -1;
    memcpy(ix->ext, edges, n * sizeof(double));
    ix->ext[n] = INFINITY;
    edge_index_table(ix, edges, n, slack);
    return 0;
}

/* Bin of v from the table, or -1 when v needs the full check. */
static inline Py_ssize_t edge_index_clean_bin(const struct edge_index *ix,
                                              double v)
{
    uint64_t c = cell_of(v) - ix->key0; /* below the table: wraps around */
    if (c < (uint64_t)ix->size)
        return ix->bin[c];
    return v > ix->below_lo && v < ix->below_hi ? ix->below_bin : -1;
}

/* Let GCC/Clang build an AVX2 clone of the vectorised loops, picked at run
 * time, while the extension still runs on any x86-64. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define VECTORIZE __attribute__((target_clones("avx2", "default")))
#else
#define VECTORIZE
#endif

#define T float
#define SUFFIX f32
#include "_reduce_impl.h"
#undef T
#undef SUFFIX

#define T double
#define SUFFIX f64
#include "_reduce_impl.h"
#undef T
#undef SUFFIX

/* The buffers of one distance block plus its geometry. */
struct block_args {
    Py_buffer G, xx, yy, X, Y;
    struct block bk;
    int is_double;
};

static void release_block(struct block_args *a)
{
    PyBuffer_Release(&a->G);
    PyBuffer_Release(&a->xx);
    PyBuffer_Release(&a->yy);
    PyBuffer_Release(&a->X);
    PyBuffer_Release(&a->Y);
}

static int check_len(Py_buffer *buf, Py_ssize_t count, Py_ssize_t item,
                     const char *name)
{
    if (buf->len < count * item) {
        PyErr_Format(PyExc_ValueError, "_reduce: buffer '%s' too small", name);
        return -1;
    }
    return 0;
}

/* Parses the common leading arguments
 * (G, xx, yy, X, Y, b, m, dim, row0, col0, mode, is_double, tol). */
static int parse_block(PyObject *args, struct block_args *a, Py_ssize_t n_lead)
{
    PyObject *lead = PyTuple_GetSlice(args, 0, n_lead);
    if (lead == NULL)
        return -1;
    struct block *bk = &a->bk;
    int ok = PyArg_ParseTuple(lead, "y*y*y*y*y*nnnnnipd", &a->G, &a->xx,
                              &a->yy, &a->X, &a->Y, &bk->b, &bk->m, &bk->dim,
                              &bk->row0, &bk->col0, &bk->mode, &a->is_double,
                              &bk->tol);
    Py_DECREF(lead);
    if (!ok)
        return -1;
    Py_ssize_t item = a->is_double ? 8 : 4;
    if (check_len(&a->G, bk->b * bk->m, item, "G") ||
        check_len(&a->xx, bk->b, item, "xx") ||
        check_len(&a->yy, bk->m, item, "yy") ||
        check_len(&a->X, bk->b * bk->dim, item, "X") ||
        check_len(&a->Y, bk->m * bk->dim, item, "Y")) {
        release_block(a);
        return -1;
    }
    bk->G = a->G.buf;
    bk->xx = a->xx.buf;
    bk->yy = a->yy.buf;
    bk->X = a->X.buf;
    bk->Y = a->Y.buf;
    return 0;
}

#define N_LEAD 13

static PyObject *py_bin_counts(PyObject *self, PyObject *args)
{
    struct block_args a;
    Py_buffer edges, hist_rows, hist_cols;
    int has_cols;
    if (parse_block(args, &a, N_LEAD) < 0)
        return NULL;
    PyObject *rest = PyTuple_GetSlice(args, N_LEAD, PyTuple_GET_SIZE(args));
    int ok = rest && PyArg_ParseTuple(rest, "y*w*w*p", &edges, &hist_rows,
                                      &hist_cols, &has_cols);
    Py_XDECREF(rest);
    if (!ok) {
        release_block(&a);
        return NULL;
    }
    Py_ssize_t k = edges.len / 8;
    /* int32 per-block histograms: a block has < 2^31 columns, and half the
     * bytes of the scattered column increments. */
    int bad = k < 1 || check_len(&hist_rows, a.bk.b * k, 4, "hist_rows") ||
              (has_cols && check_len(&hist_cols, a.bk.m * k, 4, "hist_cols"));
    if (!bad) {
        int32_t *cols = has_cols ? (int32_t *)hist_cols.buf : NULL;
        int rc;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_double)
            rc = bin_counts_f64(&a.bk, edges.buf, k, hist_rows.buf, cols);
        else
            rc = bin_counts_f32(&a.bk, edges.buf, k, hist_rows.buf, cols);
        Py_END_ALLOW_THREADS
        if (rc) {
            bad = 1;
            PyErr_NoMemory();
        }
    }
    else if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "_reduce: no radii given");
    }
    PyBuffer_Release(&edges);
    PyBuffer_Release(&hist_rows);
    PyBuffer_Release(&hist_cols);
    release_block(&a);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_select_pairs(PyObject *self, PyObject *args)
{
    struct block_args a;
    Py_buffer cursor, row_end, indices, dist;
    double r2;
    if (parse_block(args, &a, N_LEAD) < 0)
        return NULL;
    PyObject *rest = PyTuple_GetSlice(args, N_LEAD, PyTuple_GET_SIZE(args));
    int ok = rest && PyArg_ParseTuple(rest, "dw*y*w*w*", &r2, &cursor, &row_end,
                                      &indices, &dist);
    Py_XDECREF(rest);
    if (!ok) {
        release_block(&a);
        return NULL;
    }
    /* Every write is bounded by row_end, which must lie inside the outputs. */
    int bad = check_len(&cursor, a.bk.b, 8, "cursor") ||
              check_len(&row_end, a.bk.b, 8, "row_end");
    if (!bad) {
        const int64_t *end = row_end.buf;
        Py_ssize_t cap = indices.len / 8;
        for (Py_ssize_t i = 0; i < a.bk.b && !bad; i++)
            bad = end[i] < 0 || end[i] > cap || end[i] > dist.len / 8;
        if (bad)
            PyErr_SetString(PyExc_ValueError, "_reduce: row_end out of range");
    }
    if (!bad) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_double)
            rc = select_pairs_f64(&a.bk, r2, cursor.buf, row_end.buf, indices.buf,
                             dist.buf);
        else
            rc = select_pairs_f32(&a.bk, r2, cursor.buf, row_end.buf, indices.buf,
                             dist.buf);
        Py_END_ALLOW_THREADS
        if (rc) {
            bad = 1;
            PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&cursor);
    PyBuffer_Release(&row_end);
    PyBuffer_Release(&indices);
    PyBuffer_Release(&dist);
    release_block(&a);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_kernel_sums(PyObject *self, PyObject *args)
{
    struct block_args a;
    Py_buffer inv_eps2, cut2, F, out, cols;
    Py_ssize_t q;
    int has_cols;
    if (parse_block(args, &a, N_LEAD) < 0)
        return NULL;
    PyObject *rest = PyTuple_GetSlice(args, N_LEAD, PyTuple_GET_SIZE(args));
    int ok = rest && PyArg_ParseTuple(rest, "y*y*y*nw*w*p", &inv_eps2, &cut2, &F,
                                      &q, &out, &cols, &has_cols);
    Py_XDECREF(rest);
    if (!ok) {
        release_block(&a);
        return NULL;
    }
    Py_ssize_t nb = inv_eps2.len / 8;
    /* the back-accumulation indexes F by row, so rows must be columns too */
    int bad_cols = has_cols && (a.bk.mode != MODE_UPPER || a.bk.col0 != a.bk.row0);
    int bad = nb < 1 || bad_cols || check_len(&cut2, nb, 8, "cut2") ||
              check_len(&F, a.bk.m * q, 8, "F") ||
              check_len(&out, a.bk.b * nb * (q + 1), 8, "out") ||
              (has_cols && check_len(&cols, a.bk.m * nb * (q + 1), 8, "cols"));
    if (!bad) {
        int rc;
        double *back = has_cols ? cols.buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_double)
            rc = kernel_sums_f64(&a.bk, inv_eps2.buf, cut2.buf, nb, F.buf, q,
                                 out.buf, back);
        else
            rc = kernel_sums_f32(&a.bk, inv_eps2.buf, cut2.buf, nb, F.buf, q,
                                 out.buf, back);
        Py_END_ALLOW_THREADS
        if (rc) {
            bad = 1;
            PyErr_NoMemory();
        }
    }
    else if (nb < 1) {
        PyErr_SetString(PyExc_ValueError, "_reduce: no bandwidths given");
    }
    else if (bad_cols) {
        PyErr_SetString(PyExc_ValueError,
                        "_reduce: column sums need an upper-triangle self block");
    }
    PyBuffer_Release(&inv_eps2);
    PyBuffer_Release(&cut2);
    PyBuffer_Release(&F);
    PyBuffer_Release(&out);
    PyBuffer_Release(&cols);
    release_block(&a);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_gauss_logsumexp(PyObject *self, PyObject *args)
{
    struct block_args a;
    Py_buffer coef, log_sum;
    if (parse_block(args, &a, N_LEAD) < 0)
        return NULL;
    PyObject *rest = PyTuple_GetSlice(args, N_LEAD, PyTuple_GET_SIZE(args));
    int ok = rest && PyArg_ParseTuple(rest, "y*w*", &coef, &log_sum);
    Py_XDECREF(rest);
    if (!ok) {
        release_block(&a);
        return NULL;
    }
    Py_ssize_t nb = coef.len / 8;
    int bad = nb < 1 || check_len(&log_sum, a.bk.b * nb, 8, "log_sum");
    if (!bad) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_double)
            rc = gauss_logsumexp_f64(&a.bk, coef.buf, nb, log_sum.buf);
        else
            rc = gauss_logsumexp_f32(&a.bk, coef.buf, nb, log_sum.buf);
        Py_END_ALLOW_THREADS
        if (rc) {
            bad = 1;
            PyErr_NoMemory();
        }
    }
    else if (nb < 1) {
        PyErr_SetString(PyExc_ValueError, "_reduce: no bandwidths given");
    }
    PyBuffer_Release(&coef);
    PyBuffer_Release(&log_sum);
    release_block(&a);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_knn_candidates(PyObject *self, PyObject *args)
{
    struct block_args a;
    Py_buffer cand, exact, edge;
    Py_ssize_t kc;
    if (parse_block(args, &a, N_LEAD) < 0)
        return NULL;
    PyObject *rest = PyTuple_GetSlice(args, N_LEAD, PyTuple_GET_SIZE(args));
    int ok = rest && PyArg_ParseTuple(rest, "nw*w*w*", &kc, &cand, &exact, &edge);
    Py_XDECREF(rest);
    if (!ok) {
        release_block(&a);
        return NULL;
    }
    Py_ssize_t avail = a.bk.m - (a.bk.mode == MODE_NO_SELF ? 1 : 0);
    int bad = kc < 1 || kc > avail || a.bk.mode == MODE_UPPER ||
              check_len(&cand, a.bk.b * kc, 8, "cand") ||
              check_len(&exact, a.bk.b * kc, 8, "exact") ||
              check_len(&edge, a.bk.b, 8, "edge");
    if (!bad) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        if (a.is_double)
            rc = knn_candidates_f64(&a.bk, kc, cand.buf, exact.buf, edge.buf);
        else
            rc = knn_candidates_f32(&a.bk, kc, cand.buf, exact.buf, edge.buf);
        Py_END_ALLOW_THREADS
        if (rc) {
            bad = 1;
            PyErr_NoMemory();
        }
    }
    else if (kc < 1 || kc > avail || a.bk.mode == MODE_UPPER) {
        PyErr_SetString(PyExc_ValueError,
                        "_reduce: kc must be in [1, available columns]");
    }
    PyBuffer_Release(&cand);
    PyBuffer_Release(&exact);
    PyBuffer_Release(&edge);
    release_block(&a);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

/* Symmetric CSR from a strict upper triangle given row by row (ascending
 * columns): row r is its lower part (entries (i, r), i < r, written in
 * ascending i as rows are walked), the self pair (r, 0.0), its upper part.
 * out_ptr (n + 1) must hold the merged row starts. */
static void mirror_upper(Py_ssize_t n, const int64_t *up_ptr,
                         const int32_t *up_idx, const double *up_dist,
                         const int64_t *out_ptr, int64_t *cursor,
                         int32_t *out_idx, double *out_dist)
{
    for (Py_ssize_t r = 0; r < n; r++)
        cursor[r] = out_ptr[r];
    for (Py_ssize_t i = 0; i < n; i++) {
        /* row i's lower part is complete: rows < i have all been walked */
        int64_t pos = cursor[i];
        out_idx[pos] = (int32_t)i;
        out_dist[pos] = 0.0;
        pos++;
        for (int64_t e = up_ptr[i]; e < up_ptr[i + 1]; e++, pos++) {
            int32_t j = up_idx[e];
            out_idx[pos] = j;
            out_dist[pos] = up_dist[e];
            int64_t low = cursor[j]++;
            out_idx[low] = (int32_t)i;
            out_dist[low] = up_dist[e];
        }
    }
}

/* The arguments of a mirror: a strict upper triangle (CSR, int32 columns
 * in range) and outputs sized for the symmetric graph with its self pairs. */
static int check_triangle(Py_ssize_t n, Py_buffer *up_ptr, Py_buffer *up_idx,
                          Py_buffer *up_dist, Py_buffer *out_ptr,
                          Py_buffer *out_idx, Py_buffer *out_dist)
{
    if (check_len(up_ptr, n + 1, 8, "up_ptr") ||
        check_len(out_ptr, n + 1, 8, "out_ptr"))
        return 1;
    int64_t nnz = ((const int64_t *)up_ptr->buf)[n];
    int64_t total = ((const int64_t *)out_ptr->buf)[n];
    if (check_len(up_idx, nnz, 4, "up_idx") ||
        check_len(up_dist, nnz, 8, "up_dist") ||
        check_len(out_idx, total, 4, "out_idx") ||
        check_len(out_dist, total, 8, "out_dist"))
        return 1;
    int bad = total != 2 * nnz + n;
    for (int64_t e = 0; e < nnz && !bad; e++) {
        int32_t j = ((const int32_t *)up_idx->buf)[e];
        bad = j < 0 || j >= n;
    }
    if (bad)
        PyErr_SetString(PyExc_ValueError, "_reduce: bad upper triangle");
    return bad;
}

static PyObject *py_mirror_upper(PyObject *self, PyObject *args)
{
    Py_buffer up_ptr, up_idx, up_dist, out_ptr, cursor, out_idx, out_dist;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "ny*y*y*y*w*w*w*", &n, &up_ptr, &up_idx,
                          &up_dist, &out_ptr, &cursor, &out_idx, &out_dist))
        return NULL;
    const int64_t *uptr = up_ptr.buf, *optr = out_ptr.buf;
    int bad = check_len(&cursor, n, 8, "cursor") ||
              check_triangle(n, &up_ptr, &up_idx, &up_dist, &out_ptr, &out_idx,
                             &out_dist);
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        mirror_upper(n, uptr, up_idx.buf, up_dist.buf, optr, cursor.buf,
                     out_idx.buf, out_dist.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&up_ptr);
    PyBuffer_Release(&up_idx);
    PyBuffer_Release(&up_dist);
    PyBuffer_Release(&out_ptr);
    PyBuffer_Release(&cursor);
    PyBuffer_Release(&out_idx);
    PyBuffer_Release(&out_dist);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

/* The symmetric CSR in the original row order from a strict upper triangle
 * computed on permuted rows (row i of the triangle is row perm[i], its
 * columns are permuted too), every self pair stored as an explicit zero.
 * Pass 1 scatters each pair to both original rows, unsorted; pass 2 walks
 * the original rows in order and appends each to its neighbours' rows, so
 * every row comes out in ascending column order (the relation is
 * symmetric): two O(nnz) passes, no sort. */
static int mirror_permuted(Py_ssize_t n, const int64_t *perm,
                           const int64_t *up_ptr, const int32_t *up_idx,
                           const double *up_dist, const int64_t *out_ptr,
                           int32_t *out_idx, double *out_dist)
{
    int64_t nnz = out_ptr[n];
    int64_t *cursor = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    int32_t *tmp_idx = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(int32_t));
    double *tmp_dist = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof(double));
    if (cursor == NULL || tmp_idx == NULL || tmp_dist == NULL) {
        free(cursor);
        free(tmp_idx);
        free(tmp_dist);
        return -1;
    }
    memcpy(cursor, out_ptr, (size_t)n * sizeof(int64_t));
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t r = perm[i];
        int64_t pos = cursor[r]++;
        tmp_idx[pos] = (int32_t)r;
        tmp_dist[pos] = 0.0;
        for (int64_t e = up_ptr[i]; e < up_ptr[i + 1]; e++) {
            int64_t c = perm[up_idx[e]];
            pos = cursor[r]++;
            tmp_idx[pos] = (int32_t)c;
            tmp_dist[pos] = up_dist[e];
            pos = cursor[c]++;
            tmp_idx[pos] = (int32_t)r;
            tmp_dist[pos] = up_dist[e];
        }
    }
    memcpy(cursor, out_ptr, (size_t)n * sizeof(int64_t));
    for (Py_ssize_t s = 0; s < n; s++)
        for (int64_t e = out_ptr[s]; e < out_ptr[s + 1]; e++) {
            int64_t pos = cursor[tmp_idx[e]]++;
            out_idx[pos] = (int32_t)s;
            out_dist[pos] = tmp_dist[e];
        }
    free(cursor);
    free(tmp_idx);
    free(tmp_dist);
    return 0;
}

static PyObject *py_mirror_permuted(PyObject *self, PyObject *args)
{
    Py_buffer perm, up_ptr, up_idx, up_dist, out_ptr, out_idx, out_dist;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "ny*y*y*y*y*w*w*", &n, &perm, &up_ptr, &up_idx,
                          &up_dist, &out_ptr, &out_idx, &out_dist))
        return NULL;
    const int64_t *uptr = up_ptr.buf, *optr = out_ptr.buf, *pm = perm.buf;
    int bad = check_len(&perm, n, 8, "perm") ||
              check_triangle(n, &up_ptr, &up_idx, &up_dist, &out_ptr, &out_idx,
                             &out_dist);
    for (Py_ssize_t i = 0; i < n && !bad; i++)
        if (pm[i] < 0 || pm[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "_reduce: bad permutation");
            bad = 1;
        }
    int rc = 0;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        rc = mirror_permuted(n, pm, uptr, up_idx.buf, up_dist.buf, optr,
                             out_idx.buf, out_dist.buf);
        Py_END_ALLOW_THREADS
        if (rc) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    PyBuffer_Release(&perm);
    PyBuffer_Release(&up_ptr);
    PyBuffer_Release(&up_idx);
    PyBuffer_Release(&up_dist);
    PyBuffer_Release(&out_ptr);
    PyBuffer_Release(&out_idx);
    PyBuffer_Release(&out_dist);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bin_counts", py_bin_counts, METH_VARARGS,
     "Histogram squared distances of a block against ascending edges."},
    {"select_pairs", py_select_pairs, METH_VARARGS,
     "Write the pairs of a block within a squared radius (CSR fill)."},
    {"kernel_sums", py_kernel_sums, METH_VARARGS,
     "Truncated Gaussian kernel sums of targets, for several bandwidths."},
    {"gauss_logsumexp", py_gauss_logsumexp, METH_VARARGS,
     "Streaming log-sum-exp of Gaussian kernel values, several bandwidths."},
    {"knn_candidates", py_knn_candidates, METH_VARARGS,
     "The kc nearest columns of each block row by GEMM value, exact distances."},
    {"mirror_upper", py_mirror_upper, METH_VARARGS,
     "Symmetric CSR with explicit self pairs from a strict upper triangle."},
    {"mirror_permuted", py_mirror_permuted, METH_VARARGS,
     "The same, from a triangle computed on permuted rows, in original order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_reduce",
    "Fused reductions of GEMM distance blocks.", -1, methods,
};

PyMODINIT_FUNC PyInit__reduce(void)
{
    return PyModule_Create(&module);
}
