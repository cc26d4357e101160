package deploy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// clientNamespace holds the test's metrics clients and its watch.
const clientNamespace = "deploy-test"

// TestManagerWithRenderedRBAC runs the manager binary as its ServiceAccount
// with only the RBAC that config/default renders, using the Deployment's
// arguments with loopback addresses. It checks that the manager wins leader
// election, reconciles a watch and serves metrics only to clients bound to
// the metrics-reader ClusterRole.
func TestManagerWithRenderedRBAC(t *testing.T) {
	env := startControlPlane(t)
	binary := buildManager(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	clientset, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	installRBAC(ctx, t)
	scraperToken, strangerToken := createMetricsClients(ctx, t, clientset)
	managerToken := requestToken(ctx, t, clientset, installNamespace, managerAccount)
	kubeconfig := writeTokenKubeconfig(t, env.Config, managerToken)

	metricsAddr := "127.0.0.1:" + freePort(t)
	probeAddr := "127.0.0.1:" + freePort(t)
	args := deploymentArgs(t, metricsAddr, probeAddr)
	args = append(args,
		"--kubeconfig="+kubeconfig,
		// Outside a pod the manager cannot read its namespace from the
		// ServiceAccount mount.
		"--leader-election-namespace="+installNamespace,
		"--region=us-east-1",
		// The only watch is suspended, so the manager sends no ECS calls.
		"--ecs-endpoint=http://127.0.0.1:1",
	)
	manager := startManager(t, binary, args)

	waitFor(ctx, t, manager, "/readyz to return 200", func() (bool, error) {
		status, _, err := get(ctx, http.DefaultClient, "http://"+probeAddr+"/readyz", "")
		return status == http.StatusOK, err
	})
	waitFor(ctx, t, manager, "the manager to hold the leader election Lease", func() (bool, error) {
		lease, err := clientset.CoordinationV1().Leases(installNamespace).Get(ctx, leaderElectionName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return ptr.Deref(lease.Spec.HolderIdentity, "") != "", nil
	})
	// The leader election Event needs the Role's core/v1 events rule.
	waitFor(ctx, t, manager, "a LeaderElection Event on the Lease", func() (bool, error) {
		events, err := clientset.CoreV1().Events(installNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, event := range events.Items {
			if event.Reason == "LeaderElection" && event.InvolvedObject.Kind == "Lease" {
				return true, nil
			}
		}
		return false, nil
	})
	// The status write needs the generated ClusterRole.
	checkSuspendedWatchReconciled(ctx, t, env.Config, manager)

	t.Run("metrics access", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{
			// The manager serves a self-signed certificate.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		}}
		tests := []struct {
			name   string
			token  string
			status int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"token without metrics-reader", strangerToken, http.StatusForbidden},
			// controller-runtime v0.25 returns 500 "Authentication failed",
			// not 401, when the API server does not accept the token.
			{"invalid token", "not-a-token", http.StatusInternalServerError},
			{"token bound to metrics-reader", scraperToken, http.StatusOK},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, _, err := get(ctx, client, "https://"+metricsAddr+"/metrics", tt.token)
				if err != nil {
					t.Fatal(err)
				}
				if status != tt.status {
					t.Errorf("GET /metrics returned %d, want %d", status, tt.status)
				}
			})
		}
	})

	t.Run("metrics content", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		}}
		_, body, err := get(ctx, client, "https://"+metricsAddr+"/metrics", scraperToken)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			// controller-runtime's reconcile and leader election metrics.
			"# HELP controller_runtime_reconcile_total ",
			`controller_runtime_reconcile_total{controller="taskprotectionwatch",result="success"}`,
			`leader_election_master_status{name="` + leaderElectionName + `"} 1`,
			// The Go and process collectors of the Prometheus client.
			"# HELP go_goroutines ",
			"# HELP process_cpu_seconds_total ",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	t.Run("no HTTP/2", func(t *testing.T) {
		dialer := &tls.Dialer{Config: &tls.Config{
			InsecureSkipVerify: true, //nolint:gosec
			NextProtos:         []string{"h2", "http/1.1"},
		}}
		conn, err := dialer.DialContext(ctx, "tcp", metricsAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		if got := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; got != "http/1.1" {
			t.Errorf("ALPN negotiated %q, want http/1.1", got)
		}
	})

	manager.stop(t)
	if line := manager.forbiddenLine(t); line != "" {
		t.Errorf("the API server forbade a request of the manager:\n%s", line)
	}
	// On SIGTERM the manager releases the Lease, which takes the update verb.
	lease, err := clientset.CoordinationV1().Leases(installNamespace).Get(ctx, leaderElectionName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if holder := ptr.Deref(lease.Spec.HolderIdentity, ""); holder != "" {
		t.Errorf("the Lease is still held by %s after the manager stopped", holder)
	}
}

// installRBAC applies the rendered namespace, ServiceAccount and RBAC for
// real, without the Deployment. It uses server-side apply, as
// applyNamespace does.
func installRBAC(ctx context.Context, t *testing.T) {
	t.Helper()
	// kubectl checks that the namespace exists before it applies the
	// namespaced objects of the same stream.
	applyNamespace(ctx, t)
	objects, _ := renderDefault(t)
	selected := objectsOfKinds(objects, "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
	result := kubectl(ctx, toYAML(t, selected...), "apply", "--server-side", "-f", "-")
	if result.err != nil {
		t.Fatalf("kubectl apply of the RBAC failed: %v\n%s", result.err, result.stderr)
	}
}

// createMetricsClients creates two ServiceAccounts, binds one of them to the
// metrics-reader ClusterRole, and returns a token for each.
func createMetricsClients(ctx context.Context, t *testing.T, clientset kubernetes.Interface) (scraper, stranger string) {
	t.Helper()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clientNamespace}}
	if _, err := clientset.CoreV1().Namespaces().Create(ctx, namespace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scraper", "stranger"} {
		account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: clientNamespace}}
		if _, err := clientset.CoreV1().ServiceAccounts(clientNamespace).Create(ctx, account, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deploy-test-scraper-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: clientNamespace}},
	}
	if _, err := clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return requestToken(ctx, t, clientset, clientNamespace, "scraper"), requestToken(ctx, t, clientset, clientNamespace, "stranger")
}

