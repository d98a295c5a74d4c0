package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"daisydog/storage"
)

// Scheduled backups (Config.Backups): every node that is given a backup
// directory writes a sealed backup of its own database there on a period
// (each node holds a full replica, so each server keeps its own series),
// verifies it, and keeps only the newest Keep. Verification opens the file
// as a restore would — the seal under the cluster key, the database's
// integrity check, a DaisyDog schema this binary can use, the applied
// index of the header — so a backup that could not be restored is reported
// at once, not on the day it is needed. A failed run leaves nothing behind
// and is retried at the next period. Copying the files off site stays the
// operator's (docs/operations.md "Backups and restore").

// BackupSchedule configures scheduled backups.
type BackupSchedule struct {
	Dir   string        // where the files go ("" = no scheduled backups)
	Every time.Duration // period between runs (the first one period after start)
	Keep  int           // newest backups of this node kept; older ones are deleted
}

// Bounds the flags enforce (cmd/daisydog).
const (
	MinBackupEvery = time.Second
	MaxBackupEvery = 720 * time.Hour
	MaxBackupKeep  = 1000
)

// Validate refuses a schedule that is wrong on its face.
func (b BackupSchedule) Validate() error {
	if b.Dir == "" {
		return nil
	}
	if !filepath.IsAbs(b.Dir) {
		return fmt.Errorf("backup directory %q must be an absolute path", b.Dir)
	}
	if b.Every < MinBackupEvery || b.Every > MaxBackupEvery {
		return fmt.Errorf("backup period %v is not between %v and %v", b.Every, MinBackupEvery, MaxBackupEvery)
	}
	if b.Keep < 1 || b.Keep > MaxBackupKeep {
		return fmt.Errorf("backups kept %d is not between 1 and %d", b.Keep, MaxBackupKeep)
	}
	return nil
}

// BackupRun is one scheduled backup: the file written and verified, and
// the older files deleted to keep Keep.
type BackupRun struct {
	File    string
	Info    BackupInfo
	Deleted []string
}

// backupPrefix starts the name of every scheduled backup of this node; the
// UTC time after it sorts the series by age.
func (n *Node) backupPrefix() string { return "daisydog-" + n.nf.NodeID + "-" }

const backupSuffix = ".ddbk"

// RunBackup writes, verifies and prunes one scheduled backup now, and
// counts it in the node's metrics.
func (n *Node) RunBackup(ctx context.Context) (BackupRun, error) {
	run, err := n.runBackup(ctx)
	if n.metrics != nil {
		b := &n.metrics.Backups
		if err != nil {
			b.Failed.Add(1)
		} else {
			b.OK.Add(1)
			b.LastOKUnix.Store(n.cfg.Now().Unix())
			b.LastBytes.Store(run.Info.Bytes)
			b.LastOKIndex.Store(int64(run.Info.AppliedIndex))
		}
	}
	return run, err
}

func (n *Node) runBackup(ctx context.Context) (BackupRun, error) {
	b := n.cfg.Backups
	if b.Dir == "" {
		return BackupRun{}, errors.New("backup: no backup directory configured")
	}
	if err := os.MkdirAll(b.Dir, 0o700); err != nil {
		return BackupRun{}, fmt.Errorf("backup: %w", err)
	}
	name := filepath.Join(b.Dir, n.backupPrefix()+n.cfg.Now().UTC().Format("20060102T150405.000Z")+backupSuffix)
	info, err := Backup(ctx, n.layout, name)
	if err != nil {
		return BackupRun{}, err
	}
	key, err := n.layout.ReadClusterKey()
	if err == nil {
		_, err = VerifyBackup(ctx, name, key, info.AppliedIndex)
	}
	if err != nil {
		os.Remove(name)
		return BackupRun{}, fmt.Errorf("backup written but not verified, removed: %w", err)
	}
	run := BackupRun{File: name, Info: info}
	run.Deleted, err = n.pruneBackups(b)
	return run, err
}

// pruneBackups deletes this node's scheduled backups beyond the newest keep.
func (n *Node) pruneBackups(b BackupSchedule) ([]string, error) {
	entries, err := os.ReadDir(b.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	var mine []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), n.backupPrefix()) && strings.HasSuffix(e.Name(), backupSuffix) {
			mine = append(mine, e.Name())
		}
	}
	slices.Sort(mine)
	var deleted []string
	for len(mine) > b.Keep {
		p := filepath.Join(b.Dir, mine[0])
		if err := os.Remove(p); err != nil {
			return deleted, fmt.Errorf("backup: prune: %w", err)
		}
		deleted, mine = append(deleted, p), mine[1:]
	}
	return deleted, nil
}

// VerifyBackup opens the backup file as a restore would and checks what it
// holds: the seal under clusterKey, the database's integrity and schema, and
// (when wantIndex > 0) the applied index in its header, which it returns.
// The plain copy it makes beside the file is removed before it returns.
func VerifyBackup(ctx context.Context, file string, clusterKey []byte, wantIndex uint64) (uint64, error) {
	kr, err := storage.NewKeyring(clusterKey)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	in, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	defer in.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(file), ".verify-")
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	defer os.RemoveAll(tmp)
	plain := filepath.Join(tmp, "copy.db")
	idx, err := openBackup(in, plain, kr.SnapshotKey())
	if err != nil {
		return 0, err
	}
	if wantIndex > 0 && idx != wantIndex {
		return 0, fmt.Errorf("verify: the header says index %d, the backup was taken at %d", idx, wantIndex)
	}
	got, err := storage.CheckFile(ctx, plain)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	if got != idx {
		return 0, fmt.Errorf("verify: the database has applied index %d, its header says %d", got, idx)
	}
	return idx, nil
}

// backupLoop runs RunBackup every period until ctx ends.
func (n *Node) backupLoop(ctx context.Context, every time.Duration) {
	onEveryTick(ctx, every, func() {
		start := time.Now()
		run, err := n.RunBackup(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			n.log.Warn("scheduled backup failed; will retry at the next period", "err", err)
		default:
			n.log.Info("scheduled backup written and verified", "file", filepath.Base(run.File), "bytes", run.Info.Bytes,
				"applied_index", run.Info.AppliedIndex, "deleted", len(run.Deleted), "took", time.Since(start).Round(time.Millisecond))
		}
	})
}
