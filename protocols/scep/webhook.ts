/**
 * The validation webhook of a label (as Intune's SCEP validation): before issuing, the CSR and the
 * transaction are POSTed as JSON to the label's URL; only a 2xx answer allows the request. Any
 * other answer, a timeout or a network error refuses it (fail closed).
 */
export interface WebhookRequest {
  label: string;
  transactionId: string;
  messageType: 'PKCSReq' | 'RenewalReq';
  /** The PKCS#10 request, base64 DER. */
  csr: string;
  challengePassword?: string;
  clientAddress: string;
}

export async function webhookAllows(url: string, body: WebhookRequest, timeoutMs: number): Promise<{ allowed: boolean; status?: number }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await res.arrayBuffer().catch(() => undefined);
    return { allowed: res.status >= 200 && res.status < 300, status: res.status };
  } catch {
    return { allowed: false };
  }
}
