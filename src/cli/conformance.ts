/** `amqp-one conformance`: test a server (URL) or, with --listen, a client, case by case. */
import { readFileSync, writeFileSync } from 'node:fs';
import { CLIENT_CASES, ConformanceServer } from '../conformance/client-suite.js';
import type { ClientScenario } from '../conformance/client-observer.js';
import { toHtml, toJson, toText } from '../conformance/report.js';
import { SERVER_CASES } from '../conformance/server-cases/index.js';
import { runServerSuite, selectCases } from '../conformance/server-suite.js';
import type { CaseResult, ConformanceResults } from '../conformance/types.js';
import { int, parse, parseUrl, port, UsageError } from './args.js';

export const CONFORMANCE_HELP = `amqp-one conformance URL | --listen PORT [--report FILE.html] [--json] [options]
  Tests an AMQP 1.0 server (a broker) at URL (amqp[s]://[user:pass@]host:port, or
  ws[s]://[user:pass@]host:port/path for the same frames over WebSockets) with frame-level
  scenarios, each tied to a section of the spec; prints pass, fail or n/a per case with the reason.
  With --listen PORT it is the server and tests the clients that connect: one connection per
  scenario (default: observe, observe, close-error), e.g. a sending and a receiving client, then
  any client (it is closed with an error).
  Exit code 1 when a case fails.

  --report FILE        write a self-contained HTML report (frame trace of every case)
  --json               print the results as one JSON object on one line (same results as the report)
  --case ID            run only this case (repeatable; 'link.' or 'link*' selects a group)
  --list               list the cases and exit
  --address-prefix P   before every queue name (RabbitMQ 3.x: /queue/)
  --timeout MS         wait this long for each answer the peer owes (default 2000)
  --max-wait MS        longest silence a case may wait out (default 10000)
  --no-sasl            never use SASL (default: SASL when the server offers it)
  --ca FILE / --insecure   TLS trust for amqps:// and wss:// URLs
  --host H             with --listen (default 127.0.0.1)
  --scenarios LIST     with --listen: observe and close-error, comma-separated, one per connection
  --wait MS            with --listen: judge what came after this long (default 120000)`;

export async function conformanceCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    report: { type: 'string' },
    json: { type: 'boolean' },
    case: { type: 'string', multiple: true },
    list: { type: 'boolean' },
    'address-prefix': { type: 'string' },
    timeout: { type: 'string' },
    'max-wait': { type: 'string' },
    'no-sasl': { type: 'boolean' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    listen: { type: 'string' },
    host: { type: 'string' },
    scenarios: { type: 'string' },
    wait: { type: 'string' },
  });
  if (v.help) return (console.log(CONFORMANCE_HELP), 0);
  if (v.list) {
    for (const c of SERVER_CASES) console.log(`${c.id.padEnd(28)} ${c.section.padEnd(8)} ${c.title}`);
    for (const c of CLIENT_CASES)
      console.log(`${c.id.padEnd(28)} ${c.section.padEnd(8)} ${c.title} (--listen)`);
    return 0;
  }
  const json = v.json ?? false;
  const progress = (r: CaseResult): void => {
    if (!json)
      console.log(
        `${r.status === 'fail' ? 'FAIL' : r.status === 'pass' ? 'pass' : 'n/a '}  ${r.id.padEnd(28)} ${r.section.padEnd(8)} ${r.reason}`,
      );
  };
  let results: ConformanceResults;
  if (v.listen !== undefined) {
    if (positionals.length > 0) throw new UsageError('--listen takes no URL');
    const scenarios = (v.scenarios ?? 'observe,observe,close-error').split(',').map((s) => s.trim());
    for (const s of scenarios) {
      if (s !== 'observe' && s !== 'close-error')
        throw new UsageError(`unknown scenario ${s}: observe or close-error`);
    }
    const server = await new ConformanceServer({
      host: v.host ?? '127.0.0.1',
      port: port(v.listen, 'listen', 5672),
      scenarios: scenarios as ClientScenario[],
      waitMs: int(v.wait, 'wait', 120_000),
      cases: v.case,
      onConnection: (i, s) => {
        if (!json) console.log(`connection ${i} of ${scenarios.length}: scenario ${s}`);
      },
      onResult: progress,
    }).start();
    if (!json) {
      console.log(
        `amqp-one conformance listening on amqp://${v.host ?? '127.0.0.1'}:${server.port}: ` +
          `connect a client ${scenarios.length} time(s) (${scenarios.join(', ')})`,
      );
    }
    try {
      results = await server.results();
    } finally {
      await server.close();
    }
  } else {
    const url = positionals[0];
    if (!url) throw new UsageError('conformance needs a URL, or --listen PORT');
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
    parseUrl(url); // a URL that does not parse is a usage error
    const cases = selectCases(SERVER_CASES, v.case);
    if (cases.length === 0) throw new UsageError(`no case matches ${v.case?.join(', ')}`);
    results = await runServerSuite(url, cases, {
      addressPrefix: v['address-prefix'],
      timeoutMs: int(v.timeout, 'timeout', 2000),
      maxWaitMs: int(v['max-wait'], 'max-wait', 10_000),
      sasl: v['no-sasl'] ? 'none' : 'auto',
      tls: { ca: v.ca ? readFileSync(v.ca) : undefined, rejectUnauthorized: !v.insecure },
      onResult: progress,
    });
  }
  if (v.report) writeFileSync(v.report, toHtml(results));
  if (json)
    process.stdout.write(`${toJson(results, 0)}\n`); // one line, like every --json
  else {
    const lines = toText(results).split('\n');
    console.log(lines.slice(-1)[0]);
    if (v.report) console.log(`report written to ${v.report}`);
  }
  return results.summary.fail > 0 ? 1 : 0;
}
