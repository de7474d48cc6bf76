package pg

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pausableProxy forwards a unix socket to another and can stop forwarding
// without closing anything: a network that silently drops packets.
type pausableProxy struct {
	mu     sync.Mutex
	paused chan struct{} // non-nil while paused; closed on resume
}

func (p *pausableProxy) gate() {
	p.mu.Lock()
	ch := p.paused
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (p *pausableProxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
}

func (p *pausableProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

func (p *pausableProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.gate()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func startProxy(t *testing.T, target string) (*pausableProxy, string) {
	t.Helper()
	dir := testDir(t)
	ln, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &pausableProxy{}
	t.Cleanup(p.resume)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s, err := net.Dial("unix", target)
				if err != nil {
					c.Close()
					return
				}
				go p.pipe(s, c)
				p.pipe(c, s)
			}()
		}
	}()
	return p, dir
}

// TestListenerNoticesSilentConnection: when the path to the server stops
// carrying packets without any error, the listener's ping notices within
// PingEvery+PingTimeout, reports the connection down, and listens again
// once the path is back.
func TestListenerNoticesSilentConnection(t *testing.T) {
	c := startCluster(t, filepath.Join(testDir(t), "pg"), nil)
	proxy, dir := startProxy(t, filepath.Join(c.socketDir, ".s.PGSQL.5432"))
	ctx := t.Context()
	pool, err := Open(ctx, "host="+quoteDSN(dir)+" port=5432 user="+superuser+" dbname=postgres sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	up, down, notes := make(chan struct{}, 8), make(chan error, 8), make(chan string, 8)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Listener{DB: pool, Channel: "latch_test", Name: "latch-test-listener",
			PingEvery: 200 * time.Millisecond, PingTimeout: 300 * time.Millisecond,
			OnUp:     func() { up <- struct{}{} },
			OnDown:   func(err error) { down <- err },
			OnNotify: func(p string) { notes <- p },
		}.Run(lctx)
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener never listened")
	}
	// Quiet but healthy: pings pass, nothing goes down.
	select {
	case err := <-down:
		t.Fatalf("a healthy quiet connection went down: %v", err)
	case <-time.After(time.Second):
	}

	proxy.pause()
	start := time.Now()
	select {
	case err := <-down:
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the silent connection was noticed after %s", took)
		}
		if err == nil || !strings.Contains(err.Error(), "ping") {
			t.Errorf("down because %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the listener did not notice the silent connection")
	}
	proxy.resume()
	select {
	case <-up:
	case <-time.After(15 * time.Second):
		t.Fatal("the listener did not listen again once the path was back")
	}
	direct, err := Open(ctx, c.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, err := direct.Exec(ctx, `SELECT pg_notify('latch_test', 'hello')`); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-notes:
		if p != "hello" {
			t.Errorf("notification %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after coming back")
	}
}
