package pg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ownerEnv makes the test binary act as a latch that owns a data directory
// (see runOwner), so that tests can kill an owner without killing themselves.
const ownerEnv = "LATCH_PG_TEST_OWNER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(ownerEnv); dir != "" {
		os.Exit(runOwner(dir))
	}
	os.Exit(m.Run())
}

// runOwner takes dataDir with Attach, says "ready" on stdout, and holds on
// until its stdin closes.
func runOwner(dataDir string) int {
	ctx := context.Background()
	_, stop, err := Attach(ctx, dataDir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	if err := stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startOwner runs the test binary as the owner of dataDir and returns once
// its cluster is up.
func startOwner(t *testing.T, dataDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), ownerEnv+"="+dataDir)
	cmd.Stderr = os.Stderr
	// The owner must not outlive a test binary that crashes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("owner did not start: %q, %v", line, err)
	}
	return cmd
}

// testDir returns a new directory that the postgres user can pass through.
// t.TempDir is 0700 and, as root, in the way.
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "latch-pg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer is a bytes.Buffer the server's log goroutine may write to while
// the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startCluster(t *testing.T, dir string, logger *slog.Logger) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), ClusterConfig{Dir: dir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

func query[T any](t *testing.T, dsn, sql string) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v T
	if err := conn.QueryRow(t.Context(), sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// postmasterPID returns the pid of the server running the cluster in dir.
func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// parentPID reads a process's parent from /proc.
func parentPID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name in parentheses may hold spaces; the fields after it
	// are state, then ppid.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// waitGone waits for a process to exit and be reaped.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return
		}
	}
	t.Fatalf("process %d still exists", pid)
}

func TestFindBinaries(t *testing.T) {
	server := func(dirs ...string) string {
		root := t.TempDir()
		for _, d := range dirs {
			bin := filepath.Join(root, d, "bin")
			os.MkdirAll(bin, 0o755)
			for _, name := range []string{"initdb", "postgres"} {
				if d == "17" && name == "postgres" {
					continue // an incomplete installation
				}
				os.WriteFile(filepath.Join(bin, name), nil, 0o755)
			}
		}
		return root
	}
	tests := []struct {
		name string
		root string
		want string // relative to root; "" for not found
	}{
		{"highest complete version, compared as numbers", server("9.6", "15", "16", "17", "latest"), "16/bin"},
		{"one version", server("15"), "15/bin"},
		{"none", server(), ""},
		{"missing root", filepath.Join(t.TempDir(), "nothing"), ""},
	}
	t.Setenv("PATH", t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findBinaries(tt.root)
			if tt.want == "" {
				const msg = "PostgreSQL server programs (initdb, postgres) not found: install PostgreSQL or set --database-url"
				if err == nil || err.Error() != msg {
					t.Fatalf("findBinaries() = %q, %v; want error %q", got, err, msg)
				}
				return
			}
			if want := filepath.Join(tt.root, tt.want); got != want || err != nil {
				t.Fatalf("findBinaries() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestFindBinariesPrefersPath(t *testing.T) {
	// initdb on PATH as a symbolic link, as /usr/local/bin/initdb is on this
	// project's machines: the directory it points into wins.
	real := filepath.Join(t.TempDir(), "bin")
	os.Mkdir(real, 0o755)
	link := t.TempDir()
	for _, name := range []string{"initdb", "postgres"} {
		os.WriteFile(filepath.Join(real, name), nil, 0o755)
		os.Symlink(filepath.Join(real, name), filepath.Join(link, name))
	}
	t.Setenv("PATH", link)
	if got, err := findBinaries(filepath.Join(t.TempDir(), "nothing")); got != real || err != nil {
		t.Fatalf("findBinaries() = %q, %v; want %q", got, err, real)
	}
}

func TestClusterRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testDir(t), "postgres")
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	c := startCluster(t, dir, logger)
	conn, err := pgx.Connect(t.Context(), c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	// The server trusts local connections because nothing else can reach it.
	if got := query[string](t, c.DSN(), "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want none", got)
	}
	if got := query[string](t, c.DSN(), "SHOW unix_socket_permissions"); got != "0700" {
		t.Errorf("unix_socket_permissions = %q, want 0700", got)
	}
	if got := query[string](t, c.DSN(), "SHOW fsync"); got != "on" {
		t.Errorf("fsync = %q, want on", got)
	}
	if !strings.Contains(logs.String(), "ready to accept connections") {
		t.Errorf("server log not forwarded at debug level; got:\n%s", logs.String())
	}
	pid := postmasterPID(t, dir)
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)

	c = startCluster(t, dir, nil)
	if got := query[string](t, c.DSN(), "SELECT v FROM kept"); got != "hello" {
		t.Fatalf("after restart, kept = %q, want hello", got)
	}
}

