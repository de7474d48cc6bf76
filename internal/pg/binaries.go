package pg

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianRoot is where Debian and Ubuntu install the server programs of each
// PostgreSQL major version, one <version>/bin directory each. They are not on
// PATH there, which is why latch looks for them itself.
const debianRoot = "/usr/lib/postgresql"

// errNoBinaries is the one line people see when PostgreSQL is not installed.
var errNoBinaries = errors.New("PostgreSQL server programs (initdb, postgres) not found: install PostgreSQL or set --database-url")

// FindBinaries returns the directory that holds both initdb and postgres. It
// looks on PATH first, so that an operator can choose a build, then under
// /usr/lib/postgresql/*/bin, taking the highest major version.
func FindBinaries() (dir string, err error) {
	return findBinaries(debianRoot)
}

func findBinaries(root string) (string, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.Abs(p); err == nil {
			// initdb on PATH is often a symbolic link into the real bin
			// directory (here /usr/local/bin/initdb); prefer the directory it
			// points into, where postgres certainly sits next to it.
			if real, err := filepath.EvalSymlinks(p); err == nil {
				candidates = append(candidates, filepath.Dir(real))
			}
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	candidates = append(candidates, versionDirs(root)...)
	for _, dir := range candidates {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", errNoBinaries
}

// versionDirs lists root/<version>/bin, highest version first. Versions are
// compared as numbers so that 15 comes before 9.6.
func versionDirs(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	type version struct {
		parts []int
		dir   string
	}
	var versions []version
	for _, e := range entries {
		var parts []int
		for f := range strings.SplitSeq(e.Name(), ".") {
			n, err := strconv.Atoi(f)
			if err != nil {
				parts = nil
				break
			}
			parts = append(parts, n)
		}
		if parts != nil {
			versions = append(versions, version{parts, filepath.Join(root, e.Name(), "bin")})
		}
	}
	slices.SortFunc(versions, func(a, b version) int { return slices.Compare(b.parts, a.parts) })
	dirs := make([]string, len(versions))
	for i, v := range versions {
		dirs[i] = v.dir
	}
	return dirs
}

// hasServer reports whether dir holds executable initdb and postgres programs.
func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// binariesFor returns the server programs to run an existing cluster with:
// those of the cluster's own major version when Debian's layout has them,
// because a newer major version cannot open an older cluster's files, and
// installing a new PostgreSQL package leaves the old one beside it.
func binariesFor(dataDir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		v := strings.TrimSpace(string(b))
		if v != "" && strings.Trim(v, "0123456789.") == "" && hasServer(filepath.Join(debianRoot, v, "bin")) {
			return filepath.Join(debianRoot, v, "bin"), nil
		}
	}
	return FindBinaries()
}
