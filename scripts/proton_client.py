#!/usr/bin/python3
"""A small Qpid Proton (Python) AMQP 1.0 client used by the interop test harness.

    proton_client.py probe --url amqp://127.0.0.1:PORT --address q1 [options]
    proton_client.py send  --url amqp://127.0.0.1:PORT --address q1 --count N [options]
    proton_client.py recv  --url amqp://127.0.0.1:PORT --address q1 --count N [options]

Unlike Proton's simple_send.py / simple_recv.py it never reconnects, exits non-zero on any error
(1 = AMQP/transport error or rejected delivery, 2 = own timeout) and can force a SASL mechanism:
Proton picks ANONYMOUS when the server offers it, even with user:password in the URL.

Options: --user U --password P (SASL PLAIN unless --mechs says otherwise), --mechs "PLAIN",
--no-sasl (send the bare AMQP header: sasl_enabled=False), --ca FILE (amqps: trust this CA and check the host name), --cert FILE --key FILE (client
certificate), --timeout SECONDS (default 10), --body TEXT (body of each message; "{n}" is
replaced by the 1-based sequence number).

Output (stdout): send prints "sent N accepted N"; recv prints each body on its own line, then
"received N"; probe prints "link opened". Errors go to stderr.
Run it with /usr/bin/python3 (Debian's python3-qpid-proton).
"""
import argparse
import sys

from proton import Message, SSLDomain
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Client(MessagingHandler):
    def __init__(self, opts):
        prefetch = 0 if opts.mode != "recv" else max(1, min(opts.count, 100))
        super(Client, self).__init__(prefetch=prefetch, auto_accept=True, auto_settle=True)
        self.opts = opts
        self.exit_code = None
        self.sent = 0
        self.accepted = 0
        self.received = 0
        self.connection = None
        self.timer = None

    def finish(self, code, message=None, stream=sys.stderr):
        if self.exit_code is None:
            self.exit_code = code
            if message:
                print(message, file=stream, flush=True)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.connection is not None:
            self.connection.close()

    def on_start(self, event):
        o = self.opts
        kwargs = {"reconnect": False, "allow_insecure_mechs": True}
        if o.no_sasl:
            kwargs["sasl_enabled"] = False
        if o.user is not None:
            kwargs["user"] = o.user
            kwargs["password"] = o.password or ""
            kwargs["allowed_mechs"] = o.mechs or "PLAIN"
        elif o.mechs:
            kwargs["allowed_mechs"] = o.mechs
        if o.url.startswith("amqps:"):
            domain = SSLDomain(SSLDomain.MODE_CLIENT)
            if o.ca:
                domain.set_trusted_ca_db(o.ca)
                domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME, o.ca)
            else:
                domain.set_peer_authentication(SSLDomain.ANONYMOUS_PEER)
            if o.cert and o.key:
                domain.set_credentials(o.cert, o.key, None)
            kwargs["ssl_domain"] = domain
        self.connection = event.container.connect(o.url, **kwargs)
        if o.mode == "recv":
            event.container.create_receiver(self.connection, o.address)
        else:
            event.container.create_sender(self.connection, o.address)
        self.timer = event.container.schedule(o.timeout, self)

    def on_timer_task(self, event):
        self.timer = None
        self.finish(
            2,
            "timeout after %ss (sent %d, accepted %d, received %d)"
            % (self.opts.timeout, self.sent, self.accepted, self.received),
        )
        event.container.stop()

    def on_link_opened(self, event):
        if self.opts.mode == "probe":
            print("link opened", flush=True)
            self.finish(0)

    def on_sendable(self, event):
        if self.opts.mode != "send":
            return
        while event.sender.credit and self.sent < self.opts.count:
            n = self.sent + 1
            body = self.opts.body.replace("{n}", str(n)) if self.opts.body is not None else "message-%d" % n
            event.sender.send(Message(id=n, body=body))
            self.sent = n

    def on_accepted(self, event):
        self.accepted += 1
        if self.accepted == self.opts.count:
            print("sent %d accepted %d" % (self.sent, self.accepted), flush=True)
            self.finish(0)

    def on_rejected(self, event):
        cond = event.delivery.remote.condition if event.delivery.remote else None
        self.finish(1, "delivery rejected: %s" % (cond,))

    def on_released(self, event):
        self.finish(1, "delivery released or modified")

    def on_message(self, event):
        if self.opts.mode != "recv":
            return
        print(event.message.body, flush=True)
        self.received += 1
        if self.received == self.opts.count:
            print("received %d" % self.received, flush=True)
            self.finish(0)

    def on_transport_error(self, event):
        self.finish(1, "transport error: %s" % (event.transport.condition,))

    def on_connection_error(self, event):
        self.finish(1, "connection error: %s" % (event.connection.remote_condition,))

    def on_session_error(self, event):
        self.finish(1, "session error: %s" % (event.session.remote_condition,))

    def on_link_error(self, event):
        self.finish(1, "link error: %s" % (event.link.remote_condition,))

    def on_disconnected(self, event):
        if self.exit_code is None:
            self.finish(1, "disconnected before done")


def main():
    p = argparse.ArgumentParser(description="Qpid Proton AMQP 1.0 test client (interop harness)")
    p.add_argument("mode", choices=["probe", "send", "recv"])
    p.add_argument("--url", required=True, help="amqp://host:port or amqps://host:port")
    p.add_argument("--address", default="q1")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--mechs")
    p.add_argument("--no-sasl", action="store_true")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--body")
    p.add_argument("--timeout", type=float, default=10.0)
    opts = p.parse_args()
    client = Client(opts)
    try:
        Container(client).run()
    except KeyboardInterrupt:
        return 130
    if client.exit_code is None:
        print("container stopped before done", file=sys.stderr, flush=True)
        return 1
    return client.exit_code


if __name__ == "__main__":
    sys.exit(main())
