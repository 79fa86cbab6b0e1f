# Shell helpers shared by the benchmark scripts (ingest.sh, query.sh).
# Sourced after the script has defined die; sets and reads server_pid.

# start_server LOGFILE CMD... starts a server in the background, sets
# server_pid, and waits until it logs "listening" (or dies, or 120 s pass).
start_server() {
	local logfile=$1
	shift
	"$@" 2>"$logfile" >/dev/null &
	server_pid=$!
	for _ in $(seq 1 1200); do
		if grep -q 'listening' "$logfile" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			wait "$server_pid" || true
			server_pid=""
			cat "$logfile" >&2
			die "server exited before listening: $*"
		fi
		sleep 0.1
	done
	cat "$logfile" >&2
	die "server did not log 'listening' within 120 s: $*"
}

# proc_kib PID FIELD prints a /proc/PID/status memory field in KiB
# (VmRSS, VmHWM, ...).
proc_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
