/**
 * Key files on disk are the owner's alone: the registry (every device and policy key) and the
 * emulator CA's private key are 0600 in 0700 folders, whatever the umask, and files left wider by
 * an older run are tightened at start.
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../../src/iothub/emulator/index.js';
import { cleanup, tempDir } from './helpers.js';

let umask: number;
beforeEach(() => {
  umask = process.umask(0o000); // the widest: nothing is removed from the modes we ask for
});
afterEach(async () => {
  process.umask(umask);
  await cleanup();
});

const modeOf = (p: string): string => (statSync(p).mode & 0o777).toString(8);

describe('secrets on disk', () => {
  it('a new state directory: registry and CA key 0600, their folders 0700, under umask 000', async () => {
    const state = path.join(await tempDir(), 'state');
    const hub = await startHub({ stateDir: state, tlsPort: 0, devices: ['d1'], fsync: false });
    hub.addDevice('d2'); // a second save, through the temporary file
    await hub.close();
    expect(modeOf(state)).toBe('700');
    expect(modeOf(path.join(state, 'registry.json'))).toBe('600');
    expect(modeOf(path.join(state, 'tls'))).toBe('700');
    expect(modeOf(path.join(state, 'tls', 'ca-key.pem'))).toBe('600');
  });

  it('files an older run left 0644 (and a 0755 folder) are tightened at start', async () => {
    const state = path.join(await tempDir(), 'state');
    const first = await startHub({ stateDir: state, tlsPort: 0, devices: ['d1'], fsync: false });
    await first.close();
    const registry = path.join(state, 'registry.json');
    const caKey = path.join(state, 'tls', 'ca-key.pem');
    chmodSync(state, 0o755);
    chmodSync(path.join(state, 'tls'), 0o755);
    chmodSync(registry, 0o644);
    chmodSync(caKey, 0o644);
    writeFileSync(`${registry}.tmp`, '', { mode: 0o644 }); // a crash left the temporary file
    const again = await startHub({ stateDir: state, tlsPort: 0, fsync: false });
    expect(modeOf(state)).toBe('700');
    expect(modeOf(registry)).toBe('600');
    expect(modeOf(path.join(state, 'tls'))).toBe('700');
    expect(modeOf(caKey)).toBe('600');
    again.addDevice('d3'); // rewritten through the leftover temporary file
    await again.close();
    expect(modeOf(registry)).toBe('600');
  });

  it('a state directory given as a path that does not exist yet is made 0700', async () => {
    const state = path.join(await tempDir(), 'a', 'b');
    mkdirSync(path.dirname(state), { mode: 0o755 });
    const hub = await startHub({ stateDir: state, fsync: false });
    await hub.close();
    expect(modeOf(state)).toBe('700');
  });
});
