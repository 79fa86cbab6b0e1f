package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// usage is printed by `loupe help` and on a missing or unknown command.
const usage = `loupe is a tracing platform for LLM applications.

Usage:

	loupe <command> [flags]

Commands:

	serve     receive OTLP traces and logs, store them, serve the API
	demo      send realistic traces of a simulated LLM support agent
	traces    list traces that match a filter
	show      print one trace as a timeline
	stats     aggregate latency, errors, tokens and cost by field
	tail      print new traces as they arrive
	sampling  show the sampling policy and decisions; boost, list and revoke boosts
	keys      create, list and revoke API keys
	version   print the version
	help      print this help

Run "loupe <command> -h" for the flags of a command.
`

// usageError reports a command line that cannot run as typed. Its hint
// tells the user what to try instead.
type usageError struct {
	message string
	hint    string
}

func (e *usageError) Error() string { return e.message }

// run executes the command named by args[0]. It reports errors on stderr
// itself and returns them so that main can choose the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "loupe: %s\n", ue.message)
		if ue.hint != "" {
			fmt.Fprintf(stderr, "Try: %s\n", ue.hint)
		}
	default:
		fmt.Fprintf(stderr, "loupe: %v\n", err)
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{message: "no command given", hint: "loupe serve"}
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stderr)
	case "demo":
		return runDemo(ctx, args, getenv, stderr)
	case "traces":
		return runTraces(ctx, args, getenv, stdout, stderr)
	case "show":
		return runShow(ctx, args, getenv, stdout, stderr)
	case "stats":
		return runStats(ctx, args, getenv, stdout, stderr)
	case "tail":
		return runTail(ctx, args, getenv, stdout, stderr)
	case "sampling":
		return runSampling(ctx, args, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args, getenv, stdout, stderr)
	case "version":
		return runVersion(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return &usageError{message: fmt.Sprintf("unknown command %q", cmd), hint: "loupe help"}
	}
}

// code maps the error returned by run to the process exit code: 0 for
// success (and for -h), 2 for a usage error, 1 for anything else.
func code(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
