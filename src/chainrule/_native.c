/* One-pass loops for the elementwise work of a training step, over contiguous float32 or
 * float64 buffers: the optimizers' updates (Adam/AdamW, SGD, RMSprop, Adagrad) and ReLU after
 * a Linear layer (batch norm's loops: _native_batch_norm.c; what both share: _native.h).
 *
 * NumPy makes one pass over memory per operation (Adam: about twelve); each loop here makes
 * one. It performs, element by element, exactly the IEEE operations of the NumPy path in the
 * same order and precision (constants rounded to the array's type first; no fused
 * multiply-add: setup.py passes -ffp-contract=off), so both paths give bit-identical numbers
 * (tests/test_native.py). Built as an optional extension: without a C compiler the NumPy
 * paths run. chainrule/native.py is the Python side.
 */
#include "_native.h"

/* Everything an update needs besides the buffers, as the Python side computed it. */
typedef struct {
    double weight_decay;  /* coupled decay: g := θλ + g (θλ − g when maximizing) */
    int maximize;         /* without decay: g := −g */
    double decay_factor;  /* AdamW: θ := θ·(1 − ηλ) first (1 otherwise: θ·1 = θ exactly) */
    double lerp_weight;   /* Adam's 1 − β₁, RMSprop's 1 − α: a moving average's weight */
    /* The squared gradients' moving average v := v·decay + g²·weight: Adam's β₂ and 1 − β₂,
     * RMSprop's α and 1 − α. */
    double sq_avg_decay, sq_avg_weight;
    double momentum, dampening_factor;  /* SGD and RMSprop; SGD's 1 − dampening */
    double eps;
    double scale;         /* the step size the update is multiplied by (−η for SGD) */
} Constants;

/* NumPy's maximum: NaN wins, else the larger, and b when they are equal (max(-0, 0) = 0). */
#define NAN_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

#define EFFECTIVE_GRAD(gi, pi)                                                               \
    if (coupled) gi = maximize ? (pi) * decay - gi : (pi) * decay + gi;                      \
    else if (maximize) gi = -gi;

/* A moving average a := a + w·(x − a), in torch's two-sided form (lerp_ in inplace.py). */
#define LERP(a, x) (lerp_hi ? (x) + ((x) - (a)) * w : (a) + ((x) - (a)) * w)

#define CONSTANTS(T)                                                                         \
    const T decay = (T)c->weight_decay, decay_factor = (T)c->decay_factor;                   \
    const int lerp_hi = !(c->lerp_weight < 0.5);                                             \
    const T w = lerp_hi ? (T)(c->lerp_weight - 1.0) : (T)c->lerp_weight;                     \
    const T sq_avg_decay = (T)c->sq_avg_decay, sq_avg_weight = (T)c->sq_avg_weight;          \
    const T momentum = (T)c->momentum, dampening_factor = (T)c->dampening_factor;            \
    const T eps = (T)c->eps, scale = (T)c->scale;                                            \
    (void)decay_factor, (void)w, (void)sq_avg_decay, (void)sq_avg_weight, (void)momentum,    \
        (void)dampening_factor, (void)eps, (void)scale;

/* The five buffer slots of an update (a[] in the loops, buffers[] in run_update): the
 * parameter, up to three state buffers (which ones: each loop's comment), the gradient. */
enum { PARAM, STATE_1, STATE_2, STATE_3, GRAD, N_SLOTS };
/* A set of slots as bits: the buffers an update cannot do without (the others may be None). */
#define SLOT(slot) (1 << (slot))
#define ADAM_NEEDS (SLOT(PARAM) | SLOT(STATE_1) | SLOT(STATE_2) | SLOT(GRAD)) /* amsgrad: +3 */
#define SGD_NEEDS (SLOT(PARAM) | SLOT(GRAD))             /* the momentum buffer is optional */
#define RMSPROP_NEEDS (SLOT(PARAM) | SLOT(STATE_1) | SLOT(GRAD))  /* centered, momentum: +2, +3 */
#define ADAGRAD_NEEDS (SLOT(PARAM) | SLOT(STATE_1) | SLOT(GRAD))

