package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-idp/latch/internal/pgtest"
	"github.com/latch-idp/latch/internal/testclock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	testFrom = "latch <no-reply@localhost>"
	testUser = "alice-relay"
	testPass = "s3cret pass/word"
)

// newClock is the injected time: tests move it instead of sleeping.
func newClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 11, 27, 10, 1, 0, 0, time.UTC))
}

// mailServer is a real SMTP server on 127.0.0.1 that records what it gets.
type mailServer struct {
	addr  string
	roots *x509.CertPool // trusts the server's self-signed certificate

	mu       sync.Mutex
	dataCode int // answer DATA with this code (451, 554) instead of accepting
	rcptCode int // answer RCPT with this code instead of accepting
	received []received
	auths    []authEvent
	tries    int // DATA commands seen
}

type received struct {
	from     string
	to       []string
	raw      []byte
	tls      bool
	authUser string
}

type authEvent struct {
	user, pass string
	tls        bool
}

type serverOptions struct {
	startTLS    bool // offer STARTTLS
	implicitTLS bool // TLS from the first byte, as on port 465
}

func startMailServer(t *testing.T, opts serverOptions) *mailServer {
	t.Helper()
	cert, roots := selfSigned(t)
	ms := &mailServer{roots: roots}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{ms: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	// Offered on loopback, AUTH works without TLS too, so a test sees a
	// client that skipped STARTTLS instead of a refusal.
	srv.AllowInsecureAuth = true
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	if opts.startTLS || opts.implicitTLS {
		srv.TLSConfig = tlsConfig
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	if opts.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ms
}

func (ms *mailServer) messages() []received {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return slices.Clone(ms.received)
}

func (ms *mailServer) authEvents() []authEvent {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return slices.Clone(ms.auths)
}

func (ms *mailServer) setDataCode(code int) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.dataCode = code
}

func (ms *mailServer) setRcptCode(code int) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.rcptCode = code
}

func (ms *mailServer) dataTries() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.tries
}

// smtpURL is the --smtp-url for the server with the test credentials.
func (ms *mailServer) smtpURL(scheme string) string {
	u := url.URL{Scheme: scheme, User: url.UserPassword(testUser, testPass), Host: ms.addr}
	return u.String()
}

// transport returns an SMTP transport for the server that trusts its
// certificate.
func (ms *mailServer) transport(t *testing.T, scheme string, clk *testclock.Clock) *SMTP {
	t.Helper()
	s, err := NewSMTP(ms.smtpURL(scheme))
	if err != nil {
		t.Fatal(err)
	}
	s.TLSConfig = &tls.Config{RootCAs: ms.roots}
	s.Now = clk.Now
	return s
}

type session struct {
	ms   *mailServer
	conn *gosmtp.Conn
	user string
	from string
	to   []string
}

