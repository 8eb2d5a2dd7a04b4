// Kernel matrices computed straight into the block-cyclic layout (private): every rank computes
// only its own blocks, from inputs that every rank holds.
#pragma once

#include <functional>
#include <vector>

#include "distributed_matrix.hpp"

namespace ntkit::distributed {

/// The kernels of one block: K(rows, cols) for each kernel asked for (e.g. NNGP then NTK), or
/// K(rows, rows) when cols is null (then the result must be exactly symmetric, as the library's
/// symmetric kernels are).
using BlockKernels = std::function<std::vector<RowMatrixD>(MatrixView<double> rows, const MatrixView<double>* cols)>;

/// K(X1, X2) for `count` kernels, X1 n1 x d and X2 n2 x d on every rank; x2 == nullptr:
/// K(X1, X1), of which only one block of each mirrored pair (I, J), (J, I) is computed (half
/// the work, as for the upper triangle, but chosen so that every rank gets an even share; see
/// distributed_kernel.cpp) and the other is its exact mirror. The block function runs once per
/// block row this rank owns, over all the block columns it computes there, so the library's
/// threads and BLAS see large pieces. Collective; a failure on any rank is an AgreedError on
/// all. `progress` (rank 0's share of its own work, 0 to 1) may be empty.
std::vector<DistributedMatrix> compute_kernels(const ProcessGrid& grid, int block, MatrixView<double> x1,
                                               const MatrixView<double>* x2, int count, const BlockKernels& kernels,
                                               const std::function<void(double)>& progress = {});

}  // namespace ntkit::distributed
