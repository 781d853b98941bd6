/** A bench worker's own accounting: warm-up, the measured interval, the expected total, budgets. */
import { describe, expect, test } from 'vitest';
import { Meter, type WorkerReport } from '../../src/bench/meter.js';
import { SENT_AT, split } from '../../src/bench/options.js';
import { stampedAnnotations, TELEMETRY } from '../../src/bench/telemetry.js';
import { Deadline, LinkBudget } from '../../src/bench/peer.js';

function meter(role: 'sender' | 'receiver', warmup: number): { m: Meter; reports: WorkerReport[] } {
  const reports: WorkerReport[] = [];
  return { m: new Meter(role, warmup, (r) => reports.push(r)), reports };
}

describe('Meter', () => {
  test('warm-up messages are counted but neither measured nor given a latency', () => {
    const { m, reports } = meter('receiver', 3);
    m.expect(5);
    const sentAt = Date.now() - 1000; // a second ago on the shared clock (performance time origin)
    for (let i = 0; i < 5; i++) m.arrived(sentAt);
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(r.total).toBe(5);
    expect(r.measured).toBe(2);
    expect(r.latencyUs!.count).toBe(2);
    expect(r.latencyUs!.min).toBeGreaterThan(900_000);
    expect(r.t1).toBeGreaterThanOrEqual(r.t0);
  });

  test('finishes once the expected total is reached, also when it is learnt after the fact', () => {
    const { m, reports } = meter('sender', 0);
    m.begin();
    for (let i = 0; i < 4; i++) m.tick();
    expect(reports).toHaveLength(0); // the total is unknown yet (a duration run still sending)
    m.expect(4);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.measured).toBe(4);
    expect(reports[0]!.latencyUs).toBeUndefined();
    m.tick();
    m.finish();
    expect(reports).toHaveLength(1); // reports once
  });

  test('finish() reports what arrived so far (a stalled run)', () => {
    const { m, reports } = meter('receiver', 0);
    m.expect(10);
    m.arrived(Date.now());
    m.finish();
    expect(reports[0]!.total).toBe(1);
    expect(reports[0]!.peakRssBytes).toBeGreaterThan(1 << 20);
  });
});

describe('budgets', () => {
  test('split spreads a total over links, remainder first', () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
    expect(split(2, 4)).toEqual([1, 1, 0, 0]);
    expect(split(7, 1)).toEqual([7]);
  });

  test('a link budget stops at its quota', () => {
    const { m } = meter('sender', 0);
    const b = new LinkBudget(2, new Deadline(m, undefined));
    const stamps: number[] = [];
    while (b.more()) stamps.push(b.stamp());
    expect(b.sent).toBe(2);
    expect(stamps[1]!).toBeGreaterThanOrEqual(stamps[0]!);
  });

  test('a deadline runs from the end of the warm-up, not before', () => {
    const { m } = meter('sender', 5);
    const d = new Deadline(m, 0);
    expect(d.passed()).toBe(false); // warm-up not over: never passed
    for (let i = 0; i < 5; i++) m.tick();
    expect(m.startedAt).toBeDefined();
    expect(d.passed()).toBe(true); // 0 ms after the warm-up
    expect(new LinkBudget(Infinity, d).more()).toBe(false);
  });
});

describe('the stamped telemetry message', () => {
  test('carries the telemetry annotations and the send time under SENT_AT', () => {
    const a = stampedAnnotations(1234.5) as Record<string, unknown>;
    expect(a[SENT_AT]).toBe(1234.5);
    const { [SENT_AT]: _stamp, ...rest } = a;
    expect(rest).toEqual(TELEMETRY.messageAnnotations);
  });
});
