#!/usr/bin/env bash
# Times each one-shot CLI command against a live `aviary serve` (release builds, loopback), with
# one canary rollout of the sample app applied and paused. Prints the median wall time of N runs
# per command; the goal is under 100 ms each. Not a gate: numbers depend on the machine's load.
#   bench/cli-oneshot.sh [RUNS]     (CONFIG=debug to time the debug build instead)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
config=${CONFIG:-release}
swift build -c "$config" --product aviary >/dev/null
swift build -c "$config" --product aviary-sample-app >/dev/null
bin=$(swift build -c "$config" --show-bin-path)
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$bin/aviary" serve --state-dir "$work/state" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
serve=$!
cleanup() { kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 200); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
export AVIARY_SERVER="127.0.0.1:$port"
cat >"$work/web.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: sample:blue
          command: ["$bin/aviary-sample-app"]
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
YAML
"$bin/aviary" apply -f "$work/web.yaml" >/dev/null
"$bin/aviary" status web --watch --timeout 60s >/dev/null
"$bin/aviary" set image web app=sample:green >/dev/null
time_ms() {
    local samples=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        "$bin/aviary" "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        samples+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk -v name="$*" '{a[NR]=$1} END {printf "%-40s median %4d ms  max %4d ms\n", name, a[int((NR+1)/2)], a[NR]}'
}
time_ms get rollout web
time_ms get rollout web -o json
time_ms list rollouts
time_ms list analysisruns
time_ms status web
time_ms pause web
time_ms promote web
time_ms restart web --in 1h
time_ms version
