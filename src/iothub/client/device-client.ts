/**
 * The DeviceClient of `amqp-one/iothub`: the device client (device-client-base.ts) on Node's
 * platform (node-platform.ts): TCP, TLS or WebSockets, a proxy, tokens signed with node:crypto.
 *
 *   const device = DeviceClient.fromConnectionString(cs, { tls: { ca } });
 *   await device.open();
 *   await device.sendEvent(jsonMessage({ temperature: 21 }, { properties: { alert: 'no' } }));
 *   for await (const m of device.messages()) { ...; await m.complete(); }
 *   await device.close();
 */
import { checkOptions } from '../../protocol/options.js';
import { DeviceConnectionString } from '../connection-string.js';
import { DeviceClientBase, deviceClientOptions, type DeviceClientOptions } from './device-client-base.js';
import { nodeHubPlatform } from './node-platform.js';

export {
  C2DStream,
  IOTHUB_API_VERSION,
  METHOD_CREDIT,
  MAX_QUEUED_METHOD_REQUESTS,
  MAX_QUEUED_DESIRED_UPDATES,
  MAX_MODEL_ID_LENGTH,
  MODEL_ID_PROPERTY,
  type DeviceClientOptions,
  type SendEventOptions,
} from './device-client-base.js';

/** A device's connection to IoT Hub under Node: telemetry, C2D, methods, twin, reconnect (see DeviceClientBase). */
export class DeviceClient extends DeviceClientBase {
  constructor(cs: DeviceConnectionString, options: DeviceClientOptions = {}) {
    super(cs, options, nodeHubPlatform);
  }

  /** `HostName=...;DeviceId=...;SharedAccessKey=...` (or SharedAccessSignature, or x509=true). */
  static fromConnectionString(connectionString: string, options: DeviceClientOptions = {}): DeviceClient {
    checkOptions(options, deviceClientOptions(nodeHubPlatform), 'DeviceClient.fromConnectionString');
    return new DeviceClient(DeviceConnectionString.parse(connectionString), options);
  }
}
