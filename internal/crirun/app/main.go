// Command app is the only program in crirun's images, built static: the
// sandbox (pause) container and the test containers run it.
//
//	app                wait for SIGTERM or SIGINT, then exit 0
//	app tree DIR...    print each DIR's tree (fstree.List) as one JSON object
//	                   keyed by DIR: what the container sees
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/volumeguard/volumeguard/internal/crirun/fstree"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "tree" {
		if err := printTrees(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// PID 1 gets no default signal handling: without this, stopping the
	// container would wait for the runtime's SIGKILL.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

func printTrees(dirs []string) error {
	trees := map[string][]fstree.Entry{}
	for _, dir := range dirs {
		entries, err := fstree.List(dir)
		if err != nil {
			return err
		}
		trees[dir] = entries
	}
	return json.NewEncoder(os.Stdout).Encode(trees)
}
