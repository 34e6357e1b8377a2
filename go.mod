module github.com/offboard-dev/genesys-deactivator

go 1.26.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/google/go-cmp v0.7.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/oauth2 v0.38.0
	golang.org/x/time v0.16.0
)

require golang.org/x/text v0.43.0 // indirect
