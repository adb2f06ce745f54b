#!/usr/bin/env bash
# SCEP conformance (RFC 8894): real clients against a real Certgate on its own data directory.
#   curl          GetCACaps, GetCACert (CA + RA as a degenerate PKCS#7)
#   scepclient    micromdm's client (Debian `scep`): PKCSReq, DES-CBC + SHA-1 (the only cipher it sends)
#   scep-submit   certmonger's SCEP helper, run directly (no D-Bus): GetCACaps, GetCACert, PKCSReq (AES),
#                 PENDING on a manual-approval label, then CertPoll after an officer approves
#   pki --scep    strongSwan (Debian strongswan-pki + libstrongswan-extra-plugins): fetch CA/RA
#                 (--scepca), enrol with AES and with DES3, re-key with the old certificate (RenewalReq)
#   rollover      `certgate issuer create` + `certgate issuer rollover`: GetCACaps lists GetNextCACert
#                 only then; GetNextCACert checked with `openssl cms -verify` (signed by the current RA)
#                 and `openssl pkcs7 -print_certs` (the next CA, chaining to the root)
# Every issued certificate is checked with `openssl verify -CAfile root`. Any failed step fails the run.
#
# Needs: apt-get install -y scep certmonger strongswan-pki libstrongswan-extra-plugins openssl curl
set -euo pipefail

cd "$(dirname "$0")/../.."
SUBMIT=$(command -v scep-submit || ls /usr/libexec/certmonger/scep-submit /usr/lib/certmonger/scep-submit 2>/dev/null | head -1 || true)
. conformance/lib.sh
conf_require "apt-get install -y scep certmonger strongswan-pki libstrongswan-extra-plugins" scepclient pki openssl curl node
[ -x "$SUBMIT" ] || { echo "FAIL: certmonger's scep-submit is not installed (apt-get install -y certmonger)" >&2; exit 1; }

HTTP_PORT=${SCEP_CONF_HTTP_PORT:-19280}
HTTPS_PORT=${SCEP_CONF_HTTPS_PORT:-19281}
conf_workdir scep
MSG() { node --import tsx conformance/scep/message.ts "$@"; }
CLI() { CERTGATE_DATA_DIR=$DATA CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT node bin/certgate.mjs "$@"; }

CHALLENGE=conf-$(openssl rand -hex 8)
URL=http://127.0.0.1:$HTTP_PORT/scep
HELD_URL=$URL/held
MDM_URL=$URL/mdm

step "Certgate on :$HTTP_PORT / https :$HTTPS_PORT (labels: default → device, mdm → mdm-device, held → mdm-held)"
env CERTGATE_DATA_DIR=$DATA CERTGATE_HOST=127.0.0.1 CERTGATE_HTTP_PORT=$HTTP_PORT CERTGATE_HTTPS_PORT=$HTTPS_PORT \
  CERTGATE_PUBLIC_URL=http://127.0.0.1:$HTTP_PORT CERTGATE_LOG_LEVEL=${CERTGATE_LOG_LEVEL:-info} \
  CERTGATE_SCEP_CHALLENGE=$CHALLENGE \
  CERTGATE_SCEP_LABELS="{\"mdm\":{\"profile\":\"mdm-device\",\"challenge\":\"$CHALLENGE\"},\"held\":{\"profile\":\"mdm-held\",\"challenge\":\"$CHALLENGE\"}}" \
  node bin/certgate.mjs serve >>"$WORK/certgate.log" 2>&1 &
PIDS+=($!)
# First start: migrations, the development CA, OCSP responders and the SCEP RA (an RSA key): slow on a busy machine.
for i in $(seq 1 480); do
  if [ -s "$DATA/root.pem" ] && curl -fsS "$URL?operation=GetCACaps" >/dev/null 2>&1; then break; fi
  [ "$i" = 480 ] && fail "Certgate did not come up within 240 s"
  sleep 0.5
