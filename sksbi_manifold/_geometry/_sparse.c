/* Loops over CSR matrices that numpy would run as many full-size passes.
 *
 * sym_partial: the product of a symmetric matrix stored as its diagonal and
 * strict upper triangle (sksbi_manifold._geometry.symmetric). The iterative
 * eigensolvers spend their time in y = S x, which is bound by streaming the
 * matrix from memory. Half storage streams half the bytes; the scattered
 * writes y[j] += s_ij x_i land in a vector that stays in the caches. Sums
 * run in float64 whatever the storage precision.
 *
 * upper_part: that half storage from a canonical CSR matrix, in one pass,
 * on the rows renumbered for locality.
 *
 * renormalise: the alpha-renormalised Laplacian of an affinity in three
 * passes (sksbi_manifold._geometry.laplacian), instead of about fifteen
 * numpy passes and temporaries of nnz entries each.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* acc = (rows r0..r1 of U + their columns of U^T + D) x, in float64 (acc
 * is zeroed first). Two calls on a split of the rows sum to S x: each thread
 * of a product owns one acc. */
#define DEFINE_SYM_PARTIAL(NAME, T)                                          \
    static void NAME(Py_ssize_t n, Py_ssize_t r0, Py_ssize_t r1,            \
                     const int64_t *ptr, const int32_t *idx, const T *val,  \
                     const T *diag, const T *x, double *acc)                 \
    {                                                                        \
        memset(acc, 0, (size_t)n * sizeof(double));                          \
        for (Py_ssize_t i = r0; i < r1; i++) {                               \
            const double xi = x[i];                                          \
            double row = (double)diag[i] * xi;                               \
            for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {                  \
                const int32_t j = idx[e];                                    \
                const double v = val[e];                                     \
                row += v * x[j];                                             \
                acc[j] += v * xi;                                            \
            }                                                                \
            acc[i] += row;                                                   \
        }                                                                    \
    }

DEFINE_SYM_PARTIAL(sym_partial_f32, float)
DEFINE_SYM_PARTIAL(sym_partial_f64, double)

static int check_len(Py_buffer *buf, Py_ssize_t count, Py_ssize_t item,
                     const char *name)
{
    if (buf->len != count * item) {
        PyErr_Format(PyExc_ValueError,
                     "_sparse: %s has %zd bytes, expected %zd", name,
                     buf->len, count * item);
        return 1;
    }
    return 0;
}

static PyObject *py_sym_partial(PyObject *self, PyObject *args)
{
    Py_buffer ptr, idx, val, diag, x, acc;
    Py_ssize_t n, r0, r1;
    int is_double;
    if (!PyArg_ParseTuple(args, "nnnpy*y*y*y*y*w*", &n, &r0, &r1, &is_double,
                          &ptr, &idx, &val, &diag, &x, &acc))
        return NULL;
    const Py_ssize_t item = is_double ? 8 : 4;
    const int64_t *p = ptr.buf;
    int bad = check_len(&ptr, n + 1, 8, "ptr") ||
              check_len(&diag, n, item, "diag") ||
              check_len(&x, n, item, "x") || check_len(&acc, n, 8, "acc");
    if (!bad)
        bad = check_len(&idx, p[n], 4, "idx") ||
              check_len(&val, p[n], item, "val");
    if (!bad && !(0 <= r0 && r0 <= r1 && r1 <= n)) {
        PyErr_SetString(PyExc_ValueError, "_sparse: bad row range");
        bad = 1;
    }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        if (is_double)
            sym_partial_f64(n, r0, r1, p, idx.buf, val.buf, diag.buf, x.buf,
                            acc.buf);
        else
            sym_partial_f32(n, r0, r1, p, idx.buf, val.buf, diag.buf, x.buf,
                            acc.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&ptr);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&val);
    PyBuffer_Release(&diag);
    PyBuffer_Release(&x);
    PyBuffer_Release(&acc);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

/* q = W 1; w~ = W q^-a q'^-a; q~ = w~ 1; S = q~^-1/2 w~ q~'^-1/2 and
 * L = scale (w~ / q~ - I), both on W's pattern. Returns the number of
 * stored diagonal entries (L needs all n to keep W's pattern). */
static int64_t renormalise(Py_ssize_t n, const int64_t *ptr, const int32_t *idx,
                           const double *w, double alpha, double scale,
                           double *q, double *qt, double *s_out, double *l_out)
{
    int64_t n_diag = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++)
            sum += w[e];
        q[i] = sum;
    }
    double *f = malloc((size_t)(n > 0 ? n : 1) * sizeof(double)); /* q^-a */
    if (f == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++)
        f[i] = alpha == 0.0 ? 1.0 : pow(q[i], -alpha);
    for (Py_ssize_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
            const double v = w[e] * f[i] * f[idx[e]];
            s_out[e] = v;
            sum += v;
        }
        qt[i] = sum;
    }
    for (Py_ssize_t i = 0; i < n; i++) /* now q~^-1/2 */
        f[i] = 1.0 / sqrt(qt[i]);
    for (Py_ssize_t i = 0; i < n; i++) {
        const double inv_qt = 1.0 / qt[i];
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
            const int32_t j = idx[e];
            const double v = s_out[e];
            const int diag = j == i;
            n_diag += diag;
            l_out[e] = scale * (v * inv_qt - diag);
            s_out[e] = v * f[i] * f[j];
        }
    }
    free(f);
    return n_diag;
}

