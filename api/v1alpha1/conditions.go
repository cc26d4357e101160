package v1alpha1

// Condition types of a TaskProtectionWatch.
const (
	// ConditionReady is True when the last poll of the current generation
	// succeeded, False when it failed, and Unknown before the first poll and
	// while polling is suspended.
	ConditionReady = "Ready"

	// ConditionStalled is True when the last poll failed for a reason that
	// only a spec change can fix, so the controller stopped polling that
	// generation. It is absent otherwise, as kstatus expects of abnormal-true
	// conditions.
	ConditionStalled = "Stalled"
)

// Reasons of the Ready and Stalled conditions. Each failure reason names a
// class of ECS or AWS error; the controller classifies errors by their AWS
// error code, never by message text.
const (
	// ReasonPollSucceeded means the last GetTaskProtection calls succeeded.
	// Individual tasks may still be listed under failures.
	ReasonPollSucceeded = "PollSucceeded"

	// ReasonPending means the controller has not polled the watch yet.
	ReasonPending = "Pending"

	// ReasonSuspended means spec.suspend is true, so the controller does not
	// poll.
	ReasonSuspended = "Suspended"

	// ReasonAccessDenied means the controller's AWS identity is not allowed
	// to call ecs:GetTaskProtection on these tasks.
	ReasonAccessDenied = "AccessDenied"

	// ReasonClusterNotFound means ECS does not know the cluster in that
	// region.
	ReasonClusterNotFound = "ClusterNotFound"

	// ReasonInvalidParameter means ECS rejected the request parameters. Only
	// a spec change can fix it.
	ReasonInvalidParameter = "InvalidParameter"

	// ReasonResourceNotFound means ECS could not find a resource the request
	// names.
	ReasonResourceNotFound = "ResourceNotFound"

	// ReasonUnsupportedFeature means task protection is not available in that
	// region. Only a spec change can fix it.
	ReasonUnsupportedFeature = "UnsupportedFeature"

	// ReasonClientError means ECS rejected the request with ClientException,
	// for example because of a permission or resource problem it did not
	// classify further.
	ReasonClientError = "ClientError"

	// ReasonServerError means ECS returned a server error (HTTP 5xx or
	// ServerException).
	ReasonServerError = "ServerError"

	// ReasonThrottled means ECS throttled the calls even after the SDK's
	// retries.
	ReasonThrottled = "Throttled"

	// ReasonTimedOut means a call to ECS did not finish within the
	// controller's call timeout.
	ReasonTimedOut = "TimedOut"

	// ReasonCredentialsError means the controller had no valid AWS
	// credentials: none were found, or ECS rejected them as expired or
	// unrecognized.
	ReasonCredentialsError = "CredentialsError"

	// ReasonEndpointUnreachable means the controller could not connect to the
	// ECS endpoint.
	ReasonEndpointUnreachable = "EndpointUnreachable"

	// ReasonUnexpectedError means the call failed in a way the controller does
	// not classify; the event and log carry the full error.
	ReasonUnexpectedError = "UnexpectedError"
)

// FailureReasonUnknown is the reason the controller records under
// status.failures for a requested task that ECS returned in neither
// protectedTasks nor failures.
const FailureReasonUnknown = "UNKNOWN"

// ReasonRegionUnknown means no AWS region is known for the watch: neither
// spec.region nor an ARN names one and the controller has no default region.
const ReasonRegionUnknown = "RegionUnknown"

// AnnotationPollRequestedAt is an annotation of a TaskProtectionWatch. When
// its value changes, the controller polls at once, even while a failure only
// a spec change can fix holds polling or a slow retry is pending. Any new value
// works; a timestamp is conventional:
//
//	kubectl annotate tpw NAME ecs.taskprotection.io/poll-requested-at="$(date +%s)" --overwrite
const AnnotationPollRequestedAt = "ecs.taskprotection.io/poll-requested-at"
