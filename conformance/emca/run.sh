#!/usr/bin/env bash
# emCA Open API V4 conformance: a client written with nothing but openssl (enc for AES-256,
# cms -sign for PKCS#7, req for CSRs, pkcs12/x509/crl to check results) and curl, against a
# Certgate started here on a temporary data directory and a free port.
#
#   conformance/emca/run.sh            (from the repository root or anywhere)
#
# Steps: register an application, createCertificate, createPKCS12 (opened with openssl pkcs12),
# getCertificate, suspend, reinstate, revoke (the CRL then lists it), rekey, several CSRs in one
# call, and a manual-authorization round trip (officer approval through the CLI); then fidelity to
# the documents (rekey serialNum + aliasname, the CA by its CN, the documents' error strings,
# multi-CSR all or nothing, RSA-1024, the PKCS#12 password rule, a shortened validity reported);
# then V5 CA Management (createCA, importCertificate, CRL settings, getCrl — openssl verify/crl) and
# OCSP Management (responder create, rotate, map, revoke — answers checked with openssl ocsp),
# with role-gated tokens, and /emca/openapi.json linted by redocly; then eSign (hash → CMS,
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

# ── fidelity to the documents (issue 16 item 4) ─────────────────────────────
expect_result() { # expect_result OUT TEXT LABEL
  [[ "$(jget result "$1")" == "$2" ]] || die "$3: expected \"$2\", got $(cat "$1")"
}
# rekey with the sample's spelling serialNum; the answer carries aliasname as the sample shows
new_csr "/CN=rekey-sample" "$WORK/s1.csr"
call createCertificate "\"signature\":\"$(sign "$WORK/s1.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/s1.json"
expect_success "$WORK/s1.json" "createCertificate (for serialNum rekey)"
result_der "$WORK/s1.json" "$WORK/s1.der"
S1_SERIAL="$(openssl x509 -inform DER -in "$WORK/s1.der" -noout -serial | sed 's/^serial=//')"
new_csr "/CN=ignored" "$WORK/s2.csr"
call rekey "\"signature\":\"$(sign "$WORK/s2.csr")\",\"serialNum\":\"$S1_SERIAL\",\"remarks\":\"lost\",\"validFrom\":\"\",\"applicationId\":\"$(app_id)\",\"isSignedData\":\"true\"" "$WORK/s2.json"
expect_success "$WORK/s2.json" "rekey with serialNum"
jnull aliasname "$WORK/s2.json" || die "rekey: no aliasname in $(cat "$WORK/s2.json")"
result_der "$WORK/s2.json" "$WORK/s2.der"
openssl x509 -inform DER -in "$WORK/s2.der" -noout -subject | grep -q 'CN *= *rekey-sample' || die "rekey serialNum: subject not kept"
ok "rekey with serialNum (the sample's spelling): success, \"aliasname\":null"
call rekey "\"signature\":\"$(sign "$WORK/s2.csr")\",\"serialNum\":\"0abcdef123\",\"remarks\":\"x\",\"applicationId\":\"$(app_id)\"" "$WORK/s3.json"
expect_result "$WORK/s3.json" "Invalid serial number" "rekey unknown serial"
jnull aliasname "$WORK/s3.json" || die "rekey failure without aliasname"
ok "rekey unknown serial → Invalid serial number (with aliasname)"
CA_CN="$(openssl x509 -inform DER -in "$WORK/a.der" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p')"
call getCertificateProfileList "\"signature\":\"$(sign_text "$CA_CN")\"" "$WORK/pl.json"
expect_success "$WORK/pl.json" "getCertificateProfileList by the CA's CN ($CA_CN)"
ok "getCertificateProfileList accepts the issuing CA's CN \"$CA_CN\""
printf '%s' 'CN=x~KeyAlogirthmAndSize=EC-P256~Password=p' >"$WORK/e.txt"
call createPKCS12 "\"signature\":\"$(sign "$WORK/e.txt")\",\"profileName\":\"Class2IndividualSignatureOneyear\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/e1.json"
expect_result "$WORK/e1.json" "Invalid Certificate Profile" "createPKCS12 unknown profile"
call createPKCS12ById "\"signature\":\"$(sign "$WORK/e.txt")\",\"profileID\":\"987654\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/e2.json"
expect_result "$WORK/e2.json" "987654 profile does not exist" "createPKCS12ById unknown id"
call createCertificateById "\"signature\":\"$(sign "$WORK/a.csr")\",\"profileID\":\"$PROFILE_ID\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\",\"validFrom\":\"2019-12-12\"" "$WORK/e3.json"
expect_result "$WORK/e3.json" "Invalid From Date" "createCertificateById bad validFrom"
call createCertificate "\"signature\":\"$(sign_text 'not a CSR')\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/e4.json"
expect_result "$WORK/e4.json" "Please enter valid data" "createCertificate bad CSR"
ok "the documents' error strings: Invalid Certificate Profile, <id> profile does not exist, Invalid From Date, Please enter valid data"
openssl req -new -newkey rsa:1024 -nodes -keyout "$WORK/weak.key" -subj "/CN=weak" -outform DER -out "$WORK/weak.csr" 2>/dev/null
call createCertificate "\"signature\":\"$(sign "$WORK/weak.csr")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/w1.json"
expect_result "$WORK/w1.json" "Please enter valid data" "RSA-1024 CSR"
printf '%s' 'CN=weak~KeyAlogirthmAndSize=RSA-1024~Password=p' >"$WORK/w.txt"
call createPKCS12 "\"signature\":\"$(sign "$WORK/w.txt")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/w2.json"
expect_result "$WORK/w2.json" "Please enter valid data" "RSA-1024 createPKCS12"
ok "RSA-1024 refused (CSR and KeyAlogirthmAndSize) with Please enter valid data"
# multi-CSR all or nothing: item 2 is RSA-1024 → nothing issued for this subscriber
printf 'ID1|%s~ID2|%s' "$(base64 -w0 "$WORK/m1.csr")" "$(base64 -w0 "$WORK/weak.csr")" >"$WORK/aon.txt"
call createCertificatesByIdWithMultipleCsrData "\"signature\":\"$(sign "$WORK/aon.txt")\",\"profileID\":\"$PROFILE_ID\",\"subscriberId\":\"aon-$$\",\"applicationId\":\"$(app_id)\"" "$WORK/aon.json"
expect_result "$WORK/aon.json" "Please enter valid data" "multi-CSR with a refused item"
call getExpirySoonCertificate "\"signature\":\"$(sign_text 3650)\",\"noOfDaysToExpirySoon\":\"3650\",\"subscriberId\":\"aon-$$\"" "$WORK/aon2.json"
expect_result "$WORK/aon2.json" "No Certificate is available for the specified time period" "multi-CSR left a certificate behind"
ok "multi-CSR is all or nothing: item 2 refused, item 1 not issued"
# PKCS#12 password: verbatim, a trailing space kept; ~ allowed when Password is last
printf '%s' 'CN=Password Rule~KeyAlogirthmAndSize=EC-P256~Password=conf pass~x ' >"$WORK/pw.txt"
call createPKCS12 "\"signature\":\"$(sign "$WORK/pw.txt")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/pw.json"
expect_success "$WORK/pw.json" "createPKCS12 (password rule)"
result_der "$WORK/pw.json" "$WORK/pw.p12"
openssl pkcs12 -in "$WORK/pw.p12" -noout -passin 'pass:conf pass~x ' 2>/dev/null || die "PFX does not open with the verbatim password"
if openssl pkcs12 -in "$WORK/pw.p12" -noout -passin 'pass:conf pass~x' 2>/dev/null; then die "trailing space dropped"; fi
printf '%s' 'CN=x~Password=a~b~KeyAlogirthmAndSize=EC-P256' >"$WORK/pw2.txt"
call createPKCS12 "\"signature\":\"$(sign "$WORK/pw2.txt")\",\"profileName\":\"tls-client\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\"" "$WORK/pw2.json"
jget result "$WORK/pw2.json" | grep -q '^Invalid PFX password: a password that contains the item separator must be the last item' || die "ambiguous password: $(cat "$WORK/pw2.json")"
ok "createPKCS12 password kept verbatim ('conf pass~x ' opens the PFX); an ambiguous one is refused"
call createCertificateById "\"signature\":\"$(sign "$WORK/m1.csr")\",\"profileID\":\"$PROFILE_ID\",\"subscriberId\":\"s\",\"applicationId\":\"$(app_id)\",\"validity\":\"5000:0:0:0\"" "$WORK/cl.json"
expect_success "$WORK/cl.json" "createCertificateById (clamped)"
grep -q '"validityClamped":{"notAfter":"[0-9:]* [0-9:]*","requested":"[0-9:]* [0-9:]*","limit":"profile maximum"}' "$WORK/cl.json" || die "no validityClamped: $(head -c 300 "$WORK/cl.json")"
result_der "$WORK/cl.json" "$WORK/cl.der"
CL_END="$(openssl x509 -inform DER -in "$WORK/cl.der" -noout -enddate | sed 's/^notAfter=//')"
[[ "$(jget notAfter "$WORK/cl.json")" == "$(date -u -d "$CL_END" '+%d:%m:%Y %H:%M:%S')" ]] || die "validityClamped.notAfter is not the certificate's ($CL_END)"
ok "a validity shortened to the profile maximum is reported (validityClamped, notAfter = openssl's $CL_END)"

