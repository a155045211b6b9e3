#!/usr/bin/env bash
# Creates a throw-away certificate authority and one certificate per service
# and per role, for the demo and the tests. NOT for production: a TRE issues
# certificates from its own CA (see README, "Deploying").
#
#   deploy/dev-certs.sh OUT_DIR
#
# Server certificates carry subjectAltName localhost and 127.0.0.1. Client
# certificates' common names are the identities the services' access
# policies map to roles:
#   provider.maternity  provider.social-care  provider.court   (role provider)
#   linkage-admin                                             (role linkage-admin)
#   analyst                                                   (role analyst)
#   auditor                                                   (role auditor)
#   healthcheck           (no role: the container health check)
set -euo pipefail
out=${1:?usage: dev-certs.sh OUT_DIR}
mkdir -p "$out"
cd "$out"
umask 077

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=trelink dev CA (throw-away)" -keyout ca.key -out ca.pem 2>/dev/null
fi

issue() {  # issue NAME CN EXTENSIONS
  local name=$1 cn=$2 ext=$3
  [ -f "$name.pem" ] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

server_ext='basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1'
client_ext='basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

for service in pseudonymiser linker aggregator; do
  issue "$service" "trelink-$service" "$server_ext"
done
for identity in provider.maternity provider.social-care provider.court linkage-admin analyst auditor healthcheck; do
  issue "$identity" "$identity" "$client_ext"
done
# A certificate from a CA the services do not trust, for negative tests.
if [ ! -f rogue.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=provider.maternity" -keyout rogue.key -out rogue.pem 2>/dev/null
fi
chmod 644 ./*.pem
echo "dev certificates in $out"
