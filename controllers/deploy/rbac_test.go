package deploy_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// permission is one granted verb on one resource, or on one non-resource
// URL, in a scope: "cluster" for a ClusterRoleBinding, else the namespace of
// the RoleBinding.
type permission struct {
	scope    string
	apiGroup string
	resource string
	verb     string
}

func (p permission) String() string {
	return p.scope + " " + p.apiGroup + "/" + p.resource + " " + p.verb
}

// expand returns one permission per verb.
func expand(scope, apiGroup, resource string, verbs ...string) []permission {
	var permissions []permission
	for _, verb := range verbs {
		permissions = append(permissions, permission{scope, apiGroup, resource, verb})
	}
	return permissions
}

// rbacObjects are the rendered Roles, ClusterRoles and their bindings.
type rbacObjects struct {
	roles           map[string]rbacv1.Role // keyed by namespace/name
	clusterRoles    map[string]rbacv1.ClusterRole
	bindings        []rbacv1.RoleBinding
	clusterBindings []rbacv1.ClusterRoleBinding
}

func decodeRBAC(t *testing.T, objects []*unstructured.Unstructured) rbacObjects {
	t.Helper()
	decoded := rbacObjects{roles: map[string]rbacv1.Role{}, clusterRoles: map[string]rbacv1.ClusterRole{}}
	for _, object := range objects {
		var err error
		switch object.GetKind() {
		case "Role":
			var role rbacv1.Role
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &role)
			decoded.roles[role.Namespace+"/"+role.Name] = role
		case "ClusterRole":
			var role rbacv1.ClusterRole
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &role)
			decoded.clusterRoles[role.Name] = role
		case "RoleBinding":
			var binding rbacv1.RoleBinding
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &binding)
			decoded.bindings = append(decoded.bindings, binding)
		case "ClusterRoleBinding":
			var binding rbacv1.ClusterRoleBinding
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(object.Object, &binding)
			decoded.clusterBindings = append(decoded.clusterBindings, binding)
		}
		if err != nil {
			t.Fatalf("decoding %s %s: %v", object.GetKind(), object.GetName(), err)
		}
	}
	return decoded
}

// rulePermissions expands rules into permissions in scope, and fails the
// test on resourceNames, which the expected tables do not model.
func rulePermissions(t *testing.T, scope string, rules []rbacv1.PolicyRule) []permission {
	t.Helper()
	var permissions []permission
	for _, rule := range rules {
		if len(rule.ResourceNames) > 0 {
			t.Errorf("rule %+v limits resourceNames, which this test does not model", rule)
		}
		for _, verb := range rule.Verbs {
			for _, group := range rule.APIGroups {
				for _, resource := range rule.Resources {
					permissions = append(permissions, permission{scope, group, resource, verb})
				}
			}
			for _, url := range rule.NonResourceURLs {
				permissions = append(permissions, permission{scope, "", url, verb})
			}
		}
	}
	return permissions
}

func bindsManager(subjects []rbacv1.Subject) bool {
	for _, subject := range subjects {
		if subject.Kind == rbacv1.ServiceAccountKind && subject.Name == managerAccount && subject.Namespace == installNamespace {
			return true
		}
	}
	return false
}

// managerPermissions returns what the rendered bindings grant the manager's
// ServiceAccount.
func managerPermissions(t *testing.T, decoded rbacObjects) map[permission]bool {
	t.Helper()
	granted := map[permission]bool{}
	for _, binding := range decoded.clusterBindings {
		if !bindsManager(binding.Subjects) {
			continue
		}
		role, ok := decoded.clusterRoles[binding.RoleRef.Name]
		if binding.RoleRef.Kind != "ClusterRole" || !ok {
			t.Errorf("ClusterRoleBinding %s refers to %s %s, which config/default does not render",
				binding.Name, binding.RoleRef.Kind, binding.RoleRef.Name)
			continue
		}
		for _, p := range rulePermissions(t, "cluster", role.Rules) {
			granted[p] = true
		}
	}
	for _, binding := range decoded.bindings {
		if !bindsManager(binding.Subjects) {
			continue
		}
		var rules []rbacv1.PolicyRule
		switch binding.RoleRef.Kind {
		case "Role":
			role, ok := decoded.roles[binding.Namespace+"/"+binding.RoleRef.Name]
			if !ok {
				t.Errorf("RoleBinding %s refers to Role %s, which config/default does not render", binding.Name, binding.RoleRef.Name)
			}
			rules = role.Rules
		case "ClusterRole":
			rules = decoded.clusterRoles[binding.RoleRef.Name].Rules
		}
		for _, p := range rulePermissions(t, binding.Namespace, rules) {
			granted[p] = true
		}
	}
	return granted
}

