package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// permanentError wraps a Transport error that retrying cannot fix; its text
// is the wrapped error's, and errors.Is finds ErrPermanent.
type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Unwrap() error        { return e.err }
func (e permanentError) Is(target error) bool { return target == ErrPermanent }

// permanent marks err as one that retrying cannot fix.
func permanent(err error) error { return permanentError{err} }

// envelope is a composed message with the addresses SMTP needs beside it.
type envelope struct {
	from, to string // bare addresses for MAIL FROM and RCPT TO
	raw      []byte // the RFC 5322 message, lines ending in CRLF
}

// compose renders m as an RFC 5322 message (RFC 2045-2047 for MIME): the
// same bytes go over SMTP and into a .eml file. Every body part is UTF-8 in
// quoted-printable, so the message is 7-bit clean and passes any relay; the
// text part comes first because multipart/alternative lists the parts from
// least to most preferred (RFC 2046 §5.1.4).
func compose(from string, m Message, id int64, now time.Time) (envelope, error) {
	sender, err := mail.ParseAddress(from)
	if err != nil {
		// A bad sender is the operator's configuration, not the message's
		// fault: it is not permanent, so fixing it and restarting still
		// delivers what is pending.
		return envelope{}, fmt.Errorf("sender %q is not an email address", from)
	}
	if err := m.validate(); err != nil {
		return envelope{}, permanent(err)
	}
	to, _ := mail.ParseAddress(m.To) // validate checked it

	var b bytes.Buffer
	header(&b, "From", sender.String())
	header(&b, "To", to.String())
	header(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header(&b, "Date", now.Format(time.RFC1123Z))
	header(&b, "Message-ID", messageID(id))
	// Auto-Submitted tells vacation responders and the like not to answer
	// (RFC 3834 §5).
	header(&b, "Auto-Submitted", "auto-generated")
	header(&b, "MIME-Version", "1.0")

	if m.HTML == "" {
		header(&b, "Content-Type", "text/plain; charset=utf-8")
		header(&b, "Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return envelope{}, err
		}
		return envelope{from: sender.Address, to: to.Address, raw: b.Bytes()}, nil
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct{ typ, content string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return envelope{}, err
		}
		if err := writeQP(w, p.content); err != nil {
			return envelope{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return envelope{}, err
	}
	header(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return envelope{from: sender.Address, to: to.Address, raw: b.Bytes()}, nil
}

// writeQP writes s quoted-printable, its line breaks as CRLF, ending with one.
func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// header writes one header field, folded at spaces so that lines stay within
// the 78 characters RFC 5322 §2.1.1 recommends. An encoded subject is a run
// of encoded-words of up to 75 characters separated by spaces, so it folds
// too, and each of its lines keeps within the 76 RFC 2047 §2 allows; that may
// mean folding right after the colon, which RFC 5322 §2.2.3 permits.
func header(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		if len(line)+1+len(word) > 78 && (i > 0 || 1+len(word) <= 78) {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	b.WriteString(line + "\r\n")
}

// messageID returns a Message-ID (RFC 5322 §3.6.4) of the form
// <id.random@latch>: the outbox id makes it easy to find the row from a
// received message, and the random part keeps ids of different latch
// installations, or of two tries of one message, from colliding.
func messageID(id int64) string {
	r := make([]byte, 8)
	rand.Read(r)
	return fmt.Sprintf("<%d.%s@latch>", id, hex.EncodeToString(r))
}
