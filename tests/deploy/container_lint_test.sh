#!/usr/bin/env bash
# The container files, checked without a container engine (none runs in CI):
# compose.yaml against the Compose schema (docker-compose config), and both
# files against the systemd layout and the production configs: each service
# runs as its own non-root user, configuration is mounted read only, state is
# in named volumes at the configs' state directories, the published ports
# are the ones the configs listen on, and the image has a health check.
#   tests/deploy/container_lint_test.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$src/deploy/container
fail() { echo "FAIL: $*" >&2; exit 1; }

docker-compose -f "$dir/compose.yaml" config -q || fail "compose.yaml is not a valid Compose file"
normalised=$(docker-compose -f "$dir/compose.yaml" config)

/usr/bin/python3 - "$src" "$normalised" <<'PY' || exit 1
import re, sys, yaml
src, compose = sys.argv[1], yaml.safe_load(sys.argv[2])
problems = []
state = {"pseudonymiser": [], "linker": ["/var/lib/trelink-linker"],
         "aggregator": ["/var/lib/trelink-aggregator", "/var/lib/trelink-linker"]}
for service, port in (("pseudonymiser", 7001), ("linker", 7002), ("aggregator", 7003)):
    config = open(f"{src}/deploy/systemd/config/{service}.textproto").read()
    listen = re.search(r'listen_address: "0\.0\.0\.0:(\d+)"', config)
    if not listen or int(listen.group(1)) != port:
        problems.append(f"{service}: config does not listen on {port}")
    spec = compose["services"][service]
    if spec["build"]["args"] != {"SERVICE": service, "PORT": str(port)}:
        problems.append(f"{service}: build args {spec['build']['args']}")
    published = {(int(p["target"]), int(p["published"])) for p in spec.get("ports", [])}
    if published != {(port, port)}:
        problems.append(f"{service}: ports {published}, config listens on {port}")
    if not spec.get("read_only"):
        problems.append(f"{service}: root file system not read only")
    # docker-compose 1.29 normalises volumes to SOURCE:TARGET:MODE.
    mounts = {}
    for volume in spec["volumes"]:
        source, target, mode = volume.split(":")
        mounts[target] = {"type": "bind" if source.startswith("/") else "volume", "read_only": mode == "ro"}
    # Every path the config names must be under a mount: read only for
    # /etc/trelink, a named (writable) volume for state.
    for path in re.findall(r'_file: "([^"]+)"', config):
        mount = max((t for t in mounts if path == t or path.startswith(t + "/")), key=len, default=None)
        if mount is None:
            problems.append(f"{service}: {path} is on no volume")
        elif path.startswith("/etc/trelink/") != bool(mounts[mount].get("read_only")):
            problems.append(f"{service}: {path} on {mount} has the wrong access")
    named = sorted(t for t, v in mounts.items() if v["type"] == "volume")
    if named != state[service]:
        problems.append(f"{service}: state volumes {named}, expected {state[service]}")
    if any(t.startswith("/etc/trelink") and not v.get("read_only") for t, v in mounts.items()):
        problems.append(f"{service}: configuration mounted writable")

containerfile = open(f"{src}/deploy/container/Containerfile").read()
runtime = containerfile.split("\nFROM debian:12\n", 1)[1]
for needle, why in (("USER trelink-$SERVICE", "runs as the service's own user"),
                    ("HEALTHCHECK ", "has a health check"), ("EXPOSE $PORT", "exposes the port"),
                    ('VOLUME ["/var/lib/trelink-linker", "/var/lib/trelink-aggregator"]', "declares the state volumes"),
                    ("install -d -m 2770 -o trelink-linker -g trelink-store /var/lib/trelink-linker", "shares the store"),
                    ("install -d -m 0700 -o trelink-aggregator", "owns the aggregator's state")):
    if needle not in runtime:
        problems.append(f"Containerfile: not found: {needle} ({why})")
# Every binary the runtime stage names is one `cmake --install` installs.
for binary in set(re.findall(r"/usr/local/bin/trelink-([a-z]+)", runtime)) - {"*"}:
    if binary not in ("pseudonymiser", "linker", "aggregator", "cli", "keygen", "audit"):
        problems.append(f"Containerfile: trelink-{binary} is not installed")
for problem in problems:
    print("FAIL:", problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
echo "container files consistent with the production configs"
