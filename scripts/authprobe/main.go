// Command authprobe measures what clients without the key cost a running
// exserver: how many slow connections it holds and for how long, and how
// many wrong-key requests reach the key check. It talks to loopback only.
//
//	authprobe -addr 127.0.0.1:PORT -slow 500 -hold 60s
//	authprobe -addr 127.0.0.1:PORT -wrong 20000
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "", "HOST:PORT of the exserver (loopback)")
	slow := flag.Int("slow", 0, "slow connections to open: an unauthenticated POST of 200,000 bytes, a byte every -every")
	every := flag.Duration("every", 20*time.Second, "pause between the bytes of a slow connection")
	hold := flag.Duration("hold", 60*time.Second, "how long to watch the slow connections")
	from := flag.String("from", "127.0.0.2", "loopback address the slow connections come from")
	wrong := flag.Int("wrong", 0, "wrong-key requests to send")
	workers := flag.Int("workers", 16, "concurrent senders of wrong-key requests")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(os.Stderr, "authprobe: -addr must be a loopback HOST:PORT")
		os.Exit(2)
	}
	if *slow > 0 {
		slowConns(*addr, *from, *slow, *every, *hold)
	}
	if *wrong > 0 {
		wrongKeys(*addr, *wrong, *workers)
	}
}

func slowConns(addr, from string, n int, every, hold time.Duration) {
	start := time.Now()
	end := start.Add(hold)
	closedAt := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			closedAt[i] = -1
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
			raw, err := d.Dial("tcp", addr)
			if err != nil {
				closedAt[i] = time.Since(start)
				return
			}
			defer raw.Close()
			raw.SetDeadline(end)
			c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			if _, err := io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: exserver\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{"); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					closedAt[i] = time.Since(start)
				}
				return
			}
			go func() {
				for time.Now().Before(end) {
					time.Sleep(every)
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}()
			if _, err := io.Copy(io.Discard, c); !errors.Is(err, os.ErrDeadlineExceeded) {
				closedAt[i] = time.Since(start)
			}
		}(i)
	}
	wg.Wait()
	var closed []time.Duration
	for _, d := range closedAt {
		if d >= 0 {
			closed = append(closed, d)
		}
	}
	sort.Slice(closed, func(i, j int) bool { return closed[i] < closed[j] })
	fmt.Printf("slow connections: %d opened, %d still held after %s\n", n, n-len(closed), hold)
	if len(closed) > 0 {
		fmt.Printf("closed by the server: %d; median after %s, last after %s\n", len(closed),
			closed[len(closed)/2].Round(time.Millisecond), closed[len(closed)-1].Round(time.Millisecond))
	}
}

func wrongKeys(addr string, n, workers int) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: workers}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[string]int{}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest("GET", "https://"+addr+"/v1/status", nil)
				req.Header.Set("Authorization", "Bearer wrong-key-guess")
				what := ""
				resp, err := hc.Do(req)
				if err != nil {
					what = "error"
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					what = resp.Status
				}
				mu.Lock()
				statuses[what]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var parts []string
	for s, c := range statuses {
		parts = append(parts, fmt.Sprintf("%s: %d", s, c))
	}
	sort.Strings(parts)
	fmt.Printf("wrong-key requests: %d in %.2f s (%s)\n", n, el.Seconds(), strings.Join(parts, ", "))
	fmt.Printf("reached the key check (401): %.1f per second\n", float64(statuses["401 Unauthorized"])/el.Seconds())
}
