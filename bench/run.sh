#!/bin/sh
# Runs the side-by-side load benchmarks of this server and the Node
# reference server (see bench/README.md). Arguments go to the compare
# command, e.g. bench/run.sh -rounds 5 -only echo,broadcast
set -e
cd "$(dirname "$0")/.."

# Up to 5,000 client connections at once, both ends in processes started
# from here: raise the file-descriptor limit (the servers inherit it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 12000 ]; then
	echo "warning: ulimit -n is $(ulimit -n); the idle scenario needs about 12000" >&2
fi

if [ ! -d interop/node_modules/socket.io ]; then
	npm ci --prefix interop
fi
exec go run ./bench/cmd/compare "$@"
