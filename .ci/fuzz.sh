#!/usr/bin/env bash
# Runs every Fuzz* target of every module in the repository for a bounded
# time each (FUZZTIME, default 10s), one target at a time. Targets are
# discovered, not listed: a new Fuzz function is fuzzed by CI as soon as it
# exists. An input that fails is written by `go test` under the package's
# testdata/fuzz/<Target>/ and the script fails; commit that file with the
# fix, and it runs with every `go test` from then on.
#
#   FUZZTIME=1m .ci/fuzz.sh            # longer
#   FUZZMINIMIZETIME=30s .ci/fuzz.sh   # minimize longer (default 2s)
#   FUZZPARALLEL=2 .ci/fuzz.sh         # fewer workers on a shared machine
#   .ci/fuzz.sh ./internal/parser      # some packages of the root module only
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
# Each input that finds new coverage is minimized too, 60s at most by
# default: for a target whose inputs cost a network round trip (FuzzPost,
# FuzzWebSocketFrames), a minimization started late outlasts -fuzztime,
# which is what trips golang/go#75804 below. A failing input is written
# whether or not its minimization finished.
minimize=${FUZZMINIMIZETIME:-2s}
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
  parallel=(-parallel "$FUZZPARALLEL")
fi

# The root module, then every nested one (they have their own go.mod);
# packages named on the command line are the root module's.
modules=(.)
if [ $# -eq 0 ]; then
  while IFS= read -r mod; do
    modules+=("$(dirname "$mod")")
  done < <(find . -mindepth 2 -name go.mod -not -path '*/node_modules/*' -not -path '*/testdata/*' | sort)
fi

# fuzz_one fuzzes one target. Go 1.26's fuzzing coordinator can fail a
# target with a bare "context deadline exceeded" as -fuzztime runs out,
# with no failing input (golang/go#75804, fixed in Go 1.27): that outcome,
# and only that one, is run once more. A real finding writes its input
# under testdata/fuzz/ and fails at once.
deadline_flake() {
  grep -q '^    context deadline exceeded$' "$1" && ! grep -qE 'Failing input written|panic:' "$1"
}

fuzz_one() {
  local mod=$1 pkg=$2 target=$3 out attempt
  out=$(mktemp)
  for attempt in 1 2; do
    if (cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" ${parallel[@]+"${parallel[@]}"} "$pkg") 2>&1 | tee "$out"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
      rm -f "$out"
      return 0
    fi
    if [ "$attempt" -eq 1 ] && deadline_flake "$out"; then
      echo "== $target: the fuzzing engine's deadline race (golang/go#75804), no failing input; once more"
      continue
    fi
    break
  done
  rm -f "$out"
  return 1
}

failed=()
ran=0
for mod in "${modules[@]}"; do
  pkgs=("$@")
  [ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
  # `go test -list` prints a package's matching tests, then its "ok" line.
  listing=$(cd "$mod" && go test -list '^Fuzz' "${pkgs[@]}" 2>/dev/null) || {
    echo "== $mod: go test -list failed" >&2
    (cd "$mod" && go test -list '^Fuzz' "${pkgs[@]}" >/dev/null) || true
    failed+=("$mod (list)")
    continue
  }
  targets=()
  while IFS= read -r line; do
    case "$line" in
      Fuzz*) targets+=("$line") ;;
      ok*)
        pkg=$(awk '{print $2}' <<<"$line")
        for target in ${targets[@]+"${targets[@]}"}; do
          echo "== fuzz $pkg $target ($fuzztime)"
          ran=$((ran + 1))
          if ! fuzz_one "$mod" "$pkg" "$target"; then
            failed+=("$pkg $target")
          fi
        done
        targets=()
        ;;
    esac
  done <<<"$listing"
done

echo "== $ran fuzz targets run"
if [ ${#failed[@]} -gt 0 ]; then
  printf '== FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