static PyObject *py_renormalise(PyObject *self, PyObject *args)
{
    Py_buffer ptr, idx, w, q, qt, s_out, l_out;
    Py_ssize_t n;
    double alpha, scale;
    if (!PyArg_ParseTuple(args, "ny*y*y*ddw*w*w*w*", &n, &ptr, &idx, &w, &alpha,
                          &scale, &q, &qt, &s_out, &l_out))
        return NULL;
    const int64_t *p = ptr.buf;
    int bad = check_len(&ptr, n + 1, 8, "ptr") || check_len(&q, n, 8, "q") ||
              check_len(&qt, n, 8, "qt");
    if (!bad)
        bad = check_len(&idx, p[n], 4, "idx") || check_len(&w, p[n], 8, "w") ||
              check_len(&s_out, p[n], 8, "s_out") ||
              check_len(&l_out, p[n], 8, "l_out");
    for (int64_t e = 0; !bad && e < p[n]; e++) {
        int32_t j = ((const int32_t *)idx.buf)[e];
        if (j < 0 || j >= n) {
            PyErr_SetString(PyExc_ValueError, "_sparse: column out of range");
            bad = 1;
        }
    }
    int64_t n_diag = 0;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        n_diag = renormalise(n, p, idx.buf, w.buf, alpha, scale, q.buf, qt.buf,
                             s_out.buf, l_out.buf);
        Py_END_ALLOW_THREADS
        if (n_diag < 0) {
            PyErr_NoMemory();
            bad = 1;
        }
    }
    PyBuffer_Release(&ptr);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&w);
    PyBuffer_Release(&q);
    PyBuffer_Release(&qt);
    PyBuffer_Release(&s_out);
    PyBuffer_Release(&l_out);
    if (bad)
        return NULL;
    return PyLong_FromLongLong(n_diag);
}

/* Half storage of a canonical CSR matrix on its rows and columns renumbered
 * (row r of the output is row order[r] of the input, column j becomes
 * rank[j], rank the inverse of order): the diagonal and the entries of the
 * strict upper triangle (ptr, idx, val), values cast to T. Columns keep the
 * input's order within a row: the product does not need them sorted. */
#define DEFINE_UPPER_PART(NAME, T)                                           \
    static void NAME(Py_ssize_t n, const int64_t *order, const int64_t *rank,\
                     const int64_t *in_ptr, const int32_t *in_idx,          \
                     const double *in_val, int64_t *ptr, int32_t *idx,      \
                     T *val, T *diag)                                        \
    {                                                                        \
        int64_t pos = 0;                                                     \
        ptr[0] = 0;                                                          \
        for (Py_ssize_t r = 0; r < n; r++) {                                 \
            const int64_t i = order[r];                                      \
            diag[r] = 0;                                                     \
            for (int64_t e = in_ptr[i]; e < in_ptr[i + 1]; e++) {            \
                const int32_t c = (int32_t)rank[in_idx[e]];                  \
                if (c == r)                                                  \
                    diag[r] = (T)in_val[e];                                  \
                else if (c > r) {                                            \
                    idx[pos] = c;                                            \
                    val[pos] = (T)in_val[e];                                 \
                    pos++;                                                   \
                }                                                            \
            }                                                                \
            ptr[r + 1] = pos;                                                \
        }                                                                    \
    }

DEFINE_UPPER_PART(upper_part_f32, float)
DEFINE_UPPER_PART(upper_part_f64, double)

static PyObject *py_upper_part(PyObject *self, PyObject *args)
{
    Py_buffer order, rank, in_ptr, in_idx, in_val, ptr, idx, val, diag;
    Py_ssize_t n;
    int is_double;
    if (!PyArg_ParseTuple(args, "npy*y*y*y*y*w*w*w*w*", &n, &is_double,
                          &order, &rank, &in_ptr, &in_idx, &in_val, &ptr,
                          &idx, &val, &diag))
        return NULL;
    const Py_ssize_t item = is_double ? 8 : 4;
    const int64_t *p = in_ptr.buf;
    int bad = check_len(&order, n, 8, "order") ||
              check_len(&rank, n, 8, "rank") ||
              check_len(&in_ptr, n + 1, 8, "in_ptr") ||
              check_len(&ptr, n + 1, 8, "ptr") ||
              check_len(&diag, n, item, "diag");
    if (!bad)
        bad = check_len(&in_idx, p[n], 4, "in_idx") ||
              check_len(&in_val, p[n], 8, "in_val");
    /* the upper part has at most nnz entries: the outputs are sized so */
    if (!bad)
        bad = check_len(&idx, p[n], 4, "idx") ||
              check_len(&val, p[n], item, "val");
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        if (is_double)
            upper_part_f64(n, order.buf, rank.buf, p, in_idx.buf,
                           in_val.buf, ptr.buf, idx.buf, val.buf, diag.buf);
        else
            upper_part_f32(n, order.buf, rank.buf, p, in_idx.buf,
                           in_val.buf, ptr.buf, idx.buf, val.buf, diag.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&order);
    PyBuffer_Release(&rank);
    PyBuffer_Release(&in_ptr);
    PyBuffer_Release(&in_idx);
    PyBuffer_Release(&in_val);
    PyBuffer_Release(&ptr);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&val);
    PyBuffer_Release(&diag);
    if (bad)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sym_partial", py_sym_partial, METH_VARARGS,
     "Partial S x over a row range, S in half storage, float64 sums."},
    {"upper_part", py_upper_part, METH_VARARGS,
     "Diagonal and strict upper triangle of a renumbered canonical CSR matrix."},
    {"renormalise", py_renormalise, METH_VARARGS,
     "Degrees, alpha-renormalised S and scaled L of an affinity (CSR)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sparse",
    "Loops over CSR matrices: half-storage products, renormalisation.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__sparse(void)
{
    return PyModule_Create(&module);
}
