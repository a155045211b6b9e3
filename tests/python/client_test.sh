#!/usr/bin/env bash
# Starts the three services with a small synthetic population, ingests and
# links it, then runs the Python client's tests against the aggregator.
#   tests/python/client_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: client_test.sh BUILD_DIR}" && pwd)
export TRELINK_BIN=$build/services
run=$(mktemp -d)
ctl="$root/deploy/trelinkctl"
trap '"$ctl" stop "$run" >/dev/null 2>&1 || true; rm -rf "$run"' EXIT
"$ctl" init "$run" >/dev/null
mkdir -p "$run/population"
"$TRELINK_BIN/trelink-synth" --mothers 1500 --seed 4 --out "$run/population" >/dev/null
"$ctl" start "$run" >/dev/null
tls() { echo --ca "$run/certs/ca.pem" --cert "$run/certs/$1.pem" --key "$run/certs/$1.key"; }
for pair in maternity:provider.maternity social_care:provider.social-care court:provider.court; do
  # shellcheck disable=SC2046
  "$TRELINK_BIN/trelink-cli" ingest --pseudonymiser "127.0.0.1:$(cat "$run/pseudonymiser.port")" \
    --linker "127.0.0.1:$(cat "$run/linker.port")" $(tls "${pair#*:}") --catalogue "$run/config/catalogue.textproto" \
    --project demo --dataset "${pair%%:*}" --csv "$run/population/${pair%%:*}.csv" >/dev/null
done
# shellcheck disable=SC2046
"$TRELINK_BIN/trelink-cli" link --linker "127.0.0.1:$(cat "$run/linker.port")" --project demo $(tls linkage-admin) >/dev/null
TRELINK_RUN_DIR=$run TRELINK_AGGREGATOR=127.0.0.1:$(cat "$run/aggregator.port") \
  TRELINK_QUERIES=$root/deploy/queries PYTHONPATH="$build/clients/python:$root/clients/python" \
  /usr/bin/python3 "$root/tests/python/client_test.py" -v
