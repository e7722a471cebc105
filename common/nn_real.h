/*
 * nn_real.h - the scalar type of the neural-network modules (gnn/,
 * attention/). The library builds them in float (cblas_sgemm); the gradient
 * tests build the same sources again with WEFT_NN_DOUBLE so central finite
 * differences run in double, as one code path with two precisions.
 */
#ifndef NN_REAL_H
#define NN_REAL_H

#include <cblas.h>
#include <math.h>

#ifdef WEFT_NN_DOUBLE
typedef double weft_real_t;
#define WEFT_GEMM cblas_dgemm
#define WEFT_GEMV cblas_dgemv
#define WEFT_AXPY cblas_daxpy
#define WEFT_EXP exp
#define WEFT_LOG log
#define WEFT_TANH tanh
#define WEFT_SQRT sqrt
#else
typedef float weft_real_t;
#define WEFT_GEMM cblas_sgemm
#define WEFT_GEMV cblas_sgemv
#define WEFT_AXPY cblas_saxpy
#define WEFT_EXP expf
#define WEFT_LOG logf
#define WEFT_TANH tanhf
#define WEFT_SQRT sqrtf
#endif

#include "weft.h"

/* Fills w[rows*cols] with Xavier/Glorot uniform weights (Glorot & Bengio
 * 2010): U(-b, b), b = sqrt(6 / (rows + cols)), from the top 53 bits of
 * splitmix64 draws on *s. */
static inline void weft_fill_xavier(weft_real_t *w, size_t rows, size_t cols, uint64_t *s)
{
    double bound = sqrt(6.0 / (double)(rows + cols));
    for (size_t i = 0; i < rows * cols; i++) {
        double u = (double)(weft_splitmix64(s) >> 11) * 0x1.0p-53;
        w[i] = (weft_real_t)((2.0 * u - 1.0) * bound);
    }
}

#endif
