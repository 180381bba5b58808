/* One-pass Adam/AdamW update over contiguous float32 or float64 buffers.
 *
 * The NumPy path (adam.py) makes about twelve passes over memory per step; this loop makes
 * one. It performs, element by element, exactly the IEEE operations of the NumPy path in
 * the same order and precision (constants rounded to the array's type first, no fused
 * multiply-add), so both paths give bit-identical numbers: tests/optim/test_fused_kernel.py
 * checks that. Built as an optional extension: without a C compiler the NumPy path runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

typedef struct {
    double decay_factor;  /* AdamW: θ := θ·(1 − ηλ) first; 1 when not decoupled */
    double weight_decay;  /* Adam: g := θλ + g (or θλ − g when maximizing) */
    int maximize;
    double lerp_weight;   /* 1 − β₁ */
    double beta2, one_minus_beta2;
    double eps;           /* ε·√(1 − β₂ᵗ) */
    double scale;         /* η/(1 − β₁ᵗ)·√(1 − β₂ᵗ) */
} AdamConstants;

/* NumPy's maximum: NaN wins, else the larger, and b when they are equal (max(-0, 0) = 0). */
#define NAN_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

/* The options are compile-time constants in each instance of the loop (see DISPATCH), so
 * every instance is a straight loop the compiler vectorizes. θ·1 = θ exactly, so the decoupled
 * decay factor is applied unconditionally. */
#define DEFINE_ADAM(NAME, T, SQRT)                                                           \
    static inline __attribute__((always_inline)) void NAME##_loop(                           \
        T *restrict p, const T *restrict g, T *restrict m, T *restrict v, T *restrict vmax,   \
        Py_ssize_t n, const AdamConstants *c, const int coupled, const int maximize,         \
        const int amsgrad, const int lerp_hi) {                                              \
        const T decay_factor = (T)c->decay_factor, decay = (T)c->weight_decay;               \
        const T w = lerp_hi ? (T)(c->lerp_weight - 1.0) : (T)c->lerp_weight;                 \
        const T beta2 = (T)c->beta2, one_minus_beta2 = (T)c->one_minus_beta2;                 \
        const T eps = (T)c->eps, scale = (T)c->scale;                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                                 \
            const T pi = p[i] * decay_factor;                                                \
            T gi = g[i];                                                                     \
            if (coupled) gi = maximize ? pi * decay - gi : pi * decay + gi;                  \
            else if (maximize) gi = -gi;                                                     \
            const T d = (gi - m[i]) * w;                                                     \
            const T mi = lerp_hi ? gi + d : m[i] + d;                                        \
            m[i] = mi;                                                                       \
            T vi = v[i] * beta2 + (gi * gi) * one_minus_beta2;                               \
            v[i] = vi;                                                                       \
            if (amsgrad) {                                                                   \
                vi = NAN_MAX(vmax[i], vi);                                                   \
                vmax[i] = vi;                                                                \
            }                                                                                \
            p[i] = pi - (mi / (SQRT(vi) + eps)) * scale;                                     \
        }                                                                                    \
    }                                                                                        \
    static void NAME(T *p, const T *g, T *m, T *v, T *vmax, Py_ssize_t n,                    \
                     const AdamConstants *c) {                                               \
        const int options = (c->weight_decay != 0.0) | (c->maximize << 1) |                  \
                            ((vmax != NULL) << 2) | (!(c->lerp_weight < 0.5) << 3);          \
        switch (options) {                                                                   \
            DISPATCH(NAME##_loop)                                                            \
        }                                                                                    \
    }

#define CASE(LOOP, k)                                                                        \
    case k:                                                                                  \
        LOOP(p, g, m, v, vmax, n, c, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1); \
        break;
#define DISPATCH(LOOP)                                                                       \
    CASE(LOOP, 0) CASE(LOOP, 1) CASE(LOOP, 2) CASE(LOOP, 3) CASE(LOOP, 4) CASE(LOOP, 5)      \
    CASE(LOOP, 6) CASE(LOOP, 7) CASE(LOOP, 8) CASE(LOOP, 9) CASE(LOOP, 10) CASE(LOOP, 11)    \
    CASE(LOOP, 12) CASE(LOOP, 13) CASE(LOOP, 14) CASE(LOOP, 15)

DEFINE_ADAM(adam_float, float, sqrtf)
DEFINE_ADAM(adam_double, double, sqrt)

/* ReLU after a Linear layer, in place on its output z (rows × width), bias optional:
 * forward z := max(z + b, 0) (NumPy's add then maximum), backward g := g · (z > 0). */
#define DEFINE_RELU(T)                                                                       \
    static void bias_relu_##T(T *restrict z, const T *restrict b, Py_ssize_t rows,           \
                              Py_ssize_t width) {                                            \
        for (Py_ssize_t r = 0; r < rows; r++, z += width) {                                  \
            if (b)                                                                           \
                for (Py_ssize_t j = 0; j < width; j++) z[j] = NAN_MAX(z[j] + b[j], (T)0);     \
            else                                                                             \
                for (Py_ssize_t j = 0; j < width; j++) z[j] = NAN_MAX(z[j], (T)0);            \
        }                                                                                    \
    }                                                                                        \
    static void relu_grad_##T(T *restrict g, const T *restrict z, Py_ssize_t n) {            \
        for (Py_ssize_t i = 0; i < n; i++) g[i] = g[i] * (T)(z[i] > 0);                        \
    }

