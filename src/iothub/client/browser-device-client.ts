/**
 * The DeviceClient of `amqp-one/iothub/browser`: the device client (device-client-base.ts) on the
 * browser's platform (browser-platform.ts). It speaks AMQP over the browser's WebSocket only, so
 * transport 'amqp-ws' is its default (and 'amqp' is refused); the port defaults to 443 (80 with
 * `tls: false`), as under Node.
 *
 *   const device = DeviceClient.fromConnectionString(cs);
 *   await device.sendEvent(jsonMessage({ temperature: 21 }));
 */
import { InvalidArgumentError } from '../../protocol/errors.js';
import { checkOptions } from '../../protocol/options.js';
import { DeviceConnectionString } from '../connection-string.js';
import { DeviceClientBase, deviceClientOptions, type DeviceClientOptions } from './device-client-base.js';
import { browserHubPlatform } from './browser-platform.js';

function overWebSocket(options: DeviceClientOptions): DeviceClientOptions {
  if (options?.transport === 'amqp') {
    throw new InvalidArgumentError(
      "DeviceClient: a browser has no TCP: use transport 'amqp-ws' (the default)",
      {
        option: 'transport',
      },
    );
  }
  return { ...options, transport: 'amqp-ws' };
}

/** A device's connection to IoT Hub from a browser: telemetry, C2D, reconnect (see DeviceClientBase). */
export class DeviceClient extends DeviceClientBase {
  constructor(cs: DeviceConnectionString, options: DeviceClientOptions = {}) {
    super(cs, overWebSocket(options), browserHubPlatform);
  }

  /** `HostName=...;DeviceId=...;SharedAccessKey=...` (or SharedAccessSignature). */
  static fromConnectionString(connectionString: string, options: DeviceClientOptions = {}): DeviceClient {
    checkOptions(options, deviceClientOptions(browserHubPlatform), 'DeviceClient.fromConnectionString');
    return new DeviceClient(DeviceConnectionString.parse(connectionString), options);
  }
}
