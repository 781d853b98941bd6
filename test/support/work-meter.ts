/**
 * Work counted instead of timed: a test wraps the methods that do a unit of work (a value read,
 * a map lookup, an entry visited) and bounds how many run. A busy machine cannot fail such a
 * bound, but a loop that grows past linear does, at once: past the budget the method throws.
 */

/** Thrown from inside the code under test once it has used up its budget. */
export class WorkBudgetExceeded extends Error {
  override name = 'WorkBudgetExceeded';
}

type Method = (...args: unknown[]) => unknown;

export type Metered<T> = { work: number } & ({ ok: true; value: T } | { ok: false; error: unknown });

export class WorkMeter {
  private work = 0;
  private budget = Infinity;
  /** Set when the budget ran out, even if the code under test caught the throw. */
  private exceeded: WorkBudgetExceeded | undefined;

  /** Counts each call of the named methods of each prototype (each item, for generator methods). */
  constructor(...targets: [proto: object, names: string[]][]) {
    for (const [proto, names] of targets) this.wrap(proto as Record<string, Method>, names);
  }

  private wrap(target: Record<string, Method>, names: string[]): void {
    const count = (): void => {
      if (++this.work > this.budget) {
        this.exceeded ??= new WorkBudgetExceeded(
          `went past ${this.budget} units of work (${names.join(', ')})`,
        );
        throw this.exceeded;
      }
    };
    for (const name of names) {
      const original = target[name];
      if (typeof original !== 'function') throw new Error(`no method ${name} to meter`);
      target[name] =
        original.constructor.name === 'GeneratorFunction'
          ? function* (this: unknown, ...args: unknown[]) {
              for (const item of original.apply(this, args) as Iterable<unknown>) {
                count();
                yield item;
              }
            }
          : function (this: unknown, ...args: unknown[]) {
              count();
              return original.apply(this, args);
            };
    }
  }

  /** Runs `fn`, counting its work; past `limit` units the metered method throws. */
  run<T>(fn: () => T, limit = Infinity): Metered<T> {
    this.work = 0;
    this.budget = limit;
    this.exceeded = undefined;
    try {
      const value = fn();
      if (this.exceeded) return { ok: false, error: this.exceeded, work: this.work };
      return { ok: true, value, work: this.work };
    } catch (error) {
      return { ok: false, error: this.exceeded ?? error, work: this.work };
    } finally {
      this.budget = Infinity;
    }
  }
}
