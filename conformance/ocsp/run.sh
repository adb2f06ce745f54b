#!/usr/bin/env bash
# OCSP and CRL conformance against a real Certgate server, with real clients:
#   openssl ocsp over POST (with and without nonce) and GET (curl, RFC 5019 URL), for good, revoked,
#   suspended (certificateHold) and unknown certificates; the delegated responder's chain and EKU;
#   issuer-signed responses by setting; a second (RSA-2048) issuer; responder rotation and revocation;
#   openssl verify -crl_check with the issuer's CRL, and -use_deltas with a base and a delta CRL.
# Needs: node 20, openssl 3, curl. Fails loudly on any step.
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certgate-ocsp-conf.XXXXXX")
export CERTGATE_DATA_DIR=$WORK/data
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export CERTGATE_HTTP_PORT=$PORT CERTGATE_HOST=127.0.0.1 CERTGATE_PUBLIC_URL=http://127.0.0.1:$PORT CERTGATE_LOG_LEVEL=warn
URL=http://127.0.0.1:$PORT
CG=(node "$REPO/bin/certgate.mjs")
PASS=0

step() { printf '\n== %s\n' "$*"; }
ok() { PASS=$((PASS + 1)); printf '   ok: %s\n' "$*"; }
die() { printf '   FAIL: %s\n' "$*" >&2; [ -f "$WORK/server.log" ] && tail -n 40 "$WORK/server.log" >&2; exit 1; }
expect_in() { # expect_in <file> <fixed string> <what>
  grep -qF -- "$2" "$1" || { cat "$1" >&2; die "$3: expected \"$2\""; }
}
expect_not_in() {
  if grep -qF -- "$2" "$1"; then cat "$1" >&2; die "$3: did not expect \"$2\""; fi
}

SERVER_PID=
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

cd "$WORK"
step "start certgate (PGlite in $CERTGATE_DATA_DIR, port $PORT)"
"${CG[@]}" serve --no-https >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited"
  sleep 0.2
done
curl -fsS "$URL/healthz" >/dev/null || die "the server did not come up"
ok "server up"

TOKEN=$("${CG[@]}" token create --role administrator --name ocsp-conformance)
[ -n "$TOKEN" ] || die "no admin token"
api() { # api METHOD PATH [JSON]
  curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"} "$URL/api/v1$2"
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=eval("(x)=>x"+process.argv[1])(JSON.parse(s));process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }

step "CA certificates"
curl -fsS "$URL/ca/dev-root.crt" -o root.der && openssl x509 -inform DER -in root.der -out root.pem
curl -fsS "$URL/ca/dev-issuing.crt" -o issuing.der && openssl x509 -inform DER -in issuing.der -out issuing.pem
openssl verify -CAfile root.pem issuing.pem >/dev/null || die "issuing CA does not chain to the root"
ok "root and issuing CA fetched"

step "the delegated responder certificate (created at start)"
for _ in $(seq 1 50); do
  RESP_PEM=$(api GET /ocsp/issuers/dev-issuing | json '.activeResponder && x.activeResponder.certificatePem' || true)
  [ -n "$RESP_PEM" ] && [ "$RESP_PEM" != "null" ] && break
  sleep 0.2
done
printf '%s' "$RESP_PEM" >responder.pem
openssl x509 -in responder.pem -noout -text >responder.txt || die "no responder certificate"
expect_in responder.txt "OCSP Signing" "responder EKU"
openssl verify -CAfile root.pem -untrusted issuing.pem responder.pem >/dev/null || die "responder certificate does not chain to the root"
ok "responder certificate: EKU OCSPSigning, chains to the root"
expect_in responder.txt "OCSP No Check" "responder id-pkix-ocsp-nocheck"
expect_not_in responder.txt "CRL Distribution Points" "responder certificate (no CRL DP with nocheck)"
ok "id-pkix-ocsp-nocheck present, no CRL DP"
"${CG[@]}" ocsp list >ocsp-list.txt
expect_in ocsp-list.txt "dev-issuing" "certgate ocsp list"
expect_in ocsp-list.txt "signed by delegated" "certgate ocsp list"
ok "certgate ocsp list"

