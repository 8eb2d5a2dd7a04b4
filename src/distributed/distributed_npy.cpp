#include "distributed_npy.hpp"

#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "atomic_file.hpp"
#include "mpi_session.hpp"
#include "npy_format.hpp"
#include "ntkit/error.hpp"

namespace ntkit::distributed {
namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

// Every rank learns whether an MPI call failed on any rank (its own result is `code`).
void check_everywhere(int code, const std::string& what) {
  on_every_rank([&] {
    if (code != MPI_SUCCESS) throw Error(what + ": " + mpi_error_text(code));
  });
}

// The file view of this rank's blocks of a rows x cols C-order matrix.
MPI_Datatype block_cyclic_view(const DistributedMatrix& m, MPI_Datatype element) {
  const int gsizes[2] = {static_cast<int>(m.rows()), static_cast<int>(m.cols())};
  const int distribs[2] = {MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_CYCLIC};
  const int dargs[2] = {m.block(), m.block()};
  const int psizes[2] = {m.grid().rows(), m.grid().cols()};
  MPI_Datatype view = MPI_DATATYPE_NULL;
  MPI_Type_create_darray(size(), rank(), 2, gsizes, distribs, dargs, psizes, MPI_ORDER_C, element, &view);
  MPI_Type_commit(&view);
  return view;
}

std::size_t local_count(const DistributedMatrix& m) {
  const auto count = static_cast<std::size_t>(m.local_rows()) * static_cast<std::size_t>(m.local_cols());
  if (count > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error("a rank's part of the matrix has " + std::to_string(count) +
                " values, more than MPI-IO's 2^31 per call; use more ranks");
  return count;
}

// This rank's blocks in C order (the order of the darray view), as float or double.
template <class T>
std::vector<T> local_in_c_order(const DistributedMatrix& m) {
  std::vector<T> out(local_count(m));
  const auto cols = static_cast<std::size_t>(m.local_cols());
  for (Eigen::Index i = 0; i < m.local_rows(); ++i)
    for (Eigen::Index j = 0; j < m.local_cols(); ++j)
      out[static_cast<std::size_t>(i) * cols + static_cast<std::size_t>(j)] = static_cast<T>(m.local(i, j));
  return out;
}

template <class T>
void write_one(const std::string& temp_path, std::size_t preamble, const DistributedMatrix& m, MPI_Datatype element,
               const std::string& name) {
  std::vector<T> values;
  on_every_rank([&] { values = local_in_c_order<T>(m); });
  MPI_File file = MPI_FILE_NULL;
  int code = MPI_File_open(MPI_COMM_WORLD, temp_path.c_str(), MPI_MODE_WRONLY, MPI_INFO_NULL, &file);
  check_everywhere(code, name + ": cannot open the output for MPI-IO");
  MPI_File_set_errhandler(file, MPI_ERRORS_RETURN);
  if (m.rows() > 0 && m.cols() > 0) {
    MPI_Datatype view = block_cyclic_view(m, element);
    code = MPI_File_set_view(file, static_cast<MPI_Offset>(preamble), element, view, "native", MPI_INFO_NULL);
    if (code == MPI_SUCCESS)
      code = MPI_File_write_all(file, values.data(), static_cast<int>(values.size()), element, MPI_STATUS_IGNORE);
    MPI_Type_free(&view);
  }
  int closed = MPI_File_close(&file);
  check_everywhere(code != MPI_SUCCESS ? code : closed, name + ": MPI-IO write failed (disk full?)");
}

}  // namespace

void write_npy_files(const std::vector<std::string>& paths, const std::vector<const DistributedMatrix*>& matrices,
                     DType dtype) {
  if (dtype != DType::Float32 && dtype != DType::Float64) throw Error("write_npy_files: float32 or float64 only");
  // Rank 0 creates the temporary files with their preambles; every rank learns their names.
  std::vector<std::unique_ptr<detail::AtomicFile>> files;
  std::vector<std::string> temp_paths(paths.size()), preambles(paths.size());
  on_every_rank([&] {
    for (std::size_t f = 0; f < paths.size(); ++f) {
      preambles[f] = detail::npy_matrix_preamble(dtype, static_cast<std::size_t>(matrices[f]->rows()),
                                                 static_cast<std::size_t>(matrices[f]->cols()));
      if (rank() != 0) continue;
      files.push_back(std::make_unique<detail::AtomicFile>(paths[f]));
      detail::write_all(files.back()->fd(), preambles[f], paths[f]);
      temp_paths[f] = files.back()->temporary_path();
    }
  });
  for (std::string& temp : temp_paths) {
    int length = static_cast<int>(temp.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
    temp.resize(static_cast<std::size_t>(length));
    MPI_Bcast(temp.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  }
  for (std::size_t f = 0; f < paths.size(); ++f) {
    if (dtype == DType::Float64) write_one<double>(temp_paths[f], preambles[f].size(), *matrices[f], MPI_DOUBLE, paths[f]);
    else write_one<float>(temp_paths[f], preambles[f].size(), *matrices[f], MPI_FLOAT, paths[f]);
  }
  // Every rank has closed every file: rank 0 syncs and renames them all into place.
  on_every_rank([&] {
    if (rank() != 0) return;
    std::vector<detail::AtomicFile*> all;
    for (auto& file : files) all.push_back(file.get());
    detail::publish_all(all);
  });
}

DistributedMatrix read_npy(const ProcessGrid& grid, const std::string& path, int block, const std::string& what) {
  std::size_t rows = 0, cols = 0, preamble = 0;
  bool single = false;
  on_every_rank([&] {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(what + ": cannot open " + path);
    std::string head(70000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    const detail::NpyHeader h = detail::parse_npy_header(head, what);
    if (h.fortran_order) throw Error(what + ": Fortran-order .npy is not supported; save it in C order");
    if (h.descr != "<f8" && h.descr != "<f4")
      throw Error(what + ": dtype " + h.descr + "; a kernel must be float64 or float32");
    if (h.shape.size() != 2) throw Error(what + ": a kernel must be a 2-D matrix");
    rows = h.shape[0];
    cols = h.shape[1];
    single = h.descr == "<f4";
    preamble = head.size() - h.data.size();
    const std::size_t expected = preamble + rows * cols * (single ? 4 : 8);
    if (std::filesystem::file_size(path) != expected)
      throw Error(what + ": the file is " + std::to_string(std::filesystem::file_size(path)) + " bytes, its header says " +
                  std::to_string(expected) + " (truncated?)");
  });
  require_same_on_every_rank(fingerprint(&rows, sizeof rows, fingerprint(&cols, sizeof cols)), what + " (its shape)");
  DistributedMatrix m(grid, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols), block);
  const MPI_Datatype element = single ? MPI_FLOAT : MPI_DOUBLE;
  std::vector<double> doubles;
  std::vector<float> floats;
  on_every_rank([&] { (single ? floats.resize(local_count(m)) : doubles.resize(local_count(m))); });
  MPI_File file = MPI_FILE_NULL;
  int code = MPI_File_open(MPI_COMM_WORLD, path.c_str(), MPI_MODE_RDONLY, MPI_INFO_NULL, &file);
  check_everywhere(code, what + ": cannot open for MPI-IO");
  MPI_File_set_errhandler(file, MPI_ERRORS_RETURN);
  if (rows > 0 && cols > 0) {
    MPI_Datatype view = block_cyclic_view(m, element);
    code = MPI_File_set_view(file, static_cast<MPI_Offset>(preamble), element, view, "native", MPI_INFO_NULL);
    void* buffer = single ? static_cast<void*>(floats.data()) : static_cast<void*>(doubles.data());
    const int count = static_cast<int>(single ? floats.size() : doubles.size());
    if (code == MPI_SUCCESS) code = MPI_File_read_all(file, buffer, count, element, MPI_STATUS_IGNORE);
    MPI_Type_free(&view);
  }
  const int closed = MPI_File_close(&file);
  check_everywhere(code != MPI_SUCCESS ? code : closed, what + ": MPI-IO read failed");
  const auto lc = static_cast<std::size_t>(m.local_cols());
  for (Eigen::Index i = 0; i < m.local_rows(); ++i)
    for (Eigen::Index j = 0; j < m.local_cols(); ++j) {
      const std::size_t at = static_cast<std::size_t>(i) * lc + static_cast<std::size_t>(j);
      m.local(i, j) = single ? static_cast<double>(floats[at]) : doubles[at];
    }
  return m;
}

}  // namespace ntkit::distributed
