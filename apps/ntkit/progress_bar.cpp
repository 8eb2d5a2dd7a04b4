#include "progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace ntkit::cli {
namespace {

constexpr auto kDelay = std::chrono::seconds(1);          // quiet for short runs
constexpr auto kRedraw = std::chrono::milliseconds(100);  // at most ten redraws a second
constexpr int kWidth = 30;                                // characters of bar

}  // namespace

ProgressBar::ProgressBar(std::string label, bool quiet)
    : label_(std::move(label)),
      enabled_(!quiet && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(double fraction) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < kDelay) return;
  if (drawn_ && now - last_draw_ < kRedraw && fraction < 1.0) return;
  last_draw_ = now;
  draw(fraction);
}

std::function<void(double)> ProgressBar::callback() {
  return [this](double fraction) { update(fraction); };
}

void ProgressBar::draw(double fraction) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r%s [%s] %3d%%  %.1f s", label_.c_str(), bar.c_str(), static_cast<int>(fraction * 100.0), seconds);
  if (fraction > 0.0 && fraction < 1.0) std::fprintf(stderr, "  (about %.0f s left)", seconds * (1.0 - fraction) / fraction);
  std::fprintf(stderr, "\x1b[K");  // clear what a longer previous line left
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace ntkit::cli
