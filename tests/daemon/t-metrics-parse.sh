#!/usr/bin/env bash
# tests/daemon/t-metrics-parse.sh FIXTURE CHECK.py — /metrics of the fixture state through a
# real Prometheus text parser.  Skips (77) when no python3 has prometheus_client
# (Debian: python3-prometheus-client, in scripts/install-deps).
set -euo pipefail
fixture=$1
check=$2
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "metrics-parse: no python3 with prometheus_client: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fixture" metrics >"$tmp/metrics"
"$py" "$check" "$tmp/metrics"
