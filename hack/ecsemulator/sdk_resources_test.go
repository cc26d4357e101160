package ecsemulator_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// registerWorker creates cluster orders and registers an awsvpc task
// definition of family worker.
func registerWorker(t *testing.T, f *fixture) *types.TaskDefinition {
	t.Helper()
	if _, err := f.client.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("orders")}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	out, err := f.client.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("worker"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("worker:1")}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return out.TaskDefinition
}

var subnets = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

func createWorkerService(t *testing.T, f *fixture, desired int32) *types.Service {
	t.Helper()
	out, err := f.client.CreateService(f.ctx, &ecs.CreateServiceInput{
		Cluster:              aws.String("orders"),
		ServiceName:          aws.String("worker"),
		TaskDefinition:       aws.String("worker"),
		DesiredCount:         aws.Int32(desired),
		LaunchType:           types.LaunchTypeFargate,
		NetworkConfiguration: subnets,
	})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return out.Service
}

func listTasks(t *testing.T, f *fixture, in *ecs.ListTasksInput) []string {
	t.Helper()
	if in.Cluster == nil {
		in.Cluster = aws.String("orders")
	}
	out, err := f.client.ListTasks(f.ctx, in)
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	return out.TaskArns
}

func TestClusterLifecycle(t *testing.T) {
	f := newFixture(t)
	created, err := f.client.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("orders")})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	wantARN := "arn:aws:ecs:eu-west-1:111122223333:cluster/orders"
	if got := aws.ToString(created.Cluster.ClusterArn); got != wantARN {
		t.Errorf("clusterArn = %s, want %s", got, wantARN)
	}
	if got := aws.ToString(created.Cluster.Status); got != "ACTIVE" {
		t.Errorf("status = %s, want ACTIVE", got)
	}
	again, err := f.client.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("orders")})
	if err != nil || aws.ToString(again.Cluster.ClusterArn) != wantARN {
		t.Errorf("repeated CreateCluster = %v, %v; want the same cluster", again, err)
	}

	f.serviceTasks(t, 2)
	described, err := f.client.DescribeClusters(f.ctx, &ecs.DescribeClustersInput{Clusters: []string{wantARN, "ghost"}})
	if err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	if len(described.Clusters) != 1 {
		t.Fatalf("clusters = %d, want 1", len(described.Clusters))
	}
	if got := described.Clusters[0].RunningTasksCount; got != 2 {
		t.Errorf("runningTasksCount = %d, want 2", got)
	}
	if got := described.Clusters[0].ActiveServicesCount; got != 1 {
		t.Errorf("activeServicesCount = %d, want 1", got)
	}
	if len(described.Failures) != 1 || aws.ToString(described.Failures[0].Reason) != "MISSING" ||
		aws.ToString(described.Failures[0].Arn) != "arn:aws:ecs:eu-west-1:111122223333:cluster/ghost" {
		t.Errorf("failures = %+v, want one MISSING for cluster/ghost", described.Failures)
	}

	_, err = f.client.DeleteCluster(f.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("orders")})
	var hasServices *types.ClusterContainsServicesException
	if !errors.As(err, &hasServices) {
		t.Fatalf("DeleteCluster with a service: error = %v, want ClusterContainsServicesException", err)
	}
	if _, err := f.client.DeleteService(f.ctx, &ecs.DeleteServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), Force: aws.Bool(true),
	}); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	deleted, err := f.client.DeleteCluster(f.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("orders")})
	if err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if got := aws.ToString(deleted.Cluster.Status); got != "INACTIVE" {
		t.Errorf("deleted cluster status = %s, want INACTIVE", got)
	}
	_, err = f.client.DeleteCluster(f.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("orders")})
	var notFound *types.ClusterNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("second DeleteCluster: error = %v, want ClusterNotFoundException", err)
	}
}

