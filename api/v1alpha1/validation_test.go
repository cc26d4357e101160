package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(e *testenv.Env) { env = e }))
}

const (
	taskID      = "0123456789abcdef0123456789abcdef"
	oldTaskID   = "2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b"
	taskARN     = "arn:aws:ecs:eu-west-1:111122223333:task/orders/0123456789abcdef0123456789abcdef"
	oldTaskARN  = "arn:aws:ecs:eu-west-1:111122223333:task/2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b"
	clusterARN  = "arn:aws:ecs:eu-west-1:111122223333:cluster/orders"
	otherTaskID = "fedcba9876543210fedcba9876543210"
)

// longName is a cluster name of 255 characters, the longest ECS allows.
var longName = strings.Repeat("c", 255)

// createFromYAML creates a TaskProtectionWatch from a spec written as YAML, as
// kubectl would send it, and returns the API server's error.
func createFromYAML(t *testing.T, name, spec string) error {
	t.Helper()
	manifest := fmt.Sprintf("apiVersion: ecs.taskprotection.io/v1alpha1\nkind: TaskProtectionWatch\nmetadata:\n  name: %s\n  namespace: default\nspec:\n%s", name, indent(spec))
	object := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &object.Object); err != nil {
		t.Fatalf("test manifest is not YAML: %v\n%s", err, manifest)
	}
	err := env.Client.Create(context.Background(), object, client.FieldValidation("Strict"))
	if err == nil {
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), object) })
	}
	return err
}

func indent(text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i, line := range lines {
		lines[i] = "  " + line
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestCreateAndReadBack(t *testing.T) {
	ctx := context.Background()
	watch := &ecsv1alpha1.TaskProtectionWatch{
		ObjectMeta: metav1.ObjectMeta{Name: "read-back", Namespace: "default"},
		Spec: ecsv1alpha1.TaskProtectionWatchSpec{
			Cluster: "orders",
			Tasks:   []ecsv1alpha1.TaskReference{taskID, oldTaskARN},
			Region:  "eu-west-1",
		},
	}
	if err := env.Client.Create(ctx, watch); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, watch) })

	got := &ecsv1alpha1.TaskProtectionWatch{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(watch), got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Spec.Cluster != "orders" {
		t.Errorf("spec.cluster = %q, want orders", got.Spec.Cluster)
	}
	if len(got.Spec.Tasks) != 2 || got.Spec.Tasks[1] != oldTaskARN {
		t.Errorf("spec.tasks = %v, want [%s %s]", got.Spec.Tasks, taskID, oldTaskARN)
	}
	if got.Spec.Interval == nil || got.Spec.Interval.Duration.String() != "1m0s" {
		t.Errorf("spec.interval = %v, want the default 1m", got.Spec.Interval)
	}
	if got.Generation != 1 {
		t.Errorf("generation = %d, want 1", got.Generation)
	}
}

