#!/usr/bin/env bash
# Times each one-shot CLI command against a live `aviary serve` (release builds, loopback), with
# one canary rollout of the sample app applied and paused. Prints the median wall time of N runs
# per command; the goal is under 100 ms each. Not a gate: numbers depend on the machine's load,
# so it prints the load average too, and the CPU time (user+sys) the CLI process itself used,
# which the load barely moves.
#   bench/cli-oneshot.sh [RUNS]     (CONFIG=debug to time the debug build instead;
#                                    SCRATCH=.build-release to build in another scratch path)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
config=${CONFIG:-release}
build=(swift build -c "$config" ${SCRATCH:+--scratch-path "$SCRATCH"})
"${build[@]}" --product aviary >/dev/null
"${build[@]}" --product aviary-sample-app >/dev/null
bin=$("${build[@]}" --show-bin-path)
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
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores, $config build)"
time_ms() {
    local samples=() cpu=() line
    local TIMEFORMAT='%R %U %S'
    for _ in $(seq "$runs"); do
        # bash's `time` gives wall, user and sys seconds of the command.
        line=$({ time "$bin/aviary" "$@" >/dev/null 2>&1 || true; } 2>&1)
        samples+=($(awk '{printf "%d", $1 * 1000}' <<<"$line"))
        cpu+=($(awk '{printf "%d", ($2 + $3) * 1000}' <<<"$line"))
    done
    local cpu_median
    cpu_median=$(printf '%s\n' "${cpu[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%s\n' "${samples[@]}" | sort -n | awk -v name="$*" -v cpu="$cpu_median" \
        '{a[NR]=$1} END {printf "%-40s median %4d ms  max %4d ms  cpu %3d ms\n", name, a[int((NR+1)/2)], a[NR], cpu}'
}
time_ms get rollout web
time_ms get rollout web -o json
time_ms get rollout web -o wide
time_ms list rollouts
time_ms list rollouts -A -o wide
time_ms list analysisruns
time_ms status web
time_ms pause web
time_ms promote web
time_ms restart web --in 1h
time_ms version
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
