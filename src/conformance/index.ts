/** amqp-one conformance: frame-level scenarios that test an AMQP 1.0 server or client, case by case. */
export * from './types.js';
export { TraceLog, formatEntry, jsonSafe } from './trace.js';
export { RawPeer, isFrame, isHeader, type WireItem, type WireFrame, type WireHeader } from './raw-peer.js';
export { ClientScript, ScriptSession, ScriptLink } from './client-script.js';
export {
  runServerSuite,
  selectCases,
  type ServerCase,
  type ServerCaseContext,
  type ServerSuiteOptions,
} from './server-suite.js';
export { SERVER_CASES } from './server-cases/index.js';
export {
  CLIENT_CASES,
  ConformanceServer,
  runClientSuite,
  DEFAULT_OBSERVER_OPTIONS,
  type ClientCase,
  type ClientSuiteOptions,
} from './client-suite.js';
export type { ClientScenario, Observation, ObserverOptions } from './client-observer.js';
export { toHtml, toJson, toText, matrixMarkdown } from './report.js';
