#!/usr/bin/env bash
# bench/query.sh — the reproducible harness for loupe's query figures
# (DESIGN.md §7): trace by id, filtered search, full-text search and stats
# latencies at 1M and 10M stored spans of the standard workload.
#
# It starts one durable `loupe serve --data FRESH_DIR` on loopback, then for
# each level of LEVELS (cumulative span counts, ascending):
#   1. loads the standard workload with bench/bin/loadgen until the store
#      holds the level's spans (-max-requests from spans per request; progress
#      on stderr), and records the load's own figures (spans/s, throttling);
#   2. waits SETTLE seconds, records the data directory's size (du -sb) and
#      the server's RSS;
#   3. runs bench/bin/querybench: each query K times after WARMUP warm-ups,
#      one request at a time, with no ingest running; p50/p99/max per query
#      against the DESIGN.md §7 targets.
# loadgen stamps every trace "now", so the data covers the load's wall-clock
# time: every query's since=24h holds all of it, and querybench gets the load
# window (-data-from/-data-to) to sample trace ids across it and to ask a
# narrow from/to window (1/24 of the data, as 1 h is of 24 h).
#
# Results: bench/results/query-DATE.json, and a markdown table on stdout
# ready for BENCHMARKS.md. Progress goes to stderr.
#
# Settings (environment):
#   LEVELS="1000000 10000000" K=50 WARMUP=3 SEED=1 TRACES=10 CONCURRENCY=4
#   PORT=14328 GRPC_PORT=14327 SETTLE=5 LOAD_TIMEOUT=3600 (seconds per level)
#   BUDGET=120s (per query, querybench -budget)  PROGRESS=5 (seconds between load progress lines)
#   LOUPE_ARGS="" extra flags for `loupe serve`
#   LOUPE_BIN=""  use this loupe binary instead of building ./cmd/loupe
#   KEEP_DATA=0   1 keeps the data directory (its path is printed)
# Smoke test: LEVELS=20000 K=5 bench/query.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LEVELS=${LEVELS:-"1000000 10000000"}
K=${K:-50}
WARMUP=${WARMUP:-3}
SEED=${SEED:-1}
TRACES=${TRACES:-10}
CONCURRENCY=${CONCURRENCY:-4}
PORT=${PORT:-14328}
GRPC_PORT=${GRPC_PORT:-14327}
SETTLE=${SETTLE:-5}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-3600}
BUDGET=${BUDGET:-120s}
PROGRESS=${PROGRESS:-5}
LOUPE_ARGS=${LOUPE_ARGS:-}
LOUPE_BIN=${LOUPE_BIN:-}
KEEP_DATA=${KEEP_DATA:-0}
VARIANTS=64 # loadgen's default pool; querybench derives its vocabulary from the same pool
COMMAND="LEVELS=\"$LEVELS\" K=$K WARMUP=$WARMUP SEED=$SEED TRACES=$TRACES CONCURRENCY=$CONCURRENCY bench/query.sh"

