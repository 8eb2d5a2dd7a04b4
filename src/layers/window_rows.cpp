// Gathering windows of positions and scattering them back (window_rows.hpp). Plain loops over
// rows of C contiguous channels: the GEMM after gather_patches carries the arithmetic.
#include "window_rows.hpp"

namespace ntkit::detail {

using Index = Eigen::Index;

WindowRows make_window_rows(const std::vector<AxisWindow>& axes) {
  WindowRows w;
  // Start from one position with a one-entry window and take the product axis by axis.
  w.source.assign(1, 0);
  for (const AxisWindow& axis : axes) {
    std::vector<int> source;
    source.reserve(w.source.size() * static_cast<std::size_t>(axis.size_out * axis.window));
    for (Index o = 0; o < w.positions_out; ++o) {
      for (int oa = 0; oa < axis.size_out; ++oa) {
        for (Index f = 0; f < w.window; ++f) {
          const int before = w.input(o, f);
          for (int fa = 0; fa < axis.window; ++fa) {
            const int i = axis.input(oa, fa);
            source.push_back(before < 0 || i < 0 ? -1 : before * axis.size_in + i);
          }
        }
      }
    }
    w.source = std::move(source);
    w.positions_in *= axis.size_in;
    w.positions_out *= axis.size_out;
    w.window *= axis.window;
  }
  return w;
}

WindowRows whole_window(Index positions) {
  WindowRows w;
  w.positions_in = positions;
  w.window = positions;
  for (Index p = 0; p < positions; ++p) w.source.push_back(static_cast<int>(p));
  return w;
}

RowMatrixD gather_patches(const WindowRows& w, const RowMatrixD& h) {
  const Index channels = h.cols(), n = h.rows() / w.positions_in;
  RowMatrixD patches = RowMatrixD::Zero(n * w.positions_out, w.window * channels);
  for (Index i = 0; i < n; ++i) {
    for (Index o = 0; o < w.positions_out; ++o) {
      double* row = patches.row(i * w.positions_out + o).data();
      for (Index f = 0; f < w.window; ++f) {
        const int q = w.input(o, f);
        if (q < 0) continue;  // a padded zero
        const double* in = h.row(i * w.positions_in + q).data();
        std::copy(in, in + channels, row + f * channels);
      }
    }
  }
  return patches;
}

RowMatrixD scatter_patches(const WindowRows& w, const RowMatrixD& g, Index stack) {
  const Index channels = g.cols() / w.window, n = g.rows() / (w.positions_out * stack);
  RowMatrixD out = RowMatrixD::Zero(n * w.positions_in * stack, channels);
  for (Index i = 0; i < n; ++i) {
    for (Index o = 0; o < w.positions_out; ++o) {
      for (Index f = 0; f < w.window; ++f) {
        const int q = w.input(o, f);
        if (q < 0) continue;
        for (Index s = 0; s < stack; ++s) {
          out.row((i * w.positions_in + q) * stack +
                  s) += g.row((i * w.positions_out + o) * stack + s).segment(f * channels, channels);
        }
      }
    }
  }
  return out;
}

RowMatrixD pool_rows(const WindowRows& w, const RowMatrixD& h, Index stack) {
  const Index n = h.rows() / (w.positions_in * stack);
  RowMatrixD out = RowMatrixD::Zero(n * w.positions_out * stack, h.cols());
  for (Index i = 0; i < n; ++i) {
    for (Index o = 0; o < w.positions_out; ++o) {
      const double c = w.scale[static_cast<std::size_t>(o)];
      for (Index f = 0; f < w.window; ++f) {
        const int q = w.input(o, f);
        if (q < 0) continue;
        for (Index s = 0; s < stack; ++s) {
          out.row((i * w.positions_out + o) * stack + s) += c * h.row((i * w.positions_in + q) * stack + s);
        }
      }
    }
  }
  return out;
}

RowMatrixD unpool_rows(const WindowRows& w, const RowMatrixD& g, Index stack) {
  const Index n = g.rows() / (w.positions_out * stack);
  RowMatrixD out = RowMatrixD::Zero(n * w.positions_in * stack, g.cols());
  for (Index i = 0; i < n; ++i) {
    for (Index o = 0; o < w.positions_out; ++o) {
      const double c = w.scale[static_cast<std::size_t>(o)];
      for (Index f = 0; f < w.window; ++f) {
        const int q = w.input(o, f);
        if (q < 0) continue;
        for (Index s = 0; s < stack; ++s) {
          out.row((i * w.positions_in + q) * stack + s) += c * g.row((i * w.positions_out + o) * stack + s);
        }
      }
    }
  }
  return out;
}

}  // namespace ntkit::detail
