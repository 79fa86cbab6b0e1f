#!/usr/bin/env bash
# bench/ingest.sh — the reproducible harness for loupe's ingest figure
# (DESIGN.md §7): OTLP/HTTP protobuf, standard workload (bench/workload),
# durable acknowledgements, against the decode-only ceiling.
#
# For each of RUNS runs it starts `loupe serve` twice on loopback:
#   (a) decode-only: `loupe serve --decode-only`   — decode and ack, no storage
#   (b) durable:     `loupe serve --data FRESH_DIR` — the full ingest path
# drives it with bench/bin/loadgen for D seconds, samples the server's peak RSS
# (VmHWM), stops it with SIGTERM (graceful: flushes everything acked), and for
# (b) measures the data directory (du -sb) against the OTLP bytes acked.
# Before the runs it measures the load generator alone against a discarding
# sink (bench/cmd/otlpsink), since loadgen and server share the machine.
#
# Results: bench/results/ingest-DATE.json, and a markdown table on stdout
# ready for BENCHMARKS.md. Progress goes to stderr.
#
# Settings (environment):
#   RUNS=5 D=20 CONCURRENCY=8 TRACES=10 SEED=1 GZIP=0
#   PORT=14318 GRPC_PORT=14317 SINK=1 (0 skips the loadgen-alone run)
#   LOUPE_ARGS="" extra flags for `loupe serve` in both modes
#   SERVE_FLAGS="" extra flags for the durable server only, e.g.
#                  SERVE_FLAGS="--sampling production" (A/B against "--sampling all")
#   DECODE_ONLY=1 (0 skips the decode-only runs, e.g. for a sampling A/B)
#   LOUPE_BIN=""  use this loupe binary instead of building ./cmd/loupe
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
D=${D:-20}
CONCURRENCY=${CONCURRENCY:-8}
TRACES=${TRACES:-10}
SEED=${SEED:-1}
GZIP=${GZIP:-0}
PORT=${PORT:-14318}
GRPC_PORT=${GRPC_PORT:-14317}
SINK=${SINK:-1}
LOUPE_ARGS=${LOUPE_ARGS:-}
SERVE_FLAGS=${SERVE_FLAGS:-}
DECODE_ONLY=${DECODE_ONLY:-1}
LOUPE_BIN=${LOUPE_BIN:-}
COMMAND="RUNS=$RUNS D=$D CONCURRENCY=$CONCURRENCY TRACES=$TRACES SEED=$SEED GZIP=$GZIP bench/ingest.sh"
[[ "$DECODE_ONLY" == 1 ]] || COMMAND="DECODE_ONLY=$DECODE_ONLY $COMMAND"
[[ -z "$SERVE_FLAGS" ]] || COMMAND="SERVE_FLAGS=\"$SERVE_FLAGS\" $COMMAND"
[[ -z "$LOUPE_ARGS" ]] || COMMAND="LOUPE_ARGS=\"$LOUPE_ARGS\" $COMMAND"

