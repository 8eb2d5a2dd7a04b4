#!/usr/bin/env bash
# Runs every fuzz target for a while on a scratch copy of its seed corpus.
#
#   bash fuzz/run.sh BUILD_DIR SECONDS
#
# BUILD_DIR is the CMake build directory configured with -DNTKIT_BUILD_FUZZ=ON (make fuzz-build).
# The committed corpus under fuzz/corpus/ is only read: libFuzzer adds every new input it finds
# to the first corpus directory it is given, and that directory is a temporary copy here.
# Crash inputs go to fuzz/artifacts/ (ignored by git); add the interesting ones to the seed
# corpus after fixing the bug. Exits non-zero if any target found a problem.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
artifacts="$fuzz_dir/artifacts"
mkdir -p "$artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ntkit-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

status=0
for name in npy text network idx; do
  target="$build_dir/fuzz/fuzz_$name"
  if [[ ! -x $target ]]; then
    echo "fuzz/run.sh: $target not found; build it first (make fuzz-build)" >&2
    exit 2
  fi
  corpus="$scratch/$name"
  mkdir -p "$corpus"
  cp "$fuzz_dir/corpus/$name"/* "$corpus/"
  dict=()
  [[ -f $fuzz_dir/$name.dict ]] && dict=(-dict="$fuzz_dir/$name.dict")
  echo "== fuzz_$name: ${seconds}s"
  # -max_len: the readers' interesting structure fits in a few kilobytes; longer inputs only
  # slow the search down. -timeout: any single input slower than this is reported as a hang.
  if ! "$target" "$corpus" "${dict[@]}" \
      -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/fuzz_$name-" \
      >"$scratch/$name.log" 2>&1; then
    status=1
    echo "fuzz_$name FAILED; last lines of its log:" >&2
    tail -n 40 "$scratch/$name.log" >&2
    echo "crash inputs: $artifacts/" >&2
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' \
      "$scratch/$name.log" || true
    echo "corpus: $(ls "$corpus" | wc -l) inputs (seed: $(ls "$fuzz_dir/corpus/$name" | wc -l))"
  fi
done
exit $status
