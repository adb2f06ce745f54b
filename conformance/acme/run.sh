#!/usr/bin/env bash
# ACME conformance: certbot (standalone http-01) and lego (http-01, tls-alpn-01) from Debian
# against a real Certgate over HTTPS; every certificate is checked with `openssl verify`
# against the root, and every revocation against the CRL Certgate publishes. Last, Certgate restarts with
# CERTGATE_ACME_AUTHZ_REUSE=1 and lego renews without a challenge.
#
# Needs: certbot lego pebble (for pebble-challtestsrv, the DNS server that makes
# *.certgate.test resolve to 127.0.0.1) openssl curl — `apt-get install -y certbot lego pebble`.
set -euo pipefail

cd "$(dirname "$0")/../.."
. conformance/lib.sh
conf_require "apt-get install -y certbot lego pebble curl openssl" certbot lego pebble-challtestsrv openssl curl node

HTTP_PORT=${ACME_CONF_HTTP_PORT:-18080}
HTTPS_PORT=${ACME_CONF_HTTPS_PORT:-18443}
DNS_PORT=${ACME_CONF_DNS_PORT:-18053}
MGMT_PORT=${ACME_CONF_MGMT_PORT:-18055}
HTTP01_PORT=5002
TLSALPN_PORT=5001

conf_extra_logs() { echo "---- certbot log (tail) ----"; tail -n 40 "$WORK/certbot/logs/letsencrypt.log" 2>/dev/null; }
conf_workdir acme

step "DNS: pebble-challtestsrv on 127.0.0.1:$DNS_PORT (every name → 127.0.0.1)"
pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
  -management "127.0.0.1:$MGMT_PORT" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$WORK/dns.log" 2>&1 &
PIDS+=($!)

DIR=https://localhost:$HTTPS_PORT/acme/directory
# start_certgate [ENV=value…]: Certgate on the data dir (kept across restarts), with extra settings.
start_certgate() {
  env "$@" CERTGATE_DATA_DIR=$DATA CERTGATE_HOST=127.0.0.1 CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT \
    CERTGATE_PUBLIC_URL=http://localhost:$HTTP_PORT CERTGATE_LOG_LEVEL=${CERTGATE_LOG_LEVEL:-info} \
    CERTGATE_ACME_ALLOW_PRIVATE_TARGETS=1 CERTGATE_ACME_HTTP01_PORT=$HTTP01_PORT CERTGATE_ACME_TLSALPN01_PORT=$TLSALPN_PORT \
    CERTGATE_ACME_DNS_RESOLVER=127.0.0.1:$DNS_PORT CERTGATE_ACME_VALIDATION_RETRIES=1 CERTGATE_ACME_VALIDATION_RETRY_DELAY_MS=500 \
    node bin/certgate.mjs serve >>"$WORK/certgate.log" 2>&1 &
  CERTGATE_PID=$!
  PIDS+=("$CERTGATE_PID")
  for i in $(seq 1 120); do
    if [ -s "$DATA/root.pem" ] && curl -fsS --cacert "$DATA/root.pem" "$DIR" >/dev/null 2>&1; then return 0; fi
    [ "$i" = 120 ] && fail "Certgate did not come up"
    sleep 0.5
  done
}

step "Certgate on :$HTTP_PORT / https :$HTTPS_PORT"
start_certgate
ROOT=$DATA/root.pem
curl -fsS --cacert "$ROOT" "$DIR"; echo

