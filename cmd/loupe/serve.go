package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/loupehq/loupe"
	"github.com/loupehq/loupe/internal/duckdb"
	"github.com/loupehq/loupe/internal/ingest"
	"github.com/loupehq/loupe/internal/otlp"
	"github.com/loupehq/loupe/internal/pricing"
	"github.com/loupehq/loupe/internal/server"
)

const (
	// readHeaderTimeout bounds how long a client may take to send request
	// headers, so idle or slow connections cannot pile up.
	readHeaderTimeout = 10 * time.Second
	// shutdownTimeout bounds a graceful shutdown: finishing in-flight
	// requests, then flushing the ingest queue to the store.
	shutdownTimeout = 30 * time.Second
)

// runServe is `loupe serve`.
func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	stopProfile, err := startCPUProfile(getenv("LOUPE_CPUPROFILE"))
	if err != nil {
		return err
	}
	defer stopProfile()
	return serve(ctx, cfg, logger)
}

// serve runs the receivers until ctx ends or SIGINT/SIGTERM arrives, then
// shuts down gracefully: in-flight requests finish (so every acknowledged
// span is durable), the ingest queue is flushed and the store closed. It
// returns nil after a clean shutdown.
func serve(ctx context.Context, cfg serveConfig, logger *slog.Logger) (err error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if err == nil {
			logger.Info("stopped")
		}
	}()

	prices, err := loadPrices(cfg.Prices)
	if err != nil {
		return err
	}
	logger.Info("starting", "version", version(), "prices", prices.Version(), "decode_only", cfg.DecodeOnly,
		"max_body_bytes", cfg.MaxBodyBytes, "max_attribute_bytes", cfg.MaxAttributeBytes, "queue_spans", cfg.QueueSpans)
	// Before anything is opened: a server that would expose data without
	// keys refuses to start (serve_auth.go).
	var authOpts server.Options
	audit, err := setupAuth(cfg, &authOpts, logger)
	if err != nil {
		return err
	}
	if audit != nil {
		defer audit.Close()
	}
	norm := otlp.NewNormalizer(otlp.Options{MaxAttributeBytes: cfg.MaxAttributeBytes, Price: prices.Apply})

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	// With --decode-only no store is opened: the receivers never submit,
	// and the API answers that it has nothing to read (nil reader).
	var (
		in       server.Ingester = storageOff{}
		reader   loupe.TraceReader
		sampling server.Sampling // nil: every trace kept (--sampling all)
	)
	if !cfg.DecodeOnly {
		retention, err := cfg.Retention.policy()
		if err != nil {
			return err
		}
		logRetention(logger, retention, cfg.Retention.every())
		store, err := duckdb.Open(ctx, duckdb.Options{Dir: cfg.Data, Logger: logger, MemoryLimit: cfg.MemoryLimit,
			Threads:   cfg.StoreThreads,
			Retention: retention, RetentionEvery: cfg.Retention.every(), Registerer: reg})
		if err != nil {
			return fmt.Errorf("open store in --data %s: %w", cfg.Data, err)
		}
		defer func() {
			if cerr := store.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
			}
		}()
		pipeline := ingest.New(store, ingest.Options{QueueSpans: cfg.QueueSpans, Logger: logger, Registerer: reg})
		// Runs after the receivers have stopped (see below) and before the
		// store closes: everything queued reaches the store.
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			if cerr := pipeline.Close(cctx); cerr != nil {
				err = errors.Join(err, fmt.Errorf("flush ingest queue: %w", cerr))
			}
		}()
		in, reader = pipeline, store
		if cfg.Sampling != "all" {
			// The sampler sits in front of the pipeline; its deferred
			// Close runs before the pipeline's.
			sampler, closeSampler, serr := startSampling(ctx, cfg, pipeline, store, reg, logger)
			if serr != nil {
				return serr
			}
			defer closeSampler()
			in, sampling = sampler, sampler
		}
	}

	redactor, stopRedaction, err := startRedaction(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopRedaction()

	var lc net.ListenConfig
	httpLn, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen for HTTP (is another loupe running? pick another --addr): %w", err)
	}
	defer httpLn.Close()
	grpcLn, err := lc.Listen(ctx, "tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen for gRPC (is another loupe running? pick another --grpc-addr): %w", err)
	}
	defer grpcLn.Close()

	opts := server.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		DecodeOnly:   cfg.DecodeOnly,
		Logger:       logger,
		Registerer:   reg,
		Gatherer:     reg,
		Sampling:     sampling,
	}
	opts.Keys, opts.AuthOptional, opts.Audit = authOpts.Keys, authOpts.AuthOptional, authOpts.Audit
	if redactor != nil {
		opts.Redact, opts.RedactionRules = redactor.Batch, redactor
	}
	opts.Internal = authOpts.Internal
	httpSrv := &http.Server{
		Handler:           server.New(opts, norm, in, reader),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	grpcSrv := server.NewGRPC(opts, norm, in)

	// Both Serve goroutines are owned here: they end when the servers are
	// shut down below, and serve waits for them.
	errc := make(chan error, 2)
	go func() {
		if err := httpSrv.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve HTTP: %w", err)
			return
		}
		errc <- nil
	}()
	go func() {
		if err := grpcSrv.Serve(grpcLn); err != nil {
			errc <- fmt.Errorf("serve gRPC: %w", err)
			return
		}
		errc <- nil
	}()

	data := cfg.Data
	if cfg.DecodeOnly {
		data = "none (decode-only)"
	}
	logger.Info("listening", "http", httpLn.Addr().String(), "grpc", grpcLn.Addr().String(), "data", data)

	stopDemo := func() {}
	if cfg.Demo {
		stopDemo = startDemo(ctx, httpLn.Addr().String(), authOpts.Internal, logger)
	}

	pending := 2
	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", shutdownTimeout)
	case runErr = <-errc:
		pending--
		logger.Error("receiver failed, shutting down", "err", runErr)
	}
	stop()     // a second SIGINT or SIGTERM kills the process at once
	stopDemo() // its last spans still reach the receivers

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := httpSrv.Shutdown(sctx); err != nil {
			logger.Warn("HTTP shutdown incomplete, closing connections", "err", err)
			httpSrv.Close()
		}
	})
	wg.Go(func() { stopGRPC(sctx, grpcSrv, logger) })
	wg.Wait()
	for ; pending > 0; pending-- {
		if err := <-errc; err != nil && runErr == nil {
			runErr = err
		}
	}
	logger.Info("receivers stopped")
	return runErr
}