issue() { # issue <name> [issuer]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$1.example" -addext "subjectAltName=DNS:$1.example" 2>/dev/null
  "${CG[@]}" cert issue --csr "$1.csr" --profile tls-server ${2:+--issuer "$2"} >"$1.pem"
  openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2
}

step "issue good, revoked and suspended certificates through the CLI"
issue good >/dev/null
REVOKED_SERIAL=$(issue revoked)
SUSPENDED_SERIAL=$(issue suspended)
"${CG[@]}" cert revoke --serial "$REVOKED_SERIAL" --reason keyCompromise >/dev/null
"${CG[@]}" cert suspend --serial "$SUSPENDED_SERIAL" >/dev/null
ok "3 certificates issued; one revoked (keyCompromise), one suspended"

ocsp_post() { # ocsp_post <name> <outfile> [extra openssl args]
  local name=$1 out=$2; shift 2
  openssl ocsp -issuer issuing.pem -cert "$name.pem" -url "$URL/ocsp" -CAfile root.pem "$@" >"$out" 2>&1 || { cat "$out" >&2; die "openssl ocsp failed for $name"; }
  expect_in "$out" "Response verify OK" "$name: signature and responder chain"
}

for mode in nonce no_nonce; do
  step "POST /ocsp ($mode)"
  extra=(); [ "$mode" = no_nonce ] && extra=(-no_nonce)
  ocsp_post good post-good.txt "${extra[@]}"
  expect_in post-good.txt "good.pem: good" "good"
  ocsp_post revoked post-revoked.txt "${extra[@]}"
  expect_in post-revoked.txt "revoked.pem: revoked" "revoked"
  expect_in post-revoked.txt "Reason: keyCompromise" "revocation reason"
  ocsp_post suspended post-suspended.txt "${extra[@]}"
  expect_in post-suspended.txt "suspended.pem: revoked" "suspended"
  expect_in post-suspended.txt "Reason: certificateHold" "suspension reason"
  openssl ocsp -issuer issuing.pem -serial 0x7ABCDEF0123456789 -url "$URL/ocsp" -CAfile root.pem "${extra[@]}" >post-unknown.txt 2>&1 || die "openssl ocsp (unknown)"
  expect_in post-unknown.txt ": unknown" "unknown"
  expect_in post-unknown.txt "Response verify OK" "unknown: signature"
  for f in post-good.txt post-revoked.txt post-suspended.txt post-unknown.txt; do
    expect_not_in "$f" "WARNING" "$f (nonce)"
  done
  ok "good, revoked (keyCompromise), suspended (certificateHold), unknown — verified"
done

step "GET /ocsp/<base64> (RFC 5019) with and without nonce"
urlenc() { node -e 'process.stdout.write(encodeURIComponent(require("fs").readFileSync(process.argv[1]).toString("base64")))' "$1"; }
for name in good revoked suspended; do
  for mode in nonce no_nonce; do
    extra=(); [ "$mode" = no_nonce ] && extra=(-no_nonce)
    openssl ocsp -issuer issuing.pem -cert "$name.pem" "${extra[@]}" -reqout "get-$name-$mode.req" >/dev/null 2>&1 || die "openssl ocsp -reqout"
    curl -fsS -D "get-$name-$mode.hdr" -o "get-$name-$mode.resp" "$URL/ocsp/$(urlenc "get-$name-$mode.req")" || die "GET failed"
    expect_in "get-$name-$mode.hdr" "application/ocsp-response" "GET content type"
    # -reqin with -respin: openssl checks the response against that request (nonce included).
    openssl ocsp -reqin "get-$name-$mode.req" -respin "get-$name-$mode.resp" -issuer issuing.pem -CAfile root.pem -resp_text >"get-$name-$mode.txt" 2>&1 || { cat "get-$name-$mode.txt" >&2; die "openssl -respin"; }
    expect_in "get-$name-$mode.txt" "Response verify OK" "GET $name $mode"
    expect_not_in "get-$name-$mode.txt" "WARNING" "GET $name $mode (nonce)"
    expect_not_in "get-$name-$mode.txt" "Nonce Verify error" "GET $name $mode (nonce)"
    [ "$mode" = nonce ] && expect_in "get-$name-$mode.txt" "OCSP Nonce" "GET $name: nonce echoed"
    case $name in good) want="Cert Status: good" ;; *) want="Cert Status: revoked" ;; esac
    expect_in "get-$name-$mode.txt" "$want" "GET $name $mode"
    if [ "$mode" = no_nonce ]; then
      for h in "Cache-Control: max-age=" "ETag:" "Last-Modified:" "Expires:"; do
        grep -qi -- "^$h" "get-$name-$mode.hdr" || { cat "get-$name-$mode.hdr" >&2; die "GET $name: header $h missing"; }
      done
    fi
  done
