// Package taskref parses the ECS task and cluster references a
// TaskProtectionWatch holds: task IDs, task ARNs in the old and new formats,
// cluster names and cluster ARNs.
package taskref

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// ID returns the task ID of a task reference: the reference itself when it
// is an ID, or the part after the last slash of a task ARN. Both ARN formats
// end in the ID: arn:aws:ecs:REGION:ACCOUNT:task/ID (old) and
// arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID (new).
func ID(ref string) string {
	if !arn.IsARN(ref) {
		return ref
	}
	return ref[strings.LastIndex(ref, "/")+1:]
}

// Region returns the region of an ARN, or "" when ref is not an ARN.
func Region(ref string) string {
	parsed, err := arn.Parse(ref)
	if err != nil {
		return ""
	}
	return parsed.Region
}

// ResolveRegion picks the region to call ECS in: the explicit region, else the
// region of the cluster ARN, else the region of the first task ARN, else the
// fallback. It returns "" when none of them names a region.
func ResolveRegion(explicit, cluster string, tasks []string, fallback string) string {
	if explicit != "" {
		return explicit
	}
	if region := Region(cluster); region != "" {
		return region
	}
	for _, task := range tasks {
		if region := Region(task); region != "" {
			return region
		}
	}
	return fallback
}
