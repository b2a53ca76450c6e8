// Command istio-validation serves Istio's own configuration validation as a
// Kubernetes validating admission webhook: the same handler, schemas and
// rules istiod registers for its webhook, built from the published
// istio.io/istio module. The test control plane points a
// ValidatingWebhookConfiguration for networking.istio.io at it, so every
// VirtualService and DestinationRule a test writes is judged by Istio.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/webhooks/validation/server"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	certFile := flag.String("tls-cert", "", "PEM serving certificate")
	keyFile := flag.String("tls-key", "", "PEM serving key")
	portFile := flag.String("port-file", "", "file to write the bound port to once listening")
	flag.Parse()
	if err := run(*addr, *certFile, *keyFile, *portFile); err != nil {
		fmt.Fprintln(os.Stderr, "istio-validation:", err)
		os.Exit(1)
	}
}

func run(addr, certFile, keyFile, portFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("loading the serving certificate: %w", err)
	}
	mux := http.NewServeMux()
	// istiod passes these schemas and this domain suffix (pilot/pkg/bootstrap).
	if _, err := server.New(server.Options{
		Schemas:      collections.PilotGatewayAPI(),
		DomainSuffix: "cluster.local",
		Mux:          mux,
	}); err != nil {
		return err
	}
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if portFile != "" {
		port := listener.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(portFile, []byte(fmt.Sprint(port)), 0o600); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		_ = srv.Close()
	}()
	if err := srv.ServeTLS(listener, "", ""); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
