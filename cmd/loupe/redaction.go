package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/loupehq/loupe/internal/redact"
)

// rulesFileName is the default rules file in the data directory; PUT
// /api/v1/redaction/rules creates it.
const rulesFileName = "redaction.rules"

// startRedaction builds the redaction engine of `loupe serve` and starts
// reloading its rules on SIGHUP. It returns a nil engine with
// --redaction=off (after a loud warning) or --decode-only (nothing is
// stored). stop ends the SIGHUP goroutine and waits for it.
func startRedaction(ctx context.Context, cfg serveConfig, logger *slog.Logger) (e *redact.Engine, stop func(), err error) {
	stop = func() {}
	if cfg.DecodeOnly {
		return nil, stop, nil
	}
	if cfg.Redaction == "off" {
		logger.Warn("REDACTION IS OFF (--redaction=off): personal data and secrets in traces are stored as sent; use this only for benchmarks and tests")
		return nil, stop, nil
	}
	secret, err := redact.LoadSecret(cfg.RedactionSecretFile, cfg.Data)
	if err != nil {
		return nil, stop, fmt.Errorf("redaction secret (--redaction-secret-file): %w", err)
	}
	file := cfg.RedactionRules
	if file == "" {
		file = filepath.Join(cfg.Data, rulesFileName)
	}
	e, err = redact.Open(redact.Options{Secret: secret, File: file, Logger: logger})
	if err != nil {
		return nil, stop, fmt.Errorf("load --redaction-rules: %w (fix the lines named, or move the file away to use the default rules)", err)
	}
	logger.Info("redaction on", "rules", file, "projects_with_rules", len(e.Rules().Projects()))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := e.Reload(); err != nil {
					logger.Error("redaction rules not reloaded; the previous rules stay in force", "file", file, "err", err)
				}
			}
		}
	})
	return e, func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}, nil
}
