/** The engine's structured records: what is logged, at which level, and that no secret is. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { plainClient, plainServer } from '../../src/sasl/mechanisms.js';
import { formatDebugLine, parseDebug } from '../../src/util/debug-env.js';
import { LOG_CATEGORIES, Log, setDebug, type LogRecord } from '../../src/util/logger.js';
import { setLogger } from '../../src/api/logging.js';
import { InvalidArgumentError } from '../../src/api/errors.js';
import { makePair } from './pair.js';

const SECRET = 'SharedAccessSignature sr=hub&sig=s3cr3t-Sig%3D&se=99';

function collect(level?: 'trace' | 'debug' | 'info'): {
  records: LogRecord[];
  logger: Parameters<typeof setLogger>[0];
} {
  const records: LogRecord[] = [];
  const log = (r: LogRecord): void => void records.push(r);
  return { records, logger: level ? { level, log } : log };
}

afterEach(() => {
  setLogger(undefined);
  setDebug(undefined);
  vi.restoreAllMocks();
});

describe('engine logging', () => {
  it('records the connection, SASL, session and link steps as plain objects', () => {
    const c = collect();
    const s = collect();
    const p = makePair(
      { sasl: plainClient('device1', SECRET), logger: c.logger },
      { saslServer: { mechanisms: [plainServer((_u, pw) => pw === SECRET)] }, logger: s.logger },
    );
    p.client.open();
    const session = p.client.beginSession();
    const link = session.openSender({ name: 'tele', target: { address: 'devices/d1/messages/events' } });
    p.pump();
    link.detach({ closed: true });
    p.pump();
    session.end();
    p.pump();
    p.client.close();
    p.pump();

    const seen = c.records.map((r) => `${r.level} ${r.category} ${r.message}`);
    expect(seen).toEqual([
      'debug connection opening',
      'info sasl SASL succeeded',
      'info connection the peer opened',
      'debug session session begun',
      'debug link link attached',
      'debug link link detached',
      'debug session session ended',
      'info connection closed',
      'debug connection transport done',
    ]);
    const attached = c.records.find((r) => r.message === 'link attached')!;
    expect(attached.fields).toEqual({
      connection: 'client:client',
      channel: 0,
      link: 'tele',
      role: 'sender',
      source: undefined,
      target: 'devices/d1/messages/events',
    });
    // The server's records carry the identity SASL authenticated, not the password.
    expect(s.records.find((r) => r.category === 'sasl')!.fields).toMatchObject({
      mechanism: 'PLAIN',
      identity: 'device1',
    });
    // Records are plain data: they survive JSON as they are.
    for (const r of [...c.records, ...s.records]) expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('logs frames at trace only, with the SASL response hidden', () => {
    const debugOnly = collect();
    const all = collect('trace');
    const p = makePair(
      { sasl: plainClient('device1', SECRET), logger: all.logger },
      { saslServer: { mechanisms: [plainServer(() => true)] }, logger: debugOnly.logger },
    );
    p.client.open();
    p.pump();
    expect(debugOnly.records.some((r) => r.category === 'frames')).toBe(false);
    const frames = all.records.filter((r) => r.category === 'frames');
    expect(frames.map((r) => `${r.fields.direction} ${r.fields.performative}`)).toEqual([
      'in sasl-mechanisms',
      'out sasl-init',
      'in sasl-outcome',
      'out open',
      'in open',
    ]);
    expect(frames.every((r) => r.level === 'trace')).toBe(true);
    const init = frames.find((r) => r.fields.performative === 'sasl-init')!;
    expect(init.message).toContain('bytes hidden');
    const text = JSON.stringify(all.records);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain(Buffer.from(SECRET).toString('hex').slice(0, 40));
  });

  it('a failed SASL is a warning that names the outcome, not the password', () => {
    const c = collect();
    const p = makePair(
      { sasl: plainClient('device1', SECRET), logger: c.logger },
      { saslServer: { mechanisms: [plainServer(() => false)] } },
    );
    p.client.open();
    p.pump();
    const failed = c.records.find((r) => r.category === 'sasl')!;
    expect(failed.level).toBe('warn');
    expect(failed.message).toBe('SASL failed');
    expect((failed.fields.error as { code: string }).code).toMatch(/^AMQP_SASL/);
    expect(JSON.stringify(c.records)).not.toContain('s3cr3t');
  });

  it('the process-wide logger takes the records of connections without their own', () => {
    const g = collect();
    const own = collect();
    setLogger(g.logger);
    const p = makePair({ logger: own.logger }, {});
    p.client.open();
    p.pump();
    expect(own.records.some((r) => r.fields.connection === 'client:client')).toBe(true);
    expect(g.records.some((r) => r.fields.connection === 'client:client')).toBe(false);
    expect(g.records.some((r) => r.fields.connection === 'server:server')).toBe(true);
    setLogger(undefined);
    const before = g.records.length;
    makePair().client.open();
    expect(g.records.length).toBe(before);
  });

  it('setLogger refuses what is not a logger with a typed error, and keeps the one it had', () => {
    const g = collect();
    setLogger(g.logger);
    expect(() => setLogger('console' as unknown as LogRecord['fields'] as never)).toThrow(
      InvalidArgumentError,
    );
    expect(() => setLogger({ level: 'loud', log: () => undefined } as never)).toThrow(
      /logger level must be one of/,
    );
    makePair().client.open();
    expect(g.records.some((r) => r.message === 'opening')).toBe(true);
  });

  it('a throwing logger does not break the connection', () => {
    const p = makePair(
      {
        logger: () => {
          throw new Error('logger bug');
        },
      },
      {},
    );
    p.client.open();
    p.pump();
    expect(p.client.isOpen).toBe(true);
  });

  it('DEBUG categories print one line per record on stderr, without a logger', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    setDebug('amqp-one:sasl amqp-one:link');
    const p = makePair(
      { sasl: plainClient('device1', SECRET) },
      { saslServer: { mechanisms: [plainServer(() => true)] } },
    );
    p.client.open();
    p.client.beginSession().openReceiver({ name: 'r', source: { address: 'q' } });
    p.pump();
    setDebug(undefined);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    expect(lines.filter((l) => / amqp-one:sasl info SASL succeeded /.test(l))).toHaveLength(2);
    expect(lines.filter((l) => / amqp-one:link debug link attached .*source=q/.test(l))).toHaveLength(1);
    expect(lines.some((l) => l.includes('amqp-one:connection'))).toBe(false);
    expect(lines.join('')).not.toContain('s3cr3t');
  });

  it('child logs add context and share the destination', () => {
    const c = collect();
    const log = new Log(c.logger, { a: 1 }).child({ b: 2 });
    log.log('info', 'iothub', 'x', { c: 3 });
    expect(c.records).toEqual([
      { level: 'info', category: 'iothub', message: 'x', fields: { a: 1, b: 2, c: 3 } },
    ]);
  });
});

describe('DEBUG names', () => {
  const all = LOG_CATEGORIES;
  const on = (spec: string | undefined): string[] => [...parseDebug(spec, all)].sort();

  it('reads names, wildcards and exclusions as the debug package does', () => {
    expect(on(undefined)).toEqual([]);
    expect(on('')).toEqual([]);
    expect(on('amqp-one:*')).toEqual([...all].sort());
    expect(on('*')).toEqual([...all].sort());
    expect(on('amqp-one:connection,amqp-one:sasl')).toEqual(['connection', 'sasl']);
    expect(on('  amqp-one:connection   amqp-one:sasl ')).toEqual(['connection', 'sasl']);
    expect(on('amqp-one:*,-amqp-one:frames')).toEqual(all.filter((c) => c !== 'frames').sort());
    expect(on('amqp-one:s*')).toEqual(['server', 'session', 'sasl'].sort());
    expect(on('express:*,other')).toEqual([]);
    expect(on('amqp-one:connection.')).toEqual([]);
  });

  it('formats one line: time, name, level, message, fields', () => {
    const line = formatDebugLine(
      {
        level: 'warn',
        category: 'link',
        message: 'link detached with an error',
        fields: { link: 'my link', channel: 0, error: { code: 'AMQP_LINK_STOLEN' }, none: undefined },
      },
      new Date(0),
    );
    expect(line).toBe(
      '1970-01-01T00:00:00.000Z amqp-one:link warn link detached with an error link="my link" channel=0 error={ code: \'AMQP_LINK_STOLEN\' }\n',
    );
  });
});