// stopGRPC stops the gRPC server gracefully, or forcibly once ctx ends.
func stopGRPC(ctx context.Context, srv *grpc.Server, logger *slog.Logger) {
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		logger.Warn("gRPC graceful stop timed out, closing connections")
		srv.Stop()
		<-done
	}
}

// loadPrices returns the built-in price table, with the overrides of file
// applied when file is not empty.
func loadPrices(file string) (*pricing.Table, error) {
	t, err := pricing.Default()
	if err != nil {
		return nil, fmt.Errorf("load built-in prices: %w", err)
	}
	if file == "" {
		return t, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read --prices: %w", err)
	}
	defer f.Close()
	t, err = t.WithOverrides(f)
	if err != nil {
		return nil, fmt.Errorf("read --prices %s: %w", file, err)
	}
	return t, nil
}

// The store serves the search and stats API (server.Searcher).
var _ server.Searcher = (*duckdb.Store)(nil)

// storageOff stands in for the ingest pipeline under --decode-only, where
// the server acknowledges requests without storing them and so never
// submits; should it ever, the batch is refused, not silently dropped.
type storageOff struct{}

func (storageOff) Submit(context.Context, loupe.Batch) error {
	return fmt.Errorf("%w: storage is off (--decode-only)", loupe.ErrClosed)
}
