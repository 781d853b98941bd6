#!/usr/bin/env node
/**
 * The `amqp-one` command: one entry point, one file per command. `hub` is the emulator's own
 * command line (src/iothub/emulator/cli.ts), so that the emulator ships it with its entry point.
 * Exit codes: 0 done, 1 a runtime error (one line with its code; see errors.ts) or a failed check
 * (conformance, bench), 2 a usage error (one line, then the command's help, on stderr).
 */
import { errorLine, toCliError, UsageError } from './errors.js';
import { benchCommand, BENCH_HELP } from './bench.js';
import { brokerCommand, BROKER_HELP } from './broker.js';
import { conformanceCommand, CONFORMANCE_HELP } from './conformance.js';
import { demoCommand, DEMO_HELP } from './demo.js';
import { hubCommand, HUB_HELP } from '../iothub/emulator/cli.js';
import { iothubCommand, IOTHUB_HELP } from './iothub.js';
import { receiveCommand, RECEIVE_HELP, sendCommand, SEND_HELP } from './send-receive.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  hub: { run: hubCommand, help: HUB_HELP },
  iothub: { run: iothubCommand, help: IOTHUB_HELP },
  broker: { run: brokerCommand, help: BROKER_HELP },
  send: { run: sendCommand, help: SEND_HELP },
  receive: { run: receiveCommand, help: RECEIVE_HELP },
  conformance: { run: conformanceCommand, help: CONFORMANCE_HELP },
  bench: { run: benchCommand, help: BENCH_HELP },
};

function usage(): string {
  return `amqp-one: AMQP 1.0 tools\n\nCommands:\n${Object.values(COMMANDS)
    .map((c) => '  ' + c.help.split('\n')[0])
    .join('\n')}\n\nRun "amqp-one <command> --help" for details.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (!name) {
    console.error(`amqp-one: [AMQP_CLI_USAGE] no command given\n\n${usage()}`);
    return 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`amqp-one: [AMQP_CLI_USAGE] unknown command ${name}\n\n${usage()}`);
    return 2;
  }
  const label = `amqp-one ${name}`;
  const json = rest.includes('--json');
  // An error no command awaited (a socket's 'error' event, say) is still one line, not a stack.
  const crash = (e: unknown): void => {
    console.error(errorLine(label, toCliError(e), json));
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // The library's timers do not hold the process open (util/timers.ts unrefs them): a command
  // waiting out a reconnect pause would otherwise end at once, with exit code 0 and no output.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = toCliError(e);
    if (err instanceof UsageError) {
      console.error(`${errorLine(label, err, false)}\n\n${(err.help ?? cmd.help).trimEnd()}`);
      return 2;
    }
    console.error(errorLine(label, err, json));
    return 1;
  } finally {
    clearInterval(keepAlive);
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(errorLine('amqp-one', toCliError(e), false));
    process.exitCode = 1;
  },
);
