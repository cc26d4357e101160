// Package e2e runs the manager binary against a real kube-apiserver and the
// ECS emulator, and checks what a user sees through kubectl. The samples in
// config/samples must turn Ready, and their printer columns must show the
// counts that the emulator state in hack/demo/state.yaml implies. Invalid
// manifests must be rejected with the CRD's validation messages.
//
// It needs kubectl on PATH and KUBEBUILDER_ASSETS, which `make test` sets.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

const (
	account   = "111122223333"
	region    = "eu-west-1"
	cluster   = "orders"
	namespace = "e2e-samples"

	// kubectlTimeout bounds one kubectl call. It is longer than the
	// --timeout of kubectl wait, so that kubectl reports the timeout itself.
	kubectlTimeout = 100 * time.Second
	// statusDeadline bounds the wait for a protection change to show. The
	// orders-worker sample polls every 15s, plus up to 10% jitter.
	statusDeadline = 30 * time.Second
)

// Tasks of hack/demo/state.yaml.
const (
	protectedFor30m = "0a1b2c3d4e5f40718293a4b5c6d7e8f1"
	protectedFor2m  = "1b2c3d4e5f6a41829304b5c6d7e8f9a2"
	unprotected     = "2c3d4e5f6a7b42930415c6d7e8f9a0b3"
	standaloneTask  = "5f6a7b8c9d0e45263748f9a0b1c2d3e6"
	unknownTask     = "0123abcd4567ef890123abcd4567ef89"
)

