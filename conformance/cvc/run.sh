#!/usr/bin/env bash
# ePassport CV certificates (BSI TR-03110) and SPOC messages (TR-03129) against OpenPACE's tools
# (Debian `openpace`), the independent implementation:
#   cvc-print --cvc-dir   Certgate's CVCA, link, DV and IS certificates chain-verify
#   cvc-print -r          requests Certgate's encoder writes parse and their inner signature verifies
#   cvc-create            a foreign CVCA and DVs (one expired) that Certgate imports and validates;
#                         a foreign DV's renewal signed with cvc-create's key gets a dv_foreign certificate
# and each refusal gets its return code: tampered inner/outer signature, wrong domain parameters,
# expired outer certificate, malformed request (failure_syntax, HTTP 400, never 5xx).
#
# Needs: apt-get install -y openpace openssl curl
set -euo pipefail

cd "$(dirname "$0")/../.."
. conformance/lib.sh
conf_require "apt-get install -y openpace openssl curl" cvc-create cvc-print openssl curl node

HTTP_PORT=${CVC_CONF_HTTP_PORT:-22080}
HTTPS_PORT=${CVC_CONF_HTTPS_PORT:-22443}
conf_workdir cvc
CLI() { CERTGATE_DATA_DIR=$DATA CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT node bin/certgate.mjs "$@"; }
REQ() { node --import tsx conformance/cvc/request.ts "$@"; }
URL=http://127.0.0.1:$HTTP_PORT/epassport/v5
TRUST=$WORK/trust
mkdir -p "$TRUST" "$WORK/zz"
CHECKS=0

step "Certgate on :$HTTP_PORT"
env CERTGATE_DATA_DIR=$DATA CERTGATE_HOST=127.0.0.1 CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT \
  CERTGATE_PUBLIC_URL=http://127.0.0.1:$HTTP_PORT CERTGATE_LOG_LEVEL=${CERTGATE_LOG_LEVEL:-info} \
  node bin/certgate.mjs serve >>"$WORK/certgate.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 480); do
  if [ -s "$DATA/root.pem" ] && curl -fsS -o /dev/null -X POST -H 'content-type: application/json' -d '{"callbackIndicator":"callback_not_possible"}' "$URL/getCACertificates" 2>/dev/null; then break; fi
  [ "$i" = 480 ] && fail "Certgate did not come up within 240 s"
  sleep 0.5
done

