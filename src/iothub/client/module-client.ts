/**
 * A module's connection to IoT Hub: everything a DeviceClient does on the module's own addresses
 * (telemetry, direct methods, the twin, with the module's credentials), plus telemetry to a named
 * output (application property `iothub-outputname`) and the messages routes deliver to its inputs
 * (a receiver on its own events address, annotation `x-opt-input-name`; contract section 12).
 *
 *   const module = ModuleClient.fromEnvironment({ tls: { ca } });
 *   await module.sendOutputEvent('alerts', jsonMessage({ level: 'high' }));
 *   for await (const m of module.inputMessages()) { handle(m.inputName, m.json()); await m.complete(); }
 */
import { readFileSync } from 'node:fs';
import { ClosedError, InvalidArgumentError } from '../../api/errors.js';
import { checkOptions, opt, type OptionSchema } from '../../protocol/options.js';
import { DeviceConnectionString } from '../connection-string.js';
import { IotHubConfigError } from '../errors.js';
import { deviceClientOptions } from './device-client-base.js';
import { DeviceClient, type DeviceClientOptions, type SendEventOptions } from './device-client.js';
import { nodeHubPlatform } from './node-platform.js';
import { toAmqpMessage, type IotHubMessage } from './message.js';
import { InputMessageStream, ModuleInputMessage } from './module-input.js';
import type { AsyncQueue } from '../../util/async-queue.js';

/** The environment variables `fromEnvironment` reads, as the Node SDK's ModuleClient reads them. */
export const MODULE_ENVIRONMENT = {
  /** A module connection string, through the edge hub: takes precedence. */
  edgeHub: 'EdgeHubConnectionString',
  /** A module connection string, straight to the hub. */
  iotHub: 'IotHubConnectionString',
  /** A PEM file of the CA to trust (the edge hub's), when `options.tls.ca` is not given. */
  caFile: 'EdgeModuleCACertificateFile',
} as const;

const INPUT_MESSAGES_OPTIONS: OptionSchema<{ signal?: AbortSignal }> = { signal: opt.object };
const ON_INPUT_OPTIONS: OptionSchema<{ autoComplete?: boolean }> = { autoComplete: opt.boolean };

export class ModuleClient extends DeviceClient {
  private inputQueue: AsyncQueue<ModuleInputMessage> | undefined;

  constructor(cs: DeviceConnectionString, options: DeviceClientOptions = {}) {
    if (cs.moduleId === undefined)
      throw new IotHubConfigError('a module connection string names its ModuleId', 'ModuleId');
    super(cs, options);
  }

  /** `HostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...`. */
  static override fromConnectionString(
    connectionString: string,
    options: DeviceClientOptions = {},
  ): ModuleClient {
    checkOptions(options, deviceClientOptions(nodeHubPlatform), 'ModuleClient.fromConnectionString');
    return new ModuleClient(DeviceConnectionString.parse(connectionString), options);
  }

  /**
   * The module as IoT Edge starts it: the connection string in `EdgeHubConnectionString` (else
   * `IotHubConnectionString`), and the CA in the file `EdgeModuleCACertificateFile` names. The edge
   * workload API (`IOTEDGE_WORKLOADURI`, keys kept by the security daemon) is not supported: it is an
   * IotHubConfigError, as is an environment with neither variable.
   */
  static fromEnvironment(
    options: DeviceClientOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ): ModuleClient {
    checkOptions(options, deviceClientOptions(nodeHubPlatform), 'ModuleClient.fromEnvironment');
    const cs = env[MODULE_ENVIRONMENT.edgeHub] ?? env[MODULE_ENVIRONMENT.iotHub];
    if (cs === undefined) {
      const edge = env['IOTEDGE_WORKLOADURI'] !== undefined;
      throw new IotHubConfigError(
        edge
          ? 'the IoT Edge workload API is not supported: set EdgeHubConnectionString or IotHubConnectionString'
          : 'neither EdgeHubConnectionString nor IotHubConnectionString is set',
        MODULE_ENVIRONMENT.edgeHub,
      );
    }
    const caFile = env[MODULE_ENVIRONMENT.caFile];
    if (caFile === undefined || options.tls === false) return ModuleClient.fromConnectionString(cs, options);
    const tls = options.tls === undefined || options.tls === true ? {} : options.tls;
    if (tls.ca !== undefined) return ModuleClient.fromConnectionString(cs, options);
    return ModuleClient.fromConnectionString(cs, {
      ...options,
      tls: { ...tls, ca: readFileSync(caFile, 'utf8') },
    });
  }

  /** The module id from the connection string. */
  get moduleId(): string {
    return this.connectionString.moduleId!;
  }

  /**
   * Sends telemetry to the module's output `outputName` (`iothub-outputname`), where the hub's
   * routes (or the edge hub's) take it. Resolves once the hub accepted it, as sendEvent.
   */
  async sendOutputEvent(
    outputName: string,
    message: IotHubMessage | Buffer | string,
    options: SendEventOptions = {},
  ): Promise<void> {
    if (this.closed) throw new ClosedError('the module client');
    if (typeof outputName !== 'string' || outputName.length === 0)
      throw new InvalidArgumentError('an output name is a non-empty string');
    const amqp = toAmqpMessage(message, {
      to: this.telemetryAddress,
      applicationProperties: { 'iothub-outputname': outputName },
    });
    await this.sendWithRetry(this.telemetryAddress, amqp, options);
  }

  /** The input receiver opens on first use and again after each reconnect. */
  private startInputs(): AsyncQueue<ModuleInputMessage> {
    if (this.closed) throw new ClosedError('the module client');
    this.inputQueue ??= this.subscribeLocked(
      this.telemetryAddress,
      (m, g, live) => new ModuleInputMessage(m, g, live),
    );
    return this.inputQueue;
  }

  /**
   * The messages routes deliver to this module's inputs (any input: see `inputName`), as they
   * arrive, competing with other iterators and handlers of this client. Settle each with complete(),
   * reject() or abandon() (an unsettled one comes back once its 60 s lock ends); the iteration ends
   * when the client closes, and throws if reconnecting gave up.
   */
  inputMessages(options: { signal?: AbortSignal } = {}): InputMessageStream {
    checkOptions(options, INPUT_MESSAGES_OPTIONS, 'inputMessages');
    const stream = new InputMessageStream(this.startInputs());
    options.signal?.addEventListener('abort', () => void stream.close(), { once: true });
    return stream;
  }

  /**
   * Calls `handler` for each input message, one at a time, settled as onMessage settles C2D: with
   * autoComplete (default true) completed when the handler returns without settling it, abandoned
   * when it throws. Returns a function that stops the handler.
   */
  onInputMessage(
    handler: (message: ModuleInputMessage) => void | Promise<void>,
    options: { autoComplete?: boolean } = {},
  ): () => void {
    checkOptions(options, ON_INPUT_OPTIONS, 'onInputMessage');
    if (typeof handler !== 'function') throw new InvalidArgumentError('an input handler is a function');
    return this.handleEach(this.startInputs(), handler, options.autoComplete ?? true);
  }
}
