package syncworker

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/log"
)

// The environment variables LoggerFromEnv reads.
const (
	// EnvLogFormat is "text" (default) or "json".
	EnvLogFormat = "LOG_FORMAT"
	// EnvLogLevel is "debug", "info" (default), "warn" or "error".
	EnvLogLevel = "LOG_LEVEL"
)

// NewLogger adapts a slog logger to Temporal's log.Logger, so that the SDK's messages
// share the worker's handler.
func NewLogger(logger *slog.Logger) log.Logger {
	return log.NewStructuredLogger(logger)
}

// NewSlogLogger returns a logger writing to w in format ("text", "json") at level
// ("debug", "info", …; "" is info).
func NewSlogLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if level = strings.TrimSpace(level); level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, level)
		}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("%s=%q: want text or json", EnvLogFormat, format)
	}
}

// LoggerFromEnv returns NewSlogLogger(w, $LOG_FORMAT, $LOG_LEVEL).
func LoggerFromEnv(w io.Writer) (*slog.Logger, error) {
	return NewSlogLogger(w, os.Getenv(EnvLogFormat), os.Getenv(EnvLogLevel))
}
