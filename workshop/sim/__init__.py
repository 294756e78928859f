"""The sim cluster: a real Kubernetes control plane for tests, built from upstream source.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as plain processes
on 127.0.0.1; KWOK plays the kubelet of a few fake nodes, so Deployments get Pods that
become Running and Ready although no container ever runs. Modules, one concern each:

- ``gobuild``: build a Go binary from an upstream module into the cache, link it into .bin/
- ``build``: what the sim builds (versions from versions.env)
- ``certs``, ``kubeconfig``: identities of the cluster
- ``processes``: pid files, start/stop, log tails
- ``crds``, ``kwok``: what is installed at start
- ``cluster``: ``Sim(n).up() / .down() / .status() / .load()``
- ``nodes``, ``nodenet``, ``images``, ``addons``: the real worker nodes of ``up(nodes="real")``
  (containerd, kubelet, kube-proxy in a network namespace each; pause and CoreDNS images; CoreDNS)
- ``bench_node``: ``make bench-node``
- ``cli``: ``workshop sim build|up|down|status|kubeconfig``
"""
