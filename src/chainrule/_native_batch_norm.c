/* Batch normalization in training (nn/batch_norm_ops.py) as compiled loops: the forward and
 * the VJP over an (N, C) batch, each the NumPy path's operations in its order and precision,
 * so the numbers are bit-identical (tests/test_native_batch_norm.py). */
#include "_native.h"

/* Batch normalization in training over x of rows × width (width ≥ 2), per column: the
 * arithmetic of nn/batch_norm_ops.py in its order. A column sum runs down the rows from 0, as
 * NumPy reduces axis 0 of a C-contiguous array of two or more columns (with one column it
 * sums pairwise: declined); a mean divides in double, as NumPy's mean divides by an intp
 * count, then rounds to T. `work` holds 4 × width values. */
/* NumPy's maximum (ReLU's): NaN wins, else the larger, and b when they are equal. */
#define BN_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

#define DEFINE_BATCH_NORM(T, SQRT)                                                           \
    /* with `add` (the bias of the Linear before), x := x + add first, in the same pass */   \
    static inline void column_mean_##T(T *restrict x, const T *restrict add, Py_ssize_t rows, \
                                       Py_ssize_t width, T *restrict sum) {                  \
        for (Py_ssize_t j = 0; j < width; j++) sum[j] = 0;                                   \
        if (add)                                                                             \
            for (Py_ssize_t r = 0; r < rows; r++, x += width)                                \
                for (Py_ssize_t j = 0; j < width; j++) {                                     \
                    const T v = x[j] + add[j];                                               \
                    x[j] = v;                                                                \
                    sum[j] += v;                                                             \
                }                                                                            \
        else                                                                                 \
            for (Py_ssize_t r = 0; r < rows; r++, x += width)                                \
                for (Py_ssize_t j = 0; j < width; j++) sum[j] += x[j];                       \
        for (Py_ssize_t j = 0; j < width; j++) sum[j] = (T)((double)sum[j] / (double)rows);  \
    }                                                                                        \
    /* mean μ, then the biased variance: the mean of (x − μ)² */                             \
    static inline void moments_##T(T *restrict x, const T *restrict add, Py_ssize_t rows,    \
                                   Py_ssize_t width, T *restrict mean, T *restrict var) {    \
        column_mean_##T(x, add, rows, width, mean);                                          \
        for (Py_ssize_t j = 0; j < width; j++) var[j] = 0;                                   \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            for (Py_ssize_t j = 0; j < width; j++) {                                         \
                const T d = x[r * width + j] - mean[j];                                      \
                var[j] += d * d;                                                             \
            }                                                                                \
        for (Py_ssize_t j = 0; j < width; j++) var[j] = (T)((double)var[j] / (double)rows);  \
    }                                                                                        \
    /* out := (x − μ)/√(σ² + eps)·γ + β, then max(out, 0) with relu */                      \
    WIDE_VECTORS static void bn_forward_##T(T *restrict x, const T *restrict w,              \
                                            const T *restrict b, T *restrict out,            \
                                            T *restrict mean, T *restrict var,               \
                                            Py_ssize_t rows, Py_ssize_t width, double eps,   \
                                            int relu, const T *restrict add,                 \
                                            T *restrict work) {                              \
        moments_##T(x, add, rows, width, mean, var);                                         \
        T *restrict denom = work;                                                            \
        for (Py_ssize_t j = 0; j < width; j++) denom[j] = SQRT(var[j] + (T)eps);             \
        for (Py_ssize_t r = 0; r < rows; r++, x += width, out += width)                      \
            for (Py_ssize_t j = 0; j < width; j++) {                                         \
                T o = (x[j] - mean[j]) / denom[j];                                           \
                if (w) o = o * w[j];                                                         \
                if (b) o = o + b[j];                                                         \
                out[j] = relu ? BN_MAX(o, (T)0) : o;                                         \
            }                                                                                \
    }                                                                                        \
    /* the VJP: γ-gradient Σ g·x̂, β-gradient Σ g, and with ĝ = g·γ                           \
     * x-gradient (1/σ)·((ĝ − mean ĝ) − x̂·mean(ĝ·x̂)), x̂ = (x − μ)·(1/σ); with gx_sum also  \
     * the x-gradient's column sums (the bias gradient of the Linear before); μ and σ² are  \
     * computed from x again, or taken from the forward's (the same bits) when given */      \
    WIDE_VECTORS static void bn_backward_##T(const T *restrict g, const T *restrict x,       \
                                             const T *restrict w, T *restrict gx,            \
                                             T *restrict gw, T *restrict gb,                 \
                                             Py_ssize_t rows, Py_ssize_t width, double eps,  \
                                             T *restrict gx_sum, const T *restrict given_mean, \
                                             const T *restrict given_var, T *restrict work) { \
        T *restrict mean = work, *restrict inv = work + width;                               \
        T *restrict m1 = work + 2 * width, *restrict m2 = work + 3 * width;                  \
        if (given_mean)                                                                      \
            for (Py_ssize_t j = 0; j < width; j++) mean[j] = given_mean[j], inv[j] = given_var[j]; \
        else                                                                                 \
            moments_##T((T *)x, NULL, rows, width, mean, inv); /* x is only read */          \
        for (Py_ssize_t j = 0; j < width; j++) {                                             \
            inv[j] = (T)1 / SQRT(inv[j] + (T)eps);                                           \
            m1[j] = m2[j] = 0;                                                               \
            if (gw) gw[j] = 0;                                                               \
            if (gb) gb[j] = 0;                                                               \
        }                                                                                    \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            for (Py_ssize_t j = 0; j < width; j++) {                                         \
                const Py_ssize_t i = r * width + j;                                          \
                const T n = (x[i] - mean[j]) * inv[j], gh = w ? g[i] * w[j] : g[i];          \
                if (gw) gw[j] += g[i] * n;                                                   \
                if (gb) gb[j] += g[i];                                                       \
                if (gx) {                                                                    \
                    m1[j] += gh;                                                             \
                    m2[j] += gh * n;                                                         \
                }                                                                            \
            }                                                                                \
        if (!gx) return;                                                                     \
        for (Py_ssize_t j = 0; j < width; j++) {                                             \
            m1[j] = (T)((double)m1[j] / (double)rows);                                       \
            m2[j] = (T)((double)m2[j] / (double)rows);                                       \
        }                                                                                    \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            for (Py_ssize_t j = 0; j < width; j++) {                                         \
                const Py_ssize_t i = r * width + j;                                          \
                const T n = (x[i] - mean[j]) * inv[j], gh = w ? g[i] * w[j] : g[i];          \
                gx[i] = inv[j] * ((gh - m1[j]) - n * m2[j]);                                 \
            }                                                                                \
        if (!gx_sum) return;                                                                 \
        for (Py_ssize_t j = 0; j < width; j++) gx_sum[j] = 0;                                \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            for (Py_ssize_t j = 0; j < width; j++) gx_sum[j] += gx[r * width + j];           \
    }