var _ gosmtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		_, isTLS := s.conn.TLSConnectionState()
		s.ms.mu.Lock()
		s.ms.auths = append(s.ms.auths, authEvent{user: user, pass: pass, tls: isTLS})
		s.ms.mu.Unlock()
		if user != testUser || pass != testPass {
			return gosmtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.ms.mu.Lock()
	code := s.ms.rcptCode
	s.ms.mu.Unlock()
	if code != 0 {
		return &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.ms.mu.Lock()
	defer s.ms.mu.Unlock()
	s.ms.tries++
	if s.ms.dataCode != 0 {
		return &gosmtp.SMTPError{Code: s.ms.dataCode, EnhancedCode: gosmtp.EnhancedCode{s.ms.dataCode / 100, 3, 0}, Message: "try again later"}
	}
	s.ms.received = append(s.ms.received, received{from: s.from, to: slices.Clone(s.to), raw: raw, tls: isTLS, authUser: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

func newNotifier(t *testing.T, db *pgxpool.Pool, tr Transport, clk *testclock.Clock) *Notifier {
	return &Notifier{
		DB:        db,
		Transport: tr,
		From:      testFrom,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now:       clk.Now,
		// An hour: only a notification, or the pass Run makes after it
		// has started listening, can deliver in these tests.
		Poll: time.Hour,
	}
}

// start runs n until the returned stop is called (or the test ends), and
// stop returns only once Run has.
func start(t *testing.T, n *Notifier) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		n.Run(ctx)
		close(done)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits for work happening in other goroutines to be done. It
// waits for a result, not for time to pass: the clock the code sees is the
// injected one.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type outboxRow struct {
	id        int64
	accountID string
	status    string
	attempts  int
	next      time.Time
	lastError string
	sentAt    *time.Time
}

func rows(t *testing.T, db *pgxpool.Pool) []outboxRow {
	t.Helper()
	rs, err := db.Query(context.Background(), `SELECT id, coalesce(account_id::text, ''), status, attempts, next_attempt_at, last_error, sent_at
		FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []outboxRow
	for rs.Next() {
		var r outboxRow
		if err := rs.Scan(&r.id, &r.accountID, &r.status, &r.attempts, &r.next, &r.lastError, &r.sentAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func onlyRow(t *testing.T, db *pgxpool.Pool) outboxRow {
	t.Helper()
	rs := rows(t, db)
	if len(rs) != 1 {
		t.Fatalf("outbox has %d rows, want 1", len(rs))
	}
	return rs[0]
}

func newAccount(t *testing.T, db *pgxpool.Pool, email string) string {
	t.Helper()
	var id string
	err := db.QueryRow(context.Background(), `INSERT INTO accounts (email, email_key) VALUES ($1, $1) RETURNING id::text`, email).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func signInAlert() Alert {
	return Alert{
		Heading: "New sign-in to your account",
		Lines:   []string{"Someone just signed in to your latch account."},
		Facts: [][2]string{
			{"Device", "Firefox on Windows"},
			{"Where", "Zürich, Switzerland"},
			{"When", "27 Nov 2026, 10:01 UTC"},
		},
		Action: "Review your sessions",
		URL:    "https://id.example.com/account/sessions",
		Footer: "If this wasn't you, end that session and change your password.",
	}
}

func testMessage(to string) Message {
	return Message{To: to, Subject: "Test alert", Text: "Hello.\n", HTML: "<p>Hello.</p>"}
}

// messageParts parses a composed message: its header and its parts with
// their Content-Type and decoded body.
type part struct {
	contentType string
	body        string
}

func parseMessage(t *testing.T, raw []byte) (*mail.Message, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []part
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part Content-Transfer-Encoding %q, want quoted-printable", cte)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{p.Header.Get("Content-Type"), string(body)})
	}
	return msg, parts
}

func TestEnqueueRunDelivers(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	account := newAccount(t, db, "alice@example.com")
	const subject = "Nouvelle connexion à votre compte — Zürich"
	alert := signInAlert()
	n := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	start(t, n)

	if err := Enqueue(t.Context(), db, clk.Now(), alert.Message(account, "alice@example.com", subject)); err != nil {
		t.Fatal(err)
	}
	// Poll is an hour: this is the LISTEN/NOTIFY wake-up at work.
	eventually(t, "the message to be sent", func() bool { return onlyRow(t, db).status == "sent" })
	if len(ms.messages()) != 1 {
		t.Fatalf("server got %d messages, want 1", len(ms.messages()))
	}

	got := ms.messages()[0]
	if got.from != "no-reply@localhost" || !slices.Equal(got.to, []string{"alice@example.com"}) {
		t.Errorf("envelope from %q to %q", got.from, got.to)
	}
	if !got.tls {
		t.Error("message went over a connection without TLS although the server offered STARTTLS")
	}
	auths := ms.authEvents()
	if len(auths) != 1 || !auths[0].tls || auths[0].user != testUser || auths[0].pass != testPass {
		t.Errorf("AUTH events %+v, want one, over TLS, with the URL's user and password", auths)
	}
	if got.authUser != testUser {
		t.Errorf("message sent as %q", got.authUser)
	}

	for i, line := range bytes.SplitAfter(got.raw, []byte("\n")) {
		if len(line) > 0 && !bytes.HasSuffix(line, []byte("\r\n")) {
			t.Errorf("line %d does not end in CRLF: %q", i, line)
		}
		if len(line) > 1000 {
			t.Errorf("line %d is longer than RFC 5322 allows", i)
		}
	}
	for _, c := range got.raw {
		if c >= 0x80 {
			t.Fatal("message is not 7-bit: a relay without 8BITMIME would mangle it")
		}
	}

	msg, parts := parseMessage(t, got.raw)
	h := msg.Header
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Name != "latch" || from.Address != "no-reply@localhost" {
		t.Errorf("From %q", h.Get("From"))
	}
	if h.Get("To") != "<alice@example.com>" {
		t.Errorf("To %q", h.Get("To"))
	}
	if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("Subject %q is not an RFC 2047 encoded-word", raw)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || dec != subject {
		t.Errorf("Subject decodes to %q (%v), want %q", dec, err, subject)
	}
	if date, err := mail.ParseDate(h.Get("Date")); err != nil || !date.Equal(clk.Now()) {
		t.Errorf("Date %q, want the injected clock's %v", h.Get("Date"), clk.Now())
	}
	if h.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("MIME-Version"))
	}
	row := onlyRow(t, db)
	if want := regexp.MustCompile(`^<` + strconv.FormatInt(row.id, 10) + `\.[0-9a-f]{16}@latch>$`); !want.MatchString(h.Get("Message-Id")) {
		t.Errorf("Message-ID %q, want <%d.random@latch>", h.Get("Message-Id"), row.id)
	}

	if len(parts) != 2 || parts[0].contentType != "text/plain; charset=utf-8" || parts[1].contentType != "text/html; charset=utf-8" {
		t.Fatalf("parts %+v, want text/plain then text/html in UTF-8", parts)
	}
	for _, want := range []string{"New sign-in to your account", "Where: Zürich, Switzerland", "Review your sessions: https://id.example.com/account/sessions"} {
		if !strings.Contains(parts[0].body, want) {
			t.Errorf("text part lacks %q:\n%s", want, parts[0].body)
		}
	}
	html := parts[1].body
	for _, want := range []string{"<h1", "New sign-in to your account", "Zürich, Switzerland", `href="https://id.example.com/account/sessions"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q", want)
		}
	}
	// No tracking: no images, nothing loaded from elsewhere, and no link
	// but the one to latch.
	for _, bad := range []string{"<img", "src=", "url(", "<link", "<script", "background="} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("HTML part contains %q", bad)
		}
	}
	for _, u := range regexp.MustCompile(`(?i)(https?:)?//[^\s"'<>)]+`).FindAllString(html, -1) {
		if u != "https://id.example.com/account/sessions" {
			t.Errorf("HTML part refers to %q", u)
		}
	}

	if row.status != "sent" || row.attempts != 1 || row.lastError != "" || row.sentAt == nil || !row.sentAt.Equal(clk.Now()) {
		t.Errorf("row %+v, want sent on the first attempt at the clock's time", row)
	}
	if row.accountID != account {
		t.Errorf("row account %q, want %q", row.accountID, account)
	}
}

