// Files: reading them whole, writing them atomically, and reading/writing data matrices.
//
// POSIX calls are used instead of iostreams because iostreams do not report why an open or a
// write failed; errno does ("No such file or directory", "Permission denied", "No space left").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ntkit/error.hpp"
#include "atomic_file.hpp"
#include "ntkit/io.hpp"
#include "temporary_files.hpp"

namespace ntkit {
namespace {

constexpr std::string_view kNpyMagic{"\x93NUMPY", 6};

[[noreturn]] void fail(const std::string& path, const std::string& problem) { throw Error(path + ": " + problem); }

[[noreturn]] void fail_errno(const std::string& path, const std::string& action, int error) {
  fail(path, action + ": " + std::strerror(error));
}

// Closes a file descriptor when the scope ends, unless it was closed explicitly.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closing can report a delayed write error (e.g. on NFS), so writers check its result.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The permissions a plain open(path, O_CREAT, 0666) would give: mkstemp always creates 0600,
// which would make our outputs unreadable to the user's group for no reason. umask(2) can only
// be read by changing it (not thread-safe), so it is read from /proc where available.
mode_t default_file_mode() {
  mode_t mask = 022;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      mask = static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
      break;
    }
  }
  return static_cast<mode_t>(0666 & ~mask);
}

std::string lowercase_extension(const std::string& path) {
  const std::string base = base_name_of(path);
  const std::size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = base.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

enum class OutputFormat { Npy, Text };

OutputFormat output_format(const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".npy") return OutputFormat::Npy;
  if (ext == ".csv" || ext == ".txt") return OutputFormat::Text;
  fail(path, (ext.empty() ? std::string("no file extension") : "unsupported extension '" + ext + "'") +
                 "; use .npy (NumPy), .csv or .txt (text)");
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

RowMatrixD npy_to_matrix(const std::string& bytes, const std::string& path) {
  NpyArray array = parse_npy(bytes, path);
  if (array.shape.empty()) {
    fail(path,
         "the array is 0-D (a single number), not a data matrix; reshape to 2-D (n, d), "
         "e.g. np.save(path, np.reshape(x, (1, 1)))");
  }
  if (array.shape.size() > 2) {
    fail(path, "the array has " + std::to_string(array.shape.size()) + " dimensions, shape " + shape_text(array.shape) +
                   "; reshape to 2-D (n, d), e.g. np.save(path, x.reshape(len(x), -1)), or read it with read_examples "
                   "(ntkit kernel, predict, classify and regress take images (N, H, W, C) and signals (N, L, C))");
  }
  // parse_npy keeps every dimension below 2**63, so these fit in Eigen::Index.
  const auto rows = static_cast<Eigen::Index>(array.shape[0]);
  const auto cols = array.shape.size() == 2 ? static_cast<Eigen::Index>(array.shape[1]) : 1;
  RowMatrixD matrix(rows, cols);
  if (!array.values.empty()) matrix = Eigen::Map<const RowMatrixD>(array.values.data(), rows, cols);
  return matrix;
}

}  // namespace

std::string read_file(const std::string& path) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) fail_errno(path, "cannot open", errno);
  FileDescriptor file(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail_errno(path, "cannot read", errno);
  if (S_ISDIR(info.st_mode)) fail(path, "is a directory, not a file");

  std::string contents;
  // The size is only a hint: pipes and /proc files report 0, and files can grow meanwhile.
  if (S_ISREG(info.st_mode) && info.st_size > 0) {
    contents.reserve(static_cast<std::size_t>(info.st_size));
  }
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail_errno(path, "cannot read", errno);
    }
    if (got == 0) break;
    contents.append(buffer, static_cast<std::size_t>(got));
  }
  return contents;
}

