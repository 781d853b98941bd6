/**
 * The cases that test a server (a broker). Each names the AMQP 1.0 section whose rule it checks;
 * sections are those of the OASIS standard (part 2 transport, 3 messaging, 5 security). The cases
 * live in one file per spec area; this file only fixes their order in the report.
 */
import type { ServerCase } from '../server-suite.js';
import {
  headerAmqp,
  headerSasl,
  saslOutcome,
  saslBadPassword,
  saslUnknownMechanism,
  headerBadVersion,
  headerBadProtocol,
} from './header-sasl.js';
import {
  openBasic,
  openPipelined,
  openMaxFrameSize,
  openChannelMax,
  openChannelMaxExceeded,
  openIdleTimeout,
  openServerIdleTimeout,
} from './open.js';
import { sessionBeginEnd, sessionIncomingWindow, sessionEndError } from './session.js';
import {
  linkAttachSender,
  linkAttachReceiver,
  linkCredit,
  linkDrainEmpty,
  linkDrainPartial,
  linkFlowEcho,
} from './link-attach-credit.js';
import { transferMultiFrame, transferAborted, transferInterleaved } from './transfer.js';
import {
  settlePresettledSend,
  settlePresettledReceive,
  settleUnsettledSend,
  settleUnsettledReceive,
  settleReleased,
  settleModified,
  settleRcvSecond,
  settleDispositionRange,
} from './settlement.js';
import { linkDetachClosed, linkDetachError, closeClean, closeError } from './close-detach.js';
import {
  illegalUnattachedHandle,
  illegalHandleInUse,
  illegalHandleMax,
  illegalWindowViolation,
  illegalOversizedFrame,
  illegalMalformed,
  illegalBadDoff,
} from './illegal-frames.js';

/** Every server case, in report order. */
export const SERVER_CASES: readonly ServerCase[] = [
  headerAmqp,
  headerSasl,
  saslOutcome,
  saslBadPassword,
  saslUnknownMechanism,
  headerBadVersion,
  headerBadProtocol,
  openBasic,
  openPipelined,
  openMaxFrameSize,
  openChannelMax,
  openChannelMaxExceeded,
  openIdleTimeout,
  openServerIdleTimeout,
  sessionBeginEnd,
  sessionIncomingWindow,
  sessionEndError,
  linkAttachSender,
  linkAttachReceiver,
  linkCredit,
  linkDrainEmpty,
  linkDrainPartial,
  linkFlowEcho,
  linkDetachClosed,
  linkDetachError,
  transferMultiFrame,
  transferAborted,
  transferInterleaved,
  settlePresettledSend,
  settlePresettledReceive,
  settleUnsettledSend,
  settleUnsettledReceive,
  settleReleased,
  settleModified,
  settleRcvSecond,
  settleDispositionRange,
  closeClean,
  closeError,
  illegalUnattachedHandle,
  illegalHandleInUse,
  illegalHandleMax,
  illegalWindowViolation,
  illegalOversizedFrame,
  illegalMalformed,
  illegalBadDoff,
];
