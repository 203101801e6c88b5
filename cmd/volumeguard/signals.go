package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// interrupted is the cause of the context of a command stopped by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string {
	switch e.sig {
	case os.Interrupt:
		return "interrupted (SIGINT)"
	case syscall.SIGTERM:
		return "terminated (SIGTERM)"
	}
	return "stopped by " + e.sig.String()
}

// exitCode is the shell's code for a process killed by the signal, 128+n:
// 130 for SIGINT, 143 for SIGTERM, so that a pipeline or CI job sees why.
func (e interrupted) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return usageExitCode
}

// signalContext is cancelled by the first SIGINT or SIGTERM, with an
// interrupted cause. The next one gets the default action and kills the
// process: a second Ctrl-C means it, whatever the command is blocked on.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-signals:
			signal.Stop(signals)
			cancel(interrupted{sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		cancel(nil)
	}
}
