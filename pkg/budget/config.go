package budget

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Config configures a Budget. Every worker sharing one OAuth client must use
// the same Key, Limit, Window, MaxClockSkew, MaxSendJitter and Burst; if they
// differ, the bound holds for the most permissive of them.
type Config struct {
	// KV is the budget bucket (jobs.Names.BudgetBucket(), "genesys-budget"). Required unless
	// Store is set.
	KV jetstream.KeyValue
	// Store replaces KV, e.g. with NewMemStore in tests and benchmarks. Defaults to a store on KV.
	Store Store
	// Key names the budget: the OAuth client id, which Genesys counts requests by. Characters
	// a KV key may not hold are replaced by '_'. Required.
	Key string
	// WorkerID names this worker in urgent announcements. Defaults to host name and pid.
	WorkerID string
	// Limit is how many requests the whole fleet may send in any Window. Defaults to 300.
	Limit int
	// Window is the length of the rate window. Defaults to 1 minute.
	Window time.Duration
	// MaxClockSkew is the largest difference between any two workers' clocks that the budget
	// tolerates without exceeding Limit. It is added to the window when spacing grants.
	// Defaults to 1 s. Scale it with Window when a benchmark shortens the window.
	MaxClockSkew time.Duration
	// MaxSendJitter bounds the spread of the delay between a grant and the request reaching
	// Genesys (scheduling, connection set-up). It too is added to the window. Defaults to 50 ms.
	MaxSendJitter time.Duration
	// Burst is how many requests may be granted back to back after an idle spell; at least 2,
	// at most Limit/2. A larger Burst lets one compare-and-set grant more at very high limits.
	// Defaults to 2.
	Burst int
	// MaxFleet is the most workers that ever share the budget. When KV is unreachable, each
	// worker falls back to a local limiter of Limit/MaxFleet per Window. Defaults to 8.
	MaxFleet int
	// OpTimeout bounds each KV operation; a worker whose KV call fails or times out falls back.
	// Defaults to 1 s.
	OpTimeout time.Duration
	// FallbackFor is how long a worker stays on its local limiter after a KV failure before it
	// tries KV again. Defaults to 1 s.
	FallbackFor time.Duration
	// MaxBatch is the most waiting requests of one priority one compare-and-set may grant.
	// Defaults to 64.
	MaxBatch int
	// Logger receives the budget's logs. Defaults to zap.NewNop().
	Logger *zap.Logger
	// Metrics, when set, receives the budget's measurements. Defaults to none.
	Metrics *Metrics
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

const (
	defaultLimit  = 300
	defaultWindow = time.Minute
)

func (c *Config) setDefaults() {
	c.Limit = cmp.Or(c.Limit, defaultLimit)
	c.Window = cmp.Or(c.Window, defaultWindow)
	if c.MaxClockSkew == 0 {
		c.MaxClockSkew = time.Second
	}
	if c.MaxSendJitter == 0 {
		c.MaxSendJitter = 50 * time.Millisecond
	}
	c.Burst = cmp.Or(c.Burst, 2)
	c.MaxFleet = cmp.Or(c.MaxFleet, 8)
	c.OpTimeout = cmp.Or(c.OpTimeout, time.Second)
	c.FallbackFor = cmp.Or(c.FallbackFor, time.Second)
	c.MaxBatch = cmp.Or(c.MaxBatch, 64)
	if c.WorkerID == "" {
		host, _ := os.Hostname()
		c.WorkerID = fmt.Sprintf("%s-%d", cmp.Or(host, "worker"), os.Getpid())
	}
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) validate() error {
	var p []string
	if c.KV == nil && c.Store == nil {
		p = append(p, "KV or Store is required")
	}
	if c.Key == "" {
		p = append(p, "Key is required")
	}
	if c.Limit < 4 || c.Window <= 0 {
		p = append(p, fmt.Sprintf("Limit %d per %v: want at least 4 per positive window", c.Limit, c.Window))
	}
	if c.Burst < 2 || c.Burst > c.Limit/2 {
		p = append(p, fmt.Sprintf("Burst %d not in 2–Limit/2", c.Burst))
	}
	if c.MaxClockSkew < 0 || c.MaxSendJitter < 0 || c.MaxFleet < 1 || c.OpTimeout <= 0 || c.FallbackFor <= 0 || c.MaxBatch < 1 {
		p = append(p, "MaxClockSkew and MaxSendJitter must not be negative; MaxFleet, OpTimeout, FallbackFor and MaxBatch must be positive")
	}
	if len(p) > 0 {
		return errors.New("budget: config: " + strings.Join(p, "; "))
	}
	return nil
}

func (c *Config) params() params {
	p := params{limit: c.Limit, window: c.Window, slack: c.MaxClockSkew + c.MaxSendJitter, burst: c.Burst}
	p.announce = min(max(4*p.interval(c.Limit), 200*time.Millisecond), 5*time.Second)
	return p
}

var keyRE = regexp.MustCompile(`[^-/_=.a-zA-Z0-9]`)

// kvKey is the KV key of the budget named key.
func kvKey(key string) string { return "client." + keyRE.ReplaceAllString(key, "_") }
