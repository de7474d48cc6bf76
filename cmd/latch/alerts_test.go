package main

import (
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/latch-idp/latch/internal/notify"
)

// mailbox is a real SMTP server on loopback that keeps what it receives,
// and can refuse for a while (451) to leave alerts pending.
type mailbox struct {
	mu       sync.Mutex
	refusing bool
	got      chan *mail.Message
	url      string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{got: make(chan *mail.Message, 20)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	mb.url = "smtp://" + ln.Addr().String()
	return mb
}

func (mb *mailbox) refuse(on bool) { mb.mu.Lock(); mb.refusing = on; mb.mu.Unlock() }

func (mb *mailbox) wait(t *testing.T, subject string) *mail.Message {
	t.Helper()
	for {
		select {
		case m := <-mb.got:
			if strings.Contains(m.Header.Get("Subject"), subject) {
				return m
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no alert %q arrived", subject)
		}
	}
}

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	s.mb.mu.Lock()
	refusing := s.mb.refusing
	s.mb.mu.Unlock()
	if refusing {
		io.Copy(io.Discard, r)
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	s.mb.got <- m
	return nil
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

// TestAlerts: a sign-in from a new device sends an email over SMTP, a
// recovery key use does too, and an alert pending while latch stops is
// delivered after it starts again.
func TestAlerts(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	l := startLatch(t, func(c *Config) { c.SMTPURL = mb.url })
	b := l.browser()
	b.signInPassword(l.email, testPassword).Body.Close()
	m := mb.wait(t, "Sign-in from a new device")
	if to := m.Header.Get("To"); !strings.Contains(to, l.email) {
		t.Fatalf("alert to %q", to)
	}
	body, _ := io.ReadAll(m.Body)
	for _, want := range []string{"Chrome on Linux", "/account/sessions"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("alert lacks %q", want)
		}
	}
	// The same browser again is not new.
	b.post("/account", "/logout", nil).Body.Close()
	b.signInPassword(l.email, testPassword).Body.Close()
	select {
	case m := <-mb.got:
		t.Fatalf("a known device raised an alert: %s", m.Header.Get("Subject"))
	case <-time.After(300 * time.Millisecond):
	}

	// Pending across a restart.
	mb.refuse(true)
	l.browser().signInPassword(l.email, testPassword).Body.Close()
	acct := l.accountID(l.email)
	waitFor(t, func() bool {
		attempts := 0
		for _, m := range l.alerts(acct) {
			if m.Status == "pending" {
				attempts = max(attempts, m.Attempts)
			}
		}
		return attempts >= 1
	})
	l.stop()
	mb.refuse(false)
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	cfg := *l.cfg
	cfg.Addr = ln.Addr().String()
	again := runLatch(t, &cfg, ln, l.clock)
	l.clock.Add(5 * time.Second)
	mb.wait(t, "Sign-in from a new device")
	// The row is marked sent just after the server took the message.
	waitFor(t, func() bool {
		return again.countAlerts(acct, func(m notify.Queued) bool { return m.Status != "sent" }) == 0
	})
}
