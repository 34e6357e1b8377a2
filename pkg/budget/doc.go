// Package budget shares one Genesys Cloud rate budget (about 300 requests per
// minute per OAuth client) across every worker of a fleet, through one NATS
// KV key updated with compare-and-set.
//
// # State and algorithm
//
// The key client.<OAuth client id> in the budget bucket (genesys-budget)
// holds a small JSON state: the GCRA theoretical arrival time (TAT), the end
// of a 429 pause, a budget lowered by inin-ratelimit-allowed with the end of
// its window, and the urgent announcements of workers (worker id → expiry).
// Each worker runs one acquirer goroutine that serves its local waiters,
// urgent first: Get the key, run decide (a pure function of state, local
// clock and request), Update the key at the revision read; on a conflict
// another worker won and the acquirer reads again after a short random wait.
//
// GCRA with emission interval T and burst tolerance τ = (B−1)·T grants at
// local time t when t ≥ TAT − τ, and sets TAT = max(TAT, t) + T per grant.
// # Why no window holds more than Limit
//
// Compare-and-set puts all grants in one order, each decided from the state
// its predecessor wrote. For grants i < j, t_j ≥ TAT_{j−1} − τ and
// TAT_{j−1} ≥ t_i + (j−i)·T, so grant i+N comes at least N·T − τ later by
// the deciding clocks. Clocks differ by at most S (MaxClockSkew), and a
// request reaches Genesys at most J (MaxSendJitter) after its stamp (a grant
// whose compare-and-set took longer than J/2 is dropped unused), so in real
// time the gap is at least (N−B+1)·T − S − J. With
//
//	T = (W + S + J) / (N − B + 1)
//
// that is at least W: no window of length W sees more than N requests.
// Workers starting, stopping or crashing change nothing: a grant is a
// compare-and-set, not a lease, so a crashed worker holds nothing but its
// urgent announcement, which expires within a few intervals (at most 5 s).
// A lowered budget only lengthens T (τ stays that of the configured budget,
// so the bound still holds at the switch). The cost of the margins at
// 300/min with S = 1 s, J = 50 ms and B = 2 is about 2 % of the budget.
// TestPropertyNoWindowOverBudget checks this with rapid over interleavings
// of acquirers, crashes, stalls, clock offsets, 429s and lowered budgets.
//
// The clock is each worker's own, not the NATS server's: a KV update does not
// return the server's timestamp, so using it would cost another round trip
// per grant; the skew allowance is simpler and provable.
//
// # 429s, lowered budgets, urgent requests
//
// A 429 seen by any worker sets pausedUntil = now + clamp(Retry-After,
// 1 s, 15 min) + MaxClockSkew, extend-only: the worker stops at once, and
// every other worker at its next read of the key. Normal requests resume one
// interval after urgent ones. inin-ratelimit-allowed below Limit lowers the
// budget in force until the window resets (inin-ratelimit-reset, at most
// Window); nothing raises it above Limit.
//
// A worker with urgent waiters that cannot be served at once announces
// itself in the state; while another worker's announcement is live, normal
// requests are not granted. An urgent request therefore waits at most about
// one interval after its announcement lands, two if a normal grant raced it.
//
// # When KV is unreachable
//
// A worker whose KV call fails uses a local golang.org/x/time/rate limiter of
// Limit/MaxFleet per window (burst one, starting empty and not before the
// last TAT it saw) for FallbackFor, then tries KV again. Back on KV it
// charges its fallback grants, and what other workers may still grant on
// theirs, to the TAT. With at most MaxFleet workers all on the fallback the
// fleet stays within Limit; a single worker cut off from NATS while the
// others still reach it may add its share on top (it cannot know).
//
// # Use
//
// Create a Budget with New, pass genesysbudget.New(b) to
// genesys.WithLimiter, and Close it after the worker has stopped. Metrics
// (NewMetrics) report the budget in force, waits by priority, grants,
// pauses, 429s, compare-and-set conflicts, stale grants and fallback state.
package budget
