package ecsemulator

import (
	"strings"
	"testing"
)

func TestParseTaskRef(t *testing.T) {
	const newID = "0123456789abcdef0123456789abcdef"
	const oldID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	tests := []struct {
		name        string
		input       string
		wantID      string
		wantCluster string
		wantRegion  string
		wantErr     string
	}{
		{name: "new-format ID", input: newID, wantID: newID},
		{name: "old-format UUID", input: oldID, wantID: oldID},
		{name: "new-format ARN", input: "arn:aws:ecs:eu-west-1:111122223333:task/orders/" + newID,
			wantID: newID, wantCluster: "orders", wantRegion: "eu-west-1"},
		{name: "old-format ARN", input: "arn:aws:ecs:eu-west-1:111122223333:task/" + oldID,
			wantID: oldID, wantRegion: "eu-west-1"},
		{name: "other partition", input: "arn:aws-cn:ecs:cn-north-1:111122223333:task/orders/" + newID,
			wantID: newID, wantCluster: "orders", wantRegion: "cn-north-1"},
		{name: "uppercase hex rejected", input: strings.ToUpper(newID), wantErr: "invalid task"},
		{name: "short ID rejected", input: "0123", wantErr: "invalid task \"0123\""},
		{name: "empty rejected", input: "", wantErr: "invalid task"},
		{name: "cluster ARN rejected", input: "arn:aws:ecs:eu-west-1:111122223333:cluster/orders",
			wantErr: "invalid task ARN"},
		{name: "ARN with bad ID", input: "arn:aws:ecs:eu-west-1:111122223333:task/orders/xyz",
			wantErr: "invalid task ARN"},
		{name: "non-ECS ARN", input: "arn:aws:ec2:eu-west-1:111122223333:task/orders/" + newID,
			wantErr: "invalid task ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := parseTaskRef(tt.input)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseTaskRef(%q) error = %v, want one containing %q", tt.input, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseTaskRef(%q) error = %v", tt.input, err)
			}
			if ref.id != tt.wantID {
				t.Errorf("id = %q, want %q", ref.id, tt.wantID)
			}
			if ref.cluster != tt.wantCluster {
				t.Errorf("cluster = %q, want %q", ref.cluster, tt.wantCluster)
			}
			if ref.region != tt.wantRegion {
				t.Errorf("region = %q, want %q", ref.region, tt.wantRegion)
			}
			if ref.input != tt.input {
				t.Errorf("input = %q, want it kept as given", ref.input)
			}
		})
	}
}

func TestClusterNameFromRef(t *testing.T) {
	tests := []struct {
		input      string
		wantName   string
		wantRegion string
		wantErr    bool
	}{
		{input: "orders", wantName: "orders"},
		{input: "arn:aws:ecs:eu-west-1:111122223333:cluster/orders", wantName: "orders", wantRegion: "eu-west-1"},
		{input: "arn:aws:ecs:eu-west-1:111122223333:service/orders/worker", wantErr: true},
		{input: "arn:aws:ecs:eu-west-1:111122223333:cluster/bad name", wantErr: true},
	}
	for _, tt := range tests {
		name, region, _, err := clusterNameFromRef(tt.input)
		if (err != nil) != tt.wantErr {
			t.Errorf("clusterNameFromRef(%q) error = %v, want error %v", tt.input, err, tt.wantErr)
			continue
		}
		if name != tt.wantName || region != tt.wantRegion {
			t.Errorf("clusterNameFromRef(%q) = %q, %q; want %q, %q", tt.input, name, region, tt.wantName, tt.wantRegion)
		}
	}
}

func TestParseTaskDefinitionRef(t *testing.T) {
	tests := []struct {
		input        string
		wantFamily   string
		wantRevision int
		wantErr      bool
	}{
		{input: "worker", wantFamily: "worker"},
		{input: "worker:7", wantFamily: "worker", wantRevision: 7},
		{input: "arn:aws:ecs:eu-west-1:111122223333:task-definition/worker:3", wantFamily: "worker", wantRevision: 3},
		{input: "worker:0", wantErr: true},
		{input: "worker:x", wantErr: true},
		{input: "bad family", wantErr: true},
		{input: "arn:aws:ecs:eu-west-1:111122223333:task/worker", wantErr: true},
	}
	for _, tt := range tests {
		ref, err := parseTaskDefinitionRef(tt.input)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseTaskDefinitionRef(%q) error = %v, want error %v", tt.input, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if ref.family != tt.wantFamily || ref.revision != tt.wantRevision {
			t.Errorf("parseTaskDefinitionRef(%q) = %q:%d, want %q:%d",
				tt.input, ref.family, ref.revision, tt.wantFamily, tt.wantRevision)
		}
	}
}

func TestTaskARNFormats(t *testing.T) {
	newID := newTaskID(TaskARNFormatNew)
	if !newTaskIDPattern.MatchString(newID) {
		t.Errorf("new-format ID %q is not 32 lowercase hexadecimal characters", newID)
	}
	oldID := newTaskID(TaskARNFormatOld)
	if !oldTaskIDPattern.MatchString(oldID) {
		t.Errorf("old-format ID %q is not a UUID", oldID)
	}
	if got, want := taskARN("eu-west-1", "111122223333", "orders", newID, TaskARNFormatNew),
		"arn:aws:ecs:eu-west-1:111122223333:task/orders/"+newID; got != want {
		t.Errorf("new-format ARN = %q, want %q", got, want)
	}
	if got, want := taskARN("eu-west-1", "111122223333", "orders", oldID, TaskARNFormatOld),
		"arn:aws:ecs:eu-west-1:111122223333:task/"+oldID; got != want {
		t.Errorf("old-format ARN = %q, want %q", got, want)
	}
}
