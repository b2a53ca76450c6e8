import { generate } from 'selfsigned';

/** A throwaway certificate authority and a server certificate it signed, all PEM. */
export interface SandboxCertificates {
  /** The CA certificate a client trusts (what a kubeconfig's `certificate-authority-data` holds). */
  caCert: string;
  /** The server certificate for 127.0.0.1, ::1 and localhost. */
  serverCert: string;
  /** The server certificate's private key. */
  serverKey: string;
}

const ONE_DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Generates a fresh CA and a server certificate for the loopback addresses (valid for a week, or
 * over `serverValidity`: tests of an expired certificate). Real clusters hand out
 * a private CA in the kubeconfig; doing the same here keeps TLS verification switched on in tests,
 * so a client that would skip it is caught. EC keys keep start-up fast.
 */
export async function generateCertificates(
  options: { serverValidity?: { from: Date; to: Date } } = {},
): Promise<SandboxCertificates> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 7 * ONE_DAY_MS);
  const ca = await generate([{ name: 'commonName', value: 'sandbox-kubernetes-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      {
        name: 'keyUsage',
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: options.serverValidity?.from ?? notBeforeDate,
    notAfterDate: options.serverValidity?.to ?? notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { caCert: ca.cert, serverCert: server.cert, serverKey: server.private };
}
