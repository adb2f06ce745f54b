/** The closed XML reader of the SOAP endpoint: what it reads, and what it refuses outright. */
import { describe, expect, it } from 'vitest';
import { soapMessage, soapResponse } from '../../protocols/epassport/soap.ts';
import { parseXml, valueOf, XmlError } from '../../protocols/epassport/xml.ts';

describe('XML reader', () => {
  it('reads elements by local name, text with entities and character references, CDATA, comments', () => {
    const x = parseXml('<?xml version="1.0"?><!-- c --><a:Root xmlns:a="urn:x" k=\'v\'><b>1 &lt; 2 &amp; &#x41;&#66;</b><c><![CDATA[<raw>]]></c><d/></a:Root>');
    expect(x.name).toBe('Root');
    expect(x.children.map((c) => c.name)).toEqual(['b', 'c', 'd']);
    expect(x.children[0].text).toBe('1 < 2 & AB');
    expect(x.children[1].text).toBe('<raw>');
    expect(valueOf(parseXml('<m><ns1:messageID>id-1</ns1:messageID></m>'))).toBe('id-1');
  });

  it.each([
    ['<!DOCTYPE a><a/>'],
    ['<a><!ENTITY x "y"></a>'],
    ['<a>&x;</a>'],
    ['<a>&#0;</a>'],
    ['<a>&#xD800;</a>'],
    ['<a></b>'],
    ['<a>'],
    ['<a/><b/>'],
    ['<a b=c/>'],
    ['<a><?pi x?></a>'],
    ['<a>' + '<b>'.repeat(30) + '</b>'.repeat(30) + '</a>'],
  ])('refuses %s', (src) => {
    expect(() => parseXml(src)).toThrow(XmlError);
  });

  it('a SOAP message round trip: operation, wrapped values and certificateSeq', () => {
    const m = soapMessage('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:SendCertificates xmlns:x="uri:EAC-PKI-DV-Protocol/1.1"><messageID><y:messageID>m7</y:messageID></messageID><statusInfo>ok_cert_available</statusInfo><certificateSeq><y:certificate>fyE=</y:certificate><y:certificate>QUI=</y:certificate></certificateSeq></x:SendCertificates></s:Body></s:Envelope>');
    expect(m.op).toBe('SendCertificates');
    expect(m.m).toMatchObject({ messageID: 'm7', statusInfo: 'ok_cert_available' });
    expect(m.m!.certificateSeq!.map((b) => b.toString('hex'))).toEqual(['7f21', '4142']);
    const out = soapResponse('GetCACertificates', { returnCode: 'ok_cert_available', certificates: [Buffer.from('7f21', 'hex')] });
    expect(parseXml(out).name).toBe('Envelope');
    expect(out).toContain('<ns1:returnCode>ok_cert_available</ns1:returnCode><ns1:certificateSeq><ns1:certificate>fyE=</ns1:certificate></ns1:certificateSeq>');
  });
});
