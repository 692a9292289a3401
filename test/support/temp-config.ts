import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throw-away folder of config files for one test; returns the path of the first file written. */
export function tempConfigDir(): { dir: string; write(name: string, content: unknown): string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otp-config-'));
  return {
    dir,
    write(name, content) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return file;
    },
  };
}

/** A small valid configuration: one OTP authenticator with its two pipes. Tests break one thing at a time. */
export function validConfig(): Record<string, any> {
  return {
    globals: { app_name: 'Test SSO' },
    pipes: [
      { id: 'send', valves: [{ name: 'PhoneNormalize', config: {} }, { name: 'OtpGenerate' }, { name: 'Outbox' }] },
      { id: 'validate', valves: [{ name: 'OtpValidate' }] },
    ],
    authenticators: [
      {
        id: 'otp',
        type: 'OTP',
        config: { base_path: '/authn', pre_pipe_id: 'send', pipe_id: 'validate', destination: { source: '${exports.mobile}' } },
      },
    ],
  };
}
