#!/usr/bin/env bash
# deploy/backup.sh against the real services: state made by ingest, link and
# a query; a backup taken while they serve; the state wiped and restored;
# the services restarted. The restored files must equal the stopped
# services' files, and through the services: the same linkage generation and
# report, a log that verifies with the auditor and has every entry, and the
# same answer to the same query (the release audit still knows every
# earlier release: a lost release history would answer it afresh).
#   tests/deploy/backup_restore_test.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: backup_restore_test.sh BUILD_DIR}" && pwd)
export TRELINK_BIN=$build/services
bin=$TRELINK_BIN ctl=$src/deploy/trelinkctl
work=$(mktemp -d)
run=$work/run
trap '"$ctl" stop "$run" >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
tls() { echo --ca "$run/certs/ca.pem" --cert "$run/certs/$1.pem" --key "$run/certs/$1.key"; }
addr() { echo "127.0.0.1:$(cat "$run/$1.port")"; }
# shellcheck disable=SC2046
query() { "$bin/trelink-cli" query --aggregator "$(addr aggregator)" $(tls analyst) --format json \
  --query "$src/deploy/queries/q3_newborn_proceedings_by_region.textproto"; }
# shellcheck disable=SC2046
report() { "$bin/trelink-cli" report --linker "$(addr linker)" --project demo $(tls linkage-admin); }
# shellcheck disable=SC2046
log_entries() {
  rm -rf "$work/audit"
  "$bin/trelink-audit" fetch --aggregator "$(addr aggregator)" --out "$work/audit" $(tls auditor) >/dev/null
  "$bin/trelink-audit" verify --log "$work/audit/disclosure.log" --checkpoint "$work/audit/checkpoint" \
    --pubkey "$run/keys/log.pub" --json >"$work/verify.json" || fail "the log does not verify: $(cat "$work/verify.json")"
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"])' "$work/verify.json"
}
snapshot() {  # snapshot NAME: the state files' contents, services stopped
  mkdir -p "$work/$1"
  sqlite3 "$run/data/linked.db" .dump >"$work/$1/linked.sql"
  sqlite3 "$run/data/disclosure.log.releases" .dump >"$work/$1/releases.sql"
  cp "$run/data/disclosure.log" "$work/$1/disclosure.log"
}

"$ctl" init "$run" >/dev/null
mkdir "$work/population"
"$bin/trelink-synth" --mothers 150 --seed 11 --out "$work/population" >/dev/null
"$ctl" start "$run" >/dev/null
for pair in maternity:provider.maternity social_care:provider.social-care court:provider.court; do
  # shellcheck disable=SC2046
  "$bin/trelink-cli" ingest --pseudonymiser "$(addr pseudonymiser)" --linker "$(addr linker)" $(tls "${pair#*:}") \
    --catalogue "$run/config/catalogue.textproto" --project demo --dataset "${pair%%:*}" \
    --csv "$work/population/${pair%%:*}.csv" >/dev/null
done
# shellcheck disable=SC2046
"$bin/trelink-cli" link --linker "$(addr linker)" --project demo $(tls linkage-admin) >/dev/null
report >"$work/report.before"
grep -q "generation" "$work/report.before" || fail "the report names no generation: $(head -5 "$work/report.before")"
# The aggregator picks up the new generation within refresh_seconds; its
# first answer on it is what must survive the restore.
for _ in $(seq 1 100); do
  query >"$work/answer.before" && grep -q '"generation"' "$work/answer.before" && break
  sleep 0.1
done
grep -q '"count"' "$work/answer.before" || fail "no count released: $(cat "$work/answer.before")"
# Asked again, the release audit answers in the light of the first release.
query >"$work/repeat.before"
entries_before=$(log_entries)
[ "$entries_before" -ge 1 ] || fail "the log is empty"

"$src/deploy/backup.sh" backup --config "$run/config/aggregator.textproto" --out "$work/backup" \
  --pubkey "$run/keys/log.pub" >/dev/null
"$ctl" stop "$run" >/dev/null
snapshot stopped

# A restore never overwrites: the old state must be moved away first.
if "$src/deploy/backup.sh" restore --config "$run/config/aggregator.textproto" --from "$work/backup" >/dev/null 2>&1; then
  fail "restore overwrote live state"
fi
rm -rf "$run/data"
mkdir -m 0700 "$run/data"
# A backup whose files were altered is refused.
cp -r "$work/backup" "$work/tampered"
printf 'x' >>"$work/tampered/releases.db"
if "$src/deploy/backup.sh" restore --config "$run/config/aggregator.textproto" --from "$work/tampered" >/dev/null 2>&1; then
  fail "a tampered backup was restored"
fi
"$src/deploy/backup.sh" restore --config "$run/config/aggregator.textproto" --from "$work/backup" \
  --pubkey "$run/keys/log.pub" >/dev/null
snapshot restored
for file in linked.sql releases.sql disclosure.log; do
  cmp -s "$work/stopped/$file" "$work/restored/$file" || fail "$file differs after the restore"
done
[ "$(stat -c %a "$run/data/linked.db")" = 600 ] || fail "restored store mode $(stat -c %a "$run/data/linked.db")"

"$ctl" start "$run" >/dev/null
report >"$work/report.after"
cmp -s "$work/report.before" "$work/report.after" || fail "the linkage report changed: $(diff "$work/report.before" "$work/report.after")"
[ "$(log_entries)" = "$entries_before" ] || fail "the log has $(log_entries) entries, not $entries_before"
query >"$work/repeat.after"
# The same cells, generation and policy; only the log index moves on.
strip() { sed 's/,"log_index":[0-9]*//' "$1"; }
[ "$(strip "$work/repeat.before")" = "$(strip "$work/repeat.after")" ] ||
  fail "the query answers differently after the restore: $(diff "$work/repeat.before" "$work/repeat.after")"
[ "$(log_entries)" = $((entries_before + 1)) ] || fail "the repeated query was not logged after the restored entries"
echo "backup while serving, wipe, restore and restart: state identical"
