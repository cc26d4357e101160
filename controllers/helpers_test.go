package controllers

import "github.com/aws/smithy-go"

// apiError returns an AWS API error with a message that differs from call
// to call, as ECS messages may.
func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "message text that changes: " + code}
}
