#!/usr/bin/env bash
# emCA Open API V4 conformance: a client written with nothing but openssl (enc for AES-256,
# cms -sign for PKCS#7, req for CSRs, pkcs12/x509/crl to check results) and curl, against a
# Certgate started here on a temporary data directory and a free port.
#
#   conformance/emca/run.sh            (from the repository root or anywhere)
#
# Steps: register an application, createCertificate, createPKCS12 (opened with openssl pkcs12),
# getCertificate, suspend, reinstate, revoke (the CRL then lists it), rekey, several CSRs in one
# call, a manual-authorization round trip (officer approval through the CLI), eSign (hash → CMS,
# PDF → PAdES checked by pdfsig) and officer-approved key recovery (conformance/emca/esign.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certgate-emca-conf.XXXXXX")"
SERVER_PID=""
PASS=0

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; [[ -f "$WORK/server.log" ]] && { echo '--- server log (tail) ---' >&2; tail -n 40 "$WORK/server.log" >&2; }; exit 1; }
ok() { PASS=$((PASS + 1)); echo "ok $PASS - $*"; }

for tool in openssl curl node base64 od; do command -v "$tool" >/dev/null || die "$tool is required"; done

# ── start Certgate ───────────────────────────────────────────────────────────
PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
BASE="http://127.0.0.1:$PORT"
export CERTGATE_DATA_DIR="$WORK/data" CERTGATE_HTTP_PORT="$PORT" CERTGATE_HOST=127.0.0.1 CERTGATE_PUBLIC_URL="$BASE" CERTGATE_LOG_LEVEL="${CERTGATE_LOG_LEVEL:-warn}"
unset DATABASE_URL
CG=(node "$ROOT/bin/certgate.mjs")
(cd "$ROOT" && exec "${CG[@]}" serve --no-https) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && [[ -f "$CERTGATE_DATA_DIR/server.json" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "certgate exited during start-up"
  sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null || die "certgate did not start"
ok "certgate serving on $BASE"

# ── tiny JSON helpers (the values we read are plain strings without quotes) ─
jget() { # jget KEY FILE → the string value of "KEY" (first occurrence)
  grep -o "\"$1\":\"[^\"]*\"" "$2" | head -n1 | sed -e "s/^\"$1\":\"//" -e 's/"$//'
}
jnull() { grep -q "\"$1\":null" "$2"; }

# ── register the application ────────────────────────────────────────────────
TOKEN="$(cd "$ROOT" && "${CG[@]}" token create --role administrator)"
[[ -n "$TOKEN" ]] || die "no admin token"
REG="$WORK/reg.json"
if (cd "$ROOT" && "${CG[@]}" --help 2>/dev/null) | grep -q '^ *emca-client'; then
  (cd "$ROOT" && "${CG[@]}" emca-client add --name conf-app --ip 127.0.0.1 --json) >"$REG" || die "emca-client add failed"
  ok "registered with: certgate emca-client add --json"
else
  curl -fsS -X POST "$BASE/api/v1/emca/clients" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"conf-app","ips":["127.0.0.1"]}' >"$REG" || die "registration through the admin API failed"
  ok "registered through POST /api/v1/emca/clients (the emca-client CLI is not wired yet)"
fi
USER_NAME="$(jget userName "$REG")"; PASSWORD="$(jget password "$REG")"; EMKEY="$(jget emKey "$REG")"
AESKEY_B64="$(jget aesKey "$REG")"; PFX_PASS="$(jget pfxPassword "$REG")"
jget pfx "$REG" | base64 -d >"$WORK/client.p12"
AESKEY_HEX="$(printf '%s' "$AESKEY_B64" | base64 -d | od -An -tx1 -v | tr -d ' \n')"
[[ ${#AESKEY_HEX} -eq 64 ]] || die "aesKey is not 32 bytes"
openssl pkcs12 -in "$WORK/client.p12" -passin "pass:$PFX_PASS" -nokeys -clcerts -out "$WORK/client.crt" 2>/dev/null || die "cannot open the signing PFX"
openssl pkcs12 -in "$WORK/client.p12" -passin "pass:$PFX_PASS" -nocerts -nodes -out "$WORK/client.key" 2>/dev/null || die "cannot read the signing key"
ok "signing PKCS#12 opened with openssl ($(openssl x509 -in "$WORK/client.crt" -noout -subject))"

# ── the emCA client ─────────────────────────────────────────────────────────
sign() { # sign FILE → base64 CMS SignedData (attached) by the client's PFX
  openssl cms -sign -binary -nodetach -outform DER -md sha256 -signer "$WORK/client.crt" -inkey "$WORK/client.key" -in "$1" | base64 -w0
}
sign_text() { printf '%s' "$1" >"$WORK/tbs.txt"; sign "$WORK/tbs.txt"; }
app_id() { echo "conf-$$-$(date +%s%N)-$RANDOM"; }

call() { # call METHOD INNER_JSON_FIELDS OUT → POSTs the envelope, response in OUT
  local method="$1" fields="$2" out="$3"
  printf '{"userName":"%s","password":"%s",%s}' "$USER_NAME" "$PASSWORD" "$fields" >"$WORK/inner.json"
  local data
  data="$(openssl enc -aes-256-ecb -K "$AESKEY_HEX" -in "$WORK/inner.json" | base64 -w0)"
  printf '{"requestData":"%s","userName":"%s"}' "$data" "$USER_NAME" >"$WORK/outer.json"
  curl -sS -o "$out" -w '%{http_code}' -X POST "$BASE/emCAServices/rest/$method" \
    -H 'Content-Type: application/json' -H "emKey: $EMKEY" --data-binary "@$WORK/outer.json" >"$WORK/http_code"
  [[ "$(cat "$WORK/http_code")" == 200 ]] || die "$method: HTTP $(cat "$WORK/http_code"): $(cat "$out")"
}
expect_success() { # expect_success OUT LABEL
  [[ "$(jget status "$1")" == success ]] || die "$2: $(cat "$1")"
}
result_der() { jget result "$1" | base64 -d >"$2"; }
new_csr() { # new_csr SUBJECT FILE
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" -subj "$1" -outform DER -out "$2" 2>/dev/null
}

# createCertificate
new_csr "/O=Acme/CN=conformance" "$WORK/a.csr"
call createCertificate "\"signature\":\"$(sign "$WORK/a.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"sub-1\",\"applicationId\":\"$(app_id)\"" "$WORK/r1.json"
expect_success "$WORK/r1.json" createCertificate
[[ "$(jget subscriberId "$WORK/r1.json")" == sub-1 ]] || die "subscriberId not echoed"
result_der "$WORK/r1.json" "$WORK/a.der"
openssl x509 -inform DER -in "$WORK/a.der" -noout -subject | grep -q "CN *= *conformance" || die "createCertificate: wrong subject"
openssl x509 -inform DER -in "$WORK/a.der" -noout -pubkey | cmp -s - <(openssl req -inform DER -in "$WORK/a.csr" -noout -pubkey) || die "createCertificate: not the CSR's key"
SERIAL="$(openssl x509 -inform DER -in "$WORK/a.der" -noout -serial | sed 's/^serial=//')"
ok "createCertificate issued serial $SERIAL"

# The same applicationId again returns the same certificate.
APP_ID="$(app_id)"
new_csr "/CN=idem" "$WORK/i.csr"
call createCertificate "\"signature\":\"$(sign "$WORK/i.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$APP_ID\"" "$WORK/i1.json"
call createCertificate "\"signature\":\"$(sign "$WORK/i.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$APP_ID\"" "$WORK/i2.json"
[[ "$(jget result "$WORK/i1.json")" == "$(jget result "$WORK/i2.json")" ]] || die "applicationId replay gave another certificate"
ok "applicationId replay returns the same certificate"

# Wrong AES key → "Invalid input data"
SAVED_KEY="$AESKEY_HEX"; AESKEY_HEX="$(printf '%064d' 7)"
call createCertificate "\"signature\":\"x\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/bad.json"
AESKEY_HEX="$SAVED_KEY"
[[ "$(jget result "$WORK/bad.json")" == "Invalid input data" ]] || die "wrong AES key: $(cat "$WORK/bad.json")"
ok "wrong AES key → Invalid input data"

# createCertificateP7B
call createCertificateP7B "\"signature\":\"$(sign "$WORK/a.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/p7.json"
expect_success "$WORK/p7.json" createCertificateP7B
result_der "$WORK/p7.json" "$WORK/a.p7b"
[[ "$(openssl pkcs7 -inform DER -in "$WORK/a.p7b" -print_certs -noout | grep -c '^subject=')" -eq 3 ]] || die "P7B does not hold leaf + chain"
ok "createCertificateP7B: certs-only PKCS#7 with the chain"

# createPKCS12 → open the PFX
printf '%s' 'CN=Conformance PFX~O=Acme~KeyAlogirthmAndSize=RSA-2048~Password=conf-pass' >"$WORK/p12.txt"
call createPKCS12 "\"signature\":\"$(sign "$WORK/p12.txt")\",\"profileName\":\"tls-client\",\"subscriberId\":\"sub-p12\",\"applicationId\":\"$(app_id)\"" "$WORK/p12.json"
expect_success "$WORK/p12.json" createPKCS12
jnull requestId "$WORK/p12.json" || die "createPKCS12: requestId should be null"
result_der "$WORK/p12.json" "$WORK/gen.p12"
openssl pkcs12 -info -noout -in "$WORK/gen.p12" -passin pass:conf-pass 2>"$WORK/p12info.txt" || die "createPKCS12: openssl cannot open the PFX"
grep -q 'AES-256-CBC' "$WORK/p12info.txt" || die "createPKCS12: PFX is not AES-256-CBC"
openssl pkcs12 -in "$WORK/gen.p12" -passin pass:conf-pass -nokeys -clcerts 2>/dev/null | openssl x509 -noout -subject | grep -q 'CN *= *Conformance PFX' || die "createPKCS12: wrong subject"
P12_SERIAL="$(openssl pkcs12 -in "$WORK/gen.p12" -passin pass:conf-pass -nokeys -clcerts 2>/dev/null | openssl x509 -noout -serial | sed 's/^serial=//')"
ok "createPKCS12: openssl pkcs12 opens the PFX (AES-256-CBC/PBKDF2), serial $P12_SERIAL"

# getPKCS12 delivers the same PFX again
call getPKCS12 "\"signature\":\"$(sign_text "{'pfxPin': 'conf-pass','serialNumber':'$P12_SERIAL','subscriberId':'sub-p12'}")\"" "$WORK/gp.json"
expect_success "$WORK/gp.json" getPKCS12
[[ "$(jget result "$WORK/gp.json")" == "$(jget result "$WORK/p12.json")" ]] || die "getPKCS12 returned another PFX"
ok "getPKCS12 returns the kept PFX"

# getCertificate
call getCertificate "\"signature\":\"$(sign_text "$SERIAL")\"" "$WORK/gc.json"
expect_success "$WORK/gc.json" getCertificate
[[ "$(jget result "$WORK/gc.json")" == "$(jget result "$WORK/r1.json")" ]] || die "getCertificate returned another certificate"
ok "getCertificate by serial"

# suspend, reinstate, revoke → CRL
call suspend "\"signature\":\"$(sign_text "$SERIAL")\",\"revokeMode\":\"6\",\"remarks\":\"conformance\"" "$WORK/su.json"
expect_success "$WORK/su.json" suspend
ok "suspend: $(jget result "$WORK/su.json")"
CRL_URL="$(openssl x509 -inform DER -in "$WORK/a.der" -noout -ext crlDistributionPoints | grep -o 'URI:[^ ]*' | head -n1 | sed 's/^URI://')"
[[ -n "$CRL_URL" ]] || die "no CRL distribution point"
curl -fsS -o "$WORK/held.crl" "$CRL_URL" || die "CRL download failed"
openssl crl -inform DER -in "$WORK/held.crl" -noout -text | grep -A4 -i "Serial Number: *$SERIAL" | grep -q "Certificate Hold" || { openssl crl -inform DER -in "$WORK/held.crl" -noout -text >&2; die "CRL does not list the suspension"; }
ok "the CRL lists the suspended certificate (certificateHold)"
call reinstate "\"signature\":\"$(sign_text "$SERIAL")\",\"remarks\":\"conformance\"" "$WORK/re.json"
expect_success "$WORK/re.json" reinstate
curl -fsS -o "$WORK/re.crl" "$CRL_URL"
if openssl crl -inform DER -in "$WORK/re.crl" -noout -text | grep -qi "Serial Number: *$SERIAL"; then die "reinstated certificate still on the CRL"; fi
ok "reinstate: $(jget result "$WORK/re.json"); off the CRL"
call revoke "\"signature\":\"$(sign_text "$SERIAL")\",\"revokeMode\":1,\"remarks\":\"key compromise\"" "$WORK/rv.json"
expect_success "$WORK/rv.json" revoke
curl -fsS -o "$WORK/rv.crl" "$CRL_URL"
openssl crl -inform DER -in "$WORK/rv.crl" -noout -text | grep -A4 -i "Serial Number: *$SERIAL" | grep -q 'Key Compromise' || die "CRL does not list the revocation"
ok "revoke: $(jget result "$WORK/rv.json"); the CRL lists it (keyCompromise)"
call revoke "\"signature\":\"$(sign_text "$SERIAL")\",\"revokeMode\":1,\"remarks\":\"again\"" "$WORK/rv2.json"
[[ "$(jget result "$WORK/rv2.json")" == "Certificate already revoked" ]] || die "second revoke: $(cat "$WORK/rv2.json")"
ok "second revoke → Certificate already revoked"

# rekey
new_csr "/CN=to-rekey" "$WORK/k.csr"
call createCertificate "\"signature\":\"$(sign "$WORK/k.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/k1.json"
expect_success "$WORK/k1.json" "createCertificate (for rekey)"
result_der "$WORK/k1.json" "$WORK/k1.der"
K_SERIAL="$(openssl x509 -inform DER -in "$WORK/k1.der" -noout -serial | sed 's/^serial=//')"
new_csr "/CN=ignored" "$WORK/k2.csr"
call rekey "\"signature\":\"$(sign "$WORK/k2.csr")\",\"serialNo\":\"$K_SERIAL\",\"remarks\":\"lost key\",\"applicationId\":\"$(app_id)\"" "$WORK/rk.json"
expect_success "$WORK/rk.json" rekey
result_der "$WORK/rk.json" "$WORK/k2.der"
openssl x509 -inform DER -in "$WORK/k2.der" -noout -subject | grep -q 'CN *= *to-rekey' || die "rekey: subject not kept"
openssl x509 -inform DER -in "$WORK/k2.der" -noout -pubkey | cmp -s - <(openssl req -inform DER -in "$WORK/k2.csr" -noout -pubkey) || die "rekey: not the new key"
ok "rekey: new key, same subject"

# several CSRs in one call (profile id from getProfileinfoByProfilename)
call getProfileinfoByProfilename "\"signature\":\"$(sign_text tls-client)\"" "$WORK/pi.json"
expect_success "$WORK/pi.json" getProfileinfoByProfilename
PROFILE_ID="$(grep -o 'profileId\\":\\"[0-9]*' "$WORK/pi.json" | grep -o '[0-9]*$')"
[[ -n "$PROFILE_ID" ]] || die "no profileId in $(cat "$WORK/pi.json")"
new_csr "/CN=multi-one" "$WORK/m1.csr"
new_csr "/CN=multi-two" "$WORK/m2.csr"
printf 'ID1|%s~ID2|%s' "$(base64 -w0 "$WORK/m1.csr")" "$(base64 -w0 "$WORK/m2.csr")" >"$WORK/multi.txt"
call createX509CertificatesByIdWithMultipleCsrData "\"signature\":\"$(sign "$WORK/multi.txt")\",\"profileID\":\"$PROFILE_ID\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/mu.json"
expect_success "$WORK/mu.json" createX509CertificatesByIdWithMultipleCsrData
RESULT="$(jget result "$WORK/mu.json")"
IFS='~' read -r -a ITEMS <<<"$RESULT"
[[ ${#ITEMS[@]} -eq 2 ]] || die "multi: expected 2 items, got ${#ITEMS[@]}"
[[ "${ITEMS[0]%%|*}" == ID1 && "${ITEMS[1]%%|*}" == ID2 ]] || die "multi: ids not echoed"
printf '%s' "${ITEMS[1]#*|}" | base64 -d | openssl x509 -inform DER -noout -subject | grep -q 'CN *= *multi-two' || die "multi: ID2 is not multi-two"
ok "createX509CertificatesByIdWithMultipleCsrData: ID1|cert~ID2|cert"

# manual authorization round trip
printf '%s' '{"name":"emca-conf-manual","manualApproval":true,"subject":{"attributes":[{"type":"CN","rule":"required"}]},"extendedKeyUsage":["clientAuth"]}' >"$WORK/profile.json"
curl -fsS -X POST "$BASE/api/v1/profiles" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$WORK/profile.json" >/dev/null || die "cannot create the manual profile"
new_csr "/CN=manual" "$WORK/man.csr"
call createCertificate "\"signature\":\"$(sign "$WORK/man.csr")\",\"profileName\":\"emca-conf-manual\",\"subscriberId\":\"m\",\"applicationId\":\"$(app_id)\"" "$WORK/man.json"
expect_success "$WORK/man.json" "createCertificate (manual)"
REQ_ID="$(jget requestId "$WORK/man.json")"
[[ -n "$REQ_ID" ]] || die "manual: no requestId"
call getCertificateByRequestID "\"signature\":\"$(sign_text "$REQ_ID")\"" "$WORK/pend.json"
[[ "$(jget status "$WORK/pend.json")" == Pending ]] || die "manual: not pending: $(cat "$WORK/pend.json")"
ok "manual authorization: requestId $REQ_ID is Pending"
(cd "$ROOT" && "${CG[@]}" request approve "$REQ_ID") >/dev/null || die "officer approval failed"
call getCertificateByRequestID "\"signature\":\"$(sign_text "$REQ_ID")\"" "$WORK/appr.json"
expect_success "$WORK/appr.json" "getCertificateByRequestID after approval"
result_der "$WORK/appr.json" "$WORK/man.der"
openssl x509 -inform DER -in "$WORK/man.der" -noout -subject | grep -q 'CN *= *manual' || die "manual: wrong certificate"
ok "approved with 'certgate request approve'; getCertificateByRequestID returns the certificate"

# eSign (hash and PDF signing with the signer's one-time code) and key recovery.
source "$ROOT/conformance/emca/esign.sh"

echo "emCA conformance: $PASS checks passed"
