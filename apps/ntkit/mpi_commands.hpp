// The distributed mode of the tool (MPI + ScaLAPACK; docs/distributed.md): what `mpirun -np P
// ntkit kernel | empirical | predict` share. Built only with NTKIT_MPI (NTKIT_WITH_MPI defined);
// the commands call it under #ifdef NTKIT_WITH_MPI when distributed_run() says so.
#pragma once

#include <string>
#include <vector>

#include "distributed/distributed_kernel.hpp"
#include "ntkit/io.hpp"
#include "ntkit/types.hpp"

namespace ntkit::cli {

/// True when main() started an MPI session: the process was started by mpirun (or another MPI
/// launcher). Then every rank runs the command and the work is shared; P = 1 included.
bool distributed_run();
/// Rank 0: the one that prints and writes the gathered outputs.
bool is_root_rank();

/// Checks that every rank read the same inputs (a hash of each matrix), naming them in the
/// error. Collective, and the first agreement of every distributed command: a rank that
/// failed before it (bad input, a parse error) joins it from main() with its message.
void require_same_inputs(const std::vector<const RowMatrixD*>& inputs, const std::vector<std::string>& names);

/// The checks of a distributed kernel command's own options, before any collective call: the
/// output must be .npy (written with MPI-IO) and the block size >= 1.
void check_distributed_kernel_options(const std::string& output, int block_size);

/// Computes K(X1, X2) (x2 == nullptr: K(X1, X1)) block by block on all ranks with `kernels`
/// and writes the `paths.size()` kernels it returns to those .npy paths with MPI-IO, all or
/// none. `label`: the progress bar's (drawn by rank 0 unless quiet).
void write_kernels_distributed(const RowMatrixD& x1, const RowMatrixD* x2, const distributed::BlockKernels& kernels,
                               const std::vector<std::string>& paths, DType dtype, int block, const std::string& label,
                               bool quiet);

/// For `ntkit info`: the MPI library it was built with, and this run's ranks.
std::string mpi_description();

/// The error for a command or option that runs in one process only.
[[noreturn]] void throw_not_distributed(const std::string& what);

/// The "mpi" entry of a summary.json: ranks, process grid, block size (as a JSON text).
std::string distributed_summary(int block);

}  // namespace ntkit::cli
