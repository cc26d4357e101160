package ecsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
)

func TestClassify(t *testing.T) {
	wrap := func(err error) error {
		return &smithy.OperationError{ServiceID: "ECS", OperationName: "GetTaskProtection", Err: err}
	}
	serverStatus := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusServiceUnavailable}},
		Err:      errors.New("service unavailable"),
	}}
	cases := []struct {
		name   string
		err    error
		reason string
		retry  Retry
	}{
		{"access denied", wrap(&types.AccessDeniedException{Message: ptr("no")}), ecsv1alpha1.ReasonAccessDenied, RetrySlowly},
		{"cluster not found", wrap(&types.ClusterNotFoundException{}), ecsv1alpha1.ReasonClusterNotFound, RetrySlowly},
		{"invalid parameter", wrap(&types.InvalidParameterException{}), ecsv1alpha1.ReasonInvalidParameter, RetryNone},
		{"resource not found", wrap(&types.ResourceNotFoundException{}), ecsv1alpha1.ReasonResourceNotFound, RetrySlowly},
		{"unsupported feature", wrap(&types.UnsupportedFeatureException{}), ecsv1alpha1.ReasonUnsupportedFeature, RetryNone},
		{"client exception", wrap(&types.ClientException{}), ecsv1alpha1.ReasonClientError, RetrySlowly},
		{"server exception", wrap(&types.ServerException{}), ecsv1alpha1.ReasonServerError, RetrySoon},
		{"throttling", wrap(&smithy.GenericAPIError{Code: "ThrottlingException"}), ecsv1alpha1.ReasonThrottled, RetrySoon},
		{"expired token", wrap(&smithy.GenericAPIError{Code: "ExpiredTokenException"}), ecsv1alpha1.ReasonCredentialsError, RetrySlowly},
		{"unrecognized client", wrap(&smithy.GenericAPIError{Code: "UnrecognizedClientException"}), ecsv1alpha1.ReasonCredentialsError, RetrySlowly},
		{"no credentials found", wrap(fmt.Errorf("get identity: %w", &CredentialsError{Err: errors.New("no EC2 IMDS role found")})), ecsv1alpha1.ReasonCredentialsError, RetrySlowly},
		{"call timeout", fmt.Errorf("%w after 15s: %w", errCallTimeout, context.DeadlineExceeded), ecsv1alpha1.ReasonTimedOut, RetrySoon},
		{"HTTP 503 without a code", wrap(serverStatus), ecsv1alpha1.ReasonServerError, RetrySoon},
		{"retry quota exhausted", wrap(fmt.Errorf("retry: %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5})), ecsv1alpha1.ReasonThrottled, RetrySoon},
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), ecsv1alpha1.ReasonEndpointUnreachable, RetrySoon},
		{"unknown code", wrap(&smithy.GenericAPIError{Code: "SomethingNew"}), ecsv1alpha1.ReasonUnexpectedError, RetrySoon},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.err)
			if got.Reason != tc.reason {
				t.Errorf("reason = %s, want %s", got.Reason, tc.reason)
			}
			if got.Retry != tc.retry {
				t.Errorf("retry = %d, want %d", got.Retry, tc.retry)
			}
			if got.Message == "" {
				t.Errorf("message is empty")
			}
		})
	}
}

func TestClassifyIgnoresMessageText(t *testing.T) {
	first := Classify(&smithy.GenericAPIError{Code: "ClusterNotFoundException", Message: "Cluster not found."})
	second := Classify(&smithy.GenericAPIError{Code: "ClusterNotFoundException", Message: "The referenced cluster was not found (request 1234)."})
	if first != second {
		t.Errorf("classes differ for one code: %+v and %+v", first, second)
	}
}

func TestValidateEndpoint(t *testing.T) {
	cases := []struct {
		endpoint string
		insecure bool
		wantErr  string
	}{
		{"", false, ""},
		{"https://ecs.eu-west-1.amazonaws.com", false, ""},
		{"http://127.0.0.1:4566", false, ""},
		{"http://localhost:4566", false, ""},
		{"http://[::1]:4566", false, ""},
		{"http://ecs.internal:4566", false, "plain http to a host that is not loopback"},
		{"http://ecs.internal:4566", true, ""},
		{"ftp://127.0.0.1", false, "the scheme must be http or https"},
		{"127.0.0.1:4566", false, "invalid ECS endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			err := ValidateEndpoint(tc.endpoint, tc.insecure)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateEndpoint(%q) = %v, want nil", tc.endpoint, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateEndpoint(%q) = nil, want an error containing %q", tc.endpoint, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.endpoint) {
				t.Errorf("error %q does not contain %q and the endpoint", err, tc.wantErr)
			}
		})
	}
}

func ptr(s string) *string { return &s }
