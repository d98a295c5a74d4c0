// Package mail delivers the e-mails the service sends to parents (address
// verification, password reset) through a pluggable Sender:
//
//   - SMTP submits over net/smtp and requires STARTTLS (the message and the
//     credentials never cross the network in clear); the password comes from
//     a file or the environment and is never logged.
//   - Outbox is for development only: it appends each message as one JSON
//     line to a file (mode 0600) in the data directory, so a developer can
//     read verification and reset tokens without a mail server. It holds
//     addresses and live tokens in clear: never use it in production.
//   - Queue sends in the background, so an API response never waits for (or
//     reveals, through its timing) a delivery.
//
// Messages are plain text. Header values are checked: a CR or LF in an
// address or subject is refused (no header injection).
package mail