func TestTaskDefinitions(t *testing.T) {
	f := newFixture(t)
	first := registerWorker(t, f)
	if got := aws.ToString(first.TaskDefinitionArn); got != "arn:aws:ecs:eu-west-1:111122223333:task-definition/worker:1" {
		t.Errorf("taskDefinitionArn = %s", got)
	}
	if first.Revision != 1 || aws.ToString(first.Family) != "worker" {
		t.Errorf("family:revision = %s:%d, want worker:1", aws.ToString(first.Family), first.Revision)
	}
	if first.NetworkMode != types.NetworkModeAwsvpc || aws.ToString(first.Cpu) != "256" {
		t.Errorf("networkMode, cpu = %s, %s; want the registered awsvpc, 256", first.NetworkMode, aws.ToString(first.Cpu))
	}
	if len(first.ContainerDefinitions) != 1 || aws.ToString(first.ContainerDefinitions[0].Image) != "worker:1" {
		t.Errorf("containerDefinitions = %+v", first.ContainerDefinitions)
	}
	second, err := f.client.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("worker"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("worker:2")}},
	})
	if err != nil || second.TaskDefinition.Revision != 2 {
		t.Fatalf("second RegisterTaskDefinition = %v, %v; want revision 2", second, err)
	}
	for ref, wantImage := range map[string]string{
		"worker":   "worker:2",
		"worker:1": "worker:1",
		"arn:aws:ecs:eu-west-1:111122223333:task-definition/worker:2": "worker:2",
	} {
		out, err := f.client.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil {
			t.Errorf("DescribeTaskDefinition(%s): %v", ref, err)
			continue
		}
		if got := aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image); got != wantImage {
			t.Errorf("DescribeTaskDefinition(%s) image = %s, want %s", ref, got, wantImage)
		}
	}
	_, err = f.client.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("worker:9")})
	var clientErr *types.ClientException
	if !errors.As(err, &clientErr) || clientErr.ErrorMessage() != "Unable to describe task definition." {
		t.Errorf("DescribeTaskDefinition(worker:9): error = %v, want ClientException", err)
	}
	_, err = f.client.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("worker"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app")}},
	})
	if !errors.As(err, &clientErr) || !strings.Contains(clientErr.ErrorMessage(), "image") {
		t.Errorf("RegisterTaskDefinition without image: error = %v, want ClientException about the image", err)
	}
}

func TestServiceScaling(t *testing.T) {
	f := newFixture(t)
	registerWorker(t, f)
	svc := createWorkerService(t, f, 3)
	if svc.RunningCount != 3 || svc.DesiredCount != 3 {
		t.Errorf("running/desired = %d/%d, want 3/3", svc.RunningCount, svc.DesiredCount)
	}
	if got := aws.ToString(svc.ServiceArn); got != "arn:aws:ecs:eu-west-1:111122223333:service/orders/worker" {
		t.Errorf("serviceArn = %s", got)
	}
	if svc.LaunchType != types.LaunchTypeFargate || svc.NetworkConfiguration == nil ||
		svc.NetworkConfiguration.AwsvpcConfiguration.Subnets[0] != "subnet-1" {
		t.Errorf("launchType/networkConfiguration not kept: %s %+v", svc.LaunchType, svc.NetworkConfiguration)
	}
	tasks := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")})
	if len(tasks) != 3 {
		t.Fatalf("service tasks = %d, want 3", len(tasks))
	}
	described, err := f.client.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("orders"), Tasks: tasks})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	for _, task := range described.Tasks {
		if aws.ToString(task.Group) != "service:worker" || aws.ToString(task.LastStatus) != "RUNNING" {
			t.Errorf("task %s group/lastStatus = %s/%s, want service:worker/RUNNING",
				aws.ToString(task.TaskArn), aws.ToString(task.Group), aws.ToString(task.LastStatus))
		}
		if !strings.HasPrefix(aws.ToString(task.StartedBy), "ecs-svc/") {
			t.Errorf("startedBy = %s, want ecs-svc/…", aws.ToString(task.StartedBy))
		}
	}

	// Protect two tasks, then scale to 1: ECS stops only the unprotected
	// one and the service stays above its desired count.
	if _, err := f.client.UpdateTaskProtection(f.ctx, &ecs.UpdateTaskProtectionInput{
		Cluster: aws.String("orders"), Tasks: tasks[:2], ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(10),
	}); err != nil {
		t.Fatalf("UpdateTaskProtection: %v", err)
	}
	updated, err := f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), DesiredCount: aws.Int32(1),
	})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if updated.Service.DesiredCount != 1 || updated.Service.RunningCount != 2 {
		t.Errorf("after scale-in desired/running = %d/%d, want 1/2", updated.Service.DesiredCount, updated.Service.RunningCount)
	}
	running := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")})
	if got, want := sortedCopy(running), sortedCopy(tasks[:2]); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("running after scale-in = %v, want the protected %v", got, want)
	}
	stopped := listTasks(t, f, &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped})
	if len(stopped) != 1 || stopped[0] != tasks[2] {
		t.Errorf("stopped = %v, want [%s]", stopped, tasks[2])
	}

	// After protection expires, the next UpdateService finishes the
	// scale-in.
	f.emulator.Clock().Advance(11 * time.Minute)
	if running := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")}); len(running) != 2 {
		t.Errorf("running after protection expired = %d, want 2 until the service is updated", len(running))
	}
	if _, err := f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"),
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if running := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")}); len(running) != 1 {
		t.Errorf("running after UpdateService = %d, want 1", len(running))
	}

	// Scale-out starts new RUNNING tasks.
	if _, err := f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), DesiredCount: aws.Int32(4),
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if running := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")}); len(running) != 4 {
		t.Errorf("running after scale-out = %d, want 4", len(running))
	}

	_, err = f.client.DeleteService(f.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("orders"), Service: aws.String("worker")})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || invalid.ErrorMessage() != "The service cannot be stopped while it is scaled above 0." {
		t.Errorf("DeleteService without force: error = %v, want InvalidParameterException", err)
	}
	deleted, err := f.client.DeleteService(f.ctx, &ecs.DeleteServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), Force: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("DeleteService with force: %v", err)
	}
	if got := aws.ToString(deleted.Service.Status); got != "DRAINING" {
		t.Errorf("deleted service status = %s, want DRAINING", got)
	}
	if running := listTasks(t, f, &ecs.ListTasksInput{}); len(running) != 0 {
		t.Errorf("running after DeleteService = %d, want 0", len(running))
	}
	_, err = f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String("orders"), Service: aws.String("worker"), DesiredCount: aws.Int32(1),
	})
	var notActive *types.ServiceNotActiveException
	if !errors.As(err, &notActive) {
		t.Errorf("UpdateService on a deleted service: error = %v, want ServiceNotActiveException", err)
	}
}

