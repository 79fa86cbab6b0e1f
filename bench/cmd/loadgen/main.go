// Command loadgen sends the standard workload (bench/workload) to an
// OTLP/HTTP endpoint as protobuf and reports acknowledged spans per second.
//
// It is a benchmark tool for loopback use only: it refuses endpoints that
// are not on a loopback address, and every run is bounded by -duration
// (and optionally -max-requests).
//
//	loadgen -endpoint http://127.0.0.1:4318 -duration 20s -concurrency 8 -json
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loupehq/loupe/bench/loopback"
	"github.com/loupehq/loupe/bench/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(2)
	}
}

// config holds the parsed flags.
type config struct {
	endpoint     string
	duration     time.Duration
	concurrency  int
	traces       int
	gzip         bool
	seed         uint64
	maxRequests  int64
	json         bool
	variants     int
	timeout      time.Duration
	progress     bool
	maxRetryWait time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:4318", "OTLP/HTTP base URL (loopback only); requests go to ENDPOINT/v1/traces")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send (at most 1h)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent requests in flight")
	fs.IntVar(&c.traces, "traces-per-request", 10, "traces per request (about 12 spans each)")
	fs.BoolVar(&c.gzip, "gzip", false, "gzip request bodies (costs loadgen CPU)")
	fs.Uint64Var(&c.seed, "seed", 1, "workload content seed")
	fs.Int64Var(&c.maxRequests, "max-requests", 0, "stop after this many requests (0 = no limit)")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	fs.IntVar(&c.variants, "variants", 64, "distinct pre-marshaled requests in the pool")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&c.progress, "progress", true, "print progress every second on stderr")
	fs.DurationVar(&c.maxRetryWait, "max-retry-wait", time.Second, "cap on how long a worker honours Retry-After")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.duration <= 0 || c.duration > time.Hour:
		return c, fmt.Errorf("-duration %v: want > 0 and <= 1h", c.duration)
	case c.concurrency < 1 || c.concurrency > 1024:
		return c, fmt.Errorf("-concurrency %d: want 1..1024", c.concurrency)
	case c.traces < 1 || c.traces > 10_000:
		return c, fmt.Errorf("-traces-per-request %d: want 1..10000", c.traces)
	case c.maxRequests < 0:
		return c, fmt.Errorf("-max-requests %d: want >= 0", c.maxRequests)
	case c.variants < 1:
		return c, fmt.Errorf("-variants %d: want >= 1", c.variants)
	}
	return c, loopback.Check("loadgen", c.endpoint)
}

// Result is what one run measured. JSON names are stable: bench/ingest.sh reads them.
type Result struct {
	Endpoint         string  `json:"endpoint"`
	Concurrency      int     `json:"concurrency"`
	TracesPerRequest int     `json:"traces_per_request"`
	Gzip             bool    `json:"gzip"`
	Seconds          float64 `json:"seconds"` // wall time from the first send to the last reply
	Requests         int64   `json:"requests"`
	AckedRequests    int64   `json:"acked_requests"`
	AckedSpans       int64   `json:"acked_spans"`
	Throttled        int64   `json:"throttled"` // 429 and 503 replies
	Errors           int64   `json:"errors"`    // transport errors and other statuses
	SpansPerSec      float64 `json:"spans_per_sec"`
	RequestsPerSec   float64 `json:"requests_per_sec"`
	P50Ms            float64 `json:"p50_ms"`
	P99Ms            float64 `json:"p99_ms"`
	// BytesSent and BytesAcked are uncompressed OTLP protobuf bytes.
	BytesSent  int64 `json:"bytes_sent"`
	BytesAcked int64 `json:"bytes_acked"`
	// WireBytes are the body bytes put on the wire (gzip-compressed with -gzip).
	WireBytes int64 `json:"wire_bytes"`
	// CPUSeconds is loadgen's own user+system CPU time during the run.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUMicrosPerSpan is CPUSeconds per acked span, in microseconds.
	CPUMicrosPerSpan float64 `json:"cpu_us_per_span"`
	// FirstError is the first error or unexpected status seen, if any.
	FirstError string `json:"first_error,omitempty"`
}

