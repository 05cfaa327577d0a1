package main

// The worker's job loop and metrics in-process, and its probes.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const sloLE = "0.3"

func testWorker(fault float64, interval time.Duration) *worker {
	return newWorker(fault, interval, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

func assertMetrics(t *testing.T, w *worker, want ...string) {
	t.Helper()
	body := string(w.registry.render())
	for _, line := range want {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, body)
		}
	}
}

func TestJobsAreCountedByOutcome(t *testing.T) {
	w := testWorker(0, time.Second)
	if !w.runOne(job{id: 1}) {
		t.Fatal("job failed")
	}
	assertMetrics(t, w,
		`worker_jobs_total{outcome="success"} 1`,
		`worker_jobs_total{outcome="error"} 0`,
		fmt.Sprintf("worker_job_duration_seconds_bucket{le=%q} 1", sloLE),
		"worker_job_duration_seconds_count 1",
	)
}

func TestFaultSwitchFailsJobs(t *testing.T) {
	w := testWorker(1, time.Second)
	if w.runOne(job{id: 1}) {
		t.Fatal("job succeeded with the fault switch at 1")
	}
	assertMetrics(t, w, `worker_jobs_total{outcome="error"} 1`)
}

func TestStopEndsTheLoop(t *testing.T) {
	w := testWorker(0, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.run(ctx)
	assertMetrics(t, w, `worker_jobs_total{outcome="success"} 0`)
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	res, err := http.Get(url) // #nosec G107 -- local test server
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d", url, res.StatusCode, want)
	}
	return string(body)
}

func TestProbesAndMetricsAreServed(t *testing.T) {
	w := testWorker(0, time.Second)
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	get(t, srv.URL+"/healthz", http.StatusOK)
	get(t, srv.URL+"/readyz", http.StatusOK)
	get(t, srv.URL+"/nope", http.StatusNotFound)
	if body := get(t, srv.URL+"/metrics", http.StatusOK); !strings.Contains(body, `worker_jobs_total{outcome="error"} 0`) {
		t.Errorf("/metrics lacks the error series:\n%s", body)
	}
	w.stopping.Store(true)
	get(t, srv.URL+"/readyz", http.StatusServiceUnavailable)
	get(t, srv.URL+"/healthz", http.StatusOK)
}

func TestFaultRate(t *testing.T) {
	if rate, err := faultRate(""); err != nil || rate != 0 {
		t.Errorf("default: got %v, %v", rate, err)
	}
	for _, raw := range []string{"-0.1", "1.5", "often"} {
		if _, err := faultRate(raw); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
}
