package main

// Prometheus text format 0.0.4: counters, histograms and a registry that
// renders them, standard library only (no go.sum to keep current, nothing to
// download at build time).

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// bucket is a histogram upper bound and its le label, spelled as the SLO rules query it.
type bucket struct {
	bound float64
	le    string
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// labelText renders name="value" pairs without braces, so a histogram can append le.
func labelText(names, values []string) string {
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + `="` + labelEscaper.Replace(values[i]) + `"`
	}
	return strings.Join(parts, ",")
}

// braces wraps the non-empty label texts in {}; no labels at all is no braces.
func braces(texts ...string) string {
	parts := make([]string, 0, len(texts))
	for _, t := range texts {
		if t != "" {
			parts = append(parts, t)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type counter struct {
	name   string
	help   string
	labels []string
	mu     sync.Mutex
	series map[string]float64
}

func newCounter(name, help string, labels ...string) *counter {
	c := &counter{name: name, help: help, labels: labels, series: map[string]float64{}}
	if len(labels) == 0 {
		c.add(0) // like prometheus_client: an unlabelled series exists from the start
	}
	return c
}

func (c *counter) inc(values ...string) { c.add(1, values...) }

// add with v = 0 creates a labelled series before its first event.
func (c *counter) add(v float64, values ...string) {
	key := labelText(c.labels, values)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.series[key] += v
}

func (c *counter) write(b *strings.Builder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
	for _, key := range sortedKeys(c.series) {
		fmt.Fprintf(b, "%s%s %s\n", c.name, braces(key), formatFloat(c.series[key]))
	}
}

type histogramSeries struct {
	counts []uint64
	sum    float64
	count  uint64
}

type histogram struct {
	name    string
	help    string
	labels  []string
	buckets []bucket
	mu      sync.Mutex
	series  map[string]*histogramSeries
}

func newHistogram(name, help string, buckets []bucket, labels ...string) *histogram {
	h := &histogram{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*histogramSeries{}}
	if len(labels) == 0 {
		h.seriesFor("") // like prometheus_client: an unlabelled series exists from the start
	}
	return h
}

// seriesFor returns the series of a label text, creating it; the caller holds mu or owns h.
func (h *histogram) seriesFor(key string) *histogramSeries {
	s, ok := h.series[key]
	if !ok {
		s = &histogramSeries{counts: make([]uint64, len(h.buckets))}
		h.series[key] = s
	}
	return s
}

func (h *histogram) observe(v float64, values ...string) {
	key := labelText(h.labels, values)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seriesFor(key)
	for i, b := range h.buckets {
		if v <= b.bound {
			s.counts[i]++
		}
	}
	s.sum += v
	s.count++
}

func (h *histogram) write(b *strings.Builder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	for _, key := range sortedKeys(h.series) {
		s := h.series[key]
		for i, bk := range h.buckets {
			fmt.Fprintf(b, "%s_bucket%s %d\n", h.name, braces(key, "le="+strconv.Quote(bk.le)), s.counts[i])
		}
		fmt.Fprintf(b, "%s_bucket%s %d\n", h.name, braces(key, `le="+Inf"`), s.count)
		fmt.Fprintf(b, "%s_sum%s %s\n", h.name, braces(key), formatFloat(s.sum))
		fmt.Fprintf(b, "%s_count%s %d\n", h.name, braces(key), s.count)
	}
}

// registry renders its metrics in the order they were registered.
type registry []interface{ write(*strings.Builder) }

func (r registry) render() []byte {
	var b strings.Builder
	for _, m := range r {
		m.write(&b)
	}
	return []byte(b.String())
}
