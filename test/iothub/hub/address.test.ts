import { describe, expect, test } from 'vitest';
import { deviceOfC2dAddress, parseHubAddress } from '../../../src/iothub/hub/address.js';

describe('hub addresses', () => {
  test('device links, with modules, full URIs, case and URL-encoded ids', () => {
    expect(parseHubAddress('/devices/d1/messages/events')).toEqual({ kind: 'deviceEvents', deviceId: 'd1' });
    expect(parseHubAddress('amqps://h.azure-devices.net:5671/devices/My%20Dev/Messages/Events')).toEqual({
      kind: 'deviceEvents',
      deviceId: 'My Dev',
    });
    expect(parseHubAddress('devices/d1/modules/m1/messages/events')).toEqual({
      kind: 'deviceEvents',
      deviceId: 'd1',
      moduleId: 'm1',
    });
    expect(parseHubAddress('/DEVICES/D1/messages/devicebound')).toEqual({
      kind: 'deviceBound',
      deviceId: 'D1',
    });
    expect(parseHubAddress('/devices/d1/methods/devicebound')).toEqual({ kind: 'methods', deviceId: 'd1' });
    expect(parseHubAddress('/devices/d1/modules/m/twin')).toEqual({
      kind: 'twin',
      deviceId: 'd1',
      moduleId: 'm',
    });
    expect(parseHubAddress('/devices/d1/messages/events?api-version=2020-09-30')).toEqual({
      kind: 'deviceEvents',
      deviceId: 'd1',
    });
  });

  test('service links and the events redirect', () => {
    expect(parseHubAddress('/messages/devicebound')).toEqual({ kind: 'serviceDeviceBound' });
    expect(parseHubAddress('/messages/serviceBound/feedback')).toEqual({ kind: 'feedback' });
    expect(parseHubAddress('amqps://h/messages/servicebound/filenotifications')).toEqual({
      kind: 'fileNotifications',
    });
    expect(parseHubAddress('/messages/events/ConsumerGroups/$Default/Partitions/0')).toEqual({
      kind: 'eventsRedirect',
      suffix: 'ConsumerGroups/$Default/Partitions/0',
    });
    expect(parseHubAddress('messages/events/$management')).toEqual({
      kind: 'eventsRedirect',
      suffix: '$management',
    });
    expect(parseHubAddress('$cbs')).toEqual({ kind: 'cbs' });
  });

  test('Event Hubs-compatible addresses', () => {
    expect(parseHubAddress('myhub/ConsumerGroups/$Default/Partitions/3')).toEqual({
      kind: 'eventHubPartition',
      eventHub: 'myhub',
      consumerGroup: '$Default',
      partition: '3',
    });
    expect(parseHubAddress('amqps://ns:5671/myhub/consumergroups/cg/partitions/0')).toMatchObject({
      kind: 'eventHubPartition',
      consumerGroup: 'cg',
    });
    expect(parseHubAddress('myhub/$management')).toEqual({ kind: 'eventHubManagement', eventHub: 'myhub' });
    expect(parseHubAddress('$management')).toEqual({ kind: 'eventHubManagement' });
  });

  test('unknown addresses', () => {
    for (const a of [
      '',
      '/',
      '/devices',
      '/devices/d1',
      '/devices/d1/messages',
      '/foo/bar',
      '/messages/other',
    ])
      expect(parseHubAddress(a), a).toBeUndefined();
    expect(parseHubAddress(undefined)).toBeUndefined();
  });

  test('the C2D `to` routing', () => {
    expect(deviceOfC2dAddress('/devices/d1/messages/devicebound')).toBe('d1');
    expect(deviceOfC2dAddress('/devices/d1/modules/m/messages/devicebound')).toBeUndefined();
    expect(deviceOfC2dAddress('/devices/d1/messages/events')).toBeUndefined();
    expect(deviceOfC2dAddress(42)).toBeUndefined();
  });
});
