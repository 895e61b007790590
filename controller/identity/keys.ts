// Keys and signatures for the CA. node-forge builds and encodes every certificate, but its RSA
// arithmetic is pure JavaScript: a 2048-bit signature costs ~30 ms of blocked event loop and a
// pure-JS key pair ~2 s (ADR 0005). So key pairs come from node:crypto (OpenSSL), and forge's
// cert.sign() is handed a signer whose sign() does the RSA private operation in OpenSSL too.
// The bytes signed, the algorithm identifiers and the encoding all stay forge's.
import { constants, createPrivateKey, generateKeyPairSync, privateEncrypt, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';
import { CaInvalidError } from './errors.ts';

export const RSA_BITS = 2048;

export interface KeyPairPem {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  publicKeyPem: string;
}

export function generateRsaKeyPair(bits = RSA_BITS): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** What forge's cert.sign() calls: `sign(md)` returning the signature as a binary string. */
export interface ForgeSigner {
  sign(md: forge.md.MessageDigest): string;
}

// DER prefix of DigestInfo { sha256, NULL } (RFC 8017 §9.2 note 1); the digest follows it.
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * A forge-compatible RSASSA-PKCS1-v1_5/SHA-256 signer backed by OpenSSL. Refuses non-RSA keys:
 * forge only emits RSA signature algorithm identifiers, so any other key would produce a
 * certificate that claims one algorithm and carries another's signature.
 */
export function rsaSigner(privateKeyPem: string): ForgeSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new CaInvalidError(`the private key cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new CaInvalidError(`the CA key is ${String(key.asymmetricKeyType)}; meshlet's CA signs with RSA keys only (ADR 0005)`);
  return {
    sign(md) {
      if (md.algorithm !== 'sha256') throw new CaInvalidError(`unsupported digest ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, digest])).toString('binary');
    },
  };
}
