// Times the BLAS/LAPACK routines ntkit's work rests on, for one BLAS library given on the
// command line, loaded with dlopen: so one binary measures every candidate (Debian's OpenBLAS
// builds, scipy-openblas from PyPI with its scipy_ symbol prefix, MKL, BLIS) and
// bench/blas_candidates.py can run them in turn, round after round, in one run.
//
//   blas_candidates --library PATH [--prefix scipy_] [--ops dgemm,dsyrk,...] [--repeats 2]
//
// Prints one JSON object: the library's own description (version, core) and, per operation,
// the best time of the repeats in seconds. The shapes are ntkit's: X·Xᵀ of 4096 points in
// 784 dimensions (Fashion-MNIST), the eigendecomposition and Cholesky factor of a kernel matrix.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// CBLAS and LAPACKE constants (the same values in every implementation's headers).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kUpper = 121;

using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DsyrkFn = void (*)(int, int, int, int, int, double, const double*, int, double, double*, int);
using SsyrkFn = void (*)(int, int, int, int, int, float, const float*, int, float, float*, int);
// LAPACK through its Fortran interface, which every candidate exports (Debian's OpenBLAS has
// no LAPACKE of its own). Column-major; the matrices here are symmetric, so layout is moot.
using DsyevdFn = void (*)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*, int*,
                          const int*, int*, std::size_t, std::size_t);
using DsyevrFn = void (*)(const char*, const char*, const char*, const int*, double*, const int*, const double*,
                          const double*, const int*, const int*, const double*, int*, double*, double*, const int*, int*,
                          double*, const int*, int*, const int*, int*, std::size_t, std::size_t, std::size_t);
using DpotrfFn = void (*)(const char*, const int*, double*, const int*, int*, std::size_t);
using NameFn = char* (*)();
using VersionStringFn = void (*)(char*, int);

struct Library {
  void* handle = nullptr;
  std::string prefix;

  template <class Fn>
  Fn find(const std::string& name, bool required = true) const {
    void* symbol = dlsym(handle, (prefix + name).c_str());
    if (symbol == nullptr && required) throw std::runtime_error("symbol " + prefix + name + " not found");
    return reinterpret_cast<Fn>(symbol);
  }
};

std::vector<double> random_normal(std::size_t count, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(count);
  for (double& x : v) x = normal(rng);
  return v;
}

// A kernel-like symmetric positive definite matrix (n x n, row-major): exp(-|x - y|² / (2d))
// of n Gaussian points in d dimensions, plus 1e-6 on the diagonal. Its spectrum decays the way
// real kernel matrices' do, which matters to divide and conquer (deflation).
std::vector<double> kernel_like_matrix(const Library& lib, int n, int d) {
  const auto dgemm = lib.find<DgemmFn>("cblas_dgemm");
  std::vector<double> x = random_normal(static_cast<std::size_t>(n) * d, 7);
  std::vector<double> k(static_cast<std::size_t>(n) * n);
  dgemm(kRowMajor, kNoTrans, kTrans, n, n, d, 1.0, x.data(), d, x.data(), d, 0.0, k.data(), n);
  std::vector<double> diag(n);
  for (int i = 0; i < n; ++i) diag[i] = k[static_cast<std::size_t>(i) * n + i];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double& e = k[static_cast<std::size_t>(i) * n + j];
      e = std::exp(-(diag[i] + diag[j] - 2.0 * e) / (2.0 * d)) + (i == j ? 1e-6 : 0.0);
    }
  return k;
}

