/* The elementwise passes of label cross-entropy's arithmetic (nn/cross_entropy.py, the
 * eager primitive's and the compiled step's) around NumPy's exp, log and BLAS row sums: each
 * pass is the NumPy path's operations in its order and precision (bit-identical,
 * tests/test_native_cross_entropy.py), in one call where NumPy makes three. */
#include "_native.h"

/* NumPy's maximum: NaN wins, else the larger, and b when they are equal. */
#define CE_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

#define DEFINE_CROSS_ENTROPY(T)                                                              \
    /* shifted := z − max of its row; picked_logits := shifted at the flat indices */        \
    static void ce_shift_##T(const T *restrict z, T *restrict shifted, T *restrict row_max,  \
                             const Py_ssize_t *restrict picked, T *restrict picked_logits,   \
                             Py_ssize_t rows, Py_ssize_t classes) {                          \
        for (Py_ssize_t r = 0; r < rows; r++) {                                              \
            const T *row = z + r * classes;                                                  \
            T m = row[0];                                                                    \
            for (Py_ssize_t c = 1; c < classes; c++) m = CE_MAX(m, row[c]);                  \
            row_max[r] = m;                                                                  \
            for (Py_ssize_t c = 0; c < classes; c++) shifted[r * classes + c] = row[c] - m;  \
        }                                                                                    \
        for (Py_ssize_t r = 0; r < rows; r++) picked_logits[r] = shifted[picked[r]];         \
    }                                                                                        \
    /* factors := factor / row_sum, grad := grad · factors (per row), then at the labels     \
     * grad −= label_step */                                                                 \
    static void ce_normalize_##T(T *restrict grad, const T *restrict row_sum,                \
                                 T *restrict factors, const Py_ssize_t *restrict picked,     \
                                 Py_ssize_t rows, Py_ssize_t classes, double factor,         \
                                 double label_step) {                                        \
        for (Py_ssize_t r = 0; r < rows; r++) factors[r] = (T)factor / row_sum[r];           \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            for (Py_ssize_t c = 0; c < classes; c++)                                         \
                grad[r * classes + c] = grad[r * classes + c] * factors[r];                  \
        for (Py_ssize_t r = 0; r < rows; r++)                                                \
            grad[picked[r]] = grad[picked[r]] - (T)label_step;                               \
    }

DEFINE_CROSS_ENTROPY(float)
DEFINE_CROSS_ENTROPY(double)

/* The flat label indices: a C-contiguous array of `rows` intp values, each one in row r's
 * own span [r·classes, (r + 1)·classes); 0, holding nothing, otherwise. */
static int acquire_picked(PyObject *object, Py_ssize_t rows, Py_ssize_t classes,
                          Py_buffer *view) {
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Clear();
        return 0;
    }
    const char *f = view->format;
    int ok = f != NULL && view->itemsize == sizeof(Py_ssize_t) && f[1] == '\0' &&
             (f[0] == 'l' || f[0] == 'q' || f[0] == 'n') && length(view) == rows;
    const Py_ssize_t *picked = view->buf;
    for (Py_ssize_t r = 0; ok && r < rows; r++)
        ok = picked[r] >= r * classes && picked[r] < (r + 1) * classes;
    if (!ok) PyBuffer_Release(view);
    return ok;
}

/* The float buffers fit: views[0] a matrix of rows × classes, the `matrices` bits its shape,
 * the others vectors of `rows` values. */
static int ce_fits(Py_buffer *views, int count, int matrices, Py_ssize_t *rows,
                   Py_ssize_t *classes) {
    if (views[0].ndim != 2) return 0;
    *rows = views[0].shape[0], *classes = views[0].shape[1];
    for (int i = 1; i < count; i++)
        if ((matrices >> i) & 1 ? !same_shape(&views[i], &views[0]) : length(&views[i]) != *rows)
            return 0;
    return *rows > 0 && *classes > 0;
}

/* cross_entropy_shift(shifted, row_max, picked_logits, z, picked) -> bool */
PyObject *cross_entropy_shift(PyObject *self, PyObject *args) {
    PyObject *o[4], *picked_object;
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &picked_object))
        return NULL;
    Py_buffer views[4], picked;
    Py_ssize_t rows, classes;
    if (!acquire(o, 4, 3, views)) Py_RETURN_FALSE;
    int ok = ce_fits(views, 4, 1 << 3, &rows, &classes) &&
             acquire_picked(picked_object, rows, classes, &picked);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (views[0].format[0] == 'f')
            ce_shift_float(views[3].buf, views[0].buf, views[1].buf, picked.buf, views[2].buf,
                           rows, classes);
        else
            ce_shift_double(views[3].buf, views[0].buf, views[1].buf, picked.buf, views[2].buf,
                            rows, classes);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&picked);
    }
    release(views, 4);
    return PyBool_FromLong(ok);
}

/* cross_entropy_normalize(grad, factors, row_sum, picked, factor, label_step) -> bool */
PyObject *cross_entropy_normalize(PyObject *self, PyObject *args) {
    PyObject *o[3], *picked_object;
    double factor, label_step;
    if (!PyArg_ParseTuple(args, "OOOOdd", &o[0], &o[1], &o[2], &picked_object, &factor,
                          &label_step))
        return NULL;
    Py_buffer views[3], picked;
    Py_ssize_t rows, classes;
    if (!acquire(o, 3, 2, views)) Py_RETURN_FALSE;
    int ok = ce_fits(views, 3, 0, &rows, &classes) &&
             acquire_picked(picked_object, rows, classes, &picked);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (views[0].format[0] == 'f')
            ce_normalize_float(views[0].buf, views[2].buf, views[1].buf, picked.buf, rows,
                               classes, factor, label_step);
        else
            ce_normalize_double(views[0].buf, views[2].buf, views[1].buf, picked.buf, rows,
                                classes, factor, label_step);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&picked);
    }
    release(views, 3);
    return PyBool_FromLong(ok);
}
