// Package ecsemulatortest runs real AWS clients against an ECS emulator in
// tests: aws-sdk-go-v2, the AWS CLI and boto3. The CLI and boto3 must be
// installed; a test that needs them fails with install instructions rather
// than skipping.
package ecsemulatortest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// NewClient returns an aws-sdk-go-v2 ECS client for the emulator at url,
// signing for region with static test credentials and making one attempt
// per call, so that errors reach the test unretried.
func NewClient(url, region string) *ecs.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEMULATOR", "test-secret", ""),
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

// CLIResult is the outcome of one AWS CLI command.
type CLIResult struct {
	Stdout   string
	Stderr   string
	ExitCode int
}

// cliErrorPattern matches the CLI's error line, e.g.
// "An error occurred (ClusterNotFoundException) when calling the
// GetTaskProtection operation: Cluster not found."
var cliErrorPattern = regexp.MustCompile(
	`An error occurred \(([A-Za-z]+)\) when calling the [A-Za-z]+ operation(?: \(reached max retries: \d+\))?: (.*)`)

// Error returns the error code and message the CLI printed, and false when
// it printed none.
func (r CLIResult) Error() (code, message string, ok bool) {
	m := cliErrorPattern.FindStringSubmatch(r.Stderr)
	if m == nil {
		return "", "", false
	}
	return m[1], strings.TrimSpace(m[2]), true
}

// Decode unmarshals the CLI's JSON output into v and fails the test when
// the command failed or printed something else.
func (r CLIResult) Decode(t testing.TB, v any) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("aws exited with %d: %s", r.ExitCode, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("aws printed output that is not JSON: %v\n%s", err, r.Stdout)
	}
}

// RunCLI runs "aws --endpoint-url URL --output json ARGS..." with test
// credentials, no user configuration and no retries.
func RunCLI(t testing.TB, url, region string, args ...string) CLIResult {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the AWS CLI is required for this test but aws is not on PATH; " +
			"install it with 'pip install awscli' (v1) or the AWS CLI v2 installer")
	}
	full := append([]string{"--endpoint-url", url, "--output", "json"}, args...)
	cmd := exec.Command(path, full...)
	cmd.Env = clientEnv(t, region)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	result := CLIResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		result.ExitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("failed to run aws: %v", err)
	}
	return result
}

// clientEnv returns the environment for the CLI and boto3: the test's
// environment without AWS settings, plus test credentials, a config file of
// its own, no instance metadata lookups, one attempt per call and UTC. The
// config makes CLI v1 print timestamps as botocore parsed them (ISO 8601)
// instead of echoing the wire value.
func clientEnv(t testing.TB, region string) []string {
	t.Helper()
	dir := t.TempDir()
	configFile := filepath.Join(dir, "config")
	if err := os.WriteFile(configFile, []byte("[default]\nmax_attempts = 1\ncli_timestamp_format = iso8601\n"), 0o600); err != nil {
		t.Fatalf("failed to write the AWS config file: %v", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "TZ=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIDEMULATOR",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION="+region,
		"AWS_CONFIG_FILE="+configFile,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"TZ=UTC",
	)
}

// Boto3Call is one call of a boto3 ECS client method, e.g. Method
// "get_task_protection" with Params {"cluster": "orders", "tasks": [...]}.
type Boto3Call struct {
	Method string         `json:"method"`
	Params map[string]any `json:"params"`
}

// Boto3Result is the parsed response of one call: Response without
// ResponseMetadata, with timestamps as epoch seconds, or Error.
type Boto3Result struct {
	Response map[string]any `json:"response"`
	Error    *Boto3Error    `json:"error"`
}

// Boto3Error is a botocore ClientError.
type Boto3Error struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	HTTPStatus int    `json:"httpStatus"`
}

// boto3Script runs the calls read from standard input in order and prints
// one JSON result per call. botocore parses each timestamp into a datetime,
// which is printed back as epoch seconds.
const boto3Script = `
import datetime, json, sys
import boto3, botocore.config, botocore.exceptions

plan = json.load(sys.stdin)
client = boto3.client(
    "ecs",
    endpoint_url=plan["endpoint"],
    region_name=plan["region"],
    aws_access_key_id="AKIDEMULATOR",
    aws_secret_access_key="test",
    # total_max_attempts counts the first attempt; legacy-mode max_attempts
    # would still allow one retry of a 500 response.
    config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}),
)

def encode(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError("cannot encode %r" % (value,))

results = []
for call in plan["calls"]:
    try:
        response = getattr(client, call["method"])(**call["params"])
        response.pop("ResponseMetadata", None)
        results.append({"response": response})
    except botocore.exceptions.ClientError as err:
        results.append({"error": {
            "code": err.response["Error"]["Code"],
            "message": err.response["Error"]["Message"],
            "httpStatus": err.response["ResponseMetadata"]["HTTPStatusCode"],
        }})
json.dump(results, sys.stdout, default=encode)
`

var boto3Check struct {
	once sync.Once
	err  error
}

// RunBoto3 runs calls with a boto3 ECS client against the emulator at url
// and returns one result per call.
func RunBoto3(t testing.TB, url, region string, calls []Boto3Call) []Boto3Result {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 with boto3 is required for this test but python3 is not on PATH; " +
			"install Python 3 and then 'pip install boto3'")
	}
	boto3Check.once.Do(func() {
		out, err := exec.Command(python, "-c", "import boto3").CombinedOutput()
		if err != nil {
			boto3Check.err = errors.New(strings.TrimSpace(string(out)))
		}
	})
	if boto3Check.err != nil {
		t.Fatalf("boto3 is required for this test; install it with 'pip install boto3' (%v)", boto3Check.err)
	}
	plan, err := json.Marshal(map[string]any{"endpoint": url, "region": region, "calls": calls})
	if err != nil {
		t.Fatalf("failed to encode the boto3 plan: %v", err)
	}
	cmd := exec.Command(python, "-c", boto3Script)
	cmd.Env = clientEnv(t, region)
	cmd.Stdin = bytes.NewReader(plan)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3 script failed: %v\n%s", err, stderr.String())
	}
	var results []Boto3Result
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("boto3 script printed output that is not JSON: %v\n%s", err, stdout.String())
	}
	if len(results) != len(calls) {
		t.Fatalf("boto3 script returned %d results for %d calls", len(results), len(calls))
	}
	return results
}
