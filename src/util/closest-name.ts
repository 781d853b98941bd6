/**
 * The name a mistyped one most likely meant: edit distance with adjacent transpositions (optimal
 * string alignment), case-insensitive, so that `hots`, `Host` and `hostt` all find `host`. Names
 * too far away to be a typo are not suggested: a wrong guess misleads more than none.
 */

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    const up = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      row[j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The closest of `names` to `wanted`, or undefined when none is close. In this order: the same
 * name in another case; a name that begins with it (`expiresIn` for `expiresInSeconds`, shortest
 * first); one within a third of its length in edits (at least 1, at most 3: `hots` for `host`);
 * one that contains it (`timeout` for `idleTimeoutMs`, shortest first); one that it contains. Names shorter than 3 letters are only matched by edits. Ties
 * go to the earlier name, so callers list their preferred ones first.
 */
export function closestName(wanted: string, names: readonly string[]): string | undefined {
  const w = wanted.toLowerCase();
  const lower = names.map((n) => n.toLowerCase());
  const same = lower.indexOf(w);
  if (same >= 0) return names[same];
  const related = (test: (n: string) => boolean): string | undefined => {
    if (w.length < 3) return undefined;
    let best: string | undefined;
    names.forEach((name, i) => {
      const n = lower[i]!;
      if (n.length >= 3 && test(n) && (best === undefined || name.length < best.length)) best = name;
    });
    return best;
  };
  const prefix = related((n) => n.startsWith(w));
  if (prefix !== undefined) return prefix;
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  names.forEach((name, i) => {
    const d = editDistance(w, lower[i]!);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  });
  if (best !== undefined && bestDistance <= limit) return best;
  return related((n) => n.includes(w)) ?? related((n) => w.includes(n));
}
