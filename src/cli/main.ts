#!/usr/bin/env node
/**
 * The `amqp-one` command: one entry point, one file per command. `hub` is the emulator's own
 * command line (src/iothub/emulator/cli.ts), so that the emulator ships it with its entry point.
 */
import { UsageError } from './args.js';
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
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`amqp-one: unknown command ${name}\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`amqp-one ${name}: ${e.message}\n\n${cmd.help}`);
      return 2;
    }
    const err = e as { code?: string; message?: string };
    console.error(`amqp-one ${name}: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
