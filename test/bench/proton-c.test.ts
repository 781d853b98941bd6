/**
 * The Proton C programs of the Proton C throughput comparison (bench/proton-c/, run by
 * bench/proton-c.js), against amqp-one: they build; the C sender's messages reach an amqp-one
 * server as the benchmark's telemetry message (src/bench/telemetry.ts), presettled and unsettled; and
 * the C receiver counts, accepts and reports what an amqp-one client sends it.
 *
 * The wire bytes: Proton 0.37 encodes the same AMQP types as amqp-one (so amqp-one re-encodes the
 * decoded message to exactly its own bytes), but lays two things out differently, which its API
 * cannot change: it always writes a header section (an empty list) and it writes maps as map32
 * where amqp-one writes map8. The payload is checked byte for byte against amqp-one's encoding
 * with exactly those two changes applied.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connect, decodeMessage, encodeMessage, listen, type AmqpServer } from '../../src/index.js';
import { jsonBody, TELEMETRY, telemetryMessage } from '../../src/bench/telemetry.js';
import type { Message } from '../../src/codec/message.js';
import { runCommand, spawnManaged, type ManagedProcess } from '../interop/support/peers.js';
import { waitFor } from '../interop/support/ours.js';

const BUILD_SH = new URL('../../bench/proton-c/build.sh', import.meta.url).pathname;
const ADDRESS = 'bench/telemetry';
const N = 200;

let bin: { sender: string; receiver: string } | undefined;
const children: ManagedProcess[] = [];

afterAll(async () => {
  await Promise.all(children.map((c) => c.terminate(1000)));
}, 20_000);

/** amqp-one's bytes as Proton 0.37 lays them out: an empty header first, every map8 as map32. */
function protonLayout(amqpOne: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x00, 0x53, 0x70, 0x45])];
  let i = 0;
  while (i < amqpOne.length) {
    expect(amqpOne.subarray(i, i + 2)).toEqual(Buffer.from([0x00, 0x53])); // a section descriptor
    const code = amqpOne[i + 2]!;
    const ctor = amqpOne[i + 3]!;
    let end: number;
    if (ctor === 0xc0 || ctor === 0xc1 || ctor === 0xa0) end = i + 5 + amqpOne[i + 4]!;
    else if (ctor === 0xb0) end = i + 8 + amqpOne.readUInt32BE(i + 4);
    else throw new Error(`unexpected constructor 0x${ctor.toString(16)} in section 0x${code.toString(16)}`);
    if (ctor === 0xc1) {
      const size = amqpOne[i + 4]!;
      const count = amqpOne[i + 5]!;
      const head = Buffer.alloc(12);
      head.set([0x00, 0x53, code, 0xd1]);
      head.writeUInt32BE(size + 3, 4); // size covers the count: 1 byte -> 4 bytes
      head.writeUInt32BE(count, 8);
      parts.push(head, amqpOne.subarray(i + 6, end));
    } else {
      parts.push(amqpOne.subarray(i, end));
    }
    i = end;
  }
  return Buffer.concat(parts);
}

