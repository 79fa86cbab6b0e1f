#!/usr/bin/env bash
# Regenerates THIRD_PARTY_NOTICES from the modules linked into ./cmd/loupe
# and the data files shipped in the binary. Run after changing dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "loupe includes third-party software and data. Their notices follow."
  echo
  echo "================================================================================"
  echo "Model price table: internal/pricing/data/data.json"
  echo "pydantic/genai-prices, prices/new_data/v2/data.json at commit 47df840a5ab10bbcffb8e5ac01b9899032245d1b"
  echo "--------------------------------------------------------------------------------"
  cat internal/pricing/data/LICENSE
  go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/loupe | grep -v '^github.com/loupehq/' | sort -u |
  while read -r path version dir; do
    lic=$(ls "$dir" 2>/dev/null | grep -iE '^(licen[cs]e|copying)(\.md|\.txt)?$' | head -n 1 || true)
    echo
    echo "================================================================================"
    echo "$path $version"
    echo "--------------------------------------------------------------------------------"
    if [[ -n "$lic" ]]; then cat "$dir/$lic"; else echo "(no licence file found in the module; see its repository)"; fi
  done
} > THIRD_PARTY_NOTICES
echo "THIRD_PARTY_NOTICES: $(grep -c '^====' THIRD_PARTY_NOTICES) entries" >&2
