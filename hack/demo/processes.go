package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// managerStopTimeout bounds how long the manager may take to shut down after
// SIGTERM before it is killed.
const managerStopTimeout = 15 * time.Second

var outputMu sync.Mutex

// printLine prints each line of the message after a source prefix such as
// "manager", so that interleaved output of the parts stays readable.
func printLine(source, format string, args ...any) {
	outputMu.Lock()
	defer outputMu.Unlock()
	for line := range strings.SplitSeq(fmt.Sprintf(format, args...), "\n") {
		fmt.Fprintf(os.Stdout, "%-8s | %s\n", source, line)
	}
}

// lineWriter passes a child process's output to printLine line by line.
type lineWriter struct {
	source  string
	mu      sync.Mutex
	pending []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			return len(p), nil
		}
		printLine(w.source, "%s", w.pending[:i])
		w.pending = w.pending[i+1:]
	}
}

// flush prints a last line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		printLine(w.source, "%s", w.pending)
		w.pending = nil
	}
}

// runPrefixed runs cmd to completion with its output prefixed by source.
func runPrefixed(cmd *exec.Cmd, source string) error {
	out := &lineWriter{source: source}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.flush()
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return nil
}

// ownProcessGroup puts cmd in a process group of its own, so that Ctrl-C in
// the terminal reaches only the demo, which then stops its children in
// order. A cancelled context signals the whole group, the build script's
// go build included.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
}

// buildControlPlane runs hack/build-control-plane.sh, whose progress goes to
// standard error, and returns the folder it prints as its last line.
func buildControlPlane(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "./hack/build-control-plane.sh")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	ownProcessGroup(cmd)
	output, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-control-plane.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(output)), "\n")
	assets := strings.TrimSpace(lines[len(lines)-1])
	if _, err := os.Stat(assets); err != nil {
		return "", fmt.Errorf("hack/build-control-plane.sh printed %q, which is not a folder: %w", assets, err)
	}
	return assets, nil
}

// buildManager builds the manager binary unless it exists. `make demo`
// builds it fresh before the demo starts.
func buildManager(ctx context.Context, root, path string) error {
	if _, err := os.Stat(path); err == nil {
		printLine("demo", "using %s (make build rebuilds it)", path)
		return nil
	}
	printLine("demo", "building %s", path)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, ".")
	cmd.Dir = root
	ownProcessGroup(cmd)
	return runPrefixed(cmd, "go")
}

// managerProcess is the running manager.
type managerProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

// startManager runs the manager against the local control plane and the
// emulator, with fake AWS credentials and the user's AWS configuration files
// hidden, so that nothing reaches AWS or instance metadata.
func startManager(path, kubeconfig, ecsEndpoint string) (*managerProcess, error) {
	cmd := exec.Command(path,
		"--kubeconfig", kubeconfig,
		"--ecs-endpoint", ecsEndpoint,
		"--region", region,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "127.0.0.1:0",
		"--zap-encoder", "console",
	)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID=demo",
		"AWS_SECRET_ACCESS_KEY=demo",
		"AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
	)
	out := &lineWriter{source: "manager"}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}

	c := &managerProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		if c.err == nil {
			c.err = errors.New("exit status 0")
		}
		out.flush()
		close(c.done)
	}()
	return c, nil
}

// stop sends SIGTERM to the manager's process group and waits for it to
// exit, killing it after managerStopTimeout.
func (c *managerProcess) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	printLine("demo", "stopping the manager (pid %d)", c.cmd.Process.Pid)
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(managerStopTimeout):
		printLine("demo", "the manager did not stop within %s; killing it", managerStopTimeout)
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}
