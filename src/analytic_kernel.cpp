#include "ntkit/analytic.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "blas.hpp"
#include "input_checks.hpp"
#include "mapped_npy.hpp"
#include "parallel_errors.hpp"
#include "layers/kernel_state.hpp"
#include "ntkit/error.hpp"

namespace ntkit {
namespace {

using Index = Eigen::Index;

using detail::KernelPass;
using detail::KernelProgram;
using detail::KernelStream;
using detail::VarianceTable;

// The error for a kernel value that is not finite: which layer made it so (found by walking
// the offending entry again, watching every layer), and the fix.
[[noreturn]] void throw_not_finite(const std::string& layer, const std::string& where) {
  throw Error("analytic kernels: the kernel is not finite after the layer " +
              (layer.empty() ? std::string("(unknown)") : layer) + " for " + where +
              ": its value there is infinite or beyond double precision (about 1.8e308) for "
              "inputs of this scale; scale the inputs (or W_std, b_std) down");
}

KernelProgram make_program(const Network& network, bool nngp, bool ntk, const AnalyticOptions& options) {
  validate(network);
  if (!nngp && !ntk) throw Error("analytic kernels: request the NNGP, the NTK, or both");
  const int dense = dense_layer_count(network);
  if (options.fixed_layers < 0 || options.fixed_layers >= dense)
    throw Error("analytic kernels: fixed_layers = " + std::to_string(options.fixed_layers) + " but the network has " +
                std::to_string(dense) + " Dense layer" + (dense == 1 ? "" : "s") + "; give 0 (all trained) to " +
                std::to_string(dense - 1) + " (only the last trained)");
  return detail::compile_kernel_program(network, ntk, options.quadrature_degree, options.fixed_layers, options.input_shape);
}

// ‖x_i‖² in float64 whatever the input type: the variances (and the diagonal of K(X, X)) are
// as accurate as float64 allows also for float32 inputs.
template <class T>
VectorD squared_norms(MatrixView<T> x) {
  VectorD sq(x.rows());
  for (Index i = 0; i < x.rows(); ++i) sq[i] = x.row(i).template cast<double>().squaredNorm();
  return sq;
}

// A single stream over `len` entries starting from K = the input kernel (filled by the
// caller), Θ = 0: d features, or the input layout's values with `channels` per position.
void start_stream(const KernelProgram& program, std::vector<KernelStream>& streams, Index len, Index d) {
  streams.resize(1);
  KernelStream& s = streams.front();
  s.layout = program.input_layout.get();
  const Index size = len * (s.layout ? s.layout->values : 1);
  s.nngp.resize(static_cast<std::size_t>(size));
  s.ntk.assign(static_cast<std::size_t>(size), 0.0);
  s.width = static_cast<int>(program.spatial() ? program.channels : d);
  s.variances_after = -1;
}

// The input kernel of a pair of spatial inputs a, b (one row each, positions × channels):
// K(p, p') = a(p)·b(p') / C over the input layout's stored pairs of positions.
template <class T>
void spatial_input_kernel(const KernelProgram& program, const T* a, const T* b, double* out) {
  const detail::SpatialLayout& layout = *program.input_layout;
  const Index channels = program.channels;
  const double inv_c = 1.0 / static_cast<double>(channels);
  for (Index v = 0; v < layout.values; ++v) {
    const T* p = a + layout.position1[v] * channels;
    const T* q = b + layout.position2[v] * channels;
    double sum = 0;
    for (Index c = 0; c < channels; ++c) sum += static_cast<double>(p[c]) * static_cast<double>(q[c]);
    out[v] = sum * inv_c;
  }
}

struct DiagonalPass {
  VarianceTable record;  // by node id + 1 (0: the input): the output variance of every point
  VectorD k, theta;      // K(x, x), Θ(x, x)
};

// The diagonal pass: each point's variance after every node, and its K(x, x), Θ(x, x).
// `start(j0, len, nngp)` writes the input kernel of points [j0, j0 + len) with themselves.
template <class Start>
DiagonalPass diagonal_pass(const KernelProgram& program, Index n, Index d, const Start& start) {
  DiagonalPass out;
  out.record.resize(static_cast<std::size_t>(program.node_count) + 1);
  for (std::size_t t = 0; t < out.record.size(); ++t) out.record[t].resize(n * program.positions_after[t]);
  out.k.resize(n);
  out.theta.resize(n);
  std::vector<KernelStream> streams;
  const Index chunk = program.chunk;
  for (Index j0 = 0; j0 < n; j0 += chunk) {
    const Index len = std::min(chunk, n - j0);
    start_stream(program, streams, len, d);
    start(j0, len, streams[0].nngp.data());
    const KernelStream& s = streams[0];
    if (s.layout == nullptr) {
      for (Index e = 0; e < len; ++e) out.record[0][j0 + e] = s.nngp[e];
    } else {
      const Index positions = s.layout->positions, values = s.layout->values;
      for (Index e = 0; e < len; ++e)
        for (Index p = 0; p < positions; ++p)
          out.record[0][(j0 + e) * positions + p] = s.nngp[e * values + s.layout->diagonal[p]];
    }
    KernelPass pass(program, len);
    pass.diagonal(&out.record, j0);
    pass.watch();  // serial and O(n): every point's variances are checked on the way
    pass.run(program.nodes, streams);
    if (!pass.first_non_finite_layer().empty()) {
      std::string where = "a point in rows " + std::to_string(j0) + "-" + std::to_string(j0 + len - 1);
      for (Index e = 0; e < len; ++e) {
        if (!std::isfinite(streams[0].nngp[e]) || !std::isfinite(streams[0].ntk[e])) {
          where = "the point in row " + std::to_string(j0 + e);
          break;
        }
      }
      throw_not_finite(pass.first_non_finite_layer(), where);
    }
    for (Index e = 0; e < len; ++e) {
      out.k[j0 + e] = streams[0].nngp[e];
      out.theta[j0 + e] = streams[0].ntk[e];
    }
  }
  return out;
}

// The diagonal pass of flat inputs, from their squared norms.
DiagonalPass diagonal_pass(const KernelProgram& program, const VectorD& sq_norms, Index d) {
  const Index n = sq_norms.size();
  for (Index i = 0; i < n; ++i) {
    if (!std::isfinite(sq_norms[i])) {
      throw Error("analytic kernels: row " + std::to_string(i) +
                  " of the input has a squared norm beyond double precision (about 1.8e308); "
                  "scale the inputs down (the kernels of a network are computed from ‖x‖²)");
    }
  }
  // Scaled exactly as map_chunk scales the Gram values (× 1/d, not ÷ d), so that a diagonal
  // pair starts from bitwise the same K and sees ρ = 1 exactly (ReLU's Ṫ has infinite slope
  // there: a rounding difference of 1e-16 in ρ moved Θ(x, x) by 1e-9).
  const double inv_d = 1.0 / static_cast<double>(d);
  return diagonal_pass(program, n, d, [&](Index j0, Index len, double* k) {
    for (Index e = 0; e < len; ++e) k[e] = sq_norms[j0 + e] * inv_d;
  });
}

// The diagonal pass of spatial inputs: each point's input covariance with itself.
template <class T>
DiagonalPass spatial_diagonal_pass(const KernelProgram& program, MatrixView<T> x) {
  const Index values = program.input_layout->values;
  return diagonal_pass(program, x.rows(), x.cols(), [&](Index j0, Index len, double* k) {
    for (Index e = 0; e < len; ++e)
      spatial_input_kernel<T>(program, x.row(j0 + e).data(), x.row(j0 + e).data(), k + e * values);
  });
}

// The variance tables of both sides, for the pair pass.
struct Variances {
  VarianceTable side1, side2;
};

// double → the output type. For float: values beyond float's range become ±inf, as IEEE
// rounding does (a plain cast of such a double is undefined behaviour in C++).
template <class T>
T to_output(double v) {
  if constexpr (std::is_same_v<T, float>) {
    constexpr double kMax = std::numeric_limits<float>::max();
    if (v > kMax) return std::numeric_limits<float>::infinity();
    if (v < -kMax) return -std::numeric_limits<float>::infinity();
  }
  return static_cast<T>(v);
}

// Maps one chunk of row i, columns [j0, j0 + len), from the Gram values (read from `gram`) to
// the final K and Θ (written to k_out / theta_out, either may be null; either may alias gram).
// first_value: when set, replaces the first Gram value (the diagonal entry of K(X, X), so that
// it starts from exactly the diagonal pass's ‖x‖²).
// Returns the offset in the chunk of the first value that is not finite, or -1.
// `start(nngp)` writes the chunk's input kernel (the Gram values / d, or spatial covariances).
template <class T, class Start>
Index map_chunk(const KernelProgram& program, const Variances& variances, Index d, Index i, Index j0, Index len,
                const Start& start, T* k_out, T* theta_out) {
  thread_local std::vector<KernelStream> streams;  // reused: no allocation per chunk
  start_stream(program, streams, len, d);
  start(streams[0].nngp.data());
  KernelPass pass(program, len);
  pass.pairs(&variances.side1, &variances.side2, i, j0);
  pass.run(program.nodes, streams);
  // x − x is 0 for finite x and NaN for ±inf and NaN, so one vectorized sum tells whether any
  // value is not finite; only then is the entry looked for.
  const double* kv = streams[0].nngp.data();
  const double* tv = streams[0].ntk.data();
  double residue = 0;
#pragma omp simd reduction(+ : residue)
  for (Index e = 0; e < len; ++e) residue += (kv[e] - kv[e]) + (tv[e] - tv[e]);
  Index bad = -1;
  if (residue != 0) {
    for (bad = 0; bad < len && std::isfinite(kv[bad]) && std::isfinite(tv[bad]);) ++bad;
  }
  if (k_out != nullptr)
    for (Index e = 0; e < len; ++e) k_out[e] = to_output<T>(streams[0].nngp[e]);
  if (theta_out != nullptr)
    for (Index e = 0; e < len; ++e) theta_out[e] = to_output<T>(streams[0].ntk[e]);
  return bad;
}

// The layer after which entry (i, j) stops being finite; `start(nngp)` writes its input kernel.
template <class Start>
std::string first_non_finite_layer(const KernelProgram& program, const Variances& variances, Index d, Index i, Index j,
                                   const Start& start) {
  std::vector<KernelStream> streams;
  start_stream(program, streams, 1, d);
  start(streams[0].nngp.data());
  KernelPass pass(program, 1);
  pass.pairs(&variances.side1, &variances.side2, i, j);
  pass.watch();
  pass.run(program.nodes, streams);
  return pass.first_non_finite_layer();
}

// Where the kernels go: row-major n1 x n2 arrays with row stride ld (either pointer may be null).
template <class T>
struct Destination {
  T* nngp = nullptr;
  T* ntk = nullptr;
  Index ld = 0;
  /// Called (from the calling thread) after each panel: the rows before `end` are final.
  std::function<void(Index end)> rows_done;
};

// Reports progress from the calling thread (OpenMP thread 0) as rows finish. The callback may
// throw (Python raises KeyboardInterrupt from it on Ctrl-C): an exception must not leave an
// OpenMP region (std::terminate), so inside the loop it is caught and kept, stopped() tells
// every thread to skip the rest of its work, and errors.rethrow_if_any() raises it after the region.
class ProgressCounter {
 public:
  ProgressCounter(const std::function<void(double)>& callback, double total)
      : callback_(callback), total_(std::max(total, 1.0)) {}
  // From inside the parallel loop: counts, and reports if this is the calling thread.
  void add(Index entries) {
    done_.fetch_add(entries, std::memory_order_relaxed);
    if (omp_get_thread_num() != 0 || stopped()) return;
    errors.run([&] { report(); });
  }
  bool stopped() const { return stop_.load(std::memory_order_relaxed) || errors.failed(); }
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  // The first exception inside the loop (a throwing callback, an allocation failure): kept,
  // the other threads skip their work, and it is rethrown after the region.
  detail::ParallelErrors errors;
  // From the calling thread between parallel regions (e.g. after each panel).
  void report() const {
    if (callback_) callback_(std::min(static_cast<double>(done_.load(std::memory_order_relaxed)) / total_, 1.0));
  }
  void finish() const {
    if (callback_) callback_(1.0);
  }

