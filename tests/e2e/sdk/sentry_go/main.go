// A tiny program using Debian's sentry-go (golang-github-getsentry-sentry-go-dev, 0.11), built by
// tests/e2e/test_sdk_current.py in GOPATH mode against the package's sources (no module
// downloads). It reports the same failure twice (one issue), a wrapped failure and a message to
// the DSN in SLUICE_DSN, prints each event id as a JSON line and flushes before it exits.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/getsentry/sentry-go"
)

// declinedError is the application's own error type: its Go type names the issue.
type declinedError struct{ order int }

func (e *declinedError) Error() string { return fmt.Sprintf("card declined for order %d", e.order) }

func charge(order int) error { return &declinedError{order: order} }

func checkout(order int) error {
	if err := charge(order); err != nil {
		return fmt.Errorf("checkout %d: %w", order, err)
	}
	return nil
}

func out(id *sentry.EventID) {
	if id == nil {
		fmt.Fprintln(os.Stderr, "event dropped by the SDK")
		os.Exit(1)
	}
	b, _ := json.Marshal(string(*id))
	fmt.Println(string(b))
}

func main() {
	err := sentry.Init(sentry.ClientOptions{
		Dsn:         os.Getenv("SLUICE_DSN"),
		Release:     "shop@2.0.0",
		Environment: "staging",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sentry.Init:", err)
		os.Exit(1)
	}
	for _, order := range []int{17, 18} {
		out(sentry.CaptureException(charge(order)))
	}
	out(sentry.CaptureException(checkout(19)))
	sentry.ConfigureScope(func(scope *sentry.Scope) { scope.SetLevel(sentry.LevelWarning) })
	out(sentry.CaptureMessage("inventory sync finished with warnings"))
	if !sentry.Flush(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "sentry.Flush timed out")
		os.Exit(1)
	}
}