DEFINE_BATCH_NORM(float, sqrtf)
DEFINE_BATCH_NORM(double, sqrt)
/* Buffers of the non-None objects (those before `writable` writable), at[i] pointing at
 * object i's (NULL for None); 0, holding nothing, when one does not fit. */
static int acquire_some(PyObject **objects, int count, int writable, Py_buffer *views,
                        Py_buffer **at, int *held) {
    PyObject *given[10];
    int n = 0, n_writable = 0;
    for (int i = 0; i < count; i++)
        if (objects[i] != Py_None) {
            n_writable += i < writable;
            given[n++] = objects[i];
        }
    if (!acquire(given, n, n_writable, views)) return 0;
    for (int i = 0, k = 0; i < count; i++) at[i] = objects[i] == Py_None ? NULL : &views[k++];
    *held = n;
    return 1;
}

/* Whether the buffers at[] fit batch norm over the matrix at[reference] (rows × width, two
 * columns or more): matrices (the `matrices` bits) of its shape, vectors of `width` values. */
static int batch_norm_fits(Py_buffer **at, int count, int reference, int matrices) {
    Py_buffer *x = at[reference];
    if (x->ndim != 2 || x->shape[1] < 2 || x->shape[0] < 1) return 0;
    for (int i = 0; i < count; i++) {
        if (at[i] == NULL) continue;
        if ((matrices >> i) & 1 ? !same_shape(at[i], x) : length(at[i]) != x->shape[1])
            return 0;
    }
    return 1;
}

static void *data(Py_buffer *view) { return view == NULL ? NULL : view->buf; }

/* batch_norm_forward(out, mean, var, x, weight or None, bias or None, eps, relu[, add])
 * -> bool: out of x's shape (rows × width); mean and var receive the batch's μ and biased σ²;
 * with a vector `add` (not None), x := x + add in place first. */
