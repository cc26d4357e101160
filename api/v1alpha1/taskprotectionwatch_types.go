package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxTasksPerWatch is the largest number of tasks one TaskProtectionWatch
// names. The controller reads them in GetTaskProtection calls of at most
// MaxTasksPerCall.
const MaxTasksPerWatch = 1000

// MaxTasksPerCall is the largest number of tasks ECS GetTaskProtection accepts
// in one request.
const MaxTasksPerCall = 100

// TaskReference is an ECS task ID or task ARN. IDs are 32 lowercase
// hexadecimal characters, or a UUID for tasks created before ECS's long ARN
// format. ARNs may be in either format:
// arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID or arn:aws:ecs:REGION:ACCOUNT:task/ID.
// +kubebuilder:validation:MinLength=32
// +kubebuilder:validation:MaxLength=350
// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$') || self.matches('^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:ecs:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:task/([A-Za-z0-9_-]{1,255}/[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$')",messageExpression="'task ' + self + ' is not a task ID or task ARN: use the 32-character lowercase hexadecimal task ID, an older UUID task ID, or a task ARN such as arn:aws:ecs:us-east-1:123456789012:task/CLUSTER/TASK_ID'"
type TaskReference string

// TaskProtectionWatchSpec names the ECS cluster and tasks to watch.
// +kubebuilder:validation:XValidation:rule="!has(self.region) || !(size(self.cluster.split(':')) >= 6) || self.cluster.split(':')[3] == self.region",messageExpression="'region ' + self.region + ' contradicts region ' + self.cluster.split(':')[3] + ' of cluster ARN ' + self.cluster + ': remove spec.region or make the two equal'"
// +kubebuilder:validation:XValidation:rule="!has(self.region) || self.tasks.all(t, !(size(t.split(':')) >= 6) || t.split(':')[3] == self.region)",messageExpression="'region ' + self.region + ' contradicts region ' + self.tasks.filter(t, size(t.split(':')) >= 6 && t.split(':')[3] != self.region)[0].split(':')[3] + ' of task ARN ' + self.tasks.filter(t, size(t.split(':')) >= 6 && t.split(':')[3] != self.region)[0] + ': remove spec.region or make the two equal'"
// +kubebuilder:validation:XValidation:rule="!(size(self.cluster.split(':')) >= 6) || self.tasks.all(t, !(size(t.split(':')) >= 6) || (t.split(':')[1] == self.cluster.split(':')[1] && t.split(':')[3] == self.cluster.split(':')[3] && t.split(':')[4] == self.cluster.split(':')[4]))",messageExpression="'task ARN ' + self.tasks.filter(t, size(t.split(':')) >= 6 && !(t.split(':')[1] == self.cluster.split(':')[1] && t.split(':')[3] == self.cluster.split(':')[3] && t.split(':')[4] == self.cluster.split(':')[4]))[0] + ' is in ' + self.tasks.filter(t, size(t.split(':')) >= 6 && !(t.split(':')[1] == self.cluster.split(':')[1] && t.split(':')[3] == self.cluster.split(':')[3] && t.split(':')[4] == self.cluster.split(':')[4]))[0].split(':')[1] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6 && !(t.split(':')[1] == self.cluster.split(':')[1] && t.split(':')[3] == self.cluster.split(':')[3] && t.split(':')[4] == self.cluster.split(':')[4]))[0].split(':')[3] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6 && !(t.split(':')[1] == self.cluster.split(':')[1] && t.split(':')[3] == self.cluster.split(':')[3] && t.split(':')[4] == self.cluster.split(':')[4]))[0].split(':')[4] + ' but cluster ARN ' + self.cluster + ' is in ' + self.cluster.split(':')[1] + ':' + self.cluster.split(':')[3] + ':' + self.cluster.split(':')[4] + ' (partition:region:account): a cluster and its tasks share all three'"
// +kubebuilder:validation:XValidation:rule="size(self.cluster.split(':')) >= 6 || !self.tasks.exists(t, size(t.split(':')) >= 6) || sets.equivalent(self.tasks.filter(t, size(t.split(':')) >= 6).map(t, t.split(':')[1] + ':' + t.split(':')[3] + ':' + t.split(':')[4]), [self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[1] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[3] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[4]])",messageExpression="'task ARNs name more than one partition:region:account, such as ' + self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[1] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[3] + ':' + self.tasks.filter(t, size(t.split(':')) >= 6)[0].split(':')[4] + ': a watch reads one cluster, so use one watch per cluster'"
// +kubebuilder:validation:XValidation:rule="self.tasks.all(t, !(size(t.split(':')) >= 6) || size(t.split('/')) != 3 || t.split('/')[1] == self.cluster.substring(self.cluster.lastIndexOf('/') + 1))",messageExpression="'task ARN ' + self.tasks.filter(t, size(t.split(':')) >= 6 && size(t.split('/')) == 3 && t.split('/')[1] != self.cluster.substring(self.cluster.lastIndexOf('/') + 1))[0] + ' names cluster ' + self.tasks.filter(t, size(t.split(':')) >= 6 && size(t.split('/')) == 3 && t.split('/')[1] != self.cluster.substring(self.cluster.lastIndexOf('/') + 1))[0].split('/')[1] + ' but the watch reads cluster ' + self.cluster.substring(self.cluster.lastIndexOf('/') + 1) + ': a watch reads one cluster, so use one watch per cluster'"
type TaskProtectionWatchSpec struct {
	// cluster is the short name or full ARN of the ECS cluster that runs the
	// tasks, for example "orders" or
	// "arn:aws:ecs:eu-west-1:111122223333:cluster/orders".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=400
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[A-Za-z0-9_-]{1,255}$') || self.matches('^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:ecs:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$')",messageExpression="'cluster ' + self + ' is not a cluster name or cluster ARN: use up to 255 letters, numbers, hyphens and underscores, or an ARN such as arn:aws:ecs:us-east-1:123456789012:cluster/NAME'"
	Cluster string `json:"cluster"`

	// tasks lists the ECS tasks to watch, as task IDs or task ARNs: 1 to
	// 1000 distinct strings. Task ARNs share one partition, region and
	// account with each other and with a cluster ARN, and new-format task
	// ARNs name the watched cluster. An ID and the ARN of the same task are
	// accepted and count as one task. The controller reads the tasks in
	// GetTaskProtection calls of at most 100 tasks.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	Tasks []TaskReference `json:"tasks"`

	// region is the AWS region of the cluster, for example "eu-west-1". When
	// absent, the controller uses the region of the cluster ARN, then the
	// region of the task ARNs, then its own default region (--region).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[a-z]{2}(-[a-z]+)+-[0-9]+$')",messageExpression="'region ' + self + ' is not an AWS region name: use a name such as us-east-1 or eu-west-1'"
	Region string `json:"region,omitempty"`

	// interval is how often the controller reads protection, as a duration
	// such as "30s" or "5m", from 10s to 24h. The controller also reads at
	// the earliest protection expiry, so an expiry shows without waiting a
	// whole interval.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",messageExpression="'interval ' + self + ' is not a duration: use a number and a unit of s, m or h, such as 30s, 5m or 1h30m'"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || self.matches('(^|[a-z])([0-9]{6,}h|[0-9]{8,}m|[0-9]{10,}s|[0-9]{13,}ms|[0-9]{16,}us|[0-9]{19,}ns)') || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))",messageExpression="'interval ' + self + ' is out of range: use a duration from 10s to 24h'"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|[a-z])([0-9]{6,}h|[0-9]{8,}m|[0-9]{10,}s|[0-9]{13,}ms|[0-9]{16,}us|[0-9]{19,}ns)')",messageExpression="'interval ' + self + ' is out of range: use a duration from 10s to 24h'"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// suspend stops polling when true. Status keeps the protection data of the
	// last poll, and the Ready condition turns Unknown with reason Suspended.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ProtectedTask is the protection state of one task, as ECS GetTaskProtection
// returns it.
type ProtectedTask struct {
	// taskArn is the full ARN of the task.
	// +required
	// +kubebuilder:validation:MaxLength=400
	TaskArn string `json:"taskArn"`

	// protectionEnabled is true while the task is protected from scale-in.
	// +required
	ProtectionEnabled bool `json:"protectionEnabled"`

	// expirationDate is when the protection expires. It is set only while
	// protectionEnabled is true, at second precision.
	// +optional
	ExpirationDate *metav1.Time `json:"expirationDate,omitempty"`
}

// TaskFailure is a requested task whose protection could not be read.
type TaskFailure struct {
	// arn is the task ID or ARN as requested.
	// +required
	// +kubebuilder:validation:MaxLength=400
	Arn string `json:"arn"`

	// reason is the failure reason ECS returned, such as MISSING or
	// TASK_NOT_VALID, or UNKNOWN when ECS returned the task in neither
	// protectedTasks nor failures.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reason string `json:"reason,omitempty"`

	// detail is the failure detail ECS returned, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Detail string `json:"detail,omitempty"`
}

// TaskProtectionWatchStatus is the protection state the controller last read
// from ECS.
type TaskProtectionWatchStatus struct {
	// observedGeneration is the spec generation of the last poll that
	// succeeded or failed for a reason only a spec change can fix.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions describe the watch. Ready is True when the last poll of the
	// current generation succeeded, False with a reason when it failed, and
	// Unknown before the first poll or while suspended. Throttling turns
	// Ready False only after three throttled polls in a row. Stalled is True
	// when only a spec change can fix the last failure. While Ready is False,
	// protectedTasks and failures are those of the last successful poll.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// protectedTasks is the protection state of each task ECS returned, in
	// the order of spec.tasks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	ProtectedTasks []ProtectedTask `json:"protectedTasks,omitempty"`

	// failures lists the requested tasks whose protection could not be read,
	// in the order of spec.tasks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Failures []TaskFailure `json:"failures,omitempty"`

	// taskCount is the number of tasks in spec.tasks.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	TaskCount int32 `json:"taskCount"`

	// protectedCount is the number of tasks with protection enabled.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	ProtectedCount int32 `json:"protectedCount"`

	// failureCount is the number of entries in failures.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	FailureCount int32 `json:"failureCount"`

	// nextExpirationTime is the earliest expirationDate among protected
	// tasks.
	// +optional
	NextExpirationTime *metav1.Time `json:"nextExpirationTime,omitempty"`
}

// The Next Expiry column below is a string because kubectl prints a date
// column as the age of the time, which is "<invalid>" for a time in the future.

// TaskProtectionWatch reads the scale-in protection of Amazon ECS tasks with
// GetTaskProtection at an interval and reports it in status.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tpw,categories=ecs
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Tasks",type=integer,JSONPath=`.status.taskCount`
// +kubebuilder:printcolumn:name="Protected",type=integer,JSONPath=`.status.protectedCount`
// +kubebuilder:printcolumn:name="Failures",type=integer,JSONPath=`.status.failureCount`
// +kubebuilder:printcolumn:name="Next Expiry",type=string,JSONPath=`.status.nextExpirationTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TaskProtectionWatch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec names the cluster and tasks to watch.
	// +required
	Spec TaskProtectionWatchSpec `json:"spec"`

	// status is the protection state last read from ECS.
	// +optional
	Status TaskProtectionWatchStatus `json:"status,omitempty"`
}

// TaskProtectionWatchList is a list of TaskProtectionWatch objects.
// +kubebuilder:object:root=true
type TaskProtectionWatchList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TaskProtectionWatch `json:"items"`
}
