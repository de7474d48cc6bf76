package pg

import "syscall"

// serverProcAttr runs a server program as cred (nil: as latch's own user) in
// a process group of its own, so that a Ctrl-C in the terminal reaches latch
// alone and latch decides how the server stops.
//
// Pdeathsig makes the kernel send the server SIGINT, PostgreSQL's fast
// shutdown, when latch dies, however it dies: a server started with pg_ctl
// would outlive a killed latch and hold the data directory. (SIGTERM would be
// a smart shutdown that waits for clients; SIGQUIT an immediate one that
// skips the checkpoint.) The kernel clears this setting on a change of user,
// but Go sets it after switching to cred, so it holds.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGINT,
		Credential: cred,
	}
}
