#!/usr/bin/env bash
# The whole test suite of loupe, set-up included: `make test` runs this, and
# so does CI (.ci/run). On a fresh machine it installs what the tests need.
#
# Explicit opt-outs for local iteration (CI=true refuses them all):
#   LOUPE_SKIP_FUZZ=1   skip the short fuzzing pass
#   LOUPE_SKIP_RACE=1   run go test without -race
#   LOUPE_SKIP_BROWSER=1 skip the browser tests of the web UI (TestBrowser)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${LOUPE_FUZZTIME:-8s}
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

log() { printf '\n== %s\n' "$*" >&2; }

if [[ "${CI:-}" == "true" ]]; then
  for v in LOUPE_SKIP_FUZZ LOUPE_SKIP_RACE LOUPE_SKIP_BROWSER; do
    if [[ -n "${!v:-}" ]]; then
      echo "test.sh: $v is set, but CI never opts out of a suite" >&2
      exit 2
    fi
  done
fi

log "set-up: toolchain and system packages"
missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v g++ >/dev/null || missing+=(g++)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (cgo for the embedded DuckDB)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
go version
go mod download

# Browser tests (cmd/loupe/browser_test.go): Debian's chromium driven by
# playwright-core, installed from the committed lockfile.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "installing chromium (browser tests of the web UI)" >&2
  sudo=
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test.sh: the browser tests need Node.js 20 or later with npm (playwright-core requires it)" >&2
  exit 1
fi
node --version
if [[ ! -d e2e/browser/node_modules || e2e/browser/package-lock.json -nt e2e/browser/node_modules ]]; then
  npm ci --prefix e2e/browser --no-audit --no-fund
fi

log "format"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed on:" >&2
  echo "$unformatted" >&2
  exit 1
fi

# Two modules: the server (root) and the SDK (sdk/, its own go.mod so that
# applications do not inherit the server's dependencies).
MODULES=(. sdk)

for m in "${MODULES[@]}"; do
  log "go vet ($m)"
  (cd "$m" && go vet ./...)
  log "staticcheck ($m)"
  (cd "$m" && go run "$STATICCHECK" ./...)
done

passed=0
failed=0
count() { # count go test package results in a log file
  local p f
  p=$(grep -cE '^ok[[:space:]]' "$1" || true)
  f=$(grep -cE '^(FAIL|---[[:space:]]FAIL)[[:space:]]' "$1" || true)
  passed=$((passed + p))
  failed=$((failed + f))
}

log "go test"
race=-race
if [[ -n "${LOUPE_SKIP_RACE:-}" ]]; then
  echo "OPT-OUT: LOUPE_SKIP_RACE is set: running without -race" >&2
  race=
fi
out=$(mktemp)
status=0
for m in "${MODULES[@]}"; do
  (cd "$m" && go test $race -count=1 -timeout 20m ./...) 2>&1 | tee -a "$out" || status=1
done

if [[ -n "${LOUPE_SKIP_FUZZ:-}" ]]; then
  echo "OPT-OUT: LOUPE_SKIP_FUZZ is set: the fuzzing pass is skipped" >&2
else
  log "fuzz (each target for $FUZZTIME)"
  while IFS=: read -r file name; do
    dir=$(dirname "$file")
    mod=.
    if [[ "$dir" == ./sdk || "$dir" == ./sdk/* ]]; then mod=sdk; dir=./${dir#./sdk/}; [[ "$dir" == ././sdk ]] && dir=.; fi
    echo "fuzz $mod $dir $name" >&2
    flog=$(mktemp)
    fuzz_ok=0
    for attempt in 1 2; do
      if (cd "$mod" && go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$dir") >"$flog" 2>&1; then
        fuzz_ok=1
        break
      fi
      # Go 1.26's fuzz coordinator can report "context deadline exceeded" at
      # the -fuzztime boundary without any failing input (golang/go#75804,
      # fixed in Go 1.27): that alone is retried once, anything else fails.
      if grep -q 'context deadline exceeded' "$flog" && ! grep -qE 'Failing input written|panic:' "$flog"; then
        echo "fuzz $name: deadline race at the -fuzztime boundary (golang/go#75804), no failing input; retrying once" >&2
        continue
      fi
      break
    done
    if ((fuzz_ok)); then
      tail -n 2 "$flog"
    else
      status=1
      grep -v 'fuzz: elapsed' "$flog" | tail -n 60
    fi
    cat "$flog" >>"$out"
    rm -f "$flog"
  done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | grep -v node_modules | sed -E 's/:func /:/' | sort -u)
fi
count "$out"

echo
echo "packages: $passed passed, $failed failed"
rm -f "$out"
exit "$status"
