// Package testenv starts a real kube-apiserver and etcd for tests, with the
// project's CRDs installed. The binaries come from KUBEBUILDER_ASSETS, which
// `make test` sets to the folder hack/build-control-plane.sh builds.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
)

// Env is a running control plane.
type Env struct {
	Environment *envtest.Environment
	Config      *rest.Config
	Client      client.Client
}

// RepoRoot returns the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts kube-apiserver and etcd and installs the CRDs from
// config/crd/bases.
func Start() (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds kube-apiserver and etcd and sets it, " +
			"or set it to the folder hack/build-control-plane.sh prints")
	}
	if err := ecsv1alpha1.AddToScheme(clientgoscheme.Scheme); err != nil {
		return nil, err
	}

	environment := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	config, err := environment.Start()
	if err != nil {
		// envtest leaves kube-apiserver and etcd running when a later start
		// step, such as installing the CRDs, fails.
		_ = environment.Stop()
		return nil, fmt.Errorf("starting the control plane from KUBEBUILDER_ASSETS=%s: %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	k8sClient, err := client.New(config, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		_ = environment.Stop()
		return nil, err
	}
	return &Env{Environment: environment, Config: config, Client: k8sClient}, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error {
	return e.Environment.Stop()
}

// GroupResource is the TaskProtectionWatch resource, for error checks.
var GroupResource = schema.GroupResource{Group: ecsv1alpha1.GroupVersion.Group, Resource: "taskprotectionwatches"}

// RunTests starts the control plane, hands it to setEnv, runs the package's
// tests and stops the control plane. It returns the exit code for os.Exit.
func RunTests(m *testing.M, setEnv func(*Env)) int {
	env, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	setEnv(env)
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	return code
}
