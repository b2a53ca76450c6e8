/**
 * The control plane's certificates and keys, made fresh for every start: one CA that signs the API
 * server's and the webhook's serving certificates and the admin's client certificate, and the key
 * pair the API server signs ServiceAccount tokens with. Nothing outlives the temporary folder.
 */
import { generateKeyPairSync } from 'node:crypto';
import { generate, type CertificateExtension } from 'selfsigned';

/** PEM material for one start of the control plane. */
export interface ControlPlanePki {
  caCert: string;
  caKey: string;
  /** kube-apiserver's serving certificate (127.0.0.1, localhost, the in-cluster names). */
  apiserverCert: string;
  apiserverKey: string;
  /** The webhook's serving certificate (127.0.0.1). */
  webhookCert: string;
  webhookKey: string;
  /** Client certificate of the admin identity: group system:masters, as kubeadm's admin.conf. */
  adminCert: string;
  adminKey: string;
  /** ServiceAccount token signing key pair. */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

const ONE_DAY_MS = 24 * 60 * 60 * 1000;

type AltName = { type: 2; value: string } | { type: 7; ip: string };

async function leaf(
  subject: { name: string; value: string }[],
  ca: { key: string; cert: string },
  usage: 'server' | 'client',
  altNames: AltName[],
): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const extensions: CertificateExtension[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    usage === 'server'
      ? { name: 'extKeyUsage', serverAuth: true }
      : { name: 'extKeyUsage', clientAuth: true },
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  const pems = await generate(subject, {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 2 * ONE_DAY_MS),
    ca,
    extensions,
  });
  return { cert: pems.cert, key: pems.private };
}

/** Makes a CA and everything it signs. EC keys keep this under a second. */
export async function generatePki(): Promise<ControlPlanePki> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'istio-canary-test-cluster-ca' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 2 * ONE_DAY_MS),
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
  const signer = { key: ca.private, cert: ca.cert };
  const loopback: AltName[] = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
  ];
  const apiserver = await leaf(
    [{ name: 'commonName', value: 'kube-apiserver' }],
    signer,
    'server',
    [
      ...loopback,
      { type: 2, value: 'kubernetes' },
      { type: 2, value: 'kubernetes.default' },
      { type: 2, value: 'kubernetes.default.svc' },
      { type: 2, value: 'kubernetes.default.svc.cluster.local' },
    ],
  );
  const webhook = await leaf(
    [{ name: 'commonName', value: 'istio-validation' }],
    signer,
    'server',
    loopback,
  );
  const admin = await leaf(
    [
      { name: 'commonName', value: 'istio-canary-admin' },
      { name: 'organizationName', value: 'system:masters' },
    ],
    signer,
    'client',
    [],
  );
  const serviceAccount = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    caCert: ca.cert,
    caKey: ca.private,
    apiserverCert: apiserver.cert,
    apiserverKey: apiserver.key,
    webhookCert: webhook.cert,
    webhookKey: webhook.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey: serviceAccount.privateKey,
    serviceAccountPublicKey: serviceAccount.publicKey,
  };
}
