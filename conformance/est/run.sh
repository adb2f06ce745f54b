#!/usr/bin/env bash
# EST conformance (RFC 7030 + RFC 8951): curl + openssl for every operation and each kind of
# authentication (HTTP Basic, TLS client certificate), then strongSwan's EST client
# (`pki --estca`, `pki --est` enrolling and re-enrolling). Every certificate is checked with
# `openssl verify` against the root; the serverkeygen key must match its certificate.
#
# Needs: openssl curl strongswan-pki libstrongswan-standard-plugins libstrongswan-extra-plugins
# (the curl fetcher and openssl plugins of `pki`).
set -euo pipefail

cd "$(dirname "$0")/../.."
. conformance/lib.sh
conf_require "apt-get install -y strongswan-pki libstrongswan-standard-plugins libstrongswan-extra-plugins curl openssl" openssl curl pki node base64 awk

HTTP_PORT=${EST_CONF_HTTP_PORT:-19300}
HTTPS_PORT=${EST_CONF_HTTPS_PORT:-19301}

conf_workdir est

BASE=https://localhost:$HTTPS_PORT
EST=$BASE/.well-known/est
export CERTGATE_DATA_DIR=$DATA
step "Certgate on :$HTTP_PORT / https :$HTTPS_PORT"
CERTGATE_HOST=127.0.0.1 CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT \
  CERTGATE_PUBLIC_URL=http://localhost:$HTTP_PORT CERTGATE_LOG_LEVEL=${CERTGATE_LOG_LEVEL:-info} \
  node bin/certgate.mjs serve >>"$WORK/certgate.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 120); do
  if [ -s "$DATA/root.pem" ] && curl -fsS --cacert "$DATA/root.pem" "$EST/cacerts" -o /dev/null 2>/dev/null; then break; fi
  [ "$i" = 120 ] && fail "Certgate did not come up"
  sleep 0.5
done
ROOT=$DATA/root.pem
cd "$WORK"

CHECKS=0
CURL=(curl -sS --cacert "$ROOT")
# post <path> <body file> <out> [curl args…]: POST base64 PKCS#10; fails unless HTTP 200.
post() {
  local path=$1 in=$2 out=$3; shift 3
  local code
  code=$("${CURL[@]}" -o "$out" -w '%{http_code}' -H 'Content-Type: application/pkcs10' --data-binary "@$in" "$@" "$EST/$path")
  [ "$code" = 200 ] || fail "POST $path: HTTP $code: $(cat "$out")"
}
# expect_status <code> <curl args…>: the request is refused with this status and a text reason.
expect_status() {
  local want=$1; shift
  local code
  code=$("${CURL[@]}" -o "$WORK/refusal.txt" -w '%{http_code}' "$@")
  [ "$code" = "$want" ] || fail "expected HTTP $want, got $code: $(cat "$WORK/refusal.txt")"
  echo "HTTP $code: $(cat "$WORK/refusal.txt")"
  CHECKS=$((CHECKS + 1))
}
# p7certs <base64 certs-only> <pem out>: the certificates of a certs-only PKCS#7.
p7certs() { base64 -d "$1" | openssl pkcs7 -inform DER -print_certs -out "$2" || fail "$1 is not a certs-only PKCS#7"; }
verify() {
  local out
  out=$(openssl verify -CAfile "$ROOT" -untrusted "$WORK/issuing.pem" "$1" 2>&1) || fail "openssl verify $1: $out"
  echo "$out"
  CHECKS=$((CHECKS + 1))
}
# csr <key out> <csr b64 out> <subject> [san]: an EC P-256 key and its base64 PKCS#10 (one line per 64).
csr() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1"
  local ext=()
  [ -n "${4:-}" ] && ext=(-addext "subjectAltName=DNS:$4")
  openssl req -new -key "$1" -subj "$3" "${ext[@]}" -outform DER | base64 -w 64 >"$2"
}
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum; }

step "CLI: label and Basic credentials"
node "$OLDPWD/bin/certgate.mjs" est label add iot --profile device --auth both
node "$OLDPWD/bin/certgate.mjs" est label add certonly --profile device --auth cert
node "$OLDPWD/bin/certgate.mjs" est label list
PW=$(node "$OLDPWD/bin/certgate.mjs" est user add --label iot --name curl1 --json | sed 's/.*"password":"\([^"]*\)".*/\1/')
PWD_DEFAULT=$(node "$OLDPWD/bin/certgate.mjs" est user add --label default --name swan1 --json | sed 's/.*"password":"\([^"]*\)".*/\1/')
[ -n "$PW" ] && [ -n "$PWD_DEFAULT" ] || fail "est user add printed no password"
node "$OLDPWD/bin/certgate.mjs" est user list