log() { printf '[query %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

command -v jq >/dev/null || die "jq is required (apt-get install jq)"
[[ "$K" =~ ^[1-9][0-9]*$ ]] || die "K=$K: want a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP=$WARMUP: want a non-negative integer"
[[ "$TRACES" =~ ^[1-9][0-9]*$ ]] || die "TRACES=$TRACES: want a positive integer"
[[ "$LOAD_TIMEOUT" =~ ^[1-9][0-9]*$ && "$LOAD_TIMEOUT" -le 3600 ]] || die "LOAD_TIMEOUT=$LOAD_TIMEOUT: want 1..3600 seconds"
prev=0
for level in $LEVELS; do
	[[ "$level" =~ ^[1-9][0-9]*$ ]] || die "LEVELS: $level is not a positive integer"
	((level > prev)) || die "LEVELS must ascend (they are cumulative span counts): $LEVELS"
	prev=$level
done
[[ "$prev" -gt 0 ]] || die "LEVELS is empty"

mkdir -p bench/bin bench/results
if [[ -z "$LOUPE_BIN" ]]; then
	log "building bench/bin/loupe"
	go build -o bench/bin/loupe ./cmd/loupe
	LOUPE_BIN=bench/bin/loupe
else
	COMMAND="LOUPE_BIN=$LOUPE_BIN $COMMAND"
fi
log "building bench/bin/loadgen, bench/bin/querybench"
go build -o bench/bin/loadgen ./bench/cmd/loadgen
go build -o bench/bin/querybench ./bench/cmd/querybench

work=$(mktemp -d "${TMPDIR:-/tmp}/loupe-query.XXXXXX")
data="$work/data"
logfile="$work/server.log"
server_pid=""
child_pid="" # the running loadgen or querybench
cleanup() {
	if [[ -n "$child_pid" ]] && kill -0 "$child_pid" 2>/dev/null; then
		kill -TERM "$child_pid" 2>/dev/null || true
		wait "$child_pid" 2>/dev/null || true
	fi
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [[ "$KEEP_DATA" == 1 ]]; then
		log "kept $work (data directory $data)"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_child CMD...: runs a tool in the background and waits for it, so that
# INT/TERM reach the traps at once (bash defers traps until a foreground
# child exits); cleanup stops it.
run_child() {
	"$@" &
	child_pid=$!
	local rc=0
	wait "$child_pid" || rc=$?
	child_pid=""
	return "$rc"
}

check_server() {
	kill -0 "$server_pid" 2>/dev/null || {
		tail -20 "$logfile" >&2
		die "server died"
	}
}

now_rfc3339() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }

# progress LEVEL LOADED_BEFORE: turns loadgen's per-second lines into a
# running total every PROGRESS seconds (an estimate: the sum of the
# per-second rates; the exact count comes from loadgen's JSON).
progress() {
	awk -v level="$1" -v before="$2" -v every="$PROGRESS" '
		/^loadgen: t=/ {
			line = $0
			sub(/^loadgen: t= */, "", line)
			n = split(line, f, / +/)
			t = f[1] + 0; rate = f[2] + 0; loaded += rate
			if (t % every == 0) {
				total = before + loaded
				printf "[query] level %d: ~%d spans stored (%.0f%%), %d spans/s, %ds into this load, %s\n",
					level, total, 100 * total / level, rate, t, f[n-1] " " f[n] > "/dev/stderr"
			}
			next
		}
		{ print > "/dev/stderr" }'
}

# write_results: (re)writes $out from the levels measured so far and the
# markdown table to $table.
write_results() {
	local cpu_model commit
	cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n "$(git status --porcelain 2>/dev/null | head -1)" ]]; then commit="$commit (dirty tree)"; fi
	jq -s --arg cmd "$COMMAND" --arg date "$date_tag" --arg nproc "$(nproc)" --arg cpu "$cpu_model" \
	--arg go "$(go version)" --arg kernel "$(uname -sr)" --arg commit "$commit" \
	--argjson k "$K" --argjson warmup "$WARMUP" --argjson traces "$TRACES" --argjson conc "$CONCURRENCY" --argjson seed "$SEED" '
	{date: $date, command: $cmd, commit: $commit,
	 machine: {nproc: ($nproc|tonumber), cpu: $cpu, go: $go, kernel: $kernel},
	 settings: {k: $k, warmup: $warmup, traces_per_request: $traces, load_concurrency: $conc, seed: $seed},
	 levels: (. as $ls | [range(0; length) as $i | $ls[$i] |
	   .disk_ratio = (([$ls[0:$i+1][].load.bytes_acked] | add) as $b | if $b > 0 then .disk_bytes / $b else null end)])}
	' "$levels_file" >"$out"

	jq -r '
	def n0: if . == null then "–" else (. | floor | tostring) end;
	def n2: if . == null then "–" else ((. * 100 | round) / 100 | tostring) end;
	def mib: if . == null then "–" else ((. / 1048576 * 10 | round) / 10 | tostring) + " MiB" end;
	def pct: if . == null then "–" else ((. * 1000 | round) / 10 | tostring) + "%" end;
	def res: (if .pass == null then "–" elif .pass then "pass" else "**FAIL**" end)
	         + (if .errors > 0 then " (\(.errors) errors)" else "" end)
	         + (if .wrong then " (wrong answer: \(.wrong))" else "" end);
	def lat(f): if .iterations == 0 then "–" else (f | n2) end;
	"### Query latency, standard workload (\(.date))",
	"",
	"Command: `\(.command)` (commit \(.commit))  ",
	"Machine: \(.machine.nproc) CPUs (`nproc`), \(.machine.cpu), \(.machine.kernel), \(.machine.go)  ",
	"Method: one `loupe serve --data` on loopback loaded by bench/bin/loadgen (\(.settings.load_concurrency) concurrent requests of \(.settings.traces_per_request) traces of 12 spans, trace timestamps = load time); per level, after the load and with no ingest running, bench/bin/querybench sends each query \(.settings.k) times after \(.settings.warmup) warm-ups, one at a time, over HTTP; latency = request sent to answer fully read. p99 is nearest-rank (with K=50 it is the maximum). A 1-minute load average well above 1 means other processes shared the 2 CPUs during the measurement.",
	"",
	"| spans stored | query | p50 ms | p99 ms | max ms | target (ms) | result | returned |",
	"|---:|---|---:|---:|---:|---|---|---:|",
	(.levels[] | . as $l | .queries[] |
	  "| \($l.level) | \(.name) | \(lat(.p50_ms)) | \(lat(.p99_ms)) | \(lat(.max_ms)) | \([.targets[]? | "\(.stat) ≤ \(.ms)"] | join(", ")) | \(res) | \(.returned) |"),
	"",
	"| spans stored | acked by loadgen | server counts (spans / traces, 24 h) | load spans/s | load time s | throttled | disk | disk / OTLP bytes | RSS after queries | peak RSS | load avg before / after queries |",
	"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
	(.levels[] | "| \(.level) | \(.stored_spans_acked) | \(.server_counts.spans) / \(.server_counts.traces) | \(.load.spans_per_sec|n0) | \(.load.seconds|n2) | \(.load.throttled) | \(.disk_bytes|mib) | \(.disk_ratio|pct) | \(.rss_mib_after_queries|n0) MiB | \(.peak_rss_mib|n0) MiB | \(.loadavg_during_queries | map(n2) | join(" / ")) |"),
	"",
	"Queries (vocabulary from the workload pool of \(.levels[0].vocabulary.pool_traces) distinct traces, seed \(.settings.seed)):",
	(.levels[0].queries[] | "- `\(.name)`: \(.description)" + (if .expect then "; expected matches: \(.expect)" else "" end) + "."),
	(.levels[] | . as $l | .queries[] | select(.first_error or ((.notes // []) | length > 0)) |
	  "- level \($l.level) `\(.name)`: " + ([(.notes // [])[], (if .first_error then "first error: \(.first_error)" else empty end)] | join("; ")))
' "$out" >"$table"
}

log "starting $LOUPE_BIN serve --data $data on 127.0.0.1:$PORT"
# shellcheck disable=SC2086 # LOUPE_ARGS is a list of flags
start_server "$logfile" "$LOUPE_BIN" serve --addr "127.0.0.1:$PORT" --grpc-addr "127.0.0.1:$GRPC_PORT" --data "$data" $LOUPE_ARGS
endpoint="http://127.0.0.1:$PORT"

date_tag=$(date -u +%Y-%m-%dT%H%M%SZ)
out="bench/results/query-$date_tag.json"
table="$work/table.md"
levels_file="$work/levels.jsonl"
: >"$levels_file"
data_from=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%S.%NZ)
loaded=0           # spans acked so far
spans_per_req=$((TRACES * 12)) # the workload's traces have 12 spans; refined after the first load

for level in $LEVELS; do
	loads="$work/loads-$level.jsonl"
	: >"$loads"
	t0=$(date +%s.%N)
	for attempt in 1 2 3; do
		((loaded < level)) || break
		need=$((level - loaded))
		reqs=$(((need + spans_per_req - 1) / spans_per_req))
		log "level $level: loading $need spans ($reqs requests of $TRACES traces, concurrency $CONCURRENCY, attempt $attempt)"
		result="$work/loadgen-$level-$attempt.json"
		if ! run_child bench/bin/loadgen -endpoint "$endpoint" -duration "${LOAD_TIMEOUT}s" -max-requests "$reqs" \
			-concurrency "$CONCURRENCY" -traces-per-request "$TRACES" -seed "$SEED" -variants "$VARIANTS" -json \
			>"$result" 2> >(progress "$level" "$loaded"); then
			die "loadgen failed"
		fi
		check_server
		jq -c . "$result" >>"$loads"
		acked=$(jq '.acked_spans' "$result")
		loaded=$((loaded + acked))
		if [[ $(jq '.acked_requests' "$result") -gt 0 ]]; then
			spans_per_req=$(jq '(.acked_spans / .acked_requests) | floor' "$result")
		fi
		log "level $level: $(jq -r '"acked \(.acked_spans) spans in \(.seconds*10|round/10) s: \(.spans_per_sec|floor) spans/s, p99 \(.p99_ms) ms, throttled \(.throttled), errors \(.errors)"' "$result"); $loaded stored"
	done
	t1=$(date +%s.%N)
	((loaded >= level)) || log "warning: level $level: only $loaded spans stored after 3 loads"
	data_to=$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%S.%NZ)

	log "level $level: settling ${SETTLE}s"
	sleep "$SETTLE"
	check_server
	disk=$(du -sb "$data" | cut -f1)
	rss_loaded=$(proc_kib "$server_pid" VmRSS)

	log "level $level: querybench (K=$K after $WARMUP warm-ups per query)"
	qb="$work/querybench-$level.json"
	if ! run_child bench/bin/querybench -endpoint "$endpoint" -k "$K" -warmup "$WARMUP" -seed "$SEED" -variants "$VARIANTS" \
		-traces-per-request "$TRACES" -level "$level" -data-from "$data_from" -data-to "$data_to" \
		-budget "$BUDGET" -json >"$qb"; then
		die "querybench failed"
	fi
	check_server
	rss_after=$(proc_kib "$server_pid" VmRSS)
	hwm=$(proc_kib "$server_pid" VmHWM)

	jq -s -c --argjson level "$level" --argjson loaded "$loaded" --argjson disk "$disk" \
		--argjson rss_loaded "$rss_loaded" --argjson rss_after "$rss_after" --argjson hwm "$hwm" \
		--argjson secs "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" \
		--arg from "$data_from" --arg to "$data_to" --slurpfile qb "$qb" '
		{level: $level, stored_spans_acked: $loaded,
		 load: {seconds: $secs, acked_spans: (map(.acked_spans) | add),
		        spans_per_sec: (if $secs > 0 then (map(.acked_spans) | add) / $secs else null end),
		        loadgen_runs: length, throttled: (map(.throttled) | add), errors: (map(.errors) | add),
		        p99_ms: (map(.p99_ms) | max), loadgen_cpu_seconds: (map(.cpu_seconds) | add),
		        bytes_acked: (map(.bytes_acked) | add), first_error: (map(.first_error // empty) | first)},
		 data_from: $from, data_to: $to,
		 disk_bytes: $disk,
		 rss_mib_after_load: ($rss_loaded / 1024), rss_mib_after_queries: ($rss_after / 1024), peak_rss_mib: ($hwm / 1024),
		 server_counts: {spans: $qb[0].stored_spans, traces: $qb[0].stored_traces},
		 loadavg_during_queries: [$qb[0].loadavg_before, $qb[0].loadavg_after],
		 vocabulary: $qb[0].vocabulary, queries: $qb[0].queries}' "$loads" >>"$levels_file"
	log "level $level: disk $disk B, RSS $((rss_after / 1024)) MiB (peak $((hwm / 1024)) MiB)"
	write_results
	log "wrote $out (levels so far)"
done

log "stopping the server"
kill -TERM "$server_pid"
stop_rc=0
wait "$server_pid" || stop_rc=$?
server_pid=""
[[ "$stop_rc" == 0 ]] || {
	log "warning: server exited $stop_rc after SIGTERM; last lines of its log:"
	tail -20 "$logfile" >&2
}

write_results
log "wrote $out"
cat "$table"
