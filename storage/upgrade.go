package storage

// Command kinds newer than the upgrade baseline. A binary refuses entries it
// does not know (ErrUnsupported) and its node stops applying, so a kind added
// after the baseline may be proposed only once every member of the cluster
// runs a binary that applies it (raftcluster.MembersApply; each binary
// advertises NewerKinds on the cluster port; raftcluster.Apply refuses such
// an entry until then, via MustWaitForMembers).
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
		KindApplyRetention:    ApplyRetention{}.Version(),      // 2026-11-27
		KindGrantConsent:      GrantConsent{}.Version(),        // 2026-11-27
		KindRevokeConsent:     RevokeConsent{}.Version(),       // 2026-11-27
		KindStartAlertOutbox:  StartAlertOutbox{}.Version(),    // 2026-11-27
		KindMarkAlerts:        MarkAlertsDelivered{}.Version(), // 2026-11-27
		KindPutRetention:      PutRetention{}.Version(),        // 2026-11-27
		KindMailAfter:         MailAfter{}.Version(),           // 2026-11-27
		KindMarkMail:          MarkMail{}.Version(),            // 2026-11-27
		KindReviewSafetyEvent: ReviewSafetyEvent{}.Version(),   // 2026-11-27
		KindAssignSafetyEvent: AssignSafetyEvent{}.Version(),   // 2026-11-28
		KindSetSafetyHold:     SetSafetyHold{}.Version(),       // 2026-11-28
		KindRotateCA:          RotateCA{}.Version(),            // 2026-11-28
	}
}

// MustWaitForMembers reports whether an encoded command is of a kind newer
// than the baseline, with its kind and version: such an entry is proposed
// only once every member applies it (raftcluster.Config.Gated). It reads
// the envelope's prefix only. (A new version of a baseline kind would need
// the baseline's version here too; none exists yet.)
func MustWaitForMembers(newer map[string]int) func(cmd []byte) (string, int, bool) {
	return func(cmd []byte) (string, int, bool) {
		kind, v, _, ok := splitEnvelope(cmd)
		if !ok {
			return "", 0, false
		}
		if _, gated := newer[kind]; !gated {
			return "", 0, false
		}
		return kind, v, true
	}
}
