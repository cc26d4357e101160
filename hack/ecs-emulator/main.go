// Command ecs-emulator serves an in-memory Amazon ECS control plane on a
// loopback address, for the AWS CLI, the AWS SDKs and the controller's
// tests. It speaks the AWS JSON 1.1 protocol of ECS, including task
// scale-in protection, and offers a control API under /_emulator/ for the
// clock, faults, throttling, latency and state. docs/ecs-emulator.md is the
// user guide.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

const (
	defaultAddr    = "127.0.0.1:4566"
	defaultAccount = "123456789012"
	defaultRegion  = "us-east-1"
	// shutdownTimeout bounds how long in-flight requests may finish after a
	// signal.
	shutdownTimeout = 5 * time.Second
)

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

type config struct {
	addr      string
	statePath string
	account   string
	region    string
	retention time.Duration
	// accountSet records whether --account was given, so that a state
	// file's account applies only otherwise.
	accountSet bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run starts the emulator and serves until ctx ends. It returns the exit
// status: 0 after a clean shutdown, 1 on a runtime error, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-emulator: %v\n", err)
		return 2
	}

	var state *ecsemulator.State
	if cfg.statePath != "" {
		data, err := os.ReadFile(cfg.statePath)
		if err != nil {
			logger.Error("Failed to read the state file", "path", cfg.statePath, "error", err)
			return 1
		}
		parsed, err := ecsemulator.ParseState(data)
		if err != nil {
			logger.Error("Failed to parse the state file", "path", cfg.statePath, "error", err)
			return 1
		}
		if parsed.Account != "" && !cfg.accountSet {
			cfg.account = parsed.Account
		}
		state = &parsed
	}

	emulator := ecsemulator.New(ecsemulator.Options{
		Account:              cfg.account,
		DefaultRegion:        cfg.region,
		StoppedTaskRetention: cfg.retention,
	})
	if state != nil {
		if err := emulator.LoadState(*state); err != nil {
			logger.Error("Failed to load the state file", "path", cfg.statePath, "error", err)
			return 1
		}
		logger.Info("Loaded state", "path", cfg.statePath, "clusters", len(state.Clusters))
	}

	listener, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logger.Error("Failed to listen", "addr", cfg.addr, "error", err)
		return 1
	}
	server := &http.Server{Handler: emulator, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()

	fmt.Fprintf(stdout, "ECS emulator listening on http://%s\n", listener.Addr())
	logger.Info("Started", "url", "http://"+listener.Addr().String(),
		"account", cfg.account, "defaultRegion", cfg.region)

	select {
	case err := <-serveErr:
		logger.Error("Server stopped", "error", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Error("Shutdown did not finish cleanly", "error", err)
		return 1
	}
	logger.Info("Stopped")
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("ecs-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", defaultAddr,
		"TCP `host:port` to listen on; port 0 picks a free port. Use a loopback address.")
	fs.StringVar(&cfg.statePath, "state", "",
		"`path` of a YAML or JSON file with clusters, task definitions, services, tasks and protections to start with")
	fs.StringVar(&cfg.account, "account", defaultAccount,
		"AWS account `ID` (12 digits) used in ARNs; when not given, a state file's account applies")
	fs.StringVar(&cfg.region, "region", defaultRegion,
		"AWS `region` name for state entries that name none; requests use the region of their SigV4 credential scope")
	fs.DurationVar(&cfg.retention, "stopped-task-retention", time.Hour,
		"`duration` (Go syntax such as 1h or 90s) that stopped tasks stay visible before they read as MISSING")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ecs-emulator [flags]\n\n"+
			"Serves an in-memory Amazon ECS API (AWS JSON 1.1) and a control API under /_emulator/.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q; all settings are flags, see --help", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "account" {
			cfg.accountSet = true
		}
	})
	if !accountPattern.MatchString(cfg.account) {
		return cfg, fmt.Errorf("invalid --account %q: use 12 digits such as %s", cfg.account, defaultAccount)
	}
	if cfg.region == "" {
		return cfg, errors.New("--region must not be empty")
	}
	if cfg.retention <= 0 {
		return cfg, fmt.Errorf("invalid --stopped-task-retention %v: use a positive duration", cfg.retention)
	}
	return cfg, nil
}
