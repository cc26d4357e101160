package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/taskprotection/ecs-taskprotection-controller/controllers/testenv"
)

// stringOrList is an IAM policy element that is either one string or a list
// of strings.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*s = list
	return nil
}

// taskARNPattern matches a task ARN of one named cluster in the current
// format, arn:PARTITION:ecs:REGION:ACCOUNT:task/CLUSTER/*, where region,
// account and cluster are placeholders or real values but never wildcards.
var taskARNPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:ecs:[A-Za-z0-9_-]+:[A-Za-z0-9_]+:task/[A-Za-z0-9_-]+/\*$`)

func TestIAMPolicyGrantsOnlyGetTaskProtection(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docs", "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Version   string
		Statement []struct {
			Sid         string
			Effect      string
			Action      stringOrList
			NotAction   stringOrList
			Resource    stringOrList
			NotResource stringOrList
			Principal   json.RawMessage
			Condition   json.RawMessage
		}
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&policy); err != nil {
		t.Fatalf("docs/iam-policy.json is not a policy this test knows: %v", err)
	}

	if policy.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17", policy.Version)
	}
	if len(policy.Statement) == 0 {
		t.Fatal("the policy has no statements")
	}
	for i, statement := range policy.Statement {
		if statement.Effect != "Allow" {
			t.Errorf("statement %d: Effect = %q, want Allow", i, statement.Effect)
		}
		if len(statement.NotAction) > 0 || len(statement.NotResource) > 0 {
			t.Errorf("statement %d uses NotAction or NotResource, which grant everything not listed", i)
		}
		if statement.Principal != nil {
			t.Errorf("statement %d has a Principal, which an identity policy does not take", i)
		}
		if len(statement.Action) != 1 || statement.Action[0] != "ecs:GetTaskProtection" {
			t.Errorf("statement %d: Action = %q, want only ecs:GetTaskProtection", i, statement.Action)
		}
		if len(statement.Resource) == 0 {
			t.Errorf("statement %d names no Resource", i)
		}
		for _, resource := range statement.Resource {
			if !taskARNPattern.MatchString(resource) {
				t.Errorf("statement %d: Resource %q is not the task ARN pattern of one named cluster", i, resource)
			}
		}
	}
}
