#!/usr/bin/env bash
# The demo that `./trelink demo` runs after building: a local deployment with
# dev certificates, the pseudonymiser and the linker on loopback with mTLS and
# the embedded SQLite store, a synthetic population ingested by its three
# providers, and a linkage run.
#
#   deploy/demo.sh [--out DIR] [--mothers N] [--seed S]
#   (defaults: DIR run/demo, N 30000 — about 100,000 records — S 1)
#
# Then an analyst runs the questions Q1-Q7 (deploy/queries) through the
# aggregator, each table shown with the true value beside every cell (from
# the synthetic ground truth, for evaluation only), and an auditor fetches
# and verifies the disclosure log offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$root/run/demo
mothers=30000
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --mothers) mothers=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=${TRELINK_BIN:-$root/build/services}
ctl="$here/trelinkctl"
started=$(date +%s)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
tls() { echo --ca "$out/certs/ca.pem" --cert "$out/certs/$1.pem" --key "$out/certs/$1.key"; }
trap '"$ctl" stop "$out" >/dev/null 2>&1 || true' EXIT

step "1. Dev certificates (throw-away CA, one per service and role), keys and configs"
rm -f "$out/data/linked.db"*
"$ctl" init "$out"

step "2. A synthetic population with realistic identifier errors (seed $seed)"
mkdir -p "$out/population"
"$bin/trelink-synth" --mothers "$mothers" --seed "$seed" --out "$out/population"

step "3. Start the pseudonymiser, the linker and the aggregator (mTLS on loopback ports)"
rm -f "$out/data/disclosure.log"*
"$ctl" start "$out"
pseudonymiser=127.0.0.1:$(cat "$out/pseudonymiser.port")
linker=127.0.0.1:$(cat "$out/linker.port")
aggregator=127.0.0.1:$(cat "$out/aggregator.port")

# Project demo receives maternity as two monthly extracts: October holds
# the first 90% of the rows; November the rest and a correction of M1.
mkdir -p "$out/extracts"
maternity=$out/population/maternity.csv
october_rows=$(( ($(wc -l <"$maternity") - 1) * 9 / 10 ))
head -n $(( october_rows + 1 )) "$maternity" >"$out/extracts/maternity-2026-10.csv"
{
  head -n 1 "$maternity"
  tail -n +$(( october_rows + 2 )) "$maternity"
  # The provider fixes the case of the baby's given name on record M1.
  awk -F, -v OFS=, 'NR == 2 { $8 = toupper($8); print }' "$maternity"
} >"$out/extracts/maternity-2026-11.csv"

