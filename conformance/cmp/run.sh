#!/usr/bin/env bash
# CMP conformance against a real Certgate server with the real client, `openssl cmp` (OpenSSL 3):
#   genm caCerts; ir with -ref/-secret (PasswordBasedMac) with and without -implicit_confirm; cr and
#   kur signed by the issued certificate (-cert/-key); p10cr (-csr); rr (-oldcert -revreason) then
#   openssl ocsp and the CRL show it revoked; manual approval with pollReq/pollRep; a wrong secret and
#   a disabled reference refused. Every certificate is checked with openssl verify.
#   Central key generation (a template without a key; OpenSSL 3.0 cannot ask for it, so
#   conformance/cmp/message.ts does): the key opened with `openssl cms -decrypt -pwri_password`, its
#   signature checked with `openssl cms -verify`, its public key compared with the certificate's.
#   RA mode: an RA certificate (`certgate cert issue --profile cmp-ra`) sends an ir with POP
#   raVerified (`openssl cmp -popo 0`); a plain holder doing so is refused (badPOP); a nested message
#   from the RA carries a requester's ir.
# Needs: node 20, openssl 3, curl. Fails loudly on any step. Ports: CMP_CONF_PORT (default 19100) and +1 (HTTPS).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certgate-cmp-conf.XXXXXX")
export CERTGATE_DATA_DIR=$WORK/data
PORT=${CMP_CONF_PORT:-19100}
TLS_PORT=$((PORT + 1))
export CERTGATE_HTTP_PORT=$PORT CERTGATE_HTTPS_PORT=$TLS_PORT CERTGATE_HOST=127.0.0.1 CERTGATE_PUBLIC_URL=http://127.0.0.1:$PORT CERTGATE_LOG_LEVEL=warn
export CERTGATE_CMP_ALIASES='device=device:ra=cmp-ra,manual=device-manual,strict=device:noimplicit' CERTGATE_CMP_POLL_SECONDS=1
URL=http://127.0.0.1:$PORT
CG=(node "$REPO/bin/certgate.mjs")
MSG() { (cd "$REPO" && node --import tsx conformance/cmp/message.ts "$@"); }  # messages openssl cmp 3.0 cannot send
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
curl -fsS "$URL/healthz" >/dev/null 2>&1 && die "port $PORT is already in use"
"${CG[@]}" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited"
  sleep 0.2
done
curl -fsS "$URL/healthz" >/dev/null || die "the server did not come up"
ok "server up"

step "CA certificates and a shared secret (certgate cmp secret add)"
curl -fsS "$URL/ca/dev-root.crt" -o root.der && openssl x509 -inform DER -in root.der -out root.pem
curl -fsS "$URL/ca/dev-issuing.crt" -o issuing.der && openssl x509 -inform DER -in issuing.der -out issuing.pem
"${CG[@]}" cmp secret add --ref conf-device --json >secret.json
SECRET=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync("secret.json","utf8")).secret)')
[ -n "$SECRET" ] || die "no secret printed"
"${CG[@]}" cmp secret list >list.txt
expect_in list.txt "conf-device" "certgate cmp secret list"
expect_not_in list.txt "$SECRET" "certgate cmp secret list shows no secret"
ok "reference conf-device made; list shows it without the secret"

SRV=(-server "127.0.0.1:$PORT" -unprotected_errors)
MAC=(-ref conf-device -secret "pass:$SECRET")
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
verify() { openssl verify -CAfile root.pem -untrusted issuing.pem "$1" >"$1.verify" 2>&1 || { cat "$1.verify" >&2; die "openssl verify $1"; }; }
run_cmp() { # run_cmp <log> <args…>
  local log=$1; shift
  openssl cmp "${SRV[@]}" "$@" >"$log" 2>&1 || { cat "$log" >&2; die "openssl cmp $*"; }
}

