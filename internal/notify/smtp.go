package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultSMTPTimeout bounds the dial and, separately, the whole SMTP
// session of one message, so a mail server that stops answering holds a
// row lock (and a worker) for no longer than this.
const DefaultSMTPTimeout = 30 * time.Second

// SMTP delivers messages to a mail server (a submission server or a relay),
// one SMTP session per message. It is built from --smtp-url by NewSMTP:
//
//	smtp://user:pass@host:port   submission, port 587 by default; STARTTLS
//	                             whenever the server offers it
//	smtps://user:pass@host:port  implicit TLS (RFC 8314 §3.3), port 465 by
//	                             default; TLS is then never optional
//
// Credentials are sent with AUTH PLAIN, and only over TLS, or to a server on
// this machine's loopback interface where there is no wire to read them
// from. A server that offers STARTTLS but fails the handshake or presents a
// certificate that does not verify gets nothing: there is no fallback to
// plain text. Without credentials, smtp:// to a server that does not offer
// STARTTLS sends the message in the clear, as mail relays have always done;
// use smtps:// when TLS must not be stripped by someone on the path.
type SMTP struct {
	// TLSConfig, when set, is used for STARTTLS and implicit TLS in place of
	// the system defaults; its ServerName defaults to the URL's host. Tests
	// set RootCAs to trust their own certificate. Verification is never
	// turned off by this package.
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO; "localhost" when empty.
	LocalName string
	// Timeout bounds the dial and the whole session; DefaultSMTPTimeout when
	// zero.
	Timeout time.Duration
	// Now dates the messages; time.Now when nil.
	Now func() time.Time

	host        string
	addr        string // host:port
	implicitTLS bool
	user, pass  string
}

var _ Transport = (*SMTP)(nil)

// NewSMTP checks rawURL and returns a transport for it. Its errors are one
// line naming --smtp-url, and never repeat the password.
func NewSMTP(rawURL string) (*SMTP, error) {
	bad := func(format string, args ...any) (*SMTP, error) {
		return nil, fmt.Errorf("--smtp-url: "+format, args...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included; its inner
		// error names only the part that is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// An escape error quotes the escape, which may be part of the
		// password.
		var ee url.EscapeError
		if errors.As(err, &ee) {
			return bad("not a valid URL: a %%-escape is malformed")
		}
		return bad("not a valid URL: %v", err)
	}
	if !strings.Contains(rawURL, "://") {
		// "mail.example.com:587" parses as scheme "mail.example.com".
		return bad("want smtp://[user:password@]host[:port] or smtps://...")
	}
	var port int
	switch u.Scheme {
	case "smtp":
		port = 587
	case "smtps":
		port = 465
	default:
		return bad("scheme must be smtp:// or smtps://, not %s://", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return bad("missing host (want %s://[user:password@]host[:port])", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q is not between 1 and 65535", p)
		}
		port = n
	}
	if u.Path != "" && u.Path != "/" {
		return bad("unexpected path %q: give only [user:password@]host[:port]", u.Path)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("unexpected query or fragment: give only [user:password@]host[:port]")
	}
	s := &SMTP{
		host:        u.Hostname(),
		addr:        net.JoinHostPort(u.Hostname(), strconv.Itoa(port)),
		implicitTLS: u.Scheme == "smtps",
	}
	if u.User != nil {
		pass, ok := u.User.Password()
		s.user = u.User.Username()
		s.pass = pass
		if s.user == "" {
			return bad("a password without a user name")
		}
		if !ok || pass == "" {
			return bad("user %q has no password (want user:password@host)", s.user)
		}
	}
	return s, nil
}

// String returns the URL without its password, for logs.
func (s *SMTP) String() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.user != "" {
		u.User = url.UserPassword(s.user, "xxxxx")
	}
	return u.String()
}

func (s *SMTP) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultSMTPTimeout
	}
	return s.Timeout
}

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.TLSConfig != nil {
		c = s.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Send delivers one message in one SMTP session (RFC 5321).
func (s *SMTP) Send(ctx context.Context, from string, m Message, id int64) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	env, err := compose(from, m, id, now())
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	err = s.session(ctx, env)
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		// The connection was closed under the session; say why.
		return fmt.Errorf("smtp: %s: %w", s.addr, ctx.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		// The connection's deadline is the context's, and either may be
		// noticed first.
		return fmt.Errorf("%w (session took longer than %s)", err, s.timeout())
	}
	return err
}

func (s *SMTP) session(ctx context.Context, env envelope) error {
	d := &net.Dialer{Timeout: s.timeout()}
	var (
		conn net.Conn
		err  error
	)
	if s.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", s.addr, err)
	}
	// net/smtp takes no context: the deadline bounds the session, and
	// closing the connection when ctx ends interrupts whatever it waits for.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %s: greeting: %w", s.addr, err)
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("smtp: %s: EHLO: %w", s.addr, err)
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("smtp: %s: STARTTLS: %w", s.addr, err)
			}
		}
	}
	if s.user != "" {
		_, isTLS := c.TLSConnectionState()
		if !mayAuthenticate(isTLS, conn.RemoteAddr()) {
			return fmt.Errorf("smtp: %s: the server does not offer STARTTLS; refusing to send the password in the clear (use smtps:// for implicit TLS)", s.addr)
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !hasWord(mechs, "PLAIN") {
			return fmt.Errorf("smtp: %s: the server does not offer AUTH PLAIN (it offers %q)", s.addr, mechs)
		}
		if err := c.Auth(plainAuth{s.user, s.pass}); err != nil {
			return fmt.Errorf("smtp: %s: AUTH: %w", s.addr, err)
		}
	}
	if err := c.Mail(env.from); err != nil {
		return fmt.Errorf("smtp: %s: MAIL FROM: %w", s.addr, classify(err))
	}
	if err := c.Rcpt(env.to); err != nil {
		return fmt.Errorf("smtp: %s: RCPT TO: %w", s.addr, classify(err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: %s: DATA: %w", s.addr, classify(err))
	}
	if _, err := w.Write(env.raw); err != nil {
		return fmt.Errorf("smtp: %s: DATA: %w", s.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: %s: DATA: %w", s.addr, classify(err))
	}
	// The message is accepted once DATA is answered; a failed QUIT does not
	// change that, and reporting it would send the message again.
	_ = c.Quit()
	return nil
}

// classify marks a 5xx answer to the mail transaction as permanent (RFC 5321
// §4.2.1: the same command will fail again). 4xx answers, and errors of the
// connection, are worth retrying.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return permanent(err)
	}
	return err
}

// mayAuthenticate reports whether credentials may be sent on a connection:
// over TLS, or to a server on the loopback interface, where no one on a
// network can read them. The check is on the address actually connected
// to, not on the host name, so a name that resolves elsewhere does not
// pass as local.
func mayAuthenticate(isTLS bool, remote net.Addr) bool {
	if isTLS {
		return true
	}
	tcp, ok := remote.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// plainAuth is AUTH PLAIN (RFC 4616) without net/smtp's own guard, which
// allows clear text only to a server named "localhost", 127.0.0.1 or ::1;
// Send applies mayAuthenticate instead, before it gets here.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}
