#include "mapped_npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "npy_format.hpp"
#include "ntkit/error.hpp"

namespace ntkit::detail {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem, int error) {
  throw Error(path + ": " + problem + ": " + std::strerror(error));
}

}  // namespace

MappedNpyMatrix::MappedNpyMatrix(const std::string& path, std::size_t rows, std::size_t cols, DType dtype) : file_(path) {
  const std::string preamble = npy_matrix_preamble(dtype, rows, cols);
  const std::size_t value_size = dtype == DType::Float32 ? 4 : 8;
  if (cols != 0 && rows > (std::numeric_limits<std::size_t>::max() - preamble.size()) / cols / value_size)
    throw Error(path + ": a " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix is too large");
  mapped_bytes_ = preamble.size() + rows * cols * value_size;
  // posix_fallocate reserves the blocks now, so a full disk is an error here and not a
  // SIGBUS later when a page of the map is written back. Some file systems cannot reserve
  // (EOPNOTSUPP / EINVAL); there ftruncate makes a sparse file of the right size.
  const int reserved = ::posix_fallocate(file_.fd(), 0, static_cast<off_t>(mapped_bytes_));
  if (reserved == ENOSPC) fail(path, "not enough disk space for the output", reserved);
  if (reserved != 0 && ::ftruncate(file_.fd(), static_cast<off_t>(mapped_bytes_)) != 0)
    fail(path, "cannot size the output file", errno);
  mapping_ = ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, file_.fd(), 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    fail(path, "cannot map the output file into memory", errno);
  }
  std::memcpy(mapping_, preamble.data(), preamble.size());
  data_ = static_cast<char*>(mapping_) + preamble.size();
  data_offset_ = preamble.size();
}

void MappedNpyMatrix::start_writeback(std::size_t end) {
  // Only what was not started yet, [written_back_, end).
  if (mapping_ == nullptr || end <= written_back_) return;
  // SYNC_FILE_RANGE_WRITE starts the writeback and returns without waiting; errors surface in
  // finish()'s msync/fsync, which wait for every page.
  ::sync_file_range(file_.fd(), static_cast<off_t>(data_offset_ + written_back_), static_cast<off_t>(end - written_back_),
                    SYNC_FILE_RANGE_WRITE);
  written_back_ = end;
}

MappedNpyMatrix::~MappedNpyMatrix() { unmap(); }

void MappedNpyMatrix::unmap() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_bytes_);
  mapping_ = nullptr;
  data_ = nullptr;
}

void MappedNpyMatrix::finish() {
  if (mapping_ != nullptr && ::msync(mapping_, mapped_bytes_, MS_SYNC) != 0)
    fail(file_.path(), "cannot write the output file", errno);
  unmap();
  file_.finish();
}

}  // namespace ntkit::detail
