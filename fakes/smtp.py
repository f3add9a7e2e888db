"""A local SMTP server that keeps every message it receives in `server.messages` (no TLS, no auth).

Point Django at it with MAIL_SMTP_HOST=127.0.0.1 and MAIL_SMTP_PORT=<port>. `server.code_for(address)`
reads the six-digit code out of the first message to that address. Run alone with
`python -m fakes.smtp PORT`: it prints each message it receives.
"""

import email
import email.message
import re
import socketserver
import sys

from fakes.servers import serve_in_background

CODE = re.compile(r"\b(\d{6})\b")


class SMTPSink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int = 0, echo: bool = False) -> None:
        super().__init__(("127.0.0.1", port), SMTPHandler)
        self.messages: list[email.message.Message] = []
        self.echo = echo

    def start(self) -> "SMTPSink":
        return serve_in_background(self)

    def message_to(self, address: str) -> email.message.Message | None:
        """The first message sent to `address`, or None before it arrives."""
        return next((message for message in list(self.messages) if address in message["To"]), None)

    def code_for(self, address: str) -> str | None:
        """The six-digit code in the first message sent to `address`, or None before it arrives."""
        message = self.message_to(address)
        found = CODE.search(text_of(message)) if message is not None else None
        return found.group(1) if found else None


def text_of(message: email.message.Message) -> str:
    """The plain-text part of a message."""
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", errors="replace")


class SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 fake SMTP ready")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 fake")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.received(email.message_from_bytes(data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")

    def received(self, message: email.message.Message) -> None:
        self.server.messages.append(message)
        if self.server.echo:
            print(f"To: {message['To']}\nSubject: {message['Subject']}\n\n{text_of(message)}\n", flush=True)


def start(port: int = 0) -> SMTPSink:
    """Serve in a background thread; `server.server_address[1]` is the port, `server.messages` the mail."""
    return SMTPSink(port).start()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8767
    print(f"Fake SMTP on 127.0.0.1:{port}", flush=True)
    SMTPSink(port, echo=True).serve_forever()
