#!/usr/bin/env bash
# The full test suite, as the README gives it: installs what the tests need
# when it is missing (Node packages, Chromium for the browser test, Redis for
# the adapter tests), then runs every Go test with -race, the interop tests
# against the official JavaScript client included.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d interop/node_modules ] || [ interop/package-lock.json -nt interop/node_modules/.package-lock.json ]; then
  echo "== npm ci (interop)"
  npm ci --prefix interop --no-audit --no-fund
fi

# Redis for the adapter tests, on a loopback port of its own.
export REDIS_ADDR=${REDIS_ADDR:-127.0.0.1:6390}
if ! (exec 3<>"/dev/tcp/${REDIS_ADDR%:*}/${REDIS_ADDR#*:}") 2>/dev/null; then
  redis-server --bind 127.0.0.1 --port "${REDIS_ADDR#*:}" --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/${REDIS_ADDR%:*}/${REDIS_ADDR#*:}") 2>/dev/null && break; sleep 0.1; done
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './interop/node_modules/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt -l reports:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test -race ./..."
go test -race -count=1 -timeout 20m ./...
for mod in $(find . -mindepth 2 -name go.mod -not -path './interop/node_modules/*' | sort); do
  dir=$(dirname "$mod")
  echo "== go test -race ($dir)"
  (cd "$dir" && go vet ./... && go test -race -count=1 -timeout 10m ./...)
done