done
ROOT=$DATA/root.pem
CHECKS=0
# verify <cert.pem> <cn>: chains to the root through the CA certificates GetCACert gave; subject CN.
verify() {
  local out
  out=$(openssl verify -CAfile "$ROOT" -untrusted "$WORK/cacerts.pem" "$1" 2>&1) || fail "openssl verify $1: $out"
  echo "$out"
  openssl x509 -in "$1" -noout -subject | grep -q "CN *= *$2\b" || fail "$1 is not for CN=$2: $(openssl x509 -in "$1" -noout -subject)"
  CHECKS=$((CHECKS + 1))
}

# Profiles of the `mdm` and `held` labels: `device` as a client certificate only (MDM devices have no
# DNS name; `device` also grants serverAuth, whose lints want the CN among the SANs), the second held
# for an officer.
derive() { # derive <name> <manualApproval>
  CLI profile show device | node -e 'const p=JSON.parse(require("fs").readFileSync(0,"utf8")); for (const k of ["builtin","createdAt","updatedAt","id"]) delete p[k];
    p.name=process.argv[1]; p.manualApproval=process.argv[2]==="true"; p.extendedKeyUsage=["clientAuth"]; p.description="SCEP devices: client authentication";
    process.stdout.write(JSON.stringify(p))' "$1" "$2" >"$WORK/$1.json"
  CLI profile add --file "$WORK/$1.json"
}
derive mdm-device false
derive mdm-held true

# ── curl ────────────────────────────────────────────────────────────────────────────────────
step "curl: GetCACaps"
curl -fsS "$URL?operation=GetCACaps" | tee "$WORK/caps.txt"
for cap in AES DES3 SHA-256 SHA-384 SHA-512 SHA-1 POSTPKIOperation Renewal SCEPStandard; do
  grep -qx "$cap" "$WORK/caps.txt" || fail "GetCACaps lacks $cap"
done
# GetNextCACert only while a CA rollover is announced (see the rollover step below)
if grep -qx GetNextCACert "$WORK/caps.txt"; then fail "GetCACaps lists GetNextCACert with no rollover pending"; fi
CHECKS=$((CHECKS + 1))

step "curl: GetCACert (CA + RA, application/x-x509-ca-ra-cert)"
ctype=$(curl -fsS -o "$WORK/cacert.p7" -w '%{content_type}' "$URL?operation=GetCACert")
[ "$ctype" = application/x-x509-ca-ra-cert ] || fail "GetCACert content type $ctype"
openssl pkcs7 -inform DER -in "$WORK/cacert.p7" -print_certs -out "$WORK/cacerts.pem"
openssl x509 -in "$WORK/cacerts.pem" -out "$WORK/ra.pem"     # the first certificate is the RA's
openssl x509 -in "$WORK/ra.pem" -noout -subject -ext keyUsage | tee "$WORK/ra.txt"
grep -q 'Digital Signature, Key Encipherment' "$WORK/ra.txt" || fail "the RA certificate lacks digitalSignature + keyEncipherment"
openssl verify -CAfile "$ROOT" -untrusted "$WORK/cacerts.pem" "$WORK/ra.pem" || fail "RA certificate does not verify"
# The issuing CA: the certificate after the RA (GetCACert order: RA, issuing CA, … root).
awk 'BEGIN{n=0} /BEGIN CERT/{n++} n==2' "$WORK/cacerts.pem" >"$WORK/issuing.pem"
CHECKS=$((CHECKS + 1))
FP=$(openssl x509 -in "$ROOT" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :)

# ── micromdm scepclient ─────────────────────────────────────────────────────────────────────
# scepclient encrypts to every certificate of GetCACert unless -ca-fingerprint picks one: the RA's.
RA_FP=$(openssl x509 -in "$WORK/ra.pem" -outform DER | sha256sum | cut -d' ' -f1)
step "scepclient: PKCSReq (DES-CBC, SHA-1) on /scep/mdm, the RA picked by its SHA-256 fingerprint"
mkdir -p "$WORK/mdm" && (cd "$WORK/mdm" && scepclient -server-url "$MDM_URL" -challenge "$CHALLENGE" -private-key mdm.key \
  -cn mdm-device-1 -organization Example -ou MDM -country "" -ca-fingerprint "$RA_FP" -debug) 2>&1 | tail -n 5
