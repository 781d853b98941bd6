/**
 * TypedEmitter is our own emitter (no node:events, so the promise API runs in a browser): it must
 * behave as Node's EventEmitter does where the API and its users rely on it.
 */
import { EventEmitter, once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

interface Events {
  tick: [n: number];
  error: [err: unknown];
  close: [];
}

/** Runs the same script on ours and on Node's emitter and returns what each saw. */
function both(script: (e: TypedEmitter<Events>, seen: string[]) => void): [string[], string[]] {
  const ours: string[] = [];
  script(new TypedEmitter<Events>(), ours);
  const node: string[] = [];
  script(new EventEmitter() as unknown as TypedEmitter<Events>, node);
  return [ours, node];
}

describe('TypedEmitter', () => {
  it('calls listeners in the order added, prepended ones first, with the emitter as this', () => {
    const [ours, node] = both((e, seen) => {
      e.on('tick', (n) => void seen.push(`a${n}`));
      e.addListener('tick', function (this: unknown, n) {
        seen.push(`b${n}:${this === e}`);
      });
      e.prependListener('tick', (n) => void seen.push(`p${n}`));
      e.prependOnceListener('tick', (n) => void seen.push(`po${n}`));
      seen.push(String(e.emit('tick', 1)), String(e.emit('tick', 2)), String(e.emit('close')));
    });
    expect(ours).toEqual(['po1', 'p1', 'a1', 'b1:true', 'p2', 'a2', 'b2:true', 'true', 'true', 'false']);
    expect(ours).toEqual(node);
  });

  it('runs a once listener once, even when it emits the same event again', () => {
    const [ours, node] = both((e, seen) => {
      e.once('tick', (n) => {
        seen.push(`once${n}`);
        if (n === 1) e.emit('tick', 2);
      });
      e.on('tick', (n) => void seen.push(`on${n}`));
      e.emit('tick', 1);
      e.emit('tick', 3);
      seen.push(`count${e.listenerCount('tick')}`);
    });
    expect(ours).toEqual(['once1', 'on2', 'on1', 'on3', 'count1']);
    expect(ours).toEqual(node);
  });

  it('an emit calls the listeners present when it began, whatever they add or remove', () => {
    const [ours, node] = both((e, seen) => {
      const late = (): void => void seen.push('late');
      const second = (): void => void seen.push('second');
      e.on('close', () => {
        seen.push('first');
        e.off('close', second);
        e.on('close', late);
      });
      e.on('close', second);
      e.emit('close');
      e.emit('close');
    });
    expect(ours).toEqual(['first', 'second', 'first', 'late']);
    expect(ours).toEqual(node);
  });

  it('off removes the latest registration of a listener, once ones included', () => {
    const [ours, node] = both((e, seen) => {
      const l = (n: number): void => void seen.push(`l${n}`);
      e.on('tick', l);
      e.once('tick', l);
      e.off('tick', l); // the once
      e.emit('tick', 1);
      e.emit('tick', 2);
      e.removeListener('tick', l);
      e.off('tick', l); // nothing left: no effect
      seen.push(`count${e.listenerCount('tick')}`, String(e.emit('tick', 3)));
    });
    expect(ours).toEqual(['l1', 'l2', 'count0', 'false']);
    expect(ours).toEqual(node);
  });

  it('removeAllListeners removes one event or all', () => {
    const e = new TypedEmitter<Events>();
    e.on('tick', () => undefined);
    e.on('close', () => undefined);
    e.removeAllListeners('tick');
    expect([e.listenerCount('tick'), e.listenerCount('close')]).toEqual([0, 1]);
    e.on('tick', () => undefined);
    e.removeAllListeners();
    expect([e.listenerCount('tick'), e.listenerCount('close')]).toEqual([0, 0]);
  });

  it("throws an 'error' nobody listens to, wrapping what is not an Error", () => {
    const e = new TypedEmitter<Events>();
    const boom = new Error('boom');
    expect(() => e.emit('error', boom)).toThrow(boom);
    expect(() => e.emit('error', 'text')).toThrow(
      expect.objectContaining({ code: 'ERR_UNHANDLED_ERROR', context: 'text' }),
    );
    const seen: unknown[] = [];
    e.on('error', (err) => void seen.push(err));
    expect(e.emit('error', boom)).toBe(true);
    expect(seen).toEqual([boom]);
  });

  it('refuses a listener that is not a function', () => {
    const e = new TypedEmitter<Events>();
    expect(() => e.on('close', 'nope' as unknown as () => void)).toThrow(TypeError);
  });

  it("works with node:events' once(), which also rejects on 'error'", async () => {
    const e = new TypedEmitter<Events>();
    const ticked = once(e, 'tick');
    e.emit('tick', 7);
    await expect(ticked).resolves.toEqual([7]);
    const closed = once(e, 'close');
    const boom = new Error('boom');
    e.emit('error', boom);
    await expect(closed).rejects.toBe(boom);
    expect([e.listenerCount('close'), e.listenerCount('error')]).toEqual([0, 0]);
  });
});
