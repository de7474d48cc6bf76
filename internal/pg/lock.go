package pg

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrInUse means that another latch process owns the data directory.
var ErrInUse = errors.New("data directory in use")

// inUseError names the data directory and the process that holds it, so that
// the person who started a second latch sees which one is in the way.
type inUseError struct {
	dir string
	pid int // 0 when the owner has not written its pid yet
}

func (e *inUseError) Error() string {
	if e.pid == 0 {
		return fmt.Sprintf("latch is already running on %s", e.dir)
	}
	return fmt.Sprintf("latch is already running on %s (pid %d)", e.dir, e.pid)
}

func (e *inUseError) Unwrap() error { return ErrInUse }

// DirLock is the exclusive ownership of a data directory by this process.
//
// It is an flock(2) on <data-dir>/latch.lock rather than a pid file because
// the kernel drops it when the process dies, even by SIGKILL, so a crash never
// leaves a stale lock behind. The descriptor is opened close-on-exec (as Go
// always does), so the postgres child does not inherit the lock and keep it
// after latch is gone.
type DirLock struct {
	dir  string
	file *os.File
}

// Lock takes the data directory dataDir for this process, creating it if
// needed, and writes the pid into the lock file for the benefit of the error
// message others get. If another process holds it, the error wraps ErrInUse
// and reads like "latch is already running on ./latch-data (pid 1234)".
//
// A new data directory is made 0711: others may pass through it but not list
// it. That lets the postgres system user reach <data-dir>/postgres when latch
// runs as root, while each file inside keeps its own restrictive mode.
func Lock(dataDir string) (*DirLock, error) {
	if err := os.MkdirAll(dataDir, 0o711); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "latch.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			// The holder's pid only makes the message clearer: 0 when the
			// file cannot be read.
			b, _ := io.ReadAll(f)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &inUseError{dir: dataDir, pid: pid}
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dataDir, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock file: %w", err)
	}
	return &DirLock{dir: dataDir, file: f}, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// Release gives the data directory up. The lock file stays: removing it would
// let a process that opened it just before the removal lock a file nobody else
// can see anymore, and two latches would then own the directory.
func (l *DirLock) Release() error {
	// Emptying the file first means nobody reads our pid after we are gone.
	// The explicit unlock matters: a child forked meanwhile (starting
	// postgres, say) briefly shares the open file description until its
	// exec closes it, and closing our descriptor alone would leave the
	// lock held through that copy.
	return errors.Join(l.file.Truncate(0), syscall.Flock(int(l.file.Fd()), syscall.LOCK_UN), l.file.Close())
}
