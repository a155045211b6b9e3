#!/usr/bin/env bash
# The demo that `./trelink demo` runs after building: a local deployment with
# dev certificates, the pseudonymiser on loopback with mTLS, and the sample
# datasets pseudonymised and sealed for the linker.
#
#   deploy/demo.sh [--out DIR]     (default DIR: run/demo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$root/run/demo
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=${TRELINK_BIN:-$root/build/services}
ctl="$here/trelinkctl"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trap '"$ctl" stop "$out" >/dev/null 2>&1 || true' EXIT

step "1. Dev certificates (throw-away CA, one certificate per service and role) and keys"
"$ctl" init "$out"

step "2. Start the pseudonymiser (mTLS on a loopback port)"
"$ctl" start "$out" pseudonymiser
port=$(cat "$out/pseudonymiser.port")

step "3. Providers pseudonymise their identifiers; results are sealed for the linker"
for pair in maternity:provider.maternity social_care:provider.social-care court:provider.court; do
  dataset=${pair%%:*} provider=${pair#*:}
  "$bin/trelink-cli" pseudonymise --server "127.0.0.1:$port" \
    --ca "$out/certs/ca.pem" --cert "$out/certs/$provider.pem" --key "$out/certs/$provider.key" \
    --project demo --dataset "$dataset" --csv "$here/sample/$dataset.csv" --out "$out/$dataset.sealed"
done

step "4. Key information (versions and linker key fingerprint; never key material)"
"$bin/trelink-cli" key-info --server "127.0.0.1:$port" --project demo \
  --ca "$out/certs/ca.pem" --cert "$out/certs/linkage-admin.pem" --key "$out/certs/linkage-admin.key"

step "5. An analyst may not pseudonymise (role checked from the client certificate)"
if "$bin/trelink-cli" pseudonymise --server "127.0.0.1:$port" \
  --ca "$out/certs/ca.pem" --cert "$out/certs/analyst.pem" --key "$out/certs/analyst.key" \
  --project demo --dataset maternity --csv "$here/sample/maternity.csv" --out /dev/null 2>"$out/logs/denied.txt"; then
  echo "unexpected: the analyst was allowed" >&2
  exit 1
fi
sed 's/^.*error: /refused as expected: /' "$out/logs/denied.txt"

step "6. Stop the services"
"$ctl" stop "$out"
trap - EXIT
echo
echo "Sealed batches are in $out/*.sealed; service logs in $out/logs/."