func TestSamplesWithKubectl(t *testing.T) {
	kubectlPath, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl not found on PATH: install kubectl (any client from 1.32) to run the end-to-end test")
	}
	root := testenv.RepoRoot()

	// The build runs while the control plane starts, because both take
	// seconds.
	managerBuilt := make(chan error, 1)
	managerPath := filepath.Join(t.TempDir(), "manager")
	go func() { managerBuilt <- buildManager(root, managerPath) }()

	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	k := &kubectl{t: t, path: kubectlPath, kubeconfig: writeKubeconfig(t, env.Environment), cacheDir: t.TempDir()}

	// The emulator's clock does not move, so no protection of the state file
	// expires while the test runs, and expiry times are known exactly.
	start := time.Now().UTC().Truncate(time.Second)
	emulator := startEmulator(t, root, ecsemulator.NewFixedClock(start))
	server := httptest.NewServer(emulator)
	t.Cleanup(server.Close)

	if err := <-managerBuilt; err != nil {
		t.Fatal(err)
	}
	manager := startManager(t, managerPath, k.kubeconfig, server.URL)

	k.mustRun("create", "namespace", namespace)
	k.mustRun("apply", "-k", filepath.Join(root, "config", "samples"), "-n", namespace)
	if _, stderr, err := k.run("wait", "--for=condition=Ready", "tpw", "--all", "-n", namespace, "--timeout=90s"); err != nil {
		t.Fatalf("kubectl wait for Ready failed: %v\n%s\nmanager output:\n%s", err, stderr, manager.output())
	}

	t.Run("columns", func(t *testing.T) {
		rows := parseTable(t, k.mustRun("get", "tpw", "-n", namespace))
		// The earliest expiries are those of task 1b2c… (2 minutes) and of
		// the old-format task (5 minutes) in hack/demo/state.yaml.
		want := map[string]map[string]string{
			"orders-worker": {
				"CLUSTER":     "orders",
				"TASKS":       "4",
				"PROTECTED":   "2",
				"FAILURES":    "0",
				"NEXT EXPIRY": start.Add(2 * time.Minute).Format(time.RFC3339),
				"READY":       "True",
			},
			"orders-mixed": {
				"CLUSTER":     "arn:aws:ecs:eu-west-1:111122223333:cluster/orders",
				"TASKS":       "4",
				"PROTECTED":   "2",
				"FAILURES":    "2",
				"NEXT EXPIRY": start.Add(5 * time.Minute).Format(time.RFC3339),
				"READY":       "True",
			},
		}
		checkRows(t, rows, want)
	})

	t.Run("wide reason", func(t *testing.T) {
		rows := parseTable(t, k.mustRun("get", "tpw", "-n", namespace, "-o", "wide"))
		checkRows(t, rows, map[string]map[string]string{
			"orders-worker": {"REASON": "PollSucceeded"},
			"orders-mixed":  {"REASON": "PollSucceeded"},
		})
	})

	t.Run("failure reasons", func(t *testing.T) {
		got := k.mustRun("get", "tpw", "orders-mixed", "-n", namespace,
			"-o", `jsonpath={range .status.failures[*]}{.arn}={.reason}{"\n"}{end}`)
		want := standaloneTask + "=TASK_NOT_VALID\n" + unknownTask + "=MISSING\n"
		if got != want {
			t.Errorf("orders-mixed failures:\ngot  %q\nwant %q", got, want)
		}
	})

	t.Run("next expiration time", func(t *testing.T) {
		got := k.mustRun("get", "tpw", "orders-worker", "-n", namespace, "-o", "jsonpath={.status.nextExpirationTime}")
		if want := start.Add(2 * time.Minute).Format(time.RFC3339); got != want {
			t.Errorf("orders-worker nextExpirationTime = %q, want %q (task %s, protected for 2 minutes)", got, want, protectedFor2m)
		}
	})

	// The change is made here and checked last, so that the wait for the next
	// poll overlaps the validation checks.
	if err := emulator.SetProtection(region, cluster, []string{unprotected}, true, time.Minute); err != nil {
		t.Fatalf("SetProtection on %s: %v", unprotected, err)
	}

	t.Run("invalid manifests rejected", func(t *testing.T) {
		tests := []struct {
			name     string
			interval string
			task     string
			message  string
		}{
			{
				name:     "interval below 10s",
				interval: "5s",
				task:     protectedFor30m,
				message:  "interval 5s is out of range",
			},
			{
				name:     "upper-case task ID",
				interval: "30s",
				task:     strings.ToUpper(protectedFor30m),
				message:  "task " + strings.ToUpper(protectedFor30m) + " is not a task ID or task ARN",
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				name := "rejected-" + strings.ReplaceAll(strings.ToLower(tt.name), " ", "-")
				manifest := fmt.Sprintf(`apiVersion: ecs.taskprotection.io/v1alpha1
kind: TaskProtectionWatch
metadata:
  name: %s
spec:
  cluster: orders
  region: eu-west-1
  interval: %s
  tasks:
  - %s
`, name, tt.interval, tt.task)
				_, stderr, err := k.runWithInput(manifest, "apply", "-f", "-", "-n", namespace)
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
					t.Fatalf("kubectl apply of an invalid manifest: err = %v, want a non-zero exit code", err)
				}
				if !strings.Contains(stderr, tt.message) {
					t.Errorf("kubectl stderr = %q, want it to contain %q", stderr, tt.message)
				}
				if _, _, err := k.run("get", "tpw", name, "-n", namespace); err == nil {
					t.Errorf("rejected watch %s exists", name)
				}
			})
		}
	})

	t.Run("protection change", func(t *testing.T) {
		deadline := time.Now().Add(statusDeadline)
		var got string
		for {
			got = k.mustRun("get", "tpw", "orders-worker", "-n", namespace, "-o", "jsonpath={.status.protectedCount}")
			if got == "3" || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if got != "3" {
			t.Fatalf("orders-worker protectedCount = %q %s after enabling protection on %s, want 3\nmanager output:\n%s",
				got, statusDeadline, unprotected, manager.output())
		}
		rows := parseTable(t, k.mustRun("get", "tpw", "orders-worker", "-n", namespace))
		checkRows(t, rows, map[string]map[string]string{"orders-worker": {"PROTECTED": "3"}})
	})

	manager.stop(t)
}

// buildManager builds the manager from the repository root into path.
func buildManager(root, path string) error {
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of the manager failed: %w\n%s", err, output)
	}
	return nil
}