func TestValidationAccepts(t *testing.T) {
	cases := []struct {
		name string
		spec string
	}{
		{"cluster name and new task ID", "cluster: orders\ntasks: [" + taskID + "]"},
		{"old UUID task ID", "cluster: orders\ntasks: [" + oldTaskID + "]"},
		{"task ARNs of both formats", "cluster: orders\ntasks: [" + taskARN + ", " + oldTaskARN + "]"},
		{"cluster ARN with matching region", "cluster: " + clusterARN + "\nregion: eu-west-1\ntasks: [" + taskARN + "]"},
		{"cluster ARN without region", "cluster: " + clusterARN + "\ntasks: [" + taskID + "]"},
		{"GovCloud partition ARN", "cluster: arn:aws-us-gov:ecs:us-gov-west-1:111122223333:cluster/orders\ntasks: [" + taskID + "]"},
		{"minimum interval", "cluster: orders\ninterval: 10s\ntasks: [" + taskID + "]"},
		{"maximum interval", "cluster: orders\ninterval: 24h\ntasks: [" + taskID + "]"},
		{"suspended", "cluster: orders\nsuspend: true\ntasks: [" + taskID + "]"},
		{"cluster name with underscore and hyphen", "cluster: orders_prod-1\ntasks: [" + taskID + "]"},
		{"China partition ARNs", "cluster: arn:aws-cn:ecs:cn-north-1:111122223333:cluster/orders\ntasks: [arn:aws-cn:ecs:cn-north-1:111122223333:task/orders/" + taskID + "]"},
		{"interval of hours and minutes", "cluster: orders\ninterval: 1h30m\ntasks: [" + taskID + "]"},
		{"old-format task ARN names no cluster", "cluster: payments\ntasks: [" + oldTaskARN + "]"},
		{"longest cluster name in a task ARN", "cluster: " + longName + "\ntasks: [arn:aws-us-gov:ecs:us-gov-west-1:111122223333:task/" + longName + "/" + taskID + "]"},
		{"task ARNs of one region without spec.region", "cluster: orders\ntasks: [" + taskARN + ", " + oldTaskARN + "]"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := createFromYAML(t, fmt.Sprintf("accepted-%d", i), tc.spec); err != nil {
				t.Fatalf("create rejected a valid watch: %v", err)
			}
		})
	}
}

func TestValidationAcceptsThousandTasks(t *testing.T) {
	var tasks strings.Builder
	for i := range ecsv1alpha1.MaxTasksPerWatch {
		fmt.Fprintf(&tasks, "- \"%032x\"\n", i)
	}
	spec := "cluster: " + clusterARN + "\nregion: eu-west-1\ntasks:\n" + tasks.String()
	if err := createFromYAML(t, "thousand-tasks", spec); err != nil {
		t.Fatalf("create rejected 1000 tasks: %v", err)
	}
}