# ── V5 CA Management and OCSP Management (issue 16 item 3) ───────────────────
(cd "$ROOT" && "${CG[@]}" emca-client add --name conf-admin --ip 127.0.0.1 --role administrator --json) >"$WORK/adm.json" || die "emca-client add --role administrator failed"
v5token() { # v5token USER PASSWORD → JWT
  curl -fsS -X POST "$BASE/emca/v5/auth/token" -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" | grep -o '"token":"[^"]*"' | sed -e 's/^"token":"//' -e 's/"$//'
}
ADM_TOKEN="$(v5token conf-admin "$(jget password "$WORK/adm.json")")"
CLI_TOKEN="$(v5token "$USER_NAME" "$PASSWORD")"
[[ -n "$ADM_TOKEN" && -n "$CLI_TOKEN" ]] || die "no V5 tokens"
v5() { # v5 TOKEN METHOD PATH OUT [JSON] → HTTP status on stdout
  local args=(-sS -o "$4" -w '%{http_code}' -X "$2" "$BASE$3" -H "X-Emca-Api-Key: $1" -H 'Content-Type: application/json')
  [[ $# -ge 5 ]] && args+=(--data-binary "$5")
  curl "${args[@]}"
}
[[ "$(v5 "$CLI_TOKEN" POST /emca/v5/cas "$WORK/c0.json" '{"id":"conf-root","name":"x","validityDays":30}')" == 403 ]] || die "a client-role token created a CA: $(cat "$WORK/c0.json")"
ok "V5 createCA with a client-role token → 403 ($(jget result "$WORK/c0.json"))"
[[ "$(v5 "$ADM_TOKEN" POST /emca/v5/cas "$WORK/c1.json" '{"id":"conf-root","name":"Conformance Root","keyType":"ec-p384","validityDays":3650}')" == 201 ]] || die "createCA root: $(cat "$WORK/c1.json")"
[[ "$(v5 "$ADM_TOKEN" POST /emca/v5/cas "$WORK/c2.json" '{"id":"conf-sub","name":"Conformance Sub","parentId":"conf-root","keyType":"rsa-2048","validityDays":365,"pathLength":0}')" == 201 ]] || die "createCA sub: $(cat "$WORK/c2.json")"
jget certificate "$WORK/c1.json" | base64 -d | openssl x509 -inform DER -out "$WORK/conf-root.pem"
jget certificate "$WORK/c2.json" | base64 -d | openssl x509 -inform DER -out "$WORK/conf-sub.pem"
openssl verify -CAfile "$WORK/conf-root.pem" "$WORK/conf-sub.pem" >/dev/null || die "the created sub CA does not verify under the created root"
openssl x509 -in "$WORK/conf-sub.pem" -noout -text | grep -q 'CA:TRUE, pathlen:0' || die "sub CA: basicConstraints"
ok "V5 createCA: a root and a subordinate; openssl verify OK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/imp.key" -out "$WORK/imp.pem" -subj "/CN=Conformance Imported Root" -days 30 \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
node -e 'const fs=require("fs");const [c,k]=process.argv.slice(1).map(f=>fs.readFileSync(f,"utf8"));process.stdout.write(JSON.stringify({id:"conf-imported",certificatePem:c,privateKeyPem:k}))' "$WORK/imp.pem" "$WORK/imp.key" >"$WORK/imp.json"
[[ "$(v5 "$ADM_TOKEN" POST /emca/v5/cas/import "$WORK/c3.json" "@$WORK/imp.json")" == 201 ]] || die "importCertificate: $(cat "$WORK/c3.json")"
if grep -q 'PRIVATE KEY' "$WORK/c3.json"; then die "importCertificate echoed the key"; fi
[[ "$(v5 "$ADM_TOKEN" GET /emca/v5/cas/conf-imported/crl "$WORK/c4.json")" == 200 ]] || die "getCrl: $(cat "$WORK/c4.json")"
jget crl "$WORK/c4.json" | base64 -d >"$WORK/imp.crl"
openssl crl -inform DER -in "$WORK/imp.crl" -noout -CAfile "$WORK/imp.pem" 2>&1 | grep -q 'verify OK' || die "the imported CA's CRL does not verify under its certificate"
ok "V5 importCertificate: an openssl-made CA; its CRL (signed with the imported key) verifies"
[[ "$(v5 "$ADM_TOKEN" PUT /emca/v5/cas/conf-sub/crl-settings "$WORK/c5.json" '{"crlValidityHours":6}')" == 200 ]] || die "CRL settings: $(cat "$WORK/c5.json")"
v5 "$ADM_TOKEN" GET /emca/v5/cas/conf-sub "$WORK/c6.json" >/dev/null
grep -q '"crlSettings":{"crlValidityHours":6}' "$WORK/c6.json" || die "CA status: $(cat "$WORK/c6.json")"
grep -q '"status":"active"' "$WORK/c6.json" || die "CA status not active"
ok "V5 CRL settings changed and shown in the CA's status"
# OCSP: the issuing CA of the conformance leaf
ISSUER_ID=dev-issuing
v5 "$ADM_TOKEN" GET "/emca/v5/cas/$ISSUER_ID" "$WORK/iss.json" >/dev/null
jget certificate "$WORK/iss.json" | base64 -d | openssl x509 -inform DER -out "$WORK/issuing.pem"
v5 "$ADM_TOKEN" GET "/emca/v5/cas/dev-root" "$WORK/root.json" >/dev/null
jget certificate "$WORK/root.json" | base64 -d | openssl x509 -inform DER -out "$WORK/devroot.pem"
cat "$WORK/issuing.pem" "$WORK/devroot.pem" >"$WORK/chain.pem"
openssl x509 -inform DER -in "$WORK/k2.der" -out "$WORK/leaf.pem"
ocsp_signer() { # → the serial (upper-case hex) of the certificate in the OCSP answer for the leaf; verifies it
  openssl ocsp -url "$BASE/ocsp" -issuer "$WORK/issuing.pem" -cert "$WORK/leaf.pem" -CAfile "$WORK/chain.pem" -no_nonce -respout "$WORK/resp.der" >"$WORK/ocsp.txt" 2>&1 || die "openssl ocsp: $(cat "$WORK/ocsp.txt")"
  grep -q 'Response verify OK' "$WORK/ocsp.txt" || die "OCSP answer does not verify: $(cat "$WORK/ocsp.txt")"
  grep -q ': good' "$WORK/ocsp.txt" || die "OCSP: not good"
  openssl ocsp -respin "$WORK/resp.der" -resp_text -noverify | awk '/^Certificate:/{c=1} c&&/Serial Number:/{getline; print; exit}' | tr -d ' :\n' | tr a-f A-F
}
up() { tr -d ' :\n' | tr a-f A-F; }
[[ "$(v5 "$CLI_TOKEN" POST /emca/v5/ocsp/responders "$WORK/o0.json" "{\"caId\":\"$ISSUER_ID\"}")" == 403 ]] || die "a client-role token created a responder"
[[ "$(v5 "$ADM_TOKEN" POST /emca/v5/ocsp/responders "$WORK/o1.json" "{\"caId\":\"$ISSUER_ID\",\"validityDays\":7}")" == 201 ]] || die "responder create: $(cat "$WORK/o1.json")"
R1="$(jget id "$WORK/o1.json")"; R1_SERIAL="$(jget serial "$WORK/o1.json" | up)"
[[ "$(ocsp_signer)" == "$R1_SERIAL" ]] || die "OCSP not signed by the created responder $R1_SERIAL"
ok "V5 OCSP responder created ($R1_SERIAL); openssl ocsp verifies an answer it signed"
[[ "$(v5 "$ADM_TOKEN" POST "/emca/v5/ocsp/responders/$R1/rotate" "$WORK/o2.json")" == 201 ]] || die "rotate: $(cat "$WORK/o2.json")"
R2_SERIAL="$(jget serial "$WORK/o2.json" | up)"
[[ "$(ocsp_signer)" == "$R2_SERIAL" ]] || die "OCSP not signed by the rotated responder"
ok "V5 OCSP responder rotated; answers signed by the new one ($R2_SERIAL)"
[[ "$(v5 "$ADM_TOKEN" POST "/emca/v5/ocsp/responders/$R1/map" "$WORK/o3.json")" == 200 ]] || die "map: $(cat "$WORK/o3.json")"
[[ "$(ocsp_signer)" == "$R1_SERIAL" ]] || die "OCSP not signed by the mapped responder"
ok "V5 OCSP responder mapped back to the CA; answers signed by it again"
[[ "$(v5 "$ADM_TOKEN" POST "/emca/v5/ocsp/responders/$R1/revoke" "$WORK/o4.json" '{"reason":"keyCompromise","replace":true}')" == 200 ]] || die "revoke: $(cat "$WORK/o4.json")"
grep -q '"responder":{[^}]*"status":"revoked"' "$WORK/o4.json" || die "responder not revoked: $(cat "$WORK/o4.json")"
[[ "$(ocsp_signer)" != "$R1_SERIAL" ]] || die "a revoked responder still signs"
curl -fsS -o "$WORK/iss.crl" "$BASE/crl/$ISSUER_ID.crl" || die "CRL download"
openssl crl -inform DER -in "$WORK/iss.crl" -noout -text | tr -d ':' | grep -qi "Serial Number *$R1_SERIAL" || die "the revoked responder is not on the CRL"
ok "V5 OCSP responder revoked (on the CRL) and replaced; answers signed by the replacement"
[[ "$(v5 "$ADM_TOKEN" PUT "/emca/v5/ocsp/cas/$ISSUER_ID/settings" "$WORK/o5.json" '{"validitySeconds":7200,"maxAgeSeconds":600}')" == 200 ]] || die "OCSP settings: $(cat "$WORK/o5.json")"
ok "V5 OCSP response caching configured"
curl -fsS -o "$WORK/openapi.json" "$BASE/emca/openapi.json" || die "no /emca/openapi.json"
if [[ -x "$ROOT/node_modules/.bin/redocly" ]]; then
  REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$ROOT/node_modules/.bin/redocly" lint "$WORK/openapi.json" >"$WORK/lint.txt" 2>&1 || die "redocly lint: $(tail -n 30 "$WORK/lint.txt")"
  ok "/emca/openapi.json: redocly lint passes"
else
  die "redocly (node_modules/.bin) is missing: run npm ci"
fi

# eSign (hash and PDF signing with the signer's one-time code) and key recovery.
source "$ROOT/conformance/emca/esign.sh"

echo "emCA conformance: $PASS checks passed"
