// Package smtpd receives mail for the organization's mailboxes over SMTP
// (go-smtp) and hands each message to a mail.Backend.
//
// It is the last hop, not a relay: a recipient outside the organization's
// domains is refused with 550 5.7.1, an unknown mailbox with 550 5.1.1. A
// message is acknowledged with 250 only after the Backend's delivery has
// returned, that is once it is durable in the Information Store; a store that
// cannot take it answers 451 so the sender retries. A client that goes away
// before the final dot leaves nothing behind. As a delivering MTA it prepends
// Return-Path: and Received: and otherwise stores the bytes as they came.
package smtpd
