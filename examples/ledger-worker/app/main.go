// Command app is ledger-worker: a minimal queue worker with probes, Prometheus
// metrics and JSON logs. The loop takes a job, processes it, and counts the
// outcome in worker_jobs_total{outcome="success"|"error"} and
// worker_job_duration_seconds, the series the generated SLO rules query.
// /healthz, /readyz and /metrics are served on the port. Replace fetchJob and
// process with the real queue client.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const service = "ledger-worker"

const defaultPort = 8080

// faultEnv is the test-only fault switch: the share (0..1) of jobs that fail.
// Read only from the environment, off by default.
const faultEnv = "SCAFFOLD_FAULT_RATE"

// buckets include the SLO latency threshold (300 ms).
var buckets = []bucket{{0.005, "0.005"}, {0.01, "0.01"}, {0.025, "0.025"}, {0.05, "0.05"}, {0.1, "0.1"}, {0.25, "0.25"}, {0.3, "0.3"}, {0.5, "0.5"}, {1.0, "1.0"}, {2.5, "2.5"}, {5.0, "5.0"}, {10.0, "10.0"}}

type job struct {
	id int64
}

type worker struct {
	jobs     *counter
	duration *histogram
	registry registry
	fault    float64
	interval time.Duration
	stopping atomic.Bool
	log      *slog.Logger
}

func newWorker(fault float64, interval time.Duration, log *slog.Logger) *worker {
	w := &worker{
		jobs:     newCounter("worker_jobs_total", "Jobs processed, by outcome.", "outcome"),
		duration: newHistogram("worker_job_duration_seconds", "Job processing time in seconds.", buckets),
		fault:    fault,
		interval: interval,
		log:      log,
	}
	w.registry = registry{w.jobs, w.duration}
	for _, outcome := range []string{"success", "error"} {
		w.jobs.add(0, outcome) // both series exist from the start
	}
	return w
}

// fetchJob waits for the next job; the skeleton makes one per interval. false once ctx is done.
func (w *worker) fetchJob(ctx context.Context) (job, bool) {
	timer := time.NewTimer(w.interval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return job{}, false
	case now := <-timer.C:
		return job{id: now.UnixNano()}, true
	}
}

func (w *worker) process(j job) error {
	if w.fault > 0 && rand.Float64() < w.fault { // #nosec G404 -- fault injection, not security
		return fmt.Errorf("job %d: injected fault", j.id)
	}
	return nil
}

// runOne processes a job and counts its outcome; a failed job does not stop the worker.
func (w *worker) runOne(j job) bool {
	start := time.Now()
	outcome := "success"
	if err := w.process(j); err != nil {
		outcome = "error"
	}
	elapsed := time.Since(start).Seconds()
	w.jobs.inc(outcome)
	w.duration.observe(elapsed)
	w.log.Info("job", "job", j.id, "outcome", outcome, "duration_ms", elapsed*1000)
	return outcome == "success"
}

// run takes jobs until ctx is done; the current job always finishes.
func (w *worker) run(ctx context.Context) {
	for {
		j, ok := w.fetchJob(ctx)
		if !ok {
			return
		}
		w.runOne(j)
	}
}

func writeJSON(rw http.ResponseWriter, code int, data map[string]string) {
	body, _ := json.Marshal(data)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_, _ = rw.Write(body)
}

// ServeHTTP answers the probes and scrapes; they are not logged.
func (w *worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics":
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = rw.Write(w.registry.render())
	case "/healthz":
		writeJSON(rw, http.StatusOK, map[string]string{"status": "ok"})
	case "/readyz":
		if w.stopping.Load() {
			writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(rw, http.StatusOK, map[string]string{"status": "ready"})
	default:
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "not found"})
	}
}

func faultRate(raw string) (float64, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, nil
	}
	rate, err := strconv.ParseFloat(raw, 64)
	if err != nil || rate < 0 || rate > 1 {
		return 0, fmt.Errorf("%s must be a number from 0 to 1, got %q", faultEnv, raw)
	}
	return rate, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", service)
	fault, err := faultRate(os.Getenv(faultEnv))
	if err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
	w := newWorker(fault, time.Second, log)
	addr := net.JoinHostPort(envOr("HOST", "0.0.0.0"), envOr("PORT", strconv.Itoa(defaultPort)))
	srv := &http.Server{Addr: addr, Handler: w, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen failed", "error", err.Error())
		os.Exit(1)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve failed", "error", err.Error())
			os.Exit(1)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	stopping := make(chan struct{})
	go func() {
		<-ctx.Done()
		// Finish the current job, then exit; readiness fails meanwhile.
		log.Info("shutting down")
		w.stopping.Store(true)
		close(stopping)
	}()

	log.Info("started", "addr", ln.Addr().String(), "fault_rate", fault)
	w.run(ctx)
	<-stopping
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "error", err.Error())
	}
	log.Info("stopped")
}