namespace detail {

void write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_errno(path, "cannot write", errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

AtomicFile::AtomicFile(std::string path, std::string staging_directory) : path_(std::move(path)) {
  if (path_.empty()) throw Error("writing a file: the output path is empty");
  directory_ = directory_of(path_);
  const std::string staging = staging_directory.empty() ? directory_ : staging_directory;
  // The leading dot keeps the temporary file out of `ls` and shell globs.
  TemporaryFile temp = create_temporary_file(staging + "/." + base_name_of(path_) + ".tmp.",
                                             path_ + ": cannot create a temporary file in directory '" + staging + "'");
  fd_ = temp.fd;
  slot_ = temp.slot;
  temp_path_ = std::move(temp.path);
  // Keep an existing file's permissions; give a new one what open(2) would have.
  struct stat old_info {};
  const mode_t mode = ::stat(path_.c_str(), &old_info) == 0 && S_ISREG(old_info.st_mode) ? (old_info.st_mode & 07777)
                                                                                         : default_file_mode();
  if (::fchmod(fd_, mode) != 0) {
    const int error = errno;
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    forget_temporary_file(slot_);
    fail_errno(path_, "cannot set permissions", error);
  }
}

AtomicFile::~AtomicFile() {
  if (published_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_path_.c_str());
  forget_temporary_file(slot_);
}

void AtomicFile::finish() {
  if (fd_ < 0) return;
  // Without fsync a crash soon after the rename can leave an empty file under the new name.
  if (::fsync(fd_) != 0) fail_errno(path_, "cannot write (fsync failed)", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno(path_, "cannot write (close failed)", errno);
}

void AtomicFile::publish() {
  finish();
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    fail_errno(path_, "cannot replace the file", errno);
  }
  published_ = true;
  forget_temporary_file(slot_);
  // Make the rename itself durable. Failing here is not an error: the data is written.
  const int dir_fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

namespace {

// mkdir(2) for `directory` and each missing parent, outermost first; `created` gets each one
// made here, so that they can be removed again.
void make_directories(const std::string& directory, std::vector<std::string>& created) {
  std::vector<std::string> missing;
  struct stat info {};
  for (std::string d = directory; !d.empty() && d != "." && d != "/"; d = directory_of(d)) {
    if (::stat(d.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode)) fail(d, "exists and is not a directory");
      break;
    }
    missing.push_back(d);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) != 0) {
      const int error = errno;
      if (error == EEXIST && ::stat(it->c_str(), &info) == 0 && S_ISDIR(info.st_mode)) continue;
      fail_errno(*it, "cannot create directory", error);
    }
    created.push_back(*it);
  }
}

}  // namespace

void publish_all(const std::vector<AtomicFile*>& files, const std::vector<std::string>& directories) {
  DeferTerminationSignals defer;
  // Check everything that can be checked first: a directory in a destination's place would make
  // its rename fail after the files before it were replaced.
  struct stat info {};
  for (const std::string& d : directories)
    if (::stat(d.c_str(), &info) == 0 && !S_ISDIR(info.st_mode)) fail(d, "exists and is not a directory");
  for (const AtomicFile* file : files)
    if (::stat(file->path().c_str(), &info) == 0 && S_ISDIR(info.st_mode))
      fail(file->path(), "is a directory; cannot replace it with the output file");
  std::vector<std::string> created;
  std::size_t done = 0;
  try {
    for (const std::string& d : directories) make_directories(d, created);
    for (AtomicFile* file : files) {
      file->publish();
      ++done;
    }
  } catch (const Error& e) {
    if (done == 0) {  // nothing in place yet: leave no directory behind either
      for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
      throw;
    }
    std::string replaced;
    for (std::size_t i = 0; i < done; ++i) replaced += (i > 0 ? ", " : "") + files[i]->path();
    throw Error(std::string(e.what()) + " (already in place: " + replaced + ")");
  }
}

}  // namespace detail

void write_file_atomically(const std::string& path, std::string_view bytes) {
  detail::AtomicFile file(path);
  detail::write_all(file.fd(), bytes, path);
  file.publish();
}

void require_finite(const RowMatrixD& matrix, const std::string& what) {
  for (Eigen::Index row = 0; row < matrix.rows(); ++row) {
    for (Eigen::Index col = 0; col < matrix.cols(); ++col) {
      const double value = matrix(row, col);
      if (!std::isfinite(value)) {
        const char* kind = std::isnan(value) ? "NaN" : (value > 0 ? "Inf" : "-Inf");
        fail(what, std::string(kind) + " at row " + std::to_string(row) + ", column " + std::to_string(col) +
                       " (0-based); remove or impute missing and infinite values first");
      }
    }
  }
}

RowMatrixD read_matrix(const std::string& path, const ReadOptions& options) {
  const std::string bytes = read_file(path);
  // The format is chosen by content, not by extension. 0x93 cannot start UTF-8 text, so a file
  // starting with it is treated as .npy even if shorter than the magic (and reported as such).
  const bool is_npy = !bytes.empty() && bytes.front() == kNpyMagic.front();
  if (!is_npy && bytes.find('\0') != std::string::npos) {
    fail(path,
         "binary content that is not a .npy file (it does not start with the magic string "
         "\\x93NUMPY); expected a .npy file or CSV / whitespace-separated text");
  }
  RowMatrixD matrix = is_npy ? npy_to_matrix(bytes, path) : parse_text_matrix(bytes, path);
  if ((matrix.rows() == 0 || matrix.cols() == 0) && !options.allow_empty) {
    fail(path, "the matrix is empty (" + std::to_string(matrix.rows()) + " rows, " + std::to_string(matrix.cols()) +
                   " columns); expected at least one row and one column of numbers");
  }
  if (options.require_finite) require_finite(matrix, path);
  return matrix;
}

