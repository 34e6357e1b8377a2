package genesyssim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Faults configures fault injection on /api paths (never on /oauth/token or /admin).
// The zero value injects nothing. Draws come from one generator seeded with Seed, so a run of
// sequential requests with the same Faults sees the same faults; concurrent requests draw in
// arrival order. Every SetFaults call reseeds the generator and ends a running 429 burst.
type Faults struct {
	// Seed seeds the fault generator. Defaults to Config.Seed.
	Seed int64 `json:"seed"`
	// Routes limits request-level faults (latency, bursts, timeouts, 5xx) to these route
	// templates, e.g. "PATCH /api/v2/scim/v2/users/{id}". Defaults to every /api route.
	Routes []string `json:"routes,omitempty"`
	// LatencyMin and LatencyMax bound a uniformly drawn delay added to each request; the
	// delay ends early when the request's context is done. Defaults to 0 (no delay).
	LatencyMin time.Duration `json:"latencyMin"`
	LatencyMax time.Duration `json:"latencyMax"`
	// ErrorRate is the share of requests answered with a 5xx ErrorBody. Defaults to 0.
	ErrorRate float64 `json:"errorRate"`
	// ErrorStatuses are the statuses drawn for injected 5xx. Defaults to 500, 502, 503, 504.
	ErrorStatuses []int `json:"errorStatuses,omitempty"`
	// ServiceUnavailableRetryAfter, when positive, is sent as Retry-After on injected 503s.
	// Defaults to 0 (no header).
	ServiceUnavailableRetryAfter time.Duration `json:"serviceUnavailableRetryAfter"`
	// BurstRate is the probability that a request starts a burst of 429s. Defaults to 0.
	BurstRate float64 `json:"burstRate"`
	// BurstLength is the number of consecutive requests (any client) a burst answers with 429.
	// Defaults to 3.
	BurstLength int `json:"burstLength"`
	// BurstRetryAfter is the Retry-After of a burst 429, rounded up to whole seconds.
	// Defaults to 1 s.
	BurstRetryAfter time.Duration `json:"burstRetryAfter"`
	// TimeoutRate is the share of requests that never get an answer: the handler waits until the
	// client gives up or MaxHang passes, then drops the connection. Defaults to 0.
	TimeoutRate float64 `json:"timeoutRate"`
	// MaxHang bounds how long a timed-out request holds its connection. Defaults to 30 s.
	MaxHang time.Duration `json:"maxHang"`
	// ConflictRate is the share of SCIM PATCH and DELETE requests answered with a version
	// conflict (as Config.VersionConflict says) whatever If-Match says. Defaults to 0.
	ConflictRate float64 `json:"conflictRate"`
	// BlockingRate is the share of SCIM deactivations refused with a 409 that is not about the
	// version. HYPOTHETICAL: the tutorial claims Genesys blocks deactivation of users with
	// certain assignments; the fact sheet does not confirm it. Defaults to 0.
	BlockingRate float64 `json:"blockingRate"`
	// BlockingUsers are user ids whose deactivation is always refused with that 409.
	// HYPOTHETICAL, as BlockingRate. Defaults to none.
	BlockingUsers []string `json:"blockingUsers,omitempty"`
	// BlockingWhileGranted makes the blocking 409 apply only while the user holds grants, so that
	// removing them (bulkremove) unblocks the deactivation. HYPOTHETICAL, as BlockingRate.
	// Defaults to false: blocking does not depend on grants.
	BlockingWhileGranted bool `json:"blockingWhileGranted,omitempty"`
	// DivisionForbiddenUsers are user ids whose SCIM PATCH is refused with 403
	// missing.division.permission, as Genesys answers a client whose role lacks the permission
	// in the user's division. Defaults to none.
	DivisionForbiddenUsers []string `json:"divisionForbiddenUsers,omitempty"`
	// IgnoreDeactivateRate is the share of SCIM deactivations (a PATCH taking an active user to
	// active=false) answered 200 with the body saying active:false while nothing is stored: a
	// "silently ignored" deactivation, as public write-ups report of SCIM servers (issue 17).
	// Drawn per PATCH, so that a repeated deactivation may apply. Defaults to 0.
	IgnoreDeactivateRate float64 `json:"ignoreDeactivateRate"`
	// IgnoreDeactivateUsers are user ids whose next deactivation is silently ignored, as
	// IgnoreDeactivateRate, once: an id leaves the list when its PATCH is ignored, and a second
	// deactivation of that user applies. Defaults to none.
	IgnoreDeactivateUsers []string `json:"ignoreDeactivateUsers,omitempty"`
}

// Fault names as recorded in Request.Fault.
const (
	FaultLatency     = "latency"
	FaultBurst       = "burst429"
	FaultTimeout     = "timeout"
	FaultServerError = "5xx"
	FaultConflict    = "version_conflict"
	FaultBlocking    = "blocking409"
	FaultDivision    = "division403"
	FaultIgnored     = "ignored_deactivation"
)

func (f Faults) withDefaults() Faults {
	if len(f.ErrorStatuses) == 0 {
		f.ErrorStatuses = []int{500, 502, 503, 504}
	}
	if f.BurstLength == 0 {
		f.BurstLength = 3
	}
	if f.BurstRetryAfter == 0 {
		f.BurstRetryAfter = time.Second
	}
	if f.MaxHang == 0 {
		f.MaxHang = 30 * time.Second
	}
	return f
}

