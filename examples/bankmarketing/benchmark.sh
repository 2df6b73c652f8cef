#!/usr/bin/env bash
# Load-test an online endpoint with Apache Bench (ab), as the Azure ML docs do.
#
#   ./benchmark.sh [ENDPOINT_NAME]          # default bankmarketing-endpoint
#   N=5000 C=16 ./benchmark.sh              # requests and concurrency (default 2000, 8)
#   SCORING_URI=... KEY=... ./benchmark.sh  # any endpoint, local or Azure
#
# Needs ab: sudo apt-get install apache2-utils. Scoring URI and key come from
# `automl-local online-endpoint show/get-credentials` unless given. Note that ab
# takes the key on its command line (visible to `ps` on this machine).
set -euo pipefail

ENDPOINT="${1:-bankmarketing-endpoint}"
N="${N:-2000}"
C="${C:-8}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REQUEST="${REQUEST:-$HERE/sample-request.json}"
CLI="${AUTOML_LOCAL:-automl-local}"
PYTHON="${PYTHON:-python3}"

if ! command -v ab >/dev/null 2>&1; then
  echo "error: ab (Apache Bench) is not installed: sudo apt-get install apache2-utils" >&2
  exit 2
fi

json_field() { "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

if [[ -z "${SCORING_URI:-}" ]]; then
  SCORING_URI="$("$CLI" online-endpoint show --name "$ENDPOINT" -o json | json_field scoring_uri)"
fi
if [[ -z "${KEY:-}" ]]; then
  KEY="$("$CLI" online-endpoint get-credentials --name "$ENDPOINT" | json_field primaryKey)"
fi

echo "ab: $N requests, concurrency $C, keep-alive, $SCORING_URI" >&2
# -k keep-alive (clients reuse connections); drop it to include connection set-up.
ab -k -n "$N" -c "$C" -T application/json -H "Authorization: Bearer $KEY" \
   -p "$REQUEST" "$SCORING_URI"
