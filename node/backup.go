package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"daisydog/raftcluster"
	"daisydog/storage"
)

// Backups. Three replicas survive a lost server, not a lost site, nor a
// mistake or a bug, which replicate everywhere. A backup is a consistent
// copy of one node's database, compressed and sealed exactly like a Raft
// snapshot (raftcluster/seal.go: chunked XChaCha20-Poly1305 under the
// snapshot key derived from the cluster key; the applied index readable in
// the header). It holds everything the cluster stores — accounts,
// children, conversations (their texts still sealed per family), Daisy's
// state, staff, policies, the audit log — and nothing of the node's own
// identity (certificates, join token), which a restore makes anew.
//
// Opening a backup needs the cluster key (keys/cluster.key): keep a copy
// of it apart from the backups. Without it a backup is unreadable; with it
// and a backup, anyone can read the children's conversations.
//
// Restore starts a new one-node cluster from a backup: new CA, node
// certificate and join token, the backup's cluster key, and the database
// with its applied index reset (the new Raft log starts at 1). The other
// servers then join it with the new token. Writes acknowledged after the
// backup was taken are not in it.

// BackupInfo describes a backup.
type BackupInfo struct {
	AppliedIndex uint64 // the last Raft index the copied state had applied
	Bytes        int64  // size of the backup file
}

// Backup writes a sealed backup of the node's database in l to the new file
// out (mode 0600). The node may be running.
func Backup(ctx context.Context, l Layout, out string) (BackupInfo, error) {
	key, err := l.ReadClusterKey()
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	kr, err := storage.NewKeyring(key)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		return BackupInfo{}, fmt.Errorf("backup: %s already exists; choose a new file name", out)
	}
	// The plain copy stays next to the database (on its volume, which the
	// operator encrypts), readable only by this user, and is removed after.
	tmpDir, err := os.MkdirTemp(filepath.Dir(l.DBFile()), ".backup-")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	plain := filepath.Join(tmpDir, "copy.db")
	idx, err := storage.BackupTo(ctx, l.DBFile(), plain)
	if err != nil {
		return BackupInfo{}, err
	}
	n, err := sealFile(plain, out, kr.SnapshotKey(), idx)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	return BackupInfo{AppliedIndex: idx, Bytes: n}, nil
}

// sealFile writes src, sealed under key with meta in the header, to the new
// file dst (through a temporary file, synced, then renamed).
func sealFile(src, dst string, key []byte, meta uint64) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp := dst + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	sw, err := raftcluster.NewSealWriter(f, key, meta)
	if err == nil {
		if _, err = io.Copy(sw, in); err == nil {
			err = sw.Close()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// ErrBackupKey means a backup does not open with the given cluster key: the
// wrong key, a damaged file, or no DaisyDog backup at all.
var ErrBackupKey = errors.New("the backup does not open with this cluster key (wrong key, damaged file, or not a DaisyDog backup)")

// ParseClusterKey reads a cluster key as stored in keys/cluster.key (64 hex
// digits).
func ParseClusterKey(b []byte) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, errors.New("a cluster key is 64 hexadecimal digits (the content of keys/cluster.key)")
	}
	return k, nil
}

// Restore creates a new cluster in l (which must not hold a node yet) whose
// state is the backup in file from, sealed under clusterKey. It returns the
// new cluster's join token. Nothing is left in l when it fails.
func Restore(ctx context.Context, l Layout, o InitOptions, from string, clusterKey []byte) (JoinToken, BackupInfo, error) {
	tok, rep, err := RestoreWith(ctx, l, o, from, clusterKey, RestoreOptions{})
	return tok, rep.Backup, err
}

// RestoreToPoint is Restore to a moment after the backup: it also applies
// the commands the log archives in dirs hold after the backup's index, up
// to the last one the leader appended at or before until (archive.go).
func RestoreToPoint(ctx context.Context, l Layout, o InitOptions, from string, clusterKey []byte, dirs []string, until time.Time) (JoinToken, RecoveryInfo, error) {
	tok, rep, err := RestoreWith(ctx, l, o, from, clusterKey, RestoreOptions{Archives: dirs, Until: until})
	return tok, rep.Recovery, err
}

// RestoreOptions are what a restore does beyond opening the backup.
type RestoreOptions struct {
	// Archives and Until: point-in-time recovery (RestoreToPoint).
	Archives []string
	Until    time.Time
	// NewClusterKey rotates the cluster key: the new cluster gets a fresh
	// one and everything the old key protected is moved under it
	// (storage.Rekey); the old key then opens nothing of the new cluster.
	NewClusterKey bool
}

