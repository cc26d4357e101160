package controllers

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

// env is the control plane the integration tests share. Unit tests in this
// package do not use it, but TestMain starts it for the whole package.
var env *testenv.Env

func TestMain(m *testing.M) {
	// The reconciler logs through controller-runtime; tests read status,
	// events and the emulator's request log instead.
	ctrl.SetLogger(logr.Discard())
	os.Exit(testenv.RunTests(m, func(e *testenv.Env) { env = e }))
}

const (
	testAccount = "111122223333"
	testRegion  = "eu-west-1"
	testCluster = "orders"
)

// emulatorClock lets the reconciler read the emulator's movable clock, so
// that a test moves time for ECS and the controller together.
type emulatorClock struct{ clock *ecsemulator.Clock }

func (c emulatorClock) Now() time.Time                  { return c.clock.Now() }
func (c emulatorClock) Since(t time.Time) time.Duration { return c.clock.Now().Sub(t) }

// harness wires a reconciler to the real API server and to an ECS emulator
// behind the real aws-sdk-go-v2 client, with a fixed clock.
type harness struct {
	t            *testing.T
	ctx          context.Context
	emulator     *ecsemulator.Emulator
	ecs          *ecs.Client
	reconciler   *TaskProtectionWatchReconciler
	recorder     *events.FakeRecorder
	namespace    string
	statusWrites atomic.Int32
	beforePatch  func()
}

type harnessOptions struct {
	clock       *ecsemulator.Clock
	maxAttempts int
	qps         float64
	burst       int
}

func newHarness(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	if opts.clock == nil {
		opts.clock = ecsemulator.NewFixedClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	}
	if opts.maxAttempts == 0 {
		opts.maxAttempts = 1
	}
	h := &harness{t: t, ctx: context.Background(), recorder: events.NewFakeRecorder(1000)}

	h.emulator = ecsemulator.New(ecsemulator.Options{Account: testAccount, DefaultRegion: testRegion, Clock: opts.clock, RandomSeed: 1})
	server := httptest.NewServer(h.emulator)
	t.Cleanup(server.Close)

	awsConfig := aws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: opts.maxAttempts,
	}
	h.ecs = ecs.NewFromConfig(awsConfig, func(o *ecs.Options) { o.BaseEndpoint = aws.String(server.URL) })
	factory := ecsclient.NewFactory(awsConfig, ecsclient.Options{
		Endpoint:    server.URL,
		CallTimeout: 10 * time.Second,
		QPS:         opts.qps,
		Burst:       opts.burst,
	})

	watchClient, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	k8sClient := interceptor.NewClient(watchClient, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, subResource string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			h.statusWrites.Add(1)
			if h.beforePatch != nil {
				h.beforePatch()
			}
			return c.SubResource(subResource).Patch(ctx, obj, patch, opts...)
		},
	})

	h.reconciler = &TaskProtectionWatchReconciler{
		Client:        k8sClient,
		Clients:       factory,
		Recorder:      h.recorder,
		Clock:         emulatorClock{opts.clock},
		DefaultRegion: "us-east-1",
		Schedule:      DefaultSchedule,
	}

	h.namespace = fmt.Sprintf("t%d", time.Now().UnixNano())
	if err := env.Client.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.namespace}}); err != nil {
		t.Fatal(err)
	}
	return h
}

// serviceTasks creates a service with count running tasks in the test
// cluster and returns their ARNs.
func (h *harness) serviceTasks(service string, count int) []string {
	h.t.Helper()
	arns, err := h.emulator.CreateServiceTasks(testRegion, testCluster, service, count)
	if err != nil {
		h.t.Fatal(err)
	}
	return arns
}

func (h *harness) protect(arns []string, enabled bool, expiresIn time.Duration) {
	h.t.Helper()
	if err := h.emulator.SetProtection(testRegion, testCluster, arns, enabled, expiresIn); err != nil {
		h.t.Fatal(err)
	}
}

// createWatch creates a watch of the test cluster in region eu-west-1.
func (h *harness) createWatch(name string, tasks []string, mutate ...func(*ecsv1alpha1.TaskProtectionWatch)) *ecsv1alpha1.TaskProtectionWatch {
	h.t.Helper()
	watch := &ecsv1alpha1.TaskProtectionWatch{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.namespace},
		Spec:       ecsv1alpha1.TaskProtectionWatchSpec{Cluster: testCluster, Region: testRegion},
	}
	for _, task := range tasks {
		watch.Spec.Tasks = append(watch.Spec.Tasks, ecsv1alpha1.TaskReference(task))
	}
	for _, m := range mutate {
		m(watch)
	}
	if err := env.Client.Create(h.ctx, watch); err != nil {
		h.t.Fatalf("creating watch %s: %v", name, err)
	}
	return watch
}

func (h *harness) reconcile(name string) (ctrl.Result, error) {
	h.t.Helper()
	return h.reconciler.Reconcile(h.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: h.namespace, Name: name}})
}

// mustReconcile runs one reconcile and fails the test on an error.
func (h *harness) mustReconcile(name string) ctrl.Result {
	h.t.Helper()
	result, err := h.reconcile(name)
	if err != nil {
		h.t.Fatalf("reconcile %s: %v", name, err)
	}
	return result
}

func (h *harness) get(name string) *ecsv1alpha1.TaskProtectionWatch {
	h.t.Helper()
	watch := &ecsv1alpha1.TaskProtectionWatch{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.namespace, Name: name}, watch); err != nil {
		h.t.Fatal(err)
	}
	return watch
}

// advance moves the shared clock.
func (h *harness) advance(d time.Duration) { h.emulator.Clock().Advance(d) }

// eventsSoFar drains the recorded events.
func (h *harness) eventsSoFar() []string {
	var out []string
	for {
		select {
		case event := <-h.recorder.Events:
			out = append(out, event)
		default:
			return out
		}
	}
}

// getCalls returns the GetTaskProtection requests the emulator received.
func (h *harness) getCalls() []ecsemulator.Request {
	var calls []ecsemulator.Request
	for _, request := range h.emulator.Requests() {
		if request.Operation == "GetTaskProtection" {
			calls = append(calls, request)
		}
	}
	return calls
}