# verified <file>: cvc-print chain-verifies the certificate against $TRUST.
verified() {
  local out
  out=$(cvc-print --cvc "$1" --cvc-dir "$TRUST" 2>&1) || fail "cvc-print $1: $out"
  echo "$out" | grep -q '^certificate verified' || fail "cvc-print did not verify $1: $out"
  echo "$out" | sed -n '2,6p'
  CHECKS=$((CHECKS + 1))
}
# message <operation> <json> → prints the JSON answer; fails on a 5xx.
message() {
  local code
  code=$(curl -sS -o "$WORK/answer.json" -w '%{http_code}' -X POST -H 'content-type: application/json' --data-binary "$2" "$URL/$1")
  [ "${code:0:1}" = 5 ] && fail "$1 answered HTTP $code"
  cat "$WORK/answer.json"
}
returncode() { node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).returnCode)'; }
first_cert() { node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); if(!j.certificateSeq) process.exit(1); process.stdout.write(Buffer.from(j.certificateSeq[0],"base64"))' > "$1"; }
request_json() { printf '{"callbackIndicator":"callback_not_possible","messageID":"%s","certReq":"%s"}' "$1" "$(base64 -w0 "$2")"; }
expect_code() { # expect_code <want> <operation> <json>
  local got
  got=$(message "$2" "$3" | returncode)
  [ "$got" = "$1" ] || fail "expected $1, got $got"
  echo "$2 → $got"
  CHECKS=$((CHECKS + 1))
}
key() { openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$1" -outform DER -out "$2" 2>/dev/null; openssl pkcs8 -topk8 -nocrypt -inform DER -in "$2" -outform DER -out "$2.p8"; mv "$2.p8" "$2"; }

step "CVCA UTCVCA00001 (brainpoolP256r1) made by certgate cvc cvca create; cvc-print verifies it"
CLI cvc cvca create --chr UTCVCA00001 --curve brainpoolP256r1 --type is --out "$TRUST/UTCVCA00001"
verified "$TRUST/UTCVCA00001"

step "profiles, a DV Certgate operates, a registered terminal"
CLI cvc profile put dv-is --role dv_domestic --type is --chat 03 --max-days 90
CLI cvc profile put dv-foreign --role dv_foreign --type is --chat 01 --max-days 30
CLI cvc profile put is-term --role terminal --type is --chat 03 --max-days 14
CLI cvc dv create --chr UTDVIS00001 --cvca UTCVCA --rights 03 --days 60 --out "$TRUST/UTDVIS00001"
verified "$TRUST/UTDVIS00001"
CLI cvc terminal register --holder UTIST --dv UTDVIS --profile is-term --allow-initial

step "a terminal request written by Certgate parses with cvc-print -r; RequestCertificate (JSON) → an IS certificate cvc-print verifies"
key brainpoolP256r1 "$WORK/is.key"
REQ --key "$WORK/is.key" --chr UTIST00001 --out "$WORK/is.cvreq"
out=$(cvc-print -r "$WORK/is.cvreq" 2>&1) || fail "cvc-print -r: $out"
echo "$out" | grep -q 'certificate request verified' || fail "cvc-print -r did not verify the request: $out"
CHECKS=$((CHECKS + 1))
message requestCertificate "$(request_json is-1 "$WORK/is.cvreq")" | first_cert "$WORK/UTIST00001.cvcert" || fail "no certificate: $(cat "$WORK/answer.json")"
verified "$WORK/UTIST00001.cvcert"

step "a DV request processed by the operator (certgate cvc request), then renewed over JSON with its outer signature"
CLI cvc dv register --holder UTDVEXT --cvca UTCVCA --profile dv-is --allow-initial
key brainpoolP256r1 "$WORK/dv1.key"
key brainpoolP256r1 "$WORK/dv2.key"
REQ --key "$WORK/dv1.key" --chr UTDVEXT00001 --car UTCVCA00001 --out "$WORK/dv1.cvreq"
cvc-print -r "$WORK/dv1.cvreq" | grep -q 'certificate request verified' || fail "cvc-print -r dv1"
CLI cvc request "$WORK/dv1.cvreq" --out "$TRUST/UTDVEXT00001"
verified "$TRUST/UTDVEXT00001"
REQ --key "$WORK/dv2.key" --chr UTDVEXT00002 --outer-car UTDVEXT00001 --outer-key "$WORK/dv1.key" --out "$WORK/dv2.cvreq"
message requestCertificate "$(request_json dv-2 "$WORK/dv2.cvreq")" | first_cert "$WORK/UTDVEXT00002.cvcert" || fail "renewal: $(cat "$WORK/answer.json")"
verified "$WORK/UTDVEXT00002.cvcert"

step "refusals: tampered inner and outer signature, wrong domain parameters, replayed allowance"
REQ --key "$WORK/dv2.key" --chr UTDVEXT00003 --outer-car UTDVEXT00001 --outer-key "$WORK/dv1.key" --tamper inner --out "$WORK/bad-inner.cvreq"
expect_code failure_inner_signature requestCertificate "$(request_json bad-1 "$WORK/bad-inner.cvreq")"
REQ --key "$WORK/dv2.key" --chr UTDVEXT00003 --outer-car UTDVEXT00001 --outer-key "$WORK/dv1.key" --tamper outer --out "$WORK/bad-outer.cvreq"
expect_code failure_outer_signature requestCertificate "$(request_json bad-2 "$WORK/bad-outer.cvreq")"
key prime256v1 "$WORK/p256.key"
REQ --key "$WORK/p256.key" --chr UTDVEXT00003 --outer-car UTDVEXT00001 --outer-key "$WORK/dv1.key" --out "$WORK/p256.cvreq"
expect_code failure_domain_parameters requestCertificate "$(request_json bad-3 "$WORK/p256.cvreq")"
REQ --key "$WORK/dv2.key" --chr UTDVEXT00003 --out "$WORK/bare.cvreq"
expect_code failure_request_not_accepted requestCertificate "$(request_json bad-4 "$WORK/bare.cvreq")"

step "a foreign CVCA and DVs made by cvc-create: imported and validated; expired outer certificate → failure_expired"
key brainpoolP384r1 "$WORK/zz/cvca.key"; key brainpoolP384r1 "$WORK/zz/old.key"; key brainpoolP384r1 "$WORK/zz/new.key"
(cd "$WORK/zz" && cvc-create --role=cvca --type=is --chr=ZZCVCA00001 --issued=200101 --expires=351231 --sign-with=cvca.key --scheme=ECDSA_SHA_384 >/dev/null \
  && cvc-create --role=dv_foreign --chr=ZZDVOLD00001 --issued=200101 --expires=200630 --sign-with=cvca.key --sign-as=ZZCVCA00001.cvcert --key=old.key --scheme=ECDSA_SHA_384 >/dev/null \
  && cvc-create --role=dv_foreign --chr=ZZDVNEW00001 --expires=341231 --sign-with=cvca.key --sign-as=ZZCVCA00001.cvcert --key=new.key --scheme=ECDSA_SHA_384 >/dev/null)
if CLI cvc import "$WORK/zz/ZZDVNEW00001.cvcert" 2>"$WORK/err.txt"; then fail "a DV of an unknown CVCA was imported"; fi
CLI cvc import "$WORK/zz/ZZCVCA00001.cvcert"
CLI cvc import "$WORK/zz/ZZDVOLD00001.cvcert"
CLI cvc import "$WORK/zz/ZZDVNEW00001.cvcert"
cp "$WORK/zz/ZZDVNEW00001.cvcert" "$WORK/zz/tampered.cvcert"; printf '\x00' | dd of="$WORK/zz/tampered.cvcert" bs=1 seek=$(($(stat -c %s "$WORK/zz/tampered.cvcert") - 4)) conv=notrunc 2>/dev/null
if CLI cvc import "$WORK/zz/tampered.cvcert" 2>"$WORK/err.txt"; then fail "a tampered foreign DV certificate was imported"; fi
CHECKS=$((CHECKS + 2))
CLI cvc dv register --holder ZZDVOLD --cvca UTCVCA --role dv_foreign --profile dv-foreign
CLI cvc dv register --holder ZZDVNEW --cvca UTCVCA --role dv_foreign --profile dv-foreign
key brainpoolP256r1 "$WORK/zz/next.key"
REQ --key "$WORK/zz/next.key" --chr ZZDVOLD00002 --outer-car ZZDVOLD00001 --outer-key "$WORK/zz/old.key" --out "$WORK/zz/old.cvreq"
expect_code failure_expired requestCertificate "$(request_json zz-1 "$WORK/zz/old.cvreq")"
REQ --key "$WORK/zz/next.key" --chr ZZDVNEW00002 --car UTCVCA00001 --outer-car ZZDVNEW00001 --outer-key "$WORK/zz/new.key" --out "$WORK/zz/new.cvreq"
message requestCertificate "$(request_json zz-2 "$WORK/zz/new.cvreq")" | first_cert "$WORK/ZZDVNEW00002.cvcert" || fail "foreign DV: $(cat "$WORK/answer.json")"
verified "$WORK/ZZDVNEW00002.cvcert"

step "GetCACertificates, malformed messages (failure_syntax, HTTP 400)"
expect_code ok_cert_available getCACertificates '{"callbackIndicator":"callback_not_possible"}'
expect_code failure_syntax requestCertificate '{"callbackIndicator":"callback_not_possible","certReq":"fyGC//8AAA=="}'
expect_code failure_syntax requestCertificate '{"callbackIndicator":"maybe","certReq":"fyE="}'
expect_code failure_syntax requestCertificate 'not json'

step "CVCA rollover: the link certificate UTCVCA00002 verifies under UTCVCA00001"
CLI cvc cvca rollover --holder UTCVCA --out "$WORK/link.cvcert"
verified "$WORK/link.cvcert"

echo
echo "cvc conformance: $CHECKS checks passed"