done
ok "GET for good/revoked/suspended, with and without nonce; RFC 5019 caching headers present"

step "freshness: reinstate the suspended certificate, the next answer says good"
"${CG[@]}" cert reinstate --serial "$SUSPENDED_SERIAL" >/dev/null
ocsp_post suspended post-reinstated.txt -no_nonce
expect_in post-reinstated.txt "suspended.pem: good" "after reinstatement"
ok "good right after reinstatement"

step "malformed request"
head -c 100 /dev/urandom >junk.bin
curl -fsS -X POST -H 'Content-Type: application/ocsp-request' --data-binary @junk.bin -o junk.resp "$URL/ocsp"
[ "$(od -An -tx1 junk.resp | tr -d ' \n')" = "30030a0101" ] || die "junk did not get malformedRequest"
ok "junk POST -> malformedRequest"

step "issuer-signed responses by setting, then back to the delegated responder"
"${CG[@]}" ocsp settings --issuer dev-issuing --signing issuer >/dev/null
ocsp_post good post-issuer-signed.txt -resp_text
expect_not_in post-issuer-signed.txt "OCSP Signing" "issuer-signed response carries no responder certificate"
expect_in post-issuer-signed.txt "good.pem: good" "issuer-signed"
"${CG[@]}" ocsp settings --issuer dev-issuing --signing delegated >/dev/null
ocsp_post good post-delegated.txt -resp_text
expect_in post-delegated.txt "OCSP Signing" "delegated response carries the responder certificate"
ok "issuer-signed and delegated responses both verify"

step "responder rotation and revocation"
OLD_ID=$(api GET /ocsp/issuers/dev-issuing | json '.activeResponder.id')
OLD_SERIAL=$(api GET /ocsp/issuers/dev-issuing | json '.activeResponder.serial')
"${CG[@]}" ocsp responder create --issuer dev-issuing >/dev/null
NEW_ID=$(api GET /ocsp/issuers/dev-issuing | json '.activeResponder.id')
[ "$NEW_ID" != "$OLD_ID" ] || die "rotation did not create a new responder"
ocsp_post good post-rotated.txt
"${CG[@]}" ocsp responder revoke --id "$OLD_ID" --reason superseded >/dev/null
openssl ocsp -issuer issuing.pem -serial "0x$OLD_SERIAL" -url "$URL/ocsp" -CAfile root.pem -no_nonce >post-old-responder.txt 2>&1 || die "openssl ocsp (old responder)"
expect_in post-old-responder.txt ": revoked" "the retired responder certificate is revoked"
ocsp_post good post-after-revoke.txt
ok "rotated (new responder signs, verifies) and the old responder certificate is revoked"

