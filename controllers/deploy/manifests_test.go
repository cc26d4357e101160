package deploy_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
)

// renderedDeployment returns the manager Deployment of config/default.
func renderedDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	objects, _ := renderDefault(t)
	object := findObject(t, objects, "Deployment", managerDeployment)
	var deployment appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &deployment); err != nil {
		t.Fatalf("decoding the Deployment: %v", err)
	}
	return &deployment
}

// managerContainer returns the container named manager, or fails the test.
func managerContainer(t *testing.T, deployment *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range deployment.Spec.Template.Spec.Containers {
		if deployment.Spec.Template.Spec.Containers[i].Name == "manager" {
			return &deployment.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatal("the Deployment has no container named manager")
	return nil
}

// podFromTemplate returns a Pod with the Deployment's pod template, in the
// install namespace.
func podFromTemplate(deployment *appsv1.Deployment, name string) *corev1.Pod {
	template := deployment.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: template.ObjectMeta,
		Spec:       template.Spec,
	}
	pod.Name = name
	pod.Namespace = installNamespace
	return pod
}

func toUnstructured(t *testing.T, object runtime.Object) *unstructured.Unstructured {
	t.Helper()
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(object)
	if err != nil {
		t.Fatalf("converting %T: %v", object, err)
	}
	return &unstructured.Unstructured{Object: content}
}

// applyNamespace creates the install namespace, with the labels that make
// the API server enforce Pod Security "restricted" in it. It uses
// server-side apply, because a later server-side apply of an object that
// client-side apply created warns about migrating its annotation.
func applyNamespace(ctx context.Context, t *testing.T) {
	t.Helper()
	objects, _ := renderDefault(t)
	namespace := findObject(t, objects, "Namespace", installNamespace)
	result := kubectl(ctx, toYAML(t, namespace), "apply", "--server-side", "-f", "-")
	if result.err != nil {
		t.Fatalf("kubectl apply of the namespace failed: %v\n%s", result.err, result.stderr)
	}
}

func TestRenderedNamespaceEnforcesRestricted(t *testing.T) {
	objects, _ := renderDefault(t)
	namespace := findObject(t, objects, "Namespace", installNamespace)
	labels := namespace.GetLabels()
	if got := labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("label pod-security.kubernetes.io/enforce = %q, want restricted", got)
	}
	for _, object := range objects {
		namespaced := object.GetNamespace()
		if namespaced != "" && namespaced != installNamespace {
			t.Errorf("%s %s is in namespace %s, want %s", object.GetKind(), object.GetName(), namespaced, installNamespace)
		}
	}
}

