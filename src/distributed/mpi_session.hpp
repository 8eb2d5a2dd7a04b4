// MPI for the command-line tool (private): whether an MPI launcher started this process, the
// session (MPI_Init ... MPI_Finalize), and how the ranks agree on errors so that nothing hangs.
//
// The rule every distributed command follows: work that may fail on one rank only (reading a
// file, checking input, computing a block) runs inside on_every_rank(), whose end is a
// collective agreement; collective calls (MPI-IO, ScaLAPACK) run between such agreements, on
// every rank or on none. A failure anywhere therefore becomes the same AgreedError on every
// rank, which the tool prints once (on rank 0) before all ranks exit normally. An error that
// escapes this rule is caught in main(), printed with its rank, and ends the job with MPI_Abort.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ntkit/error.hpp"

namespace ntkit::distributed {

/// True when an MPI launcher started this process: Open MPI's mpirun/mpiexec
/// (OMPI_COMM_WORLD_SIZE), or a PMI / PMIx launcher such as Slurm's srun (PMI_SIZE, PMIX_RANK).
bool launched_by_mpi();

/// The same error on every rank: what the lowest failing rank threw, prefixed with its rank.
class AgreedError : public Error {
 public:
  using Error::Error;
};

/// MPI_Init on construction, MPI_Finalize on destruction (once per process).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

/// Whether a session is active (MPI initialized and not finalized).
bool active();
/// This process's rank and the number of ranks in MPI_COMM_WORLD (0 and 1 without a session).
int rank();
int size();

/// Runs `work` on every rank (collective): if it threw on any rank, every rank throws
/// AgreedError with the message of the lowest rank that failed, "rank R: message" when there
/// are several ranks.
void on_every_rank(const std::function<void()>& work);

/// How many agreements (on_every_rank, require_same_on_every_rank) this rank has taken part in.
int agreements();

/// Throws AgreedError on every rank unless every rank passed the same value (collective);
/// `what` names the thing compared, e.g. "--x1 X.npy".
void require_same_on_every_rank(std::uint64_t value, const std::string& what);

/// A 64-bit FNV-1a hash of bytes, to compare inputs across ranks cheaply.
std::uint64_t fingerprint(const void* bytes, std::size_t count, std::uint64_t seed = 14695981039346656037ULL);

/// Ends the whole job at once (MPI_Abort) after an error that the ranks could not agree on.
[[noreturn]] void abort_job(int status);

}  // namespace ntkit::distributed
