#!/usr/bin/env bash
# Quick router throughput check: wrk against one aviary-sample-app directly, then through
# `aviary router`, both release builds on loopback. Prints both and the ratio. Not a gate:
# the numbers depend on the machine and on what else runs on it.
#   bench/router-quick.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
swift build -c release --product aviary >/dev/null
swift build -c release --product aviary-sample-app >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
app_port=$(free_port)
router_port=$(free_port)
PORT=$app_port IMAGE=bench:v1 POD_NAME=bench-1 "$bin/aviary-sample-app" >/dev/null &
pids+=($!)
cat >"$work/router.yaml" <<YAML
services: {app: {endpoints: ["127.0.0.1:$app_port"]}}
listeners: [{address: "127.0.0.1:$router_port", routes: [{backends: [{service: app}]}]}]
YAML
"$bin/aviary" router --config "$work/router.yaml" 2>/dev/null &
pids+=($!)
for port in "$app_port" "$router_port"; do
    for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done
rate() { wrk -t2 -c"$connections" -d"${duration}s" "http://127.0.0.1:$1/" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}'; }
echo "== direct to the sample app" >&2
direct=$(rate "$app_port")
echo "== through aviary router" >&2
proxied=$(rate "$router_port")
echo "direct ${direct} req/s, through the router ${proxied} req/s, ratio $(python3 -c "print(round($proxied/$direct, 2))")"
