package pg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// RestartPolicy bounds how hard a Supervisor tries to keep a crashing
// server up. A server that keeps dying (a full disk, a corrupt cluster, an
// operator's kill -9 in a loop) is not fixed by starting it again forever:
// past the limit latch gives up and exits non-zero, so that its own
// supervisor (systemd, Kubernetes) sees the failure and a person is told.
type RestartPolicy struct {
	// MaxStarts is how many start attempts Window allows.
	MaxStarts int
	Window    time.Duration
	// FirstBackoff is the wait before the first attempt after an exit; it
	// doubles with every attempt in the window, up to MaxBackoff.
	FirstBackoff, MaxBackoff time.Duration
}

// DefaultRestartPolicy allows 8 start attempts in 10 minutes, the waits
// between them growing from a quarter second to 8 seconds: about 30 seconds
// of trying after a crash that leaves the server unable to start, and room
// for a few unrelated crashes an hour.
var DefaultRestartPolicy = RestartPolicy{MaxStarts: 8, Window: 10 * time.Minute,
	FirstBackoff: 250 * time.Millisecond, MaxBackoff: 8 * time.Second}

// Supervisor keeps the managed cluster of a locked data directory running:
// when the server exits without being asked to (killed, crashed, stopped by
// someone else), it logs that and starts it again on the same socket, so
// that connection pools, which reconnect by themselves, find it back. The
// DSN never changes.
type Supervisor struct {
	lock   *DirLock
	logger *slog.Logger
	policy RestartPolicy

	mu      sync.Mutex
	cluster *Cluster
	starts  []time.Time // start attempts after a crash, within the window

	stop   chan struct{} // closed by Stop
	done   chan struct{} // closed when the watching goroutine returns
	failed chan error    // receives the reason once supervision gives up
	dsn    string
}

// Supervise starts the cluster of the locked data directory (see
// StartCluster) and watches it until Stop.
func (l *DirLock) Supervise(ctx context.Context, logger *slog.Logger, policy RestartPolicy) (*Supervisor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c, err := l.StartCluster(ctx, logger)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{lock: l, logger: logger, policy: policy, cluster: c, dsn: c.DSN(),
		stop: make(chan struct{}), done: make(chan struct{}), failed: make(chan error, 1)}
	go s.watch()
	return s, nil
}

// DSN is the cluster's connection string; it survives restarts.
func (s *Supervisor) DSN() string { return s.dsn }

// Failed receives one error, one line, when the server cannot be kept
// running: the caller should stop serving and exit non-zero.
func (s *Supervisor) Failed() <-chan error { return s.failed }

// PID is the process id of the running server (the postmaster), 0 while
// there is none. For tests that kill it.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cluster == nil {
		return 0
	}
	select {
	case <-s.cluster.done:
		return 0
	default:
	}
	return s.cluster.cmd.Process.Pid
}

// Stop ends supervision, then stops the server (see Cluster.Stop).
func (s *Supervisor) Stop(ctx context.Context) error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	c := s.cluster
	s.cluster = nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}

func (s *Supervisor) watch() {
	defer close(s.done)
	for {
		s.mu.Lock()
		c := s.cluster
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-c.done:
		}
		how := "exited"
		if c.exitErr != nil {
			how = c.exitErr.Error()
		}
		s.logger.Error("PostgreSQL stopped unexpectedly; restarting it", "pid", c.cmd.Process.Pid, "exit", how,
			"last_log", c.stderr.tail())
		// Withdraw the published DSN while there is no server behind it.
		// The server is dead already: how its remains stop changes nothing.
		_ = c.Stop(context.Background())
		next, err := s.restart(c)
		s.mu.Lock()
		s.cluster = next
		s.mu.Unlock()
		if err != nil {
			if !errors.Is(err, errStopped) {
				s.failed <- err
			}
			return
		}
		s.logger.Info("PostgreSQL is back", "pid", next.cmd.Process.Pid)
	}
}

var errStopped = errors.New("supervision stopped")

// restart starts the server again, with backoff, as long as the policy
// allows.
func (s *Supervisor) restart(old *Cluster) (*Cluster, error) {
	pgid := old.cmd.Process.Pid
	var lastErr error
	for {
		now := time.Now()
		kept := s.starts[:0]
		for _, t := range s.starts {
			if now.Sub(t) < s.policy.Window {
				kept = append(kept, t)
			}
		}
		s.starts = kept
		if len(s.starts) >= s.policy.MaxStarts {
			if lastErr == nil {
				lastErr = errors.New("it keeps stopping")
			}
			return nil, fmt.Errorf("PostgreSQL could not be kept running: %d restarts in %s, giving up: %s",
				len(s.starts), s.policy.Window, oneLine(lastErr))
		}
		wait := s.policy.FirstBackoff << len(s.starts)
		if wait > s.policy.MaxBackoff || wait <= 0 {
			wait = s.policy.MaxBackoff
		}
		s.starts = append(s.starts, now)
		select {
		case <-s.stop:
			return nil, errStopped
		case <-time.After(wait):
		}
		// Backends outlive a killed postmaster for a moment: each notices
		// the death at its next wait and exits (an in-flight query finishes
		// and is answered first). Whatever is still there after the backoff
		// is stuck, and PostgreSQL refuses to start while any of them holds
		// the old shared memory, so it goes. The negative pid is the old
		// server's process group (see serverProcAttr).
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // an error means none is left
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		c, err := s.lock.StartCluster(ctx, s.logger)
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-s.stop:
			return nil, errStopped
		default:
		}
		lastErr = err
		s.logger.Warn("PostgreSQL did not start again; retrying", "err", err)
	}
}
