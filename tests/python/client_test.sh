#!/usr/bin/env bash
# The Python client against the real services: starts the three services
# with mTLS dev certificates and a small synthetic population, installs
# clients/python into a fresh venv offline (Debian's Python packages only,
# the README's command), then runs tests/python/client_test.py in it: the
# whole provider -> linkage -> count -> audit pipeline, notebook style, and
# the negative cases.
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

# Install as a user would, from a copy so the checkout stays clean (setup.py
# generates the stubs from proto/ while it builds).
cp -r "$root/clients/python" "$run/client-src"
rm -rf "$run/client-src/build" "$run/client-src/trelink_client/_proto" "$run/client-src"/*.egg-info
/usr/bin/python3 -m venv --system-site-packages "$run/venv"
TRELINK_PROTO_DIR=$root/proto "$run/venv/bin/pip" install --quiet --no-build-isolation --no-index "$run/client-src"

cd "$run"  # nothing of the checkout on sys.path: the installed package is what runs
TRELINK_RUN_DIR=$run TRELINK_ROOT=$root TRELINK_BIN=$TRELINK_BIN \
  TRELINK_PSEUDONYMISER=127.0.0.1:$(cat "$run/pseudonymiser.port") \
  TRELINK_LINKER=127.0.0.1:$(cat "$run/linker.port") \
  TRELINK_AGGREGATOR=127.0.0.1:$(cat "$run/aggregator.port") \
  "$run/venv/bin/python" "$root/tests/python/client_test.py" -v
