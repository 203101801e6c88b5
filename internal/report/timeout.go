package report

import (
	"context"
	"fmt"
	"time"
)

// TimeoutError is the cause of what a run's overall timeout (check and
// audit --timeout) cut short: the problems of what was not read or
// analysed say it.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the overall timeout of %s expired", e.Timeout)
}

// Is makes a TimeoutError a context.DeadlineExceeded, as callers test.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
