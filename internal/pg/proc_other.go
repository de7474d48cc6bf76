//go:build unix && !linux

package pg

import "syscall"

// serverProcAttr runs a server program as cred (nil: as latch's own user) in
// a process group of its own. Only Linux can tie the server's life to latch's
// (see proc_linux.go); elsewhere a killed latch leaves its server running
// until the next start finds and waits for it.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: cred,
	}
}