namespace {

// The bytes of each kind of output, as the write_* functions and OutputSet write them.
std::string matrix_file_bytes(const std::string& path, const RowMatrixD& matrix, DType dtype, bool as_vector) {
  if (output_format(path) == OutputFormat::Text) return format_csv(matrix);
  if (dtype != DType::Float64 && dtype != DType::Float32) {
    fail(path, std::string("cannot write dtype ") + dtype_name(dtype) + "; .npy output is float64 or float32");
  }
  return encode_npy(matrix, dtype, as_vector);
}

std::string matrix_file_bytes(const std::string& path, const RowMatrixF& matrix, bool as_vector) {
  // Every float is exactly a double, so the text reads back as the same float32 values.
  if (output_format(path) == OutputFormat::Text) return format_csv(matrix.cast<double>());
  return encode_npy(matrix, as_vector);
}

std::string stack_file_bytes(const std::string& path, const std::vector<RowMatrixD>& stack) {
  try {
    return encode_npy_stack(stack);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace

void write_matrix(const std::string& path, const RowMatrixD& matrix, DType dtype, bool as_vector) {
  write_file_atomically(path, matrix_file_bytes(path, matrix, dtype, as_vector));
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* values) {
  write_file_atomically(path, encode_npy(shape, values));
}

void write_npy_stack(const std::string& path, const std::vector<RowMatrixD>& stack) {
  write_file_atomically(path, stack_file_bytes(path, stack));
}

void write_matrix(const std::string& path, const RowMatrixF& matrix, bool as_vector) {
  write_file_atomically(path, matrix_file_bytes(path, matrix, as_vector));
}

// ---- OutputSet ---------------------------------------------------------------------------

struct OutputSet::Impl {
  std::vector<std::unique_ptr<detail::AtomicFile>> files;  // finished, in the order added
  std::vector<std::string> directories;                    // created by commit()
  bool committed = false;

  static std::string normal(const std::string& path) {
    std::string p = std::filesystem::path(path).lexically_normal().string();
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p.empty() ? "." : p;
  }

  // Where a file for `path` is staged: its directory, or for a directory that commit() will
  // create, that directory's nearest existing ancestor (the same file system: a directory that
  // does not exist yet cannot be a mount point).
  std::string staging_directory(const std::string& path) const {
    const std::string directory = directory_of(path);
    struct stat info {};
    if (::stat(directory.c_str(), &info) == 0) return directory;
    bool declared = false;
    for (std::string d = normal(directory); !declared; d = directory_of(d)) {
      for (const std::string& c : directories) declared = declared || normal(c) == d;
      if (d == "." || d == "/") break;
    }
    if (!declared) return directory;  // AtomicFile reports the missing directory
    std::string d = directory;
    while (d != "." && d != "/" && ::stat(d.c_str(), &info) != 0) d = directory_of(d);
    return d;
  }

  void add(const std::string& path, std::string_view bytes) {
    if (committed) throw Error(path + ": the output set was already committed");
    for (const auto& file : files)
      if (normal(file->path()) == normal(path))
        throw Error(path + ": the same file is given for two outputs; give each its own path");
    auto file = std::make_unique<detail::AtomicFile>(path, staging_directory(path));
    detail::write_all(file->fd(), bytes, path);
    file->finish();
    files.push_back(std::move(file));
  }
};

OutputSet::OutputSet() : impl_(std::make_unique<Impl>()) {}

OutputSet::~OutputSet() = default;

void OutputSet::create_directory(const std::string& directory) {
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0 && !S_ISDIR(info.st_mode)) fail(directory, "exists and is not a directory");
  impl_->directories.push_back(directory);
}

void OutputSet::add_file(const std::string& path, std::string_view bytes) { impl_->add(path, bytes); }

void OutputSet::add_matrix(const std::string& path, const RowMatrixD& matrix, DType dtype, bool as_vector) {
  impl_->add(path, matrix_file_bytes(path, matrix, dtype, as_vector));
}

void OutputSet::add_matrix(const std::string& path, const RowMatrixF& matrix, bool as_vector) {
  impl_->add(path, matrix_file_bytes(path, matrix, as_vector));
}

void OutputSet::add_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* values) {
  impl_->add(path, encode_npy(shape, values));
}

void OutputSet::add_npy_stack(const std::string& path, const std::vector<RowMatrixD>& stack) {
  impl_->add(path, stack_file_bytes(path, stack));
}

void OutputSet::commit() {
  if (impl_->committed) throw Error("the output set was already committed");
  std::vector<detail::AtomicFile*> files;
  for (const auto& file : impl_->files) files.push_back(file.get());
  try {
    detail::publish_all(files, impl_->directories);
  } catch (...) {
    impl_->files.clear();  // removes the temporary files not renamed: the set is spent
    impl_->committed = true;
    throw;
  }
  impl_->committed = true;
}

}  // namespace ntkit
