/** `amqp-one hub`: the local IoT Hub emulator, until SIGINT/SIGTERM. */
import { runHubCli, HUB_HELP } from '../iothub/emulator/cli.js';

export { HUB_HELP };

export async function hubCommand(argv: string[]): Promise<number> {
  const hub = await runHubCli(argv);
  if (!hub) return 0; // --help
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await hub.close();
  return 0;
}
