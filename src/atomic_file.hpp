// A file that appears at its path only when complete (private to the library).
//
// The data goes to a hidden temporary file (".NAME.tmp.XXXXXX") in the destination's directory
// (rename(2) is only atomic within one file system); publish() syncs it and renames it over the
// destination. If the object is destroyed before that (an error, an exception), the temporary
// file is removed and an existing file at the path is left untouched. While it exists the
// temporary file is known to the signal handlers (temporary_files.hpp), which remove it.
//
// Several files that must appear together (OutputSet, the NNGP and NTK of
// write_analytic_kernels_npy): finish() each, then publish_all() them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ntkit::detail {

class AtomicFile {
 public:
  /// Creates the temporary file, with the permissions an existing file at `path` has (or what
  /// open(2) would give a new one). Throws ntkit::Error naming `path` on failure.
  /// `staging_directory`: where the temporary file goes (default: `path`'s directory); it must
  /// be on the same file system, e.g. an existing ancestor of a directory not yet created.
  explicit AtomicFile(std::string path, std::string staging_directory = {});
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  /// Where the data goes until publish() (for writers in other processes, e.g. MPI-IO).
  const std::string& temporary_path() const { return temp_path_; }

  /// fsync and close: the data is on disk, still under the temporary name.
  void finish();
  /// finish() if not yet done, renames the file over the destination, then fsyncs the
  /// destination's directory.
  void publish();

 private:
  std::string path_, temp_path_, directory_;
  int fd_ = -1;
  int slot_ = -1;  // the signal handlers' entry (temporary_files.hpp)
  bool published_ = false;
};

/// Puts finished files in place, all or (as far as can be checked beforehand) none: first
/// checks every destination (none may be a directory) and every entry of `directories` (each
/// must be a directory or absent), then creates the missing directories, then renames the
/// files one after another in order, with termination signals deferred until the last rename.
/// The renames are not one atomic step: if one fails after others were done (rare once the
/// checks passed), the error names the files already replaced.
void publish_all(const std::vector<AtomicFile*>& files, const std::vector<std::string>& directories = {});

/// write(2) all of `bytes`, retrying short writes; Error naming `path` on failure.
void write_all(int fd, std::string_view bytes, const std::string& path);

}  // namespace ntkit::detail
