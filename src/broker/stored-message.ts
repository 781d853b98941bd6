/** A message held by a queue: its bytes, its place in the queue's order and its delivery history. */
import { editMessage, type MessageEdit } from './message-edit.js';

export class StoredMessage {
  /**
   * Consumers (links) that must not get this message again: they answered `modified` with
   * undeliverable-here (spec 3.4.5). Created on first use.
   */
  private refusedBy: Set<object> | undefined;

  constructor(
    /** Arrival order in its queue: a message put back goes where this says, ahead of later ones. */
    readonly seq: number,
    /** The encoded message as the producer sent it (edited only by `modify`). */
    public payload: Buffer,
  ) {}

  /** The bytes its queue counts against its limits: its payload's length. */
  get size(): number {
    return this.payload.length;
  }

  refuse(consumer: object): void {
    (this.refusedBy ??= new Set()).add(consumer);
  }

  deliverableTo(consumer: object): boolean {
    return !this.refusedBy?.has(consumer);
  }

  /** A consumer that is gone cannot be offered anything again: forget it. */
  forget(consumer: object): void {
    this.refusedBy?.delete(consumer);
  }

  /** Its payload after an edit, not applied: the queue first checks that the growth fits. */
  edited(e: MessageEdit): Buffer {
    return editMessage(this.payload, e);
  }

  /** Takes an edited payload; returns how many bytes the message grew by (negative: shrank). */
  replace(payload: Buffer): number {
    const grown = payload.length - this.size;
    this.payload = payload;
    return grown;
  }
}
