// Package ecsclient builds the ECS clients the controller uses, one per AWS
// region, and classifies the errors they return.
package ecsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"golang.org/x/time/rate"
)

// API is the part of the ECS client the controller calls, with the SDK's
// signatures so that *ecs.Client satisfies it unchanged.
type API interface {
	GetTaskProtection(ctx context.Context, params *ecs.GetTaskProtectionInput, optFns ...func(*ecs.Options)) (*ecs.GetTaskProtectionOutput, error)
}

// Options configures the clients a Factory builds.
type Options struct {
	// Endpoint is an ECS-compatible base URL such as an emulator's. Empty
	// means the AWS endpoint of each region.
	Endpoint string

	// CallTimeout bounds each ECS operation, including the SDK's retries.
	CallTimeout time.Duration

	// QPS and Burst size the client-side token bucket of each region, so
	// that the controller stays inside the account's ECS request quota.
	// QPS 0 turns client-side rate limiting off.
	QPS   float64
	Burst int
}

// Factory returns one ECS client per region, built on first use from a base
// AWS configuration that carries the credential chain.
type Factory struct {
	base    aws.Config
	options Options

	mu      sync.Mutex
	clients map[string]API
}

// NewFactory returns a Factory whose clients share base's credentials,
// retryer and HTTP client.
func NewFactory(base aws.Config, options Options) *Factory {
	return &Factory{base: base, options: options, clients: map[string]API{}}
}

// ForRegion returns the client for region, building it on first use.
func (f *Factory) ForRegion(region string) API {
	f.mu.Lock()
	defer f.mu.Unlock()

	if client, ok := f.clients[region]; ok {
		return client
	}

	cfg := f.base.Copy()
	cfg.Region = region
	if cfg.Credentials != nil {
		cfg.Credentials = credentialsProvider{provider: cfg.Credentials}
	}
	sdkClient := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if f.options.Endpoint != "" {
			o.BaseEndpoint = aws.String(f.options.Endpoint)
		}
		// The standard retryer shares a retry quota per client, which a
		// few failing watches can drain for every watch of the region. The
		// controller's own rate limit and backoff bound retries instead.
		// RetryMaxAttempts of cfg still applies on top of this retryer.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.RateLimiter = ratelimit.None
		})
	})

	limiter := rate.NewLimiter(rate.Inf, 0)
	if f.options.QPS > 0 {
		limiter = rate.NewLimiter(rate.Limit(f.options.QPS), max(f.options.Burst, 1))
	}

	client := &instrumentedClient{
		api:     sdkClient,
		region:  region,
		limiter: limiter,
		timeout: f.options.CallTimeout,
	}
	f.clients[region] = client
	return client
}

// instrumentedClient waits for the region's rate limiter, bounds each call
// with a timeout and records call metrics.
type instrumentedClient struct {
	api     API
	region  string
	limiter *rate.Limiter
	timeout time.Duration
}

func (c *instrumentedClient) GetTaskProtection(ctx context.Context, params *ecs.GetTaskProtectionInput, optFns ...func(*ecs.Options)) (*ecs.GetTaskProtectionOutput, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("waiting for the client-side ECS rate limit of region %s: %w", c.region, err)
	}

	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
		defer cancel()
	}

	start := time.Now()
	out, err := c.api.GetTaskProtection(ctx, params, optFns...)
	if err != nil && errors.Is(context.Cause(ctx), errCallTimeout) {
		err = fmt.Errorf("%w after %s: %w", errCallTimeout, c.timeout, err)
	}
	observeCall("GetTaskProtection", c.region, time.Since(start), err)
	return out, err
}

// ValidateEndpoint checks an --ecs-endpoint value. Plain HTTP is accepted only
// for loopback hosts unless allowInsecure is set, so that signed requests and
// credentials do not cross a network unencrypted by accident.
func ValidateEndpoint(endpoint string, allowInsecure bool) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("invalid ECS endpoint %q: use an absolute URL such as https://ecs.eu-west-1.amazonaws.com or http://127.0.0.1:4566", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowInsecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("ECS endpoint %q uses plain http to a host that is not loopback: use https, or pass --ecs-endpoint-insecure to accept unencrypted requests", endpoint)
	default:
		return fmt.Errorf("invalid ECS endpoint %q: the scheme must be http or https", endpoint)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