func TestServiceValidation(t *testing.T) {
	f := newFixture(t)
	registerWorker(t, f)
	tests := []struct {
		name    string
		in      *ecs.CreateServiceInput
		want    string
		message string
	}{
		{name: "unknown task definition", want: "InvalidParameterException", message: "TaskDefinition not found",
			in: &ecs.CreateServiceInput{Cluster: aws.String("orders"), ServiceName: aws.String("a"),
				TaskDefinition: aws.String("ghost"), DesiredCount: aws.Int32(1)}},
		{name: "missing task definition", want: "InvalidParameterException", message: "TaskDefinition is required",
			in: &ecs.CreateServiceInput{Cluster: aws.String("orders"), ServiceName: aws.String("a"),
				DesiredCount: aws.Int32(1)}},
		{name: "awsvpc without network configuration", want: "InvalidParameterException",
			message: "Network Configuration must be provided",
			in: &ecs.CreateServiceInput{Cluster: aws.String("orders"), ServiceName: aws.String("a"),
				TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1)}},
		{name: "unknown cluster", want: "ClusterNotFoundException", message: "Cluster not found.",
			in: &ecs.CreateServiceInput{Cluster: aws.String("ghost"), ServiceName: aws.String("a"),
				TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(1)}},
		{name: "negative desired count", want: "InvalidParameterException", message: "desiredCount -1",
			in: &ecs.CreateServiceInput{Cluster: aws.String("orders"), ServiceName: aws.String("a"),
				TaskDefinition: aws.String("worker"), DesiredCount: aws.Int32(-1), NetworkConfiguration: subnets}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.CreateService(f.ctx, tt.in)
			wantCode(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q does not contain %q", err.Error(), tt.message)
			}
		})
	}
	createWorkerService(t, f, 1)
	_, err := f.client.CreateService(f.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("orders"), ServiceName: aws.String("worker"), TaskDefinition: aws.String("worker"),
		DesiredCount: aws.Int32(1), NetworkConfiguration: subnets,
	})
	wantCode(t, err, "InvalidParameterException")
	_, err = f.client.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("orders"), Service: aws.String("ghost")})
	var notFound *types.ServiceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("UpdateService(ghost): error = %v, want ServiceNotFoundException", err)
	}
}

