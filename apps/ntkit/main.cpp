// ntkit: the command-line front end. Exit status 0 on success, 2 on a usage or input error
// (message on stderr, no output written), 1 on an unexpected internal failure, 128 + N when
// interrupted by signal N (SIGINT: 130; SIGTERM, SIGHUP likewise): the temporary files of the
// outputs being written are removed, so the outputs are as before the run (a signal during the
// final renames of a command's outputs takes effect after them: then all are in place).
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <string>
#include <iostream>
#include <memory>
#include <thread>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "commands.hpp"
#include "option_checks.hpp"
#include "ntkit/blas_info.hpp"
#include "ntkit/error.hpp"
#include "ntkit/io.hpp"
#include "ntkit/version.hpp"

#ifdef NTKIT_WITH_MPI
#include "distributed/mpi_session.hpp"
#endif

namespace {

// Settings that the libraries read once, when they load, before main runs; the tool sets them
// and re-executes itself (once: afterwards they are set). A user's own values are kept.
//
// OMP_WAIT_POLICY=passive: OpenMP's idle worker threads spin by default (GNU libgomp: up to
// ~300k iterations before sleeping). On a machine that other work shares, spinning threads take
// cores from it and from each other. Measured on 2 cores (`ntkit demo --seeds 1`): widths
// 512-4096 on an idle machine took 6.4-7.3 s wall and 10-12 s CPU spinning, 6.6-6.8 s wall and
// 6.4-6.7 s CPU passive; widths 512-1024 beside two busy processes, 10.6 s spinning and 8.6 s
// passive.
//
// OPENBLAS_THREAD_TIMEOUT=20: an idle OpenBLAS worker thread polls for work (sched_yield) for
// 2^28 cycles (~0.1 s) by default before it sleeps, also right after the library loads: in
// every run of the tool that took a core from the OpenMP threads for its first ~0.1 s. 2^20
// cycles (~0.3 ms) still covers the gaps between the BLAS calls of one LAPACK routine (dsyevd
// of a 3072 x 3072 matrix: 2.43 s against 2.51 s by default), and `ntkit kernel` of a depth-5
// network at n = 1024 / 2048 went from 0.196 / 0.401 s to 0.164 / 0.356 s.
//
// OPENBLAS_CORETYPE, only where OpenBLAS chose generic kernels on a CPU with AVX2 or AVX-512
// (Debian's 0.3.21 on CPUs newer than itself picks Prescott: 4x slower GEMM; blas_info.hpp).
// NTKIT_REPLACED_OPENBLAS_CORE records what it had chosen, for `ntkit info`.
//
// Under an MPI launcher with several ranks on this node, and no OMP_NUM_THREADS of the user's:
// OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = this rank's share of the cores (the cores it may
// run on, divided by the ranks here when the launcher did not bind it), so that P ranks of
// all-core thread pools do not fight over the same cores.
int launcher_count(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoi(value) : 0;
}

int threads_per_rank() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const int machine = static_cast<int>(std::thread::hardware_concurrency());
  const int usable = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : machine;
  const int local = std::max(1, launcher_count("OMPI_COMM_WORLD_LOCAL_SIZE"));
  if (usable < machine) return std::max(1, usable);  // bound by the launcher: its cores are this rank's
  return std::max(1, usable / local);
}

void set_library_environment_and_reexecute(char** argv) {
  bool changed = false;
  if (std::getenv("OMP_NUM_THREADS") == nullptr && launcher_count("OMPI_COMM_WORLD_LOCAL_SIZE") > 1) {
    const std::string threads = std::to_string(threads_per_rank());
    if (setenv("OMP_NUM_THREADS", threads.c_str(), 0) == 0) changed = true;
    if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) setenv("OPENBLAS_NUM_THREADS", threads.c_str(), 0);
  }
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && setenv("OMP_WAIT_POLICY", "passive", 0) == 0) changed = true;
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr && setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0) == 0) changed = true;
  const std::string core = ntkit::detail::openblas_core_to_request();
  if (!core.empty()) {
    const std::string generic = ntkit::detail::loaded_openblas_core();
    if (setenv("OPENBLAS_CORETYPE", core.c_str(), 0) == 0 && setenv("NTKIT_REPLACED_OPENBLAS_CORE", generic.c_str(), 1) == 0)
      changed = true;
  }
  if (changed) execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
}

}  // namespace

#ifdef NTKIT_WITH_MPI
// The commands that run distributed under mpirun; the others run in one process only.
bool distributes(const std::string& command) {
  return command == "kernel" || command == "empirical" || command == "predict" || command == "info";
}
#endif

