#!/bin/sh
# A private CA and one server certificate for ollamon's NATS server(s), made with openssl.
#
#   deploy/nats/make-certs.sh [FOLDER [NAME ...]]
#
# FOLDER: where the files go (default: deploy/nats/certs, which git ignores).
# NAME:   every DNS name and IP address clients use to reach a server (default: the names
#         docker-compose.yml and nats-{1,2,3}.conf use: nats nats-1 nats-2 nats-3 localhost
#         127.0.0.1). The certificate serves clients and, for the cluster, the routes.
#
# Writes ca.pem (give it to every service: OLLAMON_NATS_TLS_CA), ca-key.pem (keep it
# offline), server-cert.pem and server-key.pem (the servers' /etc/nats/certs/).
set -eu

out="${1:-$(dirname "$0")/certs}"
[ $# -gt 0 ] && shift
names="${*:-nats nats-1 nats-2 nats-3 localhost 127.0.0.1}"

san=""
for name in $names; do
  case "$name" in
    *[!0-9.]*) san="${san:+$san,}DNS:$name" ;;
    *) san="${san:+$san,}IP:$name" ;;
  esac
done

mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=ollamon NATS CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$out/ca-key.pem" -out "$out/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=ollamon NATS" -keyout "$out/server-key.pem" -out "$out/server.csr" 2>/dev/null
cat > "$out/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$san
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" \
  -CAcreateserial -days 825 -extfile "$out/server.ext" -out "$out/server-cert.pem" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
chmod 644 "$out/ca.pem" "$out/server-cert.pem"
echo "certificates for $san in $out"
