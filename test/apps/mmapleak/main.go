// mmapleak leaks memory outside the Go heap: it maps anonymous private memory with
// syscall.Mmap, touches every page and never unmaps it. cgroup anon (rss) grows while
// runtime.MemStats shows a flat heap, as with a cgo library or a mapped buffer pool that leaks.
//
//	mmapleak -rate 1048576 -pprof 127.0.0.1:6060
package main

import (
	"flag"
	"log"
	"syscall"
	"time"

	"memaudit.local/apps/internal/target"
)

// regions keeps the mappings reachable only for clarity: the kernel keeps them whatever the GC does.
var regions [][]byte

//go:noinline
func mapRegion(size int) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		log.Fatalf("mmapleak: mmap %d: %v", size, err)
	}
	target.Fill(b, byte(len(regions)))
	regions = append(regions, b)
}

func main() {
	rate := flag.Int64("rate", 1<<20, "bytes mapped and touched per second")
	size := flag.Int("chunk", 256<<10, "bytes per mapping (a multiple of the page size)")
	limit := flag.Int64("max", 4<<30, "stop mapping after this many bytes (a safety cap)")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("mmapleak", *pprofAddr)
	target.Ready("mmapleak", "mapping %d B/s in %d B regions", *rate, *size)

	var mapped int64
	target.PacedChunks(*rate, *size, 100*time.Millisecond, target.StopOnSignal(), func() bool {
		mapRegion(*size)
		mapped += int64(*size)
		return mapped < *limit
	})
}
