package ecsemulator_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/taskprotection/ecs-taskprotection-controller/hack/ecsemulator"
)

func TestParseStateRejectsUnknownFields(t *testing.T) {
	_, err := ecsemulator.ParseState([]byte("clusters:\n- name: orders\n  servics: []\n"))
	if err == nil || !strings.Contains(err.Error(), "servics") {
		t.Errorf("error = %v, want one naming the unknown field servics", err)
	}
	s, err := ecsemulator.ParseState([]byte(`{"clusters":[{"name":"orders","region":"eu-west-1"}]}`))
	if err != nil || len(s.Clusters) != 1 || s.Clusters[0].Region != "eu-west-1" {
		t.Errorf("JSON state = %+v, %v", s, err)
	}
}

func TestLoadStateValidation(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  string
	}{
		{name: "ID in the wrong format", want: "does not fit the new task ARN format",
			state: "clusters: [{name: a, taskDefinitions: [{family: w}], services: [{name: s, tasks: [{id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}]}]}]"},
		{name: "duplicate task ID", want: "already exists",
			state: "clusters: [{name: a, taskDefinitions: [{family: w}], services: [{name: s, tasks: [{id: 0123456789abcdef0123456789abcdef}, {id: 0123456789abcdef0123456789abcdef}]}]}]"},
		{name: "protected standalone task", want: "standalone tasks cannot be protected",
			state: "clusters: [{name: a, taskDefinitions: [{family: w}], standaloneTasks: [{protectedForMinutes: 5}]}]"},
		{name: "protection too long", want: "protectedForMinutes 2881",
			state: "clusters: [{name: a, taskDefinitions: [{family: w}], services: [{name: s, tasks: [{protectedForMinutes: 2881}]}]}]"},
		{name: "unknown task definition", want: `task definition "ghost"`,
			state: "clusters: [{name: a, services: [{name: s, taskDefinition: ghost}]}]"},
		{name: "ambiguous task definition", want: "taskDefinition is required",
			state: "clusters: [{name: a, taskDefinitions: [{family: w}, {family: v}], services: [{name: s}]}]"},
		{name: "bad ARN format", want: `invalid taskArnFormat "short"`,
			state: "clusters: [{name: a, taskArnFormat: short}]"},
		{name: "bad region", want: `invalid region "Europe"`,
			state: "clusters: [{name: a, region: Europe}]"},
		{name: "awsvpc without subnets", want: "Network Configuration must be provided",
			state: "clusters: [{name: a, taskDefinitions: [{family: w, networkMode: awsvpc}], services: [{name: s}]}]"},
		{name: "account mismatch", want: `state account "999999999999"`,
			state: "account: \"999999999999\"\nclusters: [{name: a}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ecsemulator.New(ecsemulator.Options{Account: testAccount})
			s, err := ecsemulator.ParseState([]byte(tt.state))
			if err != nil {
				t.Fatalf("ParseState: %v", err)
			}
			err = e.LoadState(s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadState error = %v, want one containing %q", err, tt.want)
			}
			if snapshot := e.Snapshot(); len(snapshot.Clusters) != 0 {
				t.Errorf("a rejected document left clusters behind: %+v", snapshot.Clusters)
			}
		})
	}
}

func TestLoadStateBuildsScenario(t *testing.T) {
	f := newFixture(t)
	s, err := ecsemulator.ParseState([]byte(`
clusters:
- name: orders
  region: eu-west-1
  taskDefinitions: [{family: worker, containerDefinitions: [{name: app, image: "worker:1"}]}]
  services:
  - name: worker
    desiredCount: 1
    tasks:
    - {id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, protectedForMinutes: 10}
    - {id: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}
  standaloneTasks: [{id: cccccccccccccccccccccccccccccccc}]
- name: spare
  taskDefinitions: [{family: api}]
  services: [{name: api, taskDefinition: "api:1", desiredCount: 2}]
`))
	if err != nil {
		t.Fatalf("ParseState: %v", err)
	}
	if err := f.emulator.LoadState(s); err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	// Desired count 1 with A protected and B not: enabling B is blocked.
	out, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: []string{"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}, ProtectionEnabled: true,
	})
	if err != nil {
		t.Fatalf("UpdateTaskProtection: %v", err)
	}
	wantB := "arn:aws:ecs:eu-west-1:111122223333:task/orders/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	if len(out.ProtectedTasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Arn) != wantB ||
		aws.ToString(out.Failures[0].Reason) != "DEPLOYMENT_BLOCKED" {
		t.Errorf("answer = %+v / %+v, want only a DEPLOYMENT_BLOCKED failure for B", out.ProtectedTasks, out.Failures)
	}
	get := f.getProtection(t, "cccccccccccccccccccccccccccccccc")
	if len(get.Failures) != 1 || aws.ToString(get.Failures[0].Reason) != "TASK_NOT_VALID" {
		t.Errorf("standalone answer = %+v, want TASK_NOT_VALID", get.Failures)
	}
	// The cluster without a region went to the default region, and its
	// service started its desired count with random IDs.
	spare, err := f.clientFor("us-east-1").ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("spare")})
	if err != nil {
		t.Fatalf("ListTasks in us-east-1: %v", err)
	}
	if len(spare.TaskArns) != 2 || !strings.HasPrefix(spare.TaskArns[0], "arn:aws:ecs:us-east-1:111122223333:task/spare/") {
		t.Errorf("spare tasks = %v, want 2 in us-east-1", spare.TaskArns)
	}
}
