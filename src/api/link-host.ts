/** What the link wrappers need from the connection that carries them (client or server side). */
import type { Timers } from '../util/timers.js';

export interface LinkHost {
  timers: Timers;
  /** Asks for the engine's output to be flushed at the end of this event-loop turn. */
  schedule(): void;
}
