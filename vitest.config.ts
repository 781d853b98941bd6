import { defineConfig } from 'vitest/config';

/**
 * Three tiers, by what a test touches:
 * - unit: in-memory code only (codec, frames, engine, hub state, pure IoT logic); no sockets, no
 *   processes, no files outside the test's own temporary folder;
 * - integration: our own code over real sockets, processes and dist/ (API, broker, emulator, CLI);
 * - interop: someone else's implementation on the other end (rhea, Qpid Proton, RabbitMQ, uAMQP,
 *   the Azure SDKs) or their recorded inputs (the Proton fuzz corpora).
 * `npm test` runs all three.
 */
const interop = [
  'test/interop/**/*.test.ts',
  'test/conformance/clients.test.ts',
  'test/conformance/server-proton.test.ts',
  'test/conformance/server-rabbitmq.test.ts',
  'test/conformance/server-rhea.test.ts',
  'test/iothub/cross/**/*.test.ts',
  'test/iothub/emulator/azure-sdks.test.ts',
  'test/iothub/emulator/uamqp.test.ts',
  'test/codec/rhea-interop.test.ts',
  'test/codec/proton-corpus.test.ts',
  'test/engine/proton-corpus.test.ts',
  'test/bench/proton-c.test.ts',
];

/**
 * Interop files that bind IoT Hub's own port 443 (and 5671): a project of their own that runs one
 * file at a time, after the other projects, so no two of them ever hold the port at once.
 */
const officialPorts = [
  'test/iothub/emulator/azure-sdks-websocket.test.ts',
  'test/iothub/emulator/azure-iothub-registry.test.ts',
  'test/iothub/emulator/azure-sdks-methods-twin.test.ts',
  'test/iothub/emulator/azure-iothub-methods-twin.test.ts',
  'test/iothub/emulator/azure-sdks-module-routing.test.ts',
  'test/iothub/emulator/azure-sdks-x509.test.ts',
];

const unit = [
  'test/codec/**/*.test.ts',
  'test/frames/**/*.test.ts',
  'test/engine/!(public-surface).test.ts', // public-surface.test.ts runs the TypeScript compiler: integration
  'test/iothub/hub/!(crash).test.ts', // crash.test.ts runs a child process: integration
  'test/iothub/*.test.ts',
  'test/iothub/client/errors.test.ts',
  'test/iothub/client/events.test.ts',
  'test/iothub/client/feedback.test.ts',
  'test/iothub/client/message.test.ts',
  'test/iothub/client/retry.test.ts',
  'test/iothub/client/module-count.test.ts',
  'test/iothub/emulator/rest-router.test.ts',
  'test/broker/queue.test.ts',
  'test/bench/histogram.test.ts',
  'test/bench/meter.test.ts',
  'test/bench/all-table.test.ts',
  'test/bench/svg-plot.test.ts',
  'test/bench/html-report.test.ts',
  'test/support/**/*.test.ts',
  'test/util/**/*.test.ts',
  'test/transport/ws-frames.test.ts',
  'test/transport/ws-handshake.test.ts',
  'test/transport/browser-websocket.test.ts',
  'test/transport/proxy-env.test.ts',
  'test/transport/ws-mask.test.ts',
  'test/transport/url.test.ts',
  'test/api/options.test.ts',
  'test/api/connect-browser.test.ts',
  'test/iothub/client/bad-options.test.ts',
  'test/layout/**/*.test.ts',
  'test/docs/!(code-blocks).test.ts', // code-blocks.test.ts runs the TypeScript compiler: integration
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit, exclude: interop } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...unit, ...interop, ...officialPorts],
        },
      },
      { extends: true, test: { name: 'interop', include: interop } },
      {
        extends: true,
        test: {
          name: 'interop-443',
          include: officialPorts,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
