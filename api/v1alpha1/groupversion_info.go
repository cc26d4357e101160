// Package v1alpha1 contains the ecs.taskprotection.io/v1alpha1 API: the
// TaskProtectionWatch kind, which names an Amazon ECS cluster and tasks whose
// scale-in protection the controller reads and reports in status.
// +kubebuilder:object:generate=true
// +groupName=ecs.taskprotection.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the objects in this package.
	GroupVersion = schema.GroupVersion{Group: "ecs.taskprotection.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &TaskProtectionWatch{}, &TaskProtectionWatchList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