/* Each loop takes its four option bits (OPTIONS: coupled weight decay, maximize, then two of
 * its own) as compile-time constants (see DISPATCH), so every instance is a straight loop
 * the compiler vectorizes. */

/* a = param, exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad), grad */
#define ADAM_LOOP(T, SQRT)                                                                   \
    const int coupled = o0, maximize = o1, amsgrad = o2;                                     \
    T *restrict p = a[PARAM], *restrict m = a[STATE_1], *restrict v = a[STATE_2];            \
    T *restrict vmax = a[STATE_3];                                                           \
    const T *restrict g = a[GRAD];                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                     \
        const T pi = p[i] * decay_factor;                                                    \
        T gi = g[i];                                                                         \
        EFFECTIVE_GRAD(gi, pi)                                                               \
        const T mi = LERP(m[i], gi);                                                         \
        m[i] = mi;                                                                           \
        T vi = v[i] * sq_avg_decay + (gi * gi) * sq_avg_weight;                              \
        v[i] = vi;                                                                           \
        if (amsgrad) {                                                                       \
            vi = NAN_MAX(vmax[i], vi);                                                       \
            vmax[i] = vi;                                                                    \
        }                                                                                    \
        p[i] = pi - (mi / (SQRT(vi) + eps)) * scale;                                         \
    }

/* a = param, momentum_buffer (with momentum), -, -, grad */
#define SGD_LOOP(T, SQRT)                                                                    \
    const int coupled = o0, maximize = o1, has_momentum = o2, nesterov = o3;                 \
    T *restrict p = a[PARAM], *restrict buf = a[STATE_1];                                    \
    const T *restrict g = a[GRAD];                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                     \
        T gi = g[i];                                                                         \
        EFFECTIVE_GRAD(gi, p[i])                                                             \
        if (has_momentum) {                                                                  \
            const T b = buf[i] * momentum + gi * dampening_factor;                           \
            buf[i] = b;                                                                      \
            gi = nesterov ? gi + b * momentum : b;                                           \
        }                                                                                    \
        p[i] = p[i] + gi * scale;                                                            \
    }

/* a = param, square_avg, grad_avg (centered), momentum_buffer (with momentum), grad */
#define RMSPROP_LOOP(T, SQRT)                                                                \
    const int coupled = o0, maximize = o1, centered = o2, has_momentum = o3;                 \
    T *restrict p = a[PARAM], *restrict sq = a[STATE_1], *restrict avg = a[STATE_2];         \
    T *restrict buf = a[STATE_3];                                                            \
    const T *restrict g = a[GRAD];                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                     \
        T gi = g[i];                                                                         \
        EFFECTIVE_GRAD(gi, p[i])                                                             \
        const T s = sq[i] * sq_avg_decay + (gi * gi) * sq_avg_weight;                       \
        sq[i] = s;                                                                           \
        T denom;                                                                             \
        if (centered) {                                                                      \
            const T ga = LERP(avg[i], gi);                                                   \
            avg[i] = ga;                                                                     \
            denom = SQRT(s - ga * ga);                                                       \
        } else {                                                                             \
            denom = SQRT(s);                                                                 \
        }                                                                                    \
        T ratio = gi / (denom + eps);                                                        \
        if (has_momentum) {                                                                  \
            ratio = buf[i] * momentum + ratio;                                               \
            buf[i] = ratio;                                                                  \
        }                                                                                    \
        p[i] = p[i] - ratio * scale;                                                         \
    }

/* a = param, sum, -, -, grad */
#define ADAGRAD_LOOP(T, SQRT)                                                                \
    const int coupled = o0, maximize = o1;                                                   \
    T *restrict p = a[PARAM], *restrict sum = a[STATE_1];                                    \
    const T *restrict g = a[GRAD];                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                     \
        T gi = g[i];                                                                         \
        EFFECTIVE_GRAD(gi, p[i])                                                             \
        const T s = sum[i] + gi * gi;                                                        \
        sum[i] = s;                                                                          \
        p[i] = p[i] - (gi / (SQRT(s) + eps)) * scale;                                        \
    }