log() { printf '[ingest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

command -v jq >/dev/null || die "jq is required (apt-get install jq)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS: want a positive integer"
[[ "$D" =~ ^[1-9][0-9]*$ ]] || die "D=$D: want a positive number of seconds"

mkdir -p bench/bin bench/results
if [[ -z "$LOUPE_BIN" ]]; then
	log "building bench/bin/loupe"
	go build -o bench/bin/loupe ./cmd/loupe
	LOUPE_BIN=bench/bin/loupe
else
	COMMAND="LOUPE_BIN=$LOUPE_BIN $COMMAND"
fi
log "building bench/bin/loadgen, bench/bin/otlpsink"
go build -o bench/bin/loadgen ./bench/cmd/loadgen
go build -o bench/bin/otlpsink ./bench/cmd/otlpsink

work=$(mktemp -d "${TMPDIR:-/tmp}/loupe-ingest.XXXXXX")
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadgen_args=(-endpoint "http://127.0.0.1:$PORT" -duration "${D}s" -concurrency "$CONCURRENCY"
	-traces-per-request "$TRACES" -seed "$SEED" -json)
[[ "$GZIP" == 1 ]] && loadgen_args+=(-gzip)

# stop_server sends SIGTERM, waits for the exit, and sets stop_rc and
# stop_secs (how long the graceful shutdown took). Not for $(...): it must
# run in the shell that started the server.
stop_server() {
	local t0 t1
	stop_rc=0
	t0=$(date +%s.%N)
	kill -TERM "$server_pid"
	wait "$server_pid" || stop_rc=$?
	t1=$(date +%s.%N)
	server_pid=""
	stop_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
}

runs_file="$work/runs.jsonl"
: >"$runs_file"

# one_run MODE RUN: one server start, load, stop; appends a JSON line.
one_run() {
	local mode=$1 run=$2 data="$work/data-$1-$2" logfile="$work/server-$1-$2.log"
	local -a cmd
	case $mode in
	sink) cmd=(bench/bin/otlpsink -addr "127.0.0.1:$PORT") ;;
	decode-only) cmd=("$LOUPE_BIN" serve --addr "127.0.0.1:$PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" --data "$data" --decode-only $LOUPE_ARGS) ;;
	durable) cmd=("$LOUPE_BIN" serve --addr "127.0.0.1:$PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" --data "$data" $LOUPE_ARGS $SERVE_FLAGS) ;;
	esac
	log "run $run/$RUNS $mode: starting ${cmd[*]}"
	start_server "$logfile" "${cmd[@]}"
	log "run $run/$RUNS $mode: sending for ${D}s (concurrency $CONCURRENCY, $TRACES traces/request)"
	local result="$work/loadgen-$mode-$run.json"
	# loadgen's per-second progress goes to stderr; its JSON result to $result.
	if ! bench/bin/loadgen "${loadgen_args[@]}" >"$result"; then
		die "loadgen failed"
	fi
	local rss rc secs disk=0
	kill -0 "$server_pid" 2>/dev/null || { tail -20 "$logfile" >&2; die "$mode server died during the run"; }
	rss=$(proc_kib "$server_pid" VmHWM)
	stop_server
	rc=$stop_rc
	secs=$stop_secs
	if [[ "$rc" != 0 ]]; then
		log "warning: $mode server exited $rc after SIGTERM; last lines of its log:"
		tail -20 "$logfile" >&2
	fi
	if [[ -d "$data" ]]; then
		disk=$(du -sb "$data" | cut -f1)
	fi
	jq -c --arg mode "$mode" --argjson run "$run" --argjson rss "$rss" --argjson disk "$disk" \
		--argjson rc "$rc" --argjson stop "$secs" \
		'{mode: $mode, run: $run, spans_per_sec, requests_per_sec, p50_ms, p99_ms, acked_spans, throttled, errors,
		  bytes_acked, loadgen_cpu_seconds: .cpu_seconds, loadgen_cpu_us_per_span: .cpu_us_per_span,
		  peak_rss_mib: ($rss / 1024), disk_bytes: $disk,
		  disk_ratio: (if .bytes_acked > 0 then $disk / .bytes_acked else null end),
		  shutdown_seconds: $stop, exit_code: $rc, first_error}' "$result" >>"$runs_file"
	log "run $run/$RUNS $mode: $(jq -r '"\(.spans_per_sec|floor) spans/s acked, p99 \(.p99_ms) ms, throttled \(.throttled), errors \(.errors)"' "$result"), peak RSS $((rss / 1024)) MiB, disk $disk B, shutdown ${secs}s"
	rm -rf "$data"
}

if [[ "$SINK" == 1 ]]; then
	one_run sink 1
fi
for run in $(seq 1 "$RUNS"); do
	if [[ "$DECODE_ONLY" == 1 ]]; then
		one_run decode-only "$run"
	fi
	one_run durable "$run"
done

