import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import type { Message } from '../../../src/codec/message.js';
import { entry } from '../../../src/iothub/message-values.js';

const dirs: string[] = [];

/** A fresh temporary state directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'amqp-one-hub-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true });
});

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

export function ann(m: Message, name: string): unknown {
  return entry(m.messageAnnotations, name);
}

/** A C2D message as the service SDK sends it. */
export function c2dMessage(
  deviceId: string,
  id: string,
  ack?: string,
  extra: Partial<Message> = {},
): Message {
  return {
    ...extra,
    properties: { messageId: id, to: `/devices/${deviceId}/messages/devicebound`, ...extra.properties },
    applicationProperties: ack === undefined ? {} : { 'iothub-ack': ack },
    body: Buffer.from(`payload ${id}`),
  };
}

/** The records of a feedback message. */
export function feedbackRecords(m: Message): Record<string, string>[] {
  return JSON.parse(Buffer.from(m.body as Buffer).toString('utf8')) as Record<string, string>[];
}
