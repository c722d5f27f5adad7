// Package target holds what every audit target shares: the opt-in pprof listener, a ticker
// that spreads a bytes-per-second rate over small steps, and a ready line tests can wait for.
package target

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/* on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"
	"time"
)

// PprofFlag registers -pprof. Empty (the default) means no pprof listener, so a target without
// it gives the auditor no runtime data, as an uninstrumented service would.
func PprofFlag() *string {
	return flag.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060; port 0 picks one); empty = off")
}

// StartPprof serves http.DefaultServeMux on addr and returns the bound address ("" when off).
// Tests pass port 0 and read the address from the "pprof listening on" line.
func StartPprof(name, addr string) string {
	if addr == "" {
		return ""
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("%s: pprof listen %s: %v", name, addr, err)
	}
	go func() {
		if err := http.Serve(ln, nil); err != nil {
			log.Fatalf("%s: pprof serve: %v", name, err)
		}
	}()
	fmt.Printf("%s: pprof listening on %s\n", name, ln.Addr())
	return ln.Addr().String()
}

// Ready prints the line tests wait for before sampling.
func Ready(name string, format string, args ...any) {
	fmt.Printf("%s: ready "+format+"\n", append([]any{name}, args...)...)
}

// Paced calls step every tick with the number of bytes due so far at bytesPerSecond, carrying
// the remainder so small rates are honoured exactly over time. It returns when stop is closed.
func Paced(bytesPerSecond int64, tick time.Duration, stop <-chan struct{}, step func(n int64)) {
	if bytesPerSecond <= 0 {
		<-stop
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	var done int64
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			due := int64(float64(bytesPerSecond) * now.Sub(start).Seconds())
			if n := due - done; n > 0 {
				step(n)
				done = due
			}
		}
	}
}

// PacedChunks calls chunk once for every chunkBytes due at bytesPerSecond (see Paced) until stop
// is closed. chunk returns false when it wants no more calls (a safety cap reached); the target
// then idles until stopped.
func PacedChunks(bytesPerSecond int64, chunkBytes int, tick time.Duration, stop <-chan struct{}, chunk func() bool) {
	var pending int64
	capped := false
	Paced(bytesPerSecond, tick, stop, func(n int64) {
		pending += n
		for !capped && pending >= int64(chunkBytes) {
			pending -= int64(chunkBytes)
			capped = !chunk()
		}
	})
}

// StopOnSignal returns a channel closed on SIGTERM or SIGINT, so a target can clean up
// (remove its tmpfs files) before exiting.
func StopOnSignal() <-chan struct{} {
	stop := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		close(stop)
	}()
	return stop
}

// Fill writes a non-zero pattern into b. Fresh memory from the OS is already zero and the Go
// allocator skips zeroing it, so without a write the pages would never become resident.
func Fill(b []byte, seed byte) {
	const page = 4096
	for i := 0; i < len(b); i += page {
		b[i] = seed | 1
	}
	if len(b) > 0 {
		b[len(b)-1] = seed | 1
	}
}
