// The hidden temporary files of writes in progress, known to the signal handlers (private to the
// library; the public switch is ntkit::remove_temporaries_on_signals in ntkit/io.hpp).
//
// Every temporary file this library creates (AtomicFile, so write_file_atomically, write_matrix,
// OutputSet and the memory-mapped kernel outputs) is entered in a fixed table of path buffers
// while it exists. A signal handler can then unlink(2) them all: the table is static storage
// (no allocation), and each entry's state is a lock-free atomic, set to "live" only after its
// path is complete and cleared before the buffer is reused, so the handler never reads a path
// being written. Paths longer than the table's buffers, and files beyond its 64 entries, are
// still written correctly but not removed by a signal.
#pragma once

#include <string>

namespace ntkit::detail {

struct TemporaryFile {
  int fd = -1;
  std::string path;
  int slot = -1;  // its entry in the table, or -1 if it has none
};

/// Creates a new file `prefix` + six random characters with O_EXCL, mode 0600, and enters it in
/// the table before it exists (so a signal in between cannot miss it). Throws ntkit::Error
/// naming `what` on failure (the errno text appended).
TemporaryFile create_temporary_file(const std::string& prefix, const std::string& what);

/// The file left the table's care: it was renamed into place or unlinked. Safe with slot -1.
void forget_temporary_file(int slot) noexcept;

/// Termination signals (SIGINT, SIGTERM, SIGHUP) that arrive while an object of this class
/// lives (in any thread) wait until the last one is destroyed: a set of renames is not cut in
/// the middle. Nesting is allowed.
class DeferTerminationSignals {
 public:
  DeferTerminationSignals() noexcept;
  ~DeferTerminationSignals();
  DeferTerminationSignals(const DeferTerminationSignals&) = delete;
  DeferTerminationSignals& operator=(const DeferTerminationSignals&) = delete;
};

}  // namespace ntkit::detail
