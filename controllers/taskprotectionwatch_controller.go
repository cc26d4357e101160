// Package controllers contains the TaskProtectionWatch reconciler, which
// reads ECS task scale-in protection with GetTaskProtection and reports it in
// the watch's status.
package controllers

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ecsv1alpha1 "github.com/taskprotection/ecs-taskprotection-controller/api/v1alpha1"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/ecsclient"
	"github.com/taskprotection/ecs-taskprotection-controller/controllers/taskref"
)

// ClientProvider returns the ECS client of a region.
type ClientProvider interface {
	ForRegion(region string) ecsclient.API
}

// defaultInterval is the poll interval of a watch without spec.interval. The
// CRD defaults the field, so this applies only to objects stored before it.
const defaultInterval = time.Minute

// TaskProtectionWatchReconciler polls ECS for the tasks of each
// TaskProtectionWatch and writes what it reads into status.
type TaskProtectionWatchReconciler struct {
	client.Client

	// Clients returns the ECS client of a region.
	Clients ClientProvider

	// Recorder emits events on transitions.
	Recorder events.EventRecorder

	// Clock is the source of the current time for scheduling and condition
	// timestamps.
	Clock clock.PassiveClock

	// DefaultRegion is the region of watches whose cluster and tasks name
	// none.
	DefaultRegion string

	// Schedule sets when to poll again.
	Schedule Schedule

	states pollStates
}

