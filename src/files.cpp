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
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include "ntkit/error.hpp"
#include "atomic_file.hpp"
#include "ntkit/io.hpp"

namespace ntkit {
namespace {

constexpr std::string_view kNpyMagic{"\x93NUMPY", 6};

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

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

std::string lowercase_extension(const std::string& path) {
  const std::string base = base_name_of(path);
  const std::size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = base.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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
    fail(path, "the array is 0-D (a single number), not a data matrix; reshape to 2-D (n, d), "
               "e.g. np.save(path, np.reshape(x, (1, 1)))");
  }
  if (array.shape.size() > 2) {
    fail(path, "the array has " + std::to_string(array.shape.size()) + " dimensions, shape " +
                   shape_text(array.shape) +
                   "; reshape to 2-D (n, d), e.g. np.save(path, x.reshape(len(x), -1))");
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

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw Error("writing a file: the output path is empty");
  directory_ = directory_of(path_);
  // The leading dot keeps the temporary file out of `ls` and shell globs.
  temp_path_ = directory_ + "/." + base_name_of(path_) + ".tmp.XXXXXX";
  fd_ = ::mkstemp(temp_path_.data());
  if (fd_ < 0) {
    fail_errno(path_, "cannot create a temporary file in directory '" + directory_ + "'", errno);
  }
  // Keep an existing file's permissions; give a new one what open(2) would have.
  struct stat old_info {};
  const mode_t mode = ::stat(path_.c_str(), &old_info) == 0 ? (old_info.st_mode & 07777)
                                                            : default_file_mode();
  if (::fchmod(fd_, mode) != 0) {
    const int error = errno;
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    fail_errno(path_, "cannot set permissions", error);
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_path_.c_str());
}

void AtomicFile::commit() {
  // Without fsync a crash soon after the rename can leave an empty file under the new name.
  if (::fsync(fd_) != 0) fail_errno(path_, "cannot write (fsync failed)", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno(path_, "cannot write (close failed)", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    fail_errno(path_, "cannot replace the file", errno);
  }
  committed_ = true;
  // Make the rename itself durable. Failing here is not an error: the data is written.
  const int dir_fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace detail

void write_file_atomically(const std::string& path, std::string_view bytes) {
  detail::AtomicFile file(path);
  write_all(file.fd(), bytes, path);
  file.commit();
}

void require_finite(const RowMatrixD& matrix, const std::string& what) {
  for (Eigen::Index row = 0; row < matrix.rows(); ++row) {
    for (Eigen::Index col = 0; col < matrix.cols(); ++col) {
      const double value = matrix(row, col);
      if (!std::isfinite(value)) {
        const char* kind = std::isnan(value) ? "NaN" : (value > 0 ? "Inf" : "-Inf");
        fail(what, std::string(kind) + " at row " + std::to_string(row) + ", column " +
                       std::to_string(col) +
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
    fail(path, "binary content that is not a .npy file (it does not start with the magic string "
               "\\x93NUMPY); expected a .npy file or CSV / whitespace-separated text");
  }
  RowMatrixD matrix = is_npy ? npy_to_matrix(bytes, path) : parse_text_matrix(bytes, path);
  if ((matrix.rows() == 0 || matrix.cols() == 0) && !options.allow_empty) {
    fail(path, "the matrix is empty (" + std::to_string(matrix.rows()) + " rows, " +
                   std::to_string(matrix.cols()) +
                   " columns); expected at least one row and one column of numbers");
  }
  if (options.require_finite) require_finite(matrix, path);
  return matrix;
}

void write_matrix(const std::string& path, const RowMatrixD& matrix, DType dtype,
                  bool as_vector) {
  if (output_format(path) == OutputFormat::Text) {
    write_file_atomically(path, format_csv(matrix));
    return;
  }
  if (dtype != DType::Float64 && dtype != DType::Float32) {
    fail(path, std::string("cannot write dtype ") + dtype_name(dtype) +
                   "; .npy output is float64 or float32");
  }
  write_file_atomically(path, encode_npy(matrix, dtype, as_vector));
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const double* values) {
  write_file_atomically(path, encode_npy(shape, values));
}

void write_npy_stack(const std::string& path, const std::vector<RowMatrixD>& stack) {
  std::string bytes;
  try {
    bytes = encode_npy_stack(stack);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  write_file_atomically(path, bytes);
}

void write_matrix(const std::string& path, const RowMatrixF& matrix, bool as_vector) {
  if (output_format(path) == OutputFormat::Text) {
    // Every float is exactly a double, so the text reads back as the same float32 values.
    write_file_atomically(path, format_csv(matrix.cast<double>()));
    return;
  }
  write_file_atomically(path, encode_npy(matrix, as_vector));
}

}  // namespace ntkit