step "a second issuer (RSA-2048)"
"${CG[@]}" issuer create --id conf-rsa --name "Conformance RSA Issuing CA" --parent dev-root --key-type rsa-2048 --path-length 0 >/dev/null
"${CG[@]}" ocsp responder create --issuer conf-rsa >/dev/null
curl -fsS "$URL/ca/conf-rsa.crt" -o rsa.der && openssl x509 -inform DER -in rsa.der -out rsa.pem
openssl req -new -newkey rsa:2048 -nodes -keyout rsaleaf.key -out rsaleaf.csr -subj "/CN=rsaleaf.example" -addext "subjectAltName=DNS:rsaleaf.example" 2>/dev/null
"${CG[@]}" cert issue --csr rsaleaf.csr --profile tls-server --issuer conf-rsa >rsaleaf.pem
openssl ocsp -issuer rsa.pem -cert rsaleaf.pem -url "$URL/ocsp" -CAfile root.pem -resp_text >post-rsa.txt 2>&1 || die "openssl ocsp (RSA issuer)"
expect_in post-rsa.txt "rsaleaf.pem: good" "RSA issuer"
expect_in post-rsa.txt "Response verify OK" "RSA issuer signature"
expect_in post-rsa.txt "sha256WithRSAEncryption" "RSA responder"
ok "second issuer answered by its own RSA responder"

step "CRL: openssl verify -crl_check"
curl -fsS "$URL/crl/dev-issuing.crl" -o issuing.crl.der
openssl crl -inform DER -in issuing.crl.der -out issuing.crl.pem
openssl crl -in issuing.crl.pem -CAfile issuing.pem -noout 2>&1 | grep -q "verify OK" || die "CRL signature"
openssl verify -crl_check -CAfile root.pem -untrusted issuing.pem -CRLfile issuing.crl.pem good.pem >verify-good.txt 2>&1 || { cat verify-good.txt; die "good certificate failed CRL check"; }
if openssl verify -crl_check -CAfile root.pem -untrusted issuing.pem -CRLfile issuing.crl.pem revoked.pem >verify-revoked.txt 2>&1; then die "revoked certificate passed the CRL check"; fi
expect_in verify-revoked.txt "certificate revoked" "CRL lists the revoked certificate"
ok "base CRL: good passes, revoked fails with 'certificate revoked'"

step "delta CRL: openssl verify -crl_check -use_deltas with a base and a delta CRL"
api PATCH /issuers/dev-issuing '{"deltaCrlHours":1}' >/dev/null
api POST /crl/dev-issuing/generate >/dev/null
curl -fsS "$URL/crl/dev-issuing.crl" -o base.crl.der && openssl crl -inform DER -in base.crl.der -out base.crl.pem
openssl crl -in base.crl.pem -noout -text >base.txt
expect_in base.txt "Freshest CRL" "the base CRL points at its delta"
DELTA_SERIAL=$(issue deltaleaf)
"${CG[@]}" cert revoke --serial "$DELTA_SERIAL" --reason keyCompromise >/dev/null
curl -fsS "$URL/crl/dev-issuing-delta.crl" -o delta.crl.der && openssl crl -inform DER -in delta.crl.der -out delta.crl.pem
openssl crl -in delta.crl.pem -noout -text >delta.txt
expect_in delta.txt "Delta CRL Indicator" "delta CRL extension"
expect_in delta.txt "$DELTA_SERIAL" "the delta lists the new revocation"
curl -fsS "$URL/crl/dev-issuing.crl" -o base2.crl.der
cmp -s base.crl.der base2.crl.der || die "the base CRL changed: deltas should carry the revocation"
if openssl verify -crl_check -CAfile root.pem -untrusted issuing.pem -CRLfile base.crl.pem deltaleaf.pem >verify-base-only.txt 2>&1; then :; else cat verify-base-only.txt; die "base CRL alone should not know the new revocation"; fi
if openssl verify -crl_check -use_deltas -CAfile root.pem -untrusted issuing.pem -CRLfile base.crl.pem -CRLfile delta.crl.pem deltaleaf.pem >verify-delta.txt 2>&1; then die "revoked certificate passed the base+delta check"; fi
expect_in verify-delta.txt "certificate revoked" "base + delta"
openssl verify -crl_check -use_deltas -CAfile root.pem -untrusted issuing.pem -CRLfile base.crl.pem -CRLfile delta.crl.pem good.pem >verify-delta-good.txt 2>&1 || { cat verify-delta-good.txt; die "good certificate failed the base+delta check"; }
ok "base + delta: the new revocation is found only with the delta; good passes"

printf '\nOCSP conformance: %d checks passed\n' "$PASS"
