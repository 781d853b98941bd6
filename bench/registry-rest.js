// The registry over REST: a device created then read back (PUT /devices/{id}, GET /devices/{id})
// against the emulator over loopback HTTPS, by our RegistryClient and by azure-iothub's Registry,
// interleaved, each on kept-alive connections. Figures are medians (and p90) of the round trip of
// the pair, in ms. azure-iothub takes no port from its HostName, so the emulator listens on 443
// (root, as in CI); without root only our client is measured.
//
//   npm run bench:registry                        (~20 s)
//   BENCH_COUNT=1000 node bench/registry-rest.js  pairs per client (default 300)
//
// Output: a table, and everything in bench/results/registry-rest-latest.json.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_RESULTS_DIR: where the -latest.json goes (npm run bench:all keeps quick runs apart).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
const COUNT = Number(process.env.BENCH_COUNT ?? 300);
const WARMUP = 30;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

/** The child: both clients, interleaved pair by pair; prints one JSON line. */
async function child(input) {
  const { RegistryClient } = await import(join(here, '..', 'dist', 'iothub', 'index.js'));
  const ours = RegistryClient.fromConnectionString(input.cs, { port: input.port });
  const theirs = input.sdkCs
    ? createRequire(import.meta.url)('azure-iothub').Registry.fromConnectionString(input.sdkCs)
    : undefined;
  const clients = {
    'amqp-one': async (id) => {
      await ours.createDevice(id);
      await ours.getDevice(id);
    },
  };
  if (theirs)
    clients['azure-iothub'] = async (id) => {
      await theirs.create({ deviceId: id });
      await theirs.get(id);
    };
  const times = Object.fromEntries(Object.keys(clients).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + COUNT; i++)
    for (const [name, pair] of Object.entries(clients)) {
      const t = process.hrtime.bigint();
      await pair(`bench-${name}-${i}`);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (i >= WARMUP) times[name].push(ms);
    }
  ours.close();
  process.stdout.write(JSON.stringify(times) + '\n');
  process.exit(0);
}

async function main() {
  const { startHub } = await import(join(here, '..', 'dist', 'iothub', 'emulator', 'index.js'));
  const root = process.getuid?.() === 0;
  const hub = await startHub({ port: 0, tlsPort: 0, httpsPort: root ? 443 : 0 });
  try {
    const p = hub.state.registry.getPolicy('iothubowner');
    const input = {
      cs: `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${p.primaryKey}`,
      port: hub.httpsPort,
      sdkCs: root
        ? `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${p.primaryKey}`
        : undefined,
    };
    if (!root) console.error('not root: port 443 is not ours, so azure-iothub is not measured');
    // Asynchronously: the hub runs in this process and must keep answering.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', JSON.stringify(input)],
      { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: hub.caFile }, maxBuffer: 1 << 24 },
    );
    const times = JSON.parse(out.trim().split('\n').pop());
    const rows = Object.entries(times).map(([impl, xs]) => ({
      impl,
      pairs: xs.length,
      medianMs: +median(xs).toFixed(3),
      p90Ms: +p90(xs).toFixed(3),
    }));
    const base = rows.find((r) => r.impl === 'amqp-one');
    for (const r of rows) r.ratioToOurs = +(r.medianMs / base.medianMs).toFixed(2);
    console.table(rows);
    mkdirSync(resultsDir, { recursive: true });
    const record = {
      started: new Date().toISOString(),
      node: process.version,
      load: loadavg(),
      count: COUNT,
      rows,
    };
    writeFileSync(join(resultsDir, 'registry-rest-latest.json'), JSON.stringify(record, null, 2) + '\n');
  } finally {
    await hub.close();
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
