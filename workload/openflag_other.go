//go:build !unix

package workload

// openNonBlocking is a no-op where named pipes cannot replace a file.
const openNonBlocking = 0