// requestToken returns a token for the ServiceAccount from the TokenRequest
// API.
func requestToken(ctx context.Context, t *testing.T, clientset kubernetes.Interface, namespace, name string) string {
	t.Helper()
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	response, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, request, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", namespace, name, err)
	}
	return response.Status.Token
}

// writeTokenKubeconfig writes a kubeconfig that reaches the API server of
// config with token, and returns its path.
func writeTokenKubeconfig(t *testing.T, config *rest.Config, token string) string {
	t.Helper()
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["envtest"] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: config.CAData}
	kubeconfig.AuthInfos["manager"] = &clientcmdapi.AuthInfo{Token: token}
	kubeconfig.Contexts["manager"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "manager"}
	kubeconfig.CurrentContext = "manager"
	path := filepath.Join(t.TempDir(), "manager.kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// deploymentArgs returns the manager container's arguments with the bind
// addresses replaced, and fails the test if either is missing.
func deploymentArgs(t *testing.T, metricsAddr, probeAddr string) []string {
	t.Helper()
	replacements := map[string]string{
		"--metrics-bind-address":      metricsAddr,
		"--health-probe-bind-address": probeAddr,
	}
	var args []string
	for _, arg := range managerContainer(t, renderedDeployment(t)).Args {
		name, _, _ := strings.Cut(arg, "=")
		if address, ok := replacements[name]; ok {
			arg = name + "=" + address
			delete(replacements, name)
		}
		args = append(args, arg)
	}
	for name := range replacements {
		t.Fatalf("the Deployment's args lack %s", name)
	}
	return args
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = listener.Close() }()
	_, port, err := net.SplitHostPort(listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// managerProcess is a running manager binary whose output goes to a file.
type managerProcess struct {
	command *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func startManager(t *testing.T, binary string, args []string) *managerProcess {
	t.Helper()
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		t.Fatal(err)
	}

	command := exec.Command(binary, args...)
	command.Stdout = logFile
	command.Stderr = logFile
	// Static example credentials and no metadata service, so that the AWS
	// credential chain never looks beyond the environment.
	command.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if err := command.Start(); err != nil {
		t.Fatalf("starting the manager: %v", err)
	}

	manager := &managerProcess{command: command, logPath: logFile.Name(), exited: make(chan struct{})}
	go func() {
		manager.waitErr = command.Wait()
		_ = logFile.Close()
		close(manager.exited)
	}()

	t.Cleanup(func() {
		select {
		case <-manager.exited:
		default:
			_ = command.Process.Kill()
			<-manager.exited
		}
		if t.Failed() {
			t.Logf("manager output:\n%s", manager.log(t))
		}
	})
	return manager
}

func (m *managerProcess) log(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// stop sends SIGTERM and expects a clean exit within 30 seconds.
func (m *managerProcess) stop(t *testing.T) {
	t.Helper()
	if err := m.command.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signalling the manager: %v", err)
	}
	select {
	case <-m.exited:
		if m.waitErr != nil {
			t.Errorf("the manager exited with %v after SIGTERM", m.waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Error("the manager did not exit within 30s of SIGTERM")
	}
}

// waitFor polls condition every 200ms until it returns true, and fails the
// test after 60 seconds, when ctx ends, when the manager exits, or when the
// manager logs a request that RBAC forbade.
func waitFor(ctx context.Context, t *testing.T, manager *managerProcess, what string, condition func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		done, err := condition()
		if done {
			return
		}
		lastErr = err
		if line := manager.forbiddenLine(t); line != "" {
			t.Fatalf("the API server forbade a request of the manager while waiting for %s:\n%s", what, line)
		}
		select {
		case <-manager.exited:
			t.Fatalf("the manager exited (%v) while waiting for %s", manager.waitErr, what)
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// forbiddenLine returns the first line of the manager's output that reports
// a request the API server forbade, or "".
func (m *managerProcess) forbiddenLine(t *testing.T) string {
	t.Helper()
	for line := range strings.Lines(m.log(t)) {
		if strings.Contains(line, "is forbidden") {
			return line
		}
	}
	return ""
}

// get sends GET url with token as bearer token, if any, and returns the
// status code and body.
func get(ctx context.Context, client *http.Client, url, token string) (int, string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		request.Header.Set("Authorization", "Bearer "+token)
	}
	response, err := client.Do(request)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = response.Body.Close() }()
	body, err := io.ReadAll(response.Body)
	return response.StatusCode, string(body), err
}

// checkSuspendedWatchReconciled creates a suspended TaskProtectionWatch and
// waits until the manager writes its Ready condition with reason Suspended.
func checkSuspendedWatchReconciled(ctx context.Context, t *testing.T, config *rest.Config, manager *managerProcess) {
	t.Helper()
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	resource := schema.GroupVersionResource{Group: "ecs.taskprotection.io", Version: "v1alpha1", Resource: "taskprotectionwatches"}
	watch := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ecs.taskprotection.io/v1alpha1",
		"kind":       "TaskProtectionWatch",
		"metadata":   map[string]any{"name": "suspended", "namespace": clientNamespace},
		"spec": map[string]any{
			"cluster": "orders",
			"tasks":   []any{"0a1b2c3d4e5f40718293a4b5c6d7e8f1"},
			"suspend": true,
		},
	}}
	if _, err := client.Resource(resource).Namespace(clientNamespace).Create(ctx, watch, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the watch: %v", err)
	}
	waitFor(ctx, t, manager, "the watch's Ready condition with reason Suspended", func() (bool, error) {
		current, err := client.Resource(resource).Namespace(clientNamespace).Get(ctx, "suspended", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conditions, _, err := unstructured.NestedSlice(current.Object, "status", "conditions")
		if err != nil {
			return false, err
		}
		for _, item := range conditions {
			condition, ok := item.(map[string]any)
			if ok && condition["type"] == "Ready" && condition["reason"] == "Suspended" {
				return true, nil
			}
		}
		return false, errors.New(fmt.Sprint("conditions: ", conditions))
	})
}