func TestEnqueueRolledBackSendsNothing(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	n := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)

	tx, err := db.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := Queue(t.Context(), tx, clk.Now(), testMessage("bob@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent, err := n.DeliverDue(t.Context(), 10)
	if err != nil || sent != 0 {
		t.Errorf("DeliverDue = %d, %v; want nothing to send", sent, err)
	}
	if got := rows(t, db); len(got) != 0 {
		t.Errorf("outbox has %d rows after rollback", len(got))
	}
	if ms.dataTries() != 0 {
		t.Error("the server got a message from a rolled-back transaction")
	}
}

func TestRetryWithBackoffThenDelivered(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	ms.setDataCode(451)
	n := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("carol@example.com")); err != nil {
		t.Fatal(err)
	}
	deliver := func() int {
		t.Helper()
		sent, err := n.DeliverDue(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}

	// Three failures, each followed by twice the wait of the last.
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if deliver() != 1 {
			t.Fatalf("attempt %d: message not tried", i+1)
		}
		row := onlyRow(t, db)
		if row.status != "pending" || row.attempts != i+1 || !row.next.Equal(clk.Now().Add(wait)) || !strings.Contains(row.lastError, "451") {
			t.Fatalf("after failure %d: %+v, want pending, next try in %s, the 451 kept", i+1, row, wait)
		}
		clk.Add(wait - time.Millisecond)
		if deliver() != 0 {
			t.Fatalf("after failure %d: tried again before its backoff of %s", i+1, wait)
		}
		clk.Add(time.Millisecond)
	}
	ms.setDataCode(0)
	if deliver() != 1 {
		t.Fatal("message not tried once due")
	}
	row := onlyRow(t, db)
	if row.status != "sent" || row.attempts != 4 || row.lastError != "" || row.sentAt == nil {
		t.Errorf("row %+v, want sent after 4 attempts", row)
	}
	if len(ms.messages()) != 1 || ms.dataTries() != 4 {
		t.Errorf("server got %d messages in %d tries, want 1 in 4", len(ms.messages()), ms.dataTries())
	}
}

