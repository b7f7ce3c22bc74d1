package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// buildWorker builds the worker command into t's temporary directory.
func buildWorker(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command("go", "build", "-o", bin, "./worker")
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./worker: %v\n%s", err, out)
	}
	return bin
}

// workerProc is the worker command running as a process.
type workerProc struct {
	cmd    *exec.Cmd
	output *testenv.Buffer // stdout and stderr
	done   chan struct{}
}

// startWorkerProcess starts the worker command with env added to the test's
// environment. It is killed when t ends if still running.
func startWorkerProcess(t testing.TB, bin string, env []string) *workerProc {
	t.Helper()
	p := &workerProc{output: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.output
	p.cmd.Stderr = p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the worker process: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("worker process %d output (tail):\n%s", p.cmd.Process.Pid, tail(p.output.String(), 40))
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *workerProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill the worker: %v", err)
	}
	<-p.done
}

// stop ends a running process gracefully (SIGTERM), then by SIGKILL.
func (p *workerProc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Logf("worker process did not stop on SIGINT; killing it")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited tells whether the process has ended.
func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
