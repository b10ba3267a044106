/**
 * One HTTP exchange over a raw socket, for request targets and headers an HTTP client would
 * normalize or refuse to send. Resolves with every byte the server wrote, once it closes the
 * connection (or after `timeoutMs`, for servers that keep it open).
 */
import { connect } from 'node:net';

export function rawExchange(port: number, text: string, timeoutMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs).unref();
  });
}
