// Command volumeguard finds image-declared volumes that pods leave uncovered:
// in CI (check), at admission (serve) and in running clusters (audit).
package main

import (
	"fmt"
	"os"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signalContext()
	code, err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "volumeguard:", err)
	}
	os.Exit(code)
}