func TestStandaloneTasksAndListing(t *testing.T) {
	f := newFixture(t)
	registerWorker(t, f)
	createWorkerService(t, f, 2)
	run, err := f.client.RunTask(f.ctx, &ecs.RunTaskInput{
		Cluster: aws.String("orders"), TaskDefinition: aws.String("worker:1"), Count: aws.Int32(3),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: subnets, StartedBy: aws.String("batch-job"),
	})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(run.Tasks) != 3 {
		t.Fatalf("RunTask tasks = %d, want 3", len(run.Tasks))
	}
	if got := aws.ToString(run.Tasks[0].Group); got != "family:worker" {
		t.Errorf("standalone group = %s, want family:worker", got)
	}
	if got := aws.ToString(run.Tasks[0].StartedBy); got != "batch-job" {
		t.Errorf("startedBy = %s, want batch-job", got)
	}
	if run.Tasks[0].CreatedAt == nil || !run.Tasks[0].CreatedAt.Equal(testStart) {
		t.Errorf("createdAt = %v, want %v", run.Tasks[0].CreatedAt, testStart)
	}

	// Paging: 5 tasks in pages of 2.
	var all []string
	var token *string
	for page := 0; ; page++ {
		out, err := f.client.ListTasks(f.ctx, &ecs.ListTasksInput{
			Cluster: aws.String("orders"), MaxResults: aws.Int32(2), NextToken: token,
		})
		if err != nil {
			t.Fatalf("ListTasks page %d: %v", page, err)
		}
		all = append(all, out.TaskArns...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
		if page > 5 {
			t.Fatal("ListTasks pages do not end")
		}
	}
	if len(all) != 5 {
		t.Errorf("paged tasks = %d, want 5", len(all))
	}
	if got := listTasks(t, f, &ecs.ListTasksInput{StartedBy: aws.String("batch-job")}); len(got) != 3 {
		t.Errorf("startedBy filter = %d tasks, want 3", len(got))
	}

	stopped, err := f.client.StopTask(f.ctx, &ecs.StopTaskInput{
		Cluster: aws.String("orders"), Task: run.Tasks[0].TaskArn, Reason: aws.String("done"),
	})
	if err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if aws.ToString(stopped.Task.LastStatus) != "STOPPED" || aws.ToString(stopped.Task.StoppedReason) != "done" {
		t.Errorf("stopped task = %s/%s, want STOPPED/done",
			aws.ToString(stopped.Task.LastStatus), aws.ToString(stopped.Task.StoppedReason))
	}
	if stopped.Task.StoppedAt == nil || !stopped.Task.StoppedAt.Equal(testStart) {
		t.Errorf("stoppedAt = %v, want %v", stopped.Task.StoppedAt, testStart)
	}
	_, err = f.client.StopTask(f.ctx, &ecs.StopTaskInput{
		Cluster: aws.String("orders"), Task: aws.String("0123456789abcdef0123456789abcdef"),
	})
	wantCode(t, err, "InvalidParameterException")

	// A stopped task stays visible for the retention, then reads MISSING.
	stoppedID := aws.ToString(run.Tasks[0].TaskArn)
	f.emulator.Clock().Advance(59 * time.Minute)
	described, err := f.client.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{
		Cluster: aws.String("orders"), Tasks: []string{stoppedID},
	})
	if err != nil || len(described.Tasks) != 1 || aws.ToString(described.Tasks[0].LastStatus) != "STOPPED" {
		t.Fatalf("DescribeTasks within retention = %+v, %v; want the STOPPED task", described, err)
	}
	f.emulator.Clock().Advance(time.Minute)
	described, err = f.client.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{
		Cluster: aws.String("orders"), Tasks: []string{stoppedID},
	})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(described.Tasks) != 0 || len(described.Failures) != 1 ||
		aws.ToString(described.Failures[0].Reason) != "MISSING" || aws.ToString(described.Failures[0].Arn) != stoppedID {
		t.Errorf("DescribeTasks after retention = %+v, want one MISSING failure for %s", described, stoppedID)
	}
	if got := listTasks(t, f, &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}); len(got) != 0 {
		t.Errorf("stopped tasks after retention = %v, want none", got)
	}

	_, err = f.client.RunTask(f.ctx, &ecs.RunTaskInput{
		Cluster: aws.String("orders"), TaskDefinition: aws.String("worker"), Count: aws.Int32(11),
	})
	wantCode(t, err, "InvalidParameterException")
	_, err = f.client.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("orders"), ServiceName: aws.String("ghost")})
	wantCode(t, err, "ServiceNotFoundException")
}

func TestStopServiceTaskIsReplaced(t *testing.T) {
	f := newFixture(t)
	arns := f.serviceTasks(t, 2)
	if _, err := f.client.StopTask(f.ctx, &ecs.StopTaskInput{Cluster: aws.String("orders"), Task: aws.String(arns[0])}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	running := listTasks(t, f, &ecs.ListTasksInput{ServiceName: aws.String("worker")})
	if len(running) != 2 {
		t.Fatalf("running = %d, want 2 after the scheduler replaced the stopped task", len(running))
	}
	for _, arn := range running {
		if arn == arns[0] {
			t.Errorf("stopped task %s still listed as running", arn)
		}
	}
}
