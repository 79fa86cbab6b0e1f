// Command loupe is the loupe tracing platform for LLM applications: the
// OTLP receiver, the store, the query API and the CLI in one binary.
//
// Run `loupe help` for the list of commands.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(code(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)))
}
