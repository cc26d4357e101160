package ecsemulator

import (
	"encoding/json"
	"strconv"
	"time"
)

// epochTime marshals as AWS JSON 1.1 sends timestamps: a JSON number of
// epoch seconds with millisecond fractions. The Go SDK rejects strings, and
// milliseconds would decode to a date thousands of years away.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

// epoch returns a pointer for an optional timestamp member, nil for the zero
// time so that the member is omitted.
func epoch(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	v := epochTime(t)
	return &v
}

// wireFailure is the ECS Failure shape.
type wireFailure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type wireCluster struct {
	ClusterArn                        string   `json:"clusterArn"`
	ClusterName                       string   `json:"clusterName"`
	Status                            string   `json:"status"`
	RegisteredContainerInstancesCount int      `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int      `json:"runningTasksCount"`
	PendingTasksCount                 int      `json:"pendingTasksCount"`
	ActiveServicesCount               int      `json:"activeServicesCount"`
	Statistics                        []any    `json:"statistics"`
	Tags                              []tag    `json:"tags"`
	Settings                          []any    `json:"settings"`
	CapacityProviders                 []string `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []any    `json:"defaultCapacityProviderStrategy"`
}

type wireService struct {
	ServiceArn                    string            `json:"serviceArn"`
	ServiceName                   string            `json:"serviceName"`
	ClusterArn                    string            `json:"clusterArn"`
	LoadBalancers                 []any             `json:"loadBalancers"`
	ServiceRegistries             []any             `json:"serviceRegistries"`
	Status                        string            `json:"status"`
	DesiredCount                  int               `json:"desiredCount"`
	RunningCount                  int               `json:"runningCount"`
	PendingCount                  int               `json:"pendingCount"`
	LaunchType                    string            `json:"launchType,omitempty"`
	PlatformVersion               string            `json:"platformVersion,omitempty"`
	TaskDefinition                string            `json:"taskDefinition"`
	DeploymentConfiguration       json.RawMessage   `json:"deploymentConfiguration"`
	Deployments                   []wireDeployment  `json:"deployments"`
	Events                        []any             `json:"events"`
	CreatedAt                     *epochTime        `json:"createdAt,omitempty"`
	PlacementConstraints          []any             `json:"placementConstraints"`
	PlacementStrategy             []any             `json:"placementStrategy"`
	NetworkConfiguration          json.RawMessage   `json:"networkConfiguration,omitempty"`
	HealthCheckGracePeriodSeconds int               `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string            `json:"schedulingStrategy"`
	DeploymentController          map[string]string `json:"deploymentController"`
	Tags                          []tag             `json:"tags"`
	EnableECSManagedTags          bool              `json:"enableECSManagedTags"`
	PropagateTags                 string            `json:"propagateTags"`
	EnableExecuteCommand          bool              `json:"enableExecuteCommand"`
}

type wireDeployment struct {
	ID                   string          `json:"id"`
	Status               string          `json:"status"`
	TaskDefinition       string          `json:"taskDefinition"`
	DesiredCount         int             `json:"desiredCount"`
	PendingCount         int             `json:"pendingCount"`
	RunningCount         int             `json:"runningCount"`
	FailedTasks          int             `json:"failedTasks"`
	CreatedAt            *epochTime      `json:"createdAt,omitempty"`
	UpdatedAt            *epochTime      `json:"updatedAt,omitempty"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	RolloutState         string          `json:"rolloutState"`
	RolloutStateReason   string          `json:"rolloutStateReason"`
}

