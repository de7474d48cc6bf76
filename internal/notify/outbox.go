package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pg"
)

// ChannelOutbox is the PostgreSQL notification channel Enqueue signals, so
// that a Notifier sends a new alert at once instead of at its next poll.
const ChannelOutbox = "latch_outbox"

// maxAttempts is how often a message is tried before it counts as failed.
// With the doubling backoff below (1 s, 2 s, 4 s ... capped at an hour), the
// last try comes about three hours after the first: long enough to ride out
// a mail server's restart or an operator fixing its configuration, short
// enough that a stale "new sign-in" alert is not sent the next day.
const maxAttempts = 14

// maxBackoff caps the wait between two tries of one message.
const maxBackoff = time.Hour

// maxErrorLen bounds the last_error kept on a row; an SMTP server's answer
// can be long, and the first part says what went wrong.
const maxErrorLen = 1000

// ErrInvalidMessage is returned by Enqueue for a message that could never be
// sent: no recipient address, or a subject that would break the header.
var ErrInvalidMessage = errors.New("notify: invalid message")

// ErrPermanent marks a Transport error that retrying cannot fix, such as a
// mail server refusing the recipient with a 5xx answer (RFC 5321 §4.2.1).
// The Notifier marks such a message failed at once instead of trying it for
// hours.
var ErrPermanent = errors.New("permanent failure")

// Message is one alert: plain text plus simple HTML, and no tracking of any
// kind (no remote images, no tracking links), because an alert about a
// person's account must not tell a third party when it was read.
type Message struct {
	AccountID string // the account the alert is about; may be ""
	To        string // the account's email address
	Subject   string
	Text      string
	HTML      string // may be "": the message is then plain text only
}

// validate refuses what would fail at every delivery attempt, so the caller
// hears about it while it can still do something.
func (m Message) validate() error {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("%w: recipient is not an email address", ErrInvalidMessage)
	}
	if strings.TrimSpace(m.Subject) == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalidMessage)
	}
	// A line break in a header would let the rest of the subject become
	// headers of its own (header injection); refuse it rather than guess.
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: subject has a line break", ErrInvalidMessage)
	}
	if m.Text == "" {
		return fmt.Errorf("%w: empty text body", ErrInvalidMessage)
	}
	return nil
}

// Enqueue writes m to the outbox, due at once, and notifies ChannelOutbox so
// a Notifier sends it without waiting to poll. Inside a transaction both
// take effect only at commit: a rolled-back change announces nothing.
// An invalid message is refused before any SQL runs, so it does not abort
// the caller's transaction.
func Enqueue(ctx context.Context, q pg.Querier, now time.Time, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	var account any
	if m.AccountID != "" {
		account = m.AccountID
	}
	_, err := q.Exec(ctx, `WITH m AS (
			INSERT INTO outbox (account_id, recipient, subject, text_body, html_body, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id)
		SELECT pg_notify($7, id::text) FROM m`,
		account, m.To, m.Subject, m.Text, m.HTML, now.UTC(), ChannelOutbox)
	if err != nil {
		return fmt.Errorf("notify: enqueue: %w", err)
	}
	return nil
}

// Queue writes m to the outbox inside tx, the transaction of the change it
// announces: the alert and the change commit together or not at all. It is
// Enqueue for callers that must not send an alert on its own.
func Queue(ctx context.Context, tx pgx.Tx, now time.Time, m Message) error {
	return Enqueue(ctx, tx, now, m)
}

// Transport delivers one message. id is the outbox row's id, unique per
// message, which the transport may use to name it (Message-ID, file name).
// An error wrapping ErrPermanent means retrying will not help.
type Transport interface {
	Send(ctx context.Context, from string, m Message, id int64) error
}

// Notifier delivers the outbox. Every replica runs one; FOR UPDATE SKIP
// LOCKED lets them share the work without sending a message twice, and a
// message that fails waits longer each time.
type Notifier struct {
	DB        *pgxpool.Pool
	Transport Transport // required
	// From is the sender, an RFC 5322 address such as
	// "latch <no-reply@id.example.com>". cmd/latch should check it with
	// net/mail.ParseAddress at start: a bad one fails every send (as a
	// retryable error, so fixing it and restarting still delivers).
	From   string
	Logger *slog.Logger
	Now    func() time.Time
	// Poll is how often the notifier looks for due messages when no
	// notification woke it (retries, and messages written while it was
	// disconnected). Zero means one second.
	Poll time.Duration
}

func (n *Notifier) now() time.Time {
	if n.Now == nil {
		return time.Now()
	}
	return n.Now()
}

func (n *Notifier) logger() *slog.Logger {
	if n.Logger == nil {
		return slog.Default()
	}
	return n.Logger
}