// counters are shared by the workers.
type counters struct {
	requests, acked, ackedSpans, throttled, errors atomic.Int64
	bytesSent, bytesAcked, wireBytes               atomic.Int64

	mu       sync.Mutex
	firstErr string
}

func (c *counters) fail(msg string) {
	c.errors.Add(1)
	c.mu.Lock()
	if c.firstErr == "" {
		c.firstErr = msg
	}
	c.mu.Unlock()
}

// maxSamples bounds the latency samples kept per worker.
const maxSamples = 1 << 18

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	target := cfg.endpoint + "/v1/traces"
	if u, _ := url.Parse(cfg.endpoint); u.Path != "" && u.Path != "/" {
		target = cfg.endpoint // a full URL was given
	}

	fmt.Fprintf(stderr, "loadgen: preparing %d request bodies (%d traces each)\n", cfg.variants, cfg.traces)
	bodies := workload.NewBodies(workload.BodiesOptions{
		Seed: cfg.seed, Variants: cfg.variants, TracesPerBody: cfg.traces, IDSalt: uint64(time.Now().UnixNano()),
	})

	transport := &http.Transport{
		Proxy:               nil, // loopback only; never through a proxy
		MaxIdleConns:        cfg.concurrency,
		MaxIdleConnsPerHost: cfg.concurrency,
		MaxConnsPerHost:     cfg.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: cfg.timeout}

	var cnt counters
	var budget atomic.Int64 // requests left when -max-requests is set
	budget.Store(cfg.maxRequests)

	sendCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	cpu0 := cpuTime()
	begin := time.Now()

	// Progress reporter: owned here, stopped by closing done.
	done := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.progress {
		progress.Go(func() { reportProgress(done, stderr, &cnt, begin) })
	}

	samples := make([][]time.Duration, cfg.concurrency)
	var wg sync.WaitGroup
	for w := range cfg.concurrency {
		wg.Go(func() {
			samples[w] = worker(sendCtx, ctx, cfg, client, target, bodies, &cnt, &budget)
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	cpu := cpuTime() - cpu0
	close(done)
	progress.Wait()

	var all []time.Duration
	for _, s := range samples {
		all = append(all, s...)
	}
	slices.Sort(all)
	res := Result{
		Endpoint:         target,
		Concurrency:      cfg.concurrency,
		TracesPerRequest: cfg.traces,
		Gzip:             cfg.gzip,
		Seconds:          elapsed.Seconds(),
		Requests:         cnt.requests.Load(),
		AckedRequests:    cnt.acked.Load(),
		AckedSpans:       cnt.ackedSpans.Load(),
		Throttled:        cnt.throttled.Load(),
		Errors:           cnt.errors.Load(),
		BytesSent:        cnt.bytesSent.Load(),
		BytesAcked:       cnt.bytesAcked.Load(),
		WireBytes:        cnt.wireBytes.Load(),
		P50Ms:            quantileMs(all, 0.50),
		P99Ms:            quantileMs(all, 0.99),
		CPUSeconds:       cpu.Seconds(),
		FirstError:       cnt.firstErr,
	}
	if s := elapsed.Seconds(); s > 0 {
		res.SpansPerSec = float64(res.AckedSpans) / s
		res.RequestsPerSec = float64(res.Requests) / s
	}
	if res.AckedSpans > 0 {
		res.CPUMicrosPerSpan = res.CPUSeconds * 1e6 / float64(res.AckedSpans)
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printText(stdout, res)
	return nil
}

// worker sends bodies until sendCtx ends or the request budget is spent, and
// returns its latency samples of acknowledged requests. In-flight requests
// are bounded by ctx (the process's), not by sendCtx, so the run's last
// requests complete instead of counting as errors.
func worker(sendCtx, ctx context.Context, cfg config, client *http.Client, target string, bodies *workload.Bodies, cnt *counters, budget *atomic.Int64) []time.Duration {
	var (
		buf     []byte
		zbuf    bytes.Buffer
		zw      *gzip.Writer
		samples []time.Duration
	)
	if cfg.gzip {
		zw, _ = gzip.NewWriterLevel(&zbuf, gzip.BestSpeed) // BestSpeed is a valid level
	}
	for sendCtx.Err() == nil {
		if cfg.maxRequests > 0 && budget.Add(-1) < 0 {
			return samples
		}
		var spans int
		buf, spans = bodies.Next(buf, time.Now())
		wire := buf
		if cfg.gzip {
			zbuf.Reset()
			zw.Reset(&zbuf)
			_, _ = zw.Write(buf) // writes to a bytes.Buffer cannot fail
			_ = zw.Close()
			wire = zbuf.Bytes()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(wire))
		if err != nil {
			cnt.fail(err.Error())
			return samples
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if cfg.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		cnt.requests.Add(1)
		cnt.bytesSent.Add(int64(len(buf)))
		cnt.wireBytes.Add(int64(len(wire)))

		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return samples
			}
			cnt.fail(err.Error())
			sleep(sendCtx, 10*time.Millisecond) // do not spin on a dead server
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drain for keep-alive
		resp.Body.Close()
		lat := time.Since(t0)

		switch {
		case resp.StatusCode == http.StatusOK:
			cnt.acked.Add(1)
			cnt.ackedSpans.Add(int64(spans))
			cnt.bytesAcked.Add(int64(len(buf)))
			if len(samples) < maxSamples {
				samples = append(samples, lat)
			}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			cnt.throttled.Add(1)
			sleep(sendCtx, min(retryAfter(resp.Header.Get("Retry-After")), cfg.maxRetryWait))
		default:
			cnt.fail(fmt.Sprintf("unexpected status %s", resp.Status))
		}
	}
	return samples
}

// retryAfter parses a Retry-After header in seconds (100 ms when absent or
// not a number of seconds).
func retryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return 100 * time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func reportProgress(done <-chan struct{}, w io.Writer, cnt *counters, begin time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastSpans, lastReqs int64
	last := begin
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			spans, reqs := cnt.ackedSpans.Load(), cnt.requests.Load()
			dt := now.Sub(last).Seconds()
			fmt.Fprintf(w, "loadgen: t=%3.0fs  %9.0f spans/s  %7.0f req/s  throttled=%d errors=%d\n",
				now.Sub(begin).Seconds(), float64(spans-lastSpans)/dt, float64(reqs-lastReqs)/dt,
				cnt.throttled.Load(), cnt.errors.Load())
			lastSpans, lastReqs, last = spans, reqs, now
		}
	}
}

// quantileMs returns the q-quantile of sorted durations in milliseconds.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// cpuTime returns this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printText(w io.Writer, r Result) {
	fmt.Fprintf(w, "endpoint          %s (concurrency %d, %d traces/request, gzip %v)\n", r.Endpoint, r.Concurrency, r.TracesPerRequest, r.Gzip)
	fmt.Fprintf(w, "duration          %.2f s\n", r.Seconds)
	fmt.Fprintf(w, "acked spans/s     %.0f\n", r.SpansPerSec)
	fmt.Fprintf(w, "requests/s        %.1f (%d sent, %d acked, %d throttled, %d errors)\n", r.RequestsPerSec, r.Requests, r.AckedRequests, r.Throttled, r.Errors)
	fmt.Fprintf(w, "latency           p50 %.2f ms, p99 %.2f ms\n", r.P50Ms, r.P99Ms)
	fmt.Fprintf(w, "OTLP bytes        %d sent, %d acked (uncompressed protobuf); %d on the wire\n", r.BytesSent, r.BytesAcked, r.WireBytes)
	fmt.Fprintf(w, "loadgen CPU       %.2f s (%.2f cores, %.2f µs per acked span)\n", r.CPUSeconds, r.CPUSeconds/max(r.Seconds, 1e-9), r.CPUMicrosPerSpan)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error       %s\n", r.FirstError)
	}
}
