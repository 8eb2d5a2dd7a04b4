// .npy files read and written by all ranks at once with MPI-IO (private): each rank reads or
// writes exactly its own blocks of the block-cyclic layout (an MPI "darray" file view), so no
// rank ever holds the whole matrix.
#pragma once

#include <string>
#include <vector>

#include "distributed_matrix.hpp"
#include "ntkit/io.hpp"

namespace ntkit::distributed {

/// Writes each matrix to its .npy path (float32 or float64, C order, as numpy.save writes),
/// all files appearing together or none (written under temporary names, renamed by rank 0
/// only after every rank wrote every file). Collective; errors are AgreedErrors.
void write_npy_files(const std::vector<std::string>& paths, const std::vector<const DistributedMatrix*>& matrices,
                     DType dtype);

/// Reads a 2-D float64 or float32 .npy (C order) into the block-cyclic layout. `what` names
/// the file in errors (e.g. "--kernels DIR/train.ntk.npy"). Collective.
DistributedMatrix read_npy(const ProcessGrid& grid, const std::string& path, int block, const std::string& what);

}  // namespace ntkit::distributed
