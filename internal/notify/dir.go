package notify

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Dir is the transport of `latch dev`: each message becomes an .eml file (the
// same RFC 5322 bytes SMTP would send) in a directory, and one log line says
// where, so a developer sees alerts without a mail server and can open them
// in a mail program.
type Dir struct {
	Path   string
	Logger *slog.Logger
	// Now dates the messages and names the files; time.Now when nil.
	Now func() time.Time
}

var _ Transport = (*Dir)(nil)

// NewDir returns a transport writing into dir, which it creates if needed.
// The directory and files are readable by the owner only: alerts name a
// person and where they signed in.
func NewDir(dir string, logger *slog.Logger) (*Dir, error) {
	if dir == "" {
		return nil, fmt.Errorf("notify: no directory for alert files")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: alert directory: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Dir{Path: dir, Logger: logger, Now: time.Now}, nil
}

// Send writes the message to <time>-<id>.eml. It writes a temporary file and
// renames it, so a reader never sees half a message.
func (d *Dir) Send(ctx context.Context, from string, m Message, id int64) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := now()
	env, err := compose(from, m, id, t)
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	path := filepath.Join(d.Path, fmt.Sprintf("%s-%d.eml", t.UTC().Format("20060102T150405Z"), id))
	f, err := os.CreateTemp(d.Path, ".alert-*.tmp")
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	_, err = f.Write(env.raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	d.Logger.InfoContext(ctx, "alert written", "to", m.To, "subject", m.Subject, "path", path)
	return nil
}