CHECKS=0
# verify <leaf.pem> <chain.pem>: the certificate chains to the root, for TLS servers.
verify() {
  local out
  out=$(openssl verify -CAfile "$ROOT" -untrusted "$2" -purpose sslserver "$1" 2>&1) || fail "openssl verify $1: $out"
  echo "$out"
  CHECKS=$((CHECKS + 1))
}
# names <cert.pem> <name>...: the certificate's SANs are exactly these DNS names.
names() {
  local cert=$1; shift
  local got want
  got=$(openssl x509 -in "$cert" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' | sed 's/^ *DNS://' | sort | tr '\n' ' ')
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || fail "$cert names [$got], expected [$want]"
}
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'; }
# revoked <cert.pem>: the serial is on the CRL named in the certificate.
revoked() {
  local url s
  url=$(openssl x509 -in "$1" -noout -ext crlDistributionPoints | grep -o 'http[^ ]*\.crl' | head -1)
  s=$(serial "$1")
  curl -fsS "$url" -o "$WORK/crl.der" || fail "cannot fetch CRL $url"
  openssl crl -inform DER -in "$WORK/crl.der" -noout -text | grep -i 'Serial Number' | sed 's/.*: *//' | tr 'A-F' 'a-f' | sed 's/^0*//' | grep -qx "$s" \
    || fail "serial $s is not on the CRL $url"
  echo "serial $s is on $url"
  CHECKS=$((CHECKS + 1))
}

# ── certbot ─────────────────────────────────────────────────────────────────────────────────
CB=(certbot --server "$DIR" --config-dir "$WORK/certbot/conf" --work-dir "$WORK/certbot/work" --logs-dir "$WORK/certbot/logs"
    --non-interactive --no-random-sleep-on-renew)
export REQUESTS_CA_BUNDLE=$ROOT

step "certbot: register"
"${CB[@]}" register --agree-tos -m ops@certgate.test

step "certbot: issue for one name (standalone http-01 on :$HTTP01_PORT)"
"${CB[@]}" certonly --standalone --http-01-port "$HTTP01_PORT" -d one.certgate.test
L=$WORK/certbot/conf/live/one.certgate.test
verify "$L/cert.pem" "$L/chain.pem"; names "$L/cert.pem" one.certgate.test
S1=$(serial "$L/cert.pem")

step "certbot: issue for two names"
"${CB[@]}" certonly --standalone --http-01-port "$HTTP01_PORT" --cert-name two -d a.certgate.test -d b.certgate.test
L2=$WORK/certbot/conf/live/two
verify "$L2/cert.pem" "$L2/chain.pem"; names "$L2/cert.pem" a.certgate.test b.certgate.test

step "certbot: renew (forced)"
"${CB[@]}" renew --force-renewal --cert-name one.certgate.test
verify "$L/cert.pem" "$L/chain.pem"; names "$L/cert.pem" one.certgate.test
S1b=$(serial "$L/cert.pem")
[ "$S1" != "$S1b" ] || fail "certbot renew kept the same certificate"

step "certbot: revoke"
"${CB[@]}" revoke --cert-path "$L/cert.pem" --reason keycompromise --no-delete-after-revoke
revoked "$L/cert.pem"

step "certbot: register with an external account binding (key made through the admin API)"
TOKEN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).token)' "$DATA/server.json")
EAB=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"note":"conformance"}' "http://127.0.0.1:$HTTP_PORT/api/v1/acme/eab")
EAB_KID=$(node -e 'console.log(JSON.parse(process.argv[1]).kid)' "$EAB")
EAB_KEY=$(node -e 'console.log(JSON.parse(process.argv[1]).hmacKey)' "$EAB")
certbot --server "$DIR" --config-dir "$WORK/certbot-eab/conf" --work-dir "$WORK/certbot-eab/work" --logs-dir "$WORK/certbot-eab/logs" \
  --non-interactive register --agree-tos -m eab@certgate.test --eab-kid "$EAB_KID" --eab-hmac-key "$EAB_KEY"
curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/api/v1/acme/eab" \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const k=JSON.parse(s).keys.find(k=>k.kid===process.argv[1]);if(!k||!k.accountId){console.error("EAB key not bound");process.exit(1)}console.log("EAB key "+k.kid+" bound to account "+k.accountId)})' "$EAB_KID"
CHECKS=$((CHECKS + 1))
unset REQUESTS_CA_BUNDLE

# ── lego ────────────────────────────────────────────────────────────────────────────────────
export LEGO_CA_CERTIFICATES=$ROOT
LEGO=(lego --server "$DIR" --email ops@certgate.test --accept-tos --path "$WORK/lego")

