package ecsemulator

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Task ARN formats. ECS accounts created since 2021 only use the new format,
// arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID with a 32-character hexadecimal
// ID. Older accounts can still have arn:aws:ecs:REGION:ACCOUNT:task/ID with a
// UUID as ID.
const (
	TaskARNFormatNew = "new"
	TaskARNFormatOld = "old"
)

var (
	newTaskIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	oldTaskIDPattern = regexp.MustCompile(
		`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// namePattern is the ECS rule for cluster, service and family names.
	namePattern   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// arn is the part of an Amazon Resource Name that the emulator reads.
type arn struct {
	region   string
	account  string
	resource string // e.g. "task/orders/0123…" or "cluster/orders"
}

// parseARN splits s into its fields and returns false when s is not an ECS
// ARN.
func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "ecs" {
		return arn{}, false
	}
	return arn{region: parts[3], account: parts[4], resource: parts[5]}, true
}

// taskRef is a task as a request names it: a bare ID or a full ARN.
type taskRef struct {
	input   string // exactly as given
	id      string
	cluster string // cluster name from a new-format ARN, otherwise empty
	region  string // from an ARN, otherwise empty
	account string // from an ARN, otherwise empty
}

// isTaskID reports whether s has the shape of a task ID in either format.
func isTaskID(s string) bool {
	return newTaskIDPattern.MatchString(s) || oldTaskIDPattern.MatchString(s)
}

// parseTaskRef accepts a task ID or ARN of either format.
func parseTaskRef(s string) (taskRef, error) {
	ref := taskRef{input: s}
	if !strings.HasPrefix(s, "arn:") {
		if !isTaskID(s) {
			return ref, fmt.Errorf("invalid task %q: expected a task ID (32 lowercase "+
				"hexadecimal characters or a UUID) or a task ARN", s)
		}
		ref.id = s
		return ref, nil
	}
	a, ok := parseARN(s)
	resource, isTask := strings.CutPrefix(a.resource, "task/")
	if !ok || !isTask {
		return ref, fmt.Errorf("invalid task ARN %q: expected "+
			"arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID or arn:aws:ecs:REGION:ACCOUNT:task/ID", s)
	}
	ref.region, ref.account = a.region, a.account
	cluster, id, hasCluster := strings.Cut(resource, "/")
	if !hasCluster {
		id = resource
	} else {
		ref.cluster = cluster
	}
	if (hasCluster && !namePattern.MatchString(cluster)) || !isTaskID(id) {
		return ref, fmt.Errorf("invalid task ARN %q: the task ID must be 32 lowercase "+
			"hexadecimal characters or a UUID, after an optional cluster name", s)
	}
	ref.id = id
	return ref, nil
}

// clusterNameFromRef returns the cluster name that a short name or cluster
// ARN refers to, and the region and account of an ARN (empty for a name).
func clusterNameFromRef(s string) (name, region, account string, err error) {
	if !strings.HasPrefix(s, "arn:") {
		return s, "", "", nil
	}
	a, ok := parseARN(s)
	resource, isCluster := strings.CutPrefix(a.resource, "cluster/")
	if !ok || !isCluster || !namePattern.MatchString(resource) {
		return "", "", "", fmt.Errorf("invalid cluster ARN %q: expected "+
			"arn:aws:ecs:REGION:ACCOUNT:cluster/NAME", s)
	}
	return resource, a.region, a.account, nil
}

// taskDefinitionRef is a task definition as a request names it: FAMILY,
// FAMILY:REVISION or a full ARN. revision is 0 for the latest active one.
type taskDefinitionRef struct {
	family   string
	revision int
	region   string
	account  string
}

func parseTaskDefinitionRef(s string) (taskDefinitionRef, error) {
	var ref taskDefinitionRef
	rest := s
	if strings.HasPrefix(s, "arn:") {
		a, ok := parseARN(s)
		resource, isTaskDef := strings.CutPrefix(a.resource, "task-definition/")
		if !ok || !isTaskDef {
			return ref, fmt.Errorf("invalid task definition ARN %q: expected "+
				"arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION", s)
		}
		ref.region, ref.account = a.region, a.account
		rest = resource
	}
	family, revision, hasRevision := strings.Cut(rest, ":")
	if !namePattern.MatchString(family) {
		return ref, fmt.Errorf("invalid task definition %q: expected FAMILY, "+
			"FAMILY:REVISION or a task definition ARN", s)
	}
	ref.family = family
	if hasRevision {
		n, err := strconv.Atoi(revision)
		if err != nil || n < 1 {
			return ref, fmt.Errorf("invalid task definition %q: the revision must "+
				"be a positive integer", s)
		}
		ref.revision = n
	}
	return ref, nil
}

func clusterARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", region, account, name)
}

func serviceARN(region, account, cluster, name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", region, account, cluster, name)
}

func taskDefinitionARN(region, account, family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, family, revision)
}

// taskARN builds a task ARN in the given format: the old format has no
// cluster segment.
func taskARN(region, account, cluster, id, format string) string {
	if format == TaskARNFormatOld {
		return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s", region, account, id)
	}
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, account, cluster, id)
}

func containerARN(region, account, cluster, taskID string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s",
		region, account, cluster, taskID, uuid.NewString())
}

// newTaskID returns a random task ID in the given format.
func newTaskID(format string) string {
	if format == TaskARNFormatOld {
		return uuid.NewString()
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// validTaskIDForFormat reports whether id fits the cluster's task ARN format.
func validTaskIDForFormat(id, format string) bool {
	if format == TaskARNFormatOld {
		return oldTaskIDPattern.MatchString(id)
	}
	return newTaskIDPattern.MatchString(id)
}
