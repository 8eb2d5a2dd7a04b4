// The ScaLAPACK and BLACS routines ntkit calls (private). Debian's libscalapack-openmpi-dev ships
// the library without a C header, so the Fortran symbols are declared here: every argument by
// pointer, 32-bit integers (the LP64 build), matrices column-major, indices 1-based.
#pragma once

extern "C" {

// BLACS: process grids over MPI_COMM_WORLD.
void Cblacs_get(int context, int what, int* value);
void Cblacs_gridinit(int* context, const char* order, int process_rows, int process_cols);
void Cblacs_gridinfo(int context, int* process_rows, int* process_cols, int* my_row, int* my_col);
void Cblacs_gridexit(int context);

// Tools: the local size of a block-cyclic dimension, and array descriptors.
int numroc_(const int* n, const int* block, const int* process, const int* source_process, const int* processes);
void descinit_(int* desc, const int* rows, const int* cols, const int* row_block, const int* col_block, const int* source_row,
               const int* source_col, const int* context, const int* leading_dimension, int* info);

// C := alpha op(A) op(B) + beta C.
void pdgemm_(const char* trans_a, const char* trans_b, const int* m, const int* n, const int* k, const double* alpha,
             const double* a, const int* ia, const int* ja, const int* desc_a, const double* b, const int* ib, const int* jb,
             const int* desc_b, const double* beta, double* c, const int* ic, const int* jc, const int* desc_c);
// C := beta C + alpha Aᵀ (C is m x n, A is n x m).
void pdtran_(const int* m, const int* n, const double* alpha, const double* a, const int* ia, const int* ja,
             const int* desc_a, const double* beta, double* c, const int* ic, const int* jc, const int* desc_c);
// Cholesky factorization and solves.
void pdpotrf_(const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desc_a, int* info);
void pdpotrs_(const char* uplo, const int* n, const int* rhs, const double* a, const int* ia, const int* ja,
              const int* desc_a, double* b, const int* ib, const int* jb, const int* desc_b, int* info);
// Symmetric eigendecomposition by divide and conquer.
void pdsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desc_a,
              double* w, double* z, const int* iz, const int* jz, const int* desc_z, double* work, const int* lwork,
              int* iwork, const int* liwork, int* info);
}
