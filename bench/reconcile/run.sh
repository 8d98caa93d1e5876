#!/usr/bin/env bash
# One reconcile of each of 10,000 different rollouts, single-threaded; goal under 1 s.
# Usage: bench/reconcile/run.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product aviary-bench-reconcile >/dev/null 2>&1 || swift build -c release --product aviary-bench-reconcile
.build/release/aviary-bench-reconcile "$@"
