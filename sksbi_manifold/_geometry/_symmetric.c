/* Product of a symmetric sparse matrix stored as its diagonal and strict
 * upper triangle (see sksbi_manifold._geometry.symmetric).
 *
 * The iterative eigensolvers spend their time in y = S x, which is bound by
 * streaming the matrix from memory. Half storage streams half the bytes;
 * the scattered writes y[j] += s_ij x_i land in a vector that stays in the
 * caches. Sums run in float64 whatever the storage precision.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
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
                     "_symmetric: %s has %zd bytes, expected %zd", name,
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
        PyErr_SetString(PyExc_ValueError, "_symmetric: bad row range");
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

static PyMethodDef methods[] = {
    {"sym_partial", py_sym_partial, METH_VARARGS,
     "Partial S x over a row range, S in half storage, float64 sums."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_symmetric",
    "Products of symmetric sparse matrices in half storage.", -1, methods,
};

PyMODINIT_FUNC PyInit__symmetric(void)
{
    return PyModule_Create(&module);
}
