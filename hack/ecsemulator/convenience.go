package ecsemulator

import (
	"errors"
	"fmt"
	"time"
)

// CreateServiceTasks starts count tasks of a service without going through
// HTTP and returns their task ARNs. It creates the cluster, a task definition
// whose family is the service name, and the service (with desiredCount
// count) when they are missing. For an existing service it raises the desired
// count by count. region "" means the default region.
func (e *Emulator) CreateServiceTasks(region, clusterName, serviceName string, count int) ([]string, error) {
	if count < 0 || count > maxTasksPerService {
		return nil, fmt.Errorf("count %d is out of range: use 0 to %d", count, maxTasksPerService)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	rs, cl, err := e.conveniencePlace(region, clusterName, now)
	if err != nil {
		return nil, err
	}
	e.purgeStopped(rs, now)
	svc := cl.services[serviceName]
	if svc == nil || svc.status != statusActive {
		td, err := e.ensureTaskDefinition(rs, serviceName, now)
		if err != nil {
			return nil, err
		}
		var apiErr *apiError
		svc, apiErr = e.addService(rs, cl, serviceSpec{name: serviceName, taskDefinition: td}, now)
		if apiErr != nil {
			return nil, apiErr
		}
	}
	if svc.desiredCount+count > maxTasksPerService {
		return nil, fmt.Errorf("service %s would exceed %d tasks", serviceName, maxTasksPerService)
	}
	svc.desiredCount += count
	arns := make([]string, 0, count)
	for range count {
		arns = append(arns, e.startTask(rs, cl, e.serviceTaskSpec(svc), now).arn)
	}
	return arns, nil
}

// RunStandaloneTasks starts count tasks that belong to no service, as
// RunTask does, and returns their task ARNs. It creates the cluster and a
// task definition of family "standalone" when they are missing.
func (e *Emulator) RunStandaloneTasks(region, clusterName string, count int) ([]string, error) {
	if count < 1 || count > maxTasksPerService {
		return nil, fmt.Errorf("count %d is out of range: use 1 to %d", count, maxTasksPerService)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	rs, cl, err := e.conveniencePlace(region, clusterName, now)
	if err != nil {
		return nil, err
	}
	td, err := e.ensureTaskDefinition(rs, "standalone", now)
	if err != nil {
		return nil, err
	}
	spec := taskSpec{taskDefinition: td}
	if apiErr := e.checkStandaloneSpec(&spec); apiErr != nil {
		return nil, apiErr
	}
	arns := make([]string, 0, count)
	for range count {
		arns = append(arns, e.startTask(rs, cl, spec, now).arn)
	}
	return arns, nil
}

// SetProtection enables protection on service tasks for expiresIn (0 means
// the ECS default of 120 minutes) or disables it, without the desired-count
// limit that UpdateTaskProtection applies. Tasks are IDs or ARNs; an unknown,
// stopped or standalone task is an error and nothing changes.
func (e *Emulator) SetProtection(region, clusterName string, taskARNs []string, enabled bool, expiresIn time.Duration) error {
	if expiresIn < 0 {
		return fmt.Errorf("expiresIn %v is negative", expiresIn)
	}
	if expiresIn == 0 {
		expiresIn = defaultExpiresInMinutes * time.Minute
	}
	if region == "" {
		region = e.defaultRegion
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	rs := e.region(region)
	e.purgeStopped(rs, now)
	cl := rs.activeCluster(clusterName)
	if cl == nil {
		return fmt.Errorf("cluster %s not found in region %s", clusterName, region)
	}
	var targets []*task
	for _, s := range taskARNs {
		ref, err := parseTaskRef(s)
		if err != nil {
			return err
		}
		t := e.findTask(rs, cl, ref)
		switch {
		case t == nil:
			return fmt.Errorf("task %s not found in cluster %s", s, clusterName)
		case t.service == nil:
			return fmt.Errorf("task %s is a standalone task; ECS protects only service tasks", s)
		case !t.running():
			return fmt.Errorf("task %s is not running", s)
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		if !enabled {
			t.protectedUntil = time.Time{}
			continue
		}
		t.protectedUntil = truncateToMillis(now).Add(expiresIn)
		t.everProtected = true
	}
	return nil
}

// conveniencePlace returns the region and the cluster for the convenience
// methods, creating the cluster if needed. The caller holds e.mu.
func (e *Emulator) conveniencePlace(region, clusterName string, now time.Time) (*regionState, *cluster, error) {
	if region == "" {
		region = e.defaultRegion
	}
	if !regionPattern.MatchString(region) {
		return nil, nil, fmt.Errorf("invalid region %q, expected a name such as eu-west-1", region)
	}
	if !namePattern.MatchString(clusterName) {
		return nil, nil, fmt.Errorf("invalid cluster name %q", clusterName)
	}
	rs := e.region(region)
	return rs, e.ensureCluster(rs, clusterName, "", now), nil
}

// ensureTaskDefinition returns the latest revision of family, registering a
// one-container definition if the family has none. The caller holds e.mu.
func (e *Emulator) ensureTaskDefinition(rs *regionState, family string, now time.Time) (*taskDefinition, error) {
	if td, err := e.lookupTaskDefinition(rs, family); err == nil {
		return td, nil
	}
	fields, err := taskDefinitionFields(TaskDefinitionState{Family: family})
	if err != nil {
		return nil, err
	}
	td, apiErr := e.addTaskDefinition(rs, fields, now)
	if apiErr != nil {
		return nil, errors.New(apiErr.message)
	}
	return td, nil
}
