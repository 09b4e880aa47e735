// Command soak drives kubegate's admission webhook the way the API server does: a Go
// net/http client over TLS with a pool of kept-alive connections, at a fixed rate (open loop:
// each request has a scheduled start and its latency counts from it, so a stalled server
// cannot hide its queue). Every minute it prints one JSON line with the minute's requests,
// errors, latency percentiles and the server's RSS (read from /proc/PID/status), and at the
// end a summary with the flatness of RSS (last minute against the second).
//
// It uses only Go's standard library, so Debian's golang-1.19-go builds it without a module
// download: GO111MODULE=off go build -o soak ./cli/benches/soak. cli/benches/soak/run.sh
// starts the server and runs it (docs/reliability.md).
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type sample struct {
	latency time.Duration
	err     string
}

type minute struct {
	Minute   int     `json:"minute"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	P999ms   float64 `json:"p999_ms"`
	MaxMs    float64 `json:"max_ms"`
	RSSKiB   int     `json:"rss_kib"`
	HWMKiB   int     `json:"hwm_kib"`
}

func main() {
	url := flag.String("url", "https://localhost:8443/validate", "the webhook's URL")
	caFile := flag.String("ca", "ca.crt", "CA bundle the server's certificate chains to")
	reviews := flag.String("reviews", "testdata/admission/reviews", "directory of AdmissionReview JSON files to cycle through")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Minute, "how long to send")
	conns := flag.Int("conns", 32, "most connections to the server (the API server's client keeps a pool)")
	pid := flag.Int("pid", 0, "the server's process id, for RSS")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout (the API server's default webhook timeout)")
	flag.Parse()

	bodies, names, err := loadReviews(*reviews)
	if err != nil {
		fail(err)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail(fmt.Errorf("%s: no certificate", *caFile))
	}
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxConnsPerHost:     *conns,
			MaxIdleConnsPerHost: *conns,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	fmt.Fprintf(os.Stderr, "soak: %d/s for %s over at most %d connections, %d reviews (%s)\n",
		*rate, *duration, *conns, len(bodies), strings.Join(names, ", "))

	results := make(chan sample, 4096)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	total := int(duration.Seconds() * float64(*rate))
	go func() {
		for i := 0; i < total; i++ {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func(i int, due time.Time) {
				defer wg.Done()
				results <- send(client, *url, bodies[i%len(bodies)], due)
			}(i, due)
		}
		wg.Wait()
		close(results)
	}()

	var minutes []minute
	var current []sample
	errorsSeen := map[string]int{}
	next := start.Add(time.Minute)
	flush := func(n int) {
		m := summarize(n, current)
		m.RSSKiB, m.HWMKiB = rss(*pid)
		minutes = append(minutes, m)
		line, _ := json.Marshal(m)
		fmt.Println(string(line))
		current = current[:0]
	}
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for done := false; !done; {
		select {
		case s, ok := <-results:
			if !ok {
				done = true
				break
			}
			current = append(current, s)
			if s.err != "" {
				errorsSeen[s.err]++
			}
		case <-ticker.C:
		}
		if time.Now().After(next) {
			flush(len(minutes) + 1)
			next = next.Add(time.Minute)
		}
	}
	// The minutes the timer closed are whole; what came back after the last one is a tail.
	whole := len(minutes)
	if len(current) > 0 {
		flush(len(minutes) + 1)
	}

	var all, errs int
	var worstP99 float64
	for _, m := range minutes {
		all += m.Requests
		errs += m.Errors
		if m.P99ms > worstP99 {
			worstP99 = m.P99ms
		}
	}
	summary := map[string]interface{}{
		"requests":          all,
		"errors":            errs,
		"error_kinds":       errorsSeen,
		"worst_minute_p99":  worstP99,
		"seconds":           time.Since(start).Seconds(),
		"rss_second_minute": 0,
		"rss_last_minute":   0,
	}
	if whole >= 3 {
		second, last := minutes[1].RSSKiB, minutes[whole-1].RSSKiB
		summary["rss_second_minute"] = second
		summary["rss_last_minute"] = last
		if second > 0 {
			summary["rss_change_percent"] = 100 * float64(last-second) / float64(second)
		}
	}
	line, _ := json.Marshal(summary)
	fmt.Println(string(line))
	if errs > 0 {
		os.Exit(1)
	}
}

// send posts one review and checks that the answer is a 200 AdmissionReview with the
// request's uid; the latency counts from the scheduled start.
func send(client *http.Client, url string, body []byte, due time.Time) sample {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return sample{latency: time.Since(due), err: "transport: " + trim(err.Error())}
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	latency := time.Since(due)
	if err != nil {
		return sample{latency: latency, err: "read: " + trim(err.Error())}
	}
	if resp.StatusCode != http.StatusOK {
		return sample{latency: latency, err: "status " + strconv.Itoa(resp.StatusCode)}
	}
	var answer struct {
		Response *struct {
			UID string `json:"uid"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.Response == nil || answer.Response.UID == "" {
		return sample{latency: latency, err: "not an AdmissionReview answer"}
	}
	return sample{latency: latency}
}

func summarize(n int, samples []sample) minute {
	m := minute{Minute: n, Requests: len(samples)}
	lat := make([]time.Duration, 0, len(samples))
	for _, s := range samples {
		if s.err != "" {
			m.Errors++
		}
		lat = append(lat, s.latency)
	}
	if len(lat) == 0 {
		return m
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(p float64) float64 {
		i := int(float64(len(lat)-1)*p + 0.5)
		return float64(lat[i].Microseconds()) / 1000
	}
	m.P50ms, m.P99ms, m.P999ms = at(0.50), at(0.99), at(0.999)
	m.MaxMs = float64(lat[len(lat)-1].Microseconds()) / 1000
	return m
}

// rss reads VmRSS and VmHWM (KiB) of a process; zeros when there is none.
func rss(pid int) (int, int) {
	if pid == 0 {
		return 0, 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	var now, peak int
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.Atoi(fields[1])
		switch fields[0] {
		case "VmRSS:":
			now = v
		case "VmHWM:":
			peak = v
		}
	}
	return now, peak
}

func loadReviews(dir string) ([][]byte, []string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	var bodies [][]byte
	var names []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		var probe struct {
			Request *struct {
				UID string `json:"uid"`
			} `json:"request"`
		}
		if json.Unmarshal(data, &probe) != nil || probe.Request == nil || probe.Request.UID == "" {
			continue
		}
		bodies = append(bodies, data)
		names = append(names, filepath.Base(p))
	}
	if len(bodies) == 0 {
		return nil, nil, fmt.Errorf("%s: no AdmissionReview files", dir)
	}
	return bodies, names, nil
}

func trim(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "soak:", err)
	os.Exit(2)
}
