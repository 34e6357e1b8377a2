// Package genesys is a client for the parts of the Genesys Cloud Platform
// API that offboarding needs: SCIM users (read, find, deactivate,
// reactivate), token revocation, role grants, and the contact-center state
// a leaver leaves behind (routing status and queue memberships, presence,
// stations, call forwarding, Architect flow locks, OAuth clients they
// created, WFM management unit, MFA verifiers). It follows the API as
// Genesys documents it (see the project's reference/genesys-api.md), not the
// original tutorial's endpoints, several of which do not exist.
//
// # Regions and endpoints
//
// NewClient takes a region ("eu-central-1" or "mypurecloud.de") or an
// explicit base URL. API calls go to https://api.<host>/ and the token grant
// to https://login.<host>/oauth/token. Plain http is refused except to
// loopback hosts, unless WithInsecureHTTP is given. Redirects are never
// followed, so the client secret reaches only the configured login host.
//
// # Authentication
//
// The client runs the OAuth client-credentials grant
// (golang.org/x/oauth2/clientcredentials, credentials in a Basic header),
// caches the token and renews it 60 s before it expires. A 401 on an API
// call forgets the token and retries once with a fresh grant; a second 401
// is returned as ErrUnauthorized. A refused grant is ErrCredentials.
//
// # Errors
//
// Every non-2xx answer becomes an *APIError (a 429 a *RateLimitError) that
// names the method, path, status, Genesys code and correlation id, and never
// a token or secret. Match kinds with errors.Is:
//
//	u, _, err := client.Users.Get(ctx, id)
//	switch {
//	case errors.Is(err, genesys.ErrNotFound):        // no such user
//	case errors.Is(err, genesys.ErrVersionConflict): // re-read and retry
//	case errors.Is(err, genesys.ErrTransient):       // retried already; try again later
//	}
//	var rl *genesys.RateLimitError
//	if errors.As(err, &rl) {
//		time.Sleep(rl.RetryAfter)
//	}
//
// Genesys documents a stale If-Match three ways (400 with scimType
// invalidVers, 409, 412); all are ErrVersionConflict. Error bodies come in
// two shapes, the platform ErrorBody and the SCIM Error (whose status is a
// string); CheckResponse reads both.
//
// # Retries and rate limits
//
// Transient failures (408, 5xx other than 501, network errors, attempt
// timeouts) are retried with exponential backoff and jitter until the call
// succeeds, WithMaxElapsedTime passes, or the caller's context would end
// during the next wait. A 429 is never retried here: it is reported to the
// Limiter and returned, because pausing a fleet is the caller's business.
// Every request, retries included, first waits on the Limiter with the
// client's priority (see WithPriority); the default Limiter is a
// golang.org/x/time/rate bucket of 300 requests per minute.
package genesys