// transportFunc adapts a function to Transport, for tests about the outbox
// rather than about SMTP.
type transportFunc func(ctx context.Context, from string, m Message, id int64) error

func (f transportFunc) Send(ctx context.Context, from string, m Message, id int64) error {
	return f(ctx, from, m, id)
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	tries := 0
	n := newNotifier(t, db, transportFunc(func(context.Context, string, Message, int64) error {
		tries++
		return errors.New("451 4.3.0 try again later")
	}), clk)
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("dave@example.com")); err != nil {
		t.Fatal(err)
	}
	for range 3 * maxAttempts {
		if _, err := n.DeliverDue(t.Context(), 10); err != nil {
			t.Fatal(err)
		}
		row := onlyRow(t, db)
		if row.status == "pending" && row.next.Sub(clk.Now()) > maxBackoff {
			t.Fatalf("waits %s, more than the cap of %s", row.next.Sub(clk.Now()), maxBackoff)
		}
		clk.Add(maxBackoff)
	}
	row := onlyRow(t, db)
	if row.status != "failed" || row.attempts != maxAttempts || tries != maxAttempts || row.lastError == "" {
		t.Errorf("row %+v after %d tries, want failed after %d", row, tries, maxAttempts)
	}
}

func TestBackoffSchedule(t *testing.T) {
	var total time.Duration
	for a := range maxAttempts - 1 {
		d := backoff(a)
		if want := min(time.Second<<a, time.Hour); d != want {
			t.Errorf("backoff(%d) = %s, want %s", a, d, want)
		}
		total += d
	}
	if backoff(1000) != maxBackoff {
		t.Errorf("backoff(1000) = %s", backoff(1000))
	}
	// The last try should come hours, not days, after the first.
	if total < 2*time.Hour || total > 4*time.Hour {
		t.Errorf("last try %s after the first", total)
	}
}

func TestPermanentRefusalFailsAtOnce(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	ms.setRcptCode(550)
	n := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("nobody@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.DeliverDue(t.Context(), 10); err != nil {
		t.Fatal(err)
	}
	row := onlyRow(t, db)
	if row.status != "failed" || row.attempts != 1 || !strings.Contains(row.lastError, "550") {
		t.Errorf("row %+v, want failed at once with the 550 kept", row)
	}
}