DEFINE_RELU(float)
DEFINE_RELU(double)

static void release(Py_buffer *views, int count) {
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
}

/* The same element type ('f' or 'd') as the first buffer, and no overlap with earlier ones. */
static int fits(Py_buffer *views, int i) {
    const char *format = views[i].format;
    if (strcmp(format, "f") != 0 && strcmp(format, "d") != 0) return 0;
    if (strcmp(format, views[0].format) != 0) return 0;
    for (int j = 0; j < i; j++) {
        char *a = views[i].buf, *b = views[j].buf;
        if (a < b + views[j].len && b < a + views[i].len) return 0;
    }
    return 1;
}

/* Buffers of C-contiguous arrays (the first `writable` of them writable); 0, holding
 * nothing, when one is not such an array or does not fit. */
static int acquire(PyObject **objects, int count, int writable, Py_buffer *views) {
    for (int i = 0; i < count; i++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i < writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[i], &views[i], flags) != 0) {
            PyErr_Clear();
            release(views, i);
            return 0;
        }
        if (!fits(views, i)) {
            release(views, i + 1);
            return 0;
        }
    }
    return 1;
}

static Py_ssize_t length(Py_buffer *view) { return view->len / view->itemsize; }

/* adam(param, exp_avg, exp_avg_sq, max_exp_avg_sq or None, grad, decay_factor,
 *      weight_decay, maximize, lerp_weight, beta2, one_minus_beta2, eps, scale) -> bool */
static PyObject *adam(PyObject *self, PyObject *args) {
    PyObject *objects[5];
    AdamConstants c;
    if (!PyArg_ParseTuple(args, "OOOOOddpddddd", &objects[0], &objects[1], &objects[2],
                          &objects[3], &objects[4], &c.decay_factor, &c.weight_decay,
                          &c.maximize, &c.lerp_weight, &c.beta2, &c.one_minus_beta2, &c.eps,
                          &c.scale))
        return NULL;
    int amsgrad = objects[3] != Py_None;
    if (!amsgrad) objects[3] = objects[4];  /* grad moves up: writable ones first */
    int count = amsgrad ? 5 : 4, writable = count - 1;
    Py_buffer views[5];
    if (!acquire(objects, count, writable, views)) Py_RETURN_FALSE;
    Py_ssize_t n = length(&views[0]);
    int ok = 1;
    for (int i = 1; i < count; i++) ok = ok && length(&views[i]) == n;
    if (ok) {
        void *p = views[0].buf, *m = views[1].buf, *v = views[2].buf;
        void *vmax = amsgrad ? views[3].buf : NULL, *g = views[count - 1].buf;
        Py_BEGIN_ALLOW_THREADS
        if (views[0].format[0] == 'f')
            adam_float(p, g, m, v, vmax, n, &c);
        else
            adam_double(p, g, m, v, vmax, n, &c);
        Py_END_ALLOW_THREADS
    }
    release(views, count);
    return PyBool_FromLong(ok);
}

/* bias_relu(z, bias or None) -> bool; z is rows × len(bias), C-contiguous. */
static PyObject *bias_relu(PyObject *self, PyObject *args) {
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1])) return NULL;
    int count = objects[1] == Py_None ? 1 : 2;
    Py_buffer views[2];
    if (!acquire(objects, count, 1, views)) Py_RETURN_FALSE;
    Py_ssize_t n = length(&views[0]), width = count == 2 ? length(&views[1]) : n;
    int ok = width > 0 && n % width == 0;
    if (ok) {
        void *b = count == 2 ? views[1].buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        if (views[0].format[0] == 'f')
            bias_relu_float(views[0].buf, b, n / width, width);
        else
            bias_relu_double(views[0].buf, b, n / width, width);
        Py_END_ALLOW_THREADS
    }
    release(views, count);
    return PyBool_FromLong(ok);
}

/* relu_grad(grad, z) -> bool: grad := grad · (z > 0), both of one size. */
static PyObject *relu_grad(PyObject *self, PyObject *args) {
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1])) return NULL;
    Py_buffer views[2];
    if (!acquire(objects, 2, 1, views)) Py_RETURN_FALSE;
    int ok = length(&views[0]) == length(&views[1]);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        if (views[0].format[0] == 'f')
            relu_grad_float(views[0].buf, views[1].buf, length(&views[0]));
        else
            relu_grad_double(views[0].buf, views[1].buf, length(&views[0]));
        Py_END_ALLOW_THREADS
    }
    release(views, 2);
    return PyBool_FromLong(ok);
}

static PyMethodDef methods[] = {
    {"adam", adam, METH_VARARGS, "One-pass Adam/AdamW update in place; False if not applicable."},
    {"bias_relu", bias_relu, METH_VARARGS, "z := max(z + bias, 0) in place; False if not applicable."},
    {"relu_grad", relu_grad, METH_VARARGS, "grad := grad * (z > 0) in place; False if not applicable."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