#define CASE(LOOP, k)                                                                        \
    case k:                                                                                  \
        LOOP(a, n, c, (k)&1, ((k) >> 1) & 1, ((k) >> 2) & 1, ((k) >> 3) & 1);                \
        break;
#define DISPATCH(LOOP, options)                                                              \
    switch (options) {                                                                       \
        CASE(LOOP, 0) CASE(LOOP, 1) CASE(LOOP, 2) CASE(LOOP, 3) CASE(LOOP, 4) CASE(LOOP, 5)  \
        CASE(LOOP, 6) CASE(LOOP, 7) CASE(LOOP, 8) CASE(LOOP, 9) CASE(LOOP, 10)               \
        CASE(LOOP, 11) CASE(LOOP, 12) CASE(LOOP, 13) CASE(LOOP, 14) CASE(LOOP, 15)           \
    }

/* An update in float T: the loop inlined once per value of the four option bits. */
#define DEFINE_UPDATE(NAME, T, SQRT, BODY)                                                   \
    static inline __attribute__((always_inline)) void NAME##_loop(                           \
        void **a, Py_ssize_t n, const Constants *c, const int o0, const int o1,              \
        const int o2, const int o3) {                                                        \
        CONSTANTS(T)                                                                         \
        (void)o3;                                                                            \
        BODY(T, SQRT)                                                                        \
    }                                                                                        \
    WIDE_VECTORS static void NAME(void **a, Py_ssize_t n, const Constants *c, int options) { \
        DISPATCH(NAME##_loop, options)                                                       \
    }

#define DEFINE_BOTH(NAME, BODY)                                                              \
    DEFINE_UPDATE(NAME##_float, float, sqrtf, BODY)                                          \
    DEFINE_UPDATE(NAME##_double, double, sqrt, BODY)

DEFINE_BOTH(adam, ADAM_LOOP)
DEFINE_BOTH(sgd, SGD_LOOP)
DEFINE_BOTH(rmsprop, RMSPROP_LOOP)
DEFINE_BOTH(adagrad, ADAGRAD_LOOP)

/* ReLU after a Linear layer, in place on its output z (rows × width), bias optional:
 * forward z := max(z + b, 0) (NumPy's add then maximum), backward g := g · (z > 0). */
#define DEFINE_RELU(T)                                                                       \
    WIDE_VECTORS static void bias_relu_##T(T *restrict z, const T *restrict b,               \
                                           Py_ssize_t rows, Py_ssize_t width) {             \
        for (Py_ssize_t r = 0; r < rows; r++, z += width) {                                  \
            if (b)                                                                           \
                for (Py_ssize_t j = 0; j < width; j++) z[j] = NAN_MAX(z[j] + b[j], (T)0);     \
            else                                                                             \
                for (Py_ssize_t j = 0; j < width; j++) z[j] = NAN_MAX(z[j], (T)0);            \
        }                                                                                    \
    }                                                                                        \
    WIDE_VECTORS static void relu_grad_##T(T *restrict g, const T *restrict z, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) g[i] = g[i] * (T)(z[i] > 0);                        \
    }

DEFINE_RELU(float)
DEFINE_RELU(double)
/* Σ (a − b)² (b NULL: Σ a²) over a[0:n] in double precision, the i-th term added into lane
 * i mod LANES and the lanes summed pairwise at the end (neighbours first, then the pairs'
 * sums ...): a fixed order (what the NumPy path in train/norms.py reproduces) that the
 * compiler vectorizes without reordering a sum; 32 lanes keep four vectors of additions in
 * flight. */
#define LANES 32
#define SQUARE_INTO_LANES(term)                                                              \
    for (; i + LANES <= n; i += LANES)                                                       \
        for (int j = 0; j < LANES; j++) {                                                    \
            double d = term;                                                                 \
            lane[j] += d * d;                                                                \
        }
#define DEFINE_SQUARE_SUM(T)                                                                 \
    WIDE_VECTORS static double square_sum_##T(const T *restrict a, const T *restrict b,      \
                                              Py_ssize_t n) {                                \
        double lane[LANES] = {0};                                                            \
        Py_ssize_t i = 0;                                                                    \
        if (b == NULL) {                                                                     \
            SQUARE_INTO_LANES((double)a[i + j])                                              \
        } else {                                                                             \
            SQUARE_INTO_LANES((double)a[i + j] - (double)b[i + j])                           \
        }                                                                                    \
        for (int j = 0; i + j < n; j++) {                                                    \
            double d = b ? (double)a[i + j] - (double)b[i + j] : (double)a[i + j];           \
            lane[j] += d * d;                                                                \
        }                                                                                    \
        for (int width = LANES / 2; width >= 1; width /= 2)                                  \
            for (int j = 0; j < width; j++) lane[j] = lane[2 * j] + lane[2 * j + 1];         \
        return lane[0];                                                                      \
    }