func TestValidationRejects(t *testing.T) {
	var tooMany strings.Builder
	for i := range ecsv1alpha1.MaxTasksPerWatch + 1 {
		fmt.Fprintf(&tooMany, "- \"%032x\"\n", i)
	}
	cases := []struct {
		name string
		spec string
		want string
	}{
		{"missing cluster", "tasks: [" + taskID + "]", "spec.cluster: Required value"},
		{"missing tasks", "cluster: orders", "spec.tasks: Required value"},
		{"empty tasks", "cluster: orders\ntasks: []", "spec.tasks: Invalid value: 0: spec.tasks in body should have at least 1 items"},
		{"more than 1000 tasks", "cluster: orders\ntasks:\n" + tooMany.String(), "must have at most 1000 items"},
		{"duplicate task", "cluster: orders\ntasks: [" + taskID + ", " + taskID + "]", "Duplicate value"},
		{"cluster with a space", "cluster: my orders\ntasks: [" + taskID + "]",
			"cluster my orders is not a cluster name or cluster ARN"},
		{"cluster ARN of another service", "cluster: arn:aws:ec2:eu-west-1:111122223333:cluster/orders\ntasks: [" + taskID + "]",
			"cluster arn:aws:ec2:eu-west-1:111122223333:cluster/orders is not a cluster name or cluster ARN"},
		{"task ID too short", "cluster: orders\ntasks: [0123456789abcdef]", "spec.tasks[0]"},
		{"task ID in upper case", "cluster: orders\ntasks: [0123456789ABCDEF0123456789ABCDEF]",
			"task 0123456789ABCDEF0123456789ABCDEF is not a task ID or task ARN"},
		{"task ARN of a service", "cluster: orders\ntasks: [arn:aws:ecs:eu-west-1:111122223333:service/orders/worker]",
			"task arn:aws:ecs:eu-west-1:111122223333:service/orders/worker is not a task ID or task ARN"},
		{"region contradicts cluster ARN", "cluster: " + clusterARN + "\nregion: us-east-1\ntasks: [" + taskID + "]",
			"region us-east-1 contradicts region eu-west-1 of cluster ARN " + clusterARN},
		{"region contradicts task ARN", "cluster: orders\nregion: us-east-1\ntasks: [" + taskID + ", " + taskARN + "]",
			"region us-east-1 contradicts region eu-west-1 of task ARN " + taskARN},
		{"task ARN region contradicts cluster ARN", "cluster: " + clusterARN + "\ntasks: [arn:aws:ecs:us-east-1:111122223333:task/orders/" + otherTaskID + "]",
			"is in aws:us-east-1:111122223333 but cluster ARN " + clusterARN + " is in aws:eu-west-1:111122223333 (partition:region:account)"},
		{"region that is not a region", "cluster: orders\nregion: Europe\ntasks: [" + taskID + "]",
			"region Europe is not an AWS region name"},
		{"interval below 10s", "cluster: orders\ninterval: 5s\ntasks: [" + taskID + "]",
			"interval 5s is out of range: use a duration from 10s to 24h"},
		{"interval above 24h", "cluster: orders\ninterval: 25h\ntasks: [" + taskID + "]",
			"interval 25h is out of range"},
		{"interval that is not a duration", "cluster: orders\ninterval: often\ntasks: [" + taskID + "]",
			"spec.interval"},
		{"unknown field", "cluster: orders\nclustr: orders\ntasks: [" + taskID + "]", "unknown field \"spec.clustr\""},
		{"interval in days", "cluster: orders\ninterval: 1d\ntasks: [" + taskID + "]",
			"interval 1d is not a duration: use a number and a unit of s, m or h"},
		{"negative interval", "cluster: orders\ninterval: -1m\ntasks: [" + taskID + "]",
			"interval -1m is not a duration"},
		{"partition typo", "cluster: arn:awsfoo:ecs:eu-west-1:111122223333:cluster/orders\ntasks: [" + taskID + "]",
			"cluster arn:awsfoo:ecs:eu-west-1:111122223333:cluster/orders is not a cluster name or cluster ARN"},
		{"task ARNs in two regions", "cluster: orders\ntasks: [" + taskARN + ", arn:aws:ecs:us-east-1:111122223333:task/orders/" + otherTaskID + "]",
			"task ARNs name more than one partition:region:account, such as aws:eu-west-1:111122223333"},
		{"task ARNs in two accounts", "cluster: orders\ntasks: [" + taskARN + ", arn:aws:ecs:eu-west-1:444455556666:task/orders/" + otherTaskID + "]",
			"task ARNs name more than one partition:region:account"},
		{"task ARN in another partition", "cluster: arn:aws-cn:ecs:cn-north-1:111122223333:cluster/orders\ntasks: [arn:aws:ecs:cn-north-1:111122223333:task/orders/" + otherTaskID + "]",
			"is in aws:cn-north-1:111122223333 but cluster ARN arn:aws-cn:ecs:cn-north-1:111122223333:cluster/orders is in aws-cn:cn-north-1:111122223333"},
		{"unknown partition", "cluster: arn:aws-bogus:ecs:eu-west-1:111122223333:cluster/orders\ntasks: [" + taskID + "]",
			"is not a cluster name or cluster ARN"},
		{"task ARN region that is not a region", "cluster: orders\ntasks: [arn:aws:ecs:x:111122223333:task/orders/" + otherTaskID + "]",
			"task arn:aws:ecs:x:111122223333:task/orders/" + otherTaskID + " is not a task ID or task ARN"},
		{"interval too large to parse", "cluster: orders\ninterval: 3000000h\ntasks: [" + taskID + "]",
			"interval 3000000h is out of range: use a duration from 10s to 24h"},
		{"task ARN of another cluster", "cluster: orders\ntasks: [arn:aws:ecs:eu-west-1:111122223333:task/payments/" + otherTaskID + "]",
			"task ARN arn:aws:ecs:eu-west-1:111122223333:task/payments/" + otherTaskID + " names cluster payments but the watch reads cluster orders"},
		{"task ARN of another cluster ARN", "cluster: " + clusterARN + "\ntasks: [arn:aws:ecs:eu-west-1:111122223333:task/payments/" + otherTaskID + "]",
			"names cluster payments but the watch reads cluster orders"},
		{"task ARN in another account", "cluster: " + clusterARN + "\ntasks: [arn:aws:ecs:eu-west-1:444455556666:task/orders/" + otherTaskID + "]",
			"is in aws:eu-west-1:444455556666 but cluster ARN " + clusterARN + " is in aws:eu-west-1:111122223333"},
		{"task ARN longer than any ECS ARN", "cluster: orders\ntasks: [arn:aws:ecs:eu-west-1:111122223333:task/" + longName + "x/" + taskID + "]",
			"is not a task ID or task ARN"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := createFromYAML(t, fmt.Sprintf("rejected-%d", i), tc.spec)
			if err == nil {
				t.Fatalf("create accepted an invalid watch; want an error containing %q", tc.want)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Errorf("error is not Invalid or BadRequest: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name the problem\n got: %v\nwant: %s", err, tc.want)
			}
		})
	}
}

