package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger writes JSON lines to w at level (--log-level).
func newLogger(level string, w io.Writer) (logr.Logger, error) {
	lvl, err := parseLogLevel(level)
	if err != nil {
		return logr.Discard(), err
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zapr.NewLogger(zap.New(core)), nil
}

// parseLogLevel reads debug, info, warn or error, or a number N for logr's
// V(N) verbosity (0 is info, 1 is debug).
func parseLogLevel(s string) (zapcore.Level, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 127 {
			return 0, fmt.Errorf("verbosity %d: want 0 to 127", n)
		}
		return zapcore.Level(-n), nil
	}
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(s))); err != nil || l > zapcore.ErrorLevel {
		return 0, fmt.Errorf("%q: want debug, info, warn, error or a verbosity number", s)
	}
	return l, nil
}
