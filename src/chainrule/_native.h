/* What the compiled loops' source files share: the buffer helpers (defined in _native.c) and
 * WIDE_VECTORS. */
#ifndef CHAINRULE_NATIVE_H
#define CHAINRULE_NATIVE_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* Loops over data that fits in cache run as fast as the vectors are wide: where the compiler
 * can, each is built for AVX-512 and AVX2 as well, the best one chosen at load time (the same
 * IEEE operations element by element, so the same numbers on every machine). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
#define WIDE_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WIDE_VECTORS
/* _native_cross_entropy.c */
PyObject *cross_entropy_shift(PyObject *self, PyObject *args);
PyObject *cross_entropy_normalize(PyObject *self, PyObject *args);

#endif
/* Buffers of C-contiguous arrays (the first `writable` of them writable) of one float type
 * ('f' or 'd'), not overlapping; 0, holding nothing, when one is not such an array. */
int acquire(PyObject **objects, int count, int writable, Py_buffer *views);
void release(Py_buffer *views, int count);
Py_ssize_t length(Py_buffer *view);
int same_shape(Py_buffer *x, Py_buffer *y);

/* _native_batch_norm.c */
PyObject *batch_norm_forward(PyObject *self, PyObject *args);
PyObject *batch_norm_backward(PyObject *self, PyObject *args);
PyObject *running_update(PyObject *self, PyObject *args);

/* _native_cross_entropy.c */
PyObject *cross_entropy_shift(PyObject *self, PyObject *args);
PyObject *cross_entropy_normalize(PyObject *self, PyObject *args);

#endif
