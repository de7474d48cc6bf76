package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// superuser is the role initdb creates and latch connects as. Naming it
	// rather than taking the OS user's name keeps the DSN the same whether
	// latch runs as root (postgres runs as "postgres") or as a person.
	superuser = "latch"
	// database is the database latch keeps its data in.
	database = "latch"
	// port only names the socket file (.s.PGSQL.5432): nothing listens on TCP.
	port = 5432
	// startTimeout bounds how long Start waits for a previous server to go
	// away and the new one to accept connections.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a fast shutdown before Stop kills the server.
	stopTimeout = 30 * time.Second
	// maxSocketPath is the longest unix socket path: sun_path holds 108 bytes
	// including the terminating NUL.
	maxSocketPath = 107
)

// ClusterConfig says where a managed cluster lives and where its output goes.
type ClusterConfig struct {
	// Dir holds the cluster, for example <data-dir>/postgres. Start creates
	// it; the server's files go in Dir/data and its socket in Dir/run.
	Dir string
	// Logger receives the server's own log lines at debug level. Nil discards
	// them.
	Logger *slog.Logger
	// SharedBuffers is PostgreSQL's shared_buffers ("512MB"); empty means
	// an eighth of the machine's memory, between 128 MB and 2 GB.
	SharedBuffers string
}

// memorySettings sizes PostgreSQL for the machine instead of its defaults
// (128 MB of buffers, a checkpoint for every 1 GB of WAL), which at a
// million accounts put every index lookup through the kernel's cache and
// checkpointed every few seconds under load.
func memorySettings(sharedBuffers string) []string {
	total := int64(0)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb); err == nil {
			total = kb << 10
		}
	}
	if sharedBuffers == "" {
		mb := min(max(total/8>>20, 128), 2048)
		sharedBuffers = fmt.Sprintf("%dMB", mb)
	}
	cache := "4GB"
	if total > 0 {
		cache = fmt.Sprintf("%dMB", max(total/2>>20, 512))
	}
	return []string{"-c", "shared_buffers=" + sharedBuffers, "-c", "effective_cache_size=" + cache,
		"-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=15min", "-c", "checkpoint_completion_target=0.9"}
}

// Cluster is a PostgreSQL server that latch started as its child process.
type Cluster struct {
	socketDir string
	logger    *slog.Logger
	cmd       *exec.Cmd
	stderr    *logWriter
	done      chan struct{} // closed once the server has exited
	exitErr   error         // how it exited; read only after done is closed
	dsnFile   string        // published DSN to remove on Stop, if any
}

// Start runs the cluster in cfg.Dir, creating it first if needed, and returns
// once the server accepts connections and the latch database exists.
//
// The caller must make sure that no other process runs this cluster (see
// Lock): postgres would refuse, or, while an old server is still exiting,
// Start would wait for it.
//
// The server trusts every local connection, which is safe only because it
// listens on no TCP address at all, and its unix socket lives in a 0700
// directory with 0700 permissions, reachable by the server's own user alone
// (and by root). When latch runs as root, initdb refuses to run, so both
// programs run as the postgres system user.
func Start(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cred); err != nil {
		return nil, err
	}
	socketDir, err := prepareSocketDir(dir, cred)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	bin, err := binariesFor(dataDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		if err := initdb(ctx, bin, dir, dataDir, cred); err != nil {
			return nil, err
		}
		logger.Info("created PostgreSQL cluster", "dir", dataDir)
	}

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := waitForOldServer(ctx, dataDir); err != nil {
		return nil, err
	}
	c := &Cluster{
		socketDir: socketDir,
		logger:    logger,
		stderr:    &logWriter{logger: logger},
		done:      make(chan struct{}),
	}
	args := []string{"-D", dataDir,
		"-c", "listen_addresses=",
		"-c", `unix_socket_directories="` + socketDir + `"`,
		"-c", "unix_socket_permissions=0700",
		"-c", "fsync=on",
		"-c", "cluster_name=latch",
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), append(args, memorySettings(cfg.SharedBuffers)...)...)
	c.cmd.Dir = dir
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = serverProcAttr(cred)
	// Backends inherit stderr; should one outlive the server, Wait must not
	// block on the pipe forever.
	c.cmd.WaitDelay = 5 * time.Second
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		c.exitErr = c.cmd.Wait()
		close(c.done)
	}()
	if err := c.waitReady(ctx); err != nil {
		// The server that did not get ready goes; why it did not is the
		// error to report, not how it stopped.
		_ = c.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	logger.Debug("PostgreSQL started", "dir", dataDir, "socket", socketDir, "pid", c.cmd.Process.Pid)
	return c, nil
}

// DSN returns the pgx connection string for the latch database.
func (c *Cluster) DSN() string { return c.dsn(database) }

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteDSN(c.socketDir), port, superuser, db)
}