step "genm caCerts"
run_cmp genm.log -path cmp -cmd genm "${MAC[@]}" -infotype caCerts -rspout genp.der
expect_in genm.log "id-it-caCerts" "genp answers caCerts"
node -e 'const f=require("fs");const g=f.readFileSync("genp.der");for(const c of ["root.der","issuing.der"]) if(!g.includes(f.readFileSync(c))) {console.error("genp lacks "+c);process.exit(1)}' || die "caCerts carries the root and issuing CA"
ok "genp caCerts carries the root and the issuing CA"

step "ir with a MAC (-ref/-secret), certConf/pkiConf"
newkey k1.pem
run_cmp ir.log -path cmp -cmd ir "${MAC[@]}" -newkey k1.pem -subject /CN=conf-one.example -sans conf-one.example -certout c1.pem
expect_in ir.log "sending CERTCONF" "ir without implicit confirm"
expect_in ir.log "received PKICONF" "ir without implicit confirm"
verify c1.pem
ok "ir: certificate issued, confirmed, verifies"

step "ir with -implicit_confirm: no certConf"
newkey k2.pem
run_cmp ir-ic.log -path cmp -cmd ir "${MAC[@]}" -newkey k2.pem -subject /CN=conf-two.example -sans conf-two.example -implicit_confirm -certout c2.pem
expect_not_in ir-ic.log "CERTCONF" "implicit confirm granted"
verify c2.pem
ok "ir with implicit confirm: one round trip, verifies"

step "implicit confirm refused by an alias (strict): the client confirms"
newkey k2b.pem
run_cmp ir-strict.log -path cmp/strict -cmd ir "${MAC[@]}" -newkey k2b.pem -subject /CN=conf-strict.example -sans conf-strict.example -implicit_confirm -certout c2b.pem
expect_in ir-strict.log "sending CERTCONF" "alias strict refuses implicit confirm"
verify c2b.pem
ok "alias strict: certConf sent, verifies"

step "cr signed by the issued certificate (-cert/-key); the answer is signed by the CA"
newkey k3.pem
run_cmp cr.log -path cmp -cmd cr -cert c1.pem -key k1.pem -trusted root.pem -untrusted issuing.pem -newkey k3.pem -subject /CN=conf-one.example -sans conf-one.example -certout c3.pem
verify c3.pem
ok "cr: verifies"

step "kur signed by the certificate it updates"
newkey k4.pem
run_cmp kur.log -path cmp -cmd kur -cert c1.pem -key k1.pem -trusted root.pem -untrusted issuing.pem -newkey k4.pem -certout c4.pem
verify c4.pem
[ "$(openssl x509 -in c4.pem -noout -subject)" = "$(openssl x509 -in c1.pem -noout -subject)" ] || die "kur keeps the subject"
[ "$(openssl x509 -in c4.pem -noout -pubkey)" != "$(openssl x509 -in c1.pem -noout -pubkey)" ] || die "kur changes the key"
ok "kur: same subject, new key, verifies"

step "p10cr with a PKCS#10 request (-csr)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k5.pem -subj /CN=conf-p10.example -addext subjectAltName=DNS:conf-p10.example -out c5.csr 2>/dev/null
run_cmp p10cr.log -path cmp -cmd p10cr "${MAC[@]}" -csr c5.csr -certout c5.pem
verify c5.pem
ok "p10cr: verifies"

step "rr (-oldcert -revreason 1), then openssl ocsp and the CRL show it revoked"
run_cmp rr.log -path cmp -cmd rr -cert c3.pem -key k3.pem -trusted root.pem -untrusted issuing.pem -oldcert c3.pem -revreason 1
expect_in rr.log "revocation accepted" "rr"
openssl ocsp -issuer issuing.pem -cert c3.pem -url "$URL/ocsp" -CAfile root.pem >ocsp.txt 2>&1 || { cat ocsp.txt; die "openssl ocsp"; }
expect_in ocsp.txt "Response verify OK" "OCSP response signature"
expect_in ocsp.txt "c3.pem: revoked" "OCSP status after rr"
expect_in ocsp.txt "keyCompromise" "OCSP revocation reason"
openssl ocsp -issuer issuing.pem -cert c5.pem -url "$URL/ocsp" -CAfile root.pem >ocsp-good.txt 2>&1 || { cat ocsp-good.txt; die "openssl ocsp"; }
expect_in ocsp-good.txt "c5.pem: good" "OCSP status of an untouched certificate"
curl -fsS "$URL/crl/dev-issuing.crl" -o issuing.crl.der && openssl crl -inform DER -in issuing.crl.der -out issuing.crl.pem
if openssl verify -crl_check -CAfile root.pem -untrusted issuing.pem -CRLfile issuing.crl.pem c3.pem >crl-verify.txt 2>&1; then die "revoked certificate passed the CRL check"; fi
expect_in crl-verify.txt "certificate revoked" "CRL lists the revoked certificate"
ok "rr: OCSP revoked (keyCompromise), CRL lists it"

