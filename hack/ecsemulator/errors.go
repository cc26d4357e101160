package ecsemulator

import (
	"fmt"
	"net/http"
)

// Error codes that the emulator sends. The first seven are the exceptions
// that the ECS model declares for GetTaskProtection and UpdateTaskProtection,
// so the Go SDK decodes them into typed errors such as
// *types.ClusterNotFoundException.
const (
	CodeAccessDenied          = "AccessDeniedException"
	CodeClient                = "ClientException"
	CodeClusterNotFound       = "ClusterNotFoundException"
	CodeInvalidParameter      = "InvalidParameterException"
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeServer                = "ServerException"
	CodeUnsupportedFeature    = "UnsupportedFeatureException"
	CodeThrottling            = "ThrottlingException"
	CodeServiceNotFound       = "ServiceNotFoundException"
	CodeServiceNotActive      = "ServiceNotActiveException"
	CodeClusterHasServices    = "ClusterContainsServicesException"
	CodeClusterHasTasks       = "ClusterContainsTasksException"
	CodeUnknownOperation      = "UnknownOperationException"
	CodeSerialization         = "SerializationException"
	CodeMissingAuthToken      = "MissingAuthenticationTokenException"
	CodeIncompleteSignature   = "IncompleteSignatureException"
	CodeInvalidSignature      = "InvalidSignatureException"
	CodeServiceUnavailable    = "ServiceUnavailableException"
	CodeInternalFailure       = "InternalFailure"
	CodeRequestEntityTooLarge = "RequestEntityTooLargeException"
)

// Failure reasons inside a 200 response's failures list.
const (
	ReasonMissing           = "MISSING"
	ReasonTaskNotValid      = "TASK_NOT_VALID"
	ReasonDeploymentBlocked = "DEPLOYMENT_BLOCKED"
)

// apiError is an ECS error response: HTTP status, the __type code and the
// message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(code, format string, args ...any) *apiError {
	return &apiError{status: defaultStatus(code), code: code, message: fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *apiError {
	return newError(CodeInvalidParameter, format, args...)
}

func clientError(format string, args ...any) *apiError {
	return newError(CodeClient, format, args...)
}

// errClusterNotFound carries the message that ECS sends for an unknown
// cluster.
func errClusterNotFound() *apiError {
	return newError(CodeClusterNotFound, "Cluster not found.")
}

// defaultStatus returns the HTTP status AWS uses for code: 500 for server
// faults, 503 for unavailability and 400 for everything else.
func defaultStatus(code string) int {
	switch code {
	case CodeServer, CodeInternalFailure:
		return http.StatusInternalServerError
	case CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	case CodeRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusBadRequest
	}
}

// defaultMessage returns the message an injected fault carries when its
// Message is empty.
func defaultMessage(code string) string {
	switch code {
	case CodeThrottling:
		return "Rate exceeded"
	case CodeClusterNotFound:
		return "Cluster not found."
	case CodeServer:
		return "Service unavailable. Please try again later."
	case CodeAccessDenied:
		return "User is not authorized to perform this action."
	case CodeUnsupportedFeature:
		return "The requested feature isn't supported in this Region."
	default:
		return "Injected " + code + " from the ECS emulator."
	}
}
