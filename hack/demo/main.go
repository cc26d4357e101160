// Command demo runs the controller the way `make demo` shows it. It builds
// kube-apiserver and etcd and starts them as a local control plane with the
// CRD installed. It serves the ECS emulator with the cluster in
// hack/demo/state.yaml, applies config/samples with kubectl and runs
// bin/manager against both. A goroutine changes task protections on a
// schedule, so the watches' status moves while you look. SIGINT or SIGTERM
// stops everything the demo started.
//
// Run it from the repository root with `make demo`, which passes DEMO_FLAGS
// on, or with go run ./hack/demo [--ecs-addr HOST:PORT].
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

const (
	// account and region are those of the ARNs in config/samples.
	account = "111122223333"
	region  = "eu-west-1"

	// sampleNamespace is where the demo applies the samples, which name no
	// namespace.
	sampleNamespace = "default"

	// readyTimeout bounds the wait for the first successful polls. The demo
	// keeps running after it, because the manager's log shows the cause.
	readyTimeout = 60 * time.Second

	// controlPlaneStopTimeout bounds the wait for each of kube-apiserver and
	// etcd to exit after SIGTERM. envtest kills the process when it passes.
	controlPlaneStopTimeout = 10 * time.Second
)

type config struct {
	ecsAddr     string
	statePath   string
	changeEvery time.Duration
}

func main() {
	cfg := config{}
	flag.StringVar(&cfg.ecsAddr, "ecs-addr", "127.0.0.1:4566",
		"Loopback address (host:port) the ECS emulator listens on.")
	flag.StringVar(&cfg.statePath, "state", filepath.Join("hack", "demo", "state.yaml"),
		"ECS emulator state file, relative to the repository root unless absolute.")
	flag.DurationVar(&cfg.changeEvery, "change-every", 25*time.Second,
		"Time between two protection changes, as a duration such as 25s.")
	flag.Parse()
	// envtest logs through controller-runtime's logger.
	ctrllog.SetLogger(zap.New(zap.WriteTo(&lineWriter{source: "envtest"}), zap.ConsoleEncoder()))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg)
	switch {
	case err != nil && ctx.Err() != nil:
		printLine("demo", "interrupted before the demo was running: %v", err)
		os.Exit(130)
	case err != nil:
		printLine("demo", "FAILED: %v", err)
		os.Exit(1)
	}
	printLine("demo", "stopped")
}

// run starts every part in order and waits for a signal. Each failure names
// its step. The deferred stops run in reverse order, so the manager stops
// before the emulator and the control plane it talks to.
func run(ctx context.Context, cfg config) error {
	if cfg.changeEvery <= 0 {
		return fmt.Errorf("invalid --change-every %s: use a positive duration such as 25s", cfg.changeEvery)
	}
	if err := checkLoopback(cfg.ecsAddr); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(cfg.statePath) {
		cfg.statePath = filepath.Join(root, cfg.statePath)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return errors.New("kubectl not found on PATH: install kubectl, which the demo uses to apply the samples")
	}

	var stops []func()
	defer func() {
		printLine("demo", "stopping")
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	printLine("demo", "step 1/6: build kube-apiserver and etcd (about 10 minutes the first time) and the manager")
	assets, err := buildControlPlane(ctx, root)
	if err != nil {
		return fmt.Errorf("build the control plane: %w", err)
	}
	manager := filepath.Join(root, "bin", "manager")
	if err := buildManager(ctx, root, manager); err != nil {
		return fmt.Errorf("build the manager: %w", err)
	}

	// The emulator starts first, so that a port in use fails the demo before
	// the control plane takes its seconds to start.
	printLine("demo", "step 2/6: start the ECS emulator on %s with %s", cfg.ecsAddr, cfg.statePath)
	emulator, err := startEmulator(cfg.ecsAddr, cfg.statePath)
	if err != nil {
		return fmt.Errorf("start the ECS emulator: %w", err)
	}
	stops = append(stops, emulator.stop)

	printLine("demo", "step 3/6: start the control plane from %s", assets)
	kubeconfig := filepath.Join(root, "bin", "demo", "kubeconfig")
	stopControlPlane, err := startControlPlane(root, assets, kubeconfig)
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	stops = append(stops, stopControlPlane)

	printLine("demo", "step 4/6: apply config/samples with kubectl")
	apply := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig,
		"apply", "-k", filepath.Join(root, "config", "samples"), "-n", sampleNamespace)
	if err := runPrefixed(apply, "kubectl"); err != nil {
		return fmt.Errorf("apply config/samples: %w", err)
	}

	printLine("demo", "step 5/6: run the controller %s", manager)
	managerProcess, err := startManager(manager, kubeconfig, "http://"+cfg.ecsAddr)
	if err != nil {
		return fmt.Errorf("run the controller: %w", err)
	}
	stops = append(stops, managerProcess.stop)

	printLine("demo", "step 6/6: change task protections every %s", cfg.changeEvery)
	changesCtx, stopChanges := context.WithCancel(ctx)
	var changes sync.WaitGroup
	changes.Go(func() { changeProtections(changesCtx, emulator.Emulator, emulator.expiries, cfg.changeEvery) })
	stops = append(stops, func() { stopChanges(); changes.Wait() })

	printHowToLook(root, kubeconfig, cfg.ecsAddr)
	go showWhenReady(ctx, kubectl, kubeconfig)

	select {
	case <-ctx.Done():
		return nil
	case <-managerProcess.done:
		return fmt.Errorf("run the controller: %s exited unexpectedly: %w", manager, managerProcess.err)
	}
}

