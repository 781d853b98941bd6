// `npm run bench:plots`: the SVG plots docs/performance.md embeds, drawn from the recorded results in
// bench/results/ by the bench report's own chart module (src/bench/svg-plot.ts, built to dist/), so
// the plots change only when a result does. Writes docs/plots/*.svg (or `--out DIR`: a test
// checks that the committed plots are what the results make).
//
// - rate-rhea.svg, rate-proton-c.svg: msg/s from throughput-latest.json and proton-c-latest.json;
// - cpu-per-message.svg: CPU µs per message of each process, the same files, each pair (amqp-one
//   and rhea, amqp-one and Proton C) from its own run;
// - rss.svg: RSS over the 1M-message run of throughput-latest.json;
// - rss-series.svg, if bench/results/bench-rss-latest.json exists: RSS over messages from the
//   samples of `amqp-one bench --json` (one JSON object per line; see docs/performance.md);
// - rss-broker-presettled.svg, rss-broker-unsettled.svg, if bench/results/rss-broker-latest.json
//   exists: sender, receiver and broker RSS over messages (bench/rss-broker.js).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart, lineChart } from '../dist/bench/svg-plot.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'bench/results');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? process.argv[outAt + 1] : join(root, 'docs/plots');
const read = (name) => JSON.parse(readFileSync(join(results, name), 'utf8'));
const MODES = ['presettled', 'unsettled'];
const MiB = 1048576;
const width = 640;

const throughput = read('throughput-latest.json');
const protonC = read('proton-c-latest.json');
const pick = (file, impl, mode) => {
  const s = file.summary.find((x) => x.impl === impl && x.mode === mode);
  if (!s) throw new Error(`no ${impl} ${mode} in the summary`);
  return s;
};
const day = (file) => file.date.slice(0, 10);

const plots = {
  'rate-rhea.svg': barChart({
    width,
    title: `Peer to peer, msg/s (bench:throughput, ${day(throughput)})`,
    xLabel: 'mode',
    yLabel: 'messages per second',
    categories: MODES,
    series: ['amqp-one', 'rhea'].map((impl) => ({
      name: impl,
      values: MODES.map((m) => pick(throughput, impl, m).msgsPerSec),
    })),
    valueLabels: true,
  }),
  'rate-proton-c.svg': barChart({
    width,
    title: `Peer to peer, msg/s (bench:proton-c, ${day(protonC)})`,
    xLabel: 'mode',
    yLabel: 'messages per second',
    categories: MODES,
    series: [
      ['amqp-one', 'amqp-one'],
      ['proton-c', 'Proton C'],
    ].map(([impl, name]) => ({ name, values: MODES.map((m) => pick(protonC, impl, m).msgsPerSec) })),
    valueLabels: true,
  }),
  'cpu-per-message.svg': barChart({
    width,
    title: `CPU µs per message, lower is better (bench:throughput ${day(throughput)}, bench:proton-c ${day(protonC)})`,
    xLabel: 'process, mode',
    yLabel: 'CPU µs per message',
    categories: MODES.flatMap((m) => [`sender, ${m}`, `receiver, ${m}`]),
    // Each comparison from its own run: two runs on a shared machine may differ in speed.
    series: [
      ['amqp-one (vs rhea)', throughput, 'amqp-one'],
      ['rhea', throughput, 'rhea'],
      ['amqp-one (vs Proton C)', protonC, 'amqp-one'],
      ['Proton C', protonC, 'proton-c'],
    ].map(([name, file, impl]) => ({
      name,
      values: MODES.flatMap((m) => [
        pick(file, impl, m).senderUsPerMsg,
        pick(file, impl, m).receiverUsPerMsg,
      ]),
    })),
    valueLabels: true,
  }),
};

// The 1M-message RSS run: one sample every 100,000 messages, from the first to the last.
const rss = throughput.rss;
if (rss) {
  const points = (side) =>
    side.samplesMB.map((v, i, all) => [
      side.startAt + ((side.endAt - side.startAt) * i) / Math.max(1, all.length - 1),
      v,
    ]);
  plots['rss.svg'] = lineChart({
    width,
    title: `RSS over ${rss.count.toLocaleString('en-US')} messages, amqp-one ${rss.mode} (${day(throughput)})`,
    xLabel: 'messages',
    yLabel: 'RSS (MiB)',
    series: [
      { name: 'sender', points: points(rss.sender) },
      { name: 'receiver', points: points(rss.receiver) },
    ],
  });
}

// A long `amqp-one bench --json` run: RSS against messages done, per process and implementation.
const seriesFile = join(results, 'bench-rss-latest.json');
if (existsSync(seriesFile)) {
  const runs = readFileSync(seriesFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  const sent = Math.max(...runs.map((r) => r.sent));
  plots['rss-series.svg'] = lineChart({
    width,
    title: `RSS over ${sent.toLocaleString('en-US')} messages (amqp-one bench, ${runs[0].mode})`,
    xLabel: 'messages',
    yLabel: 'RSS (MiB)',
    series: runs.flatMap((r) =>
      ['sender', 'receiver'].map((side) => ({
        name: `${r.impl} ${side}`,
        points: r.series[side].map((s) => [s.n, s.rssBytes / MiB]),
      })),
    ),
  });
}

// `npm run bench:rss-broker`: RSS against messages through the broker, one plot per mode, with the
// broker's own RSS beside the sender's and receiver's.
const brokerFile = join(results, 'rss-broker-latest.json');
if (existsSync(brokerFile)) {
  const rec = JSON.parse(readFileSync(brokerFile, 'utf8'));
  for (const { mode, result, broker } of rec.runs) {
    plots[`rss-broker-${mode}.svg`] = lineChart({
      width,
      title: `RSS over ${result.sent.toLocaleString('en-US')} messages through amqp-one broker, ${mode}`,
      xLabel: 'messages',
      yLabel: 'RSS (MiB)',
      series: [
        ...['sender', 'receiver'].map((side) => ({
          name: side,
          points: result.series[side].map((p) => [p.n, p.rssBytes / MiB]),
        })),
        { name: 'broker', points: broker.samples.map((p) => [p.n, p.rssBytes / MiB]) },
      ],
    });
  }
}

mkdirSync(out, { recursive: true });
for (const [name, svg] of Object.entries(plots)) {
  writeFileSync(join(out, name), `${svg}\n`);
  console.log(join(out, name));
}
