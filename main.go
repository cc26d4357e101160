/*
Copyright 2026 The ECS Task Protection Controller Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs the TaskProtectionWatch controller, which reads ECS
// task scale-in protection and reports it in Kubernetes.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
)

var scheme = runtime.NewScheme()

// regionPattern matches AWS region names such as us-east-1 or us-gov-west-1.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(ecsv1alpha1.AddToScheme(scheme))
}

// options are the manager's command-line flags.
type options struct {
	metricsAddr             string
	secureMetrics           bool
	enableHTTP2             bool
	probeAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	maxConcurrentReconciles int
	region                  string
	ecsEndpoint             string
	ecsEndpointInsecure     bool
	ecsCallTimeout          time.Duration
	ecsQPS                  float64
	ecsBurst                int
}

func parseFlags() (options, zap.Options) {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address (host:port) the metrics endpoint binds to; 0 turns it off.")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, allowing only clients that the Kubernetes API authenticates and authorizes for GET /metrics.")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics server. Off by default because of the HTTP/2 stream cancellation and rapid reset vulnerabilities.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		"Address (host:port) the /healthz and /readyz probes bind to.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader through a Lease so that only one replica polls ECS.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; empty means the namespace the controller runs in.")
	flag.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"Number of watches polled at the same time.")
	flag.StringVar(&o.region, "region", "",
		"Default AWS region (for example eu-west-1) for watches whose spec.region and ARNs name none. Empty means the region of the AWS configuration (AWS_REGION).")
	flag.StringVar(&o.ecsEndpoint, "ecs-endpoint", "",
		"Base URL of an ECS-compatible endpoint, such as the ECS emulator at http://127.0.0.1:4566. Empty means the AWS endpoint of each region.")
	flag.BoolVar(&o.ecsEndpointInsecure, "ecs-endpoint-insecure", false,
		"Allow a plain http --ecs-endpoint on a host that is not loopback.")
	flag.DurationVar(&o.ecsCallTimeout, "ecs-call-timeout", 15*time.Second,
		"Time limit of one ECS call including the SDK's retries, as a duration such as 15s.")
	flag.Float64Var(&o.ecsQPS, "ecs-qps", 5,
		"Sustained ECS calls per second per region, across all watches; 0 turns client-side rate limiting off.")
	flag.IntVar(&o.ecsBurst, "ecs-burst", 10,
		"ECS calls per region that may go out at once before --ecs-qps applies.")

	zapOptions := zap.Options{}
	zapOptions.BindFlags(flag.CommandLine)
	flag.Parse()
	return o, zapOptions
}

func main() {
	o, zapOptions := parseFlags()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOptions)))
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	log := ctrl.Log.WithName("setup")

	if err := ecsclient.ValidateEndpoint(o.ecsEndpoint, o.ecsEndpointInsecure); err != nil {
		return err
	}
	if o.ecsCallTimeout <= 0 {
		return fmt.Errorf("invalid --ecs-call-timeout %s: use a positive duration such as 15s", o.ecsCallTimeout)
	}
	if o.maxConcurrentReconciles < 1 {
		return fmt.Errorf("invalid --max-concurrent-reconciles %d: use 1 or more", o.maxConcurrentReconciles)
	}
	if !(o.ecsQPS >= 0) || math.IsInf(o.ecsQPS, 0) {
		return fmt.Errorf("invalid --ecs-qps %g: use 0 to turn client-side rate limiting off, or a positive rate", o.ecsQPS)
	}
	if o.ecsQPS > 0 && o.ecsBurst < 1 {
		return fmt.Errorf("invalid --ecs-burst %d: use 1 or more", o.ecsBurst)
	}
	if o.region != "" && !regionPattern.MatchString(o.region) {
		return fmt.Errorf("invalid --region %q: use an AWS region name such as us-east-1 or eu-west-1", o.region)
	}

	// The default credential chain covers IRSA (web identity), EKS Pod
	// Identity, environment variables and shared configuration files.
	awsConfig, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	defaultRegion := o.region
	if defaultRegion == "" {
		defaultRegion = awsConfig.Region
	}
	if defaultRegion == "" {
		log.Info("No default AWS region: watches need spec.region or ARNs that name a region; set --region or AWS_REGION to change that")
	}

	var tlsOptions []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOptions = append(tlsOptions, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOptions := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOptions,
	}
	if o.secureMetrics {
		metricsOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the Kubernetes client configuration (--kubeconfig, KUBECONFIG, in-cluster or ~/.kube/config): %w", err)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOptions,
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              "ecs-taskprotection-controller.taskprotection.io",
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	reconciler := &controllers.TaskProtectionWatchReconciler{
		Client: mgr.GetClient(),
		Clients: ecsclient.NewFactory(awsConfig, ecsclient.Options{
			Endpoint:    o.ecsEndpoint,
			CallTimeout: o.ecsCallTimeout,
			QPS:         o.ecsQPS,
			Burst:       o.ecsBurst,
		}),
		Recorder:      mgr.GetEventRecorder("ecs-taskprotection-controller"),
		Clock:         clock.RealClock{},
		DefaultRegion: defaultRegion,
		Schedule:      controllers.DefaultSchedule,
	}
	if err := reconciler.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.maxConcurrentReconciles}); err != nil {
		return fmt.Errorf("setting up the TaskProtectionWatch controller: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}

	log.Info("Starting manager", "defaultRegion", defaultRegion, "ecsEndpoint", o.ecsEndpoint,
		"maxConcurrentReconciles", o.maxConcurrentReconciles, "ecsQPS", o.ecsQPS, "ecsBurst", o.ecsBurst)
	return mgr.Start(ctrl.SetupSignalHandler())
}
