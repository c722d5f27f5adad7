// noisyleak hides a slow Go heap leak under heavy GC churn: the heap saws by tens of MB every
// few seconds while main.rememberSession retains a few hundred KB a second underneath.
//
//	noisyleak -leak-rate 204800 -churn-rate 33554432 -pprof 127.0.0.1:6060
package main

import (
	"flag"
	"time"

	"memaudit.local/apps/internal/target"
)

// sessions is the leak: entries are added per request and never expire.
var sessions [][]byte

// scratch is the churn's live set: a ring whose replaced slots become garbage.
var scratch [][]byte

//go:noinline
func rememberSession(size int) {
	b := make([]byte, size)
	target.Fill(b, byte(len(sessions)))
	sessions = append(sessions, b)
}

//go:noinline
func handleRequest(slot, size int) {
	b := make([]byte, size)
	target.Fill(b, byte(slot))
	scratch[slot] = b
}

func main() {
	leakRate := flag.Int64("leak-rate", 200<<10, "bytes retained per second")
	leakSize := flag.Int("leak-size", 4<<10, "bytes per retained session")
	churnRate := flag.Int64("churn-rate", 32<<20, "bytes of garbage per second")
	churnLive := flag.Int("churn-live", 32<<20, "bytes the churn keeps live")
	churnSize := flag.Int("churn-size", 64<<10, "bytes per churn allocation")
	pprofAddr := target.PprofFlag()
	flag.Parse()
	target.StartPprof("noisyleak", *pprofAddr)

	scratch = make([][]byte, max(1, *churnLive / *churnSize))
	for i := range scratch {
		handleRequest(i, *churnSize)
	}
	stop := target.StopOnSignal()
	target.Ready("noisyleak", "leaking %d B/s under %d B/s churn", *leakRate, *churnRate)

	go func() {
		slot := 0
		target.PacedChunks(*churnRate, *churnSize, 20*time.Millisecond, stop, func() bool {
			handleRequest(slot, *churnSize)
			slot = (slot + 1) % len(scratch)
			return true
		})
	}()
	target.PacedChunks(*leakRate, *leakSize, 100*time.Millisecond, stop, func() bool {
		rememberSession(*leakSize)
		return true
	})
}
