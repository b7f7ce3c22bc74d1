package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/syncworker"
)

// workerPollingLine is what the worker logs once it polls its task queue.
const workerPollingLine = "worker polling"

// workerEnv is the environment of a worker process polling taskQueue on tsrv
// and writing to databaseURL, with the token in tokenEnv, plus extra
// ("NAME=value") variables, which win.
func workerEnv(tsrv *testsuite.DevServer, taskQueue, databaseURL, tokenEnv, token string, extra ...string) []string {
	return append([]string{
		"TEMPORAL_ADDRESS=" + tsrv.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		syncworker.EnvDatabaseURL + "=" + databaseURL,
		syncworker.EnvTaskQueue + "=" + taskQueue,
		syncworker.EnvLogFormat + "=text",
		syncworker.EnvLogLevel + "=info",
		tokenEnv + "=" + token,
	}, extra...)
}

// startPollingWorker starts the worker command bin with env and waits until it
// logs that it polls (at most a minute); it fails tb if the worker exits first.
func startPollingWorker(tb testing.TB, bin string, env []string) *workerProc {
	tb.Helper()
	p := startWorkerProcess(tb, bin, env)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.output.String(), workerPollingLine) {
		if p.exited() {
			tb.Fatalf("the worker process exited before polling:\n%s", tail(p.output.String(), 40))
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the worker process did not poll within a minute:\n%s", tail(p.output.String(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// memoryKB returns a process's peak resident set size (VmHWM) and current one
// (VmRSS), in KiB, from /proc/<pid>/status.
func memoryKB(pid int) (peak, current int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		fields := strings.Fields(value) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, 0, fmt.Errorf("process %d: unexpected %s line %q", pid, name, sc.Text())
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("process %d: %s: %w", pid, name, err)
		}
		if name == "VmHWM" {
			peak = n
		} else {
			current = n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	if peak == 0 {
		return 0, 0, fmt.Errorf("process %d: no VmHWM in /proc/%d/status", pid, pid)
	}
	return peak, current, nil
}