# Summary: medians per mode (the mean of the middle two for an even count).
date_tag=$(date -u +%Y-%m-%dT%H%M%SZ)
out="bench/results/ingest-$date_tag.json"
cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain 2>/dev/null | head -1)" ]]; then commit="$commit (dirty tree)"; fi
jq -s --arg cmd "$COMMAND" --arg date "$date_tag" --arg nproc "$(nproc)" --arg cpu "$cpu_model" \
	--arg go "$(go version)" --arg kernel "$(uname -sr)" --arg commit "$commit" \
	--argjson d "$D" --argjson conc "$CONCURRENCY" --argjson traces "$TRACES" --argjson gzip "$GZIP" \
	--arg serve_flags "$LOUPE_ARGS $SERVE_FLAGS" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
	def median: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor]
	            else (.[length/2 - 1] + .[length/2]) / 2 end;
	def summary(m): [.[] | select(.mode == m)] | {
	  runs: length,
	  spans_per_sec: (map(.spans_per_sec) | median),
	  p50_ms: (map(.p50_ms) | median), p99_ms: (map(.p99_ms) | median),
	  peak_rss_mib: (map(.peak_rss_mib) | median),
	  disk_ratio: (map(.disk_ratio) | map(select(. != null)) | median),
	  throttled: (map(.throttled) | add), errors: (map(.errors) | add),
	  loadgen_cpu_us_per_span: (map(.loadgen_cpu_us_per_span) | median)};
	{date: $date, command: $cmd, commit: $commit,
	 machine: {nproc: ($nproc|tonumber), cpu: $cpu, go: $go, kernel: $kernel},
	 settings: {seconds: $d, concurrency: $conc, traces_per_request: $traces, gzip: ($gzip == 1),
	            serve_flags: ($serve_flags | ltrimstr(" ") | rtrimstr(" "))},
	 load_average_after: $load,
	 loadgen_alone: summary("sink"),
	 decode_only: summary("decode-only"),
	 durable: summary("durable"),
	 runs: .}
	| .durable_vs_decode_only = (if .decode_only.spans_per_sec > 0 then .durable.spans_per_sec / .decode_only.spans_per_sec else null end)
	' "$runs_file" >"$out"
log "wrote $out"

jq -r '
	def n0: if . == null then "–" else (. | floor | tostring) end;
	def n2: if . == null then "–" else ((. * 100 | round) / 100 | tostring) end;
	def pct: if . == null then "–" else ((. * 1000 | round) / 10 | tostring) + "%" end;
	def ratio: if . == null or . == 0 then "–" else ((. * 10000 | round) / 100 | tostring) + "% (1/" + ((1 / . * 10 | round) / 10 | tostring) + ")" end;
	"### Ingest, OTLP/HTTP protobuf, standard workload (\(.date))",
	"",
	"Command: `\(.command)` (commit \(.commit))  ",
	"Machine: \(.machine.nproc) CPUs (`nproc`), \(.machine.cpu), \(.machine.kernel), \(.machine.go); load average after the runs (1/5/15 min): \(.load_average_after)  ",
	"Load: bench/bin/loadgen on the same machine, \(.settings.concurrency) concurrent requests of \(.settings.traces_per_request) traces (~12 spans each), \(.settings.seconds) s per run, gzip \(.settings.gzip); medians of \(.durable.runs) runs.",
	"",
	"| mode | spans/s acked (median) | p50 ms | p99 ms | peak RSS MiB | disk / OTLP bytes | throttled | errors |",
	"|---|---:|---:|---:|---:|---:|---:|---:|",
	(if .decode_only.runs > 0 then "| decode-only ceiling | \(.decode_only.spans_per_sec|n0) | \(.decode_only.p50_ms|n2) | \(.decode_only.p99_ms|n2) | \(.decode_only.peak_rss_mib|n0) | – | \(.decode_only.throttled) | \(.decode_only.errors) |" else empty end),
	"| durable (`--data\(if .settings.serve_flags != "" then " " + .settings.serve_flags else "" end)`) | \(.durable.spans_per_sec|n0) | \(.durable.p50_ms|n2) | \(.durable.p99_ms|n2) | \(.durable.peak_rss_mib|n0) | \(.durable.disk_ratio|ratio) | \(.durable.throttled) | \(.durable.errors) |",
	"",
	(if .decode_only.runs > 0 then "Durable / decode-only: **\(.durable_vs_decode_only|pct)**. Per-run spans/s — decode-only: \([.runs[]|select(.mode=="decode-only")|.spans_per_sec|floor]|map(tostring)|join(", ")); durable: \([.runs[]|select(.mode=="durable")|.spans_per_sec|floor]|map(tostring)|join(", "))." else "Per-run spans/s — durable: \([.runs[]|select(.mode=="durable")|.spans_per_sec|floor]|map(tostring)|join(", "))." end),
	(if .loadgen_alone.runs > 0 then "Load generator alone (against bench/cmd/otlpsink, which discards): \(.loadgen_alone.spans_per_sec|n0) spans/s; loadgen costs \(.durable.loadgen_cpu_us_per_span|n2) µs CPU per acked span in the durable runs." else empty end)
' "$out"
