/** Every attack, in the order of docs/security.md's threat model. */
import type { Attack } from '../attack.js';
import { AUTH_ATTACKS } from './auth.js';
import { CLIENT_ATTACKS } from './client-hang.js';
import { FILL_ATTACKS } from './fill.js';
import { FLOOD_ATTACKS } from './flood.js';
import { MANY_ATTACKS } from './many.js';
import { SECRETS_ATTACKS } from './secrets.js';
import { SLOW_ATTACKS } from './slow.js';
import { TRANSFER_ATTACKS } from './transfers.js';

export const ALL_ATTACKS: Attack[] = [
  ...AUTH_ATTACKS,
  ...TRANSFER_ATTACKS,
  ...MANY_ATTACKS,
  ...FLOOD_ATTACKS,
  ...SLOW_ATTACKS,
  ...FILL_ATTACKS,
  ...SECRETS_ATTACKS,
  ...CLIENT_ATTACKS,
];