step "manual approval: ip 'waiting', pollReq/pollRep, an officer approves, the certificate arrives"
"${CG[@]}" profile show device | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);p.name="device-manual";p.manualApproval=true;delete p.builtin;process.stdout.write(JSON.stringify(p))})' >manual.json
"${CG[@]}" profile add --file manual.json >/dev/null
newkey k6.pem
openssl cmp "${SRV[@]}" -path cmp/manual -cmd ir "${MAC[@]}" -newkey k6.pem -subject /CN=conf-manual.example -sans conf-manual.example -certout c6.pem >poll.log 2>&1 &
CMP_PID=$!
REQ=
for _ in $(seq 1 100); do
  REQ=$("${CG[@]}" request list --status pending --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const a=Array.isArray(j)?j:j.requests;const r=a.find(x=>x.subject==="CN=conf-manual.example");process.stdout.write(r?r.id:"")})')
  [ -n "$REQ" ] && break
  sleep 0.2
done
[ -n "$REQ" ] || { kill $CMP_PID 2>/dev/null; die "no pending request"; }
sleep 2
"${CG[@]}" request approve "$REQ" >/dev/null
wait $CMP_PID || { cat poll.log >&2; die "polling ir"; }
expect_in poll.log "received 'waiting' PKIStatus, starting to poll" "ip waiting"
expect_in poll.log "received POLLREP" "pollRep"
expect_in poll.log "received ip/cp/kup after polling" "certificate after polling"
verify c6.pem
ok "polling: waiting → pollRep → approved → certificate verifies"

step "over HTTPS (-tls_used), the server certificate checked against the root"
newkey k8.pem
run_cmp tls.log -server "127.0.0.1:$TLS_PORT" -tls_used -tls_trusted root.pem -path cmp -cmd ir "${MAC[@]}" -newkey k8.pem -subject /CN=conf-tls.example -sans conf-tls.example -implicit_confirm -certout c8.pem
verify c8.pem
ok "ir over HTTPS: verifies"

step "central key generation: ir without a public key; the key comes back under the shared secret"
MSG central "$URL/cmp" conf-device "$SECRET" conf-central.example "$WORK/ckg.env.der" "$WORK/c9.pem" >ckg.log 2>&1 || { cat ckg.log >&2; die "central key generation request"; }
verify c9.pem
openssl cms -decrypt -inform DER -in ckg.env.der -pwri_password "$SECRET" -binary -out ckg.sd.der >ckg-dec.log 2>&1 || { cat ckg-dec.log >&2; die "openssl cms -decrypt -pwri_password"; }
if openssl cms -decrypt -inform DER -in ckg.env.der -pwri_password wrong-secret -binary -out ckg.bad >/dev/null 2>&1; then die "the key envelope opened with a wrong password"; fi
# the decrypted content is a SignedData (no ContentInfo around it): wrap it for openssl cms -verify
node -e 'const f=require("fs");const sd=f.readFileSync("ckg.sd.der");const oid=Buffer.from("06092a864886f70d010702","hex");const len=n=>n<128?Buffer.from([n]):n<256?Buffer.from([0x81,n]):Buffer.from([0x82,n>>8,n&255]);const a0=Buffer.concat([Buffer.from([0xa0]),len(sd.length),sd]);const body=Buffer.concat([oid,a0]);f.writeFileSync("ckg.ci.der",Buffer.concat([Buffer.from([0x30]),len(body.length),body]))'
openssl cms -verify -inform DER -in ckg.ci.der -CAfile root.pem -purpose any -binary -out ckg.akp.der >ckg-ver.log 2>&1 || { cat ckg-ver.log >&2; die "openssl cms -verify of the signed key package"; }
expect_in ckg-ver.log "Verification successful" "the key package is signed by the CMP signer"
# AsymmetricKeyPackage ::= SEQUENCE OF OneAsymmetricKey: the first key starts at the first d=1 element
OFF=$(openssl asn1parse -inform DER -in ckg.akp.der | awk -F: '/d=1/ {print $1; exit}' | tr -d ' ')
tail -c +$((OFF + 1)) ckg.akp.der >ckg.key.der
[ "$(openssl pkey -inform DER -in ckg.key.der -pubout)" = "$(openssl x509 -in c9.pem -noout -pubkey)" ] || die "the returned private key is not the certificate's"
ok "central key generation: certificate verifies; pwri envelope, signed key package, key matches the certificate"

