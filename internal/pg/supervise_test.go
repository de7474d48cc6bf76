package pg

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSupervisorRestartsKilledServer: a SIGKILLed postmaster is started
// again on the same socket, the pool finds it by itself and the data is
// there; past the policy's limit supervision gives up with one line.
func TestSupervisorRestartsKilledServer(t *testing.T) {
	dataDir := filepath.Join(testDir(t), "data")
	lock, err := Lock(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	sup, err := lock.Supervise(t.Context(), logger, RestartPolicy{MaxStarts: 2, Window: time.Minute,
		FirstBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Stop(context.Background())
	ctx := t.Context()
	pool, err := Open(ctx, sup.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (v int); INSERT INTO t VALUES (42)`); err != nil {
		t.Fatal(err)
	}

	for round := 1; round <= 3; round++ {
		pid := sup.PID()
		if pid == 0 {
			t.Fatal("no server pid")
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if round == 3 {
			break // past MaxStarts
		}
		start := time.Now()
		waitFor(t, 30*time.Second, "the killed server was not started again", func() bool {
			var v int
			return sup.PID() != 0 && sup.PID() != pid && pool.QueryRow(ctx, `SELECT v FROM t`).Scan(&v) == nil && v == 42
		})
		t.Logf("round %d: back after %s", round, time.Since(start))
		if !strings.Contains(logs.String(), "PostgreSQL stopped unexpectedly; restarting it") {
			t.Errorf("the crash was not logged:\n%s", logs)
		}
		if _, err := os.Stat(filepath.Join(dataDir, dsnFileName)); err != nil {
			t.Errorf("the DSN was not published again: %v", err)
		}
	}
	select {
	case err := <-sup.Failed():
		if !strings.Contains(err.Error(), "PostgreSQL could not be kept running") || strings.Contains(err.Error(), "\n") {
			t.Errorf("failure = %q", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("supervision did not give up past its limit")
	}
	if err := sup.Stop(context.Background()); err != nil {
		t.Errorf("stop after giving up: %v", err)
	}
}

// TestSupervisorStopIsNoCrash: stopping is not mistaken for a crash.
func TestSupervisorStopIsNoCrash(t *testing.T) {
	lock, err := Lock(filepath.Join(testDir(t), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	logs := &syncBuffer{}
	sup, err := lock.Supervise(t.Context(), slog.New(slog.NewTextHandler(logs, nil)), DefaultRestartPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sup.Failed():
		t.Fatalf("stop reported a failure: %v", err)
	default:
	}
	if strings.Contains(logs.String(), "unexpectedly") {
		t.Errorf("a stop was logged as a crash:\n%s", logs)
	}
}
