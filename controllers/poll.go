package controllers

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
)

// pollResult holds the protection data of one poll, keyed by task ID so that
// results are matched to requested tasks by ID and never by position.
type pollResult struct {
	protected map[string]types.ProtectedTask
	failures  map[string]types.Failure
	calls     int
}

// pollError is a failed poll with its classification and the region it
// called.
type pollError struct {
	class  ecsclient.Class
	region string
	err    error
}

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

// uniqueTasks returns the watch's tasks without entries that name a task
// already listed, by ID or by ARN, in their order in spec.tasks.
func uniqueTasks(watch *ecsv1alpha1.TaskProtectionWatch) []string {
	seen := make(map[string]bool, len(watch.Spec.Tasks))
	tasks := make([]string, 0, len(watch.Spec.Tasks))
	for _, task := range watch.Spec.Tasks {
		id := taskref.ID(string(task))
		if !seen[id] {
			seen[id] = true
			tasks = append(tasks, string(task))
		}
	}
	return tasks
}

// poll reads the protection of tasks in GetTaskProtection calls of at most
// MaxTasksPerCall tasks. A poll fails as a whole when any call fails, so
// status never mixes data from two points in time.
func poll(ctx context.Context, api ecsclient.API, region, cluster string, tasks []string) (*pollResult, error) {
	result := &pollResult{
		protected: make(map[string]types.ProtectedTask, len(tasks)),
		failures:  map[string]types.Failure{},
	}
	for chunk := range slices.Chunk(tasks, ecsv1alpha1.MaxTasksPerCall) {
		out, err := api.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{
			Cluster: aws.String(cluster),
			Tasks:   chunk,
		})
		result.calls++
		if err != nil {
			return result, &pollError{
				class:  ecsclient.Classify(err),
				region: region,
				err:    fmt.Errorf("GetTaskProtection for %d tasks in cluster %s in %s: %w", len(chunk), cluster, region, err),
			}
		}
		for _, task := range out.ProtectedTasks {
			id := taskref.ID(aws.ToString(task.TaskArn))
			if id != "" {
				result.protected[id] = task
			}
		}
		for _, failure := range out.Failures {
			id := taskref.ID(aws.ToString(failure.Arn))
			if id != "" {
				result.failures[id] = failure
			}
		}
	}
	return result, nil
}