[ -s "$WORK/mdm/client.pem" ] || fail "scepclient wrote no certificate"
verify "$WORK/mdm/client.pem" mdm-device-1

step "scepclient: a wrong challenge is refused (FAILURE)"
mkdir -p "$WORK/mdm2"
if (cd "$WORK/mdm2" && scepclient -server-url "$MDM_URL" -challenge wrong -private-key mdm.key -cn mdm-device-2 -organization Example -ou MDM -country "" \
    -ca-fingerprint "$RA_FP" >"$WORK/mdm2/out.txt" 2>&1); then
  [ ! -s "$WORK/mdm2/client.pem" ] || fail "scepclient got a certificate with a wrong challenge"
fi
grep -qi 'fail' "$WORK/mdm2/out.txt" || fail "scepclient did not report the failure: $(cat "$WORK/mdm2/out.txt")"
CHECKS=$((CHECKS + 1))

# ── certmonger scep-submit ──────────────────────────────────────────────────────────────────
step "certmonger scep-submit: GetCACaps (-c) and GetCACert (-C)"
"$SUBMIT" -u "$URL" -c | tee "$WORK/cm-caps.txt"
grep -qx AES "$WORK/cm-caps.txt" || fail "scep-submit -c: no AES"
"$SUBMIT" -u "$URL" -C >"$WORK/cm-cacert.txt"
grep -c 'BEGIN CERTIFICATE' "$WORK/cm-cacert.txt" | grep -q '^[2-9]' || fail "scep-submit -C: expected RA and CA certificates"
CHECKS=$((CHECKS + 1))

cm_submit() { # cm_submit <operation> <message-base64> <url> → stdout of scep-submit, exit status in CM_RC
  set +e
  CERTMONGER_OPERATION=$1 CERTMONGER_PKCSREQ=$2 CERTMONGER_SCEP_RA_CERTIFICATE="$(cat "$WORK/ra.pem")" \
    CERTMONGER_SCEP_CA_CERTIFICATE="$(cat "$WORK/issuing.pem")" CERTMONGER_SCEP_CERTIFICATES="$(cat "$WORK/cacerts.pem")" \
    "$SUBMIT" -u "$3" >"$WORK/cm-out.txt" 2>"$WORK/cm-err.txt"
  CM_RC=$?
  set -e
}
# cm_cert <out.pem>: the certificate inside the pkcsPKIEnvelope scep-submit printed, opened with openssl cms.
cm_cert() {
  openssl cms -decrypt -inform PEM -in "$WORK/cm-out.txt" -inkey "$WORK/cm.key" -recip "$WORK/cm-signer.pem" -binary -out "$WORK/cm.p7" \
    || fail "openssl cms -decrypt of scep-submit's envelope"
  openssl pkcs7 -inform DER -in "$WORK/cm.p7" -print_certs | openssl x509 -out "$1"
}

step "certmonger scep-submit: PKCSReq (AES-256, SHA-256) over GET"
MSG keygen "$WORK/cm.key" "$WORK/cm-signer.pem"
TID=cm-$(openssl rand -hex 8)
cm_submit SUBMIT "$(MSG pkcsreq "$WORK/ra.pem" "$WORK/cm.key" "$WORK/cm-signer.pem" "CN=cm-host-1.example,O=Example" "$CHALLENGE" "$TID")" "$URL"
[ "$CM_RC" = 0 ] || fail "scep-submit SUBMIT exit $CM_RC: $(cat "$WORK/cm-out.txt" "$WORK/cm-err.txt")"
cm_cert "$WORK/cm-1.pem"; verify "$WORK/cm-1.pem" cm-host-1.example

