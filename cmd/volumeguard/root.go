package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a command's exit code up to main.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// usageExitCode is what bad flags or arguments exit with, as `check` documents.
const usageExitCode = 2

// streams are where commands read and write, so tests can run them in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func run(ctx context.Context, args []string) (int, error) {
	root := newRootCommand(streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	asKubectlPlugin(root, os.Args[0])
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var exit exitError
	var stopped interrupted
	switch {
	case err == nil:
		// serve ends without error on SIGTERM: a graceful stop.
		return 0, nil
	case errors.As(context.Cause(ctx), &stopped):
		// Whatever the command made of it, a signal stopped it.
		return stopped.exitCode(), stopped
	case errors.As(err, &exit):
		return exit.code, nil
	}
	return usageExitCode, err
}

func newRootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "volumeguard",
		Short: "Find image-declared VOLUMEs that pods leave uncovered",
		Long: `volumeguard finds the VOLUME paths of container images that no volumeMount
of a pod covers. The container runtime gives each such path an anonymous volume
that escapes ephemeral-storage limits and can fill a node's disk or inodes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.AddCommand(
		newCheckCommand(s),
		newFixCommand(s),
		newAuditCommand(s),
		newInspectCommand(s),
		newServeCommand(s),
		newCertsCommand(s),
		newCopyUpCommand(s),
		newVersionCommand(s),
	)
	return root
}
