// A progress bar on stderr for long commands.
//
// Drawn only when it helps: stderr is a terminal (a log file or a pipe would fill with
// carriage returns), the work has run for more than a second, and the user did not pass
// --quiet. Redrawn at most ten times a second; the line is finished when the bar goes away.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace ntkit::cli {

class ProgressBar {
 public:
  /// label: what is being done ("kernel"). quiet: never draw.
  ProgressBar(std::string label, bool quiet);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();

  /// fraction in [0, 1] of the work done.
  void update(double fraction);

  /// update() as a callback for library options (the bar must outlive its use).
  std::function<void(double)> callback();

 private:
  void draw(double fraction);

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace ntkit::cli
