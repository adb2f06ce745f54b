# emCA eSign and key recovery, sourced by conformance/emca/run.sh (its server, helpers, the
# application registered there and the createPKCS12 serial P12_SERIAL). Clients: curl, openssl,
# and poppler's pdfsig for the signed PDF.

command -v pdfsig >/dev/null || die "pdfsig is required (Debian package poppler-utils)"

v5() { # v5 METHOD PATH JSON OUT → HTTP status on stdout, body in OUT
  curl -sS -o "$4" -w '%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $V5_TOKEN" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}
}
admin_post() { # admin_post TOKEN PATH JSON OUT → HTTP status
  curl -sS -o "$4" -w '%{http_code}' -X POST "$BASE/api/v1/emca$2" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "$3"
}

curl -fsS -X POST "$BASE/emca/v5/auth/token" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$USER_NAME\",\"password\":\"$PASSWORD\",\"validityInMins\":30}" >"$WORK/tok.json" || die "V5 token"
V5_TOKEN="$(jget token "$WORK/tok.json")"
OFFICER_A="$(cd "$ROOT" && "${CG[@]}" token create --role officer --name conf-officer-a)"
OFFICER_B="$(cd "$ROOT" && "${CG[@]}" token create --role officer --name conf-officer-b)"

# Register a signer: the key stays in Certgate's key store; a document-signing certificate comes back.
[[ "$(v5 POST /emca/v5/esign/signers '{"signerId":"conf-signer","subject":"CN=Conformance Signer,O=Acme","email":"signer@example.com"}' "$WORK/signer.json")" == 201 ]] || die "eSign signer: $(cat "$WORK/signer.json")"
jget certificate "$WORK/signer.json" | base64 -d >"$WORK/signer.der"
openssl x509 -inform DER -in "$WORK/signer.der" -noout -text | grep -q 'Digital Signature, Non Repudiation' || die "eSign signer: key usage is not digitalSignature + nonRepudiation"
SIGNER_SERIAL="$(jget serialNumber "$WORK/signer.json")"
v5 GET "/emca/v5/certificates/$SIGNER_SERIAL/chain" '' "$WORK/chain.json" >/dev/null
grep -o '"pem":"[^"]*"' "$WORK/chain.json" | sed -e 's/^"pem":"//' -e 's/"$//' -e 's/\\n/\n/g' >"$WORK/chain.pem"
ok "eSign: signer registered, certificate $(openssl x509 -inform DER -in "$WORK/signer.der" -noout -subject)"

