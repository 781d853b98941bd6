/** The process-wide logger hook as the package exports it: the argument checked, with a typed error. */
import { loggerProblem, setGlobalLogger, type Logger } from '../util/logger.js';
import { InvalidArgumentError } from './errors.js';

/**
 * Sends the diagnostics of every connection, server and IoT Hub client that has no `logger` of its
 * own to `logger`; `setLogger(undefined)` stops them. A record is
 * `{ level, category, message, fields }`; see README "Diagnostics".
 */
export function setLogger(logger: Logger | undefined): void {
  const problem = loggerProblem(logger);
  if (problem) throw new InvalidArgumentError(`setLogger: ${problem}`);
  setGlobalLogger(logger);
}