 private:
  const std::function<void(double)>& callback_;
  double total_;
  std::atomic<Index> done_{0};
  std::atomic<bool> stop_{false};
};

Index choose_panel_rows(Index requested, Index rows) {
  if (requested <= 0 || requested >= rows) return std::max<Index>(rows, 1);
  return requested;
}

// The engine: panel by panel of rows, BLAS writes the Gram values into the destination (flat
// inputs), then every pair of the panel is mapped through the layers in place. Spatial inputs
// start each chunk from the pairs' spatial covariances instead (spatial_input_kernel).
template <class T>
void compute_kernels(const KernelProgram& program, MatrixView<T> x1, const MatrixView<T>* x2, const Destination<T>& out,
                     Index panel_rows, const std::function<void(double)>& progress) {
  const bool symmetric = x2 == nullptr;
  const bool spatial = program.spatial();
  const MatrixView<T> other = symmetric ? x1 : *x2;
  const Index n1 = x1.rows(), n2 = other.rows(), d = x1.cols();
  T* gram = out.nngp != nullptr ? out.nngp : out.ntk;  // the Gram values land in an output
  const Index ld = out.ld;
  const Index panel = choose_panel_rows(panel_rows, n1);
  const Index chunk = program.chunk;
  Variances variances;
  if (spatial) {
    variances.side1 = spatial_diagonal_pass<T>(program, x1).record;
    variances.side2 = symmetric ? variances.side1 : spatial_diagonal_pass<T>(program, *x2).record;
  } else if (symmetric) {
    // The diagonal blocks first: the variances are read from the Gram diagonal itself, so
    // each diagonal entry (and a duplicated point within one block) sees exactly ρ = 1.
    for (Index i0 = 0; i0 < n1; i0 += panel) {
      const Index rows = std::min(panel, n1 - i0);
      detail::syrk_upper_into<T>(x1.middleRows(i0, rows), gram + i0 * ld + i0, ld);
    }
    VectorD sq(n1);
    for (Index i = 0; i < n1; ++i) sq[i] = static_cast<double>(gram[i * ld + i]);
    variances.side1 = diagonal_pass(program, sq, d).record;
    variances.side2 = variances.side1;
  } else {
    variances.side1 = diagonal_pass(program, squared_norms<T>(x1), d).record;
    variances.side2 = diagonal_pass(program, squared_norms<T>(*x2), d).record;
  }
  if (n1 == 0 || n2 == 0) return;
  const double inv_d = 1.0 / static_cast<double>(d);
  // The input kernel of row i with columns [j0, j0 + len): Gram values / d, or covariances.
  const auto starter = [&](Index i, Index j0, Index len, const T* g) {
    return [&, i, j0, len, g](double* k) {
      if (!spatial) {
        for (Index e = 0; e < len; ++e) k[e] = static_cast<double>(g[e]) * inv_d;
        return;
      }
      const Index values = program.input_layout->values;
      for (Index e = 0; e < len; ++e)
        spatial_input_kernel<T>(program, x1.row(i).data(), other.row(j0 + e).data(), k + e * values);
    };
  };

  const double total = symmetric ? 0.5 * static_cast<double>(n1) * static_cast<double>(n1 + 1)
                                 : static_cast<double>(n1) * static_cast<double>(n2);
  ProgressCounter counter(progress, total);
  for (Index i0 = 0; i0 < n1; i0 += panel) {
    const Index i1 = std::min(n1, i0 + panel);
    const MatrixView<T> rows = x1.middleRows(i0, i1 - i0);
    if (spatial) {
      // no Gram matrix
    } else if (!symmetric) {
      detail::gemm_abt_into<T>(rows, *x2, gram + i0 * ld, ld);
    } else if (i1 < n1) {
      detail::gemm_abt_into<T>(rows, x1.middleRows(i1, n1 - i1), gram + i0 * ld + i1, ld);
    }
    // The first entry (in row-major order) that came out non-finite, for the message.
    std::atomic<Index> bad_entry{std::numeric_limits<Index>::max()};
    // One row of the panel (may allocate: the thread's chunk buffers grow once).
    const auto map_row = [&](Index i) {
      const Index first = symmetric ? i : 0;
      for (Index j0 = first; j0 < n2; j0 += chunk) {
        const Index len = std::min(chunk, n2 - j0);
        const Index bad = map_chunk<T>(program, variances, d, i, j0, len, starter(i, j0, len, gram + i * ld + j0),
                                       out.nngp != nullptr ? out.nngp + i * ld + j0 : nullptr,
                                       out.ntk != nullptr ? out.ntk + i * ld + j0 : nullptr);
        if (bad >= 0) {
          Index entry = i * n2 + j0 + bad, seen = bad_entry.load();
          while (entry < seen && !bad_entry.compare_exchange_weak(seen, entry)) {
          }
          counter.stop();
          break;
        }
      }
      counter.add(n2 - first);
    };
#pragma omp parallel for schedule(dynamic, 4) if ((i1 - i0) * n2 * (spatial ? 64 : 1) > 4096)
    for (Index i = i0; i < i1; ++i) {
      if (counter.stopped()) continue;
      counter.errors.run([&] { map_row(i); });
    }
    counter.errors.rethrow_if_any();
    if (bad_entry.load() != std::numeric_limits<Index>::max()) {
      const Index i = bad_entry.load() / n2, j = bad_entry.load() % n2;
      std::string layer;
      if (spatial) {
        layer = first_non_finite_layer(program, variances, d, i, j, starter(i, j, 1, nullptr));
      } else {
        // The Gram value of (i, j) was overwritten by the kernel; it is recomputed.
        const double gram_ij = x1.row(i).template cast<double>().dot(other.row(j).template cast<double>());
        layer = first_non_finite_layer(program, variances, d, i, j,
                                       [&](double* k) { k[0] = gram_ij / static_cast<double>(d); });
      }
      throw_not_finite(layer, "the pair (" + std::to_string(i) + ", " + std::to_string(j) + ")");
    }
    if (symmetric) {
      if (out.nngp != nullptr) detail::mirror_rows_to_lower(out.nngp, ld, n1, i0, i1);
      if (out.ntk != nullptr) detail::mirror_rows_to_lower(out.ntk, ld, n1, i0, i1);
    }
    // Rows before i1 are final: the upper part by this or an earlier panel, the mirrored lower
    // part by earlier panels.
    if (out.rows_done) out.rows_done(i1);
    counter.report();
  }
  counter.finish();
}

template <class T>
void check_inputs(MatrixView<T> x1, const MatrixView<T>* x2, const std::vector<int>& shape) {
  if (!shape.empty()) {
    Index values = 1;
    std::string text;
    for (int n : shape) {
      if (n < 1)
        throw Error("analytic kernels: input_shape has an axis of size " + std::to_string(n) +
                    "; every axis needs at least 1");
      values *= n;
      text += (text.empty() ? "" : ", ") + std::to_string(n);
    }
    if (values != x1.cols()) {
      throw Error("analytic kernels: input_shape (" + text + ") has " + std::to_string(values) +
                  " values per example but the inputs have " + std::to_string(x1.cols()) +
                  " columns; each row must be one example flattened in C order (N, H, W, C → N × H·W·C)");
    }
  }
  if (x2 != nullptr && x1.cols() != x2->cols()) {
    std::ostringstream msg;
    msg << "analytic kernels: x1 has " << x1.cols() << " columns but x2 has " << x2->cols()
        << "; both inputs need the same number of features";
    throw Error(msg.str());
  }
  if (x1.cols() == 0) throw Error("analytic kernels: inputs have no features");
  // As the command-line tool: an empty input is a mistake, not an empty kernel.
  if (x1.rows() == 0 || (x2 != nullptr && x2->rows() == 0)) {
    throw Error(std::string("analytic kernels: ") + (x1.rows() == 0 ? (x2 ? "x1" : "x") : "x2") +
                " has no rows; give at least one point");
  }
  detail::require_finite_input(x1, "analytic kernels", x2 != nullptr ? "x1" : "x");
  if (x2 != nullptr) detail::require_finite_input(*x2, "analytic kernels", "x2");
}

template <class T>
void allocate(RowMatrix<T>& m, Index rows, Index cols) {
  m.resize(rows, cols);
  detail::advise_huge_pages_for(m.data(), static_cast<std::size_t>(m.size()) * sizeof(T));
}

template <class T>
AnalyticKernelsOf<T> in_memory(const Network& network, MatrixView<T> x1, const MatrixView<T>* x2,
                               const AnalyticOptions& options) {
  const KernelProgram program = make_program(network, options.nngp, options.ntk, options);
  check_inputs<T>(x1, x2, options.input_shape);
  const Index n1 = x1.rows(), n2 = x2 != nullptr ? x2->rows() : x1.rows();
  AnalyticKernelsOf<T> result;
  Destination<T> out;
  out.ld = n2;
  if (options.nngp) {
    allocate(result.nngp, n1, n2);
    out.nngp = result.nngp.data();
  }
  if (options.ntk) {
    allocate(result.ntk, n1, n2);
    out.ntk = result.ntk.data();
  }
  compute_kernels<T>(program, x1, x2, out, options.panel_rows, options.progress);
  return result;
}

template <class T>
void to_npy(const Network& network, MatrixView<T> x1, const MatrixView<T>* x2, const AnalyticOutputFiles& files,
            const AnalyticOptions& options) {
  const KernelProgram program = make_program(network, !files.nngp.empty(), !files.ntk.empty(), options);
  check_inputs<T>(x1, x2, options.input_shape);
  const Index n1 = x1.rows(), n2 = x2 != nullptr ? x2->rows() : x1.rows();
  const DType dtype = std::is_same_v<T, float> ? DType::Float32 : DType::Float64;
  const auto rows = static_cast<std::size_t>(n1), cols = static_cast<std::size_t>(n2);
  std::optional<detail::MappedNpyMatrix> nngp_file, ntk_file;
  Destination<T> out;
  out.ld = n2;
  if (!files.nngp.empty()) {
    nngp_file.emplace(files.nngp, rows, cols, dtype);
    out.nngp = static_cast<T*>(nngp_file->data());
  }
  if (!files.ntk.empty()) {
    ntk_file.emplace(files.ntk, rows, cols, dtype);
    out.ntk = static_cast<T*>(ntk_file->data());
  }
  // About 1 GiB of output rows per panel: the pages being written stay few, whatever n. Outputs
  // of 32 MiB and more are cut into at least 8 panels (of 256 rows or more), and each finished
  // panel's rows start going to disk while the next ones are computed: the final flush (which
  // makes the files durable before they are renamed into place) then finds little left. At
  // n = 2048 (NNGP + NTK, 64 MiB) that flush took ~110 ms after the computation, ~40% of it.
  const double row_bytes = static_cast<double>(n2) * sizeof(T) * ((out.nngp ? 1 : 0) + (out.ntk ? 1 : 0));
  Index panel = options.panel_rows;
  if (panel <= 0) {
    panel = std::max<Index>(64, static_cast<Index>(static_cast<double>(Index{1} << 30) / std::max(row_bytes, 1.0)));
    if (row_bytes * static_cast<double>(n1) >= 32.0 * (1 << 20)) panel = std::min(panel, std::max<Index>(256, (n1 + 7) / 8));
  }
  out.rows_done = [&](Index end) {
    const std::size_t bytes = static_cast<std::size_t>(end) * cols * sizeof(T);
    if (nngp_file) nngp_file->start_writeback(bytes);
    if (ntk_file) ntk_file->start_writeback(bytes);
  };
  compute_kernels<T>(program, x1, x2, out, panel, options.progress);
  // Both files written before either is renamed into place: they appear together or not at all.
  std::vector<detail::AtomicFile*> finished;
  if (nngp_file) {
    nngp_file->finish();
    finished.push_back(&nngp_file->file());
  }
  if (ntk_file) {
    ntk_file->finish();
    finished.push_back(&ntk_file->file());
  }
  detail::publish_all(finished);
}

}  // namespace

AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x1, MatrixView<double> x2,
                                 const AnalyticOptions& options) {
  return in_memory<double>(network, x1, &x2, options);
}

