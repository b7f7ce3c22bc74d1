package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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
		syncworker.EnvAllowedBaseURLs + "=*",
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

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuTime returns the CPU time (user and system) process pid has used, from
// /proc/<pid>/stat; pid 0 means this process.
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read the CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: the fields after it
	// start at state (field 3); utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%s: too few fields", path)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// childPIDs returns the pids of this process's children whose command name
// (/proc/<pid>/stat's comm) is comm: the Temporal dev server is "temporal".
func childPIDs(comm string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range dirs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:]) // state, ppid, ...
		if len(fields) < 2 || s[open+1:closing] != comm || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(s[:open])); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// childrenCPU is the CPU time used so far by this process's children named
// comm (0 when there are none).
func childrenCPU(comm string) time.Duration {
	var total time.Duration
	for _, pid := range childPIDs(comm) {
		if d, err := cpuTime(pid); err == nil {
			total += d
		}
	}
	return total
}
