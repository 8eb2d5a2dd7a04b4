// The table of live temporary files and the signal handlers that remove them (see
// temporary_files.hpp). Everything a handler touches is static storage and lock-free atomics; it
// calls only async-signal-safe functions (unlink, write, raise, pause, _exit).
#include "temporary_files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <random>

#include "ntkit/error.hpp"
#include "ntkit/io.hpp"

namespace ntkit {
namespace detail {
namespace {

constexpr int kSlots = 64;
constexpr std::size_t kPathBytes = 4096;  // PATH_MAX on Linux, terminating NUL included

// kFree: unused. kClaimed: owned by a thread that is (re)writing `path`; handlers skip it.
// kLive: `path` is complete and names a file that may exist; handlers unlink it.
enum SlotState : int { kFree = 0, kClaimed = 1, kLive = 2 };

struct Slot {
  std::atomic<int> state{kFree};
  char path[kPathBytes];
};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs lock-free atomics");

Slot g_slots[kSlots];
std::atomic<int> g_defer_depth{0};
std::atomic<int> g_pending_signal{0};
std::atomic<bool> g_terminating{false};
char g_program[64] = "ntkit";

int claim_slot() noexcept {
  for (int i = 0; i < kSlots; ++i) {
    int expected = kFree;
    if (g_slots[i].state.compare_exchange_strong(expected, kClaimed)) return i;
  }
  return -1;
}

void remove_live_temporaries() noexcept {
  for (Slot& slot : g_slots)
    if (slot.state.load(std::memory_order_acquire) == kLive) ::unlink(slot.path);
}

void write_stderr(const char* text) noexcept {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    text += written;
    left -= static_cast<std::size_t>(written);
  }
}

const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
  }
}

// Removes the temporaries, says why on one line, and exits with status 128 + sig (a shell's
// convention for "killed by sig"; 130 for SIGINT). Only the first caller proceeds: a second
// signal, or a deferred one meeting a fresh one in another thread, waits for its _exit.
[[noreturn]] void terminate_now(int sig) noexcept {
  if (g_terminating.exchange(true)) {
    for (;;) ::pause();
  }
  remove_live_temporaries();
  write_stderr(g_program);
  write_stderr(": error: interrupted by ");
  write_stderr(signal_name(sig));
  write_stderr("\n");
  ::_exit(128 + sig);
}

void on_termination_signal(int sig) {
  const int saved_errno = errno;
  // Record first, then look at the depth; ~DeferTerminationSignals lowers the depth, then looks
  // at the record. With sequentially consistent atomics one of the two sees the other.
  g_pending_signal.store(sig);
  if (g_defer_depth.load() == 0) terminate_now(sig);
  errno = saved_errno;
}

// SA_RESETHAND | SA_NODEFER: the default action is back in place, so raise() ends the process
// as the crash would have (core dump included).
void on_crash_signal(int sig) {
  remove_live_temporaries();
  ::raise(sig);
}

std::uint64_t random_seed() {
  std::uint64_t seed = static_cast<std::uint64_t>(::getpid()) << 32;
  seed ^= static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  try {
    std::random_device device;
    seed ^= (static_cast<std::uint64_t>(device()) << 32) ^ device();
  } catch (const std::exception&) {
    // The clock and the process id alone still make collisions rare; O_EXCL makes them harmless.
  }
  return seed;
}

}  // namespace

TemporaryFile create_temporary_file(const std::string& prefix, const std::string& what) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random(random_seed());
  TemporaryFile file;
  file.path = prefix + "XXXXXX";
  const int slot = file.path.size() < kPathBytes ? claim_slot() : -1;
  int error = EEXIST;
  for (int attempt = 0; attempt < 100 && error == EEXIST; ++attempt) {
    for (std::size_t i = prefix.size(); i < file.path.size(); ++i) file.path[i] = kChars[random() % 62];
    // Live before the file exists: a signal between open(2) and here cannot miss it.
    if (slot >= 0) {
      std::memcpy(g_slots[slot].path, file.path.c_str(), file.path.size() + 1);
      g_slots[slot].state.store(kLive, std::memory_order_release);
    }
    int fd = -1;
    do {
      fd = ::open(file.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
      file.fd = fd;
      file.slot = slot;
      return file;
    }
    error = errno;
    if (slot >= 0) g_slots[slot].state.store(kClaimed, std::memory_order_release);
  }
  if (slot >= 0) g_slots[slot].state.store(kFree, std::memory_order_release);
  throw Error(what + ": " + std::strerror(error));
}

void forget_temporary_file(int slot) noexcept {
  if (slot >= 0 && slot < kSlots) g_slots[slot].state.store(kFree, std::memory_order_release);
}

DeferTerminationSignals::DeferTerminationSignals() noexcept { g_defer_depth.fetch_add(1); }

DeferTerminationSignals::~DeferTerminationSignals() {
  if (g_defer_depth.fetch_sub(1) == 1) {
    const int sig = g_pending_signal.load();
    if (sig != 0) terminate_now(sig);
  }
}

}  // namespace detail

void remove_temporaries_on_signals(const char* program_name) {
  if (program_name != nullptr) {
    std::strncpy(detail::g_program, program_name, sizeof(detail::g_program) - 1);
    detail::g_program[sizeof(detail::g_program) - 1] = '\0';
  }
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&action.sa_mask, sig);
  action.sa_handler = detail::on_termination_signal;
  action.sa_flags = SA_RESTART;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    // A signal the caller's parent ignores (nohup, a background job's SIGINT) stays ignored.
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &action, nullptr);
  }
  struct sigaction crash {};
  sigemptyset(&crash.sa_mask);
  crash.sa_handler = detail::on_crash_signal;
  crash.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &crash, nullptr);
}

}  // namespace ntkit
