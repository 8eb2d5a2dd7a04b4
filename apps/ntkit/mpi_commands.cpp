#include "mpi_commands.hpp"

#include <mpi.h>

#include <cctype>
#include <filesystem>

#include "distributed/distributed_matrix.hpp"
#include "distributed/distributed_npy.hpp"
#include "distributed/mpi_session.hpp"
#include "ntkit/error.hpp"
#include "progress_bar.hpp"

namespace ntkit::cli {

bool distributed_run() { return distributed::active(); }

bool is_root_rank() { return distributed::rank() == 0; }

void require_same_inputs(const std::vector<const RowMatrixD*>& inputs, const std::vector<std::string>& names) {
  distributed::on_every_rank([] {});  // every rank read its inputs without error
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const RowMatrixD& m = *inputs[i];
    const Eigen::Index shape[2] = {m.rows(), m.cols()};
    const std::uint64_t hash = distributed::fingerprint(m.data(), static_cast<std::size_t>(m.size()) * sizeof(double),
                                                        distributed::fingerprint(shape, sizeof shape));
    distributed::require_same_on_every_rank(hash, names[i]);
  }
}

void check_distributed_kernel_options(const std::string& output, int block_size) {
  std::string extension = std::filesystem::path(output).extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension != ".npy")
    throw Error("-o/--output: under mpirun the kernel is written with MPI-IO as .npy; give a .npy path, not " + output);
  if (block_size < 1) throw Error("--block-size: must be >= 1, got " + std::to_string(block_size));
}

void write_kernels_distributed(const RowMatrixD& x1, const RowMatrixD* x2, const distributed::BlockKernels& kernels,
                               const std::vector<std::string>& paths, DType dtype, int block, const std::string& label,
                               bool quiet) {
  const distributed::ProcessGrid grid;
  ProgressBar bar(label, quiet || !is_root_rank());
  const MatrixView<double> x2_view = x2 != nullptr ? MatrixView<double>(*x2) : MatrixView<double>(x1);
  const std::vector<distributed::DistributedMatrix> k = distributed::compute_kernels(
      grid, block, x1, x2 != nullptr ? &x2_view : nullptr, static_cast<int>(paths.size()), kernels,
      is_root_rank() ? bar.callback() : std::function<void(double)>());
  std::vector<const distributed::DistributedMatrix*> matrices;
  for (const auto& m : k) matrices.push_back(&m);
  distributed::write_npy_files(paths, matrices, dtype);
}

std::string mpi_description() {
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(library, &length);
  std::string name(library, static_cast<std::size_t>(length));
  name = name.substr(0, name.find_first_of(",\n"));  // "Open MPI v4.1.4"
  std::string out = "built with " + name + " and ScaLAPACK; ";
  if (!distributed_run()) return out + "kernel, empirical and predict distribute under mpirun";
  return out + std::to_string(distributed::size()) + " ranks in this run";
}

void throw_not_distributed(const std::string& what) {
  throw Error(what + " runs in one process only; run it without mpirun");
}

std::string distributed_summary(int block) {
  const auto [rows, cols] = distributed::grid_shape(distributed::size());
  return "{\"ranks\": " + std::to_string(distributed::size()) + ", \"process_grid\": [" + std::to_string(rows) + ", " +
         std::to_string(cols) + "], \"block_size\": " + std::to_string(block) + "}";
}

}  // namespace ntkit::cli