// +kubebuilder:rbac:groups=ecs.taskprotection.io,resources=taskprotectionwatches,verbs=get;list;watch
// +kubebuilder:rbac:groups=ecs.taskprotection.io,resources=taskprotectionwatches/status,verbs=update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile polls ECS for one watch when its poll is due and writes the
// result into status if anything changed.
func (r *TaskProtectionWatchReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	watch := &ecsv1alpha1.TaskProtectionWatch{}
	if err := r.Get(ctx, req.NamespacedName, watch); err != nil {
		if apierrors.IsNotFound(err) {
			// No finalizer: nothing in AWS is owned, so deletion only
			// stops polling.
			r.states.forget(req.NamespacedName)
			forgetWatchMetrics(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	if watch.Spec.Suspend {
		return r.reconcileSuspended(ctx, watch)
	}

	now := r.Clock.Now()
	state, due, wait := r.pollDue(watch, now)
	if !due {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionReady) == nil {
		// A new watch shows Ready=Unknown at once, because its first poll
		// may wait behind the client-side rate limit.
		if _, err := r.writeStatus(ctx, watch, func(w *ecsv1alpha1.TaskProtectionWatch) {
			applyPending(w, now)
		}); err != nil {
			return ctrl.Result{}, ignoreStale(err)
		}
	}
	return r.reconcilePoll(ctx, watch, state)
}

// pollDue reports whether the watch should be polled now and returns the
// poll state to continue from. When the poll is not due, it returns how long
// to wait, which is zero for a stalled generation: only a spec change or a
// poll request ends that.
func (r *TaskProtectionWatchReconciler) pollDue(watch *ecsv1alpha1.TaskProtectionWatch, now time.Time) (pollState, bool, time.Duration) {
	state, known := r.states.get(client.ObjectKeyFromObject(watch))
	// A watch deleted and created again under the same name starts at
	// generation 1 again, so the UID distinguishes the two.
	current := known && state.uid == watch.UID && state.generation == watch.Generation
	requested := watch.Annotations[ecsv1alpha1.AnnotationPollRequestedAt]
	if current && requested == state.pollRequest {
		if state.stalled {
			return state, false, 0
		}
		if wait := state.nextPoll.Sub(now); wait > 0 {
			return state, false, wait
		}
	}
	if !current {
		state = pollState{uid: watch.UID, generation: watch.Generation}
	}
	state.pollRequest = requested
	state.stalled = false
	return state, true, 0
}

// reconcilePoll polls ECS, writes status and schedules the next poll.
func (r *TaskProtectionWatchReconciler) reconcilePoll(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch, state pollState) (ctrl.Result, error) {
	result, err := r.poll(ctx, watch)
	if err == nil {
		return r.handlePollSuccess(ctx, watch, state, result)
	}
	var failed *pollError
	if !errors.As(err, &failed) {
		return ctrl.Result{}, err
	}
	return r.handlePollFailure(ctx, watch, state, failed)
}

// handlePollSuccess writes what the poll read, emits events for what
// changed and schedules the next poll at the interval or the next expiry.
func (r *TaskProtectionWatchReconciler) handlePollSuccess(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch, state pollState, result *pollResult) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	now := r.Clock.Now()
	before := watch.Status.DeepCopy()

	changed, err := r.writeStatus(ctx, watch, func(w *ecsv1alpha1.TaskProtectionWatch) {
		applyPollSuccess(w, result, now)
	})
	if err != nil {
		return ctrl.Result{}, ignoreStale(err)
	}
	if meta.IsStatusConditionFalse(before.Conditions, ecsv1alpha1.ConditionReady) {
		r.Recorder.Eventf(watch, nil, corev1.EventTypeNormal, EventPollRecovered, "Poll", "GetTaskProtection succeeded again")
		log.Info("Polling recovered")
	}
	recordTransitions(r.Recorder, watch, *before, now)
	observeWatch(watch)

	var nextExpiry *time.Time
	if watch.Status.NextExpirationTime != nil {
		nextExpiry = &watch.Status.NextExpirationTime.Time
	}
	delay := r.Schedule.afterSuccess(intervalOf(watch), nextExpiry, now)
	state.failures, state.throttles, state.lastFailure = 0, 0, ""
	state.nextPoll = now.Add(delay)
	r.states.set(client.ObjectKeyFromObject(watch), state)

	values := []any{"calls", result.calls,
		"protected", watch.Status.ProtectedCount, "failures", watch.Status.FailureCount, "nextPoll", delay}
	if changed {
		log.Info("Updated protection status", values...)
	} else {
		log.V(1).Info("Polled ECS; nothing changed", values...)
	}
	return ctrl.Result{RequeueAfter: delay}, nil
}

// handlePollFailure marks the watch not Ready, keeping the last known
// protection data, and schedules a retry by the error's class. Errors that
// only a spec change can fix end the generation with a terminal error.
func (r *TaskProtectionWatchReconciler) handlePollFailure(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch, state pollState, failed *pollError) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	now := r.Clock.Now()
	class := failed.class

	// The backoff grows with failures of one class; another class starts it
	// over, because its cause is new.
	if class.Reason != state.lastFailure {
		state.failures = 0
	}
	state.lastFailure = class.Reason
	state.failures++
	if class.Reason == ecsv1alpha1.ReasonThrottled {
		state.throttles++
	} else {
		state.throttles = 0
	}
	delay := r.Schedule.afterFailure(class, intervalOf(watch), state.failures)
	state.nextPoll = now.Add(delay)
	state.stalled = class.Retry == ecsclient.RetryNone
	r.states.set(client.ObjectKeyFromObject(watch), state)

	// Throttling is routine under a shared quota: the watch keeps its
	// condition until several polls in a row were throttled.
	if class.Reason == ecsv1alpha1.ReasonThrottled && state.throttles < r.Schedule.ThrottleTolerance {
		log.V(1).Info("ECS throttled the poll; retrying",
			"throttledPolls", state.throttles, "retryAfter", delay)
		return ctrl.Result{RequeueAfter: delay}, nil
	}

	readyBefore := meta.FindStatusCondition(watch.Status.Conditions, ecsv1alpha1.ConditionReady)
	newFailure := readyBefore == nil || readyBefore.Status != metav1.ConditionFalse || readyBefore.Reason != class.Reason
	if _, err := r.writeStatus(ctx, watch, func(w *ecsv1alpha1.TaskProtectionWatch) {
		applyPollFailure(w, class, failed.region, now)
	}); err != nil {
		return ctrl.Result{}, ignoreStale(err)
	}
	if newFailure {
		// The condition carries a stable message; the full error, which
		// changes from call to call, goes to the event and the log.
		r.Recorder.Eventf(watch, nil, corev1.EventTypeWarning, EventPollFailed, "Poll", "%s: %v", class.Reason, failed)
		if !state.stalled {
			// controller-runtime logs the terminal error of a stalled
			// watch itself.
			log.Error(failed, "Polling failed", "reason", class.Reason,
				"retryAfter", delay)
		}
	} else {
		log.V(1).Info("Polling still failing", "reason", class.Reason,
			"failedPolls", state.failures, "retryAfter", delay)
	}

	if state.stalled {
		// A spec change starts a new reconcile, so there is nothing to
		// requeue.
		return ctrl.Result{}, reconcile.TerminalError(failed)
	}
	return ctrl.Result{RequeueAfter: delay}, nil
}

// reconcileSuspended stops polling and records that in the Ready condition.
func (r *TaskProtectionWatchReconciler) reconcileSuspended(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch) (ctrl.Result, error) {
	r.states.forget(client.ObjectKeyFromObject(watch))
	now := r.Clock.Now()
	_, err := r.writeStatus(ctx, watch, func(w *ecsv1alpha1.TaskProtectionWatch) {
		applySuspended(w, now)
	})
	return ctrl.Result{}, ignoreStale(err)
}

// poll resolves the watch's region and reads its tasks' protection.
func (r *TaskProtectionWatchReconciler) poll(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch) (*pollResult, error) {
	tasks := uniqueTasks(watch)
	region := taskref.ResolveRegion(watch.Spec.Region, watch.Spec.Cluster, tasks, r.DefaultRegion)
	if region == "" {
		return nil, &pollError{class: regionUnknown, err: errRegionUnknown}
	}
	return poll(ctx, r.Clients.ForRegion(region), region, watch.Spec.Cluster, tasks)
}

var (
	errRegionUnknown = errors.New("no region: spec.region is empty, the cluster and tasks are not ARNs, and the controller has no --region")
	regionUnknown    = ecsclient.Class{
		Reason:  ecsv1alpha1.ReasonRegionUnknown,
		Message: "No AWS region is known for this watch; set spec.region or start the controller with --region",
		Retry:   ecsclient.RetryNone,
	}
)

// errStaleWatch reports that the watch was deleted, created again or given a
// new spec while it was polled, so the poll's result belongs to no current
// object. The new object or generation gets a reconcile of its own.
var errStaleWatch = errors.New("the watch changed during the poll")

// writeStatus applies mutate to the watch's status and patches it when it
// changed, and reports whether it did. A conflict, for example with a client
// that changed a label since the read, is retried quietly on a fresh copy of
// the object. It returns errStaleWatch, leaving watch as it was, when the
// object is gone or is another object or generation than the one polled.
func (r *TaskProtectionWatchReconciler) writeStatus(ctx context.Context, watch *ecsv1alpha1.TaskProtectionWatch, mutate func(*ecsv1alpha1.TaskProtectionWatch)) (bool, error) {
	changed := false
	current := watch
	attempts := 0
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		attempts++
		if attempts > 1 {
			// The last patch met a conflict: read the object again.
			fresh := &ecsv1alpha1.TaskProtectionWatch{}
			if err := r.Get(ctx, client.ObjectKeyFromObject(watch), fresh); err != nil {
				if apierrors.IsNotFound(err) {
					return errStaleWatch
				}
				return err
			}
			if fresh.UID != watch.UID || fresh.Generation != watch.Generation {
				return errStaleWatch
			}
			current = fresh
		}

		original := current.DeepCopy()
		mutate(current)
		changed = !equality.Semantic.DeepEqual(original.Status, current.Status)
		if !changed {
			return nil
		}
		patch := client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})
		err := r.Status().Patch(ctx, current, patch)
		if apierrors.IsNotFound(err) {
			return errStaleWatch
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if current != watch {
		*watch = *current
	}
	return changed, nil
}

// ignoreStale drops errStaleWatch, because the changed object has a
// reconcile of its own.
func ignoreStale(err error) error {
	if errors.Is(err, errStaleWatch) {
		return nil
	}
	return err
}

func intervalOf(watch *ecsv1alpha1.TaskProtectionWatch) time.Duration {
	if watch.Spec.Interval == nil || watch.Spec.Interval.Duration <= 0 {
		return defaultInterval
	}
	return watch.Spec.Interval.Duration
}

// SetupWithManager registers the reconciler. Only spec and annotation
// changes start a reconcile: status writes and label changes do not, so the
// controller's own writes never wake it.
func (r *TaskProtectionWatchReconciler) SetupWithManager(mgr ctrl.Manager, options controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ecsv1alpha1.TaskProtectionWatch{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(options).
		Named("taskprotectionwatch").
		Complete(r)
}