func TestDefaultAppliesWithServerDryRun(t *testing.T) {
	startControlPlane(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	applyNamespace(ctx, t)
	_, yaml := renderDefault(t)

	// The docs apply with client-side apply, and make deploy with
	// server-side apply.
	tests := []struct {
		name string
		args []string
	}{
		{"client-side apply", []string{"apply", "--dry-run=server", "-f", "-"}},
		{"server-side apply", []string{"apply", "--server-side", "--dry-run=server", "-f", "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			result := kubectl(ctx, yaml, tt.args...)
			if result.err != nil {
				t.Fatalf("kubectl %s failed: %v\nstdout:\n%s\nstderr:\n%s",
					strings.Join(tt.args, " "), result.err, result.stdout, result.stderr)
			}
			// Pod Security admission checks Deployments too, but only warns.
			var warnings []string
			for _, warning := range warningLines(result.stderr) {
				// envtest installed the CRD and applyNamespace created the
				// namespace without client-side apply, so kubectl notes that
				// it would add its annotation to them.
				if !strings.Contains(warning, "missing the kubectl.kubernetes.io/last-applied-configuration annotation") {
					warnings = append(warnings, warning)
				}
			}
			if len(warnings) > 0 {
				t.Errorf("kubectl apply printed warnings:\n%s", strings.Join(warnings, "\n"))
			}
			for _, want := range []string{
				"deployment.apps/" + managerDeployment,
				"serviceaccount/" + managerAccount,
				"service/ecs-taskprotection-controller-manager-metrics-service",
				"customresourcedefinition.apiextensions.k8s.io/taskprotectionwatches.ecs.taskprotection.io",
			} {
				if !strings.Contains(result.stdout, want) {
					t.Errorf("kubectl output names no %s:\n%s", want, result.stdout)
				}
			}
		})
	}
}

func TestPodTemplatePassesRestricted(t *testing.T) {
	startControlPlane(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	applyNamespace(ctx, t)

	pod := podFromTemplate(renderedDeployment(t), "manager-template")
	result := kubectl(ctx, toYAML(t, toUnstructured(t, pod)), "create", "--dry-run=server", "-f", "-")
	if result.err != nil {
		t.Fatalf("the API server rejected the manager pod: %v\n%s", result.err, result.stderr)
	}
	if warnings := warningLines(result.stderr); len(warnings) > 0 {
		t.Errorf("creating the manager pod printed warnings:\n%s", strings.Join(warnings, "\n"))
	}
}

// TestInsecurePodsRejected shows that the namespace really enforces
// "restricted": each change to the manager pod breaks one of its rules.
func TestInsecurePodsRejected(t *testing.T) {
	startControlPlane(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	applyNamespace(ctx, t)
	deployment := renderedDeployment(t)

	tests := []struct {
		name   string
		weaken func(pod *corev1.Pod)
	}{
		{"privileged container", func(pod *corev1.Pod) {
			// Pod validation rejects privileged with allowPrivilegeEscalation
			// false before Pod Security admission runs.
			pod.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
			pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
		}},
		{"runAsNonRoot unset", func(pod *corev1.Pod) {
			pod.Spec.SecurityContext.RunAsNonRoot = nil
		}},
		{"privilege escalation allowed", func(pod *corev1.Pod) {
			pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}},
		{"capabilities kept", func(pod *corev1.Pod) {
			pod.Spec.Containers[0].SecurityContext.Capabilities = nil
		}},
		{"seccomp unconfined", func(pod *corev1.Pod) {
			pod.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}},
		{"host network", func(pod *corev1.Pod) {
			pod.Spec.HostNetwork = true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podFromTemplate(deployment, "insecure")
			tt.weaken(pod)
			result := kubectl(ctx, toYAML(t, toUnstructured(t, pod)), "create", "--dry-run=server", "-f", "-")
			if result.err == nil {
				t.Fatal("the API server accepted the pod")
			}
			if !strings.Contains(result.stderr, `violates PodSecurity "restricted:latest"`) {
				t.Errorf("the rejection does not name Pod Security restricted:\n%s", result.stderr)
			}
		})
	}
}

func TestDeploymentRunsManagerSecurely(t *testing.T) {
	deployment := renderedDeployment(t)
	podSpec := deployment.Spec.Template.Spec
	container := managerContainer(t, deployment)

	if podSpec.ServiceAccountName != managerAccount {
		t.Errorf("serviceAccountName = %q, want %q", podSpec.ServiceAccountName, managerAccount)
	}
	if podSpec.AutomountServiceAccountToken == nil || !*podSpec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not true, but the manager needs its token")
	}
	if container.Image != "controller:latest" {
		t.Errorf("image = %q, want controller:latest, which make build-installer replaces", container.Image)
	}

	security := container.SecurityContext
	if security == nil {
		t.Fatal("the manager container has no securityContext")
	}
	// Pod Security "restricted" does not require a read-only root file
	// system, so the API server does not check this one.
	if security.ReadOnlyRootFilesystem == nil || !*security.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if security.AllowPrivilegeEscalation == nil || *security.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if security.Capabilities == nil || !slices.Equal(security.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities = %+v, want drop [ALL]", security.Capabilities)
	}

	for _, arg := range []string{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081"} {
		if !slices.Contains(container.Args, arg) {
			t.Errorf("args %q lack %s", container.Args, arg)
		}
	}

	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"liveness", container.LivenessProbe, "/healthz"},
		{"readiness", container.ReadinessProbe, "/readyz"},
	}
	for _, probe := range probes {
		if probe.probe == nil || probe.probe.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP GET", probe.name)
			continue
		}
		if probe.probe.HTTPGet.Path != probe.path {
			t.Errorf("%s probe path = %q, want %q", probe.name, probe.probe.HTTPGet.Path, probe.path)
		}
		if port := containerPort(container, probe.probe.HTTPGet.Port.String()); port != 8081 {
			t.Errorf("%s probe port %s is container port %d, want 8081", probe.name, probe.probe.HTTPGet.Port.String(), port)
		}
	}

	for _, resource := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := container.Resources.Requests[resource]; !ok {
			t.Errorf("no %s request", resource)
		}
		if _, ok := container.Resources.Limits[resource]; !ok {
			t.Errorf("no %s limit", resource)
		}
	}
}

// containerPort returns the number of a container port given by name or
// number, or 0 if the container declares no such port.
func containerPort(container *corev1.Container, nameOrNumber string) int32 {
	for _, port := range container.Ports {
		if port.Name == nameOrNumber || nameOrNumber == strconv.Itoa(int(port.ContainerPort)) {
			return port.ContainerPort
		}
	}
	return 0
}

func TestMetricsServiceTargetsHTTPSPort(t *testing.T) {
	objects, _ := renderDefault(t)
	object := findObject(t, objects, "Service", "ecs-taskprotection-controller-manager-metrics-service")
	var service corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &service); err != nil {
		t.Fatalf("decoding the Service: %v", err)
	}
	if len(service.Spec.Ports) != 1 {
		t.Fatalf("the Service has %d ports, want 1", len(service.Spec.Ports))
	}
	port := service.Spec.Ports[0]
	if port.Port != 8443 {
		t.Errorf("Service port = %d, want 8443", port.Port)
	}
	deployment := renderedDeployment(t)
	if got := containerPort(managerContainer(t, deployment), port.TargetPort.String()); got != 8443 {
		t.Errorf("targetPort %s is container port %d, want 8443", port.TargetPort.String(), got)
	}
	selector := deployment.Spec.Template.Labels
	for key, value := range service.Spec.Selector {
		if selector[key] != value {
			t.Errorf("the Service selects %s=%s, which the manager pod lacks", key, value)
		}
	}
}

func TestOptionalOverlaysRender(t *testing.T) {
	tests := []struct {
		folder string
		kind   string
	}{
		{"prometheus", "ServiceMonitor"},
		{"network-policy", "NetworkPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.folder, func(t *testing.T) {
			objects, _, err := render(filepath.Join(testenv.RepoRoot(), "config", tt.folder))
			if err != nil {
				t.Fatalf("rendering config/%s: %v", tt.folder, err)
			}
			if kinds := objectsOfKinds(objects, tt.kind); len(kinds) != 1 {
				t.Errorf("config/%s renders %d objects of kind %s, want 1", tt.folder, len(kinds), tt.kind)
			}
		})
	}
}