AnalyticKernels analytic_kernels(const Network& network, MatrixView<double> x, const AnalyticOptions& options) {
  return in_memory<double>(network, x, nullptr, options);
}

AnalyticKernelsOf<float> analytic_kernels(const Network& network, MatrixView<float> x1, MatrixView<float> x2,
                                          const AnalyticOptions& options) {
  return in_memory<float>(network, x1, &x2, options);
}

AnalyticKernelsOf<float> analytic_kernels(const Network& network, MatrixView<float> x, const AnalyticOptions& options) {
  return in_memory<float>(network, x, nullptr, options);
}

AnalyticDiagonal analytic_kernel_diagonal(const Network& network, MatrixView<double> x, const AnalyticOptions& options) {
  const KernelProgram program = make_program(network, options.nngp, options.ntk, options);
  check_inputs<double>(x, nullptr, options.input_shape);
  DiagonalPass pass = program.spatial() ? spatial_diagonal_pass<double>(program, x)
                                        : diagonal_pass(program, squared_norms<double>(x), x.cols());
  AnalyticDiagonal out;
  if (options.nngp) out.nngp = std::move(pass.k);
  if (options.ntk) out.ntk = std::move(pass.theta);
  if (options.progress) options.progress(1.0);
  return out;
}

void write_analytic_kernels_npy(const Network& network, MatrixView<double> x1, const MatrixView<double>* x2, DType dtype,
                                const AnalyticOutputFiles& files, AnalyticOptions options) {
  if (files.nngp.empty() && files.ntk.empty()) throw Error("analytic kernels: no output file given");
  if (!files.nngp.empty() && files.nngp == files.ntk)
    throw Error("analytic kernels: the NNGP and the NTK need different output files (both are '" + files.nngp + "')");
  if (dtype == DType::Float64) return to_npy<double>(network, x1, x2, files, options);
  if (dtype != DType::Float32) throw Error("analytic kernels: .npy output is float32 or float64");
  check_inputs<double>(x1, x2, options.input_shape);  // before narrowing: name the original non-finite value
  const RowMatrixF x1f = x1.cast<float>();
  if (x2 == nullptr) return to_npy<float>(network, x1f, nullptr, files, options);
  const RowMatrixF x2f = x2->cast<float>();
  const MatrixView<float> x2view(x2f);
  to_npy<float>(network, x1f, &x2view, files, options);
}

}  // namespace ntkit