/** Runs a C program to completion; its last stdout line is its JSON report. */
async function runC(file: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await runCommand(file, args, { timeoutMs: 60_000 });
  expect(r.code, r.output).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

/** Starts the C receiver; resolves with the process and the port it listens on. */
async function startReceiver(args: string[]): Promise<{ p: ManagedProcess; port: number }> {
  const p = spawnManaged(bin!.receiver, args, { name: 'proton-c-bench-receiver' });
  children.push(p);
  const m = await p.waitForOutput(/\{"type":"ready","port":(\d+)\}/, 10_000, 'the ready line');
  return { p, port: Number(m[1]) };
}

describe('Proton C benchmark programs', () => {
  it('build with gcc -O2 and refuse bad arguments', { timeout: 120_000 }, async () => {
    const r = await runCommand('bash', [BUILD_SH], { timeoutMs: 120_000 });
    expect(r.code, r.output).toBe(0);
    expect(r.stderr).not.toMatch(/warning|error/i);
    const dir = r.stdout.trim().split('\n').pop()!;
    bin = { sender: `${dir}/sender`, receiver: `${dir}/receiver` };
    const bad = await runCommand(bin.sender, ['127.0.0.1', '1', '0', '10', 'sometimes'], {
      timeoutMs: 10_000,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('MODE');
    const usage = await runCommand(bin.receiver, [], { timeoutMs: 10_000 });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage');
  });

  for (const mode of ['presettled', 'unsettled'] as const) {
    it(`the C sender sends the telemetry message to amqp-one, ${mode}`, { timeout: 60_000 }, async () => {
      expect(bin, 'built by the first test').toBeDefined();
      const got: { payload: Buffer; remoteSettled: boolean; message: Message }[] = [];
      let address: string | undefined;
      const server: AmqpServer = await listen({
        port: 0,
        host: '127.0.0.1',
        sasl: false,
        onLink(l) {
          address = l.address;
          const r = l.acceptReceiver({ credit: 50 });
          void (async () => {
            for await (const m of r) {
              got.push({
                payload: Buffer.from(m.payload),
                remoteSettled: m.delivery.remoteSettled,
                message: m.message,
              });
              if (!m.settled) m.accept();
            }
          })().catch(() => undefined); // the sender closing ends the link: the count tells
        },
      });
      try {
        const report = await runC(bin!.sender, ['127.0.0.1', String(server.port), '0', String(N), mode]);
        expect(report).toMatchObject({ type: 'done', role: 'sender', mode, sent: N, done: N });
        expect(report.accepted).toBe(mode === 'unsettled' ? N : 0);
        expect(report.otherOutcomes).toBe(0);
        // The sender closes after its last message: everything before the close has arrived.
        await waitFor(() => got.length === N, 10_000, `${N} messages`);
      } finally {
        await server.close();
      }
      expect(address).toBe(ADDRESS);
      expect(got.every((m) => m.remoteSettled === (mode === 'presettled'))).toBe(true);

      const ours = encodeMessage(telemetryMessage());
      const expected = protonLayout(ours);
      expect(expected.length).toBe(ours.length + 16);
      for (const { payload, message } of got) {
        // Byte for byte: amqp-one's encoding with Proton's empty header and map32s.
        expect(payload.toString('hex')).toBe(expected.toString('hex'));
        // Decoded: the fixture's content.
        expect(message.messageAnnotations).toEqual(TELEMETRY.messageAnnotations);
        expect(message.properties).toEqual({
          messageId: TELEMETRY.messageId,
          to: TELEMETRY.to,
          contentType: TELEMETRY.contentType,
          creationTime: TELEMETRY.creationTime,
        });
        expect(message.applicationProperties).toEqual(TELEMETRY.applicationProperties);
        expect(Buffer.compare(message.body as Buffer, jsonBody())).toBe(0);
        expect(message.bodyType).toBe('data');
        // The same AMQP types: amqp-one re-encodes what it decoded (less the empty header) to
        // exactly its own encoding of the fixture.
        expect(message.header).toEqual({});
        const { header: _header, ...rest } = decodeMessage(payload);
        expect(encodeMessage(rest).toString('hex')).toBe(ours.toString('hex'));
      }
    });
  }

  for (const mode of ['unsettled', 'presettled'] as const) {
    it(
      `the C receiver takes ${N} messages from an amqp-one client, ${mode}`,
      { timeout: 60_000 },
      async () => {
        expect(bin, 'built by the first test').toBeDefined();
        const { p, port } = await startReceiver(['0', '0', String(N), mode, '100']);
        const conn = await connect({ host: '127.0.0.1', port, sasl: 'none' });
        try {
          const sender = await conn.openSender({ address: ADDRESS, presettled: mode === 'presettled' });
          const outcomes = await Promise.all(
            Array.from({ length: N }, () => sender.send(telemetryMessage())),
          );
          if (mode === 'unsettled') {
            expect(outcomes.filter((o) => o?.type === 'accepted').length).toBe(N);
          } else {
            expect(outcomes.every((o) => o === undefined)).toBe(true);
          }
          // The receiver reports and closes the connection once the last message is in.
          const exit = await p.exited;
          expect(exit.code, p.output()).toBe(0);
        } finally {
          await conn.close().catch(() => undefined);
        }
        const lines = p.stdout().trim().split('\n');
        const report = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
        expect(report).toMatchObject({
          type: 'done',
          role: 'receiver',
          mode,
          received: N,
          modeMismatches: 0,
          count: N,
        });
        expect(p.stderr()).toBe('');
      },
    );
  }
});
