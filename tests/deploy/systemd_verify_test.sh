#!/usr/bin/env bash
# The shipped systemd deployment, checked without a running systemd:
# `cmake --install` and deploy/systemd/install.sh into a scratch root, then
# the users and state directories they made, then `systemd-analyze verify
# --root` of the installed units (any warning fails: systemd ignores a line
# it cannot parse and starts the service without it). A broken copy of a
# unit must fail the same check, so the check itself is known to bite.
#   tests/deploy/systemd_verify_test.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: systemd_verify_test.sh BUILD_DIR}" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$root/usr/local" >/dev/null
"$src/deploy/systemd/install.sh" --root "$root" >"$root.log" 2>&1 || { cat "$root.log"; fail "install.sh"; }
rm -f "$root.log"
# The units systemd ships (sysinit.target, network-online.target, ...), which
# verify loads from the root too.
mkdir -p "$root/usr/lib/systemd"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"

# One user per service, the linker and the aggregator sharing trelink-store.
uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$root/etc/passwd"; }
gid() { awk -F: -v g="$1" '$1 == g { print $3 }' "$root/etc/group"; }
for service in pseudonymiser linker aggregator; do
  [ -n "$(uid "trelink-$service")" ] || fail "no user trelink-$service"
done
[ "$(sort -u <(uid trelink-pseudonymiser; uid trelink-linker; uid trelink-aggregator) | wc -l)" = 3 ] ||
  fail "services share a uid"
members=$(awk -F: '$1 == "trelink-store" { print $4 }' "$root/etc/group")
[ "$members" = "trelink-aggregator,trelink-linker" ] || fail "trelink-store members: '$members'"

# The shared store: setgid directory and a database the aggregator can open.
expect_stat() {  # expect_stat PATH MODE UID GID
  local got
  got=$(stat -c '%a %u %g' "$root$1")
  [ "$got" = "$2 $3 $4" ] || fail "$1 is '$got', expected '$2 $3 $4'"
}
expect_stat /var/lib/trelink-linker 2770 "$(uid trelink-linker)" "$(gid trelink-store)"
expect_stat /var/lib/trelink-linker/linked.db 660 "$(uid trelink-linker)" "$(gid trelink-store)"
for service in pseudonymiser linker aggregator; do
  expect_stat "/etc/trelink/$service" 700 "$(uid "trelink-$service")" "$(gid "trelink-$service")"
  expect_stat "/etc/trelink/$service/$service.textproto" 600 "$(uid "trelink-$service")" "$(gid "trelink-$service")"
done

verify() {  # verify UNIT_FILE...: systemd-analyze verify, silent and exit 0
  local out
  if ! out=$(systemd-analyze verify --root="$root" --man=no "$@" 2>&1) || [ -n "$out" ]; then
    echo "$out"
    return 1
  fi
}
units=("$root"/usr/local/lib/systemd/system/trelink-{pseudonymiser,linker,aggregator}.service)
verify "${units[@]}" || fail "systemd-analyze verify of the installed units"

broken=$root/usr/local/lib/systemd/system/trelink-broken.service
sed 's/^ProtectSystem=strict$/ProtectSystem=stricter/' "${units[1]}" >"$broken"
if verify "$broken" >/dev/null; then fail "a unit with ProtectSystem=stricter passed the check"; fi
sed 's#^ExecStart=/usr/local/bin/trelink-linker#ExecStart=/usr/local/bin/trelink-missing#' "${units[1]}" >"$broken"
if verify "$broken" >/dev/null; then fail "a unit whose binary is missing passed the check"; fi
rm "$broken"

# Each unit runs its own binary with its own config, as its own user, on the
# port its config listens on; the container files use the same ports.
port=7001
for service in pseudonymiser linker aggregator; do
  unit=$root/usr/local/lib/systemd/system/trelink-$service.service
  grep -qx "ExecStart=/usr/local/bin/trelink-$service --config /etc/trelink/$service/$service.textproto" "$unit" ||
    fail "$service: ExecStart"
  grep -qx "User=trelink-$service" "$unit" || fail "$service: User"
  grep -qx "UMask=0077" "$unit" || fail "$service: UMask"
  grep -q "listen_address: \"0.0.0.0:$port\"" "$src/deploy/systemd/config/$service.textproto" ||
    fail "$service: config does not listen on $port"
  grep -q "\"$port:$port\"" "$src/deploy/container/compose.yaml" || fail "$service: compose does not map $port"
  port=$((port + 1))
done
echo "systemd units, users and state directories verified"
