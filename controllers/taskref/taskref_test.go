package taskref

import "testing"

func TestID(t *testing.T) {
	cases := []struct {
		name string
		ref  string
		want string
	}{
		{"new format ID is returned as is", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
		{"old format UUID is returned as is", "2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b", "2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b"},
		{"new format ARN yields the trailing ID",
			"arn:aws:ecs:eu-west-1:111122223333:task/orders/0123456789abcdef0123456789abcdef",
			"0123456789abcdef0123456789abcdef"},
		{"old format ARN yields the trailing UUID",
			"arn:aws:ecs:eu-west-1:111122223333:task/2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b",
			"2f9a1b64-8f34-4d2b-9a5e-0c1d2e3f4a5b"},
		{"China partition ARN yields the trailing ID",
			"arn:aws-cn:ecs:cn-north-1:111122223333:task/orders/0123456789abcdef0123456789abcdef",
			"0123456789abcdef0123456789abcdef"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ID(tc.ref); got != tc.want {
				t.Errorf("ID(%q) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}

func TestResolveRegion(t *testing.T) {
	taskARN := "arn:aws:ecs:ap-south-1:111122223333:task/orders/0123456789abcdef0123456789abcdef"
	clusterARN := "arn:aws:ecs:eu-west-1:111122223333:cluster/orders"
	cases := []struct {
		name     string
		explicit string
		cluster  string
		tasks    []string
		fallback string
		want     string
	}{
		{"explicit region wins", "us-west-2", clusterARN, []string{taskARN}, "us-east-1", "us-west-2"},
		{"cluster ARN region comes next", "", clusterARN, []string{taskARN}, "us-east-1", "eu-west-1"},
		{"task ARN region comes after the cluster", "", "orders", []string{"0123456789abcdef0123456789abcdef", taskARN}, "us-east-1", "ap-south-1"},
		{"fallback when nothing names a region", "", "orders", []string{"0123456789abcdef0123456789abcdef"}, "us-east-1", "us-east-1"},
		{"empty when there is no fallback either", "", "orders", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ResolveRegion(tc.explicit, tc.cluster, tc.tasks, tc.fallback)
			if got != tc.want {
				t.Errorf("ResolveRegion() = %q, want %q", got, tc.want)
			}
		})
	}
}