step "lego: issue with http-01 (:$HTTP01_PORT)"
"${LEGO[@]}" --http --http.port ":$HTTP01_PORT" -d lego-http.certgate.test run
C=$WORK/lego/certificates/lego-http.certgate.test
verify "$C.crt" "$C.issuer.crt"; names "$C.crt" lego-http.certgate.test
H1=$(serial "$C.crt")

step "lego: renew with http-01 (validated again: no authorization reuse by default)"
"${LEGO[@]}" --http --http.port ":$HTTP01_PORT" -d lego-http.certgate.test renew --days 10000 --no-random-sleep 2>&1 | tee "$WORK/lego-renew.log"
grep -qi 'already valid' "$WORK/lego-renew.log" && fail "lego renew reused an authorization with reuse off"
grep -q 'Served key auth' "$WORK/lego-renew.log" || fail "lego renew answered no challenge"
verify "$C.crt" "$C.issuer.crt"; names "$C.crt" lego-http.certgate.test
[ "$H1" != "$(serial "$C.crt")" ] || fail "lego renew kept the same certificate"

step "lego: revoke (http-01 certificate)"
cp "$C.crt" "$WORK/lego-http-revoked.crt"   # lego archives what it revoked
"${LEGO[@]}" -d lego-http.certgate.test revoke
revoked "$WORK/lego-http-revoked.crt"

step "lego: issue with tls-alpn-01 (:$TLSALPN_PORT)"
"${LEGO[@]}" --tls --tls.port ":$TLSALPN_PORT" -d lego-tls.certgate.test run
T=$WORK/lego/certificates/lego-tls.certgate.test
verify "$T.crt" "$T.issuer.crt"; names "$T.crt" lego-tls.certgate.test
T1=$(serial "$T.crt")

step "lego: renew with tls-alpn-01"
"${LEGO[@]}" --tls --tls.port ":$TLSALPN_PORT" -d lego-tls.certgate.test renew --days 10000 --no-random-sleep
verify "$T.crt" "$T.issuer.crt"; names "$T.crt" lego-tls.certgate.test
[ "$T1" != "$(serial "$T.crt")" ] || fail "lego renew kept the same certificate"

step "lego: revoke (tls-alpn-01 certificate)"
cp "$T.crt" "$WORK/lego-tls-revoked.crt"
"${LEGO[@]}" -d lego-tls.certgate.test revoke
revoked "$WORK/lego-tls-revoked.crt"

# ── authorization reuse ─────────────────────────────────────────────────────────────────────
step "Certgate restarted with CERTGATE_ACME_AUTHZ_REUSE=1 (same data)"
kill "$CERTGATE_PID"; wait "$CERTGATE_PID" 2>/dev/null || true
start_certgate CERTGATE_ACME_AUTHZ_REUSE=1

step "lego: issue with http-01, then renew reusing the valid authorization (no challenge)"
"${LEGO[@]}" --http --http.port ":$HTTP01_PORT" -d lego-reuse.certgate.test run
R=$WORK/lego/certificates/lego-reuse.certgate.test
verify "$R.crt" "$R.issuer.crt"; names "$R.crt" lego-reuse.certgate.test
R1=$(serial "$R.crt")
"${LEGO[@]}" --http --http.port ":$HTTP01_PORT" -d lego-reuse.certgate.test renew --days 10000 --no-random-sleep 2>&1 | tee "$WORK/lego-reuse.log"
grep -qi 'already valid' "$WORK/lego-reuse.log" || fail "lego renew did not find its authorization already valid"
verify "$R.crt" "$R.issuer.crt"; names "$R.crt" lego-reuse.certgate.test
[ "$R1" != "$(serial "$R.crt")" ] || fail "lego renew kept the same certificate"

printf '\nPASS: ACME conformance — certbot (register, EAB register, issue 1 and 2 names, renew, revoke) and lego (http-01 and tls-alpn-01: issue, renew, revoke; renew reusing a valid authorization); %d checks\n' "$CHECKS"