step "4. Each provider sends identifiers to the pseudonymiser and sealed keys + content to the linker"
echo "  (project demo answers in sdc mode and gets maternity's October extract now; project demo-dp, in"
echo "   dp mode, gets every file whole)"
ingest() {  # project dataset provider csv extract
  # shellcheck disable=SC2046
  "$bin/trelink-cli" ingest --pseudonymiser "$pseudonymiser" --linker "$linker" $(tls "$3") \
    --catalogue "$out/config/catalogue.textproto" --project "$1" --dataset "$2" --csv "$4" --extract "$5"
}
ingest demo maternity provider.maternity "$out/extracts/maternity-2026-10.csv" 2026-10
for project in demo demo-dp; do
  for pair in maternity:provider.maternity social_care:provider.social-care court:provider.court; do
    dataset=${pair%%:*} provider=${pair#*:}
    [ "$project/$dataset" = demo/maternity ] && continue
    ingest "$project" "$dataset" "$provider" "$out/population/$dataset.csv" 2026-10
  done
done

step "5. Sending an extract again stores nothing twice (batch ids name the extract)"
ingest demo court provider.court "$out/population/court.csv" 2026-10 | grep "^  linker"

step "6. The linkage admin runs linkage (the linker never sees an identifier)"
# shellcheck disable=SC2046
"$bin/trelink-cli" link --linker "$linker" --project demo $(tls linkage-admin)
# shellcheck disable=SC2046
"$bin/trelink-cli" link --linker "$linker" --project demo-dp $(tls linkage-admin) | tail -1
true_persons=$(tail -n +2 "$out/population/truth.csv" | cut -d, -f4 | sort -u | wc -l)
echo "  ground truth (evaluation only): $true_persons distinct persons"

echo "  what analysts see of it, as metadata of the generation their counts come from:"
# shellcheck disable=SC2046
"$bin/trelink-cli" catalogue --aggregator "$aggregator" --project demo $(tls analyst) | sed -n '/^project demo/,$p'

step "6b. Month two in project demo: November's extract, a withdrawal and the national data opt-out"
ingest demo maternity provider.maternity "$out/extracts/maternity-2026-11.csv" 2026-11 | grep -E "^  (linker|corrections)"
echo "  the provider withdraws records M5 and M6 (by record id; the linker sees only keyed hashes of ids):"
printf 'record_id\nM5\nM6\n' >"$out/extracts/withdraw.csv"
# shellcheck disable=SC2046
"$bin/trelink-cli" withdraw --pseudonymiser "$pseudonymiser" --linker "$linker" $(tls provider.maternity) \
  --project demo --dataset maternity --csv "$out/extracts/withdraw.csv"
echo "  the TRE applies the national data opt-out list (NHS numbers of three mothers, keyed like any identifier):"
{
  echo nhs_number
  awk -F, 'NR > 1 && $2 != "" && !seen[$2]++ { print $2; if (++n == 3) exit }' "$out/extracts/maternity-2026-10.csv"
} >"$out/extracts/opt-out.csv"
# shellcheck disable=SC2046
"$bin/trelink-cli" opt-out --pseudonymiser "$pseudonymiser" --linker "$linker" $(tls linkage-admin) \
  --project demo --csv "$out/extracts/opt-out.csv" --list_version 2026-11
echo "  linking again, incrementally: only the new, corrected and withdrawn records and the persons they touch are linked; persons keep their ids (lineage), opted-out persons' records leave the generation"
# shellcheck disable=SC2046
"$bin/trelink-cli" link --linker "$linker" --project demo $(tls linkage-admin) | grep -E "^linkage generation|^  records|^  incremental|person ids|opt-out"
echo "  (the true values beside the tables below count everyone: before the withdrawal and the opt-out)"

step "7. The analyst asks Q1-Q7 in project demo (sdc mode: rules and a release audit); every answer is logged first"
"$bin/trelink-truth" --population "$out/population" --catalogue "$out/config/catalogue.textproto" \
  --out "$out/truth" "$root"/deploy/queries/*.textproto
mkdir -p "$out/tables"
for query in "$root"/deploy/queries/*.textproto; do
  name=$(basename "$query" .textproto)
  echo
  # shellcheck disable=SC2046
  "$bin/trelink-cli" query --aggregator "$aggregator" $(tls analyst) --query "$query" \
    --truth "$out/truth/$name.truth.csv"
  # shellcheck disable=SC2046
  "$bin/trelink-cli" query --aggregator "$aggregator" $(tls analyst) --query "$query" --format csv \
    >"$out/tables/$name.csv"
done

step "8. The same questions in project demo-dp (dp mode: noise, a privacy budget kept in the log)"
for query in "$root"/deploy/queries/*.textproto; do
  name=$(basename "$query" .textproto)
  echo
  # shellcheck disable=SC2046
  "$bin/trelink-cli" query --aggregator "$aggregator" $(tls analyst) --project demo-dp --query "$query" \
    --truth "$out/truth/$name.truth.csv"
done
echo
echo "  Q1 asked again: the earlier noisy answer, at no cost (nothing to average away)"
# shellcheck disable=SC2046
"$bin/trelink-cli" query --aggregator "$aggregator" $(tls analyst) --project demo-dp \
  --query "$root/deploy/queries/q1_maternal_deaths_social_care.textproto" --format csv
# shellcheck disable=SC2046
"$bin/trelink-cli" catalogue --aggregator "$aggregator" --project demo-dp $(tls analyst) | grep "privacy budget"

step "9. A differencing attempt in project demo: births in 2019, then births in 2019 but the last day"
cat >"$out/births_2019.textproto" <<'QUERY'
project: "demo" name: "births 2019"
cohort { dataset: "maternity" events: "birth" role: "baby" from_date: "2019-01-01" to_date: "2019-12-31" }
QUERY
sed 's/2019-12-31/2019-12-30/; s/births 2019/births 2019 but 31 December/' "$out/births_2019.textproto" \
  >"$out/births_2019_but_one_day.textproto"
for query in births_2019 births_2019_but_one_day; do
  # shellcheck disable=SC2046
  "$bin/trelink-cli" query --aggregator "$aggregator" $(tls analyst) --query "$out/$query.textproto"
done
echo "  (the second differs from the first by the births of one day: the release audit withholds it)"

step "10. An auditor fetches the disclosure log and verifies it offline with the pinned key"
mkdir -p "$out/audit"
# shellcheck disable=SC2046
"$bin/trelink-audit" fetch --aggregator "$aggregator" $(tls auditor) --out "$out/audit"
"$bin/trelink-audit" verify --log "$out/audit/disclosure.log" --checkpoint "$out/audit/checkpoint" \
  --pubkey "$out/keys/log.pub"

step "11. An analyst may not link (roles come from the client certificate)"
# shellcheck disable=SC2046
if "$bin/trelink-cli" link --linker "$linker" --project demo $(tls analyst) 2>"$out/logs/denied.txt"; then
  echo "unexpected: the analyst was allowed" >&2
  exit 1
fi
sed 's/^.*error: /refused as expected: /' "$out/logs/denied.txt"

step "12. Stop the services"
"$ctl" stop "$out"
trap - EXIT
echo
echo "Demo finished in $(( $(date +%s) - started )) s. Run directory: $out (logs in $out/logs)."