func TestManagerRBACIsExact(t *testing.T) {
	objects, _ := renderDefault(t)
	decoded := decodeRBAC(t, objects)

	var want []permission
	// Generated from the +kubebuilder:rbac markers (config/rbac/role.yaml).
	want = append(want, expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches", "get", "list", "watch")...)
	want = append(want, expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches/status", "update", "patch")...)
	want = append(want, expand("cluster", "events.k8s.io", "events", "create", "patch")...)
	// Authentication and authorization of metrics clients.
	want = append(want, expand("cluster", "authentication.k8s.io", "tokenreviews", "create")...)
	want = append(want, expand("cluster", "authorization.k8s.io", "subjectaccessreviews", "create")...)
	// Leader election, in the manager's namespace only.
	want = append(want, expand(installNamespace, "coordination.k8s.io", "leases", "get", "create", "update")...)
	want = append(want, expand(installNamespace, "", "events", "create", "patch")...)

	got := managerPermissions(t, decoded)
	for _, p := range want {
		if !got[p] {
			t.Errorf("the manager lacks %s", p)
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(got), func(a, b permission) int { return strings.Compare(a.String(), b.String()) }) {
		if !slices.Contains(want, p) {
			t.Errorf("the manager is granted %s, which it does not use", p)
		}
	}
}

func TestRBACBindsOnlyManager(t *testing.T) {
	objects, _ := renderDefault(t)
	decoded := decodeRBAC(t, objects)
	for _, binding := range decoded.clusterBindings {
		if len(binding.Subjects) != 1 || !bindsManager(binding.Subjects) {
			t.Errorf("ClusterRoleBinding %s binds %+v, want only the manager's ServiceAccount", binding.Name, binding.Subjects)
		}
	}
	for _, binding := range decoded.bindings {
		if len(binding.Subjects) != 1 || !bindsManager(binding.Subjects) {
			t.Errorf("RoleBinding %s binds %+v, want only the manager's ServiceAccount", binding.Name, binding.Subjects)
		}
	}
	// Scrapers and users get these roles from the cluster admin.
	for _, name := range []string{
		metricsReaderRole,
		"ecs-taskprotection-taskprotectionwatch-editor-role",
		"ecs-taskprotection-taskprotectionwatch-viewer-role",
	} {
		for _, binding := range decoded.clusterBindings {
			if binding.RoleRef.Name == name {
				t.Errorf("ClusterRoleBinding %s binds %s, which is meant for other identities", binding.Name, name)
			}
		}
	}
}

func TestRBACHasNoWildcardsOrSecrets(t *testing.T) {
	objects, _ := renderDefault(t)
	decoded := decodeRBAC(t, objects)

	type namedRules struct {
		name  string
		rules []rbacv1.PolicyRule
	}
	var all []namedRules
	for name, role := range decoded.roles {
		all = append(all, namedRules{"Role " + name, role.Rules})
	}
	for name, role := range decoded.clusterRoles {
		all = append(all, namedRules{"ClusterRole " + name, role.Rules})
		if role.AggregationRule != nil {
			t.Errorf("ClusterRole %s aggregates other roles", name)
		}
	}
	if len(all) == 0 {
		t.Fatal("config/default renders no roles")
	}
	for _, role := range all {
		for _, rule := range role.rules {
			fields := map[string][]string{
				"apiGroups":       rule.APIGroups,
				"resources":       rule.Resources,
				"verbs":           rule.Verbs,
				"nonResourceURLs": rule.NonResourceURLs,
			}
			for field, values := range fields {
				for _, value := range values {
					if strings.Contains(value, "*") {
						t.Errorf("%s grants %s %q", role.name, field, value)
					}
				}
			}
			for _, resource := range rule.Resources {
				if resource == "secrets" || strings.HasPrefix(resource, "secrets/") {
					t.Errorf("%s grants access to %s", role.name, resource)
				}
			}
		}
	}
}

func TestUserRoles(t *testing.T) {
	objects, _ := renderDefault(t)
	decoded := decodeRBAC(t, objects)

	readVerbs := []string{"get", "list", "watch"}
	tests := []struct {
		role  string
		label string
		want  []permission
	}{
		{
			role:  "ecs-taskprotection-taskprotectionwatch-editor-role",
			label: "rbac.authorization.k8s.io/aggregate-to-edit",
			want: append(
				expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches",
					"create", "delete", "get", "list", "patch", "update", "watch"),
				expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches/status", "get")...),
		},
		{
			role:  "ecs-taskprotection-taskprotectionwatch-viewer-role",
			label: "rbac.authorization.k8s.io/aggregate-to-view",
			want: append(
				expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches", readVerbs...),
				expand("cluster", "ecs.taskprotection.io", "taskprotectionwatches/status", "get")...),
		},
		{
			role: metricsReaderRole,
			want: expand("cluster", "", "/metrics", "get"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			role, ok := decoded.clusterRoles[tt.role]
			if !ok {
				t.Fatalf("config/default renders no ClusterRole %s", tt.role)
			}
			if tt.label != "" && role.Labels[tt.label] != "true" {
				t.Errorf("label %s = %q, want \"true\"", tt.label, role.Labels[tt.label])
			}
			got := rulePermissions(t, "cluster", role.Rules)
			slices.SortFunc(got, func(a, b permission) int { return strings.Compare(a.String(), b.String()) })
			want := slices.Clone(tt.want)
			slices.SortFunc(want, func(a, b permission) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(got, want) {
				t.Errorf("rules grant\n%v\nwant\n%v", got, want)
			}
		})
	}
}