step "RA mode: an RA certificate (profile cmp-ra, certgate cert issue) sends ir with POP raVerified (-popo 0)"
"${CG[@]}" profile show device | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);p.name="cmp-ra";p.audience="system";p.keyUsage=["digitalSignature"];p.extendedKeyUsage=["cmcRA"];delete p.builtin;process.stdout.write(JSON.stringify(p))})' >ra-profile.json
"${CG[@]}" profile add --file ra-profile.json >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ra.key -subj /CN=conf-ra.example -addext subjectAltName=DNS:conf-ra.example -out ra.csr 2>/dev/null
"${CG[@]}" cert issue --csr ra.csr --profile cmp-ra >ra.pem || die "certgate cert issue --profile cmp-ra"
verify ra.pem
newkey k10.pem
run_cmp ra.log -path cmp -cmd ir -cert ra.pem -key ra.key -trusted root.pem -untrusted issuing.pem -newkey k10.pem -popo 0 -subject /CN=conf-via-ra.example -sans conf-via-ra.example -implicit_confirm -certout c10.pem
verify c10.pem
newkey k11.pem
if openssl cmp "${SRV[@]}" -path cmp -cmd ir -cert c2.pem -key k2.pem -trusted root.pem -untrusted issuing.pem -newkey k11.pem -popo 0 -subject /CN=conf-two.example -sans conf-two.example -implicit_confirm -certout c11.pem >ra-bad.log 2>&1; then die "raVerified from a plain certificate holder was accepted"; fi
expect_in ra-bad.log "badPOP" "raVerified from a non-RA"
[ ! -f c11.pem ] || die "a certificate was written for a refused raVerified request"
MSG nested "$URL/cmp" conf-device "$SECRET" conf-nested.example "$WORK/ra.pem" "$WORK/ra.key" "$WORK/c12.pem" >nested.log 2>&1 || { cat nested.log >&2; die "nested message from the RA"; }
verify c12.pem
ok "RA: raVerified from the RA issued, from a plain holder refused (badPOP); nested from the RA issued"

step "refusals: a wrong secret, a disabled reference"
newkey k7.pem
if openssl cmp "${SRV[@]}" -path cmp -cmd ir -ref conf-device -secret pass:wrong -newkey k7.pem -subject /CN=conf-bad.example -sans conf-bad.example -certout c7.pem >bad.log 2>&1; then die "a wrong secret was accepted"; fi
expect_in bad.log "badMessageCheck" "wrong secret"
"${CG[@]}" cmp secret disable --ref conf-device >/dev/null
if openssl cmp "${SRV[@]}" -path cmp -cmd ir "${MAC[@]}" -newkey k7.pem -subject /CN=conf-bad.example -sans conf-bad.example -certout c7.pem >disabled.log 2>&1; then die "a disabled reference was accepted"; fi
expect_in disabled.log "badMessageCheck" "disabled reference"
[ ! -f c7.pem ] || die "a certificate was written for a refused request"
ok "wrong secret and disabled reference refused (badMessageCheck), nothing issued"

printf '\nCMP conformance: %d checks passed\n' "$PASS"