step "curl: /cacerts (no authentication), certs-only PKCS#7 of the issuing chain"
"${CURL[@]}" -fD cacerts.h "$EST/iot/cacerts" -o cacerts.b64
grep -qi '^content-type: application/pkcs7-mime; smime-type=certs-only' cacerts.h || fail "cacerts Content-Type: $(grep -i content-type cacerts.h)"
grep -qi '^content-length:' cacerts.h || fail "cacerts has no Content-Length"
[ "$(tr -d '\r\n' <cacerts.b64 | wc -c)" = "$(wc -c <cacerts.b64)" ] || fail "cacerts body has line breaks"
p7certs cacerts.b64 chain.pem
openssl x509 -in chain.pem -out issuing.pem
grep -c 'BEGIN CERTIFICATE' chain.pem | grep -qx 2 || fail "cacerts should hold the issuing CA and the root"
verify issuing.pem

step "curl: /csrattrs"
"${CURL[@]}" -fD attrs.h "$EST/iot/csrattrs" -o attrs.b64
grep -qi '^content-type: application/csrattrs' attrs.h || fail "csrattrs Content-Type"
base64 -d attrs.b64 | openssl asn1parse -inform DER | tee attrs.txt
grep -q commonName attrs.txt && grep -q id-ecPublicKey attrs.txt || fail "csrattrs lacks commonName / id-ecPublicKey"
CHECKS=$((CHECKS + 1))

step "curl: /simpleenroll with HTTP Basic (-u user:pass)"
csr k1.pem c1.b64 "/CN=curl1.example" curl1.example
post iot/simpleenroll c1.b64 r1.b64 -u "curl1:$PW" -H 'Content-Transfer-Encoding: base64'
p7certs r1.b64 cert1.pem
verify cert1.pem
openssl x509 -in cert1.pem -noout -ext subjectAltName | grep -q 'DNS:curl1.example' || fail "cert1 lacks its SAN"
[ "$(spki cert1.pem)" = "$(openssl pkey -in k1.pem -pubout -outform DER | sha256sum)" ] || fail "cert1 is not for the CSR key"

step "curl: /simplereenroll with the TLS client certificate (--cert/--key), new key"
csr k2.pem c2.b64 "/CN=curl1.example" curl1.example
post iot/simplereenroll c2.b64 r2.b64 --cert cert1.pem --key k1.pem
p7certs r2.b64 cert2.pem
verify cert2.pem
[ "$(spki cert2.pem)" = "$(openssl pkey -in k2.pem -pubout -outform DER | sha256sum)" ] || fail "cert2 is not for the new key"
[ "$(openssl x509 -in cert2.pem -noout -subject)" = "$(openssl x509 -in cert1.pem -noout -subject)" ] || fail "re-enrolment changed the subject"

step "curl: /simpleenroll with the TLS client certificate only (label certonly)"
csr k3.pem c3.b64 "/CN=curl3.example" curl3.example
post certonly/simpleenroll c3.b64 r3.b64 --cert cert2.pem --key k2.pem
p7certs r3.b64 cert3.pem
verify cert3.pem

step "curl: /serverkeygen (multipart/mixed: PKCS#8 + certs-only)"
csr k4.pem c4.b64 "/CN=keygen.example" keygen.example
"${CURL[@]}" -fD skg.h -H 'Content-Type: application/pkcs10' --data-binary @c4.b64 -u "curl1:$PW" "$EST/iot/serverkeygen" -o skg.txt
B=$(grep -i '^content-type: multipart/mixed' skg.h | sed 's/.*boundary=//' | tr -d '\r')
[ -n "$B" ] || fail "serverkeygen is not multipart/mixed: $(grep -i content-type skg.h)"
awk -v b="--$B" 'index($0, b) == 1 { n++; body = 0; next } /^\r?$/ { if (!body) { body = 1; next } } body { sub(/\r$/, ""); print > ("part" n ".b64") }' skg.txt
grep -qi 'application/pkcs8' skg.txt || fail "serverkeygen has no application/pkcs8 part"
base64 -d part1.b64 | openssl pkey -inform DER -out skg-key.pem || fail "part 1 is not a PKCS#8 key"
p7certs part2.b64 skg-cert.pem
verify skg-cert.pem
[ "$(spki skg-cert.pem)" = "$(openssl pkey -in skg-key.pem -pubout -outform DER | sha256sum)" ] || fail "the serverkeygen key does not match its certificate"
echo "serverkeygen key matches its certificate"; CHECKS=$((CHECKS + 1))

