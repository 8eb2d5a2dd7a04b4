// A .npy matrix file filled in place through a memory map (private to the library).
//
// For outputs that may be larger than memory (a 100 000² float32 kernel is 40 GB): the file is
// created at its final size, mapped, written by the caller row by row, and the kernel's page
// cache writes it out as memory runs short. The file is an AtomicFile: it appears at its path
// only when published; an error or exception before that leaves nothing behind (and a signal
// handled by remove_temporaries_on_signals removes it).
#pragma once

#include <cstddef>
#include <string>

#include "atomic_file.hpp"
#include "ntkit/io.hpp"

namespace ntkit::detail {

class MappedNpyMatrix {
 public:
  /// dtype: Float32 or Float64. Throws ntkit::Error naming the path if the file cannot be
  /// created at its full size (e.g. no space left) or mapped.
  MappedNpyMatrix(const std::string& path, std::size_t rows, std::size_t cols, DType dtype);
  MappedNpyMatrix(const MappedNpyMatrix&) = delete;
  MappedNpyMatrix& operator=(const MappedNpyMatrix&) = delete;
  ~MappedNpyMatrix();

  /// The row-major data (rows x cols values of the dtype).
  void* data() { return data_; }

  /// The data bytes before `end` are final: starts writing those not yet started to disk in
  /// the background (advisory; finish() still waits for everything).
  void start_writeback(std::size_t end);

  /// Writes the mapped pages back and unmaps: the file is complete but not yet in place; put it
  /// there with file().publish(), or with detail::publish_all for several files at once.
  void finish();
  AtomicFile& file() { return file_; }

 private:
  void unmap();

  AtomicFile file_;
  void* mapping_ = nullptr;
  std::size_t mapped_bytes_ = 0;
  void* data_ = nullptr;
  std::size_t data_offset_ = 0;   // bytes of .npy header before the data
  std::size_t written_back_ = 0;  // data bytes [0, written_back_) already sent to disk
};

}  // namespace ntkit::detail
