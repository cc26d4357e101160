package ecsclient

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
)

// Retry is the retry policy for a class of errors.
type Retry int

const (
	// RetryNone means only a spec change can fix the error, so the controller
	// stops polling that generation.
	RetryNone Retry = iota

	// RetrySoon means the error is transient: retry with exponential backoff.
	RetrySoon

	// RetrySlowly means the error needs a change outside the watch, such as
	// an IAM policy or a cluster being created: retry on a slow schedule.
	RetrySlowly
)

// Class is the classification of an ECS call error.
type Class struct {
	// Reason is the Ready condition reason, one of the Reason constants of
	// the API package.
	Reason string

	// Message is a short, stable text for the Ready condition. It never
	// contains request IDs or other text that changes between calls.
	Message string

	// Retry sets when to poll again.
	Retry Retry
}

var errCallTimeout = errors.New("ECS call timed out")

// classes maps AWS error codes to classes. ECS error codes come from the ECS
// API model (service-2.json); the credential and throttling codes are common
// to all AWS JSON services.
var classes = map[string]Class{
	"AccessDeniedException": {ecsv1alpha1.ReasonAccessDenied,
		"ECS denied access to GetTaskProtection; grant the controller's IAM role ecs:GetTaskProtection on these tasks", RetrySlowly},
	"ClusterNotFoundException": {ecsv1alpha1.ReasonClusterNotFound,
		"ECS has no such cluster in this region; check spec.cluster and spec.region", RetrySlowly},
	"InvalidParameterException": {ecsv1alpha1.ReasonInvalidParameter,
		"ECS rejected the request parameters; fix spec.cluster or spec.tasks", RetryNone},
	"ResourceNotFoundException": {ecsv1alpha1.ReasonResourceNotFound,
		"ECS could not find a resource the request names", RetrySlowly},
	"UnsupportedFeatureException": {ecsv1alpha1.ReasonUnsupportedFeature,
		"Task protection is not supported in this region; fix spec.region", RetryNone},
	"ClientException": {ecsv1alpha1.ReasonClientError,
		"ECS rejected the request as a client error; see the watch's events", RetrySlowly},
	"ServerException": {ecsv1alpha1.ReasonServerError,
		"ECS returned a server error", RetrySoon},

	"ThrottlingException":      throttled,
	"Throttling":               throttled,
	"TooManyRequestsException": throttled,
	"RequestLimitExceeded":     throttled,

	"ExpiredTokenException":               credentials,
	"ExpiredToken":                        credentials,
	"UnrecognizedClientException":         credentials,
	"InvalidClientTokenId":                credentials,
	"InvalidSignatureException":           credentials,
	"SignatureDoesNotMatch":               credentials,
	"MissingAuthenticationToken":          credentials,
	"MissingAuthenticationTokenException": credentials,
	"IncompleteSignature":                 credentials,
}

var (
	throttled = Class{ecsv1alpha1.ReasonThrottled,
		"ECS throttled GetTaskProtection calls", RetrySoon}
	credentials = Class{ecsv1alpha1.ReasonCredentialsError,
		"ECS rejected the controller's AWS credentials as expired or invalid", RetrySlowly}
	noCredentials = Class{ecsv1alpha1.ReasonCredentialsError,
		"The controller found no AWS credentials; configure IRSA, EKS Pod Identity or environment credentials", RetrySlowly}
	timedOut = Class{ecsv1alpha1.ReasonTimedOut,
		"The call to ECS timed out", RetrySoon}
	unreachable = Class{ecsv1alpha1.ReasonEndpointUnreachable,
		"The controller could not connect to the ECS endpoint", RetrySoon}
	serverError = Class{ecsv1alpha1.ReasonServerError,
		"ECS returned a server error", RetrySoon}
	unexpected = Class{ecsv1alpha1.ReasonUnexpectedError,
		"The call to ECS failed unexpectedly; see the watch's events", RetrySoon}
)

// Classify returns the class of an error from an ECS call. It branches on
// the AWS error code and on error types, never on message text, because
// ECS messages change without notice.
func Classify(err error) Class {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if class, ok := classes[apiErr.ErrorCode()]; ok {
			return class
		}
	}

	if errors.Is(err, errCallTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return timedOut
	}
	var quotaErr ratelimit.QuotaExceededError
	if errors.As(err, &quotaErr) {
		// The SDK's retry quota is spent after many failed retries: treat
		// it like throttling, which it usually follows.
		return throttled
	}

	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return serverError
	}

	var credErr *CredentialsError
	if errors.As(err, &credErr) {
		return noCredentials
	}

	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) {
		if netErr != nil && netErr.Timeout() {
			return timedOut
		}
		return unreachable
	}
	return unexpected
}

// CredentialsError is an error of the AWS credential chain: the SDK failed
// before sending a request because it found no usable credentials.
type CredentialsError struct {
	Err error
}

func (e *CredentialsError) Error() string {
	return "retrieving AWS credentials: " + e.Err.Error()
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// credentialsProvider wraps a credentials provider so that its errors carry
// the CredentialsError type, which the SDK's own errors do not have.
type credentialsProvider struct {
	provider aws.CredentialsProvider
}

func (p credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := p.provider.Retrieve(ctx)
	if err != nil {
		return creds, &CredentialsError{Err: err}
	}
	return creds, nil
}