type wireTask struct {
	TaskArn              string          `json:"taskArn"`
	ClusterArn           string          `json:"clusterArn"`
	TaskDefinitionArn    string          `json:"taskDefinitionArn"`
	LastStatus           string          `json:"lastStatus"`
	DesiredStatus        string          `json:"desiredStatus"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	AvailabilityZone     string          `json:"availabilityZone"`
	Group                string          `json:"group,omitempty"`
	StartedBy            string          `json:"startedBy,omitempty"`
	Cpu                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	Version              int             `json:"version"`
	Connectivity         string          `json:"connectivity,omitempty"`
	ConnectivityAt       *epochTime      `json:"connectivityAt,omitempty"`
	CreatedAt            *epochTime      `json:"createdAt,omitempty"`
	StartedAt            *epochTime      `json:"startedAt,omitempty"`
	StoppingAt           *epochTime      `json:"stoppingAt,omitempty"`
	StoppedAt            *epochTime      `json:"stoppedAt,omitempty"`
	ExecutionStoppedAt   *epochTime      `json:"executionStoppedAt,omitempty"`
	StoppedReason        string          `json:"stoppedReason,omitempty"`
	StopCode             string          `json:"stopCode,omitempty"`
	HealthStatus         string          `json:"healthStatus"`
	Containers           []wireContainer `json:"containers"`
	Overrides            wireOverrides   `json:"overrides"`
	Attachments          []any           `json:"attachments"`
	Tags                 []tag           `json:"tags"`
	EnableExecuteCommand bool            `json:"enableExecuteCommand"`
}

type wireContainer struct {
	ContainerArn      string `json:"containerArn"`
	TaskArn           string `json:"taskArn"`
	Name              string `json:"name"`
	Image             string `json:"image"`
	LastStatus        string `json:"lastStatus"`
	ExitCode          *int   `json:"exitCode,omitempty"`
	NetworkBindings   []any  `json:"networkBindings"`
	NetworkInterfaces []any  `json:"networkInterfaces"`
	HealthStatus      string `json:"healthStatus"`
}

type wireOverrides struct {
	ContainerOverrides            []any `json:"containerOverrides"`
	InferenceAcceleratorOverrides []any `json:"inferenceAcceleratorOverrides"`
}

// wireProtectedTask is the ProtectedTask shape. expirationDate is present
// only while protection is enabled, as ECS sends it.
type wireProtectedTask struct {
	TaskArn           string     `json:"taskArn"`
	ProtectionEnabled bool       `json:"protectionEnabled"`
	ExpirationDate    *epochTime `json:"expirationDate,omitempty"`
}

type protectionResponse struct {
	ProtectedTasks []wireProtectedTask `json:"protectedTasks"`
	Failures       []wireFailure       `json:"failures"`
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (e *Emulator) renderCluster(c *cluster) wireCluster {
	w := wireCluster{
		ClusterArn:                      c.arn,
		ClusterName:                     c.name,
		Status:                          c.status,
		Statistics:                      []any{},
		Tags:                            emptyIfNil(c.tags),
		Settings:                        []any{map[string]string{"name": "containerInsights", "value": "disabled"}},
		CapacityProviders:               []string{},
		DefaultCapacityProviderStrategy: []any{},
	}
	if c.status != statusActive {
		return w
	}
	for _, t := range c.tasks {
		if t.running() {
			w.RunningTasksCount++
		}
	}
	w.ActiveServicesCount = len(c.activeServices())
	return w
}

// renderTaskDefinition returns the stored request members plus the members
// ECS adds on registration.
func renderTaskDefinition(td *taskDefinition) map[string]any {
	out := make(map[string]any, len(td.fields)+8)
	for k, v := range td.fields {
		out[k] = v
	}
	out["taskDefinitionArn"] = td.arn
	out["family"] = td.family
	out["revision"] = td.revision
	out["status"] = td.status
	out["registeredAt"] = epoch(td.registeredAt)
	out["requiresAttributes"] = []any{}
	out["compatibilities"] = []string{"EC2", "FARGATE"}
	if _, ok := out["volumes"]; !ok {
		out["volumes"] = []any{}
	}
	if _, ok := out["placementConstraints"]; !ok {
		out["placementConstraints"] = []any{}
	}
	return out
}

func (e *Emulator) renderService(c *cluster, s *service) wireService {
	running := len(c.runningTasks(s))
	deploymentConfig := s.deploymentConfig
	if len(deploymentConfig) == 0 {
		deploymentConfig = json.RawMessage(`{"deploymentCircuitBreaker":{"enable":false,"rollback":false},` +
			`"maximumPercent":200,"minimumHealthyPercent":100}`)
	}
	w := wireService{
		ServiceArn:              s.arn,
		ServiceName:             s.name,
		ClusterArn:              c.arn,
		LoadBalancers:           []any{},
		ServiceRegistries:       []any{},
		Status:                  s.status,
		DesiredCount:            s.desiredCount,
		RunningCount:            running,
		LaunchType:              s.launchType,
		PlatformVersion:         s.platformVersion,
		TaskDefinition:          s.taskDefinition.arn,
		DeploymentConfiguration: deploymentConfig,
		Events:                  []any{},
		CreatedAt:               epoch(s.createdAt),
		PlacementConstraints:    []any{},
		PlacementStrategy:       []any{},
		NetworkConfiguration:    s.networkConfiguration,
		SchedulingStrategy:      "REPLICA",
		DeploymentController:    map[string]string{"type": "ECS"},
		Tags:                    emptyIfNil(s.tags),
		PropagateTags:           "NONE",
	}
	w.Deployments = []wireDeployment{{
		ID:                   s.deploymentID,
		Status:               "PRIMARY",
		TaskDefinition:       s.taskDefinition.arn,
		DesiredCount:         s.desiredCount,
		RunningCount:         running,
		CreatedAt:            epoch(s.createdAt),
		UpdatedAt:            epoch(s.updatedAt),
		LaunchType:           s.launchType,
		PlatformVersion:      s.platformVersion,
		NetworkConfiguration: s.networkConfiguration,
		RolloutState:         "COMPLETED",
		RolloutStateReason:   "ECS deployment " + s.deploymentID + " completed.",
	}}
	if s.status != statusActive {
		w.Deployments = []wireDeployment{}
	}
	return w
}

func (e *Emulator) renderTask(region string, t *task) wireTask {
	w := wireTask{
		TaskArn:              t.arn,
		ClusterArn:           t.cluster.arn,
		TaskDefinitionArn:    t.taskDefinition.arn,
		LastStatus:           t.lastStatus,
		DesiredStatus:        t.desiredStatus,
		LaunchType:           t.launchType,
		PlatformVersion:      t.platformVersion,
		AvailabilityZone:     region + "a",
		Group:                t.group,
		StartedBy:            t.startedBy,
		Cpu:                  t.taskDefinition.cpu,
		Memory:               t.taskDefinition.memory,
		Version:              t.version,
		Connectivity:         "CONNECTED",
		ConnectivityAt:       epoch(t.startedAt),
		CreatedAt:            epoch(t.createdAt),
		StartedAt:            epoch(t.startedAt),
		StoppingAt:           epoch(t.stoppedAt),
		StoppedAt:            epoch(t.stoppedAt),
		ExecutionStoppedAt:   epoch(t.stoppedAt),
		StoppedReason:        t.stoppedReason,
		StopCode:             t.stopCode,
		HealthStatus:         "UNKNOWN",
		Overrides:            wireOverrides{ContainerOverrides: []any{}, InferenceAcceleratorOverrides: []any{}},
		Attachments:          []any{},
		Tags:                 emptyIfNil(t.tags),
		EnableExecuteCommand: false,
	}
	for _, c := range t.containers {
		wc := wireContainer{
			ContainerArn:      c.arn,
			TaskArn:           t.arn,
			Name:              c.name,
			Image:             c.image,
			LastStatus:        t.lastStatus,
			NetworkBindings:   []any{},
			NetworkInterfaces: []any{},
			HealthStatus:      "UNKNOWN",
		}
		if !t.running() {
			// The emulator's containers stop cleanly when their task stops.
			exitCode := 0
			wc.ExitCode = &exitCode
		}
		w.Containers = append(w.Containers, wc)
		w.Overrides.ContainerOverrides = append(w.Overrides.ContainerOverrides, map[string]string{"name": c.name})
	}
	w.Containers = emptyIfNil(w.Containers)
	return w
}
