package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRefusalAnswers: the status and Retry-After each kind of refusal is
// answered with.
func TestRefusalAnswers(t *testing.T) {
	for _, tc := range []struct {
		no     Refusal
		status int
		retry  string
	}{
		{Refusal{Kind: Throttled, RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "2"},
		{Refusal{Kind: Throttled, RetryAfter: 14 * time.Minute}, http.StatusTooManyRequests, "841"},
		{Refusal{Kind: Locked, Err: ErrLocked}, http.StatusTooManyRequests, ""},
		{Refusal{Kind: Wrong}, http.StatusUnauthorized, ""},
		{Refusal{Kind: Busy, Err: ErrBusy}, http.StatusServiceUnavailable, ""},
		{Refusal{Kind: Unavailable}, http.StatusServiceUnavailable, ""},
		{Refusal{Kind: Failed}, http.StatusInternalServerError, ""},
	} {
		if got := tc.no.Status(); got != tc.status {
			t.Errorf("%v: status %d, want %d", tc.no.Kind, got, tc.status)
		}
		w := httptest.NewRecorder()
		tc.no.SetRetryAfter(w)
		if got := w.Header().Get("Retry-After"); got != tc.retry {
			t.Errorf("%v: Retry-After %q, want %q", tc.no.Kind, got, tc.retry)
		}
	}
}

// TestFailureKinds: an error of latch's side is busy, unavailable (the
// database did not answer) or failed, never wrong.
func TestFailureKinds(t *testing.T) {
	away := &pgconn.PgError{Code: "57P01"}
	for _, tc := range []struct {
		err  error
		kind RefusalKind
	}{
		{ErrBusy, Busy},
		{fmt.Errorf("%w: %w", ErrBusy, context.DeadlineExceeded), Busy},
		{away, Unavailable},
		{fmt.Errorf("look it up: %w", away), Unavailable},
		{context.Canceled, Failed},
		{errors.New("something else"), Failed},
	} {
		if got := failure(tc.err); got.Kind != tc.kind || !errors.Is(got, tc.err) {
			t.Errorf("failure(%v) = %v, want %v wrapping the error", tc.err, got, tc.kind)
		}
	}
}

// TestWrongPasskey: every refusal of a passkey ceremony is a wrong
// secret, and its reason stays readable; the database's absence is not.
func TestWrongPasskey(t *testing.T) {
	var wrong *wrongSecret
	if err := WrongPasskey(ErrPasskeyClone); !errors.As(err, &wrong) || !errors.Is(wrong.err, ErrPasskeyClone) {
		t.Errorf("a clone refusal: %v", err)
	}
	away := &pgconn.PgError{Code: "08006"}
	if err := WrongPasskey(away); errors.As(err, &wrong) || !errors.Is(err, away) {
		t.Errorf("the database away: %v", err)
	}
	if err := WrongPasskey(nil); err != nil {
		t.Errorf("no error: %v", err)
	}
}

// TestThrottleKeys: each secret has its own key, as Unlock clears them.
func TestThrottleKeys(t *testing.T) {
	h := &Handler{}
	acct := &Account{ID: "a1", Email: "Ada@Example.com"}
	r := httptest.NewRequest("POST", "/", nil)
	for _, tc := range []struct {
		a       Attempt
		key     string
		lock    bool
		counted bool
	}{
		{Attempt{Secret: SecretPassword, Email: " ADA@example.com"}, "ada@example.com", false, true},
		{Attempt{Secret: SecretRecoveryKey, Email: "ada@example.com"}, "recover:ada@example.com", false, true},
		// A typed-back key counts against no device budget or history.
		{Attempt{Secret: SecretConfirmKey, Account: acct}, "confirm:a1", true, true},
		{Attempt{Secret: SecretPasskey, Account: acct}, "", false, false},
	} {
		g, counted := h.guessOf(r, tc.a)
		if g.Key != tc.key || g.Lock != tc.lock || counted != tc.counted || g.AccountID != "" || g.Device != nil {
			t.Errorf("%v: %+v, %v", tc.a.Secret, g, counted)
		}
	}
}
