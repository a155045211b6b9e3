#!/usr/bin/env bash
# Installs trelink's systemd units, users, state directories and production
# configs (docs/operations.md, "Install"). Run as root after
#   cmake --install build        (binaries into /usr/local/bin)
#
#   deploy/systemd/install.sh [--root DIR]
#
# --root DIR installs into DIR instead of / (users into DIR/etc/passwd, no
# daemon-reload): CI uses it to check the install with `systemd-analyze
# verify --root`. Existing configs in /etc/trelink are never overwritten.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=/
if [ "${1:-}" = --root ]; then
  root=$(cd "${2:?--root needs a directory}" && pwd)
elif [ $# -gt 0 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
prefix=${root%/}/usr/local
root_flag=()
[ "$root" = / ] || root_flag=(--root="$root")

for service in pseudonymiser linker aggregator; do
  [ -x "$prefix/bin/trelink-$service" ] ||
    { echo "no $prefix/bin/trelink-$service: run cmake --install first" >&2; exit 1; }
done

install -d -m 0755 "$prefix/lib/systemd/system" "$prefix/lib/sysusers.d" "$prefix/lib/tmpfiles.d"
install -m 0644 "$here"/trelink-{pseudonymiser,linker,aggregator}.service "$prefix/lib/systemd/system/"
install -m 0644 "$here/trelink-sysusers.conf" "$prefix/lib/sysusers.d/trelink.conf"
install -m 0644 "$here/trelink-tmpfiles.conf" "$prefix/lib/tmpfiles.d/trelink.conf"

# Users first: the state directories and configs are owned by them.
mkdir -p "$root/etc"
systemd-sysusers "${root_flag[@]}" "$prefix/lib/sysusers.d/trelink.conf"
systemd-tmpfiles "${root_flag[@]}" --create "$prefix/lib/tmpfiles.d/trelink.conf"

etc=${root%/}/etc/trelink
install -d -m 0755 "$etc" "$etc/tls"
[ -f "$etc/catalogue.textproto" ] || install -m 0644 "$here/../config/catalogue.textproto" "$etc/catalogue.textproto"
for service in pseudonymiser linker aggregator; do
  # The directory is the service's: its keys (0600) must be readable by it
  # and by no other service user.
  install -d -m 0700 "$etc/$service" "$etc/$service/tls"
  [ -f "$etc/$service/$service.textproto" ] ||
    install -m 0600 "$here/config/$service.textproto" "$etc/$service/$service.textproto"
  if [ "$root" = / ]; then
    chown -R "trelink-$service:trelink-$service" "$etc/$service"
  elif [ "$(id -u)" = 0 ]; then
    # In another root, the users are only in that root's /etc/passwd.
    ids=$(awk -F: -v u="trelink-$service" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")
    chown -R "$ids" "$etc/$service"
  fi
done

if [ "$root" = / ]; then
  systemctl daemon-reload
  echo "installed; now put certificates and keys in /etc/trelink (docs/operations.md) and run"
  echo "  systemctl enable --now trelink-pseudonymiser trelink-linker trelink-aggregator"
fi
