// Package deploy_test checks the install manifests under config/, the
// Dockerfile and the IAM policy: it renders config/default with kustomize,
// applies it to a real kube-apiserver, and runs the manager binary with the
// rendered RBAC.
package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
)

// Names that config/default produces: the namespace and the manager's
// ServiceAccount get the ecs-taskprotection- name prefix.
const (
	installNamespace   = "ecs-taskprotection-system"
	managerAccount     = "ecs-taskprotection-controller-manager"
	managerDeployment  = "ecs-taskprotection-controller-manager"
	metricsReaderRole  = "ecs-taskprotection-metrics-reader"
	leaderElectionName = "ecs-taskprotection-controller.taskprotection.io"
)

var (
	controlPlaneOnce sync.Once
	controlPlane     *testenv.Env
	controlPlaneErr  error
	adminKubeconfig  string
	scratchDir       string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratchDir = dir

	code := m.Run()

	if controlPlane != nil {
		if err := controlPlane.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the control plane: %v\n", err)
		}
	}
	_ = os.RemoveAll(scratchDir)
	os.Exit(code)
}

// startControlPlane starts one kube-apiserver and etcd for the package on
// first use, and writes a kubeconfig for an admin user to adminKubeconfig.
func startControlPlane(t *testing.T) *testenv.Env {
	t.Helper()
	controlPlaneOnce.Do(func() {
		env, err := testenv.Start()
		if err != nil {
			controlPlaneErr = err
			return
		}
		controlPlane = env

		admin, err := env.Environment.AddUser(envtest.User{
			Name:   "deploy-test-admin",
			Groups: []string{"system:masters"},
		}, nil)
		if err != nil {
			controlPlaneErr = fmt.Errorf("adding the admin user: %w", err)
			return
		}
		kubeconfig, err := admin.KubeConfig()
		if err != nil {
			controlPlaneErr = fmt.Errorf("writing the admin kubeconfig: %w", err)
			return
		}
		adminKubeconfig = filepath.Join(scratchDir, "admin.kubeconfig")
		controlPlaneErr = os.WriteFile(adminKubeconfig, kubeconfig, 0o600)
	})
	if controlPlaneErr != nil {
		t.Fatalf("starting the control plane: %v", controlPlaneErr)
	}
	return controlPlane
}

var (
	renderOnce      sync.Once
	renderedObjects []*unstructured.Unstructured
	renderedYAML    []byte
	renderFailure   error
)

// renderDefault builds config/default with the kustomize API, the same
// version (sigs.k8s.io/kustomize/api v0.21.2) that the Makefile's kustomize
// v5.8.2 is built from.
func renderDefault(t *testing.T) ([]*unstructured.Unstructured, []byte) {
	t.Helper()
	renderOnce.Do(func() {
		renderedObjects, renderedYAML, renderFailure = render(filepath.Join(testenv.RepoRoot(), "config", "default"))
	})
	if renderFailure != nil {
		t.Fatalf("rendering config/default: %v", renderFailure)
	}
	return renderedObjects, renderedYAML
}

func render(dir string) ([]*unstructured.Unstructured, []byte, error) {
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, nil, err
	}
	yaml, err := resources.AsYaml()
	if err != nil {
		return nil, nil, err
	}
	var objects []*unstructured.Unstructured
	for _, resource := range resources.Resources() {
		object, err := resource.Map()
		if err != nil {
			return nil, nil, fmt.Errorf("converting %s: %w", resource.CurId(), err)
		}
		objects = append(objects, &unstructured.Unstructured{Object: object})
	}
	return objects, yaml, nil
}

// findObject returns the rendered object of that kind and name, or fails
// the test.
func findObject(t *testing.T, objects []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, object := range objects {
		if object.GetKind() == kind && object.GetName() == name {
			return object
		}
	}
	t.Fatalf("config/default renders no %s named %s", kind, name)
	return nil
}

// objectsOfKinds returns the rendered objects whose kind is one of kinds, in
// rendering order.
func objectsOfKinds(objects []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var selected []*unstructured.Unstructured
	for _, object := range objects {
		for _, kind := range kinds {
			if object.GetKind() == kind {
				selected = append(selected, object)
			}
		}
	}
	return selected
}

// kubectlResult is the output of one kubectl run.
type kubectlResult struct {
	stdout string
	stderr string
	err    error
}

// kubectl runs the kubectl on PATH as the admin user with stdin as input.
func kubectl(ctx context.Context, stdin []byte, args ...string) kubectlResult {
	args = append([]string{"--kubeconfig", adminKubeconfig}, args...)
	command := exec.CommandContext(ctx, "kubectl", args...)
	command.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	command.Stdout = &stdout
	command.Stderr = &stderr
	err := command.Run()
	return kubectlResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// toYAML joins objects into one multi-document YAML stream.
func toYAML(t *testing.T, objects ...*unstructured.Unstructured) []byte {
	t.Helper()
	var stream bytes.Buffer
	for _, object := range objects {
		data, err := object.MarshalJSON()
		if err != nil {
			t.Fatalf("encoding %s %s: %v", object.GetKind(), object.GetName(), err)
		}
		// JSON is valid YAML, so kubectl reads each document as is.
		stream.WriteString("---\n")
		stream.Write(data)
		stream.WriteString("\n")
	}
	return stream.Bytes()
}

// warningLines returns the lines of kubectl's stderr that report API server
// warnings, such as Pod Security violations.
func warningLines(stderr string) []string {
	var warnings []string
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "Warning:") {
			warnings = append(warnings, strings.TrimSpace(line))
		}
	}
	return warnings
}
