package pg

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// tailLines is how many of the server's last lines an error quotes.
const tailLines = 5

// logWriter receives the server's stderr. It forwards each line to the
// logger at debug level, where it is there when needed and quiet otherwise,
// and remembers the last few lines, because when the server fails to start
// they are the explanation.
type logWriter struct {
	logger *slog.Logger

	mu      sync.Mutex
	partial []byte
	last    []string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
		if line == "" {
			continue
		}
		w.logger.Debug(line, "component", "postgres")
		w.last = append(w.last, line)
		if len(w.last) > tailLines {
			w.last = w.last[1:]
		}
	}
	return len(p), nil
}

// tail returns the last lines on one line.
func (w *logWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, " | ")
}