// An error on some ranks only: joined with the others' first agreement when no rank can have
// passed one yet (then rank 0 prints the lowest failing rank's message once, and every rank
// exits normally); otherwise printed here with the rank and the whole job aborted, which is
// the only way not to leave the other ranks waiting in a collective call.
int report(const std::string& message, int status) {
#ifdef NTKIT_WITH_MPI
  namespace dist = ntkit::distributed;
  if (dist::active() && dist::size() > 1) {
    if (dist::agreements() > 0) {
      std::cerr << "ntkit: error: rank " << dist::rank() << ": " << message << "\n";
      dist::abort_job(status);
    }
    try {
      dist::on_every_rank([&] { throw ntkit::Error(message); });
    } catch (const dist::AgreedError& agreed) {
      if (dist::rank() == 0) std::cerr << "ntkit: error: " << agreed.what() << "\n";
    }
    return status;
  }
#endif
  std::cerr << "ntkit: error: " << message << "\n";
  return status;
}

int main(int argc, char** argv) {
  set_library_environment_and_reexecute(argv);
  ntkit::remove_temporaries_on_signals("ntkit");
#ifdef NTKIT_WITH_MPI
  std::unique_ptr<ntkit::distributed::MpiSession> mpi;
  try {
    if (ntkit::distributed::launched_by_mpi()) mpi = std::make_unique<ntkit::distributed::MpiSession>(&argc, &argv);
  } catch (const ntkit::Error& e) {
    std::cerr << "ntkit: error: " << e.what() << "\n";
    return 2;
  }
  if (mpi && ntkit::distributed::size() > 1 && argc > 1 && argv[1][0] != '-' && !distributes(argv[1])) {
    if (ntkit::distributed::rank() == 0)
      std::cerr << "ntkit: error: ntkit " << argv[1]
                << " runs in one process only; run it without mpirun (under mpirun: kernel, empirical and predict)\n";
    return 2;
  }
#else
  // A build without MPI started by mpirun with several ranks: each would do the whole job.
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (world != nullptr && std::atoi(world) > 1) {
    if (launcher_count("OMPI_COMM_WORLD_RANK") == 0)
      std::cerr << "ntkit: error: this ntkit was built without MPI (NTKIT_MPI=OFF, or MPI/ScaLAPACK missing at build "
                   "time); run it without mpirun, or rebuild with libopenmpi-dev and libscalapack-openmpi-dev\n";
    return 2;
  }
#endif
  CLI::App app{"ntkit: Neural Tangent Kernels and classic kernel methods"};
  app.name("ntkit");
  // --version: the version, then the BLAS and its kernels (as `ntkit info`).
  app.set_version_flag("--version", [] {
    std::string text = std::string("ntkit ") + ntkit::version() + "\n" + ntkit::describe(ntkit::blas_info());
    text.pop_back();  // CLI11 ends the line
    return text;
  });
  app.require_subcommand(1);
  ntkit::cli::register_kernel_command(app);
  ntkit::cli::register_features_command(app);
  ntkit::cli::register_ridge_command(app);
  ntkit::cli::register_two_layer_command(app);
  ntkit::cli::register_predict_command(app);
  ntkit::cli::register_classify_commands(app);
  ntkit::cli::register_demo_command(app);
  ntkit::cli::register_classic_demo_command(app);
  ntkit::cli::register_image_demo_command(app);
  ntkit::cli::register_empirical_command(app);
  ntkit::cli::register_train_command(app);
  ntkit::cli::register_info_command(app);
  ntkit::cli::add_option_checks(app);

  // An unknown command would otherwise be reported as a missing one; name it.
  if (argc > 1 && argv[1][0] != '-') {
    const CLI::App& top = app;
    const auto commands = top.get_subcommands(std::function<bool(const CLI::App*)>([](const CLI::App*) { return true; }));
    std::string names;
    bool known = false;
    for (const CLI::App* sub : commands) {
      names += " " + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      std::cerr << "ntkit: error: unknown command '" << argv[1] << "'; the commands are:" << names << " (see ntkit --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line in the tool's error format, pointing at the command's help.
    std::string command = "ntkit";
    for (const CLI::App* sub = &app; sub != nullptr;) {
      const auto chosen = sub->get_subcommands();
      sub = chosen.empty() ? nullptr : chosen.front();
      if (sub != nullptr) command += " " + sub->get_name();
    }
    return report(std::string(e.what()) + " (see " + command + " --help)", 2);
  } catch (const ntkit::Error& e) {
#ifdef NTKIT_WITH_MPI
    // The same error on every rank: printed once.
    if (dynamic_cast<const ntkit::distributed::AgreedError*>(&e) != nullptr) {
      if (ntkit::distributed::rank() == 0) std::cerr << "ntkit: error: " << e.what() << "\n";
      return 2;
    }
#endif
    return report(e.what(), 2);
  } catch (const std::bad_alloc&) {
    return report("out of memory; try a smaller problem or --dtype float32", 2);
  } catch (const std::exception& e) {
    std::cerr << "ntkit: internal error: " << e.what() << "\n";
#ifdef NTKIT_WITH_MPI
    if (ntkit::distributed::size() > 1) ntkit::distributed::abort_job(1);
#endif
    return 1;
  }
  return 0;
}
