// The one place that includes the BLAS/LAPACK headers. ntkit links one of two OpenBLAS builds
// (CMakeLists.txt, NTKIT_BLAS, says why):
// - Debian's libopenblas + liblapacke (the default);
// - PyPI's scipy-openblas32, a current OpenBLAS whose symbols carry the prefix scipy_ (so it
//   can sit beside another BLAS in one process), which the names below map to.
// Code calls the plain names (cblas_dgemm, LAPACKE_dsyevd, openblas_set_num_threads, ...).
#pragma once

#include <cblas.h>
#include <lapacke.h>

#if defined(NTKIT_BLAS_SCIPY_OPENBLAS)
#define cblas_dgemm scipy_cblas_dgemm
#define cblas_sgemm scipy_cblas_sgemm
#define cblas_dsyrk scipy_cblas_dsyrk
#define cblas_ssyrk scipy_cblas_ssyrk
#define cblas_dtrsm scipy_cblas_dtrsm
#define LAPACKE_dpotrf scipy_LAPACKE_dpotrf
#define LAPACKE_dpotrs scipy_LAPACKE_dpotrs
#define LAPACKE_dsyevd scipy_LAPACKE_dsyevd
#define LAPACKE_dsyevr scipy_LAPACKE_dsyevr
#define openblas_get_num_threads scipy_openblas_get_num_threads
#define openblas_set_num_threads scipy_openblas_set_num_threads
#define openblas_get_config scipy_openblas_get_config
#define openblas_get_corename scipy_openblas_get_corename
#endif