// Done is closed when the server has exited, whether stopped or crashed, so
// that a long-running latch can stop too instead of serving errors.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Stop shuts the server down with a fast shutdown (SIGINT: roll back open
// transactions, checkpoint, exit) and waits for it. If it has not exited when
// ctx ends or after 30 seconds, Stop kills its whole process group. It also
// withdraws the DSN that StartCluster published.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.dsnFile != "" {
		// Withdraw first, so no one attaches to a server that is going away.
		if err := os.Remove(c.dsnFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.logger.Warn("remove published DSN", "err", err)
		}
	}
	select {
	case <-c.done:
		return c.exited()
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	// The negative pid names the process group, which takes the backends
	// down along with the server.
	// An error means the group is gone already; <-c.done waits either way.
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
	return errors.New("postgres did not shut down in time and was killed")
}

// exited reports an exit that nobody asked for.
func (c *Cluster) exited() error {
	if c.exitErr == nil {
		return nil
	}
	return fmt.Errorf("postgres exited (%v): %s", c.exitErr, c.stderr.tail())
}

// waitReady polls the socket until the server accepts connections, then
// creates the latch database if it is missing.
func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		conn, err := connect(ctx, c.dsn("postgres"))
		if err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
			return createDatabase(ctx, conn)
		}
		lastErr = err
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited during start-up (%v): %s", c.exitErr, c.stderr.tail())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections: %v", lastErr)
		case <-tick.C:
		}
	}
}

// connect opens one connection, giving up after a second so that polling
// stays responsive.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

func createDatabase(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", database).Scan(&exists)
	if err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+database)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	return err
}

// initdb creates the cluster. Local connections are trusted (see Start) and
// TCP ones rejected, so that even a server started by hand with the default
// listen_addresses lets nobody in over the network. Checksums catch silent
// disk corruption; C.UTF-8 gives Unicode-aware lower() and upper() without
// depending on which locales the machine has generated.
//
// initdb works in a scratch directory that is renamed into place once it has
// succeeded, so that an initdb interrupted by a kill never leaves behind a
// half-made cluster that the next start would take for a real one.
func initdb(ctx context.Context, bin, dir, dataDir string, cred *syscall.Credential) error {
	scratch := dataDir + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", scratch,
		"-U", superuser,
		"--auth-local=trust",
		"--auth-host=reject",
		"--encoding=UTF8",
		"--locale=C.UTF-8",
		"--data-checksums",
	)
	cmd.Dir = dir
	cmd.SysProcAttr = serverProcAttr(cred)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb %s failed (%v): %s", dataDir, err, lastLines(string(out), tailLines))
	}
	return os.Rename(scratch, dataDir)
}

// waitForOldServer waits for the server of a previous owner to be gone. When
// latch is killed, its server gets a fast-shutdown signal and needs a moment
// to exit and be reaped; postgres refuses to start meanwhile.
func waitForOldServer(ctx context.Context, dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	// After a restart, the recorded pid may belong to latch itself or to
	// another program; then it is not worth waiting for, and postgres decides
	// on its own whether the pid file is stale.
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return nil
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) != "postgres" {
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// Signal 0 only asks whether the process exists.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		select {
		case <-ctx.Done():
			if isZombie(pid) {
				return fmt.Errorf("the previous PostgreSQL server (pid %d) on %s has exited but nobody reaped it, so PostgreSQL believes it still runs: run latch under an init that reaps orphans (docker run --init)", pid, dataDir)
			}
			return fmt.Errorf("a PostgreSQL server (pid %d) is still running on %s", pid, dataDir)
		case <-tick.C:
		}
	}
}

// isZombie reports whether pid has exited but not been reaped. The server of
// a killed latch is reparented to init, which reaps it when it gets to it
// (about a second later on this project's machines) or, in a container whose
// first process does not reap orphans, never; until then signals and
// PostgreSQL's own check still find it.
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain them.
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && strings.HasPrefix(string(b[i+1:]), " Z")
}

// socketDirFor returns where the server's socket goes: Dir/run, or, when that
// path would be too long for a unix socket, a directory under /tmp named
// after a hash of dir, so that every start of the same cluster finds it.
func socketDirFor(dir string) string {
	d := filepath.Join(dir, "run")
	if len(d)+len("/.s.PGSQL."+strconv.Itoa(port)) <= maxSocketPath {
		return d
	}
	sum := sha256.Sum256([]byte(dir))
	return "/tmp/latch-pg-" + hex.EncodeToString(sum[:8])
}

// quoteDSN quotes a value for a keyword/value connection string.
func quoteDSN(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// lastLines returns the last n non-empty lines of s on one line.
func lastLines(s string, n int) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
