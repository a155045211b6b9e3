#!/usr/bin/env bash
# Backs up and restores the state of a trelink deployment together: the
# linked store, the disclosure log with its checkpoint, and the release
# history (docs/operations.md, "Backups and restore").
#
#   deploy/backup.sh backup  --config AGGREGATOR_CONFIG --out DIR [--pubkey LOG_PUB]
#   deploy/backup.sh restore --config AGGREGATOR_CONFIG --from DIR [--pubkey LOG_PUB]
#
# The aggregator's config names every file (database_file, log_file,
# release_history_file; relative paths are taken from the config's
# directory, as the services do). `backup` runs while the services serve:
# SQLite files are copied with SQLite's online backup API (sqlite3 .backup, a
# consistent snapshot even mid-write), the checkpoint before the log (the log
# only grows, so the copy holds every entry the checkpoint signs), and the
# release history last (so it holds every release the copied log records:
# the release audit never forgets one). With --pubkey the copied log is
# verified against the copied checkpoint by trelink-audit. `restore` needs
# the services stopped and the old files moved away (it never overwrites);
# restored files get the owner of their directory and its mode without
# execute bits (0600 in a 0700 directory, 0660 in the shared 2770 one).
# Binaries: $TRELINK_BIN, else build/services of this checkout, else PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${TRELINK_BIN:-$here/../build/services}
audit=$bin/trelink-audit
[ -x "$audit" ] || audit=trelink-audit

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "backup.sh: $*" >&2; exit 1; }
[ $# -ge 1 ] || usage
command=$1
shift
config="" dir="" pubkey=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?}; shift 2 ;;
    --out | --from) dir=${2:?}; shift 2 ;;
    --pubkey) pubkey=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
if [ -z "$config" ] || [ -z "$dir" ]; then usage; fi
[ -f "$config" ] || die "no config $config"
command -v sqlite3 >/dev/null || die "sqlite3 is needed (apt-get install sqlite3)"

# field NAME: the value of a top-level string field of the config, resolved
# against the config's directory.
config_dir=$(cd "$(dirname "$config")" && pwd)
field() {
  local value
  value=$(sed -n "s/^$1: *\"\\(.*\\)\".*/\\1/p" "$config" | tail -n 1)
  case "$value" in
    "") ;;
    /*) echo "$value" ;;
    *) echo "$config_dir/$value" ;;
  esac
}
store=$(field database_file)
log=$(field log_file)
releases=$(field release_history_file)
[ -n "$releases" ] || releases=$log.releases
if [ -z "$store" ] || [ -z "$log" ]; then die "$config names no database_file or log_file"; fi

verify_copy() {  # verify_copy DIR: the log against its checkpoint
  [ -n "$pubkey" ] || return 0
  "$audit" verify --log "$1/disclosure.log" --checkpoint "$1/disclosure.log.checkpoint" --pubkey "$pubkey" >/dev/null ||
    die "the disclosure log in $1 does not verify against its checkpoint"
}

backup() {
  [ ! -e "$dir" ] || die "$dir exists; back up into a new directory"
  umask 077
  mkdir -p "$dir"
  cp "$log.checkpoint" "$dir/disclosure.log.checkpoint"
  cp "$log" "$dir/disclosure.log"
  sqlite3 "$releases" ".backup '$dir/releases.db'"
  sqlite3 "$store" ".backup '$dir/linked.db'"
  verify_copy "$dir"
  {
    echo "created $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "store_schema_version $(sqlite3 "$dir/linked.db" 'SELECT MAX(version) FROM schema_version')"
    (cd "$dir" && sha256sum linked.db disclosure.log disclosure.log.checkpoint releases.db)
  } >"$dir/MANIFEST"
  echo "backed up $store, $log (+ .checkpoint) and $releases into $dir"
}

restore_file() {  # restore_file SOURCE TARGET
  local target_dir owner mode
  target_dir=$(dirname "$2")
  [ -d "$target_dir" ] || die "no directory $target_dir"
  owner=$(stat -c '%u:%g' "$target_dir")
  mode=$(printf '%o' $((0$(stat -c '%a' "$target_dir") & 0666)))
  cp "$1" "$2"
  chmod "$mode" "$2"
  [ "$(id -u)" != 0 ] || chown "$owner" "$2"
}

restore() {
  [ -f "$dir/MANIFEST" ] || die "$dir holds no backup (no MANIFEST)"
  (cd "$dir" && grep -E '^[0-9a-f]{64}  ' MANIFEST | sha256sum --check --quiet) || die "$dir fails its checksums"
  verify_copy "$dir"
  for target in "$store" "$store-wal" "$store-shm" "$log" "$log.checkpoint" "$releases" "$releases-wal" \
                "$releases-shm"; do
    [ ! -e "$target" ] || die "$target exists: stop the services and move the old state away first"
  done
  restore_file "$dir/linked.db" "$store"
  restore_file "$dir/releases.db" "$releases"
  restore_file "$dir/disclosure.log" "$log"
  restore_file "$dir/disclosure.log.checkpoint" "$log.checkpoint"
  echo "restored $dir; start the linker, then the aggregator"
}

case "$command" in
  backup) backup ;;
  restore) restore ;;
  *) usage ;;
esac
