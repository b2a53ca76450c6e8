// Command etcd is the etcd server built from the published
// go.etcd.io/etcd/server/v3 module, the store behind the test control
// plane's kube-apiserver. It only calls the upstream entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
