/**
 * Secrets at rest (an enrolled TOTP seed): AES-256-GCM under CREDENTIAL_KEY. The first key seals, every key opens,
 * so keys rotate as OTP_SECRET's do: put the new key first, keep the old ones until every secret was sealed again.
 * A sealed value names its key by a short fingerprint (never the key), and its text is
 * `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url. A value that was changed, or sealed under a key no longer
 * listed, opens to null.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plain: string, context: string): string;
  /** The clear text, or null when the value is not one this box sealed (tampered, another key, another context). */
  open(sealed: string, context: string): string | null;
  /** Whether `sealed` is under the first key (else a rotation is under way and it should be sealed again). */
  isCurrent(sealed: string): boolean;
}

interface Key {
  id: string;
  bytes: Buffer;
}

function keyOf(secret: string): Key {
  const bytes = createHash('sha256').update(`otp-authenticator credential key\0${secret}`).digest();
  const id = createHash('sha256').update(bytes).digest('base64url').slice(0, 8);
  return { id, bytes };
}

export function createSecretBox(secrets: readonly string[]): SecretBox {
  if (secrets.length === 0) throw new Error('createSecretBox: at least one key is needed');
  const keys = secrets.map(keyOf);
  const first = keys[0]!;
  return {
    seal(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', first.bytes, iv);
      // The context (the subject and what the value is) is bound in: a sealed value moved to another subject fails.
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', first.id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    isCurrent: (sealed) => sealed.split('.')[1] === first.id,
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') return null;
      const key = keys.find((k) => k.id === parts[1]);
      if (!key) return null;
      const tag = Buffer.from(parts[4]!, 'base64url');
      // A short tag would be accepted by Node and is easier to forge: only the full 16 bytes.
      if (tag.length !== 16) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(parts[2]!, 'base64url'), { authTagLength: 16 });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        return null;
      }
    },
  };
}
