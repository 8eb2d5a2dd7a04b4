// A file that appears at its path only when complete (private to the library).
//
// The data goes to a hidden temporary file in the destination's directory (rename(2) is only
// atomic within one file system); commit() syncs it and renames it over the destination. If
// the object is destroyed before commit() (an error, an exception), the temporary file is
// removed and an existing file at the path is left untouched.
#pragma once

#include <string>

namespace ntkit::detail {

class AtomicFile {
 public:
  /// Creates the temporary file, with the permissions an existing file at `path` has (or what
  /// open(2) would give a new one). Throws ntkit::Error naming `path` on failure.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  /// fsync, close, rename over the destination, then fsync the directory.
  void commit();

 private:
  std::string path_, temp_path_, directory_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace ntkit::detail
