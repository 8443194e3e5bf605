/* Block reductions, instantiated once per element type by _reduce.c.
 *
 * Every kernel receives one GEMM block G = A @ B.T (A: b query rows, B: m
 * reference rows) with the squared norms of both sides, forms squared
 * distances on the fly (||a||^2 + ||b||^2 - 2 a.b) and reduces them at once,
 * so a block is read from memory a single time after the GEMM.  Pairs whose
 * squared distance lies within the rounding bound `slack` of a threshold, or
 * that are nearly coincident (catastrophic cancellation), are recomputed
 * exactly in double precision from the rows themselves.
 */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SUFFIX)

/* Four partial sums: one chain of dependent adds would bound the loop by
 * the add latency (a kNN re-ranks hundreds of candidates per row). */
static double FN(exact_sq)(const T *a, const T *b, Py_ssize_t dim)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t k = 0;
    for (; k + 4 <= dim; k += 4)
        for (int u = 0; u < 4; u++) {
            double d = (double)a[k + u] - (double)b[k + u];
            s[u] += d * d;
        }
    for (; k < dim; k++) {
        double d = (double)a[k] - (double)b[k];
        s[0] += d * d;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Approximate squared distances of row i against all block columns
 * (a loop the compiler vectorises). */
VECTORIZE static void FN(row_sq)(const struct block *bk, Py_ssize_t i,
                                 T *restrict d2)
{
    const T *restrict g = (const T *)bk->G + i * bk->m;
    const T *restrict yy = (const T *)bk->yy;
    T xi = ((const T *)bk->xx)[i];
    for (Py_ssize_t j = 0; j < bk->m; j++)
        d2[j] = xi + yy[j] - (T)2 * g[j];
}

static double FN(exact_pair)(const struct block *bk, Py_ssize_t i, Py_ssize_t j)
{
    return FN(exact_sq)((const T *)bk->X + i * bk->dim,
                        (const T *)bk->Y + j * bk->dim, bk->dim);
}

/* Rounding bound valid for every pair of row i, given max_j ||y_j||^2. */
static inline double FN(row_slack)(const struct block *bk, Py_ssize_t i,
                                   double yy_max)
{
    return bk->tol * ((double)((const T *)bk->xx)[i] + yy_max);
}

/* Largest of n nonnegative squared norms. */
static double FN(max_norm)(const void *norms, Py_ssize_t n)
{
    const T *v = (const T *)norms;
    double top = 0.0;
    for (Py_ssize_t k = 0; k < n; k++)
        top = (double)v[k] > top ? (double)v[k] : top;
    return top;
}

static double FN(max_yy)(const struct block *bk)
{
    return FN(max_norm)(bk->yy, bk->m);
}

/* d2 of pair (i, j): exact when coincident (the GEMM value is rounding
 * noise) or when within the rounding bound `s` of one of the ascending
 * `edges`. Returns the bin (number of edges below d2), n_edges when beyond
 * the last. */
static inline Py_ssize_t FN(bin_of)(const struct block *bk, Py_ssize_t i,
                                   Py_ssize_t j, double *d2, const double *edges,
                                   Py_ssize_t n_edges, double s)
{
    double v = *d2;
    int exact = v <= 4.0 * s;
    Py_ssize_t t = count_below(edges, n_edges, v - s);
    if (!exact && t < n_edges && edges[t] <= v + s)
        exact = 1;
    if (exact) {
        v = FN(exact_pair)(bk, i, j);
        t = count_below(edges, n_edges, v);
    }
    *d2 = v < 0.0 ? 0.0 : v;
    return t;
}

/* hist_rows[i, t] (and hist_cols[j, t] when given) += #pairs whose squared
 * distance falls in (edges[t-1], edges[t]]. Per row, a branch-free pass
 * first lists the columns within reach of the last edge (an in/out branch
 * would mispredict on every other pair when about half are in); the listed
 * pairs are binned by the clean-cell table, the rest (near an edge or
 * nearly coincident) by a binary search and, within rounding of an edge, the
 * exact distance. Bin n_edges is the spare slot of pairs beyond the last
 * edge. */
static int FN(bin_counts)(const struct block *bk, const double *edges,
                          Py_ssize_t n_edges, int32_t *hist_rows,
                          int32_t *hist_cols)
{
    struct edge_index ix;
    double yy_max = FN(max_yy)(bk);
    double slack_max = bk->tol * (FN(max_norm)(bk->xx, bk->b) + yy_max);
    T *row = malloc(bk->m * sizeof(T));
    int32_t *near = malloc(bk->m * sizeof(int32_t));
    int32_t *bins = calloc(n_edges + 1, sizeof(int32_t));
    if (row == NULL || near == NULL || bins == NULL ||
        edge_index_init(&ix, edges, n_edges, slack_max)) {
        free(row);
        free(near);
        free(bins);
        return -1;
    }
    for (Py_ssize_t i = 0; i < bk->b; i++) {
        FN(row_sq)(bk, i, row);
        double s = FN(row_slack)(bk, i, yy_max);
        double reject = edges[n_edges - 1] + s;
        struct span sp = pair_span(bk, i);
        Py_ssize_t n_near = 0;
        for (Py_ssize_t j = sp.start; j < bk->m; j++) {
            near[n_near] = (int32_t)j;
            n_near += (double)row[j] <= reject;
        }
        for (Py_ssize_t q = 0; q < n_near; q++) {
            Py_ssize_t j = near[q];
            double v = row[j];
            if (j == sp.self)
                continue;
            Py_ssize_t t = edge_index_clean_bin(&ix, v);
            if (t < 0) {
                t = count_below(edges, n_edges, v - s);
                /* Nearly coincident, or within rounding of an edge: exact. */
                if (v <= 4.0 * s || ix.ext[t] <= v + s)
                    t = count_below(edges, n_edges, FN(exact_pair)(bk, i, j));
            }
            bins[t]++;
            if (hist_cols != NULL && t < n_edges)
                hist_cols[j * n_edges + t]++;
        }
        int32_t *hist = hist_rows + i * n_edges;
        for (Py_ssize_t t = 0; t < n_edges; t++)
            hist[t] += bins[t];
        memset(bins, 0, (n_edges + 1) * sizeof(int32_t));
    }
    free(row);
    free(near);
    free(bins);
    edge_index_free(&ix);
    return 0;
}

/* Writes the pairs within `r2` row by row at cursor[i] (advanced), never
 * past row_end[i]. */
static int FN(select_pairs)(const struct block *bk, double r2, int64_t *cursor,
                            const int64_t *row_end, int64_t *indices,
                            double *dist)
{
    T *row = malloc(bk->m * sizeof(T));
    if (row == NULL)
        return -1;
    double yy_max = FN(max_yy)(bk);
    for (Py_ssize_t i = 0; i < bk->b; i++) {
        FN(row_sq)(bk, i, row);
        double s = FN(row_slack)(bk, i, yy_max);
        double reject = r2 + s;
        struct span sp = pair_span(bk, i);
        int64_t pos = cursor[i];
        for (Py_ssize_t j = sp.start; j < bk->m && pos < row_end[i]; j++) {
            if (row[j] > reject || j == sp.self)
                continue;
            double d2 = row[j];
            if (FN(bin_of)(bk, i, j, &d2, &r2, 1, s) == 1)
                continue;
            indices[pos] = bk->col0 + j;
            dist[pos] = sqrt(d2);
            pos++;
        }
        cursor[i] = pos;
    }
    free(row);
    return 0;
}

/* out[i, t, 0] += sum_j K_t(d_ij); out[i, t, 1 + c] += sum_j K_t(d_ij) F[j, c]
 * with K_t(d) = exp(-d^2 inv_eps2[t]) for d^2 <= cut2[t] (ascending), else 0.
 * With `cols` (MODE_UPPER, a set against itself) each pair j > i is visited
 * once and also adds K_t(d_ij) [1, F[i]] to cols[j, t]: half the GEMM and
 * half the exponentials of visiting (i, j) and (j, i). */
static int FN(kernel_sums)(const struct block *bk, const double *inv_eps2,
                           const double *cut2, Py_ssize_t n_bw, const double *F,
                           Py_ssize_t q, double *out, double *cols)
{
    T *row = malloc(bk->m * sizeof(T));
    if (row == NULL)
        return -1;
    double yy_max = FN(max_yy)(bk);
    Py_ssize_t stride = n_bw * (q + 1);
    for (Py_ssize_t i = 0; i < bk->b; i++) {
        FN(row_sq)(bk, i, row);
        double s = FN(row_slack)(bk, i, yy_max);
        double reject = cut2[n_bw - 1] + s;
        struct span sp = pair_span(bk, i);
        double *acc_row = out + i * stride;
        const double *f_i = F + (bk->row0 + i - bk->col0) * q;
        for (Py_ssize_t j = sp.start; j < bk->m; j++) {
            if (row[j] > reject || j == sp.self)
                continue;
            double d2 = row[j];
            Py_ssize_t first = FN(bin_of)(bk, i, j, &d2, cut2, n_bw, s);
            const double *f = F + j * q;
            for (Py_ssize_t t = first; t < n_bw; t++) {
                double w = exp(-d2 * inv_eps2[t]);
                double *acc = acc_row + t * (q + 1);
                acc[0] += w;
                for (Py_ssize_t c = 0; c < q; c++)
                    acc[1 + c] += w * f[c];
                if (cols != NULL) {
                    double *back = cols + j * stride + t * (q + 1);
                    back[0] += w;
                    for (Py_ssize_t c = 0; c < q; c++)
                        back[1 + c] += w * f_i[c];
                }
            }
        }
    }
    free(row);
    return 0;
}

/* log sum_j exp(-d2_ij coef[t]) over the block's columns, merged into the
 * running value log_sum[i, t] (initialised to -inf by the caller). */
static int FN(gauss_logsumexp)(const struct block *bk, const double *coef,
                               Py_ssize_t n_bw, double *log_sum)
{
    T *row = malloc(bk->m * sizeof(T));
    double *d2 = malloc(bk->m * sizeof(double));
    if (row == NULL || d2 == NULL) {
        free(row);
        free(d2);
        return -1;
    }
    double yy_max = FN(max_yy)(bk);
    for (Py_ssize_t i = 0; i < bk->b; i++) {
        FN(row_sq)(bk, i, row);
        double s = FN(row_slack)(bk, i, yy_max);
        struct span sp = pair_span(bk, i);
        double dmin = INFINITY;
        for (Py_ssize_t j = sp.start; j < bk->m; j++) {
            d2[j] = row[j];
            if (j == sp.self)
                continue;
            FN(bin_of)(bk, i, j, d2 + j, NULL, 0, s);
            dmin = d2[j] < dmin ? d2[j] : dmin;
        }
        if (dmin == INFINITY)
            continue;
        for (Py_ssize_t t = 0; t < n_bw; t++) {
            /* Terms below e^-LSE_CUT of the largest one change the sum by
             * less than m e^-LSE_CUT relative: skip their exp(). */
            double cut = dmin + LSE_CUT / coef[t], sum = 0.0;
            for (Py_ssize_t j = sp.start; j < bk->m; j++)
                if (d2[j] <= cut && j != sp.self)
                    sum += exp(-(d2[j] - dmin) * coef[t]);
            double part = log(sum) - dmin * coef[t];
            double *acc = log_sum + i * n_bw + t;
            double hi = part > *acc ? part : *acc;
            *acc = hi + log(exp(*acc - hi) + exp(part - hi));
        }
    }
    free(row);
    free(d2);
    return 0;
}

/* Reorder (v, c)[0:n] so that its k smallest values come first
 * (Hoare quickselect, median-of-three pivot; ties in any order). */
static void FN(select_k)(T *v, int64_t *c, Py_ssize_t n, Py_ssize_t k)
{
    Py_ssize_t lo = 0, hi = n - 1;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        T a = v[lo], b = v[mid], d = v[hi];
        T pivot = a < b ? (b < d ? b : (a < d ? d : a))
                        : (a < d ? a : (b < d ? d : b));
        Py_ssize_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                T tv = v[i];
                int64_t tc = c[i];
                v[i] = v[j], c[i] = c[j];
                v[j] = tv, c[j] = tc;
                i++, j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

static inline void FN(prefetch_row)(const T *r, Py_ssize_t dim)
{
    for (Py_ssize_t k = 0; k < dim; k += 64 / (Py_ssize_t)sizeof(T))
        __builtin_prefetch(r + k);
}

static T FN(max_of)(const T *v, Py_ssize_t n)
{
    T top = v[0];
    for (Py_ssize_t t = 1; t < n; t++)
        top = v[t] > top ? v[t] : top;
    return top;
}

/* Per row, the kc columns with the smallest GEMM squared distances, their
 * exact squared distances in double precision, and edge[i], the largest GEMM
 * value kept: every other column's GEMM value is at least that, the bound
 * the caller's test for rivals missed by rounding needs. Columns below the
 * running threshold go to a buffer of 2 kc; a full buffer is cut back to its
 * kc smallest by quickselect, which lowers the threshold. Each kept column
 * costs O(1) amortised (a heap costs O(log kc), with unpredictable branches).
 * The row needs at least kc columns besides its self pair. */
static int FN(knn_candidates)(const struct block *bk, Py_ssize_t kc,
                              int64_t *cand, double *exact, double *edge)
{
    T *row = malloc(bk->m * sizeof(T));
    T *bv = malloc(2 * kc * sizeof(T));
    int64_t *bc = malloc(2 * kc * sizeof(int64_t));
    if (row == NULL || bv == NULL || bc == NULL) {
        free(row);
        free(bv);
        free(bc);
        return -1;
    }
    for (Py_ssize_t i = 0; i < bk->b; i++) {
        FN(row_sq)(bk, i, row);
        struct span sp = pair_span(bk, i);
        Py_ssize_t n = 0;
        T tau = (T)INFINITY;
        for (Py_ssize_t j = sp.start; j < bk->m; j++) {
            if (!(row[j] < tau) || j == sp.self)
                continue;
            bv[n] = row[j];
            bc[n++] = j;
            if (n == 2 * kc) {
                FN(select_k)(bv, bc, n, kc);
                n = kc;
                tau = FN(max_of)(bv, kc);
            }
        }
        if (n > kc)
            FN(select_k)(bv, bc, n, kc);
        edge[i] = (double)FN(max_of)(bv, kc);
        for (Py_ssize_t t = 0; t < 2 && t < kc; t++)
            FN(prefetch_row)((const T *)bk->Y + bc[t] * bk->dim, bk->dim);
        for (Py_ssize_t t = 0; t < kc; t++) {
            /* The candidates' rows are scattered over Y: fetch the next one
             * while this one is summed (the loop is bound by memory latency). */
            if (t + 2 < kc)
                FN(prefetch_row)((const T *)bk->Y + bc[t + 2] * bk->dim, bk->dim);
            cand[i * kc + t] = bk->col0 + bc[t];
            exact[i * kc + t] = FN(exact_pair)(bk, i, bc[t]);
        }
    }
    free(row);
    free(bv);
    free(bc);
    return 0;
}

#undef FN
#undef CAT
#undef CAT_
