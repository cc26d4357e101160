// Package ecsemulator is an in-memory Amazon ECS control plane for tests and
// demos. It serves the ECS API over AWS JSON 1.1 (POST with
// X-Amz-Target: AmazonEC2ContainerServiceV20141113.OPERATION), so the AWS
// CLI, boto3 and aws-sdk-go-v2 can talk to it through a custom endpoint.
//
// It models clusters, task definitions, REPLICA services, standalone tasks
// and task scale-in protection (GetTaskProtection, UpdateTaskProtection),
// with the ECS rules that matter to protection: protected tasks survive
// scale-in, protection expires by the emulator's Clock, enabling protection
// on more tasks than a service's desired count fails with
// DEPLOYMENT_BLOCKED, and standalone tasks fail with TASK_NOT_VALID. State is
// kept per region, taken from each request's SigV4 credential scope.
// Signatures are not verified.
//
// Tests drive faults (injected errors, throttling, latency, the early-ECS
// empty-list quirk) and the clock through methods such as InjectFault,
// SetThrottle and Clock().Advance, or over HTTP under /_emulator/ (see
// AdminPrefix).
//
// # State documents
//
// ParseState reads YAML or JSON in this shape; LoadState adds it:
//
//	account: "123456789012"        # optional; must match the emulator's account
//	clusters:
//	- name: orders
//	  region: eu-west-1            # default: Options.DefaultRegion
//	  taskArnFormat: new           # new (default): task/CLUSTER/32-hex-ID; old: task/UUID
//	  taskDefinitions:             # registered in the region, one revision per entry
//	  - family: worker
//	    containerDefinitions: [{name: app, image: worker:1}]  # default: app, FAMILY:latest
//	    networkMode: awsvpc        # optional, also cpu, memory, requiresCompatibilities
//	  services:
//	  - name: worker
//	    taskDefinition: worker     # FAMILY, FAMILY:REVISION or ARN; optional with one definition
//	    desiredCount: 3            # default: the number of tasks; missing tasks get random IDs
//	    launchType: FARGATE        # default EC2
//	    networkConfiguration:      # required when the task definition uses awsvpc
//	      awsvpcConfiguration: {subnets: [subnet-0123]}
//	    tasks:
//	    - id: 0123456789abcdef0123456789abcdef
//	      protectedForMinutes: 30  # 1-2880, from load time; 0 or absent: unprotected
//	    - id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
//	      taskArnFormat: old       # per-task override of the cluster's format
//	  standaloneTasks:             # RunTask-style tasks, which cannot be protected
//	  - taskDefinition: worker
//	    networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-0123]}}
//
// Unknown keys are rejected. LoadState validates the whole document before
// changing anything.
package ecsemulator