esign_confirm() { # esign_confirm REQUEST_JSON OUT → reads the code as an officer, confirms
  local id
  id="$(jget requestId "$1")"
  [[ -n "$id" ]] || die "eSign: no requestId in $(cat "$1")"
  [[ "$(admin_post "$OFFICER_A" "/esign/requests/$id/code" '{}' "$WORK/code.json")" == 200 ]] || die "eSign: operator cannot read the code: $(cat "$WORK/code.json")"
  [[ "$(v5 POST "/emca/v5/esign/requests/$id/confirm" "{\"code\":\"$(jget code "$WORK/code.json")\"}" "$2")" == 200 ]] || die "eSign confirm: $(cat "$2")"
}

# A document hash (SHA-256, then SHA-384): detached CMS that openssl verifies against the document.
printf 'Conformance contract, signed by hash.\n' >"$WORK/doc.txt"
for alg in sha256 sha384; do
  HASH="$(openssl dgst "-$alg" -hex "$WORK/doc.txt" | sed 's/^.*= //')"
  [[ "$(v5 POST /emca/v5/esign/requests "{\"signerId\":\"conf-signer\",\"hash\":\"$HASH\",\"hashAlgorithm\":\"$alg\"}" "$WORK/req.json")" == 202 ]] || die "eSign request: $(cat "$WORK/req.json")"
  esign_confirm "$WORK/req.json" "$WORK/signed.json"
  jget signature "$WORK/signed.json" | base64 -d >"$WORK/doc.p7s"
  openssl cms -verify -binary -inform DER -in "$WORK/doc.p7s" -content "$WORK/doc.txt" -CAfile "$WORK/chain.pem" -purpose any -out /dev/null 2>"$WORK/verify.txt" || die "eSign $alg: openssl cms -verify: $(cat "$WORK/verify.txt")"
  openssl cms -cmsout -print -inform DER -in "$WORK/doc.p7s" | grep -q 'signingCertificateV2' || die "eSign $alg: no signing-certificate-v2"
  ok "eSign: $alg hash signed; openssl cms -verify -binary -content doc: $(cat "$WORK/verify.txt")"
done

# A wrong code is refused and counted.
HASH="$(openssl dgst -sha256 -hex "$WORK/doc.txt" | sed 's/^.*= //')"
v5 POST /emca/v5/esign/requests "{\"signerId\":\"conf-signer\",\"hash\":\"$HASH\"}" "$WORK/req.json" >/dev/null
[[ "$(v5 POST "/emca/v5/esign/requests/$(jget requestId "$WORK/req.json")/confirm" '{"code":"123"}' "$WORK/wrong.json")" == 401 ]] || die "eSign: a wrong code was not refused: $(cat "$WORK/wrong.json")"
ok "eSign: wrong code → $(jget result "$WORK/wrong.json")"

# A PDF written here by hand (classic xref table), signed as PAdES B-B, checked with pdfsig.
PDF="$WORK/doc.pdf"
: >"$PDF"
OFFS=()
pdf_put() { printf '%s' "$1" >>"$PDF"; }
pdf_obj() { OFFS+=("$(stat -c %s "$PDF")"); pdf_put "$1"; }
CONTENT='BT /F1 24 Tf 72 720 Td (Conformance PDF) Tj ET'
pdf_put $'%PDF-1.4\n'
pdf_obj $'1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n'
pdf_obj $'2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n'
pdf_obj $'3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n'
pdf_obj "4 0 obj"$'\n'"<< /Length ${#CONTENT} >>"$'\nstream\n'"$CONTENT"$'\nendstream\nendobj\n'
pdf_obj $'5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n'
XREF="$(stat -c %s "$PDF")"
pdf_put $'xref\n0 6\n0000000000 65535 f\r\n'
for o in "${OFFS[@]}"; do printf '%010d 00000 n\r\n' "$o" >>"$PDF"; done
pdf_put "trailer"$'\n'"<< /Size 6 /Root 1 0 R >>"$'\n'"startxref"$'\n'"$XREF"$'\n%%EOF\n'
printf '{"signerId":"conf-signer","document":"%s"}' "$(base64 -w0 "$PDF")" >"$WORK/pdfreq.json"
[[ "$(v5 POST /emca/v5/esign/requests "@$WORK/pdfreq.json" "$WORK/req.json")" == 202 ]] || die "eSign PDF request: $(cat "$WORK/req.json")"
esign_confirm "$WORK/req.json" "$WORK/signedpdf.json"
jget document "$WORK/signedpdf.json" | base64 -d >"$WORK/signed.pdf"
pdfsig "$WORK/signed.pdf" >"$WORK/pdfsig.txt" 2>&1 || true
grep -q 'Signature Validation: Signature is Valid' "$WORK/pdfsig.txt" || die "pdfsig: $(cat "$WORK/pdfsig.txt")"
grep -q 'Total document signed' "$WORK/pdfsig.txt" || die "pdfsig: not the whole document: $(cat "$WORK/pdfsig.txt")"
grep -q 'ETSI.CAdES.detached' "$WORK/pdfsig.txt" || die "pdfsig: not a PAdES (ETSI.CAdES.detached) signature"
cmp -s -n "$(stat -c %s "$PDF")" "$PDF" "$WORK/signed.pdf" || die "eSign PDF: the original bytes changed (not an incremental update)"
ok "eSign: PAdES B-B PDF; pdfsig: Signature is Valid, Total document signed"

# Key recovery of the createPKCS12 key: officer A asks, officer B approves; a new password.
[[ "$(admin_post "$OFFICER_A" /key-recoveries "{\"serialNumber\":\"$P12_SERIAL\",\"reason\":\"conformance\",\"newPassword\":\"recovered-pass\"}" "$WORK/kr.json")" == 201 ]] || die "key recovery request: $(cat "$WORK/kr.json")"
KR_ID="$(jget id "$WORK/kr.json")"
[[ "$(admin_post "$OFFICER_A" "/key-recoveries/$KR_ID/approve" '{}' "$WORK/kr-self.json")" == 403 ]] || die "key recovery: the requester approved their own request"
[[ "$(admin_post "$OFFICER_B" "/key-recoveries/$KR_ID/approve" '{}' "$WORK/kr-ok.json")" == 200 ]] || die "key recovery approval: $(cat "$WORK/kr-ok.json")"
jget pkcs12 "$WORK/kr-ok.json" | base64 -d >"$WORK/recovered.p12"
openssl pkcs12 -info -noout -in "$WORK/recovered.p12" -passin pass:recovered-pass 2>/dev/null || die "key recovery: openssl pkcs12 cannot open the PFX with the new password"
if openssl pkcs12 -info -noout -in "$WORK/recovered.p12" -passin pass:conf-pass 2>/dev/null; then die "key recovery: the old password still opens it"; fi
cmp -s <(openssl pkcs12 -in "$WORK/recovered.p12" -passin pass:recovered-pass -nocerts -nodes 2>/dev/null | openssl pkey -pubout) \
  <(openssl pkcs12 -in "$WORK/gen.p12" -passin pass:conf-pass -nocerts -nodes 2>/dev/null | openssl pkey -pubout) || die "key recovery: not the same key"
call getPKCS12 "\"signature\":\"$(sign_text "{'pfxPin': 'recovered-pass','serialNumber':'$P12_SERIAL','subscriberId':'sub-p12'}")\"" "$WORK/gp2.json"
expect_success "$WORK/gp2.json" "getPKCS12 after recovery"
ok "key recovery: officer-approved; openssl pkcs12 -info opens it with the new password only; same key; getPKCS12 follows"
