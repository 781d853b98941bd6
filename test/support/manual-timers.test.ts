import { describe, expect, it } from 'vitest';
import { ManualTimers } from './manual-timers.js';

describe('ManualTimers', () => {
  it('fires due timers in deadline order, each with now() at its own deadline', () => {
    const t = new ManualTimers(0);
    const fired: string[] = [];
    t.setTimeout(() => fired.push(`b@${t.now()}`), 20);
    t.setTimeout(() => fired.push(`a@${t.now()}`), 10);
    t.setTimeout(() => fired.push(`c@${t.now()}`), 31);
    t.advance(30);
    expect(fired).toEqual(['a@10', 'b@20']);
    expect(t.now()).toBe(30);
    expect(t.timers).toBe(1);
    t.advance(1);
    expect(fired).toEqual(['a@10', 'b@20', 'c@31']);
  });

  it('fires a timer set by a firing callback in the same advance when it is due', () => {
    const t = new ManualTimers(0);
    const fired: number[] = [];
    t.setTimeout(() => {
      fired.push(t.now());
      t.setTimeout(() => fired.push(t.now()), 5);
      t.setTimeout(() => fired.push(t.now()), 50);
    }, 10);
    t.advance(20);
    expect(fired).toEqual([10, 15]);
    t.advance(40);
    expect(fired).toEqual([10, 15, 60]);
  });

  it('ties fire in the order they were set; a cleared timer never fires; negative delays are 0', () => {
    const t = new ManualTimers(0);
    const fired: string[] = [];
    t.setTimeout(() => fired.push('first'), 5);
    const h = t.setTimeout(() => fired.push('cleared'), 5);
    t.setTimeout(() => fired.push('second'), 5);
    t.setTimeout(() => fired.push('now'), -3);
    t.clearTimeout(h);
    t.advance(0);
    expect(fired).toEqual(['now']);
    t.advance(5);
    expect(fired).toEqual(['now', 'first', 'second']);
    expect(t.timers).toBe(0);
  });
});