// RestoreReport is what a restore did.
type RestoreReport struct {
	Backup   BackupInfo
	Recovery RecoveryInfo      // with Archives
	Rekey    storage.RekeyInfo // with NewClusterKey
}

// RestoreWith is Restore with options: point-in-time recovery, a new
// cluster key, or both (the archives are replayed first, under the old
// key). Nothing is left in l when it fails.
func RestoreWith(ctx context.Context, l Layout, o InitOptions, from string, clusterKey []byte, ro RestoreOptions) (JoinToken, RestoreReport, error) {
	var rep RestoreReport
	kr, err := storage.NewKeyring(clusterKey)
	if err != nil {
		return JoinToken{}, rep, fmt.Errorf("restore: %w", err)
	}
	var replay func(db string, idx uint64) error
	if len(ro.Archives) > 0 {
		replay = func(db string, idx uint64) error {
			var err error
			rep.Recovery, err = replayArchive(ctx, db, idx, ro.Archives, kr.ArchiveKey(), ro.Until)
			return err
		}
	}
	var rekey func(db string) ([]byte, error)
	if ro.NewClusterKey {
		rekey = func(db string) ([]byte, error) {
			key := make([]byte, storage.KeySize)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			to, err := storage.NewKeyring(key)
			if err != nil {
				return nil, err
			}
			rep.Rekey, err = storage.Rekey(ctx, db, kr, to, time.Now().UnixMilli())
			return key, err
		}
	}
	tok, info, err := restore(ctx, l, o, from, clusterKey, replay, rekey)
	rep.Backup = info
	return tok, rep, err
}

// restore: replay, if set, brings the opened backup forward; rekey, if
// set, moves the prepared copy under a new cluster key, which it returns.
func restore(ctx context.Context, l Layout, o InitOptions, from string, clusterKey []byte, replay func(db string, idx uint64) error, rekey func(db string) ([]byte, error)) (JoinToken, BackupInfo, error) {
	if l.Initialized() {
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %s already holds a node; restore into a new, empty directory", l.Dir)
	}
	kr, err := storage.NewKeyring(clusterKey)
	if err != nil {
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	if err := o.normalize(); err != nil {
		return JoinToken{}, BackupInfo{}, err
	}
	in, err := os.Open(from)
	if err != nil {
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	dbDir := filepath.Dir(l.DBFile())
	createdDir, createdDBDir := !exists(l.Dir), !exists(dbDir)
	cleanup := func() {
		switch {
		case createdDir:
			os.RemoveAll(l.Dir)
		case createdDBDir:
			os.RemoveAll(dbDir)
		}
	}
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	plain := l.DBFile() + ".restoring"
	idx, err := openBackup(in, plain, kr.SnapshotKey())
	if err == nil && replay != nil {
		if err = replay(plain, idx); err != nil {
			err = fmt.Errorf("restore: %w", err)
		}
		if err == nil && exists(plain+"-wal") {
			// SQLite checkpoints and removes it when the last connection
			// closes; the rename below moves the main file only.
			err = errors.New("restore: the replayed database's write-ahead log was not checkpointed")
		}
		os.Remove(plain + "-shm")
	}
	if err != nil {
		os.Remove(plain)
		cleanup()
		return JoinToken{}, BackupInfo{}, err
	}
	if _, err := storage.PrepareRestore(ctx, plain); err != nil {
		os.Remove(plain)
		cleanup()
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	o.ClusterKey = clusterKey
	if rekey != nil {
		newKey, err := rekey(plain)
		if err == nil && exists(plain+"-wal") {
			err = errors.New("the re-keyed database's write-ahead log was not checkpointed")
		}
		os.Remove(plain + "-shm")
		if err != nil {
			os.Remove(plain)
			cleanup()
			return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: new cluster key: %w", err)
		}
		o.ClusterKey = newKey
	}
	tok, err := Init(l, o)
	if err == nil {
		err = os.Rename(plain, l.DBFile())
	}
	if err != nil {
		os.Remove(plain)
		cleanup()
		return JoinToken{}, BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	return tok, BackupInfo{AppliedIndex: idx, Bytes: st.Size()}, nil
}

// openBackup writes the database inside a sealed backup to the new file dst
// and returns the applied index from its header.
func openBackup(r io.Reader, dst string, key []byte) (uint64, error) {
	idx, rc, err := raftcluster.ReadSealHeader(r, key)
	if err != nil {
		return 0, fmt.Errorf("restore: %w: %v", ErrBackupKey, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, raftcluster.ErrSealed) {
		return 0, fmt.Errorf("restore: %w: %v", ErrBackupKey, err)
	}
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	return idx, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