func TestDurableAcrossRestart(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	ms.setDataCode(451) // the mail server is down for now

	first := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	stopFirst := start(t, first)
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("erin@example.com")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first try", func() bool { return rows(t, db)[0].attempts == 1 })
	stopFirst()

	// Written while no notifier runs at all: only the table remembers it.
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("frank@example.com")); err != nil {
		t.Fatal(err)
	}
	ms.setDataCode(0)
	clk.Add(time.Second)

	second := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	start(t, second)
	eventually(t, "both messages to be sent", func() bool {
		rs := rows(t, db)
		return len(rs) == 2 && rs[0].status == "sent" && rs[1].status == "sent"
	})
	if len(ms.messages()) != 2 {
		t.Errorf("server got %d messages, want 2", len(ms.messages()))
	}
	var to []string
	for _, m := range ms.messages() {
		to = append(to, m.to...)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"erin@example.com", "frank@example.com"}) {
		t.Errorf("delivered to %q", to)
	}
}

func TestShutdownMidSendDoesNotCountAnAttempt(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	started := make(chan struct{})
	n := newNotifier(t, db, transportFunc(func(ctx context.Context, _ string, _ Message, _ int64) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}), clk)
	if err := Enqueue(t.Context(), db, clk.Now(), testMessage("gina@example.com")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	if _, err := n.DeliverDue(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("DeliverDue error %v, want context.Canceled", err)
	}
	row := onlyRow(t, db)
	if row.status != "pending" || row.attempts != 0 || !row.next.Equal(clk.Now()) {
		t.Errorf("row %+v, want untouched so the next notifier sends it at once", row)
	}
}