// startControlPlane starts kube-apiserver and etcd with the CRDs from
// config/crd/bases and writes an admin kubeconfig. It returns the function
// that stops both and removes the kubeconfig, which would point at a dead
// server.
func startControlPlane(root, assets, kubeconfig string) (func(), error) {
	environment := &envtest.Environment{
		BinaryAssetsDirectory:   assets,
		CRDDirectoryPaths:       []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:   true,
		ControlPlaneStopTimeout: controlPlaneStopTimeout,
	}
	// After SIGTERM, kube-apiserver waits up to --request-timeout (default
	// 60s) for open connections, so an open `kubectl get -w` outlasts
	// envtest's stop timeout. With this flag the HTTP server shuts down at
	// most 2s after the in-flight short requests have drained, which ends
	// open watches (k8s.io/apiserver v0.37.2, genericapiserver.go).
	environment.ControlPlane.GetAPIServer().Configure().Set("shutdown-send-retry-after", "true")
	if _, err := environment.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		printLine("demo", "stopping the control plane")
		if err := environment.Stop(); err != nil {
			printLine("demo", "stopping the control plane failed: %v", err)
		}
		_ = os.Remove(kubeconfig)
	}
	if err := writeAdminKubeconfig(environment, kubeconfig); err != nil {
		stop()
		return nil, err
	}
	printLine("demo", "control plane is up at %s; kubeconfig written to %s", environment.Config.Host, kubeconfig)
	return stop, nil
}

func writeAdminKubeconfig(environment *envtest.Environment, path string) error {
	user, err := environment.AddUser(envtest.User{Name: "demo", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering the kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// runningEmulator is the emulator the demo serves.
type runningEmulator struct {
	*ecsemulator.Emulator
	// expiries are the protections the state file sets, by task ID.
	expiries map[string]time.Time
	stop     func()
}

// startEmulator loads the state file into an emulator and serves it on addr.
func startEmulator(addr, statePath string) (*runningEmulator, error) {
	data, err := os.ReadFile(statePath)
	if err != nil {
		return nil, err
	}
	state, err := ecsemulator.ParseState(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", statePath, err)
	}
	emulator := ecsemulator.New(ecsemulator.Options{Account: account, DefaultRegion: region})
	if err := emulator.LoadState(state); err != nil {
		return nil, fmt.Errorf("%s: %w", statePath, err)
	}
	expiries := stateExpiries(state, emulator.Clock().Now())

	listener, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("address %s is already in use: stop the program listening there "+
			"or choose another address with --ecs-addr, such as make demo DEMO_FLAGS=--ecs-addr=127.0.0.1:4567", addr)
	}
	if err != nil {
		return nil, err
	}
	server := &http.Server{Handler: emulator, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			printLine("emulator", "server stopped: %v", err)
		}
	}()
	stop := func() {
		printLine("demo", "stopping the ECS emulator")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}
	return &runningEmulator{Emulator: emulator, expiries: expiries, stop: stop}, nil
}

// checkLoopback rejects an emulator address that other hosts could reach,
// because the emulator checks no signatures.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid --ecs-addr %q: use host:port, such as 127.0.0.1:4566", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("invalid --ecs-addr %q: the emulator must listen on a loopback address, such as 127.0.0.1:4566", addr)
	}
	return nil
}

// repoRoot returns the folder of the nearest go.mod at or above the working
// directory, which must be this module's.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if !strings.Contains(string(data), "module github.com/taskprotection/ecs-taskprotection-controller\n") {
				return "", fmt.Errorf("%s/go.mod is not the controller's module: run the demo from the repository root", dir)
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found: run the demo from the repository root")
		}
		dir = parent
	}
}

func printHowToLook(root, kubeconfig, ecsAddr string) {
	// The commands name the kubeconfig relative to the working directory
	// when it is below it, as it is under `make demo`.
	path := kubeconfig
	if dir, err := os.Getwd(); err == nil {
		if relative, err := filepath.Rel(dir, kubeconfig); err == nil && !strings.HasPrefix(relative, "..") {
			path = relative
		}
	}
	k := "kubectl --kubeconfig " + path
	lines := []string{
		"",
		"The demo is running. In a second terminal, from " + root + ":",
		"  " + k + " get tpw -A -w              # watch status change",
		"  " + k + " get tpw -A -o wide         # with the Ready reason",
		"  " + k + " describe tpw orders-worker # conditions and events",
		"  " + k + " get tpw orders-mixed -o yaml",
		"ECS emulator control API: http://" + ecsAddr + ecsemulator.AdminPrefix + " (GET lists the endpoints)",
		"Press Ctrl-C to stop everything.",
		"",
	}
	for _, line := range lines {
		printLine("demo", "%s", line)
	}
}

// showWhenReady waits for the first successful polls and prints the watches
// once, as kubectl shows them.
func showWhenReady(ctx context.Context, kubectl, kubeconfig string) {
	wait := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "wait", "--for=condition=Ready",
		"tpw", "--all", "-n", sampleNamespace, "--timeout="+readyTimeout.String())
	if output, err := wait.CombinedOutput(); err != nil {
		if ctx.Err() == nil {
			printLine("demo", "the watches did not turn Ready within %s. The manager's log above shows why. kubectl wait: %s",
				readyTimeout, strings.TrimSpace(string(output)))
		}
		return
	}
	get := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "tpw", "-n", sampleNamespace, "-o", "wide")
	if err := runPrefixed(get, "kubectl"); err != nil && ctx.Err() == nil {
		printLine("demo", "kubectl get tpw failed: %v", err)
	}
}