func (f Faults) validate() error {
	var errs []error
	for name, p := range map[string]float64{"error": f.ErrorRate, "burst": f.BurstRate,
		"timeout": f.TimeoutRate, "conflict": f.ConflictRate, "blocking": f.BlockingRate, "ignore deactivate": f.IgnoreDeactivateRate} {
		if p < 0 || p > 1 {
			errs = append(errs, fmt.Errorf("fault %s rate %v is not in [0, 1]", name, p))
		}
	}
	if f.LatencyMin < 0 || f.LatencyMax < f.LatencyMin {
		errs = append(errs, fmt.Errorf("latency range [%v, %v] is invalid", f.LatencyMin, f.LatencyMax))
	}
	for _, s := range f.ErrorStatuses {
		if s < 500 || s > 599 {
			errs = append(errs, fmt.Errorf("fault error status %d is not 5xx", s))
		}
	}
	if f.BurstLength < 1 || f.BurstRetryAfter < 0 || f.MaxHang < 0 || f.ServiceUnavailableRetryAfter < 0 {
		errs = append(errs, errors.New("fault burst length, retry-after and max hang must be positive"))
	}
	return errors.Join(errs...)
}

// faultPlan is what the injector decided for one request.
type faultPlan struct {
	latency time.Duration
	kind    string // "", FaultBurst, FaultTimeout or FaultServerError
	status  int    // for FaultServerError
	// retryAfter is the Retry-After of a burst 429 or an injected 503 (0: none).
	retryAfter time.Duration
	maxHang    time.Duration // for FaultTimeout
}

// injector draws faults. It is safe for concurrent use.
type injector struct {
	mu        sync.Mutex
	f         Faults
	rng       *rand.Rand
	burstLeft int
}

func newInjector(f Faults, defaultSeed int64) *injector {
	in := &injector{}
	in.set(f, defaultSeed)
	return in
}

func (in *injector) set(f Faults, defaultSeed int64) {
	f = f.withDefaults()
	if f.Seed == 0 {
		f.Seed = defaultSeed
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.f = f
	in.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0xfa017))
	in.burstLeft = 0
}

func (in *injector) faults() Faults {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.f
	f.Routes = slices.Clone(f.Routes)
	f.ErrorStatuses = slices.Clone(f.ErrorStatuses)
	f.BlockingUsers = slices.Clone(f.BlockingUsers)
	f.DivisionForbiddenUsers = slices.Clone(f.DivisionForbiddenUsers)
	f.IgnoreDeactivateUsers = slices.Clone(f.IgnoreDeactivateUsers)
	return f
}

// plan draws the request-level faults for a request on route.
func (in *injector) plan(route string) faultPlan {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.f
	var p faultPlan
	if len(f.Routes) > 0 && !slices.Contains(f.Routes, route) {
		return p
	}
	if f.LatencyMax > 0 {
		p.latency = f.LatencyMin + time.Duration(in.rng.Int64N(int64(f.LatencyMax-f.LatencyMin)+1))
	}
	switch {
	case in.burstLeft > 0:
		in.burstLeft--
		p.kind, p.retryAfter = FaultBurst, f.BurstRetryAfter
	case in.hit(f.BurstRate):
		in.burstLeft = f.BurstLength - 1
		p.kind, p.retryAfter = FaultBurst, f.BurstRetryAfter
	case in.hit(f.TimeoutRate):
		p.kind, p.maxHang = FaultTimeout, f.MaxHang
	case in.hit(f.ErrorRate):
		p.kind = FaultServerError
		p.status = f.ErrorStatuses[in.rng.IntN(len(f.ErrorStatuses))]
		if p.status == 503 {
			p.retryAfter = f.ServiceUnavailableRetryAfter
		}
	}
	return p
}

// conflict reports whether a SCIM write gets an injected version conflict.
func (in *injector) conflict() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.hit(in.f.ConflictRate)
}

// blocking reports whether the deactivation of userID, who holds grants
// grants, gets the hypothetical blocking 409.
func (in *injector) blocking(userID string, grants int) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.f.BlockingWhileGranted && grants == 0 {
		return false
	}
	return slices.Contains(in.f.BlockingUsers, userID) || in.hit(in.f.BlockingRate)
}

// divisionForbidden reports whether a change to userID gets 403 missing.division.permission.
func (in *injector) divisionForbidden(userID string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Contains(in.f.DivisionForbiddenUsers, userID)
}

// ignoreDeactivate reports whether the deactivation of userID is silently ignored; a listed user
// leaves the list (once each).
func (in *injector) ignoreDeactivate(userID string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if i := slices.Index(in.f.IgnoreDeactivateUsers, userID); i >= 0 {
		in.f.IgnoreDeactivateUsers = slices.Delete(slices.Clone(in.f.IgnoreDeactivateUsers), i, i+1)
		return true
	}
	return in.hit(in.f.IgnoreDeactivateRate)
}

// hit draws only when p > 0, so disabled faults do not shift the sequence of enabled ones.
func (in *injector) hit(p float64) bool {
	return p > 0 && in.rng.Float64() < p
}
