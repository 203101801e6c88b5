//go:build unix

package workload

import "syscall"

// openNonBlocking makes opening a named pipe return at once rather than
// wait for a writer; regular files ignore it.
const openNonBlocking = syscall.O_NONBLOCK
