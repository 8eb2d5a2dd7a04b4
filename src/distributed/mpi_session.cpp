#include "mpi_session.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace ntkit::distributed {
namespace {

bool initialized() {
  int started = 0, finished = 0;
  MPI_Initialized(&started);
  MPI_Finalized(&finished);
  return started != 0 && finished == 0;
}

int agreement_count = 0;

// Every rank learns the lowest failing rank's message (or that none failed).
void agree(bool failed, const std::string& message) {
  ++agreement_count;
  const int me = rank(), world = size();
  int lowest = failed ? me : world;
  MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (lowest == world) return;
  int length = me == lowest ? static_cast<int>(message.size()) : 0;
  MPI_Bcast(&length, 1, MPI_INT, lowest, MPI_COMM_WORLD);
  std::string text(static_cast<std::size_t>(length), '\0');
  if (me == lowest) text = message;
  MPI_Bcast(text.data(), length, MPI_CHAR, lowest, MPI_COMM_WORLD);
  throw AgreedError(world > 1 ? "rank " + std::to_string(lowest) + ": " + text : text);
}

}  // namespace

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

MpiSession::MpiSession(int* argc, char*** argv) {
  // FUNNELED: OpenMP and OpenBLAS threads compute, only the main thread calls MPI.
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw Error("MPI_Init failed; is this process started by mpirun of the MPI that ntkit was built with?");
  // Errors from MPI calls come back as return codes (checked), not as an abort of the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  if (initialized()) MPI_Finalize();
}

bool active() { return initialized(); }

int rank() {
  if (!initialized()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  if (!initialized()) return 1;
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

int agreements() { return agreement_count; }

void on_every_rank(const std::function<void()>& work) {
  bool failed = false;
  std::string message;
  try {
    work();
  } catch (const std::bad_alloc&) {
    failed = true;
    message = "out of memory; use more ranks (or nodes), or a smaller problem";
  } catch (const std::exception& e) {
    failed = true;
    message = e.what();
  }
  if (!initialized()) {
    if (failed) throw AgreedError(message);
    return;
  }
  agree(failed, message);
}

void require_same_on_every_rank(std::uint64_t value, const std::string& what) {
  if (!initialized()) return;
  std::uint64_t root_value = value;
  MPI_Bcast(&root_value, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  const bool differs = root_value != value;
  agree(differs, differs ? what +
                               " differs from what rank 0 read; every rank must read the same inputs (a file shared "
                               "by all nodes, or identical copies)"
                         : std::string());
}

std::uint64_t fingerprint(const void* bytes, std::size_t count, std::uint64_t seed) {
  std::uint64_t hash = seed;
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (std::size_t i = 0; i < count; ++i) {
    hash ^= p[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

void abort_job(int status) {
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, status);
  std::exit(status);
}

}  // namespace ntkit::distributed