// Run delivers messages until ctx ends: at once when notified, and on
// every poll tick. It returns after its listening connection is closed.
func (n *Notifier) Run(ctx context.Context) {
	poll := n.Poll
	if poll <= 0 {
		poll = time.Second
	}
	pg.Worker(ctx, n.DB, ChannelOutbox, "latch-notifier", poll, n.logger(),
		func(ctx context.Context) (int, error) { return n.DeliverDue(ctx, 32) })
}

// DeliverDue sends up to limit due messages and returns how many it handled
// (sent, or tried and rescheduled or failed). It is what Run calls; tests and
// benchmarks call it directly.
func (n *Notifier) DeliverDue(ctx context.Context, limit int) (int, error) {
	handled := 0
	for handled < limit {
		ok, err := n.deliverOne(ctx)
		if err != nil || !ok {
			return handled, err
		}
		handled++
	}
	return handled, nil
}

// deliverOne locks one due message, sends it and records the outcome, in a
// transaction of its own. One message per transaction keeps locks short and
// means that a failure to record one outcome cannot undo the record of
// messages already sent, which would send them again.
func (n *Notifier) deliverOne(ctx context.Context) (bool, error) {
	tx, err := n.DB.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("notify: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var (
		id       int64
		m        Message
		attempts int
	)
	err = tx.QueryRow(ctx, `SELECT id, coalesce(account_id::text, ''), recipient, subject, text_body, html_body, attempts
		FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, n.now().UTC()).
		Scan(&id, &m.AccountID, &m.To, &m.Subject, &m.Text, &m.HTML, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("notify: find due messages: %w", err)
	}

	serr := n.Transport.Send(ctx, n.From, m, id)
	if serr != nil && ctx.Err() != nil {
		// Shutting down cut the send short: that was no fault of the
		// message, so leave its row as it was for the next notifier.
		return false, ctx.Err()
	}

	// Once the transport has answered, record it even if ctx has ended
	// meanwhile: the server may already hold the message, and forgetting
	// that would send it again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := n.now().UTC()
	failed := false
	switch {
	case serr == nil:
		_, err = tx.Exec(rctx, `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = '' WHERE id = $1`, id, now)
	case errors.Is(serr, ErrPermanent) || attempts+1 >= maxAttempts:
		failed = true
		_, err = tx.Exec(rctx, `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, errorText(serr))
	default:
		_, err = tx.Exec(rctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1`,
			id, now.Add(backoff(attempts)), errorText(serr))
	}
	if err == nil {
		err = tx.Commit(rctx)
	}
	if err != nil {
		return false, fmt.Errorf("notify: record outcome of message %d: %w", id, err)
	}
	// The log names the row and the account, not the address: the outbox
	// has the rest, and logs travel further than the database.
	switch {
	case failed:
		n.logger().Error("alert not delivered, giving up", "id", id, "account_id", m.AccountID, "attempt", attempts+1, "err", serr)
	case serr != nil:
		n.logger().Warn("alert not delivered, will retry", "id", id, "account_id", m.AccountID, "attempt", attempts+1, "err", serr)
	}
	return true, nil
}

// backoff is the wait after the given number of earlier attempts has been
// followed by one more failure: 1 s, 2 s, 4 s ... up to maxBackoff.
func backoff(attempts int) time.Duration {
	if attempts >= 12 { // 1s<<12 is already past an hour
		return maxBackoff
	}
	return min(time.Second<<attempts, maxBackoff)
}

// errorText makes err fit a last_error column: one line of valid UTF-8 of
// bounded length.
func errorText(err error) string {
	s := strings.ToValidUTF8(err.Error(), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorLen {
		s = strings.ToValidUTF8(s[:maxErrorLen], "")
	}
	return s
}

// Queued is a message in the outbox and how its delivery stands.
type Queued struct {
	ID int64
	Message
	Status   string // "pending", "sent" or "failed"
	Attempts int    // tries so far
}

// Messages returns the outbox's messages about an account, oldest first,
// sent and failed ones included: what an operator reads to see whether a
// person's alerts went out. It is not for a request path (it reads the
// outbox without an index on the account).
func (n *Notifier) Messages(ctx context.Context, accountID string) ([]Queued, error) {
	rows, err := n.DB.Query(ctx, `SELECT id, coalesce(account_id::text, ''), recipient, subject, text_body, html_body, status, attempts
		FROM outbox WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("notify: messages: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Queued, error) {
		var q Queued
		return q, r.Scan(&q.ID, &q.AccountID, &q.To, &q.Subject, &q.Text, &q.HTML, &q.Status, &q.Attempts)
	})
}