double seconds_of(const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Each operation returns one timing; the setup (inputs, copies) happens outside the clock.
std::map<std::string, std::function<double()>> operations(const Library& lib) {
  static constexpr int n = 4096, d = 784, eig_n = 3072;
  std::map<std::string, std::function<double()>> ops;
  ops["dgemm"] = [&lib] {  // X·Xᵀ as a general product: the reference unit of the README's ratios
    const auto f = lib.find<DgemmFn>("cblas_dgemm");
    std::vector<double> x = random_normal(static_cast<std::size_t>(n) * d, 1), c(static_cast<std::size_t>(n) * n);
    return seconds_of([&] { f(kRowMajor, kNoTrans, kTrans, n, n, d, 1.0, x.data(), d, x.data(), d, 0.0, c.data(), n); });
  };
  ops["sgemm"] = [&lib] {
    const auto f = lib.find<SgemmFn>("cblas_sgemm");
    std::vector<double> xd = random_normal(static_cast<std::size_t>(n) * d, 1);
    std::vector<float> x(xd.begin(), xd.end()), c(static_cast<std::size_t>(n) * n);
    return seconds_of([&] { f(kRowMajor, kNoTrans, kTrans, n, n, d, 1.0f, x.data(), d, x.data(), d, 0.0f, c.data(), n); });
  };
  ops["dsyrk"] = [&lib] {  // the same product, one triangle: what K(X, X) needs
    const auto f = lib.find<DsyrkFn>("cblas_dsyrk");
    std::vector<double> x = random_normal(static_cast<std::size_t>(n) * d, 1), c(static_cast<std::size_t>(n) * n);
    return seconds_of([&] { f(kRowMajor, kUpper, kNoTrans, n, d, 1.0, x.data(), d, 0.0, c.data(), n); });
  };
  ops["ssyrk"] = [&lib] {
    const auto f = lib.find<SsyrkFn>("cblas_ssyrk");
    std::vector<double> xd = random_normal(static_cast<std::size_t>(n) * d, 1);
    std::vector<float> x(xd.begin(), xd.end()), c(static_cast<std::size_t>(n) * n);
    return seconds_of([&] { f(kRowMajor, kUpper, kNoTrans, n, d, 1.0f, x.data(), d, 0.0f, c.data(), n); });
  };
  ops["dsyevd"] = [&lib] {  // all eigenpairs by divide and conquer: predictions at any time
    const auto f = lib.find<DsyevdFn>("dsyevd_");
    std::vector<double> a = kernel_like_matrix(lib, eig_n, d), w(eig_n);
    int lwork = -1, liwork = -1, info = 0, iwork_size = 0;
    double work_size = 0;
    f("V", "L", &eig_n, a.data(), &eig_n, w.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
    lwork = static_cast<int>(work_size);
    liwork = iwork_size;
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    return seconds_of([&] {
      f("V", "L", &eig_n, a.data(), &eig_n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
      if (info != 0) throw std::runtime_error("dsyevd failed");
    });
  };
  ops["dsyevr"] = [&lib] {  // all eigenpairs by MRRR
    const auto f = lib.find<DsyevrFn>("dsyevr_");
    std::vector<double> a = kernel_like_matrix(lib, eig_n, d), w(eig_n), z(static_cast<std::size_t>(eig_n) * eig_n);
    std::vector<int> support(2 * static_cast<std::size_t>(eig_n));
    const double zero = 0.0;
    const int one = 1;
    int found = 0, lwork = -1, liwork = -1, info = 0, iwork_size = 0;
    double work_size = 0;
    f("V", "A", "L", &eig_n, a.data(), &eig_n, &zero, &zero, &one, &one, &zero, &found, w.data(), z.data(), &eig_n,
      support.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1, 1);
    lwork = static_cast<int>(work_size);
    liwork = iwork_size;
    std::vector<double> work(lwork);
    std::vector<int> iwork(liwork);
    return seconds_of([&] {
      f("V", "A", "L", &eig_n, a.data(), &eig_n, &zero, &zero, &one, &one, &zero, &found, w.data(), z.data(), &eig_n,
        support.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
      if (info != 0) throw std::runtime_error("dsyevr failed");
    });
  };
  ops["dpotrf"] = [&lib] {  // Cholesky: t = infinity, GP inference
    const auto f = lib.find<DpotrfFn>("dpotrf_");
    std::vector<double> a = kernel_like_matrix(lib, n, d);
    int info = 0;
    return seconds_of([&] {
      f("L", &n, a.data(), &n, &info, 1);
      if (info != 0) throw std::runtime_error("dpotrf failed");
    });
  };
  return ops;
}

std::string describe(const Library& lib) {
  std::ostringstream out;
  if (auto corename = lib.find<NameFn>("openblas_get_corename", false)) {
    auto config = lib.find<NameFn>("openblas_get_config");
    out << "\"config\": \"" << config() << "\", \"core\": \"" << corename() << "\"";
  } else if (auto mkl_version = reinterpret_cast<VersionStringFn>(dlsym(lib.handle, "mkl_get_version_string"))) {
    char buffer[256] = {};
    mkl_version(buffer, sizeof buffer - 1);
    std::string text(buffer, sizeof buffer - 1);
    text = text.substr(0, text.find_last_not_of(" \0") + 1);  // it pads with blanks, unterminated
    out << "\"config\": \"" << text.substr(0, text.find("Product Build") - 1) << "\"";
  } else if (auto blis_version = reinterpret_cast<const char* (*)()>(dlsym(lib.handle, "bli_info_get_version_str"))) {
    auto arch_id = reinterpret_cast<int (*)()>(dlsym(lib.handle, "bli_arch_query_id"));
    auto arch_name = reinterpret_cast<const char* (*)(int)>(dlsym(lib.handle, "bli_arch_string"));
    out << "\"config\": \"BLIS " << blis_version() << "\"";
    if (arch_id && arch_name) out << ", \"core\": \"" << arch_name(arch_id()) << "\"";
  } else {
    out << "\"config\": \"unknown\"";
  }
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, prefix, op_list = "dgemm,sgemm,dsyrk,ssyrk,dsyevd,dsyevr,dpotrf";
  int repeats = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--library") path = value;
    else if (flag == "--prefix") prefix = value;
    else if (flag == "--ops") op_list = value;
    else if (flag == "--repeats") repeats = std::max(1, std::atoi(value.c_str()));
    else {
      std::fprintf(stderr, "blas_candidates: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: blas_candidates --library PATH [--prefix P] [--ops a,b] [--repeats N]\n");
    return 2;
  }
  Library lib;
  lib.prefix = prefix;
  lib.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib.handle == nullptr) {
    std::fprintf(stderr, "blas_candidates: cannot load %s: %s\n", path.c_str(), dlerror());
    return 1;
  }
  try {
    const auto ops = operations(lib);
    std::ostringstream out;
    out << "{" << describe(lib) << ", \"seconds\": {";
    std::stringstream names(op_list);
    std::string name;
    bool first = true;
    while (std::getline(names, name, ',')) {
      const auto op = ops.find(name);
      if (op == ops.end()) throw std::runtime_error("unknown operation " + name);
      double best = 1e300;
      for (int r = 0; r < repeats; ++r) best = std::min(best, op->second());
      out << (first ? "" : ", ") << "\"" << name << "\": " << best;
      first = false;
    }
    out << "}}";
    std::printf("%s\n", out.str().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "blas_candidates: %s\n", e.what());
    return 1;
  }
  return 0;
}
