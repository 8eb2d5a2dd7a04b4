// ntkit info: what this tool runs on — its version, the BLAS (library, version, the kernels it
// runs on this CPU, threads), the CPU and OpenMP's threads. Benchmarks record it beside their
// numbers; a warning line says when the BLAS runs generic kernels, and how to fix that.
#include <omp.h>

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ntkit/blas_info.hpp"
#include "ntkit/version.hpp"

#ifdef NTKIT_WITH_MPI
#include "mpi_commands.hpp"
#endif

namespace ntkit::cli {
namespace {

#ifndef NTKIT_WITH_MPI
std::string mpi_description() {
  return "not built (NTKIT_MPI=OFF, or MPI / ScaLAPACK missing when it was built); kernel, empirical and predict run "
         "in one process";
}
#endif

}  // namespace

void register_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print the version, the BLAS and its kernels, the CPU and thread counts");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "One JSON object instead of lines of text");
  cmd->callback([json] {
#ifdef NTKIT_WITH_MPI
    if (!is_root_rank()) return;  // under mpirun: once
    const bool mpi_built = true;
#else
    const bool mpi_built = false;
#endif
    const std::string mpi = mpi_description();
    const BlasInfo blas = blas_info();
    const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
    if (*json) {
      const nlohmann::json out = {
          {"version", version()},
          {"blas",
           {{"library", blas.library},
            {"version", blas.version},
            {"core", blas.core},
            {"threads", blas.threads},
            {"build", blas.config},
            {"generic_core", blas.generic_core},
            {"replaced_core", blas.replaced_core}}},
          {"cpu", {{"model", blas.cpu}, {"vectors", blas.cpu_vectors}}},
          {"openmp", {{"threads", omp_get_max_threads()}, {"wait_policy", wait_policy ? wait_policy : ""}}},
          {"mpi", {{"built", mpi_built}, {"description", mpi}}}};
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << "ntkit " << version() << "\n"
              << describe(blas) << "openmp threads: " << omp_get_max_threads()
              << (wait_policy ? std::string(" (OMP_WAIT_POLICY=") + wait_policy + ")" : std::string()) << "\n"
              << "MPI: " << mpi << "\n";
  });
}

}  // namespace ntkit::cli
