/**
 * The sandbox serves HTTPS like a real cluster: it makes its own CA (kept in the state directory
 * so kubeconfigs stay valid across restarts) and a server certificate for localhost.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

export interface Certificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function newKeyPair(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey; pem: string } {
  // Node's native key generation is ~100x faster than forge's pure-JS one.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { publicKey, privateKey: forgeKey, pem };
}

function serial(): string {
  // Positive serial numbers: clear the high bit.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

function makeCertificates(): Certificates {
  const ca = newKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(Date.now() - 60_000);
  caCert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const caSubject = [{ name: "commonName", value: "slipway-sandbox-ca" }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(ca.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  const server = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = server.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  cert.setSubject([{ name: "commonName", value: "slipway-sandbox" }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        { type: 2, value: "localhost" },
        { type: 2, value: "kubernetes.default.svc" },
        { type: 7, ip: "127.0.0.1" },
        { type: 7, ip: "::1" },
      ],
    },
  ]);
  cert.sign(ca.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return {
    caPem: forge.pki.certificateToPem(caCert),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: server.pem,
  };
}

/** Loads the certificates from `dir` when present, else makes new ones (and saves them when `dir` is given). */
export function ensureCertificates(dir?: string): Certificates {
  if (dir) {
    const files = { caPem: "ca.crt", certPem: "server.crt", keyPem: "server.key" } as const;
    if (Object.values(files).every((f) => existsSync(join(dir, f)))) {
      return {
        caPem: readFileSync(join(dir, files.caPem), "utf8"),
        certPem: readFileSync(join(dir, files.certPem), "utf8"),
        keyPem: readFileSync(join(dir, files.keyPem), "utf8"),
      };
    }
    const certs = makeCertificates();
    mkdirSync(dir, { recursive: true });
    for (const [key, file] of Object.entries(files)) {
      writeFileSync(join(dir, file), certs[key as keyof Certificates], { mode: 0o600 });
    }
    return certs;
  }
  return makeCertificates();
}

/** A bearer token, kept in the state directory when there is one. */
export function ensureToken(dir?: string): string {
  const file = dir ? join(dir, "token") : undefined;
  if (file && existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = randomBytes(24).toString("hex");
  if (file && dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, token, { mode: 0o600 });
  }
  return token;
}
