/**
 * Authentication: a broker started with `--user alice:s3cret` against a client that skips SASL (the
 * bare AMQP header), uses ANONYMOUS, a wrong password, or the right one (the control). Whatever
 * gets in attaches a sender and a receiver, sends 10 messages and reads them back.
 */
import { textMessage } from '../../../src/conformance/client-script.js';
import { outcome, type Attack, type AttackContext, type AttackOutcome } from '../attack.js';
import { handshake, serverReaction, type Auth } from '../raw.js';
import { BROKER_USER } from '../server-process.js';

const MESSAGES = 10;

async function tryAuth(ctx: AttackContext, auth: Auth, shouldGetIn: boolean): Promise<AttackOutcome> {
  let c;
  try {
    c = await handshake(ctx.info, auth);
  } catch (e) {
    const text = `refused before open: ${explain((e as Error).message)}`;
    return outcome('refused', shouldGetIn ? '-' : 'held', text);
  }
  const steps: string[] = ['opened'];
  let accepted = 0;
  let received = 0;
  try {
    const s = await c.begin();
    const tx = await c.attach(s, { role: 'sender', address: 'attack-auth' });
    if (!tx.remoteAttach!.target) {
      await c.peer.waitFor(() => tx.remoteDetach !== undefined, 1000);
      throw new Error(`sender attach refused (${serverReaction(c, tx) ?? 'no detach'})`);
    }
    steps.push('attached');
    const ids: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      await c.waitCredit(tx);
      ids.push(c.send(tx, textMessage(`attack ${i}`)));
    }
    await c.peer.waitFor(() => ids.every((id) => s.dispositionFor(id)), 3000);
    accepted = ids.filter((id) => s.dispositionFor(id)?.state?.type === 'accepted').length;
    const rx = await c.attach(s, { role: 'receiver', address: 'attack-auth' });
    if (rx.remoteAttach!.source) {
      c.flow(rx, { credit: MESSAGES });
      await c.receive(rx, MESSAGES, 3000);
      received = rx.complete.length;
    }
  } catch (e) {
    steps.push(`then: ${explain((e as Error).message)}`);
  } finally {
    c.peer.destroy();
  }
  const gotIn = accepted > 0 || received > 0;
  const text = `${steps.join(', ')}; ${accepted}/${MESSAGES} sent and accepted, ${received} read back`;
  if (shouldGetIn) return outcome(gotIn ? 'accepted' : 'refused', '-', `${text} (control)`);
  return outcome(gotIn ? 'accepted' : 'refused', gotIn ? 'HOLE' : 'held', text);
}

/** The script's failure texts, in the attack table's words. */
function explain(message: string): string {
  if (/answered the AMQP header with 414d515003/.test(message))
    return 'the server answered the bare AMQP header with the SASL header (SASL required)';
  return message;
}

const base = { family: 'auth', target: 'broker' as const, timeoutMs: 20_000 };

export const AUTH_ATTACKS: Attack[] = [
  {
    ...base,
    name: 'skip-sasl',
    title: 'bare AMQP header (no SASL) against --user alice:s3cret, then attach, send, receive',
    run: (ctx) => tryAuth(ctx, 'bare', false),
  },
  {
    ...base,
    name: 'sasl-anonymous',
    title: 'SASL ANONYMOUS against --user alice:s3cret',
    run: (ctx) => tryAuth(ctx, 'anonymous', false),
  },
  {
    ...base,
    name: 'sasl-wrong-password',
    title: 'SASL PLAIN alice with a wrong password',
    run: (ctx) => tryAuth(ctx, { username: BROKER_USER.name, password: 'not-the-password' }, false),
  },
  {
    ...base,
    name: 'sasl-right-password',
    title: 'SASL PLAIN alice:s3cret (control: must get in)',
    run: (ctx) => tryAuth(ctx, { username: BROKER_USER.name, password: BROKER_USER.password }, true),
  },
];
