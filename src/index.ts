/** amqp-one: AMQP 1.0 in TypeScript. The codec is also available alone as `amqp-one/codec`. */
export * from './codec/index.js';
export * from './frames/index.js';