step "refusals: plain HTTP, wrong password, Basic of another label, not base64, wrong type, re-enrol naming others"
expect_status 403 -H 'Content-Type: application/pkcs10' --data-binary @c1.b64 -u "curl1:$PW" "http://localhost:$HTTP_PORT/.well-known/est/iot/simpleenroll"
expect_status 401 -H 'Content-Type: application/pkcs10' --data-binary @c1.b64 -u "curl1:wrong" "$EST/iot/simpleenroll"
expect_status 401 -H 'Content-Type: application/pkcs10' --data-binary @c1.b64 -u "swan1:$PWD_DEFAULT" "$EST/iot/simpleenroll"
expect_status 400 -H 'Content-Type: application/pkcs10' --data-binary 'not*base64' -u "curl1:$PW" "$EST/iot/simpleenroll"
expect_status 400 -H 'Content-Type: text/plain' --data-binary @c1.b64 -u "curl1:$PW" "$EST/iot/simpleenroll"
csr k5.pem c5.b64 "/CN=curl1.example" victim.example
expect_status 403 -H 'Content-Type: application/pkcs10' --data-binary @c5.b64 --cert cert2.pem --key k2.pem "$EST/iot/simplereenroll"

# strongSwan's client puts /.well-known/est/<operation> after the URL it is given: the default label.
step "strongSwan: pki --estca"
pki --estca --url "$BASE" --cacert "$ROOT" --caout swan-ca.crt --outform pem --force 2>&1 | grep -v '^plugin\|TPM' | tail -n 3
[ -s swan-ca.crt ] && [ -s swan-ca-1.crt ] || fail "pki --estca wrote no CA certificates"
cmp -s <(openssl x509 -in swan-ca.crt -outform DER) <(openssl x509 -in "$ROOT" -outform DER) || fail "pki --estca root differs from Certgate's"
CHECKS=$((CHECKS + 1))

step "strongSwan: pki --est enrol (HTTP Basic)"
pki --gen --type ecdsa --size 256 --outform der >swan.key 2>>pki.log
pki --req --in swan.key --type ecdsa --dn "CN=swan.example" --san swan.example --outform der >swan.csr 2>>pki.log
pki --est --url "$BASE" --in swan.csr --cacert swan-ca.crt --cacert swan-ca-1.crt --userpass "swan1:$PWD_DEFAULT" --outform pem >swan.crt 2>swan.log \
  || fail "pki --est: $(tail -n 3 swan.log)"
verify swan.crt

step "strongSwan: pki --est re-enrol (TLS client certificate, new key)"
openssl x509 -in swan.crt -outform DER -out swan.der
pki --gen --type ecdsa --size 256 --outform der >swan2.key 2>>pki.log
pki --req --in swan2.key --type ecdsa --dn "CN=swan.example" --san swan.example --outform der >swan2.csr 2>>pki.log
pki --est --url "$BASE" --in swan2.csr --cacert swan-ca.crt --cacert swan-ca-1.crt --cert swan.der --key swan.key --outform pem >swan2.crt 2>swan2.log \
  || fail "pki --est re-enrol: $(tail -n 3 swan2.log)"
verify swan2.crt
[ "$(openssl x509 -in swan2.crt -noout -serial)" != "$(openssl x509 -in swan.crt -noout -serial)" ] || fail "re-enrolment returned the old certificate"
grep -q 'POST","path":"/.well-known/est/simplereenroll","status":200' "$WORK/certgate.log" || fail "strongSwan did not use /simplereenroll"

printf '\nPASS: EST conformance — curl+openssl (cacerts, csrattrs, simpleenroll Basic and client certificate, simplereenroll, serverkeygen, 6 refusals) and strongSwan pki (--estca, --est enrol and re-enrol); %d checks\n' "$CHECKS"