PyObject *batch_norm_forward(PyObject *self, PyObject *args) {
    PyObject *o[7] = {NULL, NULL, NULL, NULL, NULL, NULL, Py_None};
    double eps;
    int relu;
    if (!PyArg_ParseTuple(args, "OOOOOOdp|O", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &eps,
                          &relu, &o[6]))
        return NULL;
    if (o[0] == Py_None || o[1] == Py_None || o[2] == Py_None || o[3] == Py_None)
        Py_RETURN_FALSE;
    Py_buffer views[7], *at[7];
    int held; /* x is written too when there is an `add` */
    if (!acquire_some(o, 7, o[6] == Py_None ? 3 : 4, views, at, &held)) Py_RETURN_FALSE;
    int ok = batch_norm_fits(at, 7, 3, 1 | 8);
    Py_ssize_t rows = at[3]->shape[0], width = at[3]->shape[1];
    void *work = ok ? PyMem_RawMalloc(4 * width * at[3]->itemsize) : NULL;
    if (ok && work != NULL) {
        Py_BEGIN_ALLOW_THREADS
        if (at[3]->format[0] == 'f')
            bn_forward_float(data(at[3]), data(at[4]), data(at[5]), data(at[0]), data(at[1]),
                             data(at[2]), rows, width, eps, relu, data(at[6]), work);
        else
            bn_forward_double(data(at[3]), data(at[4]), data(at[5]), data(at[0]), data(at[1]),
                              data(at[2]), rows, width, eps, relu, data(at[6]), work);
        Py_END_ALLOW_THREADS
    }
    PyMem_RawFree(work);
    release(views, held);
    return PyBool_FromLong(ok && work != NULL);
}

/* batch_norm_backward(gx, gw, gb, g, x, weight, eps[, gx_sum, mean, var]) -> bool: the
 * gradients of batch norm's input, γ and β (each None when not wanted) from the upstream g;
 * weight may be None; gx_sum (not None only with gx) receives the column sums of gx; mean and
 * var, both or neither, are the forward's μ and σ² of this x (else computed again). */
PyObject *batch_norm_backward(PyObject *self, PyObject *args) {
    PyObject *a[9] = {NULL, NULL, NULL, NULL, NULL, NULL, Py_None, Py_None, Py_None};
    double eps;
    if (!PyArg_ParseTuple(args, "OOOOOOd|OOO", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &eps,
                          &a[6], &a[7], &a[8]))
        return NULL;
    if (a[3] == Py_None || a[4] == Py_None || (a[6] != Py_None && a[0] == Py_None) ||
        (a[7] == Py_None) != (a[8] == Py_None))
        Py_RETURN_FALSE;
    /* the writable ones first */
    PyObject *o[9] = {a[0], a[1], a[2], a[6], a[3], a[4], a[5], a[7], a[8]};
    Py_buffer views[9], *at[9];
    int held;
    if (!acquire_some(o, 9, 4, views, at, &held)) Py_RETURN_FALSE;
    int ok = batch_norm_fits(at, 9, 5, 1 | 16 | 32);
    Py_ssize_t rows = at[5]->shape[0], width = at[5]->shape[1];
    void *work = ok ? PyMem_RawMalloc(4 * width * at[5]->itemsize) : NULL;
    if (ok && work != NULL) {
        Py_BEGIN_ALLOW_THREADS
        if (at[5]->format[0] == 'f')
            bn_backward_float(data(at[4]), data(at[5]), data(at[6]), data(at[0]), data(at[1]),
                              data(at[2]), rows, width, eps, data(at[3]), data(at[7]),
                              data(at[8]), work);
        else
            bn_backward_double(data(at[4]), data(at[5]), data(at[6]), data(at[0]), data(at[1]),
                               data(at[2]), rows, width, eps, data(at[3]), data(at[7]),
                               data(at[8]), work);
        Py_END_ALLOW_THREADS
    }
    PyMem_RawFree(work);
    release(views, held);
    return PyBool_FromLong(ok && work != NULL);
}

/* running ← running·(1 − f) + (f·batch)·correction, each product and the sum rounded to the
 * array type as state_ops.running_update's in-place NumPy calls with Python-float scalars
 * round them (the scalars first rounded to the array type). */
#define DEFINE_RUNNING_UPDATE(T)                                                             \
    static void running_update_##T(T *restrict running, const T *restrict batch,            \
                                   Py_ssize_t n, double factor, double correction) {         \
        const T keep = (T)(1.0 - factor), take = (T)factor, scale = (T)correction;           \
        for (Py_ssize_t i = 0; i < n; i++) {                                                 \
            const T added = (take * batch[i]) * scale;                                       \
            running[i] = running[i] * keep + added;                                          \
        }                                                                                    \
    }

DEFINE_RUNNING_UPDATE(float)
DEFINE_RUNNING_UPDATE(double)

/* running_update(running, batch, factor, correction) -> bool: both vectors of one length. */
PyObject *running_update(PyObject *self, PyObject *args) {
    PyObject *o[2];
    double factor, correction;
    if (!PyArg_ParseTuple(args, "OOdd", &o[0], &o[1], &factor, &correction)) return NULL;
    Py_buffer views[2];
    if (!acquire(o, 2, 1, views)) Py_RETURN_FALSE;
    Py_ssize_t n = length(&views[0]);
    int ok = length(&views[1]) == n;
    if (ok) {
        if (views[0].format[0] == 'f')
            running_update_float(views[0].buf, views[1].buf, n, factor, correction);
        else
            running_update_double(views[0].buf, views[1].buf, n, factor, correction);
    }
    release(views, 2);
    return PyBool_FromLong(ok);
}