func TestValidationRejectsEmptyStrings(t *testing.T) {
	cases := []struct {
		name  string
		spec  string
		field string
	}{
		{"empty cluster", "cluster: \"\"\ntasks: [" + taskID + "]", "spec.cluster"},
		{"empty region", "cluster: orders\nregion: \"\"\ntasks: [" + taskID + "]", "spec.region"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := createFromYAML(t, fmt.Sprintf("empty-%d", i), tc.spec)
			if err == nil {
				t.Fatal("create accepted an empty string")
			}
			if !strings.Contains(err.Error(), tc.field+": Invalid value: \"\": "+tc.field+" in body should be at least 1 chars long") {
				t.Errorf("error does not say the field is empty: %v", err)
			}
			if strings.Count(err.Error(), tc.field+":") != 1 {
				t.Errorf("error reports the empty field more than once: %v", err)
			}
		})
	}
}

func TestStatusCountsRejectNegative(t *testing.T) {
	ctx := context.Background()
	watch := &ecsv1alpha1.TaskProtectionWatch{
		ObjectMeta: metav1.ObjectMeta{Name: "negative-count", Namespace: "default"},
		Spec:       ecsv1alpha1.TaskProtectionWatchSpec{Cluster: "orders", Tasks: []ecsv1alpha1.TaskReference{taskID}},
	}
	if err := env.Client.Create(ctx, watch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, watch) })

	watch.Status.TaskCount = -5
	err := env.Client.Status().Update(ctx, watch)
	if err == nil {
		t.Fatal("status update accepted taskCount -5")
	}
	if !strings.Contains(err.Error(), "status.taskCount: Invalid value: -5") {
		t.Errorf("error does not name status.taskCount: %v", err)
	}
}

func TestValidationMalformedARNHasOneMessage(t *testing.T) {
	// Values that start like an ARN but are not one get the field's own
	// message, not an evaluation error from the rules that compare ARNs.
	cases := []struct {
		name string
		spec string
		want string
	}{
		{"short task ARN", "cluster: orders\ntasks: [\"arn:" + strings.Repeat("x", 40) + "\"]", "is not a task ID or task ARN"},
		{"short cluster ARN", "cluster: \"arn:aws:ecs\"\ntasks: [" + taskID + "]", "is not a cluster name or cluster ARN"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := createFromYAML(t, fmt.Sprintf("malformed-%d", i), tc.spec)
			if err == nil {
				t.Fatal("create accepted a malformed ARN")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name the problem: %v", err)
			}
			if strings.Contains(err.Error(), "evaluating rule") {
				t.Errorf("error carries a rule evaluation failure: %v", err)
			}
		})
	}
}
