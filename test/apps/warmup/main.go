// warmup fills a bounded cache during start-up and then plateaus: memory grows for -grow-for,
// then the cache is full, evicts its oldest entries and stays the same size. Not a leak.
//
//	warmup -kind heap -rate 1048576 -grow-for 90s -pprof 127.0.0.1:6060
//
// -kind heap keeps the cache in the Go heap; -kind file writes it to DIR/warmup.cache and then
// only rewrites it in place (page cache fills, then stays); -kind both does both. Requests also
// make -churn bytes/s of short-lived garbage throughout, as a real service does, so the Go heap
// runs at its usual GOGC headroom above the live cache from the start instead of creeping up to
// it after the warm-up.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

	"memaudit.local/apps/internal/target"
)

type ringCache struct {
	entries [][]byte
	next    int
	full    bool
}

//go:noinline
func (c *ringCache) put(size int) {
	b := make([]byte, size)
	target.Fill(b, byte(c.next))
	c.entries[c.next] = b
	c.next++
	if c.next == len(c.entries) {
		c.next, c.full = 0, true
	}
}

type fileCache struct {
	f        *os.File
	off, cap int64
	buf      []byte
}

func (c *fileCache) put() {
	if c.off+int64(len(c.buf)) > c.cap {
		c.off = 0
	}
	if _, err := c.f.WriteAt(c.buf, c.off); err != nil {
		log.Fatalf("warmup: %v", err)
	}
	c.off += int64(len(c.buf))
}

// sink keeps request garbage from being optimised away.
var sink []byte

//go:noinline
func handleRequest(size int) {
	b := make([]byte, size)
	target.Fill(b, 7)
	sink = b
}

func main() {
	kind := flag.String("kind", "heap", "what fills: heap, file or both")
	rate := flag.Int64("rate", 1<<20, "bytes per second added to the cache")
	growFor := flag.Duration("grow-for", 90*time.Second, "how long the cache grows before it is full")
	size := flag.Int("size", 16<<10, "bytes per cache entry")
	dir := flag.String("dir", os.TempDir(), "directory of warmup.cache (-kind file or both)")
	churn := flag.Int64("churn", 4<<20, "bytes per second of short-lived request garbage")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("warmup", *pprofAddr)

	capacity := int64(float64(*rate) * growFor.Seconds())
	var heap *ringCache
	var file *fileCache
	if *kind == "heap" || *kind == "both" {
		heap = &ringCache{entries: make([][]byte, max(1, capacity/int64(*size)))}
	}
	if *kind == "file" || *kind == "both" {
		f, err := os.OpenFile(filepath.Join(*dir, "warmup.cache"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
		if err != nil {
			log.Fatalf("warmup: %v", err)
		}
		defer f.Close()
		file = &fileCache{f: f, cap: capacity, buf: make([]byte, *size)}
		for i := range file.buf {
			file.buf[i] = 'w'
		}
	}
	if heap == nil && file == nil {
		log.Fatalf("warmup: -kind must be heap, file or both, not %q", *kind)
	}
	target.Ready("warmup", "filling %d B (%s) at %d B/s for %s, then steady", capacity, *kind, *rate, *growFor)

	stop := target.StopOnSignal()
	go func() {
		target.PacedChunks(*churn, 32<<10, 20*time.Millisecond, stop, func() bool {
			handleRequest(32 << 10)
			return true
		})
	}()
	target.PacedChunks(*rate, *size, 100*time.Millisecond, stop, func() bool {
		if heap != nil {
			heap.put(*size)
		}
		if file != nil {
			file.put()
		}
		return true
	})
}
