package storage

// Command kinds newer than the upgrade baseline. A binary refuses entries it
// does not know (ErrUnsupported) and its node stops applying, so a kind added
// after the baseline may be proposed only once every member of the cluster
// runs a binary that applies it (raftcluster.MembersApply; each binary
// advertises NewerKinds on the cluster port).
//
// The baseline is the set of kinds and versions every release since
// 2026-11-26 (commit 2ba4bbf, the oldest a cluster may be upgraded from)
// applies: every kind in decodeBody except those listed here. A new kind, or
// a new version of an existing kind that older binaries refuse, is added
// here when it is introduced; a proposer that sends it checks first.

// NewerKinds returns the kinds newer than the baseline this binary applies,
// with the highest version of each.
func NewerKinds() map[string]int {
	return map[string]int{
		KindApplyRetention: ApplyRetention{}.Version(), // 2026-11-27
	}
}
