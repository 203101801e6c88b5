package main

import "syscall"

// sysProcAttr puts the webhook in a process group of its own, as envtest
// does with kube-apiserver and etcd, so that Ctrl-C reaches the demo alone
// and it stops everything in order; and kills it should the demo die
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
