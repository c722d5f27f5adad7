// gcchurn allocates garbage at a steady rate around a fixed live set: the Go heap saws up and
// down with every GC, and nothing trends. A healthy, busy service.
//
//	gcchurn -rate 33554432 -live 16777216 -pprof 127.0.0.1:6060
package main

import (
	"flag"
	"time"

	"memaudit.local/apps/internal/target"
)

// live is a fixed-size ring of buffers: each step replaces a slot, so the previous buffer in it
// becomes garbage and the live set stays at -live bytes.
var live [][]byte

//go:noinline
func handle(slot, size int) {
	b := make([]byte, size)
	target.Fill(b, byte(slot))
	live[slot] = b
}

func main() {
	rate := flag.Int64("rate", 32<<20, "bytes of garbage allocated per second")
	liveBytes := flag.Int("live", 16<<20, "bytes kept live")
	size := flag.Int("size", 32<<10, "bytes per allocation")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("gcchurn", *pprofAddr)

	live = make([][]byte, max(1, *liveBytes / *size))
	for i := range live {
		handle(i, *size)
	}
	target.Ready("gcchurn", "churning %d B/s around %d B live", *rate, *liveBytes)

	slot := 0
	target.PacedChunks(*rate, *size, 20*time.Millisecond, target.StopOnSignal(), func() bool {
		handle(slot, *size)
		slot = (slot + 1) % len(live)
		return true
	})
}