func TestClusterLongDirPutsSocketInTmp(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testDir(t), strings.Repeat("d", 100), "postgres")
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, dir, nil)
	t.Cleanup(func() { os.RemoveAll(c.socketDir) })
	if !strings.HasPrefix(c.socketDir, "/tmp/latch-pg-") {
		t.Errorf("socket directory %s, want one under /tmp", c.socketDir)
	}
	if got := query[int](t, c.DSN(), "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
}

func TestStartNeedsTraversableParents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to the postgres user")
	}
	closed := filepath.Join(testDir(t), "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), ClusterConfig{Dir: filepath.Join(closed, "data", "postgres")})
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+closed+" ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Start() error = %v, want one line naming %s", err, closed)
	}
}

func TestLockInUse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testDir(t), "latch-data")
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(dir)
	want := fmt.Sprintf("latch is already running on %s (pid %d)", dir, os.Getpid())
	if !errors.Is(err, ErrInUse) || err.Error() != want {
		t.Fatalf("second Lock() error = %v, want %q wrapping ErrInUse", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l, err = Lock(dir)
	if err != nil {
		t.Fatalf("Lock() after Release: %v", err)
	}
	l.Release()
}

func TestAttachUsesRunningOwner(t *testing.T) {
	t.Parallel()
	dataDir := testDir(t)
	owner := startOwner(t, dataDir)

	dsn, stop, err := Attach(t.Context(), dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Attach took no lock and started no server: the one running is the
	// owner's child.
	_, err = Lock(dataDir)
	if want := fmt.Sprintf("(pid %d)", owner.Process.Pid); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Lock() = %v, want the owner %s to hold the directory", err, want)
	}
	if ppid := parentPID(t, postmasterPID(t, filepath.Join(dataDir, "postgres"))); ppid != owner.Process.Pid {
		t.Fatalf("server's parent is %d, want the owner %d", ppid, owner.Process.Pid)
	}
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Stopping an attachment leaves the owner's server running.
	if got := query[string](t, dsn, "SELECT current_database()"); got != "latch" {
		t.Fatalf("current_database() = %q, want latch", got)
	}
}

func TestAttachAfterOwnerKilled(t *testing.T) {
	t.Parallel()
	dataDir := testDir(t)
	owner := startOwner(t, dataDir)
	oldServer := postmasterPID(t, filepath.Join(dataDir, "postgres"))

	// kill -9 leaves a stale postmaster.pid and postgres.dsn, and a server
	// that is still shutting down when the next latch starts.
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	dsn, stop, err := Attach(t.Context(), dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The killed latch's server died with it.
	waitGone(t, oldServer)
	if ppid := parentPID(t, postmasterPID(t, filepath.Join(dataDir, "postgres"))); ppid != os.Getpid() {
		t.Fatalf("server's parent is %d, want this process %d", ppid, os.Getpid())
	}
	if got := query[int](t, dsn, "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, dsnFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("published DSN left behind after stop: %v", err)
	}
	l, err := Lock(dataDir)
	if err != nil {
		t.Fatalf("Lock() after stop: %v", err)
	}
	l.Release()
}

func TestIsZombie(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(10 * time.Second); !isZombie(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("exited child %d never seen as a zombie", pid)
		}
	}
	cmd.Wait()
	if isZombie(pid) {
		t.Fatalf("reaped child %d seen as a zombie", pid)
	}
	if isZombie(os.Getpid()) {
		t.Fatal("this running process seen as a zombie")
	}
}

func TestOpenErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, prefix string
	}{
		{"unreachable", "host=" + filepath.Join(t.TempDir(), "nothing") + " user=latch dbname=latch", "database unreachable: "},
		{"invalid", "postgres://%zz", "database URL invalid: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.dsn)
			if err == nil || !strings.HasPrefix(err.Error(), tt.prefix) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Open() error = %v, want one line starting %q", err, tt.prefix)
			}
		})
	}
}
