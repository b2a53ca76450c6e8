// Command kube-apiserver is the Kubernetes API server built from the
// published k8s.io/kubernetes module, for the control plane the tests run
// against. It only wires the upstream command; nothing here changes its
// behaviour.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