DEFINE_SQUARE_SUM(float)
DEFINE_SQUARE_SUM(double)

/* ---- buffers ---------------------------------------------------------------------------- */


void release(Py_buffer *views, int count) {
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
}

/* The same element type ('f' or 'd') as the first buffer, and no overlap with earlier ones. */
static int fits(Py_buffer *views, int i) {
    const char *format = views[i].format;
    if (format == NULL) return 0;
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
int acquire(PyObject **objects, int count, int writable, Py_buffer *views) {
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

Py_ssize_t length(Py_buffer *view) { return view->len / view->itemsize; }

int same_shape(Py_buffer *x, Py_buffer *y) {
    if (x->ndim != y->ndim) return 0;
    for (int d = 0; d < x->ndim; d++)
        if (x->shape[d] != y->shape[d]) return 0;
    return 1;
}
typedef void (*Update)(void **, Py_ssize_t, const Constants *, int);

/* Runs an update over the parameter and state buffers (None where the optimizer keeps no
 * such state; all writable) and the gradient, one per slot; False, writing nothing, when they
 * do not fit or a buffer in `required` (a set of SLOTs) is None. */
static PyObject *run_update(PyObject **buffers, Update on_float, Update on_double,
                            const Constants *c, int options, int required) {
    for (int i = 0; i < N_SLOTS; i++)
        if ((required & SLOT(i)) && buffers[i] == Py_None) Py_RETURN_FALSE;
    PyObject *objects[N_SLOTS];
    int slot[N_SLOTS], count = 0;
    for (int i = 0; i < N_SLOTS; i++)
        if (buffers[i] != Py_None) {
            slot[count] = i;
            objects[count++] = buffers[i];
        }
    Py_buffer views[N_SLOTS];
    if (!acquire(objects, count, count - 1, views)) Py_RETURN_FALSE;
    Py_ssize_t n = length(&views[0]);
    int ok = 1;
    void *a[N_SLOTS] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < count; i++) {
        ok = ok && same_shape(&views[i], &views[0]);
        a[slot[i]] = views[i].buf;
    }
    if (ok) {
        Update update = views[0].format[0] == 'f' ? on_float : on_double;
        Py_BEGIN_ALLOW_THREADS
        update(a, n, c, options);
        Py_END_ALLOW_THREADS
    }
    release(views, count);
    return PyBool_FromLong(ok);
}

/* An update's four option bits: coupled weight decay, maximize, then two of its own (each
 * loop names them: amsgrad; momentum, nesterov; centered, momentum). */
#define OPTIONS(b0, b1, b2, b3) ((b0) | ((b1) << 1) | ((b2) << 2) | ((b3) << 3))

/* adam(param, exp_avg, exp_avg_sq, max_exp_avg_sq or None, grad, weight_decay, maximize,
 *      decay_factor, lerp_weight, beta2, one_minus_beta2, eps, scale) -> bool */
static PyObject *adam(PyObject *self, PyObject *args) {
    PyObject *b[N_SLOTS];
    Constants c = {0};
    if (!PyArg_ParseTuple(args, "OOOOOdpdddddd", &b[PARAM], &b[STATE_1], &b[STATE_2],
                          &b[STATE_3], &b[GRAD], &c.weight_decay, &c.maximize,
                          &c.decay_factor, &c.lerp_weight, &c.sq_avg_decay, &c.sq_avg_weight,
                          &c.eps, &c.scale))
        return NULL;
    int options = OPTIONS(c.weight_decay != 0.0, c.maximize, b[STATE_3] != Py_None, 0);
    return run_update(b, adam_float, adam_double, &c, options, ADAM_NEEDS);
}

/* sgd(param, momentum_buffer or None, grad, weight_decay, maximize, momentum,
 *     dampening_factor, nesterov, scale) -> bool; scale is −lr. */
static PyObject *sgd(PyObject *self, PyObject *args) {
    PyObject *b[N_SLOTS] = {NULL, NULL, Py_None, Py_None, NULL};
    Constants c = {0};
    int nesterov;
    if (!PyArg_ParseTuple(args, "OOOdpddpd", &b[PARAM], &b[STATE_1], &b[GRAD], &c.weight_decay,
                          &c.maximize, &c.momentum, &c.dampening_factor, &nesterov, &c.scale))
        return NULL;
    int options = OPTIONS(c.weight_decay != 0.0, c.maximize, b[STATE_1] != Py_None, nesterov);
    return run_update(b, sgd_float, sgd_double, &c, options, SGD_NEEDS);
}

/* rmsprop(param, square_avg, grad_avg or None, momentum_buffer or None, grad, weight_decay,
 *         maximize, alpha, lerp_weight, one_minus_alpha, momentum, eps, lr) -> bool */
static PyObject *rmsprop(PyObject *self, PyObject *args) {
    PyObject *b[N_SLOTS];
    Constants c = {0};
    if (!PyArg_ParseTuple(args, "OOOOOdpdddddd", &b[PARAM], &b[STATE_1], &b[STATE_2],
                          &b[STATE_3], &b[GRAD], &c.weight_decay, &c.maximize,
                          &c.sq_avg_decay, &c.lerp_weight, &c.sq_avg_weight, &c.momentum,
                          &c.eps, &c.scale))
        return NULL;
    int options = OPTIONS(c.weight_decay != 0.0, c.maximize, b[STATE_2] != Py_None,
                          b[STATE_3] != Py_None);
    return run_update(b, rmsprop_float, rmsprop_double, &c, options, RMSPROP_NEEDS);
}

/* adagrad(param, sum, grad, weight_decay, maximize, eps, clr) -> bool */
static PyObject *adagrad(PyObject *self, PyObject *args) {
    PyObject *b[N_SLOTS] = {NULL, NULL, Py_None, Py_None, NULL};
    Constants c = {0};
    if (!PyArg_ParseTuple(args, "OOOdpdd", &b[PARAM], &b[STATE_1], &b[GRAD], &c.weight_decay,
                          &c.maximize, &c.eps, &c.scale))
        return NULL;
    int options = OPTIONS(c.weight_decay != 0.0, c.maximize, 0, 0);
    return run_update(b, adagrad_float, adagrad_double, &c, options, ADAGRAD_NEEDS);
}

/* bias_relu(z, bias or None) -> bool; z is rows × len(bias), C-contiguous. */
static PyObject *bias_relu(PyObject *self, PyObject *args) {
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1])) return NULL;
    int count = objects[1] == Py_None ? 1 : 2;
    Py_buffer views[2];
    if (!acquire(objects, count, 1, views)) Py_RETURN_FALSE;
    Py_ssize_t n = length(&views[0]), width = count == 2 ? length(&views[1]) : n;
    int ok = width > 0 && n % width == 0 &&
             (count == 1 || (views[1].ndim == 1 && views[0].ndim >= 1 &&
                             views[0].shape[views[0].ndim - 1] == width));
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
    int ok = same_shape(&views[0], &views[1]);
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
/* square_sums(a, b or None, ends) -> list of floats, or False: per segment a[start:end] (the
 * segments end at `ends`, a tuple of increasing offsets; the first starts at 0), Σ (a − b)²
 * (Σ a² without b), b of a's size. */
