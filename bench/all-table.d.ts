// Types of bench/all-table.js, for test/bench/all-table.test.ts.

/** One line of the table; ratio is how many times faster ours is (above 1 is better). */
export interface Row {
  measure: string;
  ours: string;
  theirs: string;
  ratio: number | null;
  /** A ratio to reach, or a target said in words (RSS: flat). */
  target: number | string | null;
  met: boolean | null;
}

export const TARGETS: { codec: number; rhea: number; protonC: number; protonCSenderCpu: number };
export const FLAT_GROWTH: number;

/** What each step recorded (its -latest.json or its JSON lines), or why it has none. */
export type Recorded = Partial<
  Record<
    'codec' | 'cli' | 'protonC' | 'websocket' | 'iothub' | 'registry' | 'capacity' | 'large' | 'rss',
    unknown
  >
>;

export function buildRows(recorded: Recorded): Row[];
export function formatTable(rows: Row[]): string;
