package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// envCPUProfile names a file the worker writes a CPU profile of its whole run to, for
// finding where a benchmark's worker spends its time (docs/benchmarks.md); unset, none.
const envCPUProfile = "WORKER_CPUPROFILE"

// startCPUProfile starts the profile that envCPUProfile asks for and returns what stops
// and writes it; a no-op when the variable is unset.
func startCPUProfile() (stop func(), err error) {
	path := os.Getenv(envCPUProfile)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