static PyObject *square_sums(PyObject *self, PyObject *args) {
    PyObject *objects[2], *ends;
    if (!PyArg_ParseTuple(args, "OOO!", &objects[0], &objects[1], &PyTuple_Type, &ends))
        return NULL;
    int count = objects[1] == Py_None ? 1 : 2;
    Py_ssize_t segments = PyTuple_GET_SIZE(ends);
    /* each segment's end, then its sum */
    Py_ssize_t *bounds = PyMem_Malloc((segments + 1) * sizeof(Py_ssize_t));
    double *sums = PyMem_Malloc((segments + 1) * sizeof(double));
    if (bounds == NULL || sums == NULL) {
        PyMem_Free(bounds);
        PyMem_Free(sums);
        return PyErr_NoMemory();
    }
    Py_buffer views[2];
    PyObject *result = NULL;
    if (!acquire(objects, count, 0, views)) goto refused;
    Py_ssize_t n = length(&views[0]), start = 0;
    int ok = count == 1 || length(&views[1]) == n;
    for (Py_ssize_t k = 0; ok && k < segments; k++) {
        bounds[k] = PyNumber_AsSsize_t(PyTuple_GET_ITEM(ends, k), PyExc_OverflowError);
        ok = !PyErr_Occurred() && bounds[k] >= start && bounds[k] <= n;
        start = bounds[k];
    }
    PyErr_Clear();
    if (ok) {
        int single = views[0].format[0] == 'f';
        const char *a = views[0].buf, *b = count == 2 ? views[1].buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        start = 0;
        for (Py_ssize_t k = 0; k < segments; k++) {
            Py_ssize_t size = bounds[k] - start;
            sums[k] = single ? square_sum_float((const float *)a + start,
                                               b ? (const float *)b + start : NULL, size)
                             : square_sum_double((const double *)a + start,
                                                b ? (const double *)b + start : NULL, size);
            start = bounds[k];
        }
        Py_END_ALLOW_THREADS
        result = PyList_New(segments);
        for (Py_ssize_t k = 0; result != NULL && k < segments; k++) {
            PyObject *value = PyFloat_FromDouble(sums[k]);
            if (value == NULL) Py_CLEAR(result);
            else PyList_SET_ITEM(result, k, value);
        }
    }
    release(views, count);
refused:
    PyMem_Free(bounds);
    PyMem_Free(sums);
    if (result == NULL && !PyErr_Occurred()) Py_RETURN_FALSE;
    return result;
}

