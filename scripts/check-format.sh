#!/usr/bin/env bash
# Checks that every tracked C/C++ file (.cpp, .hpp, .h under src include apps python/src tests
# fuzz bench) is formatted as .clang-format at the repository root says.
#
#   scripts/check-format.sh              # lists the files that are not formatted; exit 1 if any
#   scripts/check-format.sh --fix        # formats them in place
#   scripts/check-format.sh [--fix] FILE...   # only these files
#
# Uses clang-format 14 (Debian package clang-format-14), whatever else is installed, so that
# every machine gets the same result: versions differ in their output. CLANG_FORMAT=/path/to/it
# overrides the choice.
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
case "${1:-}" in
  -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  -*)
    echo "check-format: unknown option $1 (usage: scripts/check-format.sh [--fix] [FILE...])" >&2
    exit 2
    ;;
esac

wanted_major=14
find_clang_format() {
  if [ -n "${CLANG_FORMAT:-}" ]; then
    command -v "$CLANG_FORMAT" || { echo "check-format: CLANG_FORMAT=$CLANG_FORMAT not found" >&2; return 1; }
    return 0
  fi
  local candidate version
  for candidate in clang-format-$wanted_major /usr/lib/llvm-$wanted_major/bin/clang-format clang-format; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    version=$("$candidate" --version 2>/dev/null | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
    if [ "$version" = "$wanted_major" ]; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "check-format: clang-format $wanted_major not found; install the Debian package" \
    "clang-format-$wanted_major (apt-get install clang-format-$wanted_major, or" \
    "scripts/install-deps.sh as root), or set CLANG_FORMAT to a clang-format $wanted_major binary" >&2
  return 1
}
clang_format=$(find_clang_format) || exit 2

if [ ! -f .clang-format ]; then
  echo "check-format: .clang-format missing at the repository root ($(pwd))" >&2
  exit 2
fi

files=()
if [ $# -gt 0 ]; then
  files=("$@")
else
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && files+=("$f")   # tracked but deleted in the work tree: skip
  done < <(git ls-files -z -- 'src/*.cpp' 'src/*.hpp' 'src/*.h' 'include/*.cpp' 'include/*.hpp' \
             'include/*.h' 'apps/*.cpp' 'apps/*.hpp' 'apps/*.h' 'python/src/*.cpp' 'python/src/*.hpp' \
             'python/src/*.h' 'tests/*.cpp' 'tests/*.hpp' 'tests/*.h' 'fuzz/*.cpp' 'fuzz/*.hpp' \
             'fuzz/*.h' 'bench/*.cpp' 'bench/*.hpp' 'bench/*.h')
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "check-format: no files to check"
  exit 0
fi

if [ $fix -eq 1 ]; then
  "$clang_format" --style=file -i -- "${files[@]}"
  echo "check-format: formatted ${#files[@]} files with $("$clang_format" --version | sed 's/^.*version /clang-format /')"
  exit 0
fi

bad=()
total_lines=0
for f in "${files[@]}"; do
  # Exact comparison (pipefail: a clang-format failure also lands below and is reported).
  "$clang_format" --style=file "$f" | cmp -s - "$f" && continue
  if ! "$clang_format" --style=file "$f" >/dev/null; then
    echo "check-format: clang-format failed on $f" >&2
    exit 2
  fi
  changed=$(diff -- "$f" <("$clang_format" --style=file "$f") | grep -c '^>' || true)
  bad+=("$f")
  total_lines=$((total_lines + changed))
  printf '  %s (%s line%s would change)\n' "$f" "$changed" "$([ "$changed" = 1 ] || echo s)"
done

if [ ${#bad[@]} -gt 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted ($total_lines lines;" \
    "$("$clang_format" --version | sed 's/^.*version /clang-format /'))."
  if [ ${#bad[@]} -le 5 ]; then
    echo "Fix: scripts/check-format.sh --fix ${bad[*]}    (or all: scripts/check-format.sh --fix)"
  else
    echo "Fix: scripts/check-format.sh --fix    (formats the files in place)"
  fi
  exit 1
fi
echo "check-format: all ${#files[@]} checked files are formatted as .clang-format says"
