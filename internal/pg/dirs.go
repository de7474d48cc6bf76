package pg

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// serverCredential returns the user to run initdb and postgres as: the
// postgres system user when latch runs as root, because both programs refuse
// to run as root, or nil to run them as latch's own user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("latch runs as root, so PostgreSQL must run as the postgres system user, which does not exist: install PostgreSQL or set --database-url")
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: gid %q: %w", u.Gid, err)
	}
	// Groups stays empty: the server gets no supplementary groups, which is
	// also what checkTraversable assumes.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDir creates the cluster directory, hands it to the server's user
// and checks that this user can reach it.
func prepareDir(dir string, cred *syscall.Credential) error {
	// Missing parents are made 0711 so that the server's user can pass
	// through them; see Lock.
	if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", dir, err)
	}
	return checkTraversable(dir, cred)
}

// checkTraversable makes sure the server's user may enter every directory
// above dir. Without this, postgres fails with a bare "permission denied",
// and the usual cause, root's 0700 home or temporary directories, is far
// from obvious.
func checkTraversable(dir string, cred *syscall.Credential) error {
	parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
	if err != nil {
		return err
	}
	for p := parent; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode().Perm()
		var bit os.FileMode = 0o001
		switch {
		case st.Uid == cred.Uid:
			bit = 0o100
		case st.Gid == cred.Gid:
			bit = 0o010
		}
		if mode&bit == 0 {
			return fmt.Errorf("PostgreSQL runs as the postgres user, who cannot enter %s (mode %04o, owner uid %d): allow it (chmod o+x %s) or choose another --data-dir", p, mode, st.Uid, p)
		}
		if p == "/" {
			return nil
		}
	}
}

// prepareSocketDir creates the directory for the server's socket, 0700 and
// owned by the server's user, and returns it. A directory under /tmp that
// already exists is used only if it has exactly that owner and mode: anyone
// may create names in /tmp, and whoever owns the directory could put their
// own socket there and receive latch's connections.
func prepareSocketDir(dir string, cred *syscall.Credential) (string, error) {
	sock := socketDirFor(dir)
	if strings.ContainsAny(sock, `",`) {
		// unix_socket_directories is a comma-separated list of optionally
		// double-quoted names; these characters cannot be expressed in it.
		return "", fmt.Errorf("PostgreSQL cannot use %s: its path contains a comma or double quote", dir)
	}
	uid := uint32(os.Geteuid())
	if cred != nil {
		uid = cred.Uid
	}
	err := os.Mkdir(sock, 0o700)
	switch {
	case err == nil:
		if cred != nil {
			if err := os.Chown(sock, int(cred.Uid), int(cred.Gid)); err != nil {
				return "", fmt.Errorf("give %s to the postgres user: %w", sock, err)
			}
		}
		return sock, nil
	case !errors.Is(err, os.ErrExist):
		return "", fmt.Errorf("create socket directory: %w", err)
	}
	fi, err := os.Lstat(sock)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || st.Uid != uid || fi.Mode().Perm() != 0o700 {
		return "", fmt.Errorf("socket directory %s must be a directory owned by uid %d with mode 0700: remove it", sock, uid)
	}
	return sock, nil
}
