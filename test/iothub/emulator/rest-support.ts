/** Requests to the emulator's REST API over real HTTPS, and the tokens they carry. */
import https from 'node:https';
import { generateSasToken } from '../../../src/iothub/sas.js';
import type { IotHubEmulator } from '../../../src/iothub/emulator/index.js';

/** An answer: its status, headers (lower case) and body (parsed when JSON). */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** A policy's token for the hub (sr = `localhost`, which names this hub on every port). */
export function policyToken(
  hub: IotHubEmulator,
  policy = 'iothubowner',
  opts: { now?: number } = {},
): string {
  const p = hub.state.registry.getPolicy(policy)!;
  return generateSasToken({
    resourceUri: 'localhost',
    key: p.primaryKey,
    policyName: policy,
    expiresInSeconds: 3600,
    now: opts.now ?? Date.now(),
  });
}

/** One request on its own connection; `token: null` sends no Authorization. */
export function call(
  hub: IotHubEmulator,
  method: string,
  path: string,
  opts: {
    body?: unknown;
    headers?: Record<string, string>;
    token?: string | null;
    apiVersion?: string | null;
  } = {},
): Promise<Answer> {
  const version = opts.apiVersion === undefined ? '2021-04-12' : opts.apiVersion;
  const target = version === null ? path : `${path}${path.includes('?') ? '&' : '?'}api-version=${version}`;
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? policyToken(hub) : opts.token;
  if (token !== null) headers.Authorization = token;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: hub.httpsPort,
        method,
        path: target,
        headers,
        ca: hub.caPem,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = /application\/json/.test(String(res.headers['content-type']));
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: json ? JSON.parse(text) : text,
            text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
