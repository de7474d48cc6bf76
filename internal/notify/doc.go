// Package notify owns account alerts: the messages that tell a person about
// something that happened to their account (a new sign-in, a recovery key
// used, advanced security turned on), and their delivery.
//
// An alert is written to the outbox table with Queue in the same
// transaction as the change it announces, so a rolled-back change sends
// nothing and a committed one is never lost. A Notifier, run by every
// replica, delivers the outbox through a Transport: SMTP in production, a
// directory of .eml files under `latch dev`. Replicas share the work with
// FOR UPDATE SKIP LOCKED, a failed send is retried with a doubling backoff,
// and the row keeps its status, attempts and last error for the record.
//
// The packages that raise alerts (authn, recovery, sessions) call Queue
// and compose their messages with Alert; internal/server builds the Transport from
// --smtp-url and runs the Notifier.
package notify
