/**
 * A message routed to one of a module's inputs (contract section 12): it arrives on the module's
 * `/devices/{d}/modules/{m}/messages/events` receiver with the annotation `x-opt-input-name`, and
 * is settled as C2D is: complete = accepted, reject = rejected, abandon = released.
 */
import { entry, stringOf } from '../message-values.js';
import { C2DMessage } from './c2d.js';
import { QueueStream } from './queue-stream.js';

export class ModuleInputMessage extends C2DMessage {
  /** `x-opt-input-name`: the input a route delivered it to ('' if the hub named none). */
  get inputName(): string {
    return stringOf(entry(this.message.messageAnnotations, 'x-opt-input-name')) ?? '';
  }

  /** `iothub-connection-device-id`: the device of the module that sent it, when the hub says. */
  get connectionDeviceId(): string | undefined {
    return stringOf(entry(this.message.messageAnnotations, 'iothub-connection-device-id'));
  }

  /** `iothub-connection-module-id`: the module that sent it, when the hub says. */
  get connectionModuleId(): string | undefined {
    return stringOf(entry(this.message.messageAnnotations, 'iothub-connection-module-id'));
  }
}

/**
 * The iterator of {@link ModuleClient.inputMessages}: `close()` (or `return()`) ends this iterator
 * only; a message it had not handed out stays for the others.
 */
export class InputMessageStream extends QueueStream<ModuleInputMessage> {}
