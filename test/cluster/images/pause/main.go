// pause is the sandbox ("infra") container of every pod in test/cluster/: it holds the pod's
// namespaces open and does nothing else. It does what Kubernetes' build/pause/linux/pause.c does
// (wait for a signal; exit 0 on SIGINT or SIGTERM; as PID 1 of a pod sharing its PID namespace,
// reap orphans), in Go so that it builds static with the same toolchain as the audit targets,
// without a C compiler. The image is built here because no registry serves registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	child := make(chan os.Signal, 16)
	signal.Notify(child, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-child:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
