// Sends one error and one message to the DSN in argv[1] with raven-go (the legacy Go client,
// Debian's golang-github-getsentry-raven-go-dev), default settings. Built by
// tests/e2e/test_sdk_legacy.py in GOPATH mode against Debian's sources; no module downloads.
package main

import (
	"errors"
	"fmt"
	"os"

	raven "github.com/getsentry/raven-go"
)

func parseConfig(name string) error {
	return errors.New("raven-go legacy failure: cannot parse " + name)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: raven_go DSN")
		os.Exit(2)
	}
	if err := raven.SetDSN(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "raven_go: bad DSN:", err)
		os.Exit(1)
	}
	if id := raven.CaptureErrorAndWait(parseConfig("app.toml"), map[string]string{"sdk": "raven-go"}); id == "" {
		fmt.Fprintln(os.Stderr, "raven_go: error not sent")
		os.Exit(1)
	}
	if id := raven.CaptureMessageAndWait("raven-go legacy message", map[string]string{"sdk": "raven-go"}); id == "" {
		fmt.Fprintln(os.Stderr, "raven_go: message not sent")
		os.Exit(1)
	}
}