static PyMethodDef methods[] = {
    {"adam", adam, METH_VARARGS, "One Adam/AdamW step in place; False if not applicable."},
    {"sgd", sgd, METH_VARARGS, "One SGD step in place; False if not applicable."},
    {"rmsprop", rmsprop, METH_VARARGS, "One RMSprop step in place; False if not applicable."},
    {"adagrad", adagrad, METH_VARARGS, "One Adagrad step in place; False if not applicable."},
    {"bias_relu", bias_relu, METH_VARARGS, "z := max(z + bias, 0) in place; False if not applicable."},
    {"relu_grad", relu_grad, METH_VARARGS, "grad := grad * (z > 0) in place; False if not applicable."},
    {"square_sums", square_sums, METH_VARARGS,
     "Sums of squares (of differences) per segment; False if not applicable."},
    {"cross_entropy_shift", cross_entropy_shift, METH_VARARGS,
     "Cross-entropy's row shift and label pick; False if not applicable."},
    {"cross_entropy_normalize", cross_entropy_normalize, METH_VARARGS,
     "Cross-entropy's gradient normalization; False if not applicable."},
    {"batch_norm_forward", batch_norm_forward, METH_VARARGS,
     "Batch norm in training over a matrix's columns; False if not applicable."},
    {"batch_norm_backward", batch_norm_backward, METH_VARARGS,
     "Batch norm's gradients; False if not applicable."},
    {"running_update", running_update, METH_VARARGS,
     "Batch norm's running statistic update in place; False if not applicable."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};

/* native.py refuses a module whose VERSION is not its own: an editable install keeps the
 * .so built from an older _native.c until it is reinstalled. Bump both with any change to the
 * functions or their arguments. */
#define VERSION 10

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", VERSION) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
