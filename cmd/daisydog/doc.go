// Command daisydog is the one DaisyDog Edge binary: it initialises, joins and
// serves cluster nodes, inspects and shrinks the cluster, verifies the audit
// log, scores safety policies on labelled data, and benchmarks a running
// cluster.
//
// It owns only flag parsing, process signals and printing; everything else
// lives in node (serving), raftcluster (cluster operations), storage (audit
// verification), policies/eval (scoring) and node/bench (load).
package main
