// Package ingress is the HTTPS front door for systems that learn of a leaver first and speak
// webhooks, not NATS: a generic Standard Webhooks sender (a SOAR or ticketing workflow posting
// our job JSON), Okta event hooks, and HR systems that sign their webhooks with an HMAC of the
// body. Each configured [Source] authenticates a request and maps its events to jobs; the
// [Server] checks size, rate and the job rules (the same [jobs.Job.Validate] as enqueue) and
// answers 2xx only after JetStream has stored every job the request produced, so a 2xx means
// durable.
//
// The package holds the sources, their configuration and the HTTP server. It does not hold the
// job contract (pkg/jobs), the command (cmd/ingress, internal/ingresscmd) or anything that talks
// to Genesys: like cmd/enqueue, the ingress links neither pkg/genesys nor golang.org/x/oauth2.
package ingress