func TestTwoNotifiersSendEachMessageOnce(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	const count = 30
	for i := range count {
		if err := Enqueue(t.Context(), db, clk.Now(), testMessage(fmt.Sprintf("user%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
	}
	a := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	b := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)
	stopA, stopB := start(t, a), start(t, b)
	eventually(t, "every message to be sent", func() bool {
		for _, r := range rows(t, db) {
			if r.status != "sent" {
				return false
			}
		}
		return true
	})
	stopA()
	stopB()

	got := ms.messages()
	if len(got) != count {
		t.Errorf("server got %d messages, want %d", len(got), count)
	}
	seen := map[string]bool{}
	for _, m := range got {
		msg, err := mail.ReadMessage(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(msg.Header.Get("Message-Id"), "<"), ".")
		if seen[id] {
			t.Errorf("message %s sent twice", id)
		}
		seen[id] = true
	}
	for _, r := range rows(t, db) {
		if r.attempts != 1 {
			t.Errorf("row %d tried %d times", r.id, r.attempts)
		}
	}
}

// TestLockedMessageIsSkipped shows the sharing at work: while one notifier
// is in the middle of sending a message, another sends the rest and leaves
// that one alone.
func TestLockedMessageIsSkipped(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	for i := range 3 {
		if err := Enqueue(t.Context(), db, clk.Now(), testMessage(fmt.Sprintf("user%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
	}
	inner := ms.transport(t, "smtp", clk)
	sending, release := make(chan int64), make(chan struct{})
	slow := newNotifier(t, db, transportFunc(func(ctx context.Context, from string, m Message, id int64) error {
		sending <- id
		<-release
		return inner.Send(ctx, from, m, id)
	}), clk)
	fast := newNotifier(t, db, ms.transport(t, "smtp", clk), clk)

	slowDone := make(chan error)
	go func() {
		_, err := slow.DeliverDue(t.Context(), 1)
		slowDone <- err
	}()
	held := <-sending
	sent, err := fast.DeliverDue(t.Context(), 10)
	if err != nil || sent != 2 {
		t.Errorf("second notifier sent %d (%v), want the 2 not held by the first", sent, err)
	}
	for _, r := range rows(t, db) {
		if want := r.id != held; (r.status == "sent") != want {
			t.Errorf("row %d: %s (held: %d)", r.id, r.status, held)
		}
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if got := len(ms.messages()); got != 3 {
		t.Errorf("server got %d messages, want 3", got)
	}
}

func TestSMTPWithoutStartTLSOnLoopback(t *testing.T) {
	// A local relay without TLS: credentials may go to it, as nothing but
	// this machine carries them.
	clk := newClock()
	ms := startMailServer(t, serverOptions{})
	err := ms.transport(t, "smtp", clk).Send(t.Context(), testFrom, testMessage("hal@example.com"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if auths := ms.authEvents(); len(auths) != 1 || auths[0].tls {
		t.Errorf("AUTH events %+v, want one without TLS", auths)
	}
	if len(ms.messages()) != 1 {
		t.Error("message not delivered")
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	clk := newClock()
	ms := startMailServer(t, serverOptions{implicitTLS: true})
	if err := ms.transport(t, "smtps", clk).Send(t.Context(), testFrom, testMessage("ivy@example.com"), 1); err != nil {
		t.Fatal(err)
	}
	got := ms.messages()
	if len(got) != 1 || !got[0].tls {
		t.Fatalf("messages %+v, want one over TLS", got)
	}
	if auths := ms.authEvents(); len(auths) != 1 || !auths[0].tls {
		t.Errorf("AUTH events %+v, want one over TLS", auths)
	}
}

func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	// A server that offers STARTTLS with a certificate that does not
	// verify might be anyone: it gets neither the password nor the
	// message, and there is no falling back to plain text.
	clk := newClock()
	ms := startMailServer(t, serverOptions{startTLS: true})
	s := ms.transport(t, "smtp", clk)
	s.TLSConfig = nil // the system roots, which do not know the test's certificate
	err := s.Send(t.Context(), testFrom, testMessage("jo@example.com"), 1)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Send error %v, want a certificate error", err)
	}
	if len(ms.authEvents()) != 0 || ms.dataTries() != 0 {
		t.Error("the unverified server got credentials or a message")
	}
}

func TestSMTPSessionTimeout(t *testing.T) {
	// A server that accepts the connection and then says nothing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	s, err := NewSMTP("smtp://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s.Timeout = 200 * time.Millisecond
	err = s.Send(t.Context(), testFrom, testMessage("kim@example.com"), 1)
	if err == nil || !strings.Contains(err.Error(), "longer than 200ms") {
		t.Errorf("Send error %v, want the session timeout", err)
	}
}

func TestMayAuthenticate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		remote net.Addr
		want   bool
	}{
		{"TLS to anywhere", true, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 587}, true},
		{"clear text to loopback v4", false, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, true},
		{"clear text to loopback v6", false, &net.TCPAddr{IP: net.IPv6loopback, Port: 25}, true},
		{"clear text to the network", false, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 587}, false},
		{"clear text to a private address", false, &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 587}, false},
		{"clear text to a unix socket", false, &net.UnixAddr{Name: "/run/smtp", Net: "unix"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mayAuthenticate(tc.tls, tc.remote); got != tc.want {
				t.Errorf("mayAuthenticate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewSMTP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		url      string
		wantErr  string // substring; "" means valid
		addr     string
		implicit bool
		user     string
	}{
		{name: "submission default port", url: "smtp://user:pw@mail.example.com", addr: "mail.example.com:587", user: "user"},
		{name: "explicit port, no credentials", url: "smtp://127.0.0.1:2525", addr: "127.0.0.1:2525"},
		{name: "implicit TLS default port", url: "smtps://user:pw@mail.example.com", addr: "mail.example.com:465", implicit: true, user: "user"},
		{name: "IPv6 host", url: "smtp://[::1]:25", addr: "[::1]:25"},
		{name: "escaped password", url: "smtp://user%40example.com:p%2Fw%3Ad@mail.example.com", addr: "mail.example.com:587", user: "user@example.com"},
		{name: "trailing slash", url: "smtp://mail.example.com/", addr: "mail.example.com:587"},
		{name: "bad scheme", url: "http://user:pw@mail.example.com", wantErr: "scheme must be smtp:// or smtps://"},
		{name: "no scheme", url: "mail.example.com:587", wantErr: "want smtp://"},
		{name: "empty", url: "", wantErr: "want smtp://"},
		{name: "missing host", url: "smtp://user:pw@:587", wantErr: "missing host"},
		{name: "missing host entirely", url: "smtp://", wantErr: "missing host"},
		{name: "port not a number", url: "smtp://user:pw@mail.example.com:smtp", wantErr: "invalid port"},
		{name: "port zero", url: "smtp://user:pw@mail.example.com:0", wantErr: "between 1 and 65535"},
		{name: "port too large", url: "smtp://user:pw@mail.example.com:70000", wantErr: "between 1 and 65535"},
		{name: "path", url: "smtp://user:pw@mail.example.com/relay", wantErr: "unexpected path"},
		{name: "query", url: "smtp://user:pw@mail.example.com?tls=off", wantErr: "unexpected query"},
		{name: "user without password", url: "smtp://user@mail.example.com", wantErr: "has no password"},
		{name: "password without user", url: "smtp://:pw@mail.example.com", wantErr: "without a user"},
		{name: "bad escape", url: "smtp://user:p%zzw@mail.example.com", wantErr: "not a valid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSMTP(tc.url)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.addr != tc.addr || s.implicitTLS != tc.implicit || s.user != tc.user {
					t.Errorf("got addr %q implicit %v user %q", s.addr, s.implicitTLS, s.user)
				}
				if strings.Contains(s.String(), ":pw@") {
					t.Errorf("String() %q shows the password", s.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("NewSMTP(%q) accepted", tc.url)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "--smtp-url: ") || !strings.Contains(msg, tc.wantErr) {
				t.Errorf("error %q, want one naming --smtp-url and saying %q", msg, tc.wantErr)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q is more than one line", msg)
			}
			if strings.Contains(msg, "pw") || strings.Contains(msg, "zz") {
				t.Errorf("error %q repeats the password", msg)
			}
		})
	}
}

func TestDirTransport(t *testing.T) {
	db := pgtest.New(t)
	clk := newClock()
	dir := filepath.Join(t.TempDir(), "alerts")
	var logs bytes.Buffer
	d, err := NewDir(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d.Now = clk.Now
	n := newNotifier(t, db, d, clk)
	const subject = "Récupération : clé utilisée"
	m := signInAlert().Message("", "lee@example.com", subject)
	if err := Enqueue(t.Context(), db, clk.Now(), m); err != nil {
		t.Fatal(err)
	}
	if sent, err := n.DeliverDue(t.Context(), 10); err != nil || sent != 1 {
		t.Fatalf("DeliverDue = %d, %v", sent, err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || filepath.Ext(entries[0].Name()) != ".eml" {
		t.Fatalf("directory holds %v, want one .eml file", entries)
	}
	path := filepath.Join(dir, entries[0].Name())
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600: alerts are personal", info.Mode(), err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, parts := parseMessage(t, raw)
	if dec, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); dec != subject {
		t.Errorf("Subject %q", dec)
	}
	if to, err := mail.ParseAddress(msg.Header.Get("To")); err != nil || to.Address != "lee@example.com" {
		t.Errorf("To %q", msg.Header.Get("To"))
	}
	lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	if len(parts) != 2 || lf(parts[0].body) != m.Text || lf(parts[1].body) != m.HTML {
		t.Errorf("parts do not round-trip the message")
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d lines, want 1:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{`msg="alert written"`, "to=lee@example.com", "subject=", "path=" + path} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
	if row := onlyRow(t, db); row.status != "sent" {
		t.Errorf("row %+v, want sent", row)
	}
}

func TestEnqueueRefusesInvalidMessages(t *testing.T) {
	db := pgtest.New(t)
	good := testMessage("mo@example.com")
	for _, tc := range []struct {
		name string
		edit func(*Message)
	}{
		{"no recipient", func(m *Message) { m.To = "" }},
		{"recipient not an address", func(m *Message) { m.To = "not an address" }},
		{"header injection in subject", func(m *Message) { m.Subject = "Hi\r\nBcc: eve@example.com" }},
		{"empty subject", func(m *Message) { m.Subject = " " }},
		{"empty text", func(m *Message) { m.Text = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			tc.edit(&m)
			if err := Enqueue(t.Context(), db, time.Now(), m); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("Enqueue error %v, want ErrInvalidMessage", err)
			}
		})
	}
	if got := rows(t, db); len(got) != 0 {
		t.Errorf("outbox has %d rows", len(got))
	}
}

func TestComposeFoldsLongSubjectAndHandlesTextOnly(t *testing.T) {
	subject := strings.Repeat("Connexion inhabituelle détectée ", 6)
	subject = strings.TrimSpace(subject)
	env, err := compose(testFrom, Message{To: "ned@example.com", Subject: subject, Text: "Plain only."}, 7, newClock().Now())
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(env.raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		// RFC 2047 §2: a line with an encoded-word is at most 76 long.
		if len(line) > 76 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(env.raw))
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || dec != subject {
		t.Errorf("folded Subject decodes to %q (%v)", dec, err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("text-only Content-Type %q", ct)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if string(body) != "Plain only.\r\n" {
		t.Errorf("body %q", body)
	}
	if env.from != "no-reply@localhost" || env.to != "ned@example.com" {
		t.Errorf("envelope %q -> %q", env.from, env.to)
	}

	if _, err := compose("not an address", testMessage("ned@example.com"), 7, time.Now()); err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("bad sender: %v, want an error that is not permanent (the operator can fix it)", err)
	}
	if _, err := compose(testFrom, Message{To: "x", Subject: "s", Text: "t"}, 7, time.Now()); !errors.Is(err, ErrPermanent) {
		t.Errorf("bad recipient: %v, want a permanent error", err)
	}
}

func TestAlertMessage(t *testing.T) {
	a := Alert{
		Heading: "New sign-in <b>now</b>",
		Lines:   []string{`Device "Evil" <script>alert(1)</script> & co`},
		Facts:   [][2]string{{"Device", `<img src="https://tracker.example/x.png">`}},
		Action:  "Review your sessions",
		URL:     "https://id.example.com/account/sessions?x=1&y=2",
		Footer:  "If this wasn't you, end the session.",
	}
	m := a.Message("acct", "oz@example.com", "Subject & more")
	if m.AccountID != "acct" || m.To != "oz@example.com" || m.Subject != "Subject & more" {
		t.Errorf("message fields %+v", m)
	}
	for _, bad := range []string{"<script>", "<b>", "<img"} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", `href="https://id.example.com/account/sessions?x=1&amp;y=2"`, "<title>Subject &amp; more</title>", "If this wasn&#39;t you"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	for _, want := range []string{"New sign-in <b>now</b>\n", "Device: <img", "Review your sessions: https://id.example.com/account/sessions?x=1&y=2\n", "If this wasn't you"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}

	for _, bad := range []string{"javascript:alert(1)", "/account/sessions", "//evil.example/x", ""} {
		a.URL = bad
		m := a.Message("", "oz@example.com", "s")
		if strings.Contains(m.HTML, "<a ") || strings.Contains(m.Text, "Review your sessions") {
			t.Errorf("URL %q: the link was kept", bad)
		}
	}

	a.URL, a.Action = "https://id.example.com/account", ""
	m = a.Message("", "oz@example.com", "s")
	if !strings.Contains(m.Text, "\nhttps://id.example.com/account\n") || !strings.Contains(m.HTML, ">https://id.example.com/account</a>") {
		t.Errorf("a link without action text should show the URL:\n%s\n%s", m.Text, m.HTML)
	}
}

// BenchmarkDeliverDue measures the outbox's own cost per message (lock,
// record, commit) with a transport that does nothing.
func BenchmarkDeliverDue(b *testing.B) {
	db := pgtest.New(b)
	now := time.Now()
	n := &Notifier{DB: db, From: testFrom, Now: func() time.Time { return now },
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Transport: transportFunc(func(context.Context, string, Message, int64) error { return nil })}
	for range b.N {
		if err := Enqueue(b.Context(), db, now, testMessage("bench@example.com")); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	sent, err := n.DeliverDue(b.Context(), b.N)
	if err != nil || sent != b.N {
		b.Fatalf("DeliverDue = %d, %v", sent, err)
	}
}