step "certmonger scep-submit: PKCSReq on the manual-approval label answers PENDING"
TID=cm-held-$(openssl rand -hex 8)
cm_submit SUBMIT "$(MSG pkcsreq "$WORK/ra.pem" "$WORK/cm.key" "$WORK/cm-signer.pem" "CN=cm-held-1,O=Example" "$CHALLENGE" "$TID")" "$HELD_URL"
[ "$CM_RC" = 1 ] || [ "$CM_RC" = 5 ] || fail "expected PENDING (exit 1 or 5), got $CM_RC: $(cat "$WORK/cm-out.txt" "$WORK/cm-err.txt")"
CHECKS=$((CHECKS + 1))

step "certmonger scep-submit: CertPoll before approval is still PENDING; an officer approves; CertPoll returns the certificate"
POLL=$(MSG certpoll "$WORK/ra.pem" "$WORK/cm.key" "$WORK/cm-signer.pem" "$WORK/issuing.pem" "CN=cm-held-1,O=Example" "$TID")
cm_submit POLL "$POLL" "$HELD_URL"
[ "$CM_RC" = 1 ] || [ "$CM_RC" = 5 ] || fail "poll before approval: expected PENDING, got $CM_RC"
RID=$(CLI request list --status pending --json | node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8")); const r=l.find(x=>/cm-held-1/.test(x.subject)); if(!r) process.exit(1); console.log(r.id)') \
  || fail "the held request is not listed"
CLI request approve "$RID"
cm_submit POLL "$POLL" "$HELD_URL"
[ "$CM_RC" = 0 ] || fail "poll after approval: exit $CM_RC: $(cat "$WORK/cm-out.txt" "$WORK/cm-err.txt")"
cm_cert "$WORK/cm-held.pem"; verify "$WORK/cm-held.pem" cm-held-1

# ── strongSwan pki --scep ───────────────────────────────────────────────────────────────────
step "strongSwan: pki --scepca (CA and RA certificates)"
(cd "$WORK" && pki --scepca --url "$URL" --force 2>&1 | grep -v -e '^plugin' -e 'TPM 2.0' | tail -n 12)
ls "$WORK"/cacert*.der "$WORK"/*ra*.der 2>/dev/null || true
openssl x509 -in "$WORK/ra.pem" -outform DER -out "$WORK/ra.der"
openssl x509 -in "$WORK/issuing.pem" -outform DER -out "$WORK/issuing.der"

sw_enrol() { # sw_enrol <name> <cipher> [extra pki args…]
  local name=$1 cipher=$2; shift 2
  pki --scep --url "$URL" --in "$WORK/$name.key" --dn "CN=$name.example, O=Example" --san "$name.example" --password "$CHALLENGE" \
    --cacert-enc "$WORK/ra.der" --cacert-sig "$WORK/ra.der" --cacert "$WORK/issuing.der" --cipher "$cipher" --digest sha256 \
    --maxpolltime 30 --interval 1 --outform pem "$@" >"$WORK/$name.pem" 2>"$WORK/$name.err" \
    || fail "pki --scep $name ($cipher): $(grep -v -e '^plugin' -e 'TPM 2.0' "$WORK/$name.err" | tail -n 8)"
}
step "strongSwan: pki --scep enrol (AES)"
pki --gen --type rsa --size 2048 --outform pem >"$WORK/sw-aes.key"
sw_enrol sw-aes aes; verify "$WORK/sw-aes.pem" sw-aes.example

step "strongSwan: pki --scep enrol (DES3)"
pki --gen --type rsa --size 2048 --outform pem >"$WORK/sw-des3.key"
sw_enrol sw-des3 des3; verify "$WORK/sw-des3.pem" sw-des3.example

step "strongSwan: pki --scep re-key: a new key, signed with the old certificate and key (RenewalReq)"
pki --gen --type rsa --size 2048 --outform pem >"$WORK/sw-rekey.key"
pki --scep --url "$URL" --in "$WORK/sw-rekey.key" --dn "CN=sw-aes.example, O=Example" --san sw-aes.example \
  --cacert-enc "$WORK/ra.der" --cacert-sig "$WORK/ra.der" --cacert "$WORK/issuing.der" --cipher aes --digest sha256 \
  --cert "$WORK/sw-aes.pem" --key "$WORK/sw-aes.key" --maxpolltime 30 --interval 1 --outform pem >"$WORK/sw-rekey.pem" 2>"$WORK/sw-rekey.err" \
  || fail "pki --scep re-key: $(grep -v -e '^plugin' -e 'TPM 2.0' "$WORK/sw-rekey.err" | tail -n 8)"
verify "$WORK/sw-rekey.pem" sw-aes.example
[ "$(openssl x509 -in "$WORK/sw-rekey.pem" -noout -pubkey)" != "$(openssl x509 -in "$WORK/sw-aes.pem" -noout -pubkey)" ] || fail "re-key kept the old key"

step "CA rollover: certgate issuer rollover announces a successor; GetNextCACert, signed by the current RA"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$URL?operation=GetNextCACert")
[ "$code" = 404 ] || fail "GetNextCACert without a rollover: HTTP $code"
CUR=$(CLI issuer list --json | node -e 'const l=JSON.parse(require("fs").readFileSync(0,"utf8"));const d=l.find(i=>i.isDefault);process.stdout.write(d.id+" "+(d.parentId??""))')
set -- $CUR; CUR_ID=$1; CUR_PARENT=${2:-}
CLI issuer create --id next-issuing --name "Certgate Next Issuing CA" ${CUR_PARENT:+--parent "$CUR_PARENT"} --validity-days 3650 >/dev/null || fail "certgate issuer create"
CLI issuer rollover "$CUR_ID" --successor next-issuing || fail "certgate issuer rollover"
curl -fsS "$URL?operation=GetCACaps" >"$WORK/caps-next.txt"
grep -qx GetNextCACert "$WORK/caps-next.txt" || fail "GetCACaps does not list GetNextCACert during the rollover"
ctype=$(curl -fsS -o "$WORK/next.p7" -w '%{content_type}' "$URL?operation=GetNextCACert")
[ "$ctype" = application/x-x509-next-ca-cert ] || fail "GetNextCACert content type $ctype"
openssl cms -verify -inform DER -in "$WORK/next.p7" -CAfile "$ROOT" -purpose any -binary -out "$WORK/next-inner.p7" 2>"$WORK/next-verify.txt" \
  || fail "openssl cms -verify of GetNextCACert: $(cat "$WORK/next-verify.txt")"
openssl cms -verify -inform DER -in "$WORK/next.p7" -noverify -signer "$WORK/next-signer.pem" -out /dev/null 2>/dev/null
cmp -s <(openssl x509 -in "$WORK/next-signer.pem" -outform DER) <(openssl x509 -in "$WORK/ra.pem" -outform DER) || fail "GetNextCACert is not signed by the current RA"
openssl pkcs7 -inform DER -in "$WORK/next-inner.p7" -print_certs -out "$WORK/next-cas.pem"
openssl x509 -in "$WORK/next-cas.pem" -noout -subject | grep -q "Certgate Next Issuing CA" || fail "GetNextCACert does not carry the next CA first"
openssl verify -CAfile "$ROOT" "$WORK/next-cas.pem" >/dev/null || fail "the next CA does not chain to the root"
CLI issuer rollover "$CUR_ID" --clear >/dev/null
if curl -fsS "$URL?operation=GetCACaps" | grep -qx GetNextCACert; then fail "GetNextCACert still listed after the announcement ended"; fi
CHECKS=$((CHECKS + 1))

step "MDM setup lines"
echo "URL:            $URL"
echo "Challenge:      (CERTGATE_SCEP_CHALLENGE, or certgate scep challenge --label default)"
echo "CA fingerprint: $FP (SHA-256 of the root)"
CLI scep challenge --ttl 10m >/dev/null || fail "certgate scep challenge"

printf '\nSCEP conformance: %d checks passed\n' "$CHECKS"