// writeKubeconfig writes a kubeconfig for a system:masters user, as kubectl
// reads it.
func writeKubeconfig(t *testing.T, environment *envtest.Environment) string {
	t.Helper()
	user, err := environment.AddUser(envtest.User{Name: "e2e", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("adding a kubectl user: %v", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("rendering the kubeconfig: %v", err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startEmulator(t *testing.T, root string, clock *ecsemulator.Clock) *ecsemulator.Emulator {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "hack", "demo", "state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := ecsemulator.ParseState(data)
	if err != nil {
		t.Fatal(err)
	}
	emulator := ecsemulator.New(ecsemulator.Options{Account: account, DefaultRegion: region, Clock: clock})
	if err := emulator.LoadState(state); err != nil {
		t.Fatalf("loading hack/demo/state.yaml: %v", err)
	}
	return emulator
}

// managerProcess is the manager running as a child process.
type managerProcess struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // set before done closes
}

// startManager runs the manager with fake AWS credentials and no AWS
// configuration files, so that it reaches only the emulator. A cleanup kills
// it if the test ends early.
func startManager(t *testing.T, path, kubeconfig, ecsEndpoint string) *managerProcess {
	t.Helper()
	cmd := exec.Command(path,
		"--kubeconfig", kubeconfig,
		"--ecs-endpoint", ecsEndpoint,
		"--region", region,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "127.0.0.1:0",
		"--zap-log-level", "debug",
	)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID=e2e",
		"AWS_SECRET_ACCESS_KEY=e2e",
		"AWS_SESSION_TOKEN=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
	)
	m := &managerProcess{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the manager: %v", err)
	}
	go func() {
		m.err = cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			_ = cmd.Process.Kill()
			<-m.done
		}
		if t.Failed() {
			t.Logf("manager output:\n%s", m.output())
		}
	})
	return m
}

// stop sends SIGTERM and expects the manager to exit cleanly.
func (m *managerProcess) stop(t *testing.T) {
	t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("sending SIGTERM to the manager: %v", err)
		return
	}
	select {
	case <-m.done:
		if m.err != nil {
			t.Errorf("manager exit after SIGTERM: %v, want exit status 0", m.err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("manager did not exit within 30s of SIGTERM")
	}
}

func (m *managerProcess) output() string { return m.out.String() }

// syncBuffer is a bytes.Buffer that the process's output goroutines and the
// test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// kubectl runs the real kubectl against the test's control plane.
type kubectl struct {
	t          *testing.T
	path       string
	kubeconfig string
	// cacheDir keeps discovery results of this control plane apart from
	// ~/.kube/cache.
	cacheDir string
}

func (k *kubectl) run(args ...string) (stdout, stderr string, err error) {
	return k.runWithInput("", args...)
}

func (k *kubectl) runWithInput(input string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	args = append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir}, args...)
	cmd := exec.CommandContext(ctx, k.path, args...)
	cmd.Stdin = strings.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// mustRun returns kubectl's standard output and ends the test when kubectl
// fails.
func (k *kubectl) mustRun(args ...string) string {
	k.t.Helper()
	stdout, stderr, err := k.run(args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// headerPattern matches one column name of kubectl's table output. Names may
// contain single spaces ("NEXT EXPIRY"); columns are at least three spaces
// apart.
var headerPattern = regexp.MustCompile(`\S+( \S+)*`)

// parseTable reads kubectl's table output into one map per row from column
// name to cell. kubectl aligns every cell with the start of its header, so
// cells are cut at the header offsets, and an empty cell reads as "".
func parseTable(t *testing.T, output string) map[string]map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("kubectl printed no rows:\n%s", output)
	}
	header := lines[0]
	bounds := headerPattern.FindAllStringIndex(header, -1)
	rows := map[string]map[string]string{}
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, bound := range bounds {
			end := len(line)
			if i+1 < len(bounds) {
				end = min(bounds[i+1][0], len(line))
			}
			cell := ""
			if bound[0] < end {
				cell = strings.TrimSpace(line[bound[0]:end])
			}
			row[header[bound[0]:bound[1]]] = cell
		}
		rows[row["NAME"]] = row
	}
	return rows
}

// checkRows reports each expected cell that differs, one error per cell.
func checkRows(t *testing.T, rows, want map[string]map[string]string) {
	t.Helper()
	for name, cells := range want {
		row, ok := rows[name]
		if !ok {
			t.Errorf("kubectl printed no row for %s", name)
			continue
		}
		for column, value := range cells {
			if row[column] != value {
				t.Errorf("%s column %s = %q, want %q", name, column, row[column], value)
			}
		}
	}
}
