// Shared fixtures for the codec benchmark (bench/codec.js) and the profiling driver
// (bench/profile-codec.js): the typical IoT telemetry message, built once for amqp-one and once
// for rhea, with identical content.
import { createRequire } from 'node:module';
// The telemetry message has one definition, src/bench/telemetry.ts (what `amqp-one bench` sends).
import { rheaTelemetry } from '../dist/bench/rhea-peer.js';
import { TELEMETRY, jsonBody as telemetryBody, telemetryMessage } from '../dist/bench/telemetry.js';

const require = createRequire(import.meta.url);
export const rhea = require('rhea');
export const rheaFrames = require('rhea/lib/frames.js');

export const MESSAGE_ID = TELEMETRY.messageId;
export const TO = TELEMETRY.to;
export const CONTENT_TYPE = TELEMETRY.contentType;
export const CREATION_TIME = TELEMETRY.creationTime;
export const BODY_SIZE = TELEMETRY.bodySize;
export const APPLICATION_PROPERTIES = TELEMETRY.applicationProperties;
export const MESSAGE_ANNOTATIONS = TELEMETRY.messageAnnotations;

/** A JSON telemetry document padded (inside a string field) to exactly `size` bytes of UTF-8. */
export const jsonBody = (size = BODY_SIZE) => telemetryBody(size);

/** The telemetry message in amqp-one's shape (src/codec/message.ts `Message`). */
export const amqpOneMessage = (body = jsonBody()) => telemetryMessage(body);

/** The same message in rhea's shape (lib/message.js: flat property names, data_section body). */
export const rheaMessage = (body = jsonBody()) => rheaTelemetry(rhea, body);

export const DELIVERY_TAG = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
